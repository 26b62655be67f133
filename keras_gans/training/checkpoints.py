"""Training checkpoints: the whole state of a run, written atomically, the last K kept.

A checkpoint is a folder ``ckpt-<images seen, 9 digits>`` holding a TensorFlow object
checkpoint of the engine (generator, discriminator, EMA generator, tracked mean w, both
optimizers, step and image counters, every random-number-generator state) and ``meta.json``.
It is written into a hidden temporary folder and renamed into place, so a crash mid-write
leaves the previous checkpoint as the latest. ``meta.json`` records the SHA-256 of every state
file; a checkpoint whose files no longer match (truncated, bytes flipped on disk) is skipped
with a warning and the one before it is used.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import tensorflow as tf

from keras_gans.data.dedupe import file_sha256
from keras_gans.io import write_json_atomic

class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full, I/O error); nothing earlier was lost."""


CHECKPOINT_PATTERN = re.compile(r"^ckpt-(\d{9})$")
STATE_PREFIX = "state"


def _checkpoint_object(gan) -> tf.train.Checkpoint:
    # Keras SeedGenerators are not tracked by tf.train.Checkpoint through their layers, so
    # their state variables are listed explicitly (in construction order, which is stable).
    rng_states = [v for v in gan.variables if "seed_generator_state" in v.path]
    return tf.train.Checkpoint(
        gan=gan, g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, rng=rng_states
    )


def list_checkpoints(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and CHECKPOINT_PATTERN.match(p.name)]
    return sorted(found, key=lambda p: int(CHECKPOINT_PATTERN.match(p.name).group(1)))


def _file_digests(folder: Path) -> dict[str, str]:
    return {
        path.name: file_sha256(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name != "meta.json"
    }


def checkpoint_problem(path: str | Path) -> str | None:
    """Why the checkpoint at ``path`` cannot be trusted, or None. Checkpoints written before
    checksums were recorded are trusted when their meta.json reads."""
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"meta.json unreadable ({error})"
    expected = meta.get("sha256")
    if expected is None:
        return None
    try:
        actual = _file_digests(path)
    except OSError as error:  # e.g. pruned by a training process (--keep) while being read
        return f"its files could not be read ({error}); a running training may have just removed it"
    for name, digest in expected.items():
        if name not in actual:
            return f"{name} is missing"
        if actual[name] != digest:
            return f"{name} does not match its checksum (truncated or corrupted)"
    return None


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint whose files match their checksums; a corrupted one is
    skipped with a warning naming it, and the one before it is returned."""
    complete = [p for p in list_checkpoints(directory) if (p / "meta.json").is_file()]
    for path in reversed(complete):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        print(f"warning: skipping checkpoint {path}: {problem}; using the one before it", file=sys.stderr)
    return None


class CheckpointManager:
    def __init__(self, directory: str | Path, gan, keep: int = 3):
        self.directory = Path(directory)
        self.gan = gan
        self.keep = max(1, keep)

    def save(self, extra: dict | None = None) -> Path:
        images_seen = int(self.gan.images_seen.numpy())
        final = self.directory / f"ckpt-{images_seen:09d}"
        if final.exists() and (final / "meta.json").is_file():
            return final
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = self.directory / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
            _checkpoint_object(self.gan).write(str(staging / STATE_PREFIX))
            digests = _file_digests(staging)
        except (OSError, tf.errors.OpError) as error:
            # Disk full (ENOSPC) or a failing disk: drop the partial copy; the previous
            # checkpoint was never touched.
            shutil.rmtree(staging, ignore_errors=True)
            previous = latest_checkpoint(self.directory)
            kept = f"the previous checkpoint {previous.name} is intact" if previous else "no earlier checkpoint exists"
            reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
            raise CheckpointWriteError(
                f"could not write checkpoint {final.name} in {self.directory}: {reason}; {kept}. "
                "Free some disk space and rerun the same command to resume."
            ) from error
        meta = {
            "sha256": digests,
            "images_seen": images_seen,
            "steps_done": int(self.gan.steps_done.numpy()),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **(extra or {}),
        }
        if getattr(self.gan, "learning_rate_scale", 1.0) != 1.0:
            # Lowered after NaN losses (training.run): the optimizers' rates carry it, this says so.
            meta["learning_rate_scale"] = self.gan.learning_rate_scale
        if getattr(self.gan, "ada", False):
            meta["augment_p"] = float(self.gan.augment_p.numpy())  # for people; the state file restores it
        write_json_atomic(staging / "meta.json", meta)
        if final.exists():  # an incomplete leftover (no meta.json) from a crash
            shutil.rmtree(final)
        os.replace(staging, final)
        self._prune()
        return final

    def _prune(self):
        for old in list_checkpoints(self.directory)[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        for leftover in self.directory.glob(".ckpt-*.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def restore(self, path: str | Path) -> dict:
        path = Path(path)
        status = _checkpoint_object(self.gan).read(str(path / STATE_PREFIX))
        status.assert_existing_objects_matched()
        return json.loads((path / "meta.json").read_text(encoding="utf-8"))


def restore_generator(gan, path: str | Path) -> None:
    """Restore only what generation needs (used when a run has no generator.keras yet)."""
    tf.train.Checkpoint(gan=gan).read(str(Path(path) / STATE_PREFIX)).expect_partial()
