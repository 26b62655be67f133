"""Fréchet distance between Gaussians fitted to features (Heusel et al. 2017, "GANs trained by a
two time-scale update rule converge to a local Nash equilibrium").

FID = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

The trace of the matrix square root is computed as the sum of the square roots of the
eigenvalues of the symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which has the same spectrum as
S1 S2; this is exact, real-valued and faster than ``scipy.linalg.sqrtm`` (the tests check the
two agree).
"""
from __future__ import annotations

import numpy as np


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N-1) covariance of (N, D) features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D), got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((sigma1 sigma2)^(1/2)) for symmetric PSD matrices."""
    root = _psd_sqrt(sigma1)
    middle = root @ sigma2 @ root
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("the two distributions have different feature dimensions")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return float(max(value, 0.0))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
