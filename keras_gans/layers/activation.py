"""LeakyReLU whose gradient reads the activation's output instead of its input.

TensorFlow's registered gradient of ``LeakyRelu`` keeps the pre-activation alive for
``LeakyReluGrad``. Under a second-order gradient (the R1 penalty, the gradient penalties) that
extra reader trips a bug in Grappler's remapper (TensorFlow 2.21): it fuses the convolution, its
bias and the LeakyReLU into one ``_FusedConv2D``, finds the removed bias-add still read by the
gradient, and gives up on the *whole* graph ("remapper failed: Mutation::Apply error: fanout
'.../LeakyReluGrad' exist for missing node"), so no convolution in the training step gets its
bias and activation fused. For a positive slope the output has the sign of the input, so
``LeakyReluGrad(dy, output)`` is exactly ``LeakyReluGrad(dy, input)``; reading the output leaves
the pre-activation with one reader, and the remapper fuses convolution, bias and activation into
one oneDNN kernel in every layer. benchmarks/train_throughput.py measures the step.
"""
from __future__ import annotations

import keras
import tensorflow as tf


def _leaky_relu_reading_output(inputs, negative_slope: float):
    @tf.custom_gradient
    def leaky_relu(x):
        outputs = tf.nn.leaky_relu(x, alpha=negative_slope)

        def gradient(upstream):
            # The gradient is piecewise constant in the output, so a second-order gradient need
            # not (and must not, for the remapper) flow back into it.
            return tf.raw_ops.LeakyReluGrad(gradients=upstream, features=tf.stop_gradient(outputs),
                                            alpha=negative_slope)

        return outputs, gradient

    return leaky_relu(inputs)


@keras.saving.register_keras_serializable(package="keras_gans")
class LeakyReLU(keras.layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` with the same forward pass, configuration and (exact) gradient,
    computed from the output so that TensorFlow can fuse it into the convolution before it."""

    def call(self, inputs):
        # keras.layers.LeakyReLU refuses negative slopes, so the output's sign is the input's.
        return _leaky_relu_reading_output(inputs, float(self.negative_slope))
