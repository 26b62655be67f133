"""Dense and convolution layers with a learning-rate multiplier and optional equalized learning rate.

Equalized learning rate (Karras et al. 2018, "Progressive Growing of GANs", sec. 4.1) stores
weights drawn from N(0, 1) and scales them by the He constant at run time, so that Adam's
per-parameter step size means the same thing for every layer. The learning-rate multiplier
(Karras et al. 2019, StyleGAN, appendix C) shrinks the effective step of one sub-network, such as
the mapping network, without a second optimizer.

With ``equalized=False`` the layers behave like plain He-initialised Keras layers (the weights
hold their final values), while keeping the learning-rate multiplier.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops


def _weight_scales(fan_in: int, gain: float, lr_multiplier: float, equalized: bool):
    """(std of the initial stored weights, run-time multiplier applied to them)."""
    he_std = gain / math.sqrt(fan_in)
    if equalized:
        return 1.0 / lr_multiplier, he_std * lr_multiplier
    return he_std / lr_multiplier, lr_multiplier


def _scaled(weight, scale: float):
    """``weight * scale``, without the multiply (forward and backward) when the scale is 1: plain
    layers (``equalized=False`` without a multiplier) then run as stock Keras layers do."""
    if scale == 1.0:
        return weight
    return weight * ops.cast(scale, weight.dtype)


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedDense(keras.layers.Layer):
    def __init__(
        self,
        units: int,
        lr_multiplier: float = 1.0,
        gain: float = math.sqrt(2.0),
        use_bias: bool = True,
        bias_initial_value: float = 0.0,
        equalized: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.lr_multiplier = lr_multiplier
        self.gain = gain
        self.use_bias = use_bias
        self.bias_initial_value = bias_initial_value
        self.equalized = equalized

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        init_std, self.runtime_scale = _weight_scales(fan_in, self.gain, self.lr_multiplier, self.equalized)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=init_std),
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=keras.initializers.Constant(self.bias_initial_value / self.lr_multiplier),
            )

    def call(self, inputs):
        outputs = ops.matmul(inputs, _scaled(self.kernel, self.runtime_scale))
        if self.use_bias:
            outputs = outputs + _scaled(self.bias, self.lr_multiplier)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "lr_multiplier": self.lr_multiplier,
            "gain": self.gain,
            "use_bias": self.use_bias,
            "bias_initial_value": self.bias_initial_value,
            "equalized": self.equalized,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 'same' convolution (NHWC) with equalized learning rate."""

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        lr_multiplier: float = 1.0,
        gain: float = math.sqrt(2.0),
        use_bias: bool = True,
        equalized: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.lr_multiplier = lr_multiplier
        self.gain = gain
        self.use_bias = use_bias
        self.equalized = equalized

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        fan_in = in_channels * self.kernel_size * self.kernel_size
        init_std, self.runtime_scale = _weight_scales(fan_in, self.gain, self.lr_multiplier, self.equalized)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=init_std),
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        outputs = ops.conv(inputs, _scaled(self.kernel, self.runtime_scale), strides=1, padding="same")
        if self.use_bias:
            # A BiasAdd rather than an add: TensorFlow's arithmetic optimizer folds an add of the
            # bias into the next add (StyleGAN's noise), and the convolution then runs unfused;
            # BiasAdd lets the remapper fuse convolution, bias and that next add into one kernel.
            outputs = tf.nn.bias_add(outputs, _scaled(self.bias, self.lr_multiplier))
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "lr_multiplier": self.lr_multiplier,
            "gain": self.gain,
            "use_bias": self.use_bias,
            "equalized": self.equalized,
        }
