"""keras_gans' LeakyReLU: the same values and first- and second-order gradients as Keras's, and a
training step whose graph TensorFlow's remapper can fuse (the reason the layer exists)."""
import numpy as np
import keras
import pytest
import tensorflow as tf

import keras_gans  # noqa: F401
from keras_gans.layers import EqualizedConv2D, LeakyReLU


def _value_and_gradients(layer, x):
    """(sum of layer(x)^3, its gradient, the gradient of the gradient's squared norm): the
    second-order path the R1 penalty takes."""
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            value = tf.reduce_sum(layer(x) ** 3)
        gradient = inner.gradient(value, x)
        norm = tf.reduce_sum(gradient * gradient)
    return value, gradient, outer.gradient(norm, x)


@pytest.mark.parametrize("slope", [0.2, 0.01, 0.0])
def test_matches_keras_leaky_relu_to_the_second_derivative(slope):
    data = np.random.RandomState(0).randn(2, 4, 4, 3).astype("float32")
    data[0, 0, 0] = 0.0  # the kink: both give the slope's gradient there
    x = tf.constant(data)
    ours = _value_and_gradients(LeakyReLU(slope), x)
    reference = _value_and_gradients(keras.layers.LeakyReLU(slope), x)
    for got, want in zip(ours, reference):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_bfloat16_gradient_matches_keras():
    x = tf.constant(np.random.RandomState(1).randn(8, 16).astype("float32"), dtype=tf.bfloat16)
    for got, want in zip(_value_and_gradients(LeakyReLU(0.2, dtype="bfloat16"), x),
                         _value_and_gradients(keras.layers.LeakyReLU(0.2, dtype="bfloat16"), x)):
        np.testing.assert_array_equal(np.asarray(tf.cast(got, tf.float32)), np.asarray(tf.cast(want, tf.float32)))


def test_saves_and_loads_in_safe_mode(tmp_path):
    x = keras.Input((5,))
    model = keras.Model(x, LeakyReLU(0.3, name="act")(x))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.get_layer("act")) is LeakyReLU and loaded.get_layer("act").negative_slope == pytest.approx(0.3)
    data = np.linspace(-2, 2, 10, dtype="float32").reshape(2, 5)
    np.testing.assert_array_equal(np.asarray(loaded(data)), np.asarray(model(data)))


def _convolutions_fused_with_their_activation(activation) -> int:
    """How many of three conv -> bias -> activation layers TensorFlow runs as one fused kernel,
    in a step with an R1-style second-order gradient (the graph it actually executes, as the
    session reports it)."""
    graph = tf.Graph()
    with graph.as_default():
        rng = np.random.RandomState(0)
        images = tf.constant(rng.randn(2, 8, 8, 3).astype("float32"))
        kernels = [tf.Variable(rng.randn(3, 3, channels, 8).astype("float32") * 0.1) for channels in (3, 8, 8)]
        biases = [tf.Variable(np.zeros(8, "float32")) for _ in kernels]
        features = images
        for kernel, bias in zip(kernels, biases):
            features = activation()(tf.nn.conv2d(features, kernel, 1, "SAME") + bias)
        scores = tf.reduce_mean(features, axis=[1, 2, 3])
        penalty = tf.reduce_sum(tf.square(tf.gradients(tf.reduce_sum(scores), images)[0]))
        gradients = tf.gradients(tf.reduce_mean(tf.nn.softplus(-scores)) + penalty, kernels + biases)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            metadata = tf.compat.v1.RunMetadata()
            session.run(gradients, options=tf.compat.v1.RunOptions(output_partition_graphs=True),
                        run_metadata=metadata)
    return sum(1 for partition in metadata.partition_graphs for node in partition.node
               if "FusedConv2D" in node.op and b"LeakyRelu" in node.attr["fused_ops"].list.s)


def test_the_remapper_fuses_convolution_bias_and_activation_under_a_second_order_gradient():
    assert _convolutions_fused_with_their_activation(lambda: LeakyReLU(0.2)) == 3
    # Keras's own layer trips the remapper, which then gives up on the whole graph. If a TensorFlow
    # release fixes that, this fails, and keras_gans' LeakyReLU can go.
    assert _convolutions_fused_with_their_activation(lambda: keras.layers.LeakyReLU(0.2)) == 0
