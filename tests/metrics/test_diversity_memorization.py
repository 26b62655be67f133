"""MS-SSIM diversity with the mode-collapse warning, and the memorization check (no extractor)."""
import numpy as np
from PIL import Image

from keras_gans.metrics.diversity import diversity_report, ms_ssim, msssim_config
from keras_gans.metrics.memorization import memorization_report, pair_sheet


def _smooth_images(count, size, seed):
    rng = np.random.default_rng(seed)
    return np.stack([
        np.asarray(Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC))
        for _ in range(count)
    ])


def test_ms_ssim_identical_is_one_and_different_is_lower():
    images = _smooth_images(4, 32, 0)
    config = msssim_config(32)
    assert np.allclose(ms_ssim(images, images, config), 1.0, atol=1e-5)
    assert (ms_ssim(images[:2], images[2:], config) < 0.9).all()


def test_collapsed_generator_warns_and_diverse_one_does_not():
    real = _smooth_images(40, 32, 1)
    diverse = _smooth_images(40, 32, 2)
    ok = diversity_report(diverse, real, num_pairs=100)
    assert ok["warnings"] == [] and ok["config"]["resolution"] == 32
    collapsed = np.repeat(diverse[:1], 40, axis=0)
    collapsed = np.clip(collapsed.astype(int) + np.random.default_rng(3).integers(-2, 3, collapsed.shape), 0, 255)
    report = diversity_report(collapsed.astype(np.uint8), real, num_pairs=100)
    assert report["generated"] > 0.95 > report["real"]
    assert any("mode collapse" in w for w in report["warnings"])


def test_per_class_collapse_is_reported_for_its_class():
    real = _smooth_images(40, 32, 4)
    labels = np.repeat([0, 1], 20)
    fake = _smooth_images(40, 32, 5)
    fake[20:] = fake[20]  # class 1 collapsed onto one image
    report = diversity_report(fake, real, labels, labels, ["a", "b"], num_pairs=50)
    assert set(report["per_class"]) == {"a", "b"}
    assert report["per_class"]["b"]["generated"] > 0.99
    assert any("'b'" in w for w in report["warnings"]) and not any("'a'" in w for w in report["warnings"])


def test_memorization_finds_copies_and_writes_sheet(tmp_path):
    rng = np.random.default_rng(6)
    real = rng.normal(size=(50, 16))
    fake = np.concatenate([real[[7, 3]] + 1e-4, rng.normal(size=(8, 16))])
    report = memorization_report(fake, real, top=4)
    closest = report["closest"]
    assert [(c["generated"], c["real"]) for c in closest[:2]] in ([(0, 7), (1, 3)], [(1, 3), (0, 7)])
    assert report["nearest_distance_min"] < 1e-3 < report["real_to_real_p01"]
    assert report["closer_than_real_p01"] == 0.2
    images = _smooth_images(5, 32, 7)
    path = pair_sheet(images, images[::-1], tmp_path / "sheet.png", columns=2)
    sheet = np.asarray(Image.open(path))
    assert sheet.shape[0] > 3 * 32 and sheet.shape[1] > 4 * 32
