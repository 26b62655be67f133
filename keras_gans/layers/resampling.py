"""Bilinear upsampling without Keras's clip of bfloat16 results.

Keras' ``UpSampling2D(interpolation="bilinear")`` resizes with TensorFlow's ``ResizeBilinear``,
which returns float32 for bfloat16 input, then casts back with ``saturate_cast``: a clip to the
bfloat16 range (Minimum, Maximum) before the cast, and in the gradient two masks and two
selects over every upsampled element. A bilinear sample is a convex combination of its input's
values, so it can never leave the input dtype's range and the clip never changes a value. Under
mixed_bfloat16 those four passes over the largest tensors of the generator were about 7% of
StyleGAN's training step at 256x256 (benchmarks/train_throughput.py --profile).
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_gans")
class UpSampling2D(keras.layers.UpSampling2D):
    """``keras.layers.UpSampling2D`` with the same configuration and values; bilinear resizing of
    a non-float32 input casts back without the (never active) clip."""

    def call(self, inputs):
        if self.interpolation != "bilinear" or inputs.dtype == tf.float32:
            return super().call(inputs)
        x = tf.transpose(inputs, (0, 2, 3, 1)) if self.data_format == "channels_first" else inputs
        shape = tf.shape(x)
        resized = tf.image.resize(x, (shape[1] * self.size[0], shape[2] * self.size[1]), method="bilinear")
        resized = tf.cast(resized, inputs.dtype)
        return tf.transpose(resized, (0, 3, 1, 2)) if self.data_format == "channels_first" else resized
