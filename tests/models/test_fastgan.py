"""FastGAN: builds at every preset's resolution, trains a compiled step through the engine,
round-trips in safe mode, and its decoders learn to rebuild a tiny set."""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans.config import ConfigError, preset_config
from keras_gans.models import fastgan
from keras_gans.training.engine import build_gan


def _dataset(config, count=16, seed=0):
    rng = np.random.default_rng(seed)
    size = config.resolution
    # Smooth, structured images (not white noise), so there is something to reconstruct.
    grid = np.linspace(-1, 1, size, dtype="float32")
    phase = rng.uniform(0, np.pi, (count, 1, 1, 3)).astype("float32")
    images = np.sin(3 * grid[None, :, None, None] + phase) * np.cos(2 * grid[None, None, :, None] + phase)
    labels = np.zeros((count,), "int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(config.batch_size, drop_remainder=True)


@pytest.mark.parametrize("preset, resolution", [("fastgan-64", 64), ("fastgan-128", 128), ("fastgan-256", 256)])
def test_builds_at_each_preset_resolution(preset, resolution):
    config = preset_config(preset)
    assert config.resolution == resolution and config.model_name == "fastgan"
    generator, discriminator = fastgan.build_generator(config), fastgan.build_discriminator(config)
    z = np.random.default_rng(0).standard_normal((2, config.latent_dim)).astype("float32")
    image = generator(z, training=False)
    assert image.shape == (2, resolution, resolution, 3)
    logits, whole, small, part, quarter = discriminator(image, training=False)
    assert logits.shape == (2, 50)  # two 5x5 maps, the reference's rf_big and rf_small
    decoded = min(resolution // 2, 128)
    for output in (whole, small, part):
        assert output.shape == (2, decoded, decoded, 3)
    assert quarter.shape == (2,)
    # Skip-layer excitation at every resolution from 64 up in G; from the 8x larger map in D.
    names = {layer.name for layer in generator.layers}
    assert {f"sle{r // 16}_{r}" for r in (64, 128, 256) if r <= resolution} <= names


def test_refuses_what_it_cannot_build():
    with pytest.raises(ConfigError, match="power of two from 64"):
        fastgan.build_generator(dataclasses.replace(preset_config("fastgan-64"), resolution=32))
    with pytest.raises(ConfigError, match="no class-conditional form"):
        fastgan.build_generator(dataclasses.replace(preset_config("fastgan-64"), conditional=True, num_classes=3))


def test_discriminator_without_reconstruction_has_only_logits():
    config = dataclasses.replace(preset_config("fastgan-64"), reconstruction_weight=0.0)
    discriminator = fastgan.build_discriminator(config)
    assert len(discriminator.outputs) == 1
    assert not any("decoded" in layer.name for layer in discriminator.layers)


def test_safe_mode_round_trip(tmp_path):
    config = preset_config("fastgan-64")
    generator = fastgan.build_generator(config)
    # Give the noise a strength, so that the round trip also covers the noise layers' weights.
    for layer in generator.layers:
        if "noise" in layer.name:
            layer.strength.assign(np.full(layer.strength.shape, 0.1, "float32"))
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    z = np.random.default_rng(1).standard_normal((3, config.latent_dim)).astype("float32")
    for model in (generator, loaded):
        for layer in model.layers:
            if "noise" in layer.name:
                layer.seed_generator.state.assign(np.array([7, 0], "uint32").astype(layer.seed_generator.state.dtype))
    np.testing.assert_allclose(generator(z, training=False), loaded(z, training=False), atol=1e-6)


def test_compiled_step_and_reconstruction_loss_falls():
    config = dataclasses.replace(preset_config("fastgan-64"), steps_per_execution=2)
    gan = build_gan(config, seed=0)
    gan.compile()
    assert gan.augment_policy == ("color", "translation")
    # Fakes and the generator's step go through a model that stops at the logits.
    assert len(gan.score_discriminator.outputs) == 1
    data = _dataset(config).repeat()
    first = gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0).history
    assert set(first) >= {"d_loss", "g_loss", "reconstruction_loss"}
    assert all(np.isfinite(v[-1]) for v in first.values())
    later = gan.fit(data, steps_per_epoch=40, epochs=1, verbose=0).history
    assert later["reconstruction_loss"][-1] < 0.8 * first["reconstruction_loss"][-1]
    assert int(gan.images_seen.numpy()) == 42 * config.batch_size


def test_compiled_steps_with_ada():
    """FastGAN trains with DiffAugment by default (above); ADA in its place trains too, and p is
    adjusted inside the compiled steps (never down here: the target -1 is at or below any r_t)."""
    config = dataclasses.replace(preset_config("fastgan-64"), augment="ada",
                                 steps_per_execution=2, augment_p=0.2, ada_interval=1, ada_target=-1.0)
    gan = build_gan(config, seed=0)
    gan.compile()
    history = gan.fit(_dataset(config).repeat(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert float(gan.augment_p.numpy()) >= 0.2
    if history["augment_rt"][-1] > -1.0:
        assert float(gan.augment_p.numpy()) > 0.2


def test_checkpoint_leaves_out_the_perceptual_network(tmp_path):
    from keras_gans.training.checkpoints import CheckpointManager

    gan = build_gan(preset_config("fastgan-64"), seed=0)
    gan.compile()
    perceptual = gan._perceptual.value
    assert perceptual is not None
    # The frozen EfficientNet is not one of the model's variables, so checkpoints stay small.
    own = {id(v) for v in gan.variables}
    assert not any(id(v) in own for v in perceptual.features.variables)
    CheckpointManager(tmp_path, gan).save()


def test_ema_generator_takes_the_live_power_iteration_vectors():
    # Spectral norm divides by sigma estimated with u; an EMA copy with its initial random u
    # would paint flat grey at inference.
    gan = build_gan(dataclasses.replace(preset_config("fastgan-64"), reconstruction_weight=0.0), seed=0)
    gan.compile()
    gan.fit(_dataset(gan.config).repeat(), steps_per_epoch=2, epochs=1, verbose=0)
    pairs = [(e, v) for e, v in zip(gan.ema_generator.non_trainable_variables, gan.generator.non_trainable_variables)
             if v.name == "u"]
    assert pairs
    for ema_u, u in pairs:
        np.testing.assert_array_equal(ema_u.numpy(), u.numpy())
