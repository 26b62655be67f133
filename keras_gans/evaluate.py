"""Evaluate a trained generator (or a folder of images) against a real dataset.

    python -m keras_gans.evaluate --run runs/NAME --data DIR --metrics fid,kid,pr,diversity --num 5000
    python -m keras_gans.evaluate --fake samples/ --data DIR --metrics fid,kid --out metrics.json

Prints a table (or one JSON object with --json) and writes metrics.json in the run folder (with
--fake, to --out if given). Every feature-space figure names its extractor, e.g. FID(effnet-lite0).
See docs/evaluation.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from keras_gans.data.builtin import builtin_folder, builtin_set_name
from keras_gans.data.folders import DatasetError
from keras_gans.generation import GenerationError
from keras_gans.metrics.effnet_lite import WeightsUnavailable
from keras_gans.metrics.evaluation import (
    evaluate,
    format_table,
    METRIC_HELP,
    MetricError,
    METRICS,
    parse_metrics,
    real_class_counts,
    sample_generator,
    write_json_atomic,
)
from keras_gans.metrics.extractors import DEFAULT_EXTRACTOR, EXTRACTORS, get_extractor
from keras_gans.metrics.real_data import DataError, load_images, real_features, scan_folder
from keras_gans.training.run import load_generator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m keras_gans.evaluate",
        description=__doc__.split("\n\n")[0],
        epilog="metrics: " + "; ".join(f"{name}: {METRIC_HELP[name]}" for name in METRICS),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder holding generator.keras (and classes.json)")
    source.add_argument("--generator", help="a generator .keras file (instead of --run)")
    source.add_argument("--fake", help="a folder of generated images (instead of --run)")
    parser.add_argument("--data", required=True, help="folder of real images (class sub-folders for conditional models), or builtin:NAME")
    parser.add_argument("--metrics", default="fid,kid", help=f"comma-separated, from {','.join(METRICS)} (default fid,kid)")
    parser.add_argument("--num", type=int, default=5000, help="generated images to evaluate (default 5000)")
    parser.add_argument("--num-real", type=int, default=None, help="real images to use (default: all)")
    parser.add_argument("--extractor", choices=EXTRACTORS, default=DEFAULT_EXTRACTOR,
                        help=f"feature extractor (default {DEFAULT_EXTRACTOR}, works offline)")
    parser.add_argument(
        "--inception-weights",
        help="for --extractor inception: the standard FID Inception weights (pytorch-fid's "
        "pt_inception-2015-12-05-6726825d.pth, or 'pytorch-fid' to download it once), or a Keras "
        "InceptionV3 (no top) .h5 weights file; without it, Keras's ImageNet weights",
    )
    parser.add_argument("--truncation-psi", type=float, default=1.0, help="truncation for sampling (default 1.0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32, help="generator batch size")
    parser.add_argument("--no-cache", action="store_true", help="recompute the real features instead of using the cache")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--out", help="where to write metrics.json (default: the run folder; nothing with --fake)")
    return parser


class UsageError(Exception):
    pass


def _load_generator(run: str | None, generator_path: str | None):
    if run is not None and not Path(run).is_dir():
        raise UsageError(f"--run {run}: no such folder")
    if run is None and not Path(generator_path).is_file():
        raise UsageError(f"--generator {generator_path}: no such file")
    try:
        return load_generator(run=run, generator_path=generator_path)
    except GenerationError as error:
        raise UsageError(f"--run/--generator: {error}") from None
    except Exception as error:  # noqa: BLE001 - one line, not a traceback
        raise UsageError(f"cannot load the generator: {type(error).__name__}: {error}") from None


def run_evaluation(args) -> dict:
    import numpy as np


    metrics = parse_metrics(args.metrics)
    if args.num < 2:
        raise UsageError("--num must be at least 2")
    # Fail fast on a wrong path or set name, before loading models.
    builtin = builtin_set_name(args.data)
    real_folder = None if builtin else scan_folder(args.data)
    extractor = get_extractor(args.extractor, args.inception_weights)  # and on missing weights, before sampling
    out_dir = None

    def load_real(resolution: int, channels: int):
        real_root = builtin_folder(builtin, resolution, channels) if builtin else real_folder.root
        return real_features(real_root, extractor, resolution=resolution, max_images=args.num_real,
                             use_cache=not args.no_cache, progress=not args.json)

    if args.fake:
        fake_folder = scan_folder(args.fake)
        chosen = np.sort(np.random.default_rng(args.seed).choice(
            len(fake_folder.paths), min(args.num, len(fake_folder.paths)), replace=False))
        fake_images, kept = load_images([fake_folder.paths[i] for i in chosen], None)
        fake_labels = fake_folder.labels[chosen[kept]] if fake_folder.class_names else None
        fake_classes = fake_folder.class_names
        if args.out:
            out_dir = Path(args.out).parent
        if len(fake_images) < 2:
            raise UsageError("fewer than 2 generated images could be read")
        real = load_real(fake_images.shape[1], fake_images.shape[-1])
    else:
        generator, fake_classes = _load_generator(args.run, args.generator)
        # The real set first: a conditional model's samples follow its class frequencies.
        _, height, _, channels = generator.outputs[0].shape
        real = load_real(int(height), int(channels))
        fake_images, fake_labels = sample_generator(
            generator, args.num, fake_classes, seed=args.seed, truncation_psi=args.truncation_psi,
            batch_size=args.batch_size, class_counts=real_class_counts(real, fake_classes),
        )
        out_dir = Path(args.out).parent if args.out else Path(args.run or Path(args.generator).parent)
    result = evaluate(metrics, real, fake_images, extractor, fake_labels=fake_labels, fake_class_names=fake_classes,
                      out_dir=out_dir, seed=args.seed)
    result["source"] = {"run": args.run, "generator": args.generator, "fake": args.fake,
                        "truncation_psi": args.truncation_psi, "seed": args.seed}
    return result


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        result = run_evaluation(args)
    except (UsageError, DataError, DatasetError, MetricError, WeightsUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    written = None
    target = Path(args.out) if args.out else (Path(args.run) / "metrics.json" if args.run else None)
    if target is not None:
        try:
            written = write_json_atomic(target, result)
        except OSError as error:
            print(f"error: cannot write {target}: {error.strerror or error}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
        if written:
            print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
