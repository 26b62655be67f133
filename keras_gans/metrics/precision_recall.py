"""Improved precision and recall (Kynkaanniemi et al. 2019, "Improved precision and recall
metric for assessing generative models").

Each set of features approximates its manifold by the union of balls centred on its samples,
each with the radius to its k-th nearest neighbour in the same set (k=3 by default, as in the
paper). Precision: the fraction of generated samples inside the real manifold (fidelity).
Recall: the fraction of real samples inside the generated manifold (coverage).
"""
from __future__ import annotations

import numpy as np


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)), float64."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def knn_radii(features: np.ndarray, k: int = 3, batch_size: int = 1000) -> np.ndarray:
    """Distance from each sample to its k-th nearest other sample."""
    if len(features) <= k:
        raise ValueError(f"need more than k={k} samples to estimate a manifold, got {len(features)}")
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        distances = pairwise_distances(features[start:start + batch_size], features)
        # column k of the sorted row: column 0 is the sample itself (distance 0)
        radii[start:start + batch_size] = np.partition(distances, k, axis=1)[:, k]
    return radii


def manifold_coverage(manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of ``probes`` inside at least one ball of the manifold."""
    inside = np.zeros(len(probes), dtype=bool)
    for start in range(0, len(probes), batch_size):
        distances = pairwise_distances(probes[start:start + batch_size], manifold)
        inside[start:start + batch_size] = (distances <= radii[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(real_features: np.ndarray, fake_features: np.ndarray, k: int = 3) -> tuple[float, float]:
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    precision = manifold_coverage(real, knn_radii(real, k), fake)
    recall = manifold_coverage(fake, knn_radii(fake, k), real)
    return precision, recall
