"""Images folders for evaluation, and the per-dataset cache of real-image features.

A folder is scanned recursively for images (``keras_gans.data.folders.scan_image_files``); when its
images sit in sub-folders, the first-level sub-folder names are the classes (sorted), as in
training. Each image is decoded with :func:`keras_gans.data.images.load_image`, centre-cropped
and resized to the evaluation resolution with :func:`fit_square`; undecodable files are skipped
and counted.

Real features are cached as ``.npz`` (no pickle; loaded with ``allow_pickle=False``) under
``$KERAS_GANS_CACHE/metrics`` (default ``~/.cache/keras_gans/metrics``), keyed by the list of
files (relative path, size, modification time), the extractor label and the resolution; writes
go to a temporary file that is then renamed, so an interrupted run never leaves a half file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_gans.data.folders import files_fingerprint, scan_image_files
from keras_gans.data.images import fit_square, image_to_array, ImageRejected, load_image
from keras_gans.io import cache_dir, save_npz_atomic

CACHE_VERSION = 1


class DataError(ValueError):
    """A data folder that cannot be evaluated (missing, empty, unreadable)."""


@dataclass
class ImageFolder:
    root: Path
    paths: list[Path]
    labels: np.ndarray  # int32, -1 when unlabelled
    class_names: list[str]


@dataclass
class RealFeatures:
    features: np.ndarray  # float32 (N, D)
    labels: np.ndarray  # int32 (N,), -1 when unlabelled
    paths: list[str]  # relative to root
    class_names: list[str]
    root: Path
    resolution: int
    extractor: str
    skipped: int = 0
    cache_file: Path | None = None
    from_cache: bool = False
    statistics: tuple | None = field(default=None, repr=False)

    def image_paths(self, indices) -> list[Path]:
        return [self.root / self.paths[int(i)] for i in indices]


def scan_folder(root: str | Path) -> ImageFolder:
    """The images of a folder as training sees them (the project's one scanner, data.folders),
    with class labels when every image is in a class sub-folder."""

    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    paths = sorted(scan_image_files(root)[0])
    if not paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(('.jpg', '.png', '.webp', '...'))})")
    nested = [p for p in paths if len(p.relative_to(root).parts) > 1]
    if nested and len(nested) == len(paths):
        class_names = sorted({p.relative_to(root).parts[0] for p in paths})
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[p.relative_to(root).parts[0]] for p in paths], np.int32)
    else:
        class_names, labels = [], np.full(len(paths), -1, np.int32)
    return ImageFolder(root, paths, labels, class_names)


def load_images(paths, resolution: int | None, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (N, R, R, C), indices of the paths that loaded). ``resolution=None`` keeps
    the size of the first image and requires all images to share it."""
    arrays, kept = [], []
    for i, path in enumerate(paths):
        try:
            image = load_image(path, channels=channels)
        except ImageRejected:
            continue
        if resolution is None:
            resolution = image.size[0] if image.size[0] == image.size[1] else min(image.size)
        arrays.append(image_to_array(fit_square(image, resolution, crop="center")))
        kept.append(i)
    if not arrays:
        return np.zeros((0, resolution or 1, resolution or 1, channels), np.uint8), np.zeros(0, np.int64)
    return np.stack(arrays), np.asarray(kept, np.int64)


def folder_resolution(folder: ImageFolder) -> int:
    """Side of the first decodable image (its short side when not square)."""
    for path in folder.paths[:50]:
        try:
            return min(load_image(path).size)
        except ImageRejected:
            continue
    raise DataError(f"{folder.root}: none of the first images could be decoded")


def cache_root() -> Path:
    return cache_dir("metrics")


def _cache_key(folder: ImageFolder, paths: list[Path], extractor: str, resolution: int) -> str:
    return files_fingerprint(paths, root=folder.root, version=CACHE_VERSION, extractor=extractor,
                             resolution=resolution, classes=folder.class_names, crop="center")


def select_paths(folder: ImageFolder, max_images: int | None, seed: int = 0) -> np.ndarray:
    """Indices of the real images used: all, or a fixed random subset of ``max_images``."""
    count = len(folder.paths)
    if max_images is None or max_images >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, max_images, replace=False))


def real_features(
    data_dir: str | Path,
    extractor,
    resolution: int | None = None,
    max_images: int | None = None,
    use_cache: bool = True,
    chunk: int = 500,
    progress: bool = False,
) -> RealFeatures:
    """Features of the real images of ``data_dir`` at ``resolution`` (cached)."""
    folder = scan_folder(data_dir)
    resolution = int(resolution or folder_resolution(folder))
    chosen = select_paths(folder, max_images)
    paths = [folder.paths[i] for i in chosen]
    key = _cache_key(folder, paths, getattr(extractor, "cache_identity", extractor.label), resolution)
    cache_file = cache_root() / f"{folder.root.name or 'data'}-{extractor.label}-{resolution}px-{key}.npz"
    if use_cache and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                return RealFeatures(
                    features=data["features"], labels=data["labels"], paths=[str(p) for p in data["paths"]],
                    class_names=[str(c) for c in data["class_names"]], root=folder.root, resolution=resolution,
                    extractor=extractor.label, skipped=int(data["skipped"]), cache_file=cache_file, from_cache=True,
                )
        except (OSError, KeyError, ValueError):
            pass  # unreadable cache: recompute and overwrite
    features, kept_paths, labels, skipped = [], [], [], 0
    iterator = range(0, len(paths), chunk)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"real features ({extractor.label})", unit="chunk")
    for start in iterator:
        block = paths[start:start + chunk]
        images, kept = load_images(block, resolution)
        skipped += len(block) - len(kept)
        if len(kept):
            features.append(extractor(images).astype(np.float32))
            kept_paths.extend(block[i] for i in kept)
            labels.extend(int(folder.labels[chosen[start + i]]) for i in kept)
    if not kept_paths:
        raise DataError(f"{folder.root}: none of the {len(paths)} images could be decoded")
    result = RealFeatures(
        features=np.concatenate(features),
        labels=np.asarray(labels, np.int32),
        paths=[p.relative_to(folder.root).as_posix() for p in kept_paths],
        class_names=folder.class_names,
        root=folder.root,
        resolution=resolution,
        extractor=extractor.label,
        skipped=skipped,
        cache_file=cache_file if use_cache else None,
    )
    if use_cache:
        try:
            save_npz_atomic(
                cache_file, features=result.features, labels=result.labels,
                paths=np.asarray(result.paths, dtype=str), class_names=np.asarray(result.class_names, dtype=str),
                skipped=np.asarray(skipped),
            )
        except OSError:
            result.cache_file = None  # read-only home: evaluation still works, just uncached
    return result
