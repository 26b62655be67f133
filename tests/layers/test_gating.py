import keras
import numpy as np
import pytest

from keras_gans.layers import GLU, RandomQuarterCrop, crop_quarter


def test_glu_gates_the_first_half_with_the_second():
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 8)).astype("float32")
    expected = x[..., :4] / (1 + np.exp(-x[..., 4:]))
    np.testing.assert_allclose(GLU()(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("quarter, rows, columns", [(0, 0, 0), (1, 0, 2), (2, 2, 0), (3, 2, 2)])
def test_crop_quarter(quarter, rows, columns):
    images = np.arange(2 * 4 * 4 * 1, dtype="float32").reshape(2, 4, 4, 1)
    cropped = np.asarray(crop_quarter(images, np.array([quarter, quarter])))
    np.testing.assert_array_equal(cropped, images[:, rows : rows + 2, columns : columns + 2])


def test_random_quarter_crop_draws_per_sample_and_is_fixed_at_inference():
    features = np.random.default_rng(0).standard_normal((64, 8, 8, 2)).astype("float32")
    layer = RandomQuarterCrop(seed=3)
    crops, quarters = layer(features, training=True)
    quarters = np.asarray(quarters)
    assert set(quarters.tolist()) == {0, 1, 2, 3}
    np.testing.assert_array_equal(crops, crop_quarter(features, quarters))
    crops, quarters = layer(features, training=False)
    assert not np.any(np.asarray(quarters))
    restored = RandomQuarterCrop.from_config(layer.get_config())
    assert restored.seed == 3 and isinstance(restored, keras.layers.Layer)
