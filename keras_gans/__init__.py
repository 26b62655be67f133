"""keras_gans: generative adversarial networks that paint, in Keras 3.

Importing the package registers every custom layer, so
``keras.saving.load_model(path, safe_mode=True)`` loads any saved generator, and every model
and preset, so ``keras_gans.config`` finds them by name.
"""
import os
import sys
import warnings

_tensorflow_started_first = "tensorflow" in sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
# TensorFlow logs harmless C++ errors (CUDA probing on CPU machines, grappler remapper
# fallbacks) at ERROR level; Python exceptions still surface. Users can set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow uses its oneDNN CPU kernels by default only on CPUs with AVX-512 VNNI/BF16 or AMX;
# elsewhere (AVX2 machines such as AMD EPYC/Ryzen and older Intel) its Eigen kernels compute a
# convolution's input and filter gradients, which dominate GAN training, 2-4x slower than
# oneDNN's (benchmarks/conv_kernels.py). Read when TensorFlow starts, so it applies when
# keras_gans is imported first; TF_ENABLE_ONEDNN_OPTS=0 opts out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
if _tensorflow_started_first:
    try:
        from tensorflow.python.util import _pywrap_util_port

        _onednn_on = _pywrap_util_port.IsMklEnabled()
    except (ImportError, AttributeError):  # a TensorFlow without the query: nothing to say
        _onednn_on = True
    if not _onednn_on:
        warnings.warn(
            "TensorFlow was imported before keras_gans, with its oneDNN CPU kernels off: training runs "
            "up to 1.7x slower on this CPU. Import keras_gans first, or set TF_ENABLE_ONEDNN_OPTS=1 "
            "(0 to keep the current kernels and silence this) before TensorFlow starts.",
            stacklevel=2,
        )

from keras_gans import layers  # noqa: E402,F401  (registers the serializable layers)
# Registers every model and preset with keras_gans.config, which itself imports no model:
# imports point one way (models -> config), and the registry is full whatever is imported first.
from keras_gans import models  # noqa: E402,F401

__version__ = "0.1.0"
