"""Augmentation leak check: did the generator learn to paint the discriminator's augmentations?

Augmenting what the discriminator sees (DiffAugment, ADA) is safe only while the augmentations
stay recognisable as such; otherwise the generator may paint rotated or hue-shifted images, the
"leaking" that Karras et al. 2020 ("Training Generative Adversarial Networks with Limited
Data", sec. 2.2 and fig. 3) show for p too close to 1. This check asks a classifier trained on
real images to tell which of these was applied: nothing, a 90-, 180- or 270-degree rotation, or a
hue rotation by 90-180 degrees (no hue rotation for greyscale images).

Two figures come out, for held-out reals and for generated images alike:

* ``identity_label_rate``: how often the classifier labels the image "identity", the check as
  the issue that asked for it words it. An image unlike anything in the training set (an
  unfinished painting) can get another label without being transformed, so this figure is read
  beside the next one.
* ``untransformed_rate``: how often the image as given gets a higher identity probability than
  each of its three rotations and its hue rotations by +-120 degrees. Judging an image against its
  own copies cancels most of what the image's quality does to the classifier.

A generator that paints upright, naturally coloured pictures scores about as often as held-out
reals do; one that leaks rotations or hue shifts scores lower.

The reals are cross-fitted: they are split into ``folds`` parts, one classifier is trained per
part on the other parts, every real is judged by the classifier that did not see it, and each
generated image by every classifier (the rates are averaged). So every real image counts
towards the held-out figure, not a quarter of them.

Classifiers (:data:`CLASSIFIERS`): ``"cnn"`` (default), a small convolutional network on 32x32
copies, trained with random x-flips; on 403 Bob Ross paintings it names 72-86% of held-out
images' transforms correctly, and 82% of the paintings look untransformed against their copies.
``"thumbnail"``, a logistic regression on 8x8 colour thumbnails (58-76% and 55% there), the
first version of this check; it is kept for comparison with earlier figures.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

TRANSFORMS = ("identity", "rot90", "rot180", "rot270", "hue")
HUE_ROTATION = (0.25, 0.5)  # fraction of the colour circle: 90 to 180 degrees, either direction
# Each image against these copies of itself: its rotations and hue rotations by +-120 degrees.
COPIES = (("rot90", None), ("rot180", None), ("rot270", None), ("hue", 1 / 3), ("hue", -1 / 3))


def transforms_for(channels: int) -> tuple[str, ...]:
    """The transforms a classifier can learn on images with ``channels`` channels."""
    return TRANSFORMS if channels == 3 else TRANSFORMS[:-1]


def transform(images: np.ndarray, name: str, rng: np.random.Generator, hue_shift: float | None = None) -> np.ndarray:
    """uint8 NHWC ``images`` under one of :data:`TRANSFORMS` (``hue_shift``: a fixed hue rotation,
    as a fraction of the circle, instead of a random one)."""
    if name == "identity":
        return images
    if name.startswith("rot"):
        return np.ascontiguousarray(np.rot90(images, int(name[3:]) // 90, axes=(1, 2)))
    if name == "hue":
        import tensorflow as tf  # only this transform needs a colour-space conversion

        if images.shape[-1] != 3:
            return images
        if hue_shift is None:
            delta = rng.uniform(*HUE_ROTATION, size=len(images)) * rng.choice([-1.0, 1.0], size=len(images))
        else:
            delta = np.full(len(images), hue_shift)
        floats = tf.convert_to_tensor(images, tf.float32) / 255.0
        hsv = tf.image.rgb_to_hsv(floats)
        hue = tf.math.floormod(hsv[..., 0] + tf.constant(delta, tf.float32)[:, None, None], 1.0)
        shifted = tf.image.hsv_to_rgb(tf.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
        return np.clip(np.rint(shifted.numpy() * 255.0), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown transform {name!r}; choose from {', '.join(TRANSFORMS)}")


def _block_mean(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 or float NHWC images shrunk to ``size`` x ``size`` by averaging (area resampling)."""
    height, width = images.shape[1:3]
    if height % size == 0 and width % size == 0:
        count, _, _, channels = images.shape
        blocks = np.asarray(images, np.float32).reshape(count, size, height // size, size, width // size, channels)
        return blocks.mean(axis=(2, 4))
    import tensorflow as tf

    return tf.image.resize(np.asarray(images, np.float32), (size, size), method="area").numpy()


def thumbnail_features(images: np.ndarray, size: int = 8) -> np.ndarray:
    """Each image's ``size`` x ``size`` colour thumbnail (mean of each block) in [0, 1], flattened."""
    images = np.asarray(images)
    height, width = images.shape[1:3]
    if height % size or width % size:
        raise ValueError(f"images of {height}x{width} cannot be cut into {size}x{size} blocks")
    return (_block_mean(images, size) / 255.0).reshape(len(images), -1).astype(np.float64)


class ThumbnailLogistic:
    """Multinomial logistic regression (C=0.1) on standardised features of each image
    (``extractor``, 8x8 colour thumbnails by default)."""

    description = "logistic regression (C=0.1) on standardised 8x8 colour thumbnails"

    def __init__(self, seed: int = 0, extractor: Callable[[np.ndarray], np.ndarray] = thumbnail_features):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.extractor = extractor
        self.model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))

    def fit(self, images: np.ndarray, transforms: tuple[str, ...], rng: np.random.Generator) -> None:
        features, labels = [], []
        for index, name in enumerate(transforms):
            features.append(np.asarray(self.extractor(transform(images, name, rng)), np.float64))
            labels.append(np.full(len(images), index))
        self.model.fit(np.concatenate(features), np.concatenate(labels))

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.asarray(self.extractor(images), np.float64))


class SmallConvNet:
    """Three 3x3 convolutions (16, 32, 32 channels, each followed by 2x2 max pooling), dropout and
    a dense layer over the flattened 4x4 map, which keeps where things are: orientation is layout.
    Trained with Adam on 32x32 copies; each epoch draws new hue rotations and random x-flips
    (a mirrored landscape is still upright)."""

    description = "small CNN (conv 16-32-32, dense) on 32x32 copies, 40 epochs with random x-flips"
    size = 32
    epochs = 40

    def __init__(self, seed: int = 0, epochs: int | None = None, widths: tuple[int, int, int] = (16, 32, 32),
                 size: int | None = None):
        self.seed = seed
        self.epochs = epochs or self.epochs
        self.size = size or self.size
        self.widths = widths

    def _build(self, channels: int, classes: int):
        import keras

        init = lambda index: keras.initializers.GlorotUniform(seed=self.seed * 10 + index)  # noqa: E731
        self.model = keras.Sequential([
            keras.Input((self.size, self.size, channels)),
            keras.layers.Rescaling(1 / 127.5, -1.0),
            *[layer for index, width in enumerate(self.widths) for layer in (
                keras.layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer=init(index)),
                keras.layers.MaxPooling2D())],
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5, seed=self.seed),
            keras.layers.Dense(classes, kernel_initializer=init(3)),
        ])
        self.model.compile(keras.optimizers.Adam(1e-3),
                           keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def _small(self, images: np.ndarray) -> np.ndarray:
        return _block_mean(images, self.size)

    def fit(self, images: np.ndarray, transforms: tuple[str, ...], rng: np.random.Generator) -> None:
        # Hue rotations are taken of the full-size image and then shrunk, as at prediction time.
        # Epochs are drawn in chunks so that fit() starts a few times, not once per epoch.
        self._build(images.shape[-1], len(transforms))
        chunk = 8
        for first in range(0, self.epochs, chunk):
            batch, labels = [], []
            for _ in range(min(chunk, self.epochs - first)):
                flip = rng.random(len(images)) < 0.5
                flipped = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
                batch += [np.rint(self._small(transform(flipped, name, rng))).astype(np.uint8) for name in transforms]
                labels.append(np.repeat(np.arange(len(transforms)), len(images)))
            order = rng.permutation(sum(len(b) for b in batch))
            self.model.fit(np.concatenate(batch)[order], np.concatenate(labels)[order], batch_size=64, epochs=1,
                           shuffle=False, verbose=0)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        import keras

        logits = self.model.predict(self._small(images), batch_size=256, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))


CLASSIFIERS: dict[str, Callable[..., object]] = {"cnn": SmallConvNet, "thumbnail": ThumbnailLogistic}


def _judge(classifier, images: np.ndarray, transforms: tuple[str, ...], rng) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the label it gets (an index into ``transforms``; 0 is "identity") and whether
    its identity probability is the highest among its COPIES."""
    copies = [images] + [transform(images, name, rng, hue_shift=shift) for name, shift in COPIES if name in transforms]
    probabilities = classifier.predict_proba(np.concatenate(copies)).reshape(len(copies), len(images), -1)
    labels = np.argmax(probabilities[0], axis=1)
    untransformed = np.argmax(probabilities[:, :, 0], axis=0) == 0
    return labels, untransformed


def _label_shares(labels: np.ndarray, transforms: tuple[str, ...]) -> dict[str, float]:
    counts = np.bincount(labels, minlength=len(transforms))
    return {name: float(count / max(1, len(labels))) for name, count in zip(transforms, counts)}


def augmentation_leak(real_images: np.ndarray, fake_images: np.ndarray, classifier: str | Callable[..., object] = "cnn",
                      folds: int = 4, max_generated: int = 500, seed: int = 0) -> dict:
    """Cross-fits the transform classifier on ``real_images`` (uint8 NHWC; ``folds`` parts) and
    reports how often held-out reals and (up to ``max_generated``) generated images are labelled
    "identity" and look untransformed against their own transformed copies (see above).
    ``classifier`` is a key of :data:`CLASSIFIERS` or a factory ``f(seed=...)`` of an object with
    ``fit(images, transforms, rng)`` and ``predict_proba(images)``."""
    return augmentation_leak_of_runs(real_images, {"generated": fake_images}, classifier, folds, max_generated, seed)["generated"]


def augmentation_leak_of_runs(real_images: np.ndarray, fakes_by_run: dict[str, np.ndarray],
                              classifier: str | Callable[..., object] = "cnn", folds: int = 4, max_generated: int = 500,
                              seed: int = 0) -> dict[str, dict]:
    """:func:`augmentation_leak` for several generators at once (run name -> generated images),
    judged by the same cross-fitted classifiers; returns one report per run."""
    if isinstance(classifier, str):
        if classifier not in CLASSIFIERS:
            raise ValueError(f"unknown leak classifier {classifier!r}; choose from {', '.join(CLASSIFIERS)}")
        factory = CLASSIFIERS[classifier]
    else:
        factory = classifier
    if len(real_images) < 4 * folds or folds < 2:
        raise ValueError(f"the leak check needs folds >= 2 and at least {4 * max(folds, 2)} real images, "
                         f"got folds={folds} and {len(real_images)} images")
    for name, fake_images in fakes_by_run.items():
        if real_images.shape[1:] != fake_images.shape[1:]:
            raise ValueError(f"real images are {real_images.shape[1:]} and {name} images {fake_images.shape[1:]}: "
                             "the leak check needs the same size and channels")
    transforms = transforms_for(real_images.shape[-1])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real_images))
    fakes_by_run = {name: images[:max_generated] for name, images in fakes_by_run.items()}
    real_labels = np.zeros(len(real_images), int)
    real_untransformed = np.zeros(len(real_images), bool)
    fake_judged = {name: ([], []) for name in fakes_by_run}  # per fold: labels, untransformed rate
    correct = {name: [] for name in transforms}
    description = ""
    for fold, held_out in enumerate(np.array_split(order, folds)):
        model = factory(seed=seed + fold)
        description = getattr(model, "description", type(model).__name__)
        model.fit(real_images[np.setdiff1d(order, held_out)], transforms, rng)
        real_labels[held_out], real_untransformed[held_out] = _judge(model, real_images[held_out], transforms, rng)
        for name, fakes in fakes_by_run.items():
            labels, untransformed = _judge(model, fakes, transforms, rng)
            fake_judged[name][0].append(labels)
            fake_judged[name][1].append(untransformed.mean())
        shown = [transform(real_images[held_out], name, rng) for name in transforms]
        predicted = np.argmax(model.predict_proba(np.concatenate(shown)), axis=1).reshape(len(transforms), -1)
        for index, name in enumerate(transforms):
            correct[name].append(predicted[index] == index)
    real_shares = _label_shares(real_labels, transforms)
    fake_shares = {name: _label_shares(np.concatenate(labels), transforms) for name, (labels, _) in fake_judged.items()}
    shared = {
        "real_held_out": float(real_untransformed.mean()),
        "held_out_accuracy_per_transform": {name: float(np.concatenate(c).mean()) for name, c in correct.items()},
        "real_count": int(len(real_images)),
        "folds": int(folds),
        "classifier": f"{description}; {len(transforms)} classes: {', '.join(transforms)}",
        "judged_against": "the image's rotations by 90/180/270 degrees"
                          + (" and hue rotations by +-120 degrees" if "hue" in transforms else ""),
    }
    return {
        name: {
            "generated": float(np.mean(untransformed)),
            **shared,
            "identity_label_rate": {"generated": fake_shares[name]["identity"], "real_held_out": real_shares["identity"]},
            # Which transform the images that are not labelled "identity" look like: a leak shows
            # as one transform's share above the reals' (rotated or hue-shifted paintings).
            "label_shares": {"generated": fake_shares[name], "real_held_out": real_shares},
            "generated_count": int(len(fakes_by_run[name])),
        }
        for name, (_, untransformed) in fake_judged.items()
    }
