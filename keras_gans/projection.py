"""Projection: the latent w (or per-layer w+) with which a style-based generator reproduces a
given image, found by optimisation as the StyleGAN2 projector does (Karras et al. 2020,
"Analyzing and Improving the Image Quality of StyleGAN", sec. 5; the constants of
stylegan2-ada's projector.py).

Starting from the mean w, Adam (learning rate 0.1 with a 5% ramp-up and a 25% cosine ramp-down)
minimises a perceptual distance between the generated and the target image while the per-layer
noise maps are optimised too; noise added to w (0.05 times the spread of w, fading out over the
first 75% of the steps) keeps the search from settling early, and a penalty on the noise maps'
autocorrelation at every scale (weight 1e5) keeps them from carrying the image themselves. The
distance is the project's LPIPS-style EfficientNet-Lite0 distance
(keras_gans.metrics.perceptual; the paper's runs on VGG, whose weights cannot be fetched here).
Used by ``python -m keras_gans.project`` and benchmarks/projection.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from keras_gans.generation import (
    GenerationError,
    from_uint8,
    is_conditional,
    latent_dim,
    noise_layers,
    noise_shape,
    seed_noise,
    style_parts,
    to_uint8,
)
from keras_gans.layers import fix_noise


@dataclass
class ProjectionSettings:
    steps: int = 1000
    learning_rate: float = 0.1
    lr_rampup: float = 0.05  # fraction of the steps
    lr_rampdown: float = 0.25
    initial_w_noise: float = 0.05  # times the spread of w
    w_noise_ramp: float = 0.75  # fraction of the steps over which it fades out
    noise_regularization: float = 1e5
    w_plus: bool = False  # one w per synthesis layer instead of one for all
    w_avg_samples: int = 10000
    frames: int = 50  # images kept for the progress animation
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")


@dataclass
class Projection:
    ws: np.ndarray  # (num_ws, style_dim): the projected styles, one row per synthesis layer
    image: np.ndarray  # uint8 (H, W, C)
    distance: float  # perceptual distance of the final image to the target
    distances: list[float] = field(default_factory=list)  # per step
    frames: list[np.ndarray] = field(default_factory=list)  # uint8 images during the search


def learning_rate_at(step: int, settings: ProjectionSettings) -> float:
    """stylegan2-ada's schedule: linear ramp-up, cosine ramp-down."""
    t = step / settings.steps
    ramp = min(1.0, (1.0 - t) / settings.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp *= min(1.0, t / settings.lr_rampup) if settings.lr_rampup > 0 else 1.0
    return settings.learning_rate * ramp


def noise_regularization(noise_maps) -> tf.Tensor:
    """Sum over noise maps and scales of the squared autocorrelation at a shift of one pixel in
    each direction (StyleGAN2, appendix: "noise regularization"), down to 8x8."""
    total = tf.constant(0.0)
    for noise in noise_maps:
        noise = noise[0, :, :, 0][None, :, :, None]
        while True:
            total += tf.square(tf.reduce_mean(noise * tf.roll(noise, shift=1, axis=2)))
            total += tf.square(tf.reduce_mean(noise * tf.roll(noise, shift=1, axis=1)))
            if noise.shape[1] <= 8:
                break
            noise = tf.nn.avg_pool2d(noise, 2, 2, "VALID")
    return total


def w_statistics(mapping, dim: int, samples: int, seed: int, label=None):
    """(mean w, spread of w): the spread is sqrt of the summed per-dimension variance, as in the
    reference projector."""
    z = np.random.RandomState(seed).randn(samples, dim).astype(np.float32)
    inputs = z if label is None else [z, np.full(samples, label, np.int32)]
    w = np.asarray(mapping(inputs, training=False), np.float64)
    mean = w.mean(axis=0)
    return mean.astype(np.float32), float(np.sqrt(((w - mean) ** 2).sum() / samples))


def project(generator, target: np.ndarray, distance, settings: ProjectionSettings | None = None,
            label: int | None = None, on_step=None) -> Projection:
    """Projects ``target`` (uint8 HxWxC at the generator's resolution) into the generator's w
    (or w+) space. ``distance(a, b)`` is a per-sample perceptual distance on [-1, 1] images."""
    settings = settings or ProjectionSettings()
    parts = style_parts(generator)
    if parts is None:
        raise GenerationError("projection needs a style-based generator (StyleGAN): this one has no w to optimise")
    mapping, synthesis, _ = parts
    if is_conditional(generator) and label is None:
        raise GenerationError("this generator is conditional: give the class of the image to project (--class)")
    resolution = int(synthesis.output.shape[1])
    if target.shape[:2] != (resolution, resolution):
        raise GenerationError(f"the target is {target.shape[1]}x{target.shape[0]}; the generator paints {resolution}x{resolution}")
    num_ws, dim = int(synthesis.inputs[0].shape[1]), int(synthesis.inputs[0].shape[2])
    w_mean, w_spread = w_statistics(mapping, latent_dim(generator), settings.w_avg_samples, settings.seed, label)
    rng = tf.random.Generator.from_seed(settings.seed)
    start = np.tile(w_mean[None, None], (1, num_ws if settings.w_plus else 1, 1))
    w_opt = tf.Variable(start, dtype=tf.float32, name="w")
    layers = noise_layers(synthesis)
    noise_maps = [tf.Variable(rng.normal(noise_shape(layer)), name=f"noise_{i}") for i, layer in enumerate(layers)]
    target_image = tf.constant(from_uint8(target[None]))
    optimizer = keras.optimizers.Adam(learning_rate=settings.learning_rate, beta_1=0.9, beta_2=0.999)
    variables = [w_opt] + noise_maps

    @tf.function
    def step(w_noise_scale, learning_rate):
        optimizer.learning_rate.assign(learning_rate)
        with tf.GradientTape() as tape:
            ws = w_opt + rng.normal(tf.shape(w_opt)) * w_noise_scale
            ws = tf.broadcast_to(ws, (1, num_ws, dim))
            image = tf.cast(synthesis(ws, training=False), tf.float32)
            dist = tf.reduce_mean(distance(image, target_image))
            loss = dist + settings.noise_regularization * noise_regularization(noise_maps)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for noise in noise_maps:  # keep every noise map at zero mean and unit variance
            noise.assign((noise - tf.reduce_mean(noise)) * tf.math.rsqrt(tf.math.reduce_variance(noise) + 1e-8))
        return dist, image

    for layer, noise in zip(layers, noise_maps):
        fix_noise(layer, noise)
    distances, frames = [], []
    frame_every = max(1, settings.steps // max(1, settings.frames))
    try:
        for index in range(settings.steps):
            fade = max(0.0, 1.0 - (index / settings.steps) / settings.w_noise_ramp)
            w_noise_scale = w_spread * settings.initial_w_noise * fade**2
            dist, image = step(tf.constant(w_noise_scale, tf.float32), tf.constant(learning_rate_at(index, settings), tf.float32))
            distances.append(float(dist))
            if index % frame_every == 0 or index == settings.steps - 1:
                frames.append(to_uint8(image.numpy()[0]))
            if on_step is not None:
                on_step(index, distances[-1])
        ws = np.broadcast_to(w_opt.numpy(), (1, num_ws, dim))[0].copy()
        final = tf.cast(synthesis(ws[None], training=False), tf.float32)
        final_distance = float(tf.reduce_mean(distance(final, target_image)))
    finally:
        for layer in layers:
            fix_noise(layer, None)
    return Projection(ws=ws, image=to_uint8(final.numpy()[0]), distance=final_distance, distances=distances, frames=frames)


def mean_w_distance(generator, target: np.ndarray, distance, samples: int = 10000, seed: int = 0, label=None) -> float:
    """The perceptual distance of the mean-w image to ``target`` (the projection's starting point,
    and the yardstick benchmarks/projection.py compares it with)."""
    mapping, synthesis, _ = style_parts(generator)
    num_ws = int(synthesis.inputs[0].shape[1])
    w_mean, _ = w_statistics(mapping, latent_dim(generator), samples, seed, label)
    seed_noise(generator, seed)
    image = tf.cast(synthesis(np.tile(w_mean[None, None], (1, num_ws, 1)), training=False), tf.float32)
    target_image = tf.constant(from_uint8(target[None]))
    return float(tf.reduce_mean(distance(image, target_image)))
