"""SN-GAN (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks",
table 3, "standard CNN"), with the projection discriminator of Miyato & Koyama 2018 for the
class-conditional form.

Every discriminator layer is spectrally normalised as in the paper (keras_gans.layers.spectral:
W / sigma(W) in the forward pass, gradients through sigma); LeakyReLU 0.1; hinge loss; Adam
2e-4 with betas (0.5, 0.999) and one D step per G step (the paper's setting C).
Generator: z -> 4x4x512 -> 4x4 stride-2 transposed convolutions with batch norm and ReLU,
halving the width per doubling -> 3x3 convolution -> tanh. With ``conditional`` the generator's
batch norms become class-conditional and the discriminator adds <embed(y), phi(x)> to its score.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras

from keras_gans.config import GANConfig, LossChoice, register_model, register_preset
from keras_gans.layers import (
    ConditionalBatchNormalization,
    LeakyReLU,
    ProjectionScore,
    SNConv2D,
    SNDense,
    SNEmbedding,
    batch_normalization,
)
from keras_gans.models.common import (
    check_resolution,
    described_generator,
    doubling_widths,
    float32_logits,
    halving_widths,
    image_input,
    latent_inputs,
    require_classes,
    tanh_image,
)


@dataclass
class SNGANConfig(GANConfig):
    latent_dim: int = 128
    generator_width: int = 512  # at 4x4, halving per doubling
    discriminator_width: int = 64  # first block, doubling per halving up to width_max
    width_max: int = 512
    power_iterations: int = 1
    leaky_relu_slope: float = 0.1
    loss: LossChoice = "hinge"
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    batch_size: int = 64


def _norm(x, label, config, name):
    if label is None:
        return batch_normalization(name=name)(x)
    return ConditionalBatchNormalization(config.num_classes, name=name)([x, label])


def build_generator(config: SNGANConfig) -> keras.Model:
    doublings = check_resolution(config, "sngan")
    require_classes(config, "sngan")
    inputs, z, label = latent_inputs(config)
    widths = halving_widths(config.generator_width, doublings + 1, minimum=8)
    x = keras.layers.Dense(4 * 4 * widths[0], name="project")(z)
    x = keras.layers.Reshape((4, 4, widths[0]), name="reshape")(x)
    for index, filters in enumerate(widths[1:], start=1):
        size = 4 * 2**index
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", name=f"up{size}")(x)
        x = _norm(x, label, config, f"up{size}_bn")
        x = keras.layers.ReLU(name=f"up{size}_relu")(x)
    x = keras.layers.Conv2D(config.channels, 3, padding="same", name="to_rgb")(x)
    return described_generator(inputs, tanh_image(x), config, "sngan_generator")


def build_discriminator(config: SNGANConfig) -> keras.Model:
    doublings = check_resolution(config, "sngan")
    require_classes(config, "sngan")
    inputs, image, label = image_input(config)
    slope, power = config.leaky_relu_slope, config.power_iterations
    x = image
    widths = doubling_widths(config.discriminator_width, doublings + 1, config.width_max)
    for index, filters in enumerate(widths[:-1]):
        # Table 3b: a 3x3 stride-1 then a 4x4 stride-2 convolution per halving.
        x = SNConv2D(filters, 3, power_iterations=power, name=f"block{index}_conv0")(x)
        x = LeakyReLU(slope, name=f"block{index}_lrelu0")(x)
        x = SNConv2D(filters, 4, strides=2, power_iterations=power, name=f"block{index}_conv1")(x)
        x = LeakyReLU(slope, name=f"block{index}_lrelu1")(x)
    x = SNConv2D(widths[-1], 3, power_iterations=power, name="final_conv")(x)
    x = LeakyReLU(slope, name="final_lrelu")(x)
    features = keras.layers.Flatten(name="flatten")(x)
    score = SNDense(1, power_iterations=power, name="score")(features)
    if label is not None:
        embedded = SNEmbedding(config.num_classes, features.shape[-1], power_iterations=power, name="class_embedding")(
            label
        )
        projection = ProjectionScore(name="projection")([features, embedded])
        score = keras.layers.Add(name="conditional_score")([score, projection])
    return keras.Model(inputs, float32_logits(score), name="sngan_discriminator")


def check_config(config: SNGANConfig) -> None:
    # Not the class count: it comes from the data, which is read after the configuration.
    check_resolution(config, "sngan")


register_model("sngan", SNGANConfig, build_generator, build_discriminator, "SN-GAN (Miyato et al. 2018)", check_config)


def sngan_64() -> SNGANConfig:
    return SNGANConfig(resolution=64)


register_preset("sngan-64", "sngan", sngan_64, "SN-GAN standard CNN with hinge loss at 64x64 (--conditional: projection D)")
