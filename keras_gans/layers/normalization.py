"""Normalizations that GAN papers introduced and Keras does not ship."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class PixelNorm(keras.layers.Layer):
    """Pixelwise feature vector normalization (Karras et al. 2018, PGGAN, sec. 4.2).

    Normalizes each feature vector (last axis) to unit average square; StyleGAN applies it to
    z before the mapping network.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        return inputs * ops.rsqrt(ops.mean(ops.square(inputs), axis=-1, keepdims=True) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="keras_gans")
class MinibatchStdDev(keras.layers.Layer):
    """Minibatch standard deviation (Karras et al. 2018, PGGAN, sec. 3).

    Appends the average standard deviation of features across groups of ``group_size``
    *consecutive* samples as extra feature maps, so the discriminator can see a lack of
    variety. Consecutive grouping keeps real and fake halves of a concatenated batch apart
    when the group size divides each half.
    """

    def __init__(self, group_size: int = 4, num_features: int = 1, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size
        self.num_features = num_features
        self.epsilon = epsilon

    def call(self, inputs):
        shape = ops.shape(inputs)
        batch, height, width, channels = shape[0], shape[1], shape[2], inputs.shape[-1]
        group = ops.minimum(self.group_size, batch)
        features = self.num_features
        grouped = ops.reshape(
            inputs, (-1, group, height, width, features, channels // features)
        )
        grouped = ops.cast(grouped, "float32")
        variance = ops.mean(ops.square(grouped - ops.mean(grouped, axis=1, keepdims=True)), axis=1)
        std = ops.sqrt(variance + self.epsilon)  # (B/G, H, W, F, C/F)
        std = ops.mean(std, axis=(1, 2, 4))  # (B/G, F)
        std = ops.cast(std, inputs.dtype)
        std = ops.reshape(std, (-1, 1, 1, 1, features))
        std = ops.tile(std, (1, group, height, width, 1))
        std = ops.reshape(std, (batch, height, width, features))
        return ops.concatenate([inputs, std], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.num_features,)

    def get_config(self):
        return {
            **super().get_config(),
            "group_size": self.group_size,
            "num_features": self.num_features,
            "epsilon": self.epsilon,
        }


def batch_normalization(**kwargs) -> keras.layers.BatchNormalization:
    """Keras' batch normalization, with the global batch's statistics when the model is built
    under a strategy with several replicas (``synchronized``: an all-reduce of the sums per
    layer), so that a mirrored run normalises as a single-device run of the same global batch
    does. On one device it is the plain layer."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return keras.layers.BatchNormalization(synchronized=replicas > 1, **kwargs)
