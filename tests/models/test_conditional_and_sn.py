"""Conditional forms (errors, labels steer the generator, AC-GAN heads) and SN-GAN's sigma in a
real training loop."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_gans.config import ConfigError, get_model
from keras_gans.layers import ConditionalBatchNormalization, SNConv2D, SNDense, SNEmbedding
from keras_gans.training.engine import build_gan

from .conftest import tiny_config


@pytest.mark.parametrize("case", ["dcgan", "wgan-gp", "dragan", "pggan"])
def test_models_without_a_conditional_form_refuse_it(case):
    config = tiny_config(case, 16, conditional=True, num_classes=3)
    with pytest.raises(ConfigError, match="conditional"):
        get_model(config.model_name).build_generator(config)


@pytest.mark.parametrize("case", ["acgan", "sngan-conditional", "stylegan-conditional"])
def test_conditional_models_need_classes(case):
    config = tiny_config(case, 16, num_classes=0)
    with pytest.raises((ConfigError, ValueError)):
        get_model(config.model_name).build_generator(config)


def test_acgan_is_always_conditional():
    config = tiny_config("acgan", 16, conditional=False)
    with pytest.raises(ConfigError, match="always class-conditional"):
        get_model("acgan").build_discriminator(config)


@pytest.mark.parametrize("case", ["acgan", "acgan-resnet", "sngan-conditional", "stylegan-conditional"])
def test_label_changes_the_image(case):
    config = tiny_config(case, 16)
    generator = get_model(config.model_name).build_generator(config)
    for layer in generator._flatten_layers():
        if isinstance(layer, ConditionalBatchNormalization):
            # per-class scales start equal (plain batch norm); give them the spread training would
            layer.gamma.assign(np.random.default_rng(1).normal(1.0, 0.5, layer.gamma.shape))
    z = np.random.default_rng(0).standard_normal((1, config.latent_dim)).astype("float32")
    z = np.repeat(z, 3, axis=0)
    images = generator([z, np.array([0, 1, 2], np.int32)], training=False).numpy()
    assert not np.allclose(images[0], images[1]) and not np.allclose(images[1], images[2])


def test_acgan_discriminator_classifies_and_takes_no_label():
    config = tiny_config("acgan", 16)
    discriminator = get_model("acgan").build_discriminator(config)
    assert len(discriminator.inputs) == 1
    assert [tuple(o.shape) for o in discriminator.outputs] == [(None, 1), (None, 3)]


def test_sngan_effective_sigma_stays_near_one_in_training():
    config = tiny_config("sngan-conditional", 16, batch_size=8)
    gan = build_gan(config, seed=0)
    gan.compile()
    rng = np.random.default_rng(0)
    images = np.tanh(rng.standard_normal((64, 16, 16, 3))).astype("float32")
    labels = rng.integers(0, 3, 64).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(8)
    gan.fit(data, steps_per_epoch=60, epochs=1, verbose=0)
    layers = [l for l in gan.discriminator.layers if isinstance(l, (SNConv2D, SNDense, SNEmbedding))]
    # every discriminator layer with weights is spectrally normalised
    assert layers == [l for l in gan.discriminator.layers if l.weights]
    for layer in layers:
        kernel = layer.normalized_kernel(training=False).numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        # one power-iteration step per call tracks sigma closely (estimates never exceed it)
        assert sigma == pytest.approx(1.0, abs=0.1), layer.name
