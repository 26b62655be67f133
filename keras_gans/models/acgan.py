"""AC-GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier
GANs", sec. 3 and appendix A).

Always class-conditional: the generator receives z and the class (one-hot, concatenated to z);
the discriminator sees only the image and has two heads, a real/fake logit and an auxiliary
classifier over the classes. The engine adds the classification loss L_C to both players
(``auxiliary_classifier_weight``); D maximises L_S + L_C, G maximises L_C - L_S.

``arch="paper"``: the appendix's CIFAR-10 networks (generator 384-192-96 transposed 5x5
convolutions from a 4x4 projection; discriminator 3x3 convolutions 16-32-64-128-256-512 with
alternating strides 2/1, LeakyReLU 0.2, dropout 0.5, batch norm after the first layer), widened
by one doubling per extra factor of two in resolution.
``arch="resnet"``: the residual networks of Gulrajani et al. 2017's AC-GAN experiments: generator
residual up-blocks with class-conditional batch norm, discriminator residual down-blocks without
normalization, global sum pooling, both heads on the pooled features.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

import keras

from keras_gans.config import ConfigError, GANConfig, LossChoice, register_model, register_preset
from keras_gans.layers import ConditionalBatchNormalization, LeakyReLU, OneHot, ReplicaDropout, batch_normalization
from keras_gans.models.common import (
    check_resolution,
    described_generator,
    doubling_widths,
    float32_logits,
    halving_widths,
    latent_inputs,
    require_classes,
    tanh_image,
)

Architecture = Literal["paper", "resnet"]
ARCHITECTURES = typing.get_args(Architecture)


@dataclass
class ACGANConfig(GANConfig):
    conditional: bool = True
    arch: Architecture = "paper"
    latent_dim: int = 100
    # paper: width of the 4x4 projection (384 in the appendix), halving per doubling;
    # discriminator widths start at discriminator_width (16) and double per layer up to width_max.
    generator_width: int = 384
    discriminator_width: int = 16
    width_max: int = 512
    dropout: float = 0.5
    # resnet: one width for every residual block (128 in Gulrajani et al.'s CIFAR networks).
    resnet_width: int = 128
    leaky_relu_slope: float = 0.2
    auxiliary_classifier_weight: float = 1.0
    loss: LossChoice = "nonsaturating"
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    batch_size: int = 100


def check_config(config: ACGANConfig) -> None:
    if not config.conditional:
        raise ConfigError("acgan is always class-conditional (it needs class subfolders)")
    if config.arch not in ARCHITECTURES:
        raise ConfigError(f"acgan arch must be one of {ARCHITECTURES}, got {config.arch!r}")
    check_resolution(config, "acgan")


def _validate(config: ACGANConfig) -> int:
    check_config(config)
    # The class count comes from the data, read after the configuration: checked at build only.
    require_classes(config, "acgan")
    return check_resolution(config, "acgan")


# --- The paper's networks -----------------------------------------------------------------------

def paper_generator(config: ACGANConfig, doublings: int) -> keras.Model:
    inputs, z, label = latent_inputs(config)
    x = keras.layers.Concatenate(name="z_and_class")([z, OneHot(config.num_classes, name="one_hot")(label)])
    widths = halving_widths(config.generator_width, doublings, minimum=8)
    x = keras.layers.Dense(4 * 4 * widths[0], name="project")(x)
    x = keras.layers.Reshape((4, 4, widths[0]), name="reshape")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    for index, filters in enumerate(widths[1:], start=1):
        size = 4 * 2**index
        x = keras.layers.Conv2DTranspose(filters, 5, strides=2, padding="same", name=f"up{size}")(x)
        x = batch_normalization(name=f"up{size}_bn")(x)
        x = keras.layers.ReLU(name=f"up{size}_relu")(x)
    x = keras.layers.Conv2DTranspose(config.channels, 5, strides=2, padding="same", name=f"up{config.resolution}")(x)
    return described_generator(inputs, tanh_image(x), config, "acgan_generator")


def paper_discriminator_features(config: ACGANConfig, image, doublings: int):
    widths = doubling_widths(config.discriminator_width, 2 * doublings, config.width_max)
    x = image
    for index, filters in enumerate(widths):
        name = f"conv{index}"
        x = keras.layers.Conv2D(filters, 3, strides=2 if index % 2 == 0 else 1, padding="same", name=name)(x)
        if index > 0:
            x = batch_normalization(name=f"{name}_bn")(x)
        x = LeakyReLU(config.leaky_relu_slope, name=f"{name}_lrelu")(x)
        if config.dropout:
            x = ReplicaDropout(config.dropout, name=f"{name}_dropout")(x)
    return keras.layers.Flatten(name="flatten")(x)


# --- The ResNet variant ---------------------------------------------------------------------------

def residual_up(x, label, filters, config, name):
    shortcut = keras.layers.UpSampling2D(name=f"{name}_skip_up")(x)
    shortcut = keras.layers.Conv2D(filters, 1, name=f"{name}_skip")(shortcut)
    h = ConditionalBatchNormalization(config.num_classes, name=f"{name}_cbn0")([x, label])
    h = keras.layers.ReLU(name=f"{name}_relu0")(h)
    h = keras.layers.UpSampling2D(name=f"{name}_up")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv0")(h)
    h = ConditionalBatchNormalization(config.num_classes, name=f"{name}_cbn1")([h, label])
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def residual_down(x, filters, name, first=False, down=True):
    """Gulrajani et al.'s critic block: (ReLU) conv3 ReLU conv3 (mean-pool), 1x1 shortcut."""
    h = x if first else keras.layers.ReLU(name=f"{name}_relu0")(x)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv0")(h)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    shortcut = x
    if down:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_skip_pool")(shortcut)
    if down or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, name=f"{name}_skip")(shortcut)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def resnet_generator(config: ACGANConfig, doublings: int) -> keras.Model:
    inputs, z, label = latent_inputs(config)
    width = config.resnet_width
    x = keras.layers.Dense(4 * 4 * width, name="project")(z)
    x = keras.layers.Reshape((4, 4, width), name="reshape")(x)
    for index in range(doublings):
        x = residual_up(x, label, width, config, f"gblock{4 * 2 ** (index + 1)}")
    x = batch_normalization(name="final_bn")(x)
    x = keras.layers.ReLU(name="final_relu")(x)
    x = keras.layers.Conv2D(config.channels, 3, padding="same", name="to_rgb")(x)
    return described_generator(inputs, tanh_image(x), config, "acgan_generator")


def resnet_discriminator_features(config: ACGANConfig, image, doublings: int):
    x = image
    for index in range(doublings):
        x = residual_down(x, config.resnet_width, f"dblock{index}", first=index == 0)
    x = residual_down(x, config.resnet_width, f"dblock{doublings}", down=False)
    x = residual_down(x, config.resnet_width, f"dblock{doublings + 1}", down=False)
    x = keras.layers.ReLU(name="final_relu")(x)
    return keras.layers.GlobalAveragePooling2D(name="pool")(x)


# --- Registered builders ----------------------------------------------------------------------------

def build_generator(config: ACGANConfig) -> keras.Model:
    doublings = _validate(config)
    return (paper_generator if config.arch == "paper" else resnet_generator)(config, doublings)


def build_discriminator(config: ACGANConfig) -> keras.Model:
    """Image -> [real/fake logit (B, 1), class logits (B, num_classes)]."""
    doublings = _validate(config)
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    features = (paper_discriminator_features if config.arch == "paper" else resnet_discriminator_features)(
        config, image, doublings
    )
    logit = float32_logits(keras.layers.Dense(1, name="score")(features))
    classes = float32_logits(keras.layers.Dense(config.num_classes, name="classifier")(features), "class_logits")
    return keras.Model(image, [logit, classes], name="acgan_discriminator")


register_model("acgan", ACGANConfig, build_generator, build_discriminator, "AC-GAN (Odena et al. 2017), always conditional",
               check_config)


def acgan_cifar_like() -> ACGANConfig:
    """The appendix's CIFAR-10 networks and hyper-parameters at 32x32 (batch 100, Adam 2e-4/0.5)."""
    return ACGANConfig(resolution=32, arch="paper", batch_size=100)


def acgan_resnet_64() -> ACGANConfig:
    return ACGANConfig(resolution=64, arch="resnet", latent_dim=128, resnet_width=128, batch_size=64)


register_preset("acgan-cifar-like", "acgan", acgan_cifar_like, "AC-GAN with the paper's CIFAR-10 architecture at 32x32")
register_preset("acgan-resnet-64", "acgan", acgan_resnet_64, "AC-GAN with residual networks and conditional batch norm at 64x64")
