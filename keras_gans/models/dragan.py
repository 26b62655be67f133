"""DRAGAN (Kodali et al. 2017, "On Convergence and Stability of GANs", sec. 4 and eq. 3).

The standard (non-saturating) GAN game with a gradient penalty lambda * (||grad D(x + delta)|| - 1)^2
on real samples perturbed by delta = 0.5 * std(x) * U[0, 1) noise, which keeps the
discriminator from developing sharp gradients around the data (engine,
``gradient_penalty="dragan"``). DCGAN networks; the discriminator has no batch norm so that the
penalty stays per sample. Adam 1e-4 with betas (0.5, 0.9) and lambda 10, as in the authors' code.
"""
from __future__ import annotations

from dataclasses import dataclass

from keras_gans.config import GradientPenaltyChoice, LossChoice, register_model, register_preset
from keras_gans.models.dcgan import DCGANConfig, DiscriminatorNormalization, dcgan_generator, strided_discriminator
from keras_gans.models.dcgan import check_config as check_dcgan_config


@dataclass
class DRAGANConfig(DCGANConfig):
    discriminator_normalization: DiscriminatorNormalization = "none"
    loss: LossChoice = "nonsaturating"
    gradient_penalty: GradientPenaltyChoice = "dragan"
    gradient_penalty_weight: float = 10.0
    g_learning_rate: float = 1e-4
    d_learning_rate: float = 1e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.9
    batch_size: int = 64


def check_config(config: DRAGANConfig) -> None:
    check_dcgan_config(config, "dragan")


def build_generator(config: DRAGANConfig):
    check_config(config)
    return dcgan_generator(config, name="dragan_generator")


def build_discriminator(config: DRAGANConfig):
    check_config(config)
    return strided_discriminator(config, config.discriminator_normalization, name="dragan_discriminator")


register_model("dragan", DRAGANConfig, build_generator, build_discriminator, "DRAGAN (Kodali et al. 2017)", check_config)


def dragan_64() -> DRAGANConfig:
    return DRAGANConfig(resolution=64, generator_width=512, discriminator_width=64)


register_preset("dragan-64", "dragan", dragan_64, "DRAGAN: DCGAN networks, perturbed-real gradient penalty, lambda 10")
