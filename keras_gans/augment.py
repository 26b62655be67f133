"""Differentiable augmentation of the discriminator's inputs, for small datasets.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
the same random colour, translation and cutout transforms are applied to real and generated
images wherever the discriminator sees them, including the inputs of R1 and the gradient
penalties. Every transform is differentiable, so the generator learns through it and never
learns to paint the augmentations. Images are NHWC in [-1, 1]; each sample draws its own
parameters.
"""
from __future__ import annotations

import tensorflow as tf

from keras_gans.config import DIFFAUGMENT_TRANSFORMS


def parse_policy(policy: str) -> tuple[str, ...]:
    """The transforms of a comma-separated policy such as "color,translation,cutout"."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in DIFFAUGMENT_TRANSFORMS]
    if unknown:
        raise ValueError(
            f"unknown DiffAugment transform(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(DIFFAUGMENT_TRANSFORMS)}"
        )
    return names


def _uniform(images, shape, seed_generator):
    import keras

    return keras.random.uniform(shape, seed=seed_generator, dtype=images.dtype)


def random_color(images, seed_generator):
    """Brightness (+U[-0.5, 0.5)), saturation (x U[0, 2)) and contrast (x U[0.5, 1.5)) per sample."""
    batch = tf.shape(images)[0]
    images = images + (_uniform(images, [batch, 1, 1, 1], seed_generator) - 0.5)
    if images.shape[-1] > 1:
        mean = tf.reduce_mean(images, axis=3, keepdims=True)
        images = (images - mean) * (_uniform(images, [batch, 1, 1, 1], seed_generator) * 2.0) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * (_uniform(images, [batch, 1, 1, 1], seed_generator) + 0.5) + mean


def random_translation(images, seed_generator, ratio: float = 0.125):
    """Integer shifts of up to ``ratio`` of the side in each direction, zeros (mid-grey) filled in."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)

    def offsets(size, shift):
        draw = _uniform(images, [batch, 1], seed_generator)
        return tf.cast(tf.floor(draw * (2 * shift + 1)), tf.int32) - shift

    rows = tf.clip_by_value(tf.range(height)[None, :] + offsets(height, shift_y) + 1, 0, height + 1)
    columns = tf.clip_by_value(tf.range(width)[None, :] + offsets(width, shift_x) + 1, 0, width + 1)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])  # the clipped indices land on the zero border
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def random_cutout(images, seed_generator, ratio: float = 0.5):
    """Zeroes one square of ``ratio`` times the side at a random place in each sample."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = tf.floor(_uniform(images, [batch, 1], seed_generator) * (height + (1 - size_y % 2)))
    centre_x = tf.floor(_uniform(images, [batch, 1], seed_generator) * (width + (1 - size_x % 2)))
    rows = tf.cast(tf.range(height)[None, :], images.dtype)
    columns = tf.cast(tf.range(width)[None, :], images.dtype)
    inside_y = (rows >= centre_y - size_y // 2) & (rows < centre_y - size_y // 2 + size_y)
    inside_x = (columns >= centre_x - size_x // 2) & (columns < centre_x - size_x // 2 + size_x)
    cut = inside_y[:, :, None] & inside_x[:, None, :]
    return images * tf.cast(~cut, images.dtype)[..., None]


TRANSFORMS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}


def diff_augment(images, policy, seed_generator):
    """DiffAugment's transforms of ``policy`` (names or a comma-separated string), in order."""
    names = parse_policy(policy) if isinstance(policy, str) else tuple(policy)
    for name in names:
        images = TRANSFORMS[name](images, seed_generator)
    return images
