"""Reusable, serializable building blocks shared by every model (no Lambda layers)."""
from keras_gans.layers.equalized import EqualizedConv2D, EqualizedDense
from keras_gans.layers.normalization import MinibatchStdDev, PixelNorm
from keras_gans.layers.style import (
    AdaIN,
    BroadcastLatent,
    ConstantInput,
    NoiseInjection,
    SelectLatent,
    Truncation,
)

__all__ = [
    "AdaIN",
    "BroadcastLatent",
    "ConstantInput",
    "EqualizedConv2D",
    "EqualizedDense",
    "MinibatchStdDev",
    "NoiseInjection",
    "PixelNorm",
    "SelectLatent",
    "Truncation",
]
