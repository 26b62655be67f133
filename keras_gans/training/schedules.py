"""Schedules in images shown: instance-noise annealing and the progressive-growing timeline.

Both are pure functions of the number of images shown so far, so a resumed run (which restores
that count) continues with exactly the same noise level and fade-in alpha.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


def instance_noise_std(images_seen, std: float, anneal_kimg: float):
    """std * max(0, 1 - images_seen / (anneal_kimg * 1000)); constant when anneal_kimg is 0
    (Sønderby et al. 2017, "Amortised MAP Inference for Image Super-resolution", sec. 3.3)."""
    if anneal_kimg <= 0:
        return tf.constant(std, tf.float32)
    fraction = tf.cast(images_seen, tf.float32) / (anneal_kimg * 1000.0)
    return std * tf.clip_by_value(1.0 - fraction, 0.0, 1.0)


@dataclass(frozen=True)
class ProgressiveSchedule:
    """The PGGAN timeline (Karras et al. 2018, sec. 3 and appendix A.1).

    The first resolution trains for ``stable_kimg``; every later one first fades in over
    ``fade_kimg`` (alpha 0 -> 1), then trains stably for ``stable_kimg``. The last resolution
    keeps training until the run ends.
    """

    start_resolution: int
    target_resolution: int
    fade_kimg: float
    stable_kimg: float

    @classmethod
    def from_config(cls, config) -> "ProgressiveSchedule":
        return cls(config.progressive_start_resolution, config.resolution, config.fade_kimg, config.stable_kimg)

    def __post_init__(self):
        for name in ("start_resolution", "target_resolution"):
            value = getattr(self, name)
            if value < 4 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two >= 4, got {value}")
        if self.start_resolution > self.target_resolution:
            raise ValueError("progressive start resolution exceeds the target resolution")
        if self.fade_kimg <= 0 or self.stable_kimg < 0:
            raise ValueError("fade_kimg must be > 0 and stable_kimg >= 0")

    @property
    def fade_images(self) -> int:
        return int(round(self.fade_kimg * 1000))

    @property
    def stable_images(self) -> int:
        return int(round(self.stable_kimg * 1000))

    @property
    def resolutions(self) -> list[int]:
        count = int(math.log2(self.target_resolution // self.start_resolution)) + 1
        return [self.start_resolution * 2**i for i in range(count)]

    def stage_index(self, resolution: int) -> int:
        try:
            return self.resolutions.index(resolution)
        except ValueError:
            raise ValueError(f"{resolution} is not a stage of {self.resolutions}") from None

    def stage_start(self, resolution: int) -> int:
        """Images shown when training at ``resolution`` begins (its fade-in starts)."""
        index = self.stage_index(resolution)
        if index == 0:
            return 0
        return self.stable_images + (index - 1) * (self.fade_images + self.stable_images)

    def stage_end(self, resolution: int) -> float:
        """Images shown when the next resolution begins (infinity for the last one)."""
        index = self.stage_index(resolution)
        if index == len(self.resolutions) - 1:
            return math.inf
        return self.stage_start(self.resolutions[index + 1])

    def resolution_at(self, images_seen: int) -> int:
        current = self.resolutions[0]
        for resolution in self.resolutions:
            if images_seen >= self.stage_start(resolution):
                current = resolution
        return current

    def alpha_at(self, images_seen: int, resolution: int | None = None) -> float:
        """Fade-in alpha of ``resolution`` (default: the current one) after ``images_seen`` images."""
        resolution = resolution or self.resolution_at(images_seen)
        if self.stage_index(resolution) == 0:
            return 1.0
        return min(max((images_seen - self.stage_start(resolution)) / self.fade_images, 0.0), 1.0)

    def alpha_tensor(self, images_seen, resolution: int):
        """alpha_at as a graph op on an images-shown variable, for the compiled train step."""
        if self.stage_index(resolution) == 0:
            return tf.constant(1.0, tf.float32)
        elapsed = tf.cast(images_seen, tf.float32) - float(self.stage_start(resolution))
        return tf.clip_by_value(elapsed / float(self.fade_images), 0.0, 1.0)


def blend_reals(images, alpha):
    """Crossfade reals between this resolution and the previous one, as the generator's output
    is during a fade (PGGAN's official code, ``process_reals``): lerp(upscale(downscale(x)), x, alpha)."""
    shape = tf.shape(images)
    low = tf.nn.avg_pool2d(images, 2, 2, "VALID")
    low = tf.image.resize(low, shape[1:3], method="nearest")
    alpha = tf.cast(alpha, images.dtype)
    return low + alpha * (images - low)
