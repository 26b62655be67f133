"""StyleGAN: the article preset's shapes, building at several resolutions, safe-mode round
trips, and the truncation trick."""
import dataclasses

import numpy as np
import keras
import pytest
import tensorflow as tf

import keras_gans

from keras_gans.generation import generate_images, seed_noise, set_truncation
from keras_gans.layers import NoiseProjection
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


# The article's networks at 64x64 (../shared/anchors/stylegan-keras, printed from its tf_keras
# models): every layer with weights as (kind, output shape without the batch, parameters).
ARTICLE_STYLE_CONV_64 = [  # per g_block: (resolution, input channels, width), two convs each
    (4, 64, 64), (8, 64, 128), (16, 128, 64), (32, 64, 32), (64, 32, 16),
]
ARTICLE_DISCRIMINATOR_64 = [
    ("Conv2D", (64, 64, 16), 448), ("LeakyReLU",), ("AveragePooling2D",), ("Conv2D", (32, 32, 16), 2320), ("LeakyReLU",),
    ("Conv2D", (32, 32, 32), 4640), ("LeakyReLU",), ("AveragePooling2D",), ("Conv2D", (16, 16, 32), 9248), ("LeakyReLU",),
    ("Conv2D", (16, 16, 64), 18496), ("LeakyReLU",), ("AveragePooling2D",), ("Conv2D", (8, 8, 64), 36928), ("LeakyReLU",),
    ("Conv2D", (8, 8, 128), 73856), ("LeakyReLU",), ("AveragePooling2D",), ("Conv2D", (4, 4, 128), 147584), ("LeakyReLU",),
    ("Flatten",), ("Dense", (128,), 262272), ("LeakyReLU",), ("Dropout",), ("Dense", (1,), 129),
]
ARTICLE_GENERATOR_PARAMS_64, ARTICLE_DISCRIMINATOR_PARAMS_64 = 1_067_795, 555_921
ARTICLE_MAPPING_DENSE = ("Dense", (512,), 262_656)  # x4 in the article, x8 here


def article_generator_layers_64():
    layers = [("Dense", (1024,), 2048)]  # Dense(4*4*64) of the constant 1
    for resolution, channels_in, width in ARTICLE_STYLE_CONV_64:
        for conv_in in (channels_in, width):
            layers += [
                ("Conv2D", (resolution, resolution, width), 9 * conv_in * width + width),  # 3x3 conv
                ("Conv2D", (resolution, resolution, width), 2 * width),  # 1x1 conv of the noise crop
                ("Dense", (width,), 513 * width),  # AdaIN offset (bias initialised to ones)
                ("Dense", (width,), 513 * width),  # AdaIN scale
            ]
    return layers + [("Conv2D", (64, 64, 3), 51)]  # toRGB (sigmoid)


def _kind(layer):
    name = type(layer).__name__
    return {"EqualizedConv2D": "Conv2D", "NoiseProjection": "Conv2D", "EqualizedDense": "Dense", "ConstantInput": "Dense", "ReplicaDropout": "Dropout"}.get(name, name)


def _described(layer):
    if not layer.count_params():
        return (_kind(layer),)
    shape = tuple(layer.output.shape[1:])
    if type(layer).__name__ == "ConstantInput":
        shape = (int(np.prod(shape)),)  # the article reshapes its Dense output afterwards
    return (_kind(layer), shape, layer.count_params())


def test_article_preset_matches_the_articles_networks_layer_for_layer():
    config = article_preset(64)
    generator, discriminator = build_generator(config), build_discriminator(config)
    synthesis, mapping = generator.get_layer("synthesis"), generator.get_layer("mapping")
    ours = [_described(layer) for layer in synthesis.layers if layer.count_params()]
    article = article_generator_layers_64()
    assert sorted(ours) == sorted(article)
    assert synthesis.count_params() == sum(entry[2] for entry in article) == ARTICLE_GENERATOR_PARAMS_64
    # The discriminator is a chain: the same layers in the same order.
    assert [_described(layer) for layer in discriminator.layers[1:-1]] == ARTICLE_DISCRIMINATOR_64
    assert discriminator.count_params() == ARTICLE_DISCRIMINATOR_PARAMS_64
    # The mapping network: the article's Dense(512) layers, 8 instead of 4, linear at the end.
    dense = [_described(layer) for layer in mapping.layers if layer.count_params()]
    assert dense == [ARTICLE_MAPPING_DENSE] * 8
    assert type(mapping.layers[-1]).__name__ == "EqualizedDense"
    # LeakyReLU(0.01) everywhere, no skip in D, one style per block, one noise image per sample.
    slopes = {round(float(layer.negative_slope), 4) for model in (mapping, synthesis, discriminator)
              for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.01}
    assert config.num_style_layers == 5
    assert [type(layer).__name__ for layer in synthesis.layers].count("NoiseImage") == 1
    images = generator(np.random.RandomState(0).randn(2, 512).astype("float32"))
    assert float(np.min(images)) >= -1.0 and float(np.max(images)) <= 1.0  # 2 * sigmoid - 1


def test_article_generator_round_trips_in_safe_mode_with_its_noise_image(tmp_path):
    generator = build_generator(article_preset(16))
    for layer in generator.get_layer("synthesis").layers:  # make the noise branch matter
        if isinstance(layer, NoiseProjection):
            layer.kernel.assign(np.full(layer.kernel.shape, 0.5, "float32"))
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(generate_images(generator, 3, seed=4), generate_images(loaded, 3, seed=4))
    assert not np.array_equal(generate_images(loaded, 3, seed=4), generate_images(loaded, 3, seed=5))


def test_article_widths_follow_a_resolution_given_over_the_preset():
    from keras_gans.config import apply_overrides, preset_config

    config = apply_overrides(preset_config("stylegan-article"), {"resolution": "64"}, "test")
    assert synthesis_widths(config) == (64, [128, 64, 32, 16])
    assert discriminator_widths(config) == [16, 32, 64, 128]
    assert build_generator(config).get_layer("synthesis").count_params() == ARTICLE_GENERATOR_PARAMS_64


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


def test_discriminator_width_multiplier_widens_the_formula_and_refuses_explicit_widths():
    from keras_gans.config import apply_overrides, preset_config

    cpu = apply_overrides(preset_config("stylegan-cpu-64"), {"resolution": "128"}, "test")
    wide = dataclasses.replace(cpu, discriminator_width_multiplier=2)
    assert discriminator_widths(cpu) == [8, 16, 32, 64, 128]
    assert discriminator_widths(wide) == [16, 32, 64, 128, 256]
    assert build_discriminator(wide).count_params() > 3 * build_discriminator(cpu).count_params()
    with pytest.raises(ValueError, match="set one of the two"):
        build_discriminator(dataclasses.replace(wide, discriminator_widths=(8, 8, 8, 8, 8)))
    with pytest.raises(ValueError, match="at least 1"):
        build_discriminator(dataclasses.replace(cpu, discriminator_width_multiplier=0))


def test_small_set_preset_is_the_recipe_docs_quality_measured():
    """docs/quality.md ("A wider discriminator") ran --model stylegan with these settings at 128x128;
    the preset must resolve to the same configuration, augmentation aside."""
    from keras_gans.config import apply_overrides, model_default_config, preset_config

    measured = apply_overrides(model_default_config("stylegan"), {
        "resolution": "128", "mapping_layers": "2", "batch_size": "8", "g_learning_rate": "1.5e-3",
        "d_learning_rate": "1.5e-3", "discriminator_widths": "16,32,64,128,256", "augment": "diffaug"}, "test")
    preset = apply_overrides(preset_config("stylegan-small-set"), {"resolution": "128"}, "test")
    assert discriminator_widths(preset) == discriminator_widths(measured)
    differing = {f.name for f in dataclasses.fields(preset) if getattr(preset, f.name) != getattr(measured, f.name)}
    assert differing == {"discriminator_widths", "discriminator_width_multiplier"}
