"""The augmentation leak check: a real-trained transform classifier calls held-out reals and
faithful fakes "identity", and fakes that paint rotated or hue-shifted images something else."""
import numpy as np
import pytest

from keras_gans.metrics.leak import TRANSFORMS, SmallConvNet, ThumbnailLogistic, augmentation_leak, transform


def _pictures(count, seed):
    """Upright 'paintings': warm sky on top, green ground below, a sun somewhere in the sky."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 16, 16, 3), np.uint8)
    for image in images:
        horizon = rng.integers(7, 11)
        image[:horizon] = (rng.integers(180, 255), rng.integers(90, 160), rng.integers(20, 80))
        image[horizon:] = (rng.integers(10, 60), rng.integers(120, 200), rng.integers(10, 60))
        x, y = rng.integers(1, 14), rng.integers(1, horizon - 2)
        image[y:y + 2, x:x + 2] = 255
    return images


def _features(images):
    return np.asarray(images, np.float64).reshape(len(images), -1) / 255.0


def _pixels_logistic(seed):
    return ThumbnailLogistic(seed, extractor=_features)


def test_transforms_are_what_they_say():
    rng = np.random.default_rng(0)
    images = _pictures(4, 0)
    assert np.array_equal(transform(images, "identity", rng), images)
    assert np.array_equal(transform(images, "rot180", rng), images[:, ::-1, ::-1])
    np.testing.assert_array_equal(transform(transform(images, "rot90", rng), "rot270", rng), images)
    shifted = transform(images, "hue", rng)
    assert shifted.shape == images.shape and not np.array_equal(shifted, images)
    # A hue rotation keeps each pixel's brightest-minus-darkest channel spread (HSV's V and S).
    spread = lambda x: x.max(-1).astype(int) - x.min(-1).astype(int)  # noqa: E731
    assert np.abs(spread(shifted) - spread(images)).max() <= 2


def _quick_cnn(seed):
    return SmallConvNet(seed, epochs=10, size=16)  # the synthetic pictures are easy and small


@pytest.mark.parametrize("classifier", [_pixels_logistic, _quick_cnn])
def test_faithful_fakes_score_like_reals_and_leaking_fakes_do_not(classifier):
    reals = _pictures(160, 1)
    faithful = augmentation_leak(reals, _pictures(100, 2), classifier, seed=0)
    assert faithful["real_count"] == 160  # cross-fitted: every real is judged once
    assert faithful["real_held_out"] > 0.9
    assert abs(faithful["generated"] - faithful["real_held_out"]) < 0.1
    assert faithful["identity_label_rate"]["real_held_out"] > 0.8
    assert abs(faithful["identity_label_rate"]["generated"] - faithful["identity_label_rate"]["real_held_out"]) < 0.1
    assert set(faithful["held_out_accuracy_per_transform"]) == set(TRANSFORMS)
    rng = np.random.default_rng(3)
    leaking = np.concatenate([transform(_pictures(50, 4), "rot90", rng), transform(_pictures(50, 5), "hue", rng)])
    leaked = augmentation_leak(reals, leaking, classifier, seed=0)
    assert leaked["generated"] < 0.3
    assert leaked["identity_label_rate"]["generated"] < 0.3
    # The report says which transforms leaked: rotations by 90 degrees and hue shifts, half each.
    shares, real_shares = leaked["label_shares"]["generated"], leaked["label_shares"]["real_held_out"]
    assert set(shares) == set(TRANSFORMS) and abs(sum(shares.values()) - 1) < 1e-6
    assert shares["rot90"] > 0.25 and shares["hue"] > 0.25
    assert shares["rot90"] > real_shares["rot90"] + 0.2 and shares["hue"] > real_shares["hue"] + 0.2
    assert real_shares["identity"] == leaked["identity_label_rate"]["real_held_out"]


def test_greyscale_images_are_checked_for_rotations_only():
    reals = _pictures(80, 1).mean(axis=-1, keepdims=True).astype(np.uint8)
    report = augmentation_leak(reals, reals[:20], _pixels_logistic, seed=0)
    assert set(report["held_out_accuracy_per_transform"]) == {"identity", "rot90", "rot180", "rot270"}
    assert "hue" not in report["judged_against"]


def test_bad_inputs_say_what_is_wrong():
    reals = _pictures(40, 1)
    with pytest.raises(ValueError, match="unknown leak classifier 'svm'; choose from cnn, thumbnail"):
        augmentation_leak(reals, reals, "svm")
    with pytest.raises(ValueError, match="same size and channels"):
        augmentation_leak(reals, reals[:, :8, :8], _pixels_logistic)
    with pytest.raises(ValueError, match="at least 16 real images"):
        augmentation_leak(reals[:10], reals, _pixels_logistic)


def test_blurred_but_upright_fakes_are_not_called_leaking():
    """Generated images unlike the training set (here: blurred) must not read as transformed."""
    reals = _pictures(160, 1)
    fakes = _pictures(100, 2).astype(np.float32)
    fakes = ((fakes + np.roll(fakes, 1, 1) + np.roll(fakes, 1, 2) + np.roll(fakes, -1, 1)) / 4).astype(np.uint8)
    report = augmentation_leak(reals, fakes, _pixels_logistic, seed=0)
    assert abs(report["generated"] - report["real_held_out"]) < 0.15
