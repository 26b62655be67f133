"""Augmentation leak check of several trained runs side by side (keras_gans.metrics.leak).

One set of cross-fitted transform classifiers is trained on the real images, and every run's
samples are judged by the same classifiers, so the runs differ only in what they painted:

    python benchmarks/leak_check.py --data ../shared/data/bob-ross-128 \\
        --run none=runs/quality/bobross/none --run ada=runs/quality/bobross/ada --num 500

Each run's EMA generator (its generator.keras, or its latest checkpoint) paints ``--num`` images
(seeds 0..N-1, truncation psi 1). Prints one table: for each run, how often its images are
labelled "identity" and how often they look untransformed against their own rotations and
hue rotations, beside the same figures for held-out real images, and a second table of the labels
given (identity, each rotation, hue), which says what a leak paints; writes every figure to --out.

``--real-under TRANSFORMS`` (repeatable; ADA transform names, comma-separated) judges the real
images themselves under those transforms, each applied at p = 1, beside the same images
untransformed: it says which of ADA's transforms the classifiers read as a rotation or a hue
shift, so a leak in a run's labels can be traced to the transform behind it. These images are
the classifiers' own training images (for all but one fold), so compare each row with the
untransformed row, not with the held-out reals:

    python benchmarks/leak_check.py --data ../shared/data/bob-ross-128 --real-under lumaflip \
        --real-under hue --real-under saturation --hue-max 0.25
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_gans  # noqa: E402,F401  (first: it chooses TensorFlow's CPU kernels before TensorFlow starts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the real image folder the runs trained on")
    parser.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_FOLDER", help="repeatable")
    parser.add_argument("--real-under", action="append", default=[], metavar="TRANSFORMS",
                        help="also judge the real images under these ADA transforms (comma-separated, p = 1); repeatable")
    parser.add_argument("--hue-max", type=float, default=1.0, help="--real-under's hue range in half-turns (ada_hue_max)")
    parser.add_argument("--num", type=int, default=500, help="generated images per run")
    parser.add_argument("--num-real", type=int, default=800, help="at most this many real images")
    parser.add_argument("--classifier", default="cnn", help="cnn (default) or thumbnail")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/leak_check.json")
    args = parser.parse_args(argv)
    if not args.run and not args.real_under:
        parser.error("give --run LABEL=RUN_FOLDER (a trained run) or --real-under TRANSFORMS, or both")
    if not 0.0 <= args.hue_max <= 1.0:
        parser.error(f"--hue-max {args.hue_max}: give half-turns from 0 to 1")
    from keras_gans.config import ADA_PIPELINES

    probes = {}
    for item in args.real_under:
        names = tuple(name.strip() for name in item.split(",") if name.strip())
        unknown = [name for name in names if name not in ADA_PIPELINES["bgc"]]
        if not names or unknown:
            parser.error(f"--real-under {item!r}: name ADA transforms from {', '.join(ADA_PIPELINES['bgc'])}")
        probes["reals under " + "+".join(names)] = names
    runs = {}
    for item in args.run:
        label, _, folder = item.partition("=")
        if not label or not folder:
            parser.error(f"--run {item!r}: expected LABEL=RUN_FOLDER")
        if not Path(folder).is_dir():
            parser.error(f"--run {item!r}: {folder} is not a folder")
        runs[label] = folder

    import numpy as np

    from keras_gans.io import write_json_atomic
    from keras_gans.metrics.evaluation import real_class_counts, sample_generator
    from keras_gans.metrics.leak import CLASSIFIERS, augmentation_leak_of_runs
    from keras_gans.metrics.real_data import load_images, scan_folder
    from keras_gans.training.run import load_generator

    if args.classifier not in CLASSIFIERS:
        parser.error(f"--classifier {args.classifier!r}: choose from {', '.join(CLASSIFIERS)}")
    real_folder = scan_folder(args.data)
    fakes = {}
    for label, folder in runs.items():
        generator, class_names = load_generator(run=folder)
        fakes[label], _ = sample_generator(generator, args.num, class_names, seed=args.seed,
                                           class_counts=real_class_counts(real_folder, class_names))
        print(f"{label}: {len(fakes[label])} images from {folder}", flush=True)
    resolution = next(iter(fakes.values())).shape[1] if fakes else None  # None: the real images' own size
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(real_folder.paths), min(args.num_real, len(real_folder.paths)), replace=False))
    reals, _ = load_images([real_folder.paths[i] for i in chosen], resolution)
    if probes:
        import keras

        from keras_gans.augment import ada_augment
        from keras_gans.generation import from_uint8, to_uint8

        fakes["reals untransformed"] = reals
        scaled = from_uint8(reals)
        for label, names in probes.items():
            fakes[label] = to_uint8(ada_augment(scaled, 1.0, keras.random.SeedGenerator(args.seed), names, args.hue_max))
    reports = augmentation_leak_of_runs(reals, fakes, args.classifier, folds=args.folds, max_generated=args.num, seed=args.seed)
    first = next(iter(reports.values()))
    print(f"classifier: {first['classifier']}, {first['folds']} folds over {first['real_count']} real images")
    print("held-out accuracy per transform: " + ", ".join(f"{k} {v:.2f}" for k, v in first["held_out_accuracy_per_transform"].items()))
    print("| run | labelled identity | held-out reals | looks untransformed | held-out reals |")
    print("|---|---|---|---|---|")
    for label, report in reports.items():
        identity = report["identity_label_rate"]
        print(f"| {label} | {100 * identity['generated']:.1f}% | {100 * identity['real_held_out']:.1f}% "
              f"| {100 * report['generated']:.1f}% | {100 * report['real_held_out']:.1f}% |")
    # Which label the images get: a leak raises one transform's share above the reals'.
    transforms = list(first["label_shares"]["real_held_out"])
    print("| labels given | " + " | ".join(transforms) + " |")
    print("|---|" + "---|" * len(transforms))
    rows = [(label, report["label_shares"]["generated"]) for label, report in reports.items()]
    for label, shares in rows + [("held-out reals", first["label_shares"]["real_held_out"])]:
        print(f"| {label} | " + " | ".join(f"{100 * shares[name]:.1f}%" for name in transforms) + " |")
    write_json_atomic(args.out, {"data": args.data, "runs": runs, "real_under": probes, "hue_max": args.hue_max,
                                 "num": args.num, "reports": reports})
    print(f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
