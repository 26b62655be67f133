"""DiffAugment: differentiable, per-sample, shape-preserving, and applied wherever D looks."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans import augment


def _images(batch=8, size=16, channels=3, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32"))


@pytest.mark.parametrize("name", augment.DIFFAUGMENT_TRANSFORMS)
def test_each_transform_keeps_shape_differs_per_sample_and_passes_gradients(name):
    images = tf.ones((8, 16, 16, 3)) * 0.3
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = augment.diff_augment(images, name, keras.random.SeedGenerator(1))
        total = tf.reduce_sum(out)
    assert out.shape == images.shape
    per_sample = np.asarray(out).reshape(8, -1)
    assert len({row.tobytes() for row in per_sample}) > 1  # each sample draws its own parameters
    gradient = tape.gradient(total, images)
    assert gradient is not None and np.isfinite(np.asarray(gradient)).all() and np.abs(np.asarray(gradient)).sum() > 0


def test_translation_moves_content_by_whole_pixels_and_fills_zeros():
    image = np.zeros((1, 16, 16, 1), np.float32)
    image[0, 8, 8, 0] = 1.0
    seen = set()
    generator = keras.random.SeedGenerator(3)
    for _ in range(30):
        out = np.asarray(augment.random_translation(tf.constant(image), generator))[0, :, :, 0]
        assert out.sum() in (0.0, 1.0) and set(np.unique(out)) <= {0.0, 1.0}
        if out.sum():
            y, x = np.argwhere(out == 1.0)[0]
            assert abs(y - 8) <= 2 and abs(x - 8) <= 2
            seen.add((y, x))
    assert len(seen) > 3


def test_cutout_zeroes_a_half_side_square():
    out = np.asarray(augment.random_cutout(tf.ones((4, 16, 16, 3)), keras.random.SeedGenerator(0)))
    for sample in out:
        zeros = (sample[..., 0] == 0).sum()
        assert 0 < zeros <= 64  # an 8x8 square, clipped at the border


def test_unknown_transform_is_named_when_the_config_is_resolved(tiny_stylegan_config):
    from keras_gans.config import ConfigError

    with pytest.raises(ValueError, match="unknown DiffAugment transform.*'colour'"):
        augment.parse_policy("colour,translation")
    with pytest.raises(ConfigError, match="diffaugment_policy: unknown transform.*'colour'"):
        tiny_stylegan_config(16, augment="diffaug", diffaugment_policy="colour,translation")


def test_engine_augments_reals_fakes_and_r1_inputs(tiny_stylegan_config):
    from keras_gans.training.engine import build_gan

    config = tiny_stylegan_config(16, augment="diffaug", r1_interval=1, r1_weight=1.0)
    gan = build_gan(config, seed=0)
    gan.compile()
    images = _images(4)
    # The same images give different logits in training (augmented), identical ones in inference.
    first = np.asarray(gan._discriminate(images, None))
    second = np.asarray(gan._discriminate(images, None))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(np.asarray(gan(images)), np.asarray(gan(images)))
    labels = tf.zeros((4,), tf.int32)
    logs = gan.train_step((images, labels))
    assert np.isfinite(float(logs["r1_penalty"])) and float(logs["r1_penalty"]) > 0
