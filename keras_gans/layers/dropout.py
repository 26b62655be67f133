"""Dropout whose masks differ between the replicas of a tf.distribute strategy."""
from __future__ import annotations

import keras
from keras import ops

from keras_gans.replicas import per_replica


@keras.saving.register_keras_serializable(package="keras_gans")
class ReplicaDropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` with masks drawn for the global batch and sliced per replica.

    Keras' own layer draws from a seed generator that is mirrored under MirroredStrategy, so
    every replica would drop the same units of different samples; here each sample gets the mask
    it would get on one device (keras_gans.replicas)."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = ops.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(size if size is not None else shape[axis] for axis, size in enumerate(self.noise_shape))
        uniform = per_replica(lambda full: keras.random.uniform(full, seed=self.seed_generator, dtype=inputs.dtype), *shape)
        keep = ops.cast(uniform >= self.rate, inputs.dtype)
        return inputs * keep / (1.0 - self.rate)
