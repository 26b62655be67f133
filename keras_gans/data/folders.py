"""Scanning and validating an image folder before training starts.

Every file is fully decoded here, once, so a corrupt image is named with its reason up front
instead of crashing an epoch. Kept images are centre-cropped (or padded) and resized to the
training resolution into one uint8 array; that array is cached on disk, keyed by the files'
names, sizes and modification times, so the next run on the same folder starts at once.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_gans.data.images import fit_square, image_to_array, ImageRejected, is_image_path, load_image
from keras_gans.io import cache_dir, save_npy_atomic, write_json_atomic

CACHE_VERSION = 1


class DatasetError(ValueError):
    """A dataset that cannot be trained on (missing, empty, too small, unlabelled)."""


@dataclass
class ImageFolderData:
    images: np.ndarray  # (N, H, W, C) uint8, possibly a read-only memory map
    labels: np.ndarray  # (N,) int32; -1 where a file has no class folder
    class_names: list[str]
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def labelled(self) -> bool:
        return bool(self.class_names) and bool(np.all(self.labels >= 0))

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, counts)}


def walk_files(root: str | Path, follow_links: bool = False):
    """Every file below ``root`` as a path, folder by folder in sorted order, hidden files and
    folders (a leading dot) skipped: the one walk under training, evaluation and prepare.
    ``follow_links`` also enters symlinked folders, each real folder once (no symlink loops)."""
    visited: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_links):
        if follow_links:
            try:
                stat = os.stat(dirpath)
            except OSError:
                dirnames[:] = []
                continue
            if (stat.st_dev, stat.st_ino) in visited:
                dirnames[:] = []
                continue
            visited.add((stat.st_dev, stat.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def scan_image_files(root: str | Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Image files below ``root`` (recursive, sorted), and the non-image files it saw.

    Metadata that other tools write beside images (scraper sidecars ``*.json``,
    ``manifest.jsonl``, ``summary`` files, TFRecord shards) is neither returned nor reported.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; --data expects a folder of images")
    images, ignored = [], []
    quiet_suffixes = {".json", ".jsonl", ".txt", ".md", ".tfrecord", ".csv", ".npy", ".npz", ".xml"}
    for path in walk_files(root):
        if is_image_path(path):
            images.append(path)
        elif path.suffix.lower() not in quiet_suffixes:
            ignored.append((str(path), "not an image file type"))
    return images, ignored


def class_of(path: Path, root: Path) -> str | None:
    """The first-level subfolder a file sits in (its class), or None for files at the top."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else None


def files_fingerprint(paths, root: Path | None = None, **settings) -> str:
    """The one cache key for "these files, unchanged, read with these settings" (the decoded
    dataset cache, the real-feature cache): every file's path (relative to ``root`` when given),
    size and modification time, and the settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in paths:
        stat = path.stat()
        name = path.relative_to(root).as_posix() if root is not None else str(path)
        digest.update(f"{name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def default_cache_dir() -> Path:
    return cache_dir("datasets")


def _load_one(path: Path, resolution: int, channels: int, crop: str):
    try:
        image = load_image(path, channels=channels)
        return image_to_array(fit_square(image, resolution, crop=crop)), None
    except ImageRejected as rejection:
        return None, str(rejection)


def load_image_folder(
    root: str | Path,
    resolution: int,
    channels: int = 3,
    crop: str = "center",
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: bool = True,
) -> ImageFolderData:
    """Validate and preprocess every image below ``root`` (see the module docstring)."""
    root = Path(root).resolve()
    paths, ignored = scan_image_files(root)
    if not paths:
        raise DatasetError(
            f"no images found in {root} (looked for {', '.join(e.lstrip('.') for e in ('.jpg', '.png', '.webp', '.bmp', '.gif'))}, recursively)"
        )
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    key = files_fingerprint(paths, version=CACHE_VERSION, resolution=resolution, channels=channels, crop=crop)
    array_path, meta_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if use_cache and array_path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            images = np.load(array_path, mmap_mode="r", allow_pickle=False)
            if images.shape[0] == len(meta["paths"]):
                return ImageFolderData(
                    images=images,
                    labels=np.asarray(meta["labels"], dtype=np.int32),
                    class_names=meta["class_names"],
                    paths=meta["paths"],
                    skipped=[tuple(item) for item in meta["skipped"]] + ignored,
                )
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    classes = [class_of(path, root) for path in paths]
    class_names = sorted({name for name in classes if name is not None})
    class_index = {name: index for index, name in enumerate(class_names)}

    kept_arrays, kept_paths, kept_labels, skipped = [], [], [], []
    iterator = None
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        # Pillow releases the GIL while decoding and resizing, so threads use every core.
        results = pool.map(lambda p: _load_one(p, resolution, channels, crop), paths)
        if progress:
            from tqdm import tqdm

            iterator = tqdm(results, total=len(paths), desc="checking images", unit="img", leave=False)
        for path, klass, (array, problem) in zip(paths, classes, iterator or results):
            if problem is not None:
                skipped.append((str(path), problem))
                continue
            kept_arrays.append(array)
            kept_paths.append(str(path))
            kept_labels.append(class_index[klass] if klass is not None else -1)
    if not kept_arrays:
        raise DatasetError(
            f"none of the {len(paths)} image files in {root} could be used; first problem: "
            f"{skipped[0][0]}: {skipped[0][1]}"
        )
    images = np.stack(kept_arrays)
    labels = np.asarray(kept_labels, dtype=np.int32)
    if use_cache:
        try:
            save_npy_atomic(array_path, images)
            write_json_atomic(
                meta_path,
                {"paths": kept_paths, "labels": labels.tolist(), "class_names": class_names, "skipped": skipped},
            )
        except OSError:
            pass  # a read-only cache location only costs the next run a re-scan
    return ImageFolderData(images, labels, class_names, kept_paths, skipped + ignored)


def check_trainable(data: ImageFolderData, batch_size: int, conditional: bool, source: str) -> None:
    """Refuse datasets that cannot fill one batch, or unlabelled data for a conditional model."""
    count = len(data.images)
    if count < batch_size:
        raise DatasetError(
            f"{source} has only {count} usable image(s), fewer than one batch of {batch_size}; "
            "add images or lower --batch"
        )
    if conditional:
        if not data.class_names:
            raise DatasetError(
                f"a conditional model needs labelled data, but {source} has no class subfolders; "
                "put each class's images in its own subfolder (e.g. portrait/, landscape/)"
            )
        if not data.labelled:
            unlabelled = int(np.sum(data.labels < 0))
            raise DatasetError(
                f"{unlabelled} image(s) in {source} sit outside any class subfolder; a conditional model "
                "needs every image in a class folder"
            )
        if len(data.class_names) < 2:
            raise DatasetError(f"a conditional model needs at least two classes; {source} has {data.class_names}")


def format_skipped(skipped: list[tuple[str, str]], limit: int = 20) -> str:
    lines = [f"  {path}: {reason}" for path, reason in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"  ... and {len(skipped) - limit} more")
    return "\n".join(lines)
