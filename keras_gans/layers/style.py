"""The style-based generator's layers (Karras et al. 2019, "A Style-Based Generator
Architecture for Generative Adversarial Networks", fig. 1b).

A synthesis network receives one style vector per layer, ``ws`` of shape
(batch, num_layers, style_dim); :class:`SelectLatent` picks a layer's vector, a learned affine
of it gives the AdaIN scale and bias, and :class:`NoiseInjection` adds per-pixel noise.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class ConstantInput(keras.layers.Layer):
    """The learned constant the synthesis network starts from, repeated over the batch.

    Its input is only used for its batch size (any tensor whose first axis is the batch).
    """

    def __init__(self, channels: int, size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.size = size

    def build(self, input_shape):
        self.constant = self.add_weight(
            name="constant",
            shape=(1, self.size, self.size, self.channels),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        return ops.tile(ops.cast(self.constant, self.compute_dtype), (batch, 1, 1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="keras_gans")
class NoiseInjection(keras.layers.Layer):
    """Adds per-pixel Gaussian noise scaled by a learned per-channel strength (zero at start).

    The noise is drawn inside the layer from its own seed generator, so the generator takes
    only z; :func:`keras_gans.generation.seed_noise` reseeds every such layer for reproducible
    samples. With ``randomize=False`` the layer adds nothing (useful for noise ablations).
    """

    def __init__(self, seed: int | None = None, randomize: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.randomize = randomize
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(name="strength", shape=(int(input_shape[-1]),), initializer="zeros")

    def call(self, inputs):
        if not self.randomize:
            return inputs
        shape = ops.shape(inputs)
        noise = keras.random.normal(
            (shape[0], shape[1], shape[2], 1), seed=self.seed_generator, dtype=self.compute_dtype
        )
        return inputs + noise * ops.cast(self.strength, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "randomize": self.randomize}


@keras.saving.register_keras_serializable(package="keras_gans")
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalization (Huang & Belongie 2017; StyleGAN eq. 1).

    ``[x, scale, bias] -> scale * (x - mean_hw(x)) / std_hw(x) + bias`` with scale and bias of
    shape (batch, channels); or ``[x, style]`` with style of shape (batch, 2 * channels) holding
    the scale (plus ``scale_offset``) and then the bias, so one affine layer makes both. Folded
    into one multiply-add per element, since on a CPU this layer is memory-bound.
    """

    def __init__(self, epsilon: float = 1e-8, scale_offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.scale_offset = scale_offset

    def call(self, inputs):
        if len(inputs) == 2:
            x, style = inputs
            channels = x.shape[-1]
            scale, bias = style[:, :channels] + self.scale_offset, style[:, channels:]
        else:
            x, scale, bias = inputs
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        scale = scale[:, None, None, :]
        bias = bias[:, None, None, :]
        multiplier = scale * ops.rsqrt(variance + self.epsilon)
        return x * multiplier + (bias - mean * multiplier)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "scale_offset": self.scale_offset}


@keras.saving.register_keras_serializable(package="keras_gans")
class SelectLatent(keras.layers.Layer):
    """``ws[:, index]``: the style vector of one synthesis layer."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="keras_gans")
class BroadcastLatent(keras.layers.Layer):
    """w of shape (batch, dim) repeated to ws of shape (batch, num_layers, dim)."""

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers

    def call(self, inputs):
        return ops.repeat(inputs[:, None, :], self.num_layers, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_layers, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers}


@keras.saving.register_keras_serializable(package="keras_gans")
class Truncation(keras.layers.Layer):
    """The truncation trick (StyleGAN sec. 2.3 / appendix B) toward the tracked mean w.

    Holds ``w_avg`` (the running mean of mapped latents, updated by the training engine) and
    ``psi`` as non-trainable variables saved with the model, so a loaded ``generator.keras``
    can be truncated by assigning ``psi`` without rebuilding. Only the first ``cutoff`` style
    layers (the coarse ones) are truncated; ``cutoff=None`` truncates all of them.
    """

    def __init__(self, cutoff: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cutoff = cutoff

    def build(self, input_shape):
        self.num_layers, dim = int(input_shape[1]), int(input_shape[2])
        self.w_avg = self.add_weight(name="w_avg", shape=(dim,), initializer="zeros", trainable=False)
        self.psi = self.add_weight(
            name="psi", shape=(), initializer=keras.initializers.Constant(1.0), trainable=False
        )

    def call(self, ws):
        cutoff = self.num_layers if self.cutoff is None else min(self.cutoff, self.num_layers)
        w_avg = ops.cast(self.w_avg, ws.dtype)
        psi = ops.cast(self.psi, ws.dtype)
        layer_psi = ops.concatenate(
            [ops.ones((cutoff,), ws.dtype) * psi, ops.ones((self.num_layers - cutoff,), ws.dtype)]
        )
        return w_avg + (ws - w_avg) * layer_psi[None, :, None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "cutoff": self.cutoff}
