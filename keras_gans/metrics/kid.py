"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs").

The unbiased estimate of the squared MMD with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over ``num_subsets`` random subsets of ``subset_size``
samples drawn without replacement from each set (the standard scheme: 100 subsets of 1000,
as in the authors' code, StyleGAN2-ADA and clean-fid; smaller sets use all their samples).
The unbiased estimate can be slightly negative when the distributions match.
"""
from __future__ import annotations

import numpy as np


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased squared MMD between samples x (m, d) and y (n, d) with the polynomial kernel."""
    d = x.shape[1]
    m, n = len(x), len(y)
    kxx = (x @ x.T / d + coef0) ** degree
    kyy = (y @ y.T / d + coef0) ** degree
    kxy = (x @ y.T / d + coef0) ** degree
    term_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    term_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2 * kxy.mean())


def kernel_distance(
    features1: np.ndarray,
    features2: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID as (mean, standard deviation) over subsets."""
    features1 = np.asarray(features1, np.float64)
    features2 = np.asarray(features2, np.float64)
    size = min(subset_size, len(features1), len(features2))
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2_unbiased(
            features1[rng.choice(len(features1), size, replace=False)],
            features2[rng.choice(len(features2), size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
