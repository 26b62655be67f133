"""Reusable, serializable building blocks shared by every model (no Lambda layers)."""
from keras_gans.layers.activation import LeakyReLU
from keras_gans.layers.description import GeneratorDescription
from keras_gans.layers.conditioning import ConditionalBatchNormalization, OneHot, ProjectionScore
from keras_gans.layers.dropout import ReplicaDropout
from keras_gans.layers.equalized import EqualizedConv2D, EqualizedDense
from keras_gans.layers.fade import FadeIn
from keras_gans.layers.gating import GLU, RandomQuarterCrop, crop_quarter
from keras_gans.layers.normalization import MinibatchStdDev, PixelNorm, batch_normalization
from keras_gans.layers.resampling import UpSampling2D
from keras_gans.layers.spectral import SNConv2D, SNDense, SNEmbedding
from keras_gans.layers.style import (
    AdaIN,
    BroadcastLatent,
    ConstantInput,
    ModulatedConv2D,
    NoiseImage,
    NoiseInjection,
    NoiseProjection,
    SelectLatent,
    Truncation,
    fix_noise,
)

__all__ = [
    "AdaIN",
    "BroadcastLatent",
    "ConditionalBatchNormalization",
    "ConstantInput",
    "EqualizedConv2D",
    "EqualizedDense",
    "FadeIn",
    "GLU",
    "GeneratorDescription",
    "LeakyReLU",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseImage",
    "NoiseInjection",
    "NoiseProjection",
    "OneHot",
    "PixelNorm",
    "ProjectionScore",
    "RandomQuarterCrop",
    "ReplicaDropout",
    "SNConv2D",
    "SNDense",
    "SNEmbedding",
    "SelectLatent",
    "Truncation",
    "UpSampling2D",
    "batch_normalization",
    "crop_quarter",
    "fix_noise",
]
