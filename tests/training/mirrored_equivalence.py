"""Run by tests/training/test_distribute.py in a fresh process (logical devices must be set up
before TensorFlow starts): trains the same tiny GAN from the same seed for a few steps on one
device and mirrored over two logical CPU devices, and prints one JSON line per case with the
largest weight difference between the two.

    python tests/training/mirrored_equivalence.py CASE [CASE ...]
"""
import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
tf.config.experimental.enable_op_determinism()

from keras_gans.config import apply_overrides, preset_config  # noqa: E402  (after the device set-up)
from keras_gans.training.engine import build_gan  # noqa: E402

TINY_STYLEGAN = {"resolution": 16, "style_dim": 16, "mapping_layers": 2, "width_base": 256, "width_max": 16, "minibatch_std_group": 2}
TINY_OTHERS = {"resolution": 16, "generator_width": 8, "discriminator_width": 8}
COMMON = {
    "latent_dim": 16, "batch_size": 8, "ema_halflife_kimg": 0.01,
    # Adam's first steps move every weight by about +-lr whatever its gradient's size, so a
    # gradient that is zero in exact arithmetic (a convolution's bias before instance
    # normalisation) but 1e-9 after rounding moves by +-lr, with a sign that depends on the order
    # of a sum: one device and two would then differ by 2 lr for reasons that are not
    # distribution's. A large epsilon keeps such rounding from moving weights.
    "adam_epsilon": 1e-2,
}
# Each case: the preset and the settings that differ from TINY. Every random draw of a step is
# in them: latents, per-pixel noise, style mixing, lazy R1 and DiffAugment's or ADA's transforms.
CASES = {
    "stylegan": ("stylegan-cpu-64", {**TINY_STYLEGAN, "steps_per_execution": 2, "r1_interval": 2, "style_mixing_prob": 0.9}),
    "stylegan-diffaug": ("stylegan-cpu-64", {**TINY_STYLEGAN, "augment": "diffaug", "steps_per_execution": 2}),
    "stylegan-ada": ("stylegan-cpu-64", {**TINY_STYLEGAN, "augment": "ada", "augment_p": 0.5, "ada_interval": 2}),
    "wgan-gp": ("wgan-gp-64", {**TINY_OTHERS, "n_critic": 1, "steps_per_execution": 2}),
    "dragan": ("dragan-64", {**TINY_OTHERS, "steps_per_execution": 2}),
    "acgan": ("acgan-cifar-like", {"resolution": 32, "num_classes": 3, "steps_per_execution": 2}),
    "fastgan": ("fastgan-64", {"generator_width": 4, "discriminator_width": 4, "reconstruction_weight": 0.0, "steps_per_execution": 2}),
}
STEPS = 4


def dataset(batch, resolution):
    rng = np.random.RandomState(resolution)
    images = rng.uniform(-1, 1, (32, resolution, resolution, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, np.arange(32, dtype="int32") % 3)).batch(batch, drop_remainder=True).repeat()


def weights(gan):
    return [np.asarray(v.numpy()) for model in (gan.generator, gan.discriminator, gan.ema_generator) for v in model.weights]


def train(config, strategy):
    with strategy.scope():
        gan = build_gan(config, seed=7)
        gan.compile()
    initial = weights(gan)
    gan.fit(dataset(config.batch_size, config.resolution), steps_per_epoch=STEPS, epochs=1, verbose=0)
    return initial, weights(gan), gan


def main(names):
    # One strategy for all cases: a second MirroredStrategy in the same process would reuse the
    # first one's collective keys.
    two_devices = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name in names:
        preset, overrides = CASES[name]
        config = apply_overrides(preset_config(preset), {**COMMON, **overrides}, "test")
        initial, single, one = train(config, tf.distribute.get_strategy())
        _, mirrored, two = train(config, two_devices)
        difference = max(float(np.max(np.abs(a - b))) for a, b in zip(single, mirrored))
        scale = max(float(np.max(np.abs(a))) for a in single)
        print(json.dumps({
            "case": name, "max_abs_difference": difference, "largest_weight": scale,
            "images_seen": [int(one.images_seen.numpy()), int(two.images_seen.numpy())],
            "augment_p": [float(one.augment_p.numpy()), float(two.augment_p.numpy())] if one.ada else None,
            "largest_change": max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial)),
        }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
