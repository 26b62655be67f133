"""Gated and self-supervised building blocks of FastGAN (Liu et al. 2021, "Towards Faster and
Stabilized GAN Training for High-fidelity Few-shot Image Synthesis").

:class:`GLU` is the gated linear unit FastGAN uses in place of ReLU after every upsampling
convolution (Dauphin et al. 2017). :class:`RandomQuarterCrop` picks, for each sample, one of the
four quarters of a feature map; its discriminator decodes that crop and is asked to rebuild the
same quarter of the image (:func:`crop_quarter`), which keeps the discriminator's features
descriptive when it has few images to learn from.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_gans.replicas import per_replica


@keras.saving.register_keras_serializable(package="keras_gans")
class GLU(keras.layers.Layer):
    """Gated linear unit over channels: the first half times the sigmoid of the second half."""

    def call(self, inputs):
        values, gates = ops.split(inputs, 2, axis=-1)
        return values * ops.sigmoid(gates)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (*input_shape[:-1], None if channels is None else channels // 2)


def crop_quarter(images, quarter):
    """The quarter ``quarter`` (0: top left, 1: top right, 2: bottom left, 3: bottom right) of
    each NHWC image; ``quarter`` holds one int per sample."""
    height, width = images.shape[1] // 2, images.shape[2] // 2
    quarter = ops.cast(ops.reshape(quarter, (-1,)), "int32")
    rows = (quarter // 2)[:, None] * height + ops.arange(height, dtype="int32")[None, :]
    columns = (quarter % 2)[:, None] * width + ops.arange(width, dtype="int32")[None, :]
    # Batched gathers: keras.ops has no batch_dims.
    cropped = tf.gather(images, rows, axis=1, batch_dims=1)
    return tf.gather(cropped, columns, axis=2, batch_dims=1)


@keras.saving.register_keras_serializable(package="keras_gans")
class RandomQuarterCrop(keras.layers.Layer):
    """``x -> [quarter of x, quarter index]``, a random quarter per sample in training.

    At inference it always takes quarter 0, so outputs are deterministic. The index is an
    output so that the loss can crop the same quarter of the image.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        batch = ops.shape(inputs)[0]
        if training:
            quarter = per_replica(
                lambda shape: keras.random.randint(shape, 0, 4, seed=self.seed_generator, dtype="int32"), batch
            )
        else:
            quarter = ops.zeros((batch,), dtype="int32")
        return [crop_quarter(inputs, quarter), quarter]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        half = lambda n: None if n is None else n // 2  # noqa: E731
        return [(batch, half(height), half(width), channels), (batch,)]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
