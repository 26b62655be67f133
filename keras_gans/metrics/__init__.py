"""Evaluation metrics: FID, KID, precision/recall, diversity, class consistency, memorization.

Heavy modules (TensorFlow models) load lazily; the pure-numpy metrics import at once.
"""
from .fid import feature_statistics, fid_from_features, frechet_distance
from .kid import kernel_distance
from .precision_recall import precision_recall

__all__ = [
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "kernel_distance",
    "precision_recall",
    "get_extractor",
    "evaluate",
    "METRICS",
]


def __getattr__(name):
    if name == "get_extractor":
        from .extractors import get_extractor

        return get_extractor
    if name in ("evaluate", "METRICS"):
        from . import evaluation

        return getattr(evaluation, name)
    raise AttributeError(name)
