"""Spectral normalization as in the paper (Miyato et al. 2018, "Spectral Normalization for
Generative Adversarial Networks", sec. 2.1 and appendix A).

The stored kernel W is left untouched; every forward pass divides it by sigma(W), the largest
singular value of W reshaped to a (fan_in, units) matrix, estimated with one step of power
iteration from a persistent vector u (a non-trainable variable, updated only in training).
u and v are constants for the gradient, but sigma = v^T W u is not: gradients flow through
sigma into W (eq. 12 of the paper). Keras's ``SpectralNormalization`` wrapper instead writes
W / sigma back into the variable, which is a different optimisation problem.

At inference the stored u is used without updating it, so outputs are deterministic.
"""
from __future__ import annotations

import keras
from keras import ops


def _l2_normalize(x, epsilon=1e-12):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


def spectral_sigma(matrix, u, power_iterations: int = 1):
    """(sigma, updated u) for a (fan_in, units) ``matrix`` and a (1, units) estimate ``u``.

    With ``power_iterations`` = 0 the stored u is used as is (inference).
    """
    u_hat = ops.stop_gradient(u)
    weights = ops.stop_gradient(matrix)
    v_hat = _l2_normalize(ops.matmul(u_hat, ops.transpose(weights)))
    for _ in range(power_iterations):
        u_hat = _l2_normalize(ops.matmul(v_hat, weights))
        v_hat = _l2_normalize(ops.matmul(u_hat, ops.transpose(weights)))
    u_hat, v_hat = ops.stop_gradient(u_hat), ops.stop_gradient(v_hat)
    sigma = ops.sum(ops.matmul(v_hat, matrix) * u_hat)
    return sigma, u_hat


class _SpectralNormalized(keras.layers.Layer):
    """Shared machinery: a kernel whose matrix view is divided by its power-iteration sigma."""

    def __init__(self, power_iterations: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.power_iterations = power_iterations

    def _add_u(self, units):
        self.u = self.add_weight(
            name="u",
            shape=(1, units),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
        )

    def normalized_kernel(self, training=False):
        kernel = ops.cast(self.kernel, "float32")
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))
        sigma, u = spectral_sigma(matrix, self.u, self.power_iterations if training else 0)
        if training:
            self.u.assign(ops.cast(u, self.u.dtype))
        return ops.cast(kernel / sigma, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


@keras.saving.register_keras_serializable(package="keras_gans")
class SNDense(_SpectralNormalized):
    def __init__(self, units: int, use_bias: bool = True, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(int(input_shape[-1]), self.units), initializer=self.kernel_initializer
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self._add_u(self.units)

    def call(self, inputs, training=False):
        outputs = ops.matmul(inputs, self.normalized_kernel(training))
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class SNConv2D(_SpectralNormalized):
    """NHWC convolution with a spectrally normalised kernel (the kernel's (k*k*in, out) matrix)."""

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        strides: int = 1,
        padding: str = "same",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self._add_u(self.filters)

    def call(self, inputs, training=False):
        outputs = ops.conv(inputs, self.normalized_kernel(training), strides=self.strides, padding=self.padding)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        batch, height, width = input_shape[0], input_shape[1], input_shape[2]

        def size(n):
            if n is None:
                return None
            if self.padding == "same":
                return -(-n // self.strides)
            return (n - self.kernel_size) // self.strides + 1

        return (batch, size(height), size(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class SNEmbedding(_SpectralNormalized):
    """Class embedding with a spectrally normalised (num_classes, dim) table, as the projection
    discriminator's SN-GAN code uses (Miyato & Koyama 2018)."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="embeddings", shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer
        )
        self._add_u(self.output_dim)

    def call(self, inputs, training=False):
        return ops.take(self.normalized_kernel(training), ops.cast(inputs, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }
