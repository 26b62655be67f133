"""Small helpers the classic model files share (inputs, resolution checks, the image head)."""
from __future__ import annotations

import math

import keras

from keras_gans.config import ConfigError


def check_resolution(config, name: str, minimum: int = 8, maximum: int = 1024) -> int:
    """log2(resolution / 4): the number of doublings from a 4x4 start."""
    resolution = config.resolution
    if resolution < minimum or resolution > maximum or resolution & (resolution - 1):
        raise ConfigError(f"{name} resolution must be a power of two from {minimum} to {maximum}, got {resolution}")
    return int(math.log2(resolution)) - 2


def require_unconditional(config, name: str) -> None:
    if config.conditional:
        raise ConfigError(f"{name} has no class-conditional form; use acgan, sngan, or stylegan with --conditional")


def require_classes(config, name: str) -> None:
    if config.conditional and config.num_classes < 2:
        raise ConfigError(
            f"conditional {name} needs labelled data with at least 2 classes (one subfolder per class), "
            f"got num_classes={config.num_classes}"
        )


def latent_inputs(config):
    """(model inputs, z tensor, label tensor or None) following the generator contract."""
    z = keras.Input((config.latent_dim,), name="z")
    if not config.conditional:
        return z, z, None
    label = keras.Input((), dtype="int32", name="label")
    return [z, label], z, label


def image_input(config):
    """(model inputs, image tensor, label tensor or None) for a discriminator conditioned on the label."""
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    if not config.conditional:
        return image, image, None
    label = keras.Input((), dtype="int32", name="label")
    return [image, label], image, label


def tanh_image(x, name="image"):
    """The generator's output: tanh in float32 (also under mixed precision)."""
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def float32_logits(x, name="logit"):
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)


def halving_widths(top: int, count: int, minimum: int = 1) -> list[int]:
    """[top, top/2, top/4, ...] (count entries, at least ``minimum``)."""
    return [max(minimum, top // 2**i) for i in range(count)]


def doubling_widths(bottom: int, count: int, maximum: int) -> list[int]:
    """[bottom, 2*bottom, ...] capped at ``maximum`` (count entries)."""
    return [min(maximum, bottom * 2**i) for i in range(count)]
