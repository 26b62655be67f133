"""Memorization check: for each generated image, its nearest real training image in feature
space (Euclidean distance) and that distance. Real-to-real nearest-neighbour distances are
given as the yardstick (a generated image much closer to a training image than real images are
to each other looks like a copy), and a sheet of the closest pairs is written for a human to
look at (the PGGAN article worried about copies of training images).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .precision_recall import pairwise_distances
from keras_gans.io import save_png_atomic


def nearest_neighbours(queries: np.ndarray, references: np.ndarray, batch_size: int = 1000, exclude_self: bool = False):
    """(indices, distances) of each query's nearest reference."""
    indices = np.empty(len(queries), dtype=np.int64)
    distances = np.empty(len(queries))
    for start in range(0, len(queries), batch_size):
        block = pairwise_distances(queries[start:start + batch_size], references)
        if exclude_self:
            rows = np.arange(block.shape[0])
            block[rows, rows + start] = np.inf
        indices[start:start + batch_size] = block.argmin(axis=1)
        distances[start:start + batch_size] = block.min(axis=1)
    return indices, distances


def memorization_report(fake_features: np.ndarray, real_features: np.ndarray, top: int = 16) -> dict:
    indices, distances = nearest_neighbours(np.asarray(fake_features, np.float64), np.asarray(real_features, np.float64))
    _, real_distances = nearest_neighbours(
        np.asarray(real_features, np.float64), np.asarray(real_features, np.float64), exclude_self=True
    )
    order = np.argsort(distances)[:top]
    return {
        "nearest_distance_min": float(distances.min()),
        "nearest_distance_median": float(np.median(distances)),
        "real_to_real_median": float(np.median(real_distances)),
        "real_to_real_p01": float(np.percentile(real_distances, 1)),
        "closer_than_real_p01": float((distances < np.percentile(real_distances, 1)).mean()),
        "closest": [
            {"generated": int(i), "real": int(indices[i]), "distance": float(distances[i])} for i in order
        ],
        "_indices": indices,
        "_distances": distances,
    }


def pair_sheet(fake_images: np.ndarray, real_images: np.ndarray, path: str | Path, columns: int = 4, gap: int = 4) -> Path:
    """A PNG of (generated | nearest real) pairs, ``columns`` pairs per row, written atomically."""
    from PIL import Image

    if len(fake_images) != len(real_images) or not len(fake_images):
        raise ValueError("need one real image per generated image")
    height, width = fake_images.shape[1:3]
    columns = min(columns, len(fake_images))
    rows = -(-len(fake_images) // columns)
    cell_w = 2 * width + gap
    sheet = np.full((rows * (height + gap) + gap, columns * (cell_w + 2 * gap) + gap, 3), 255, np.uint8)
    for n, (fake, real) in enumerate(zip(fake_images, real_images)):
        row, col = divmod(n, columns)
        top, left = gap + row * (height + gap), gap + col * (cell_w + 2 * gap)
        for offset, image in ((0, fake), (width + gap, real)):
            if image.shape[-1] == 1:
                image = np.repeat(image, 3, axis=-1)
            sheet[top:top + height, left + offset:left + offset + width] = image

    path = Path(path)
    save_png_atomic(Image.fromarray(sheet), path)
    return path
