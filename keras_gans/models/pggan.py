"""Progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", sec. 3-4 and table 2).

Equalized learning rate, pixelwise feature normalization after every generator convolution,
minibatch standard deviation before the discriminator's last block, nearest upsampling and
average-pool downsampling, a linear (non-tanh) toRGB, WGAN-GP with the drift term
eps * D(x)^2 (eps = 0.001), n_critic 1, Adam 1e-3 with betas (0, 0.99) and a generator EMA.

Growth: ``build_generator`` / ``build_discriminator`` build the networks *for one stage*, at
``config.resolution``. A stage above the start resolution holds both the new block and the
previous resolution's toRGB / fromRGB, blended by a :class:`~keras_gans.layers.FadeIn` layer
whose alpha the engine sets from the images shown (fig. 2). Layers keep their names across
stages (``block16_conv0``, ``to_rgb_16``, ...), so keras_gans.training.progressive moves the
trained weights into the next stage's networks by name. Each stage is therefore one small graph
with static shapes, compiled once: a 4x4 stage costs 4x4 compute, unlike the original
implementation's single full-resolution graph with a level-of-detail variable, which pays for
the final resolution from the first step (a poor trade on a CPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from keras_gans.config import GANConfig, GradientPenaltyChoice, LossChoice, register_model, register_preset
from keras_gans.layers import EqualizedConv2D, EqualizedDense, FadeIn, LeakyReLU, MinibatchStdDev, PixelNorm
from keras_gans.models.common import check_resolution, described_generator, float32_logits, require_unconditional


@dataclass
class PGGANConfig(GANConfig):
    latent_dim: int = 512
    # Feature maps at resolution r: min(width_max, width_base // r) (the paper: 512 up to 32x32,
    # then 256, 128, 64, 32, 16 at 1024).
    width_base: int = 16384
    width_max: int = 512
    leaky_relu_slope: float = 0.2
    minibatch_std_group: int = 4
    progressive: bool = True
    progressive_start_resolution: int = 4
    fade_kimg: float = 600.0
    stable_kimg: float = 600.0
    loss: LossChoice = "wasserstein"
    gradient_penalty: GradientPenaltyChoice = "wgan-gp"
    gradient_penalty_weight: float = 10.0
    drift_weight: float = 0.001
    n_critic: int = 1
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 1e-3
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    ema_halflife_kimg: float = 10.0
    batch_size: int = 16


def width(config: PGGANConfig, resolution: int) -> int:
    return min(config.width_max, config.width_base // resolution)


def _fading(config: PGGANConfig) -> bool:
    return config.progressive and config.resolution > config.progressive_start_resolution


def _conv(x, filters, kernel, config, name, normalize=False, gain=math.sqrt(2.0)):
    x = EqualizedConv2D(filters, kernel, gain=gain, name=name)(x)
    x = LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu")(x)
    return PixelNorm(name=f"{name}_pixelnorm")(x) if normalize else x


def to_rgb(x, config, resolution):
    return EqualizedConv2D(config.channels, 1, gain=1.0, name=f"to_rgb_{resolution}")(x)


def check_config(config: PGGANConfig) -> None:
    require_unconditional(config, "pggan")
    check_resolution(config, "pggan", minimum=4)


def build_generator(config: PGGANConfig) -> keras.Model:
    check_config(config)
    z = keras.Input((config.latent_dim,), name="z")
    x = PixelNorm(name="normalize_z")(z)
    # 4x4 block: the paper's 4x4 "conv" on a 1x1 latent is a dense layer to 4x4xC.
    channels = width(config, 4)
    x = EqualizedDense(4 * 4 * channels, gain=math.sqrt(2.0) / 4, name="block4_dense")(x)
    x = keras.layers.Reshape((4, 4, channels), name="block4_reshape")(x)
    x = LeakyReLU(config.leaky_relu_slope, name="block4_dense_lrelu")(x)
    x = PixelNorm(name="block4_dense_pixelnorm")(x)
    x = _conv(x, channels, 3, config, "block4_conv", normalize=True)
    previous = x
    resolution = 4
    while resolution < config.resolution:
        resolution *= 2
        previous = x
        x = keras.layers.UpSampling2D(name=f"block{resolution}_up")(x)
        x = _conv(x, width(config, resolution), 3, config, f"block{resolution}_conv0", normalize=True)
        x = _conv(x, width(config, resolution), 3, config, f"block{resolution}_conv1", normalize=True)
    image = to_rgb(x, config, resolution)
    if _fading(config):
        old = to_rgb(previous, config, resolution // 2)
        old = keras.layers.UpSampling2D(name="fade_up")(old)
        image = FadeIn(name="fade_in")([old, image])
    image = keras.layers.Activation("linear", dtype="float32", name="image")(image)
    return described_generator(z, image, config, "pggan_generator")


def from_rgb(x, config, resolution):
    return _conv(x, width(config, resolution), 1, config, f"from_rgb_{resolution}")


def build_discriminator(config: PGGANConfig) -> keras.Model:
    check_config(config)
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    resolution = config.resolution
    x = from_rgb(image, config, resolution)
    fading = _fading(config)
    while resolution > 4:
        x = _conv(x, width(config, resolution), 3, config, f"dblock{resolution}_conv0")
        x = _conv(x, width(config, resolution // 2), 3, config, f"dblock{resolution}_conv1")
        x = keras.layers.AveragePooling2D(2, name=f"dblock{resolution}_pool")(x)
        if fading and resolution == config.resolution:
            old = keras.layers.AveragePooling2D(2, name="fade_down")(image)
            old = from_rgb(old, config, resolution // 2)
            x = FadeIn(name="fade_in")([old, x])
        resolution //= 2
    if config.minibatch_std_group:
        x = MinibatchStdDev(config.minibatch_std_group, name="minibatch_stddev")(x)
    x = _conv(x, width(config, 4), 3, config, "dblock4_conv")
    x = keras.layers.Flatten(name="flatten")(x)
    x = EqualizedDense(width(config, 4), name="dblock4_dense")(x)
    x = LeakyReLU(config.leaky_relu_slope, name="dblock4_dense_lrelu")(x)
    score = EqualizedDense(1, gain=1.0, name="score")(x)
    return keras.Model(image, float32_logits(score), name="pggan_discriminator")


register_model(
    "pggan", PGGANConfig, build_generator, build_discriminator, "Progressive growing of GANs (Karras et al. 2018)", check_config
)


def pggan_256() -> PGGANConfig:
    """4x4 to 256x256 with the paper's schedule (600k images fading in, 600k stable per
    resolution), WGAN-GP + drift, n_critic 1, as in the PGGAN article."""
    return PGGANConfig(resolution=256, batch_size=16)


register_preset("pggan-256", "pggan", pggan_256, "Progressive growing from 4x4 to 256x256, WGAN-GP + drift (the PGGAN article)")
