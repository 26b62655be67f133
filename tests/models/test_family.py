"""Every model of the GAN family: builds at two resolutions, one compiled train step, a safe-mode
serialization round trip with identical outputs, and a 100-step run on real images."""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans.config import get_model
from keras_gans.layers import NoiseInjection
from keras_gans.training.engine import build_gan

from .conftest import NUM_CLASSES, TINY, tiny_config

CASES = sorted(TINY)


def _build(case, resolution, **overrides):
    config = tiny_config(case, resolution, **overrides)
    entry = get_model(TINY[case][0])
    assert config.model_name == entry.name
    return config, entry.build_generator(config), entry.build_discriminator(config)


def _inputs(config, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, config.latent_dim)).astype("float32")
    labels = (np.arange(batch) % NUM_CLASSES).astype("int32")
    images = rng.uniform(-1, 1, (batch, config.resolution, config.resolution, config.channels)).astype("float32")
    return z, labels, images


def _g_in(config, z, labels):
    return [z, labels] if config.conditional else z


def _d_in(config, discriminator, images, labels):
    return [images, labels] if len(discriminator.inputs) > 1 else images


def _outputs(model, inputs):
    out = model(inputs, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("resolution", [16, 32])
def test_builds_at_two_resolutions(case, resolution):
    config, generator, discriminator = _build(case, resolution)
    z, labels, images = _inputs(config)
    fake = generator(_g_in(config, z, labels), training=False)
    assert fake.shape == (4, resolution, resolution, config.channels)
    assert fake.dtype == "float32"
    assert np.all(np.isfinite(fake))
    assert [i.name for i in generator.inputs][:1] == ["z"]
    outputs = _outputs(discriminator, _d_in(config, discriminator, images, labels))
    assert outputs[0].shape == (4, 1) and outputs[0].dtype == np.float32
    if config.auxiliary_classifier_weight > 0:
        assert outputs[1].shape == (4, NUM_CLASSES)
    if config.conditional:
        assert generator.inputs[1].dtype == "int32"


@pytest.mark.parametrize("case", CASES)
def test_one_compiled_train_step(case):
    config = tiny_config(case, 16)
    gan = build_gan(config, seed=3)
    gan.compile()
    g_before = [keras.ops.convert_to_numpy(v) for v in gan.generator.trainable_variables]
    d_before = [keras.ops.convert_to_numpy(v) for v in gan.discriminator.trainable_variables]
    z, labels, _ = _inputs(config, batch=config.batch_size * config.n_critic)
    images = np.random.default_rng(1).uniform(-1, 1, (len(labels), 16, 16, config.channels)).astype("float32")
    history = gan.fit(tf.data.Dataset.from_tensors((images, labels)).repeat(), steps_per_epoch=1, epochs=1, verbose=0)
    for name, values in history.history.items():
        assert np.isfinite(values[-1]), name
    assert int(gan.steps_done.numpy()) == 1
    assert any(not np.allclose(a, keras.ops.convert_to_numpy(b)) for a, b in zip(g_before, gan.generator.trainable_variables))
    assert any(not np.allclose(a, keras.ops.convert_to_numpy(b)) for a, b in zip(d_before, gan.discriminator.trainable_variables))


@pytest.mark.parametrize("augment", ["diffaug", "ada"])
@pytest.mark.parametrize("case", CASES)
def test_compiled_steps_with_each_augmentation(case, augment):
    """DiffAugment and ADA train compiled steps of every model of the family (FastGAN's own
    tests cover it), and ADA adjusts p inside them."""
    # ada_target -1: r_t is never below it, so p never falls.
    ada = {"augment_p": 0.2, "ada_interval": 1, "augment_speed_kimg": 0.1, "ada_target": -1.0}
    config = tiny_config(case, 16, augment=augment, steps_per_execution=2, **(ada if augment == "ada" else {}))
    gan = build_gan(config, seed=3)
    gan.compile()
    d_before = [keras.ops.convert_to_numpy(v) for v in gan.discriminator.trainable_variables]
    _, labels, images = _inputs(config, batch=config.batch_size * config.n_critic)
    history = gan.fit(tf.data.Dataset.from_tensors((images, labels)).repeat(), steps_per_epoch=2, epochs=1, verbose=0)
    for name, values in history.history.items():
        assert np.isfinite(values[-1]), name
    assert int(gan.steps_done.numpy()) == 2
    assert any(not np.allclose(a, keras.ops.convert_to_numpy(b)) for a, b in zip(d_before, gan.discriminator.trainable_variables))
    if augment == "ada":
        # Each step moves p by the real images D saw (batch times n_critic) / (speed * 1000), up
        # unless r_t equals the target, that is, unless D scored every real image below zero.
        step = config.batch_size * config.n_critic / 100
        moved = (float(gan.augment_p.numpy()) - 0.2) / step
        assert moved == pytest.approx(round(moved), abs=1e-4) and round(moved) in (0, 1, 2)
        if history.history["augment_rt"][-1] > -1.0:
            assert round(moved) >= 1


def _quiet_noise(model):
    for layer in model._flatten_layers():
        if isinstance(layer, NoiseInjection):
            layer.randomize = False


@pytest.mark.parametrize("case", CASES)
def test_safe_mode_round_trip(case, tmp_path):
    config, generator, discriminator = _build(case, 16)
    z, labels, images = _inputs(config)
    for name, model, inputs in (
        ("generator", generator, _g_in(config, z, labels)),
        ("discriminator", discriminator, _d_in(config, discriminator, images, labels)),
    ):
        path = tmp_path / f"{name}.keras"
        keras.saving.save_model(model, path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        _quiet_noise(model)
        _quiet_noise(loaded)
        for a, b in zip(_outputs(model, inputs), _outputs(loaded, inputs)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_generator_declares_its_parts_and_the_declaration_survives_saving(case, tmp_path):
    from keras_gans.models.common import generator_parts

    config, generator, _ = _build(case, 16)
    path = tmp_path / "generator.keras"
    keras.saving.save_model(generator, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for model in (generator, loaded):
        parts = generator_parts(model)
        assert parts.model == TINY[case][0]
        assert parts.num_classes == (NUM_CLASSES if config.conditional else 0)
        assert parts.style_based == (TINY[case][0] == "stylegan")
        if parts.style_based:
            assert parts.mapping.name == "mapping" and parts.synthesis.name == "synthesis"
            assert hasattr(parts.truncation, "w_avg")


@pytest.mark.parametrize("case", ["stylegan-conditional", "acgan", "sngan-conditional"])
def test_generators_saved_before_the_declaration_are_still_read(case):
    from keras_gans.models.common import generator_parts

    config, generator, _ = _build(case, 16)
    undeclared = keras.Model(generator.inputs, generator.get_layer("description").input)
    parts = generator_parts(undeclared)
    assert parts.num_classes == NUM_CLASSES
    assert parts.style_based == (TINY[case][0] == "stylegan")


def _dataset(images, labels, batch, seed=0):
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed)
        .repeat()
        .batch(batch, drop_remainder=True)
    )


@pytest.mark.parametrize("case", CASES)
def test_100_steps_on_anime_faces(case, anime_faces_32):
    images, labels, _ = anime_faces_32
    if case == "pggan":
        from keras_gans.training.progressive import train_progressive

        # 4x4 for 100 images, then 8, 16 and 32 each fading in over 100 and stable for 100.
        config = tiny_config(case, 32, batch_size=8, fade_kimg=0.1, stable_kimg=0.1)
        stage_logs = []
        stages = []
        callback = keras.callbacks.LambdaCallback(on_batch_end=lambda batch, logs=None: stage_logs.append(dict(logs or {})))
        gan = train_progressive(
            config, _dataset(images, labels, 8), total_kimg=0.8, seed=0, callbacks=[callback],
            on_stage_start=lambda gan, resolution: stages.append(resolution), verbose=0,
        )
        assert stages == [4, 8, 16, 32]
        assert int(gan.steps_done.numpy()) == 100
        assert gan.generator.output.shape[1] == 32
        history = {k: [log[k] for log in stage_logs if k in log] for k in stage_logs[-1]}
    else:
        config = tiny_config(case, 32, batch_size=8)
        gan = build_gan(config, seed=0)
        gan.compile()
        batch = config.batch_size * config.n_critic
        history = gan.fit(_dataset(images, labels, batch), steps_per_epoch=100, epochs=1, verbose=0).history
        assert int(gan.steps_done.numpy()) == 100
    for name, values in history.items():
        assert np.all(np.isfinite(values)), name
    z, sample_labels, _ = _inputs(config, batch=4)
    sample = gan.ema_generator(_g_in(config, z, sample_labels), training=False)
    assert np.all(np.isfinite(sample))
