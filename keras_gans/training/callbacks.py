"""Keras callbacks for GAN runs: progress bar, TensorBoard scalars and sample grids, checkpoints.

All of them count in images shown (``gan.images_seen``), the unit GAN papers use (kimg), so
schedules mean the same thing at any batch size.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import tensorflow as tf

from keras_gans.generation import image_grid, run_generator, to_uint8
from keras_gans.io import save_png_atomic


def _images_seen(model) -> int:
    return int(model.images_seen.numpy())


class EveryKimg:
    """Fires once each time ``images_seen`` crosses a multiple of ``kimg`` thousand images."""

    def __init__(self, kimg: float):
        self.interval = max(1, int(round(kimg * 1000)))
        self.last_bucket = None

    def reset(self, images_seen: int):
        self.last_bucket = images_seen // self.interval

    def due(self, images_seen: int) -> bool:
        bucket = images_seen // self.interval
        if self.last_bucket is None:
            self.last_bucket = bucket
            return False
        if bucket > self.last_bucket:
            self.last_bucket = bucket
            return True
        return False


class ProgressCallback(keras.callbacks.Callback):
    """A tqdm bar in images with images/s, ETA and the latest losses."""

    def __init__(self, total_images: int, enabled: bool = True):
        super().__init__()
        self.total_images = total_images
        self.enabled = enabled
        self.bar = None

    def on_train_begin(self, logs=None):
        if not self.enabled:
            return
        from tqdm import tqdm

        start = _images_seen(self.model)
        if self.bar is not None and start >= self.last:
            return  # the next fit() of the same run: the same bar goes on
        self.close()
        self.bar = tqdm(
            total=self.total_images,
            initial=start,
            unit="img",
            unit_scale=True,
            dynamic_ncols=True,
            desc="training",
            smoothing=0.05,
        )
        self.last = start

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:
            return
        seen = _images_seen(self.model)
        self.bar.update(seen - self.last)
        self.last = seen
        if logs:
            self.bar.set_postfix(
                {k: f"{float(logs[k]):.3f}" for k in ("d_loss", "g_loss") if k in logs}, refresh=False
            )

    def on_train_end(self, logs=None):
        # A run fits in pieces (the whole ticks, then the remainder), so the bar stays open until
        # the run has shown every image or its owner calls close().
        if self.bar is not None and self.last >= self.total_images:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TensorBoardCallback(keras.callbacks.Callback):
    """Scalars every epoch (a tick), images/s, and a fixed-seed EMA sample grid every N kimg.

    The grid also goes to ``samples/grid-<kimg>.png`` in the run folder.
    """

    def __init__(self, log_dir, samples_dir, fixed_latents, fixed_labels=None, sample_every_kimg: float = 5.0, grid_columns=8):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.samples_dir = Path(samples_dir)
        self.fixed_latents = fixed_latents
        self.fixed_labels = fixed_labels
        self.schedule = EveryKimg(sample_every_kimg)
        self.grid_columns = grid_columns

    def on_train_begin(self, logs=None):
        self.tick_start = time.perf_counter()
        self.tick_images = _images_seen(self.model)
        self.schedule.reset(self.tick_images)
        if self.tick_images == 0:
            self.write_samples()

    def on_epoch_end(self, epoch, logs=None):
        seen = _images_seen(self.model)
        elapsed = max(time.perf_counter() - self.tick_start, 1e-9)
        with self.writer.as_default(step=seen):
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"train/{name}", float(value))
            tf.summary.scalar("speed/images_per_second", (seen - self.tick_images) / elapsed)
            tf.summary.scalar("progress/kimg", seen / 1000.0)
            if getattr(self.model, "ada", False):
                # train/augment_p is the tick's mean; this is p now, as the next tick starts with.
                tf.summary.scalar("augment/p", float(self.model.augment_p.numpy()))
        self.writer.flush()
        self.tick_start, self.tick_images = time.perf_counter(), seen

    def on_train_batch_end(self, batch, logs=None):
        if self.schedule.due(_images_seen(self.model)):
            self.write_samples()

    def on_train_end(self, logs=None):
        self.write_samples()

    def write_samples(self):
        from PIL import Image


        seen = _images_seen(self.model)
        images = to_uint8(run_generator(self.model.ema_generator, self.fixed_latents, self.fixed_labels))
        grid = image_grid(images, self.grid_columns)
        with self.writer.as_default(step=seen):
            has_ema = self.model.ema_generator is not self.model.generator
            tf.summary.image("samples/ema_fixed_seeds" if has_ema else "samples/fixed_seeds", grid[None], max_outputs=1)
        self.writer.flush()
        picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
        save_png_atomic(picture, self.samples_dir / f"grid-{seen / 1000:09.3f}kimg.png")


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the end of the first execution of the compiled step whose losses are
    NaN or Inf. The trackers are running means, so one bad step among the execution's
    ``steps_per_execution`` makes them non-finite. The run then rolls back (training.run)."""

    def __init__(self):
        super().__init__()
        self.tripped_at = None

    def watched(self) -> tuple[str, ...]:
        """The two losses and every optional term the model's configuration added."""
        terms = list(getattr(self.model, "d_terms", [])) + list(getattr(self.model, "g_terms", []))
        return ("d_loss", "g_loss", *(term.name for term in terms))

    def on_train_batch_end(self, batch, logs=None):
        bad = [name for name in self.watched() if name in (logs or {}) and not math.isfinite(float(logs[name]))]
        if bad and self.tripped_at is None:
            self.tripped_at = (_images_seen(self.model), bad)
            self.model.stop_training = True


class CheckpointCallback(keras.callbacks.Callback):
    def __init__(self, manager, every_kimg: float, guard: NonFiniteGuard | None = None):
        super().__init__()
        self.manager = manager
        self.schedule = EveryKimg(every_kimg)
        self.guard = guard

    def on_train_begin(self, logs=None):
        self.schedule.reset(_images_seen(self.model))

    def on_train_batch_end(self, batch, logs=None):
        if self.guard is not None and self.guard.tripped_at is not None:
            return  # never checkpoint weights that have gone NaN
        if self.schedule.due(_images_seen(self.model)):
            self.manager.save()
