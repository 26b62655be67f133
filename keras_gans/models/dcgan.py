"""DCGAN (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", fig. 1 and sec. 3-4).

Generator: z projected and reshaped to 4x4, then fractionally-strided convolutions that double
the resolution and halve the width, batch norm and ReLU everywhere but the tanh output.
Discriminator: strided convolutions with LeakyReLU(0.2), batch norm on every layer but the first,
a single logit. Adam 2e-4, beta1 0.5; non-saturating loss.

Optional instance noise on the discriminator inputs, annealed to zero (``instance_noise_std``,
``instance_noise_kimg``), a common fix when D wins early on small line-art sets.

``dcgan_generator`` and ``strided_discriminator`` are reused by WGAN-GP and DRAGAN, which keep
the architecture and change the normalization, loss and penalty.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

import keras

from keras_gans.config import ConfigError, GANConfig, LossChoice, register_model, register_preset
from keras_gans.layers import LeakyReLU, batch_normalization
from keras_gans.models.common import (
    check_resolution,
    described_generator,
    doubling_widths,
    float32_logits,
    halving_widths,
    latent_inputs,
    require_unconditional,
    tanh_image,
)

DiscriminatorNormalization = Literal["batch", "layer", "none"]
NORMALIZATIONS = typing.get_args(DiscriminatorNormalization)


@dataclass
class DCGANConfig(GANConfig):
    latent_dim: int = 100
    # Width of the 4x4 generator layer (the paper's 1024 at 64x64 is 16 * 64); halves per doubling.
    generator_width: int = 512
    # Width of the first discriminator convolution; doubles per halving up to width_max.
    discriminator_width: int = 64
    width_max: int = 512
    kernel_size: int = 4  # 4x4 as in the authors' released code (the paper's figure shows 5x5)
    leaky_relu_slope: float = 0.2
    discriminator_normalization: DiscriminatorNormalization = "batch"
    loss: LossChoice = "nonsaturating"
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    batch_size: int = 64


def dcgan_generator(config, name="dcgan_generator") -> keras.Model:
    doublings = check_resolution(config, name)
    inputs, z, _ = latent_inputs(config)
    widths = halving_widths(config.generator_width, doublings, minimum=8)
    # "Project and reshape" (fig. 1): a dense layer to 4x4xW.
    x = keras.layers.Dense(4 * 4 * widths[0], use_bias=False, name="project")(z)
    x = keras.layers.Reshape((4, 4, widths[0]), name="reshape")(x)
    x = batch_normalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    for index, filters in enumerate(widths[1:], start=1):
        size = 4 * 2**index
        x = keras.layers.Conv2DTranspose(
            filters, config.kernel_size, strides=2, padding="same", use_bias=False, name=f"up{size}"
        )(x)
        x = batch_normalization(name=f"up{size}_bn")(x)
        x = keras.layers.ReLU(name=f"up{size}_relu")(x)
    x = keras.layers.Conv2DTranspose(
        config.channels, config.kernel_size, strides=2, padding="same", name=f"up{config.resolution}"
    )(x)
    return described_generator(inputs, tanh_image(x), config, name)


def _normalize(x, kind, name):
    if kind == "batch":
        return batch_normalization(name=f"{name}_bn")(x)
    if kind == "layer":
        # Layer norm over each sample's whole feature map: Gulrajani et al.'s drop-in
        # replacement for batch norm in a gradient-penalised critic.
        return keras.layers.LayerNormalization(axis=(1, 2, 3), name=f"{name}_ln")(x)
    return x


def strided_discriminator(config, normalization: str, name="dcgan_discriminator") -> keras.Model:
    """Strided 4x4 convolutions halving the resolution down to 4x4, LeakyReLU, one logit.

    The first layer is never normalised (Radford et al. sec. 3).
    """
    if normalization not in NORMALIZATIONS:
        raise ConfigError(f"discriminator_normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    doublings = check_resolution(config, name)
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    x = image
    for index, filters in enumerate(doubling_widths(config.discriminator_width, doublings, config.width_max)):
        size = config.resolution // 2 ** (index + 1)
        x = keras.layers.Conv2D(filters, config.kernel_size, strides=2, padding="same", name=f"down{size}")(x)
        if index > 0:
            x = _normalize(x, normalization, f"down{size}")
        x = LeakyReLU(config.leaky_relu_slope, name=f"down{size}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(image, float32_logits(keras.layers.Dense(1, name="score")(x)), name=name)


def check_config(config: DCGANConfig, name: str = "dcgan") -> None:
    require_unconditional(config, name)
    check_resolution(config, name)


def build_generator(config: DCGANConfig) -> keras.Model:
    check_config(config)
    return dcgan_generator(config)


def build_discriminator(config: DCGANConfig) -> keras.Model:
    check_config(config)
    return strided_discriminator(config, config.discriminator_normalization)


register_model("dcgan", DCGANConfig, build_generator, build_discriminator, "DCGAN (Radford et al. 2015)", check_config)


def dcgan_64() -> DCGANConfig:
    """The paper's LSUN/faces network at 64x64: 1024-512-256-128 generator, 64-128-256-512 D."""
    return DCGANConfig(resolution=64, generator_width=1024, discriminator_width=64, batch_size=128)


def dcgan_illustrations_gray() -> DCGANConfig:
    """Grayscale line art (~200x200 scans resized to 128): one channel, instance noise on D's
    inputs (std 0.1 of the [-1, 1] range) annealed to zero over the first 200k images."""
    return DCGANConfig(
        resolution=128,
        channels=1,
        generator_width=512,
        discriminator_width=32,
        batch_size=32,
        instance_noise_std=0.1,
        instance_noise_kimg=200.0,
    )


register_preset("dcgan-64", "dcgan", dcgan_64, "DCGAN as in the paper's 64x64 experiments (batch 128, Adam 2e-4/0.5)")
register_preset(
    "dcgan-illustrations-gray",
    "dcgan",
    dcgan_illustrations_gray,
    "DCGAN on 1-channel line art at 128x128 with annealed instance noise",
)
