"""Engine features the GAN family declares through its config: gradient penalties against
closed forms, the AC-GAN auxiliary loss, instance noise, and progressive growing (schedule,
fade-in alpha at the boundaries, resume in the middle of a fade)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans import losses
from keras_gans.config import GANConfig
from keras_gans.layers import FadeIn
from keras_gans.models.pggan import PGGANConfig
from keras_gans.training.engine import GAN
from keras_gans.training.schedules import ProgressiveSchedule, blend_reals, instance_noise_std

# --- Losses and penalties by hand ---------------------------------------------------------------


def test_gradient_penalties_by_hand():
    gradients = np.array([[[[3.0]], [[4.0]]], [[[0.0]], [[0.0]]]], np.float32)  # norms 5 and 0
    np.testing.assert_allclose(losses.wgan_gp_penalty(gradients).numpy(), [16.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(losses.dragan_penalty(gradients).numpy(), [16.0, 1.0], rtol=1e-5)
    # the safe norm keeps the penalty's gradient finite at a zero gradient
    zero = tf.zeros((1, 2, 2, 1))
    with tf.GradientTape() as tape:
        tape.watch(zero)
        value = tf.reduce_sum(losses.wgan_gp_penalty(zero))
    assert np.all(np.isfinite(tape.gradient(value, zero).numpy()))
    np.testing.assert_allclose(losses.drift_penalty(np.array([[2.0], [-3.0]])).numpy(), [4.0, 9.0])


def test_auxiliary_classifier_loss_by_hand():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]], np.float32)
    labels = np.array([0, 1])
    expected = np.mean([-np.log(np.exp(2) / (np.exp(2) + 2)), -np.log(np.e / (2 + np.e + np.exp(3) - 1))])
    assert float(losses.auxiliary_classifier_loss(logits, labels)) == pytest.approx(expected, rel=1e-5)
    assert float(losses.classification_accuracy(logits, labels)) == 0.5


def test_auxiliary_fake_weight_scales_the_fake_term():
    """D's classification loss = CE(real) + auxiliary_fake_weight * CE(fake) (1 is the paper)."""
    import dataclasses

    from keras_gans.config import preset_config
    from keras_gans.training.engine import build_gan

    rng = np.random.default_rng(0)
    real = tf.constant(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"))
    labels = tf.constant([0, 1, 2, 0])
    z = tf.constant(rng.standard_normal((4, 100)).astype("float32"))
    losses_by_weight = {}
    for fake_weight in (0.0, 0.5, 1.0):
        config = dataclasses.replace(
            preset_config("acgan-cifar-like"), resolution=16, num_classes=3, batch_size=4, generator_width=16,
            discriminator_width=4, width_max=16, dropout=0.0, auxiliary_fake_weight=fake_weight,
        )
        gan = build_gan(config, seed=0)  # same seed: identical networks for every weight
        gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
        fakes = gan.generator([z, labels], training=False)
        losses_by_weight[fake_weight] = float(gan._discriminator_step(real, labels, fakes)["d_aux_loss"])
    real_part, half, full = losses_by_weight[0.0], losses_by_weight[0.5], losses_by_weight[1.0]
    assert full - real_part > 0.5  # the fake term is there at weight 1 ...
    assert half - real_part == pytest.approx(0.5 * (full - real_part), rel=1e-4)  # ... and scales linearly


@dataclass
class LinearConfig(GANConfig):
    pass


def _linear_gan(weights, penalty, **config):
    """A GAN whose critic is linear, D(x) = <w, x> + b, so grad_x D = w everywhere."""
    config = LinearConfig(resolution=2, channels=1, latent_dim=3, batch_size=4, loss="wasserstein",
                          gradient_penalty=penalty, **config)
    z = keras.Input((3,), name="z")
    image = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4, activation="tanh")(z))
    generator = keras.Model(z, image)
    x = keras.Input((2, 2, 1), name="image")
    dense = keras.layers.Dense(1, name="score")
    discriminator = keras.Model(x, dense(keras.layers.Flatten()(x)))
    dense.set_weights([weights.reshape(4, 1), np.array([0.3], np.float32)])
    gan = GAN(generator, discriminator, config, seed=0)
    gan.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
    return gan


@pytest.mark.parametrize("penalty", ["wgan-gp", "dragan"])
def test_gradient_penalty_of_a_linear_critic_is_closed_form(penalty):
    w = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    gan = _linear_gan(w, penalty)
    real = np.random.default_rng(0).uniform(-1, 1, (4, 2, 2, 1)).astype("float32")
    labels = np.zeros(4, np.int32)
    expected = (np.linalg.norm(w) - 1.0) ** 2  # the same for every interpolate / perturbed point
    real_tensor = tf.constant(real)
    points = (losses.wgan_gp_points(real_tensor, tf.zeros_like(real_tensor), gan.latent_seed) if penalty == "wgan-gp"
              else losses.dragan_points(real_tensor, gan.latent_seed))
    gradients = gan._gradients_at(points, labels)
    np.testing.assert_allclose(gradients.numpy().reshape(4, 4), np.tile(w, (4, 1)), rtol=1e-6)
    history = gan.fit(tf.data.Dataset.from_tensors((real, labels)).repeat(), steps_per_epoch=1, verbose=0).history
    assert history["gradient_penalty"][0] == pytest.approx(expected, rel=1e-5)


def test_wgan_gp_points_lie_between_real_and_fake():
    real, fake = tf.zeros((64, 2, 2, 1)), tf.ones((64, 2, 2, 1))
    points = losses.wgan_gp_points(real, fake, keras.random.SeedGenerator(0)).numpy()
    assert points.min() >= 0 and points.max() <= 1
    assert np.all(points == points[:, :1, :1, :1])  # one epsilon per sample
    assert points[:, 0, 0, 0].std() > 0.1  # uniform, not a constant


# --- Generator averaging with batch norm ------------------------------------------------------------


def test_ema_generator_follows_the_batch_norm_statistics():
    """EMA averages the weights; the BN moving statistics are taken from the live generator."""
    config = LinearConfig(resolution=2, channels=1, latent_dim=3, batch_size=8, ema_halflife_kimg=0.01)
    z = keras.Input((3,), name="z")
    h = keras.layers.BatchNormalization(momentum=0.5, name="bn")(keras.layers.Dense(4, name="dense")(z))
    generator = keras.Model(z, keras.layers.Reshape((2, 2, 1))(keras.layers.Activation("tanh")(h)))
    x = keras.Input((2, 2, 1), name="image")
    discriminator = keras.Model(x, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    gan = GAN(generator, discriminator, config, seed=0)
    gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    real = np.random.default_rng(0).uniform(-1, 1, (8, 2, 2, 1)).astype("float32")
    gan.fit(tf.data.Dataset.from_tensors((real, np.zeros(8, np.int32))).repeat(), steps_per_epoch=3, verbose=0)
    live, averaged = generator.get_layer("bn"), gan.ema_generator.get_layer("bn")
    assert not np.allclose(live.moving_variance.numpy(), 1.0)  # the statistics did move
    np.testing.assert_allclose(averaged.moving_mean.numpy(), live.moving_mean.numpy())
    np.testing.assert_allclose(averaged.moving_variance.numpy(), live.moving_variance.numpy())
    # ...while the weights are an average, not a copy
    assert not np.allclose(gan.ema_generator.get_layer("dense").kernel.numpy(), generator.get_layer("dense").kernel.numpy())


# --- Instance noise ---------------------------------------------------------------------------------


def test_instance_noise_anneals_linearly_to_zero():
    assert float(instance_noise_std(0, 0.2, 1.0)) == pytest.approx(0.2)
    assert float(instance_noise_std(500, 0.2, 1.0)) == pytest.approx(0.1)
    assert float(instance_noise_std(1000, 0.2, 1.0)) == 0.0
    assert float(instance_noise_std(5000, 0.2, 1.0)) == 0.0
    assert float(instance_noise_std(5000, 0.2, 0.0)) == pytest.approx(0.2)  # constant


def test_engine_applies_instance_noise_until_annealed():
    gan = _linear_gan(np.ones(4, np.float32), "none", instance_noise_std=0.5, instance_noise_kimg=0.1)
    images = tf.zeros((256, 2, 2, 1))
    assert float(tf.math.reduce_std(gan._instance_noise(images))) == pytest.approx(0.5, rel=0.1)
    gan.images_seen.assign(50)
    assert float(tf.math.reduce_std(gan._instance_noise(images))) == pytest.approx(0.25, rel=0.1)
    gan.images_seen.assign(100)
    np.testing.assert_array_equal(gan._instance_noise(images).numpy(), 0.0)


# --- Progressive growing ----------------------------------------------------------------------------


def test_progressive_schedule_boundaries():
    schedule = ProgressiveSchedule(4, 32, fade_kimg=1.0, stable_kimg=2.0)
    assert schedule.resolutions == [4, 8, 16, 32]
    assert [schedule.stage_start(r) for r in schedule.resolutions] == [0, 2000, 5000, 8000]
    assert schedule.stage_end(16) == 8000 and schedule.stage_end(32) == math.inf
    cases = {
        0: (4, 1.0), 1999: (4, 1.0),
        2000: (8, 0.0), 2500: (8, 0.5), 3000: (8, 1.0), 4999: (8, 1.0),
        5000: (16, 0.0), 5250: (16, 0.25), 6000: (16, 1.0),
        8000: (32, 0.0), 9000: (32, 1.0), 10**7: (32, 1.0),
    }
    for images, (resolution, alpha) in cases.items():
        assert schedule.resolution_at(images) == resolution, images
        assert schedule.alpha_at(images) == pytest.approx(alpha), images
        assert float(schedule.alpha_tensor(tf.constant(images, tf.int64), resolution)) == pytest.approx(alpha)


def test_schedule_rejects_bad_settings():
    with pytest.raises(ValueError):
        ProgressiveSchedule(4, 48, 1.0, 1.0)
    with pytest.raises(ValueError):
        ProgressiveSchedule(8, 4, 1.0, 1.0)


def test_blend_reals_between_resolutions():
    images = tf.reshape(tf.range(16, dtype=tf.float32), (1, 4, 4, 1))
    np.testing.assert_allclose(blend_reals(images, 1.0).numpy(), images.numpy())
    low = blend_reals(images, 0.0).numpy()[0, :, :, 0]
    np.testing.assert_allclose(low[:2, :2], 2.5)  # mean of 0, 1, 4, 5
    np.testing.assert_allclose(low[2:, 2:], 12.5)


def _tiny_pggan(**kw):
    return PGGANConfig(
        resolution=8, latent_dim=8, width_base=64, width_max=8, minibatch_std_group=2, batch_size=4,
        fade_kimg=0.04, stable_kimg=0.02, **kw,
    )


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    images = np.tanh(rng.standard_normal((32, 8, 8, 3))).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, np.zeros(32, np.int32))).repeat().batch(4)


def _fade_alphas(gan):
    return [float(layer.alpha.numpy()) for model in (gan.generator, gan.ema_generator, gan.discriminator)
            for layer in model.layers if isinstance(layer, FadeIn)]


def test_fade_alpha_follows_images_shown_in_training():
    from keras_gans.training.progressive import train_progressive

    config = _tiny_pggan()
    seen = []
    gan = train_progressive(config, _batches(), total_kimg=0.06, seed=0, verbose=0,
                            on_stage_start=lambda g, r: seen.append((r, int(g.images_seen.numpy()))))
    # 4x4 for 20 images (5 steps), then 8x8 fades in over 40 images (10 steps)
    assert seen == [(4, 0), (8, 20)]
    assert int(gan.images_seen.numpy()) == 60
    # alpha is set at the start of each step from the images shown before it: (56 - 20) / 40
    assert _fade_alphas(gan) == pytest.approx([0.9] * 3)


def test_resume_in_the_middle_of_a_fade_continues_with_the_same_alpha(tmp_path):
    from keras_gans.training.checkpoints import CheckpointManager
    from keras_gans.training.progressive import build_stage_for_images, train_progressive

    config = _tiny_pggan()
    schedule = ProgressiveSchedule.from_config(config)
    gan = train_progressive(config, _batches(), total_kimg=0.04, seed=0, verbose=0)
    assert int(gan.images_seen.numpy()) == 40 and schedule.alpha_at(40) == 0.5  # mid-fade
    path = CheckpointManager(tmp_path / "checkpoints", gan).save()

    resumed = build_stage_for_images(config, 40, seed=123)
    CheckpointManager(tmp_path / "checkpoints", resumed).restore(path)
    assert int(resumed.images_seen.numpy()) == 40
    assert _fade_alphas(resumed) == pytest.approx(_fade_alphas(gan))
    z = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    np.testing.assert_allclose(resumed.ema_generator(z).numpy(), gan.ema_generator(z).numpy(), rtol=1e-6)

    # one more step each: both set alpha = (40 - 20) / 40 = 0.5 from the restored images count
    for model in (gan, resumed):
        train_progressive(config, _batches(seed=5), total_kimg=0.044, gan=model, verbose=0)
        assert _fade_alphas(model) == pytest.approx([0.5] * 3)
        assert int(model.images_seen.numpy()) == 44


def test_resume_refuses_a_gan_of_the_wrong_stage():
    from keras_gans.training.progressive import build_stage, train_progressive

    config = _tiny_pggan()
    gan = build_stage(config, 4)
    gan.images_seen.assign(40)  # belongs to the 8x8 stage
    with pytest.raises(ValueError, match="build_stage_for_images"):
        train_progressive(config, _batches(), total_kimg=0.06, gan=gan, verbose=0)
