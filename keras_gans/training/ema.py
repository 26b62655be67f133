"""Exponential moving average of generator weights (Karras et al. 2018, PGGAN, sec. A.1;
half-life parametrisation and ramp-up from StyleGAN2, Karras et al. 2020)."""
from __future__ import annotations

import tensorflow as tf


def ema_beta(batch_images, images_seen, halflife_kimg: float, rampup: float = 0.0):
    """Decay per step so that a weight's influence halves every ``halflife_kimg`` thousand images.

    With ``rampup`` > 0 the half-life is at most ``images_seen * rampup``, so early, fast-moving
    weights are not averaged with the random initialization for long.
    """
    halflife = tf.constant(halflife_kimg * 1000.0, tf.float32)
    if rampup > 0:
        halflife = tf.minimum(halflife, tf.cast(images_seen, tf.float32) * rampup)
    halflife = tf.maximum(halflife, 1e-8)
    return tf.pow(0.5, tf.cast(batch_images, tf.float32) / halflife)


def update_ema(ema_variables, source_variables, beta):
    """ema <- ema - (1 - beta) * (ema - source), element-wise, for matching variable lists.

    With one replica each update is a single fused ApplyGradientDescent kernel: on a CPU at
    small batch sizes the per-operation cost of ~100 separate assignments is noticeable.
    """
    fused = tf.distribute.get_strategy().num_replicas_in_sync == 1
    for ema_variable, variable in zip(ema_variables, source_variables):
        rate = tf.cast(1.0 - beta, ema_variable.dtype)
        delta = ema_variable - tf.cast(variable, ema_variable.dtype)
        if fused:
            tf.raw_ops.ResourceApplyGradientDescent(var=ema_variable.handle, alpha=rate, delta=delta)
        else:
            ema_variable.assign_sub(rate * delta)
