"""Adam with TensorFlow's fused kernel.

Keras 3's Adam updates each variable with about twenty small operations. A StyleGAN at batch
4 on a CPU spends more time dispatching those than computing convolutions, so this subclass
runs each variable's update as one ``ResourceApplyAdam`` kernel (same formula: Kingma & Ba
2015, alg. 1 with the bias correction folded into the step size). Under a multi-replica
tf.distribute strategy it falls back to Keras's own update, which handles mirrored slots.
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_gans")
class FusedAdam(keras.optimizers.Adam):
    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        self._use_fused = not self.amsgrad and tf.distribute.get_strategy().num_replicas_in_sync == 1
        if self._use_fused:
            step = tf.cast(self.iterations + 1, tf.float32)
            self._beta_powers = (tf.pow(tf.cast(self.beta_1, tf.float32), step), tf.pow(tf.cast(self.beta_2, tf.float32), step))
            self._fused_constants = (
                tf.cast(learning_rate, tf.float32),
                tf.constant(self.beta_1, tf.float32),
                tf.constant(self.beta_2, tf.float32),
                tf.constant(self.epsilon, tf.float32),
            )
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        if not getattr(self, "_use_fused", False) or variable.dtype != tf.float32:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index], self._velocities[index]
        lr, beta_1, beta_2, epsilon = self._fused_constants
        beta_1_power, beta_2_power = self._beta_powers
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=momentum.value.handle,
            v=velocity.value.handle,
            beta1_power=beta_1_power,
            beta2_power=beta_2_power,
            lr=lr,
            beta1=beta_1,
            beta2=beta_2,
            epsilon=epsilon,
            grad=tf.cast(gradient, tf.float32),
            use_locking=False,
        )
