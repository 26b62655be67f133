"""The fade-in of a newly added resolution (Karras et al. 2018, "Progressive Growing of GANs",
sec. 3 and fig. 2): out = (1 - alpha) * old + alpha * new, alpha rising from 0 to 1.

alpha is a non-trainable weight that the training engine sets from the images shown (see
keras_gans.training.schedules), so it is saved with the model and restored on resume.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class FadeIn(keras.layers.Layer):
    def __init__(self, initial_alpha: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_alpha = initial_alpha

    def build(self, input_shape):
        self.alpha = self.add_weight(
            name="alpha", shape=(), initializer=keras.initializers.Constant(self.initial_alpha), trainable=False
        )

    def call(self, inputs):
        old, new = inputs
        alpha = ops.cast(self.alpha, new.dtype)
        return old + alpha * (ops.cast(new, old.dtype) - old)

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "initial_alpha": self.initial_alpha}
