"""Diversity as the mean pairwise MS-SSIM of samples (Odena et al. 2017, "Conditional image
synthesis with auxiliary classifier GANs", section 4.2): lower means more diverse.

TensorFlow's ``tf.image.ssim_multiscale`` defaults (5 scales, 11x11 Gaussian window) need images
above ~160 px. :func:`msssim_config` picks a window and a number of scales that fit the
resolution (32-128 px and up): the coarsest scale must still hold one window. The first weights
of Wang et al. 2003 are kept for the scales used and renormalised to sum to one. The config is
returned with every figure, because MS-SSIM values are only comparable under the same config.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
# The generator's mean pairwise (1 - MS-SSIM) below this fraction of the data's warns of collapse.
COLLAPSE_RATIO = 0.5


@dataclass(frozen=True)
class MSSSIMConfig:
    resolution: int
    filter_size: int
    filter_sigma: float
    power_factors: tuple[float, ...]

    @property
    def scales(self) -> int:
        return len(self.power_factors)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["scales"] = self.scales
        data["power_factors"] = [round(p, 4) for p in self.power_factors]
        return data


def msssim_config(resolution: int) -> MSSSIMConfig:
    """Window and scales for square images of side ``resolution``."""
    if resolution < 16:
        raise ValueError(f"MS-SSIM needs images of at least 16 px, got {resolution}")
    filter_size, sigma = (11, 1.5) if resolution >= 64 else (7, 1.0)
    scales = max(1, min(len(WANG_WEIGHTS), int(math.floor(math.log2(resolution / filter_size))) + 1))
    weights = np.asarray(WANG_WEIGHTS[:scales])
    weights = weights / weights.sum()
    return MSSSIMConfig(resolution, filter_size, sigma, tuple(float(w) for w in weights))


def ms_ssim(images1: np.ndarray, images2: np.ndarray, config: MSSSIMConfig | None = None, batch_size: int = 256) -> np.ndarray:
    """MS-SSIM of each pair (images1[i], images2[i]); uint8 NHWC images."""
    import tensorflow as tf

    images1, images2 = np.asarray(images1), np.asarray(images2)
    if images1.shape != images2.shape:
        raise ValueError(f"shapes differ: {images1.shape} vs {images2.shape}")
    config = config or msssim_config(min(images1.shape[1:3]))
    out = []
    for start in range(0, len(images1), batch_size):
        values = tf.image.ssim_multiscale(
            tf.convert_to_tensor(images1[start:start + batch_size], tf.float32),
            tf.convert_to_tensor(images2[start:start + batch_size], tf.float32),
            max_val=255.0,
            power_factors=config.power_factors,
            filter_size=config.filter_size,
            filter_sigma=config.filter_sigma,
        )
        out.append(values.numpy())
    return np.concatenate(out) if out else np.zeros((0,))


def random_pairs(count: int, num_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``num_pairs`` distinct unordered index pairs (i != j) from range(count)."""
    total = count * (count - 1) // 2
    if total == 0:
        raise ValueError("need at least 2 images for pairwise MS-SSIM")
    rng = np.random.default_rng(seed)
    if total <= num_pairs:
        first, second = np.triu_indices(count, k=1)
        return first, second
    first = rng.integers(0, count, size=num_pairs * 2)
    second = rng.integers(0, count, size=num_pairs * 2)
    keep = first != second
    return first[keep][:num_pairs], second[keep][:num_pairs]


def mean_pairwise_msssim(images: np.ndarray, num_pairs: int = 1000, seed: int = 0, config: MSSSIMConfig | None = None) -> float:
    images = np.asarray(images)
    first, second = random_pairs(len(images), num_pairs, seed)
    return float(ms_ssim(images[first], images[second], config).mean())


def collapse_warning(generated: float, real: float, where: str = "") -> str | None:
    """A message when the generator's diversity (1 - MS-SSIM) is well below the data's."""
    if (1 - generated) < COLLAPSE_RATIO * (1 - real):
        return (
            f"possible mode collapse{where}: generated MS-SSIM {generated:.3f} vs real {real:.3f} "
            f"(generated diversity 1-MS-SSIM below {COLLAPSE_RATIO:.0%} of the data's)"
        )
    return None


def diversity_report(
    fake_images: np.ndarray,
    real_images: np.ndarray,
    fake_labels: np.ndarray | None = None,
    real_labels: np.ndarray | None = None,
    class_names: list[str] | None = None,
    num_pairs: int = 1000,
    seed: int = 0,
) -> dict:
    """Mean pairwise MS-SSIM of generated and real images, overall and per class."""
    resolution = int(min(fake_images.shape[1:3]))
    config = msssim_config(resolution)
    if real_images.shape[1:] != fake_images.shape[1:]:
        raise ValueError(f"real images {real_images.shape[1:]} and generated {fake_images.shape[1:]} differ in shape")
    report = {
        "config": config.to_dict(),
        "generated": mean_pairwise_msssim(fake_images, num_pairs, seed, config),
        "real": mean_pairwise_msssim(real_images, num_pairs, seed + 1, config),
        "warnings": [],
    }
    message = collapse_warning(report["generated"], report["real"])
    if message:
        report["warnings"].append(message)
    if fake_labels is not None and class_names:
        per_class = {}
        for index, name in enumerate(class_names):
            fake = fake_images[fake_labels == index]
            real = real_images[real_labels == index] if real_labels is not None else np.zeros((0,))
            if len(fake) < 2:
                continue
            entry = {"generated": mean_pairwise_msssim(fake, num_pairs, seed, config)}
            if len(real) >= 2:
                entry["real"] = mean_pairwise_msssim(real, num_pairs, seed + 1, config)
                message = collapse_warning(entry["generated"], entry["real"], f" in class {name!r}")
                if message:
                    report["warnings"].append(message)
            per_class[name] = entry
        report["per_class"] = per_class
    return report
