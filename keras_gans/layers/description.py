"""A generator's declaration of its own parts, saved with it."""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_gans")
class GeneratorDescription(keras.layers.Layer):
    """The identity on a generator's output image that declares what the generator is: the
    model it was built as, how many classes it paints (0: unconditional) and, for a style-based
    generator, the names of its mapping network, synthesis network and truncation layer.

    It lives in the saved model like any layer (``get_config``, safe-mode loading), so the
    training engine, ``generate``, the gallery and the metrics read a generator's parts from its
    declaration instead of guessing them from layer names or types
    (:func:`keras_gans.models.common.generator_parts`)."""

    def __init__(self, model: str = "", num_classes: int = 0, mapping: str | None = None,
                 synthesis: str | None = None, truncation: str | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.model = model
        self.num_classes = int(num_classes)
        self.mapping = mapping
        self.synthesis = synthesis
        self.truncation = truncation

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "model": self.model,
            "num_classes": self.num_classes,
            "mapping": self.mapping,
            "synthesis": self.synthesis,
            "truncation": self.truncation,
        }
