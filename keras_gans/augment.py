"""Differentiable augmentation of the discriminator's inputs, for small datasets.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
the same random colour, translation and cutout transforms are applied to real and generated
images wherever the discriminator sees them, including the inputs of R1 and the gradient
penalties. Every transform is differentiable, so the generator learns through it and never
learns to paint the augmentations. Images are NHWC in [-1, 1]; each sample draws its own
parameters.
"""
from __future__ import annotations

import math

import tensorflow as tf

from keras_gans.config import ADA_PIPELINES, DIFFAUGMENT_TRANSFORMS
from keras_gans.replicas import per_replica


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

    return per_replica(lambda full: keras.random.uniform(full, seed=seed_generator, dtype=images.dtype), *shape)


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


def diff_augment(images, policy, seed_generator, translation_ratio: float = 0.125, cutout_ratio: float = 0.5):
    """DiffAugment's transforms of ``policy`` (names or a comma-separated string), in order;
    the ratios are fractions of the image side (the paper's defaults)."""
    names = parse_policy(policy) if isinstance(policy, str) else tuple(policy)
    ratios = {"translation": {"ratio": translation_ratio}, "cutout": {"ratio": cutout_ratio}}
    for name in names:
        images = TRANSFORMS[name](images, seed_generator, **ratios.get(name, {}))
    return images


# --- ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data") -------
#
# Every transform of the chosen groups is applied to each image with the same probability p
# (the paper's p; the geometric rotations with 1 - sqrt(1 - p) each, so that the rotation is
# applied with about p overall), with the paper's parameter distributions (its appendix B and
# table 2). All geometric transforms compose into one matrix per image, applied with one
# bilinear resampling that reflects at the borders; the colour transforms compose into one
# 4x4 matrix on RGB in [-1, 1]. Both are differentiable in the images.

_LUMA = 3 ** -0.5  # each component of the unit grey axis


def _draw(shape, seed_generator, kind="uniform"):
    import keras

    draw = keras.random.normal if kind == "normal" else keras.random.uniform
    return per_replica(lambda full: draw(full, seed=seed_generator), *shape)


def _gate(values, probability, seed_generator, identity=0.0):
    """``values`` where a per-sample coin with ``probability`` comes up, else ``identity``."""
    keep = _draw([tf.shape(values)[0]], seed_generator) < probability
    keep = tf.reshape(keep, [-1] + [1] * (len(values.shape) - 1))
    return tf.where(keep, values, tf.cast(identity, values.dtype) * tf.ones_like(values))


def _matrix(rows):
    """A (batch, n, n) matrix from nested lists of (batch,) tensors or Python numbers."""
    batch = next(tf.shape(v)[0] for row in rows for v in row if isinstance(v, tf.Tensor))
    columns = [tf.stack([v if isinstance(v, tf.Tensor) else tf.fill([batch], float(v)) for v in row], -1) for row in rows]
    return tf.stack(columns, axis=1)


def _scale2d(sx, sy):
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def _rotate2d(theta):
    return _matrix([[tf.cos(theta), -tf.sin(theta), 0], [tf.sin(theta), tf.cos(theta), 0], [0, 0, 1]])


def _translate2d(tx, ty):
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def _geometric_inverse(batch, height, width, names, p, seed_generator):
    """The (batch, 3, 3) map from output to input pixel offsets (from the image centre)."""
    inverse = tf.eye(3, batch_shape=[batch])
    ln2 = tf.math.log(2.0)
    rotation_p = 1.0 - tf.sqrt(1.0 - p)
    if "xflip" in names:
        flip = _gate(tf.floor(_draw([batch], seed_generator) * 2), p, seed_generator)
        inverse = inverse @ _scale2d(1.0 - 2.0 * flip, tf.ones([batch]))
    if "rotate90" in names:
        quarter_turns = _gate(tf.floor(_draw([batch], seed_generator) * 4), p, seed_generator)
        inverse = inverse @ _rotate2d(-(math.pi / 2) * quarter_turns)
    if "xint" in names:
        shift = _gate((_draw([batch, 2], seed_generator) * 2 - 1) * 0.125, p, seed_generator)
        inverse = inverse @ _translate2d(-tf.round(shift[:, 0] * width), -tf.round(shift[:, 1] * height))
    if "scale" in names:
        scale = tf.exp(_gate(_draw([batch], seed_generator, "normal") * 0.2 * ln2, p, seed_generator))
        inverse = inverse @ _scale2d(1.0 / scale, 1.0 / scale)
    if "rotate" in names:
        theta = _gate((_draw([batch], seed_generator) * 2 - 1) * math.pi, rotation_p, seed_generator)
        inverse = inverse @ _rotate2d(-theta)
    if "aniso" in names:
        scale = tf.exp(_gate(_draw([batch], seed_generator, "normal") * 0.2 * ln2, p, seed_generator))
        inverse = inverse @ _scale2d(1.0 / scale, scale)
    if "rotate" in names:
        theta = _gate((_draw([batch], seed_generator) * 2 - 1) * math.pi, rotation_p, seed_generator)
        inverse = inverse @ _rotate2d(-theta)
    if "xfrac" in names:
        shift = _gate(_draw([batch, 2], seed_generator, "normal") * 0.125, p, seed_generator)
        inverse = inverse @ _translate2d(-shift[:, 0] * width, -shift[:, 1] * height)
    return inverse


def _apply_geometric(images, inverse):
    height, width = images.shape[1], images.shape[2]
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    # Offsets from the centre, in pixels: input = centre + A (output - centre).
    to_centre = _translate2d(tf.fill([tf.shape(images)[0]], -cx), tf.fill([tf.shape(images)[0]], -cy))
    from_centre = _translate2d(tf.fill([tf.shape(images)[0]], cx), tf.fill([tf.shape(images)[0]], cy))
    full = from_centre @ inverse @ to_centre
    full = full / full[:, 2:3, 2:3]
    transforms = tf.reshape(full, [-1, 9])[:, :8]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[height, width],
        interpolation="BILINEAR", fill_mode="REFLECT", fill_value=0.0,
    )


def _colour_matrix(batch, names, p, seed_generator, hue_max=1.0):
    """The (batch, 4, 4) colour transform of RGB in [-1, 1] (homogeneous); hue rotations are
    uniform within +-``hue_max`` half-turns (the paper's range is the whole turn, 1)."""
    colour = tf.eye(4, batch_shape=[batch])
    axis = tf.constant([_LUMA, _LUMA, _LUMA, 0.0])
    outer = axis[:, None] * axis[None, :]
    ln2 = tf.math.log(2.0)
    if "brightness" in names:
        shift = _gate(_draw([batch], seed_generator, "normal") * 0.2, p, seed_generator)
        colour = _matrix([[1, 0, 0, shift], [0, 1, 0, shift], [0, 0, 1, shift], [0, 0, 0, 1]]) @ colour
    if "contrast" in names:
        scale = tf.exp(_gate(_draw([batch], seed_generator, "normal") * 0.5 * ln2, p, seed_generator))
        colour = _matrix([[scale, 0, 0, 0], [0, scale, 0, 0], [0, 0, scale, 0], [0, 0, 0, 1]]) @ colour
    if "lumaflip" in names:
        flip = _gate(tf.floor(_draw([batch], seed_generator) * 2), p, seed_generator)
        colour = (tf.eye(4)[None] - 2.0 * outer[None] * flip[:, None, None]) @ colour
    if "hue" in names:
        theta = _gate((_draw([batch], seed_generator) * 2 - 1) * (math.pi * hue_max), p, seed_generator)
        colour = _rotate_about_luma(theta) @ colour
    if "saturation" in names:
        scale = tf.exp(_gate(_draw([batch], seed_generator, "normal") * 1.0 * ln2, p, seed_generator))
        colour = (outer[None] + (tf.eye(4)[None] - outer[None]) * scale[:, None, None]) @ colour
    return colour


def _rotate_about_luma(theta):
    """Rodrigues' rotation by ``theta`` about the grey axis, as a homogeneous 4x4 matrix."""
    x = y = z = _LUMA
    c, s = tf.cos(theta), tf.sin(theta)
    d = 1 - c
    return _matrix([
        [x * x * d + c, x * y * d - z * s, x * z * d + y * s, 0],
        [y * x * d + z * s, y * y * d + c, y * z * d - x * s, 0],
        [z * x * d - y * s, z * y * d + x * s, z * z * d + c, 0],
        [0, 0, 0, 1],
    ])


def ada_augment(images, p, seed_generator, pipeline: str | tuple[str, ...] = "bgc", hue_max: float = 1.0):
    """ADA's augmentations of ``pipeline`` (a key of ADA_PIPELINES, or the transform names
    themselves), each with probability ``p``; ``hue_max`` narrows the hue rotations to
    +-``hue_max`` half-turns."""
    names = ADA_PIPELINES[pipeline] if isinstance(pipeline, str) else tuple(pipeline)
    dtype = images.dtype
    images = tf.cast(images, tf.float32)
    p = tf.cast(p, tf.float32)
    batch = tf.shape(images)[0]
    if any(name in names for name in ADA_PIPELINES["bg"]):
        inverse = _geometric_inverse(batch, images.shape[1], images.shape[2], names, p, seed_generator)
        images = _apply_geometric(images, inverse)
    if any(name in names for name in ADA_PIPELINES["color"]) and images.shape[-1] == 3:
        colour = _colour_matrix(batch, names, p, seed_generator, hue_max)
        images = tf.einsum("bij,bhwj->bhwi", colour[:, :3, :3], images) + colour[:, None, None, :3, 3]
    if "noise" in names:
        # Gaussian noise whose strength is itself drawn per image: |N(0, 0.1)|, the paper's.
        sigma = _gate(tf.abs(_draw([batch], seed_generator, "normal")) * 0.1, p, seed_generator)
        images = images + _draw([batch, *images.shape[1:]], seed_generator, "normal") * sigma[:, None, None, None]
    if "cutout" in names:
        # DiffAugment's square of half the side (the paper's cutout_size), on each image with p.
        cut = _draw([batch], seed_generator) < p
        images = tf.where(cut[:, None, None, None], random_cutout(images, seed_generator), images)
    return tf.cast(images, dtype)


def ada_adjustment(p, real_sign_mean, target: float, images: int, speed_kimg: float):
    """ADA's update of p (sec. 3): up when the overfitting heuristic r_t = E[sign(D(real))]
    exceeds ``target``, down otherwise, by the step that moves p from 0 to 1 in ``speed_kimg``
    thousand images; clipped to [0, 1]."""
    step = images / (speed_kimg * 1000.0)
    return tf.clip_by_value(p + tf.sign(real_sign_mean - target) * step, 0.0, 1.0)
