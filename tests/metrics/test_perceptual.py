import numpy as np
import tensorflow as tf

from keras_gans.metrics.perceptual import EffNetPerceptualDistance


def _faces(count=4, size=64, seed=0):
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1, 1, size, dtype="float32")
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images = []
    for _ in range(count):
        centre = rng.uniform(-0.3, 0.3, 2)
        disc = ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < rng.uniform(0.1, 0.4)).astype("float32")
        colour = rng.uniform(-1, 1, 3).astype("float32")
        images.append(disc[..., None] * colour + (1 - disc[..., None]) * -colour)
    return np.stack(images)


def test_zero_for_identical_and_grows_with_the_damage():
    distance = EffNetPerceptualDistance()
    images = _faces()
    rng = np.random.default_rng(1)
    same = np.asarray(distance(images, images))
    np.testing.assert_allclose(same, 0.0, atol=1e-6)
    noisy = [np.asarray(distance(images, np.clip(images + s * rng.standard_normal(images.shape), -1, 1).astype("float32")))
             for s in (0.05, 0.3)]
    assert np.all(noisy[0] > 0) and np.all(noisy[1] > noisy[0])
    # Blurring keeps colours but loses edges: also far, and symmetric.
    blurred = tf.nn.avg_pool2d(images, 5, 1, "SAME").numpy()
    np.testing.assert_allclose(distance(images, blurred), distance(blurred, images), rtol=1e-4)
    assert distance(images, blurred).shape == (4,)


def test_differentiable_and_any_size():
    distance = EffNetPerceptualDistance()
    target = tf.constant(_faces(2, 32))
    decoded = tf.Variable(tf.zeros_like(target))
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(distance(decoded, target))
    gradient = tape.gradient(value, decoded)
    assert np.isfinite(value.numpy()) and value.numpy() > 0
    assert np.all(np.isfinite(gradient.numpy())) and np.abs(gradient.numpy()).sum() > 0
