"""One entry point for every metric: :func:`evaluate` (used by the CLI, the training callback
and notebooks), plus sampling a generator for evaluation.

Figures computed in feature space are named by their extractor (``FID(effnet-lite0)``,
``KID(inception-keras)``, ``precision(effnet-lite0)``), pixel-space figures by what they
measure (``MS-SSIM(generated)`` next to ``MS-SSIM(real)``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import class_consistency as _classes
from . import diversity as _diversity
from . import leak as _leak
from . import memorization as _memorization
from .fid import feature_statistics, frechet_distance
from .kid import kernel_distance
from .precision_recall import precision_recall
from .real_data import RealFeatures, load_images
from keras_gans.io import write_json_atomic  # noqa: F401  (re-exported for evaluate and the callback)
from keras_gans.generation import generate_images as generate, to_uint8

METRICS = ("fid", "kid", "pr", "diversity", "classes", "nn", "leak")
METRIC_HELP = {
    "fid": "Fréchet distance of feature Gaussians (lower is better)",
    "kid": "unbiased kernel distance, mean and std over subsets (lower is better)",
    "pr": "improved precision (fidelity) and recall (coverage), k=3 (higher is better)",
    "diversity": "mean pairwise MS-SSIM, generated vs real (lower is more diverse)",
    "classes": "accuracy of a real-trained classifier on generated images per class",
    "nn": "nearest real image per generated image (memorization check)",
    "leak": "how often generated images look untransformed (not rotated, not hue-shifted) to a classifier trained on reals, beside held-out reals",
}


class MetricError(ValueError):
    """A metric request that cannot be satisfied (unknown name, unconditional model, …)."""


def parse_metrics(text) -> list[str]:
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise MetricError(f"unknown metric {', '.join(map(repr, unknown))}: choose from {','.join(METRICS)}")
    if not names:
        raise MetricError(f"no metric given: choose from {','.join(METRICS)}")
    return list(dict.fromkeys(names))


def primary_figure(metric: str, extractor_label: str) -> tuple[str, bool]:
    """(figure name, higher is better) that stands for ``metric`` when picking a best checkpoint."""
    return {
        "fid": (f"FID({extractor_label})", False),
        "kid": (f"KID({extractor_label})", False),
        "pr": (f"precision({extractor_label})", True),
        "diversity": ("MS-SSIM(generated)", False),
        "classes": ("class_accuracy(generated)", True),
        "nn": (f"NN_distance_median({extractor_label})", True),
        "leak": ("untransformed_rate(generated)", True),
    }[metric]


def real_class_counts(real: RealFeatures, class_names) -> np.ndarray | None:
    """How many real images each of the generator's classes (by name) has, or None when the real
    set has no labels or shares no class name with the generator. ``real`` may also be a scanned
    folder (anything with ``labels`` and ``class_names``)."""
    if not class_names or not real.class_names or (real.labels < 0).all():
        return None
    per_name = {name: int((real.labels == index).sum()) for index, name in enumerate(real.class_names)}
    counts = np.array([per_name.get(name, 0) for name in class_names], np.int64)
    return counts if counts.sum() > 0 else None


def split_over_classes(num: int, weights) -> np.ndarray:
    """``num`` split over classes in proportion to ``weights`` (largest remainders round)."""
    weights = np.asarray(weights, np.float64)
    exact = num * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: num - int(counts.sum())]] += 1
    return counts


def sample_generator(generator, num: int, class_names=None, seed: int = 0, truncation_psi: float = 1.0,
                     batch_size: int = 32, class_counts=None):
    """(uint8 images, labels or None).

    Conditional models: ``num`` split over the classes in proportion to ``class_counts`` (the real
    set's, from :func:`real_class_counts`) so that distribution metrics compare like with like, as
    StyleGAN2-ADA's metrics draw labels from the dataset; evenly when it is None.
    """

    conditional = bool(class_names) and len(generator.inputs) > 1
    if not conditional:
        images = generate(generator, num, seed=seed, truncation_psi=truncation_psi, batch_size=batch_size)
        return to_uint8(images), None
    if class_counts is None:
        class_counts = np.ones(len(class_names))
    if len(class_counts) != len(class_names):
        raise MetricError(f"class_counts has {len(class_counts)} entries for {len(class_names)} classes")
    per_class = split_over_classes(num, class_counts)
    images, labels = [], []
    offsets = np.concatenate([[0], np.cumsum(per_class)[:-1]])  # distinct latent seeds across classes
    for index, count in enumerate(per_class):
        if count == 0:
            continue
        block = generate(
            generator, int(count), seed=seed + int(offsets[index]), truncation_psi=truncation_psi,
            class_index=index, batch_size=batch_size,
        )
        images.append(to_uint8(block))
        labels.append(np.full(int(count), index, np.int32))
    return np.concatenate(images), np.concatenate(labels)


def _map_labels(fake_labels, fake_classes, real: RealFeatures):
    """Generated labels re-indexed to the real data's class order (by name); -1 if absent."""
    if fake_labels is None or not fake_classes:
        return None
    lookup = {name: i for i, name in enumerate(real.class_names)}
    table = np.array([lookup.get(name, -1) for name in fake_classes], np.int32)
    return table[np.asarray(fake_labels)]


def _real_image_sample(real: RealFeatures, resolution: int, count: int, labels=None, seed: int = 0):
    """Up to ``count`` real images (of each class when ``labels`` is requested)."""
    rng = np.random.default_rng(seed)
    if labels is None:
        chosen = np.sort(rng.choice(len(real.paths), min(count, len(real.paths)), replace=False))
    else:
        chosen = []
        for label in labels:
            members = np.flatnonzero(real.labels == label)
            chosen.extend(np.sort(rng.choice(members, min(count, len(members)), replace=False)))
        chosen = np.asarray(chosen, np.int64)
    images, kept = load_images(real.image_paths(chosen), resolution)
    return images, real.labels[chosen[kept]]


def evaluate(
    metrics,
    real: RealFeatures,
    fake_images: np.ndarray,
    extractor,
    fake_labels: np.ndarray | None = None,
    fake_class_names: list[str] | None = None,
    out_dir: str | Path | None = None,
    fake_features: np.ndarray | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    pr_k: int = 3,
    diversity_pairs: int = 1000,
    seed: int = 0,
) -> dict:
    """Compute ``metrics`` (names from :data:`METRICS`) for generated uint8 images vs ``real``."""
    metrics = parse_metrics(metrics)
    fake_images = to_uint8(fake_images)
    if len(fake_images) < 2:
        raise MetricError("need at least 2 generated images")
    resolution = int(fake_images.shape[1])
    label = extractor.label
    feature_metrics = {"fid", "kid", "pr", "classes", "nn"} & set(metrics)
    if feature_metrics and fake_features is None:
        fake_features = extractor(fake_images)
    mapped = _map_labels(fake_labels, fake_class_names, real)
    result = {
        "extractor": label,
        "extractor_description": getattr(extractor, "description", label),
        "metrics": metrics,
        "num_generated": int(len(fake_images)),
        "num_real": int(len(real.features)),
        "resolution": resolution,
        "real_data": str(real.root),
        "real_skipped": int(real.skipped),
        "figures": {},
        "details": {},
        "warnings": [],
    }
    figures, details = result["figures"], result["details"]
    real_feats = np.asarray(real.features, np.float64)
    if real.resolution != resolution:
        result["warnings"].append(
            f"real features were computed at {real.resolution} px but generated images are {resolution} px"
        )
    if "fid" in metrics:
        if real.statistics is None:
            real.statistics = feature_statistics(real_feats)
        figures[f"FID({label})"] = frechet_distance(*feature_statistics(fake_features), *real.statistics)
    if "kid" in metrics:
        mean, std = kernel_distance(fake_features, real_feats, kid_subsets, kid_subset_size, seed)
        figures[f"KID({label})"] = mean
        figures[f"KID_std({label})"] = std
        details["kid"] = {"subsets": kid_subsets, "subset_size": min(kid_subset_size, len(fake_features), len(real_feats)),
                          "kernel": "(x.y/d + 1)^3", "estimator": "unbiased"}
    if "pr" in metrics:
        precision, recall = precision_recall(real_feats, fake_features, k=pr_k)
        figures[f"precision({label})"] = precision
        figures[f"recall({label})"] = recall
        details["pr"] = {"k": pr_k}
    if "diversity" in metrics:
        conditional = mapped is not None
        classes = sorted(set(int(x) for x in mapped if x >= 0)) if conditional else None
        per_class_count = max(2, min(200, 2 * diversity_pairs // max(len(classes or [1]), 1)))
        real_images, real_labels = _real_image_sample(
            real, resolution, per_class_count if conditional else min(500, 2 * diversity_pairs), classes, seed
        )
        if real_images.shape[-1] != fake_images.shape[-1]:
            real_images = np.repeat(real_images.mean(-1, keepdims=True).astype(np.uint8), fake_images.shape[-1], -1) \
                if fake_images.shape[-1] == 1 else np.repeat(real_images, 3, -1)
        report = _diversity.diversity_report(
            fake_images, real_images, mapped if conditional else None, real_labels if conditional else None,
            real.class_names if conditional else None, diversity_pairs, seed,
        )
        figures["MS-SSIM(generated)"] = report["generated"]
        figures["MS-SSIM(real)"] = report["real"]
        result["warnings"].extend(report.pop("warnings"))
        details["diversity"] = report
    if "classes" in metrics:
        if mapped is None or not real.class_names:
            result["warnings"].append(
                "classes: skipped, it needs a conditional generator (or a --fake folder with class sub-folders) "
                "and real data with class sub-folders"
            )
        else:
            known = mapped >= 0
            if not known.all():
                missing = sorted({fake_class_names[i] for i in np.unique(np.asarray(fake_labels)[~known])})
                result["warnings"].append(f"classes: generated classes absent from the data: {missing}")
            report = _classes.class_consistency(
                real_feats, real.labels, fake_features[known], mapped[known], real.class_names, seed=seed
            )
            figures["class_accuracy(generated)"] = report["generated"]
            figures["class_accuracy(real held-out)"] = report["real_held_out"]
            details["classes"] = report
    if "nn" in metrics:
        report = _memorization.memorization_report(fake_features, real_feats)
        indices = report.pop("_indices")
        report.pop("_distances")
        for entry in report["closest"]:
            entry["real_path"] = real.paths[entry["real"]]
        figures[f"NN_distance_median({label})"] = report["nearest_distance_median"]
        figures[f"NN_distance_min({label})"] = report["nearest_distance_min"]
        figures[f"NN_distance_real_median({label})"] = report["real_to_real_median"]
        if out_dir is not None:
            closest = [e["generated"] for e in report["closest"]]
            real_images, kept = load_images(real.image_paths(indices[closest]), resolution)
            if len(kept) == len(closest):
                if real_images.shape[-1] != fake_images.shape[-1]:
                    real_images = real_images[..., :1] if fake_images.shape[-1] == 1 else np.repeat(real_images, 3, -1)
                sheet = _memorization.pair_sheet(fake_images[closest], real_images, Path(out_dir) / "nn_pairs.png")
                report["sheet"] = str(sheet)
        details["nn"] = report
    if "leak" in metrics:
        real_images, _ = _real_image_sample(real, resolution, 800, seed=seed)
        if real_images.shape[-1] != fake_images.shape[-1]:
            real_images = real_images[..., :1] if fake_images.shape[-1] == 1 else np.repeat(real_images, 3, -1)
        report = _leak.augmentation_leak(real_images, fake_images, seed=seed)
        figures["untransformed_rate(generated)"] = report["generated"]
        figures["untransformed_rate(real held-out)"] = report["real_held_out"]
        figures["identity_label_rate(generated)"] = report["identity_label_rate"]["generated"]
        figures["identity_label_rate(real held-out)"] = report["identity_label_rate"]["real_held_out"]
        details["leak"] = report
    return result


def format_table(result: dict) -> str:
    rows = [(name, f"{value:.6g}") for name, value in result["figures"].items()]
    width = max([len(n) for n, _ in rows] + [6])
    lines = [
        f"generated: {result['num_generated']} images at {result['resolution']} px; real: "
        f"{result['num_real']} images from {result['real_data']}; extractor: {result['extractor_description']}",
        f"{'metric'.ljust(width)}  value",
        f"{'-' * width}  ----------",
    ]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    diversity = result["details"].get("diversity")
    if diversity:
        config = diversity["config"]
        lines.append(
            f"MS-SSIM: {config['scales']} scales, {config['filter_size']}px Gaussian window "
            f"(sigma {config['filter_sigma']}), weights {config['power_factors']}"
        )
        for name, entry in diversity.get("per_class", {}).items():
            lines.append(f"  MS-SSIM[{name}]: generated {entry['generated']:.4f}" +
                         (f", real {entry['real']:.4f}" if "real" in entry else ""))
    classes = result["details"].get("classes")
    if classes:
        for name, entry in classes["per_class"].items():
            parts = [f"{k} {v:.3f}" for k, v in entry.items() if k != "generated_count"]
            lines.append(f"  class_accuracy[{name}]: " + ", ".join(parts))
    nn = result["details"].get("nn")
    if nn and nn.get("sheet"):
        lines.append(f"closest generated/real pairs: {nn['sheet']}")
    for message in result["warnings"]:
        lines.append(f"WARNING: {message}")
    return "\n".join(lines)


def warn_all(result: dict) -> None:
    for message in result["warnings"]:
        warnings.warn(message, stacklevel=2)
