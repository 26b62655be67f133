"""Progressive growing (Karras et al. 2018): train at 4x4, then fade in each doubling up to the
target resolution, on the images-shown timeline of :class:`ProgressiveSchedule`.

Design: one ``fit()`` per resolution, each on a freshly built pair of networks for that
resolution (``pggan.build_generator`` with ``config.resolution`` set to the stage), with the
trained weights of the previous stage copied in by layer name. Each stage is a compiled graph
with static shapes that costs only its own resolution; within a stage the fade-in is a
:class:`~keras_gans.layers.FadeIn` weight that the engine sets every step from images shown, so
the fade and the stable phase share one graph and resuming mid-fade restores the same alpha
with the images-shown counter. New optimizers per stage follow the official implementation
(``reset_opt_for_new_lod``). The original's alternative, one full-resolution graph with a
level-of-detail variable, would make every 4x4 step pay for 256x256 on a CPU.

Entry point for the train CLI::

    gan = train_progressive(config, data, total_kimg, gan=None, seed=None, callbacks=None,
                            on_stage_start=None, verbose="auto")

where ``data`` is either a callable ``resolution -> tf.data.Dataset`` (the pipeline serving that
resolution) or one dataset at the target resolution (batches are average-pooled down), each
batch ``(images in [-1, 1], int32 labels)`` of ``batch_size * n_critic`` images. To resume, build
the networks for the checkpoint's stage with ``build_stage_for_images(config, images_seen)``,
restore the checkpoint into that GAN, and pass it as ``gan``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import keras
import tensorflow as tf

from keras_gans.training.engine import GAN, build_gan
from keras_gans.training.schedules import ProgressiveSchedule


def stage_config(config, resolution: int):
    """The config of one stage: the model's settings at ``resolution``."""
    return dataclasses.replace(config, resolution=resolution)


def stage_resolution(gan: GAN) -> int:
    return int(gan.config.resolution)


def transfer_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy the weights of every layer of ``target`` that ``source`` has under the same name and
    with the same shapes; returns the names of the layers copied."""
    copied = []
    source_layers = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        match = source_layers.get(layer.name)
        if match is None or not layer.weights:
            continue
        old, new = match.get_weights(), layer.get_weights()
        if len(old) == len(new) and all(a.shape == b.shape for a, b in zip(old, new)):
            layer.set_weights(old)
            copied.append(layer.name)
    return copied


def build_stage(config, resolution: int, previous: GAN | None = None, seed=None) -> GAN:
    """A compiled GAN for one stage; with ``previous``, its weights and counters carry over."""
    gan = build_gan(stage_config(config, resolution), seed=seed)
    if previous is not None:
        transfer_weights(previous.generator, gan.generator)
        transfer_weights(previous.discriminator, gan.discriminator)
        if gan.ema_generator is not gan.generator:
            transfer_weights(previous.ema_generator, gan.ema_generator)
        gan.images_seen.assign(previous.images_seen)
        gan.steps_done.assign(previous.steps_done)
    gan.compile()
    return gan


def build_stage_for_images(config, images_seen: int, seed=None) -> GAN:
    """The (untrained, compiled) stage GAN a checkpoint taken after ``images_seen`` images needs:
    restore the checkpoint into it, then pass it to :func:`train_progressive`."""
    schedule = ProgressiveSchedule.from_config(config)
    return build_stage(config, schedule.resolution_at(images_seen), seed=seed)


def downscale_batches(dataset: tf.data.Dataset, resolution: int) -> tf.data.Dataset:
    """Average-pool (images, labels) batches to ``resolution`` (PGGAN's 2x2 box filter per level)."""

    def downscale(images, labels):
        factor = images.shape[1] // resolution if images.shape[1] else None
        if factor is None:
            factor = tf.shape(images)[1] // resolution
        if factor == 1:
            return images, labels
        return tf.nn.avg_pool2d(images, factor, factor, "VALID"), labels

    return dataset.map(downscale, num_parallel_calls=tf.data.AUTOTUNE)


def _stage_data(data, resolution: int) -> tf.data.Dataset:
    if callable(data):
        return data(resolution)
    return downscale_batches(data, resolution)


def train_progressive(
    config,
    data,
    total_kimg: float,
    gan: GAN | None = None,
    seed=None,
    callbacks: list | Callable[[GAN, int], list] | None = None,
    on_stage_start: Callable[[GAN, int], None] | None = None,
    verbose="auto",
    strategy: tf.distribute.Strategy | None = None,
) -> GAN:
    """Grow from the start resolution (or from ``gan``'s stage when resuming) until
    ``total_kimg`` thousand images have been shown; returns the last stage's GAN.

    ``config`` is the target configuration (``config.progressive`` must be set).
    ``callbacks`` is a list reused by every stage's ``fit()`` (Keras calls ``set_model`` with the
    stage's GAN), or a function ``(gan, resolution) -> list``. ``on_stage_start(gan, resolution)``
    runs whenever a stage's networks are ready, before its ``fit()`` (log, print the stage ...).
    Each stage is built in ``strategy``'s scope (default: the one this is called in), so that a
    grown stage's variables are mirrored like the first one's.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not config.progressive:
        raise ValueError("train_progressive needs a config with progressive=True")
    schedule = ProgressiveSchedule.from_config(config)
    total_images = int(round(total_kimg * 1000))
    stage_seed = (lambda index: None) if seed is None else (lambda index: seed + index)
    if gan is None:
        with strategy.scope():
            gan = build_stage(config, schedule.resolutions[0], seed=stage_seed(0))
    images_seen = int(gan.images_seen.numpy())
    expected = schedule.resolution_at(images_seen)
    if stage_resolution(gan) != expected:
        raise ValueError(
            f"the GAN is at {stage_resolution(gan)}x{stage_resolution(gan)} but {images_seen} images shown "
            f"belong to the {expected}x{expected} stage; build it with build_stage_for_images()"
        )
    while images_seen < total_images:
        resolution = schedule.resolution_at(images_seen)
        if stage_resolution(gan) != resolution:
            with strategy.scope():
                gan = build_stage(config, resolution, previous=gan, seed=stage_seed(schedule.stage_index(resolution)))
        if on_stage_start is not None:
            on_stage_start(gan, resolution)
        end = min(total_images, schedule.stage_end(resolution))
        steps = max(1, math.ceil((end - images_seen) / gan.images_per_step))
        stage_callbacks = callbacks(gan, resolution) if callable(callbacks) else callbacks
        gan.fit(
            _stage_data(data, resolution).repeat(),
            steps_per_epoch=steps,
            epochs=1,
            callbacks=stage_callbacks,
            verbose=verbose,
            shuffle=False,  # the dataset shuffles itself; Keras would only warn that it ignores this
        )
        images_seen = int(gan.images_seen.numpy())
    return gan
