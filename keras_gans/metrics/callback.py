"""Metrics during training: every ``every_kimg`` thousand real images shown, sample the engine's
EMA generator, compute the requested metrics against the (cached) real features, log them to
TensorBoard under ``<run_dir>/logs/metrics`` (step = real images shown) and keep ``<run_dir>/best.keras``, the generator at
its best value of the first metric listed (written atomically: temp file + os.replace).
Each evaluation also records the training wall-clock so far with the evaluations' own time left
out (``train_seconds``), and with ``sheet_dir`` saves a sheet of 64 evaluated samples (the classes in turn for a
conditional model).

The engine (``self.model``) must expose ``ema_generator`` and ``images_seen`` (a variable
counting real images shown).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from keras_gans.generation import image_grid, to_pil
from keras_gans.io import read_class_names, save_model_atomic, save_png_atomic

from .evaluation import evaluate, parse_metrics, primary_figure, real_class_counts, sample_generator, write_json_atomic


def sheet_indices(labels, count: int) -> np.ndarray:
    """``count`` of a conditional model's class-sorted samples with the classes in turn (the
    first of each class, then the second...), as the training sheets show them."""
    labels = np.asarray(labels)
    rank = np.zeros(len(labels), np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rank[members] = np.arange(len(members))
    order = np.lexsort((labels, rank))  # by rank within the class, then by class
    return order[:count]


class MetricsCallback(keras.callbacks.Callback):
    """Evaluate the EMA generator every ``every_kimg`` kimg of training.

    Args:
        real_data: a folder of real images, or a prepared ``RealFeatures``.
        metrics: names from ``keras_gans.metrics.evaluation.METRICS``; the first one picks best.keras.
        every_kimg: evaluation interval in thousands of real images shown.
        extractor: extractor name (``effnet-lite0``, ``inception``) or a ``FeatureExtractor``.
        run_dir: the run folder (logs/metrics, best.keras, metrics_history.jsonl).
        num_samples: generated images per evaluation.
        class_names: the generator's classes (conditional models); when empty, a conditional
            generator's are read from ``<run_dir>/classes.json``, which every training run writes.
        resolution: the generator's output size (default: read from the generator on first use).
    """

    def __init__(
        self,
        real_data,
        metrics=("fid", "kid"),
        every_kimg: float = 50,
        extractor="effnet-lite0",
        run_dir=".",
        num_samples: int = 5000,
        class_names=None,
        resolution: int | None = None,
        max_real: int | None = None,
        inception_weights=None,
        seed: int = 0,
        verbose: int = 1,
        evaluate_at_end: bool = True,
        sheet_dir=None,
        final_images: int | None = None,
        budget_seconds: float | None = None,
    ):
        super().__init__()
        self.metrics = parse_metrics(metrics)
        if every_kimg <= 0:
            raise ValueError("every_kimg must be positive")
        self.real_data = real_data
        self.every_images = int(round(every_kimg * 1000))
        self.extractor_spec = extractor
        self.inception_weights = inception_weights
        self.run_dir = Path(run_dir)
        self.num_samples = int(num_samples)
        self.class_names = list(class_names or [])
        self.resolution = resolution
        self.max_real = max_real
        self.seed = seed
        self.verbose = verbose
        self.evaluate_at_end = evaluate_at_end
        self.sheet_dir = Path(sheet_dir) if sheet_dir is not None else None
        # A run may call fit() more than once (whole ticks, then a remainder): with final_images
        # the end-of-training evaluation waits for the last one instead of following every fit().
        self.final_images = final_images
        # A wall-clock training budget (evaluation excluded): evaluate once more and stop there.
        self.budget_seconds = budget_seconds
        self.budget_spent = False
        # Training wall-clock: from the first on_train_begin, less the time spent evaluating.
        self._clock_start = None
        self._evaluation_seconds = 0.0
        self.best = None
        self.history: list[dict] = []
        self._extractor = None
        self._real = None
        self._writer = None
        self._next = None
        self._last_evaluated = None
        self._resumed = False

    # -- lazy set-up (the extractor and real features cost time; build them on first use) --
    def _prepare(self, generator):
        from .extractors import get_extractor
        from .real_data import RealFeatures, real_features

        if self._extractor is None:
            self._extractor = get_extractor(self.extractor_spec, self.inception_weights)
        if self._real is None:
            if isinstance(self.real_data, RealFeatures):
                self._real = self.real_data
            else:
                resolution = self.resolution or int(generator.outputs[0].shape[1])
                self._real = real_features(self.real_data, self._extractor, resolution, max_images=self.max_real)
        if self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(str(self.run_dir / "logs" / "metrics"))

    def _images_seen(self) -> int:
        return int(keras.ops.convert_to_numpy(self.model.images_seen))

    def on_train_begin(self, logs=None):
        seen = self._images_seen()
        if self._clock_start is None:
            self._clock_start = time.perf_counter()
            self._resumed = seen > 0
        self._next = (seen // self.every_images + 1) * self.every_images

    def on_train_batch_end(self, batch, logs=None):
        if self._next is None:
            self.on_train_begin()
        if self.budget_spent:
            self.model.stop_training = True
            return
        seen = self._images_seen()
        if self.budget_seconds is not None and self.train_seconds >= self.budget_seconds:
            self.budget_spent = True
            self.model.stop_training = True
            if seen != self._last_evaluated:
                self.evaluate_now(seen)
            return
        if seen >= self._next:
            self._next = (seen // self.every_images + 1) * self.every_images
            self.evaluate_now(seen)

    def on_train_end(self, logs=None):
        if self.evaluate_at_end:
            seen = self._images_seen()
            if self.budget_spent or (self.final_images is not None and seen < self.final_images):
                return
            if seen and seen != self._last_evaluated:
                self.evaluate_now(seen)

    @property
    def train_seconds(self) -> float:
        if self._clock_start is None:
            return 0.0
        return time.perf_counter() - self._clock_start - self._evaluation_seconds

    def evaluate_now(self, images_seen: int | None = None) -> dict:
        started = time.perf_counter()
        train_seconds = self.train_seconds
        try:
            return self._evaluate(images_seen, train_seconds)
        finally:
            self._evaluation_seconds += time.perf_counter() - started

    def _evaluate(self, images_seen, train_seconds) -> dict:
        import tensorflow as tf

        generator = self.model.ema_generator
        self._prepare(generator)
        images_seen = self._images_seen() if images_seen is None else int(images_seen)
        if not self.class_names and len(generator.inputs) > 1:
            self.class_names = read_class_names(self.run_dir)
        images, labels = sample_generator(
            generator, self.num_samples, self.class_names, seed=self.seed,
            class_counts=real_class_counts(self._real, self.class_names),
        )
        result = evaluate(
            self.metrics, self._real, images, self._extractor, fake_labels=labels,
            fake_class_names=self.class_names, out_dir=None, seed=self.seed,
        )
        kimg = images_seen / 1000
        result["kimg"] = kimg
        result["train_seconds"] = train_seconds
        if self.sheet_dir is not None:
            sheet = self.sheet_dir / f"sheet-{kimg:08.3f}kimg.png"
            save_png_atomic(to_pil(image_grid(images[:64] if labels is None else images[sheet_indices(labels, 64)], 8)), sheet)
            result["sheet"] = str(sheet)
        self._last_evaluated = images_seen
        with self._writer.as_default():
            for name, value in result["figures"].items():
                tf.summary.scalar(name, value, step=images_seen)
            self._writer.flush()
        self.history.append({"kimg": kimg, "train_seconds": train_seconds, **result["figures"]})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "metrics_history.jsonl", "a") as stream:
            stream.write(json.dumps({"kimg": kimg, "train_seconds": train_seconds, "figures": result["figures"],
                                     "warnings": result["warnings"]}) + "\n")
        name, higher = primary_figure(self.metrics[0], self._extractor.label)
        value = result["figures"].get(name)
        if self.best is None and self._resumed:
            self.best = self._saved_best(name)
        improved = value is not None and np.isfinite(value) and (
            self.best is None or (value > self.best if higher else value < self.best)
        )
        if improved:
            self.best = float(value)
            self._save_best(generator, {"kimg": kimg, "metric": name, "value": float(value)})
        if self.verbose:
            figures = ", ".join(f"{k} {v:.4g}" for k, v in result["figures"].items())
            print(f"\n[metrics @ {kimg:g} kimg] {figures}" + (" (best so far)" if improved else ""))
            for message in result["warnings"]:
                print(f"[metrics] WARNING: {message}")
        return result

    def _saved_best(self, name: str) -> float | None:
        """The best value of a resumed run (its best.json), so that the first evaluation after a
        resume replaces best.keras only if it beats the generator already kept there."""
        path = self.run_dir / "best.json"
        if not path.is_file() or not (self.run_dir / "best.keras").is_file():
            return None
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            value = float(saved["value"]) if saved.get("metric") == name else None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            print(f"[metrics] WARNING: {path} is unreadable ({error}); the next evaluation replaces best.keras")
            return None
        return value if value is not None and np.isfinite(value) else None

    def _save_best(self, generator, info: dict):
        save_model_atomic(generator, self.run_dir / "best.keras")
        write_json_atomic(self.run_dir / "best.json", info)
