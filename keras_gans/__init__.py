"""keras_gans: generative adversarial networks that paint, in Keras 3.

Importing the package registers every custom layer, so
``keras.saving.load_model(path, safe_mode=True)`` loads any saved generator, and every model
and preset, so ``keras_gans.config`` finds them by name.
"""
import os

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

from keras_gans import layers  # noqa: E402,F401  (registers the serializable layers)
# Registers every model and preset with keras_gans.config, which itself imports no model:
# imports point one way (models -> config), and the registry is full whatever is imported first.
from keras_gans import models  # noqa: E402,F401

__version__ = "0.1.0"
