"""Tiny configurations of every model in the GAN family, and a small real-image array."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from keras_gans.models.acgan import ACGANConfig
from keras_gans.models.dcgan import DCGANConfig
from keras_gans.models.dragan import DRAGANConfig
from keras_gans.models.pggan import PGGANConfig
from keras_gans.models.sngan import SNGANConfig
from keras_gans.models.stylegan import StyleGANConfig
from keras_gans.models.wgan_gp import WGANGPConfig

NUM_CLASSES = 3


def _stylegan(resolution, **kw):
    doublings = {16: 2, 32: 3}[resolution]
    return StyleGANConfig(
        resolution=resolution, conditional=True, latent_dim=16, style_dim=16,
        mapping_layers=2, constant_channels=16, synthesis_widths=(16, 8, 8)[:doublings],
        discriminator_widths=(8, 16, 16)[:doublings], minibatch_std_group=2, r1_interval=2, **kw,
    )


# name -> (registered model name, resolution -> tiny config)
TINY = {
    "dcgan": ("dcgan", lambda r, **kw: DCGANConfig(
        resolution=r, latent_dim=16, generator_width=32, discriminator_width=8, width_max=32,
        instance_noise_std=0.1, instance_noise_kimg=1.0, **kw)),
    "acgan": ("acgan", lambda r, **kw: ACGANConfig(
        resolution=r, latent_dim=16, generator_width=32, discriminator_width=4,
        width_max=32, **kw)),
    "acgan-resnet": ("acgan", lambda r, **kw: ACGANConfig(
        resolution=r, arch="resnet", latent_dim=16, resnet_width=8, **kw)),
    "wgan-gp": ("wgan-gp", lambda r, **kw: WGANGPConfig(
        resolution=r, latent_dim=16, generator_width=32, discriminator_width=8, width_max=32, n_critic=2, **kw)),
    "dragan": ("dragan", lambda r, **kw: DRAGANConfig(
        resolution=r, latent_dim=16, generator_width=32, discriminator_width=8, width_max=32, **kw)),
    "sngan": ("sngan", lambda r, **kw: SNGANConfig(
        resolution=r, latent_dim=16, generator_width=32, discriminator_width=8, width_max=32, **kw)),
    "sngan-conditional": ("sngan", lambda r, **kw: SNGANConfig(
        resolution=r, conditional=True, latent_dim=16, generator_width=32,
        discriminator_width=8, width_max=32, **kw)),
    "pggan": ("pggan", lambda r, **kw: PGGANConfig(
        resolution=r, latent_dim=16, width_base=256, width_max=16, minibatch_std_group=2, **kw)),
    "stylegan-conditional": ("stylegan", _stylegan),
}


def tiny_config(case: str, resolution: int, **overrides):
    return TINY[case][1](resolution, **{"batch_size": 4, "num_classes": NUM_CLASSES, **overrides})


@pytest.fixture(scope="session")
def anime_faces_32():
    """(images in [-1, 1] float32 (N, 32, 32, 3), int labels, class names) from ../shared."""
    from PIL import Image

    from keras_gans.data.images import image_to_array, load_image

    root = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anime-faces-64"
    if not root.is_dir():
        pytest.skip(f"{root} is absent: this test needs the team's ../shared folder next to the repo")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())[:NUM_CLASSES]
    images, labels = [], []
    for index, name in enumerate(classes):
        for path in sorted((root / name).iterdir())[:64]:
            image = load_image(path).resize((32, 32), Image.LANCZOS)
            images.append(image_to_array(image))
            labels.append(index)
    images = np.stack(images).astype("float32") / 127.5 - 1.0
    return images, np.asarray(labels, np.int32), classes
