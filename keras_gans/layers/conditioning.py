"""Class conditioning: one-hot labels (AC-GAN), class-conditional batch normalization (de Vries
et al. 2017; the SN-GAN projection paper's generator, Miyato & Koyama 2018) and the projection
term of a conditional discriminator (Miyato & Koyama 2018, eq. 3)."""
from __future__ import annotations

import keras
from keras import ops

from keras_gans.layers.normalization import batch_normalization


@keras.saving.register_keras_serializable(package="keras_gans")
class OneHot(keras.layers.Layer):
    """int labels (B,) -> one-hot (B, num_classes) in the compute dtype."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, inputs):
        return ops.one_hot(ops.cast(inputs, "int32"), self.num_classes, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.num_classes,)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalization whose scale and offset are looked up per class.

    Inputs ``[features (B, H, W, C) or (B, C), labels (B,)]``. The scale table starts at one and
    the offset table at zero, so the layer starts as plain batch normalization.
    """

    def __init__(self, num_classes: int, momentum: float = 0.99, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon
        self.normalize = batch_normalization(momentum=momentum, epsilon=epsilon, center=False, scale=False, name="normalize")

    def build(self, input_shape):
        feature_shape = input_shape[0]
        channels = int(feature_shape[-1])
        self.normalize.build(feature_shape)
        self.gamma = self.add_weight(name="gamma", shape=(self.num_classes, channels), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.num_classes, channels), initializer="zeros")

    def call(self, inputs, training=False):
        features, labels = inputs
        x = self.normalize(features, training=training)
        labels = ops.cast(labels, "int32")
        gamma = ops.cast(ops.take(self.gamma, labels, axis=0), x.dtype)
        beta = ops.cast(ops.take(self.beta, labels, axis=0), x.dtype)
        for _ in range(len(features.shape) - 2):
            gamma, beta = ops.expand_dims(gamma, 1), ops.expand_dims(beta, 1)
        return x * gamma + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class ProjectionScore(keras.layers.Layer):
    """<embed(y), phi(x)> per sample: inputs ``[features (B, C), class embedding (B, C)]`` ->
    (B, 1) (Miyato & Koyama 2018, "cGANs with Projection Discriminator", eq. 3)."""

    def call(self, inputs):
        features, embedded = inputs
        return ops.sum(features * ops.cast(embedded, features.dtype), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)
