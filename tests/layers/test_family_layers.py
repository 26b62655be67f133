"""Spectral normalization (the paper's method), conditioning layers and the fade-in layer."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans.layers import (
    ConditionalBatchNormalization,
    FadeIn,
    OneHot,
    ProjectionScore,
    SNConv2D,
    SNDense,
    SNEmbedding,
)
from keras_gans.layers.spectral import spectral_sigma


def _matrix_sigma(kernel):
    kernel = np.asarray(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_power_iteration_converges_to_the_largest_singular_value():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((20, 7)).astype("float32")
    u = rng.standard_normal((1, 7)).astype("float32")
    for _ in range(50):
        sigma, u = spectral_sigma(tf.constant(matrix), u, power_iterations=1)
    np.testing.assert_allclose(float(sigma), _matrix_sigma(matrix), rtol=1e-4)


@pytest.mark.parametrize(
    "layer, inputs",
    [
        (lambda: SNDense(6), np.random.default_rng(1).standard_normal((4, 10)).astype("float32")),
        (lambda: SNConv2D(5, 3, strides=2), np.random.default_rng(2).standard_normal((2, 8, 8, 3)).astype("float32")),
        (lambda: SNConv2D(5, 4, strides=2, padding="valid"), np.random.default_rng(3).standard_normal((2, 8, 8, 3)).astype("float32")),
    ],
)
def test_sigma_stays_near_one_while_training(layer, inputs):
    """Training steps change the raw kernel a lot; the effective kernel's sigma stays ~1."""
    layer = layer()
    layer(inputs)
    layer.kernel.assign(layer.kernel * 3.0)  # any scale: only the direction matters
    optimizer = keras.optimizers.Adam(0.001)
    target = tf.random.stateless_normal(layer.compute_output_shape(inputs.shape), (1, 2))
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(inputs, training=True) - target))
        optimizer.apply(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables)
    raw = _matrix_sigma(layer.kernel.numpy())
    effective = _matrix_sigma(layer.normalized_kernel(training=False).numpy())
    assert raw > 2.0  # the stored kernel is not normalised in place
    assert effective == pytest.approx(1.0, abs=0.05)


def test_gradient_flows_through_sigma():
    """d/dW of sum(x W / sigma(W)) includes the -x W (v u^T) / sigma^2 term (Miyato et al. eq. 12)."""
    layer = SNDense(3, use_bias=False)
    x = np.random.default_rng(4).standard_normal((5, 4)).astype("float32")
    layer(x)
    for _ in range(30):  # converge u so that sigma is the exact singular value
        layer(x, training=True)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x))
    gradient = tape.gradient(out, layer.kernel).numpy()
    kernel = layer.kernel.numpy()
    sigma = _matrix_sigma(kernel)
    u_left, _, v_right = np.linalg.svd(kernel)
    outer = np.outer(u_left[:, 0], v_right[0])  # d sigma / d W
    ones = np.ones((5, 3), np.float32)
    expected = x.T @ ones / sigma - (np.sum(x @ kernel) / sigma**2) * outer
    np.testing.assert_allclose(gradient, expected, rtol=2e-3, atol=2e-4)
    # and it differs from treating sigma as a constant
    assert not np.allclose(gradient, x.T @ ones / sigma, atol=1e-3)


def test_u_updates_only_in_training():
    layer = SNDense(4)
    x = np.ones((2, 3), np.float32)
    layer(x)
    before = layer.u.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(before, layer.u.numpy())
    layer(x, training=True)
    assert not np.allclose(before, layer.u.numpy())
    assert not layer.u.trainable


def _round_trip(model, inputs, tmp_path):
    path = tmp_path / "model.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(model(inputs)), np.asarray(loaded(inputs)), rtol=1e-6, atol=1e-6)


def test_spectral_layers_round_trip(tmp_path):
    image = keras.Input((8, 8, 3))
    label = keras.Input((), dtype="int32")
    features = keras.layers.Flatten()(SNConv2D(4, 3, strides=2)(image))
    score = SNDense(1)(features)
    projection = ProjectionScore()([features, SNEmbedding(3, features.shape[-1])(label)])
    model = keras.Model([image, label], keras.layers.Add()([score, projection]))
    x = np.random.default_rng(5).standard_normal((2, 8, 8, 3)).astype("float32")
    model([x, np.array([0, 2])], training=True)  # move u away from its initial value
    _round_trip(model, [x, np.array([0, 2], np.int32)], tmp_path)


def test_conditional_batch_norm_scales_per_class(tmp_path):
    layer = ConditionalBatchNormalization(2, name="cbn")
    x = np.random.default_rng(6).standard_normal((4, 2, 2, 3)).astype("float32")
    labels = np.array([0, 1, 0, 1], np.int32)
    layer([x, labels])
    layer.gamma.assign(np.array([[1, 1, 1], [2, 2, 2]], np.float32))
    layer.beta.assign(np.array([[0, 0, 0], [5, 5, 5]], np.float32))
    out = layer([x, labels], training=True).numpy()
    normalized = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(out[0], normalized[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[1], 2 * normalized[1] + 5, rtol=1e-4, atol=1e-4)
    features, label = keras.Input((2, 2, 3)), keras.Input((), dtype="int32")
    model = keras.Model([features, label], ConditionalBatchNormalization(2)([features, label]))
    _round_trip(model, [x, labels], tmp_path)


def test_one_hot_and_fade_in(tmp_path):
    np.testing.assert_array_equal(OneHot(3)(np.array([2, 0])).numpy(), [[0, 0, 1], [1, 0, 0]])
    old, new = keras.Input((2,)), keras.Input((2,))
    fade = FadeIn(name="fade")
    model = keras.Model([old, new], fade([old, new]))
    a, b = np.zeros((1, 2), np.float32), np.full((1, 2), 4.0, np.float32)
    np.testing.assert_allclose(model([a, b]).numpy(), 0.0)
    fade.alpha.assign(0.25)
    np.testing.assert_allclose(model([a, b]).numpy(), 1.0)
    path = tmp_path / "fade.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert float(loaded.get_layer("fade").alpha.numpy()) == 0.25
    assert not fade.alpha.trainable
