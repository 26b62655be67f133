"""StyleGAN: the article preset's shapes, building at several resolutions, safe-mode round
trips, and the truncation trick."""
import numpy as np
import keras
import pytest
import tensorflow as tf

import keras_gans

from keras_gans.generation import generate_images, seed_noise, set_truncation
from keras_gans.models.stylegan import (
    article_preset,
    build_discriminator,
    build_generator,
    discriminator_widths,
    synthesis_widths,
)


@pytest.mark.parametrize(
    "resolution, constant, widths, d_widths",
    [
        (64, 64, [128, 64, 32, 16], [16, 32, 64, 128]),
        (256, 256, [256, 192, 128, 64, 32, 16], [16, 32, 64, 128, 192, 256]),
    ],
)
def test_article_preset_widths(resolution, constant, widths, d_widths):
    config = article_preset(resolution)
    assert synthesis_widths(config) == (constant, widths)
    assert discriminator_widths(config) == d_widths
    assert config.mapping_layers == 8 and config.batch_size == 4 and config.loss == "least-squares"
    assert config.r1_weight == 50 and config.r1_interval == 1 and config.style_mixing_prob == 0.4


def test_article_discriminator_ends_in_dense_128_dropout_dense_1():
    discriminator = build_discriminator(article_preset(16))
    names = [layer.name for layer in discriminator.layers]
    assert names[-5:] == ["dense", "dense_lrelu", "dropout", "score", "logit"]
    assert discriminator.get_layer("dense").units == 128


@pytest.mark.parametrize("resolution", [16, 32])
def test_builds_at_two_resolutions(tiny_stylegan_config, resolution):
    config = tiny_stylegan_config(resolution)
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = np.random.RandomState(0).randn(4, config.latent_dim).astype("float32")
    images = generator(z)
    assert images.shape == (4, resolution, resolution, 3)
    assert discriminator(images).shape == (4, 1)
    assert config.num_style_layers == generator.get_layer("synthesis").inputs[0].shape[1]


def test_unsupported_resolution_is_refused(tiny_stylegan_config):
    # Not a power of two: refused when the configuration is resolved, before any data is read.
    with pytest.raises(ValueError, match="resolution must be a power of two"):
        tiny_stylegan_config(48)
    # A power of two below StyleGAN's range: refused by the model when it is built.
    with pytest.raises(ValueError, match="power of two from 16 to 1024"):
        build_generator(tiny_stylegan_config(8))


@pytest.mark.parametrize("style_block,output", [("adain", "last"), ("modulated", "skip"), ("modulated", "last")])
def test_generator_round_trip_in_safe_mode(tiny_stylegan_config, tmp_path, style_block, output):
    generator = build_generator(tiny_stylegan_config(16, style_block=style_block, generator_output=output))
    for layer in generator.get_layer("synthesis").layers:  # make noise matter
        if hasattr(layer, "strength"):
            layer.strength.assign(np.full(layer.strength.shape, 0.5, "float32"))
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    first = generate_images(generator, 4, seed=7)
    second = generate_images(loaded, 4, seed=7)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, generate_images(loaded, 4, seed=8))


def test_truncation_zero_gives_the_mean_image(tiny_stylegan_config):
    generator = build_generator(tiny_stylegan_config(16, truncation_cutoff=None, noise_inputs=False))
    generator.get_layer("truncation").w_avg.assign(np.full(16, 0.3, "float32"))
    images = generate_images(generator, 3, seed=1, truncation_psi=0.0)
    np.testing.assert_array_equal(images[0], images[1])
    assert float(np.asarray(generator.get_layer("truncation").psi)) == 1.0  # restored afterwards
    set_truncation(generator, 1.0)
    seed_noise(generator, 0)
    images = generate_images(generator, 3, seed=1)
    assert not np.array_equal(images[0], images[1])


def test_conditional_stylegan_takes_labels(tiny_stylegan_config):
    config = tiny_stylegan_config(16, conditional=True, num_classes=3)
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = tf.random.normal((2, config.latent_dim))
    labels = tf.constant([0, 2], tf.int32)
    images = generator([z, labels])
    assert discriminator([images, labels]).shape == (2, 1)


def test_skip_output_sums_an_rgb_image_of_every_resolution(tiny_stylegan_config):
    synthesis = build_generator(tiny_stylegan_config(32, style_block="modulated", generator_output="skip")).get_layer("synthesis")
    names = [layer.name for layer in synthesis.layers]
    assert [n for n in names if n.startswith("to_rgb") and not n.endswith("_style")] == ["to_rgb_4", "to_rgb_8", "to_rgb_16", "to_rgb_32"]
    assert not any(isinstance(layer, keras_gans.layers.AdaIN) for layer in synthesis.layers)
    # style mixing and the mixing sheet still find one style per layer, at the right resolutions
    from keras_gans.generation import style_layer_resolutions

    assert style_layer_resolutions(synthesis) == [4, 4, 8, 8, 16, 16, 32, 32]


def test_style_choices_are_checked_when_the_config_is_resolved(tiny_stylegan_config):
    from keras_gans.config import ConfigError

    with pytest.raises(ConfigError, match="style_block: 'adin' is not one of: adain, modulated"):
        tiny_stylegan_config(16, style_block="adin")
    with pytest.raises(ConfigError, match="generator_output"):
        tiny_stylegan_config(16, generator_output="residual")
