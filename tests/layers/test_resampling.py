import numpy as np
import keras
import pytest
import tensorflow as tf

import keras_gans  # noqa: F401
from keras_gans.layers import UpSampling2D


def _value_and_gradient(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        # Cubed so that the gradient depends on every output value, not only on where it sits.
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 3)
    return y, tape.gradient(loss, x)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("interpolation,data_format", [("bilinear", "channels_last"), ("bilinear", "channels_first"),
                                                        ("nearest", "channels_last")])
def test_values_and_gradients_are_keras_upsampling_bit_for_bit(policy, interpolation, data_format):
    rng = np.random.RandomState(0)
    x = tf.cast(tf.constant(rng.randn(2, 5, 6, 3).astype("float32") * 3), keras.mixed_precision.Policy(policy).compute_dtype)
    settings = dict(size=(2, 3), interpolation=interpolation, data_format=data_format, dtype=policy)
    ours, reference = _value_and_gradient(UpSampling2D(**settings), x), _value_and_gradient(keras.layers.UpSampling2D(**settings), x)
    assert ours[0].dtype == reference[0].dtype and ours[0].shape == reference[0].shape
    for got, want in zip(ours, reference):
        np.testing.assert_array_equal(np.float32(got), np.float32(want))


def test_bfloat16_bilinear_resizing_is_not_clipped():
    """Keras clips the float32 resize back into bfloat16's range (a Minimum and a Maximum over
    the whole output, and two selects in the gradient): a convex combination needs no clip."""
    layer = UpSampling2D(interpolation="bilinear", dtype="mixed_bfloat16")
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec((1, 4, 4, 2), tf.bfloat16)).graph
    kinds = [op.type for op in graph.get_operations()]
    assert "ResizeBilinear" in kinds and "Minimum" not in kinds and "Maximum" not in kinds
    keras_graph = tf.function(keras.layers.UpSampling2D(interpolation="bilinear", dtype="mixed_bfloat16")).get_concrete_function(
        tf.TensorSpec((1, 4, 4, 2), tf.bfloat16)).graph
    assert "Minimum" in [op.type for op in keras_graph.get_operations()]  # what the layer exists to avoid


def test_saves_and_loads_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 2)), UpSampling2D(interpolation="bilinear")])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.layers[-1], UpSampling2D) and loaded.layers[-1].interpolation == "bilinear"
    data = np.arange(32, dtype="float32").reshape(1, 4, 4, 2)
    np.testing.assert_array_equal(np.asarray(loaded(data)), np.asarray(model(data)))
