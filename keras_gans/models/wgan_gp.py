"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", alg. 1).

The critic has no batch norm (sec. 4: the penalty is per sample, so batch statistics would
couple samples); layer norm is the paper's suggested drop-in (``discriminator_normalization =
"layer"``). Loss D(G(z)) - D(x) plus lambda * (||grad D(x_hat)|| - 1)^2 on uniform random
interpolates x_hat (engine, ``gradient_penalty="wgan-gp"``, with a numerically safe norm), five
critic steps per generator step, Adam 1e-4 with betas (0.5, 0.9) as in the authors' 64x64 code.
The networks are DCGAN's (the authors' 64x64 baseline).
"""
from __future__ import annotations

from dataclasses import dataclass

from keras_gans.config import GradientPenaltyChoice, LossChoice, register_model, register_preset
from keras_gans.models.dcgan import DCGANConfig, DiscriminatorNormalization, dcgan_generator, strided_discriminator
from keras_gans.models.dcgan import check_config as check_dcgan_config


@dataclass
class WGANGPConfig(DCGANConfig):
    latent_dim: int = 128
    discriminator_normalization: DiscriminatorNormalization = "none"
    loss: LossChoice = "wasserstein"
    gradient_penalty: GradientPenaltyChoice = "wgan-gp"
    gradient_penalty_weight: float = 10.0
    n_critic: int = 5
    g_learning_rate: float = 1e-4
    d_learning_rate: float = 1e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.9
    batch_size: int = 64


def check_config(config: WGANGPConfig) -> None:
    check_dcgan_config(config, "wgan-gp")


def build_generator(config: WGANGPConfig):
    check_config(config)
    return dcgan_generator(config, name="wgan_gp_generator")


def build_discriminator(config: WGANGPConfig):
    check_config(config)
    return strided_discriminator(config, config.discriminator_normalization, name="wgan_gp_critic")


register_model("wgan-gp", WGANGPConfig, build_generator, build_discriminator, "WGAN-GP (Gulrajani et al. 2017)", check_config)


def wgan_gp_64() -> WGANGPConfig:
    return WGANGPConfig(resolution=64, generator_width=512, discriminator_width=64)


register_preset("wgan-gp-64", "wgan-gp", wgan_gp_64, "WGAN-GP with the authors' 64x64 DCGAN-style networks, n_critic 5")
