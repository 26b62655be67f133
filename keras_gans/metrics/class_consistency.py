"""Class consistency of a conditional generator: a classifier trained on real features
(standardised features, multinomial logistic regression) is asked which class each generated
image belongs to. Its accuracy on generated images of each requested class is reported next to
its accuracy on held-out real images of that class, the ceiling a perfect generator would reach.
The AC-GAN article suspected one image per class; this is the check that would have said so.
"""
from __future__ import annotations

import numpy as np


def class_consistency(
    real_features: np.ndarray,
    real_labels: np.ndarray,
    fake_features: np.ndarray,
    fake_labels: np.ndarray,
    class_names: list[str],
    held_out: float = 0.25,
    seed: int = 0,
) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    real_labels = np.asarray(real_labels)
    fake_labels = np.asarray(fake_labels)
    present = np.unique(real_labels)
    if len(present) < 2:
        raise ValueError("class consistency needs real images of at least 2 classes")
    counts = np.bincount(real_labels, minlength=len(class_names))
    stratify = real_labels if counts[present].min() >= 2 else None
    train_x, test_x, train_y, test_y = train_test_split(
        real_features, real_labels, test_size=held_out, random_state=seed, stratify=stratify
    )
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    classifier.fit(train_x, train_y)
    real_pred = classifier.predict(test_x)
    fake_pred = classifier.predict(fake_features)
    per_class = {}
    for index, name in enumerate(class_names):
        entry = {}
        real_mask, fake_mask = test_y == index, fake_labels == index
        if real_mask.any():
            entry["real_held_out"] = float((real_pred[real_mask] == index).mean())
        if fake_mask.any():
            entry["generated"] = float((fake_pred[fake_mask] == index).mean())
            entry["generated_count"] = int(fake_mask.sum())
        if entry:
            per_class[name] = entry
    return {
        "generated": float((fake_pred == fake_labels).mean()),
        "real_held_out": float((real_pred == test_y).mean()),
        "classifier": "standardised features + logistic regression (C=0.1)",
        "per_class": per_class,
    }
