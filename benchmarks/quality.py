"""Quality per unit of training: trains one or more GANs on the same images for the same budget in
kimg and, every ``--eval-every`` kimg, samples ``--num`` images from the EMA generator and
measures FID, KID and precision/recall (EfficientNet-Lite0, the project's evaluator) against the
real set, with a fixed-seed sample sheet. ``--article`` also trains the article's own Keras code
(../shared/anchors/stylegan-keras/article.py, in the venv its setup.sh makes) on the same images
for the same kimg in the same run; it writes samples only at the end, so it is one point.

    # the default preset against the kept baseline and the article, 40 kimg of anime faces
    python benchmarks/quality.py --data ../shared/data/anime-faces-64 --resolution 64 --kimg 40 \\
        --run default=preset:stylegan-cpu-64 --run baseline=config:benchmarks/baselines/default-e7662fa.json \\
        --article --out runs/quality/anime

    # one preset, model or config file (the run is named after it)
    python benchmarks/quality.py --preset stylegan-cpu-64 --kimg 10 --eval-every 5 --num 500

``--minutes M`` gives every run the same training wall-clock instead (evaluation excluded);
``--budget LABEL=30min`` or ``--budget LABEL=20kimg`` gives one run its own budget, so that one
invocation can hold runs compared by kimg and a run given their wall-clock.
A run is ``LABEL=preset:NAME``, ``LABEL=model:NAME`` or ``LABEL=config:FILE`` (a TOML/JSON table
of settings, or a run's config.json); ``--set LABEL.KEY=VALUE`` changes one setting of one run.
``--data`` is an image folder or ``builtin:NAME`` (default: the built-in set of
``python -m keras_gans.train``). Writes to ``--out``: ``quality.json`` (every figure, atomically),
``quality.png`` (KID and FID against kimg and against training minutes, evaluation time left
out), ``comparison.png`` (the last sheet of every run side by side) and each run's folder with
its sheets. Record the table, the plot and the command in docs/quality.md.

``--resume --out DIR --kimg N`` carries an invocation further: every run in DIR continues
from its checkpoint to N kimg with the settings it started with (read from DIR/quality.json,
which is written before the first run trains), and its earlier points are kept, so a longer
budget costs only the extra kimg. A run checkpoints every ``--checkpoint-every`` kimg (10) and
records its points and training time so far in its folder (quality-run.json), so a run the
invocation did not finish (stopped, or its machine gone) continues from its last checkpoint
with the points evaluated up to it; only one stopped before its first checkpoint trains again
from the start. An --out that already holds an invocation is refused without --resume. With
it, ``--budget LABEL=Nkimg`` holds one run back, or lets a run held back before catch up (at
the same ``--kimg``).

    python benchmarks/quality.py --resume --out runs/quality/anime --kimg 80

``--jobs N`` trains up to N runs at once, each in its own process (its output in
``--out``/LABEL.log), for a machine where one run leaves cores idle. A run comes out the same
either way (same seed, same code, same machine: a test checks it), so the figures compare as if
the runs had trained one after another. ``--resume`` may change it.

``--seeds 0,1,2,3`` trains every run once per seed, seed by seed (as ``LABEL@seedN``, each in
its own folder; ``--set LABEL.KEY`` and ``--budget LABEL=`` still name the run), and ends with
benchmarks/quality_seeds.py's table: each run's KID per seed, its mean with the standard error,
and with ``--baseline LABEL`` how much lower its mean is than that run's and on how many seeds.
One seed can move KID by 20% (docs/quality.md), more than many differences worth measuring.
Stopped, ``--resume`` keeps every seed that finished.

    python benchmarks/quality.py --data ../shared/data/bob-ross-128 --resolution 128 --kimg 40 --jobs 2 \\
        --seeds 0,1 --run ada=model:stylegan --run none=model:stylegan --set ada.augment=ada \\
        --baseline none --out runs/quality/seeds
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from article_anchor import ARTICLE_BATCH, ARTICLE_DIR, REPO_ROOT, article_python  # noqa: E402
# Diversity (MS-SSIM between generated pairs) beside KID and FID: at this level of quality
# EfficientNet-Lite0's KID ranks a clean collapsed sheet above a varied one with artefacts.
# "nn" is the memorization check: generated-to-training nearest-neighbour distances beside the
# training set's own leave-one-out distances (what a held-out real image scores).
METRICS = ("kid", "fid", "pr", "diversity", "nn")


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_argument_group("what to train (one of --run, --preset, --model, --config)")
    what.add_argument("--run", action="append", default=[], metavar="LABEL=KIND:VALUE",
                      help="a run: LABEL=preset:NAME, LABEL=model:NAME or LABEL=config:FILE (repeatable)")
    what.add_argument("--preset", help="one run of this preset")
    what.add_argument("--model", help="one run of this model's default preset")
    what.add_argument("--config", metavar="FILE", help="one run of this config file (TOML/JSON, or a run's config.json)")
    what.add_argument("--set", action="append", default=[], metavar="[LABEL.]KEY=VALUE",
                      help="change one setting of one run (or of every run without LABEL.)")
    what.add_argument("--article", action="store_true", help="also train the article's own code on the same images")
    what.add_argument("--article-python", help="python of the article's venv (default: what its setup.sh prints)")
    parser.add_argument("--data", default=None, help="image folder or builtin:NAME (default: the train command's built-in set)")
    parser.add_argument("--resolution", type=int, help="image size (default: each run's own)")
    parser.add_argument("--batch", type=int, help="batch size for every run (default: each run's own)")
    parser.add_argument("--kimg", type=float, help="training budget in thousands of real images shown (default 40)")
    parser.add_argument("--minutes", type=float,
                        help="a wall-clock budget instead (training minutes, evaluation excluded; --kimg stays the cap)")
    parser.add_argument("--budget", action="append", default=[], metavar="LABEL=Nmin|Nkimg",
                        help="one run's own budget: training minutes (at most --kimg) or kimg (repeatable)")
    parser.add_argument("--eval-every", type=float, default=10.0, metavar="KIMG", help="evaluation interval")
    parser.add_argument("--checkpoint-every", type=float, default=10.0, metavar="KIMG",
                        help="checkpoint interval: how much of a run a stop can cost (--resume continues from there)")
    parser.add_argument("--num", type=int, default=2000, help="generated images per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", metavar="S1,S2,...",
                        help="train every run once per seed (labels LABEL@seedN) and report means over the seeds")
    parser.add_argument("--baseline", metavar="LABEL",
                        help="with --seeds: the run whose mean KID the others are measured against (e.g. none)")
    parser.add_argument("--leak", action="store_true",
                        help="also run the augmentation leak check (keras_gans.metrics.leak) at every evaluation")
    parser.add_argument("--out", default="runs/quality", help="output folder (each run in its own sub-folder)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="train up to this many runs at once, each in its own process (default 1: one after another)")
    # What --jobs starts: a process that trains and evaluates one run and writes its record to a file.
    parser.add_argument("--job", metavar="LABEL", help=argparse.SUPPRESS)
    parser.add_argument("--job-result", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--job-resume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--resume", action="store_true",
                        help="continue the runs of --out (its quality.json) to a larger --kimg with their own "
                        "settings, keeping their earlier points; only --kimg, --eval-every, --checkpoint-every, "
                        "--data, --jobs and --budget LABEL=Nkimg (to hold a run back) may be given")
    return parser


def metrics_of(args) -> tuple[str, ...]:
    return METRICS + (("leak",) if getattr(args, "leak", False) else ())


# --- Resuming an invocation ----------------------------------------------------------------------

# What --resume may change: the budget, how often it is evaluated, and where the images now are.
RESUME_OPTIONS = {"kimg": "--kimg", "eval_every": "--eval-every", "checkpoint_every": "--checkpoint-every",
                  "data": "--data", "jobs": "--jobs"}


def with_option(argv: list[str], flag: str, value) -> list[str]:
    """argv with every ``flag VALUE`` and ``flag=VALUE`` replaced by one ``flag value`` at the end."""
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == flag:
            skip = True
        elif not item.startswith(flag + "="):
            kept.append(item)
    return kept + [flag, str(value)]


def resumed_args(args, given: list[str]):
    """(the arguments of the invocation in --out with --resume's changes, its results).

    The runs, their settings, the seed and the metrics come from that invocation's quality.json,
    so that the extra kimg train and are judged exactly as the first ones were."""
    path = Path(args.out) / "quality.json"
    if not path.is_file():
        raise SystemExit(f"--resume: {path} does not exist; --out must name the folder of an "
                         "invocation of benchmarks/quality.py")
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        argv = previous.get("argv") or shlex.split(previous["command"])[2:]  # after "python benchmarks/quality.py"
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"--resume: cannot read the invocation from {path}: {error}") from None
    defaults = vars(build_parser().parse_args([]))
    others = sorted(f"--{key.replace('_', '-')}" for key, value in vars(args).items()
                    if key not in (*RESUME_OPTIONS, "budget", "out", "resume") and value != defaults[key])
    if others:
        raise SystemExit(f"--resume continues the runs of {path} with the settings they started with; "
                         f"only {', '.join(RESUME_OPTIONS.values())} and kimg budgets (--budget LABEL=Nkimg) "
                         f"may change (got {', '.join(others)})")
    if args.kimg is None:
        raise SystemExit(f"--resume needs --kimg: how far to carry the runs (they reached {previous.get('kimg')} kimg)")
    for key, flag in RESUME_OPTIONS.items():
        if getattr(args, key) != defaults[key]:
            argv = with_option(argv, flag, getattr(args, key))
    for entry in args.budget:  # after the first invocation's, so that they win
        argv += ["--budget", entry]
    argv = with_option(argv, "--out", args.out)
    resumed = build_parser().parse_args(argv)
    if resumed.article:
        raise SystemExit("--resume: this invocation trained the article's code, which writes its samples only at the "
                         "end and cannot be continued; rerun it with --article at the new --kimg")
    if resumed.minutes is not None or any(entry.strip().lower().endswith("min") for entry in resumed.budget):
        raise SystemExit("--resume: runs with a --minutes budget cannot be carried to a larger --kimg; "
                         "rerun the invocation with the new budget")
    if resumed.kimg < float(previous.get("kimg", 0)):
        raise SystemExit(f"--resume: --kimg {resumed.kimg:g} is below the {previous.get('kimg'):g} kimg "
                         "this invocation already trained")
    resumed.resume = True
    resumed.argv = argv
    return resumed, previous


def last_kimg(run: dict | None) -> float:
    return run["points"][-1]["kimg"] if run and run.get("points") else 0.0


# A run's record so far, in its folder: rewritten (atomically) after each of its checkpoints and evaluations.
RUN_RECORD = "quality-run.json"


def continued_record(out: Path, label: str, finished: dict | None) -> dict | None:
    """The record a run continues from, or None when it trains from the start.

    That is its finished record (quality.json), or, when the run trained further before it was
    stopped, its own record (``RUN_RECORD``), cut to the points its latest checkpoint holds.
    The record's ``clock`` is the training time at its last periodic checkpoint, from which the
    continued run's minutes go on (``resume_seconds``). A checkpoint no clock or point has timed
    (the one a stop saves) leaves training time uncounted; ``unclocked_kimg`` says how much, since
    train minutes then fall short."""
    from keras_gans.training.checkpoints import latest_checkpoint

    checkpoint = latest_checkpoint(out / label / "checkpoints")
    if checkpoint is None:
        return finished  # a finished run without one is refused by check_resumable if it must train
    try:
        reached = json.loads((checkpoint / "meta.json").read_text(encoding="utf-8"))["images_seen"] / 1000
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"--resume: cannot read {checkpoint / 'meta.json'}: {error}") from None
    record = finished
    try:
        saved = json.loads((out / label / RUN_RECORD).read_text(encoding="utf-8"))
        saved_kimg = [point["kimg"] for point in saved["points"]]
    except FileNotFoundError:
        saved = None
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"--resume: {out / label / RUN_RECORD} is unreadable ({error}); {label!r} keeps only the points "
              "of quality.json")
        saved = None
    if saved is not None:
        known = [point["kimg"] for point in (finished or {}).get("points", [])]
        if saved_kimg[: len(known)] == known and (len(saved_kimg) > len(known) or saved.get("clock", {}).get(
                "kimg", 0.0) > last_kimg(finished)):
            record = saved
    record = record or {"points": [], "total_seconds": 0.0}
    points = [point for point in record["points"] if point["kimg"] <= reached + 1e-9]
    if finished and len(points) < len(finished["points"]):
        raise SystemExit(f"--resume: the latest checkpoint of {label!r} ({checkpoint}, {reached:g} kimg) is older than "
                         f"its last evaluation in quality.json ({last_kimg(finished):g} kimg)")
    # The latest training time known at or before the checkpoint: a point's, or the clock's.
    timed = [(point["kimg"], point["train_seconds"]) for point in points] + [(0.0, 0.0)]
    clock = record.get("clock")
    if clock and clock["kimg"] <= reached + 1e-9:
        timed.append((clock["kimg"], clock["train_seconds"]))
    timed_kimg, seconds = max(timed)
    unclocked = record.get("unclocked_kimg", 0.0) + max(0.0, reached - timed_kimg)
    kept = {key: value for key, value in record.items() if key != "clock"}
    return {**kept, "points": points, "unclocked_kimg": round(unclocked, 6), "resume_seconds": seconds,
            "continued_at_kimg": record.get("continued_at_kimg", []) + [reached]}


def check_resumable(previous: dict, configs: dict, budgets: dict, out: Path) -> dict:
    """Some run must have kimg left to train. Every run must still resolve to the settings it
    started with (a preset changed since would make the extra kimg a different recipe), and a
    finished run must have its checkpoint if it trains further. Returns, for each run that trains
    further, the record it continues from (continued_record)."""
    from keras_gans.config import config_differences, config_from_dict
    from keras_gans.training.checkpoints import latest_checkpoint

    further = {label: label not in previous["runs"] or last_kimg(previous["runs"][label]) < budgets[label][0]
               for label in configs}
    if not any(further.values()):
        reached = ", ".join(f"{label} {last_kimg(previous['runs'][label]):g}" for label in configs)
        raise SystemExit(f"--resume: every run has reached its budget (kimg: {reached}); raise --kimg, or a held-back "
                         "run's --budget LABEL=Nkimg, to carry them further")
    continued = {}
    for label, config in configs.items():
        finished = previous["runs"].get(label)
        if further[label]:
            if finished is not None and latest_checkpoint(out / label / "checkpoints") is None:
                raise SystemExit(f"--resume: {out / label / 'checkpoints'} holds no checkpoint to continue {label!r} from")
            continued[label] = continued_record(out, label, finished)
        if finished is None:
            record = continued[label]
            if record is None:
                print(f"--resume: {label!r} did not finish in the first invocation; it trains again from the start")
            else:
                evaluated = ", ".join(f"{point['kimg']:g}" for point in record["points"]) or "none yet"
                print(f"--resume: {label!r} did not finish in the first invocation; it continues from its checkpoint "
                      f"at {record['continued_at_kimg'][-1]:g} kimg (points kept at kimg: {evaluated})")
        if label not in previous.get("configs", {}):
            continue
        saved = dict(previous["configs"][label])
        differences = config_differences(config_from_dict(saved.pop("model"), saved), config)
        if differences:
            raise SystemExit(f"--resume: run {label!r} resolves to other settings than it trained with (a preset or "
                             "default changed since):\n  " + "\n  ".join(differences)
                             + "\nStart a new invocation to compare the new settings.")
    return continued


def resumed_seconds(earlier: dict) -> float:
    """The training time a continued run's clock starts from: at the checkpoint it continued from,
    where continued_record knew it, else at its last point."""
    return earlier.get("resume_seconds", earlier["points"][-1]["train_seconds"] if earlier.get("points") else 0.0)


def joined_run(earlier: dict, later: dict) -> dict:
    """One run's record across a resume: the new points' training minutes continue the old ones."""
    offset = resumed_seconds(earlier)
    continued = {key: earlier[key] for key in ("unclocked_kimg", "continued_at_kimg") if key in earlier}
    return {**later, **continued,
            "points": earlier.get("points", []) + [{**point, "train_seconds": point["train_seconds"] + offset}
                                                   for point in later["points"]],
            "total_seconds": earlier.get("total_seconds", 0.0) + later["total_seconds"]}


# --- Which runs -----------------------------------------------------------------------------------

def run_specs(args) -> list[tuple[str, str, str]]:
    """[(label, kind, value)] from --run, or the one run --preset/--model/--config names."""
    specs = []
    for entry in args.run:
        label, sep, spec = entry.partition("=")
        kind, colon, value = spec.partition(":")
        if not sep or not colon or kind not in ("preset", "model", "config") or not label.strip() or not value:
            raise SystemExit(f"--run {entry!r}: expected LABEL=preset:NAME, LABEL=model:NAME or LABEL=config:FILE")
        specs.append((label.strip(), kind, value.strip()))
    single = [(kind, value) for kind, value in (("preset", args.preset), ("model", args.model), ("config", args.config)) if value]
    if len(single) > 1:
        raise SystemExit("give one of --preset, --model and --config (or several --run LABEL=...)")
    if single:
        kind, value = single[0]
        specs.append((Path(value).stem if kind == "config" else value, kind, value))
    if not specs and not args.article:
        raise SystemExit("nothing to train: give --run, --preset, --model, --config or --article")
    labels = [label for label, _, _ in specs] + (["article"] if args.article else [])
    if len(set(labels)) != len(labels):
        raise SystemExit(f"each run needs its own label, got {labels}")
    return specs


# A run trained once per seed is labelled LABEL@seedN (its folder too).
SEED_MARK = "@seed"


def seed_list(args) -> list[int] | None:
    """The seeds of --seeds, checked; None without it."""
    if args.seeds is None:
        return None
    try:
        seeds = [int(entry) for entry in args.seeds.split(",") if entry.strip()]
    except ValueError:
        raise SystemExit(f"--seeds {args.seeds!r}: expected whole numbers separated by commas, e.g. 0,1,2,3") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise SystemExit(f"--seeds {args.seeds!r}: give at least one seed, each once")
    if args.seed != 0:
        raise SystemExit("give --seed or --seeds, not both")
    if args.article:
        raise SystemExit("--seeds trains every run once per seed; the article's code takes no seed: drop --article or --seeds")
    return seeds


def per_seed(specs, configs: dict, budgets: dict, seeds: list[int] | None, seed: int):
    """(specs, configs, budgets, {label: seed}) with every run once per seed, seed by seed (so that
    --jobs trains one seed's runs side by side and a stopped invocation keeps whole seeds), or as
    given with the one --seed."""
    if seeds is None:
        return specs, configs, budgets, {label: seed for label, _, _ in specs}
    runs = [(f"{label}{SEED_MARK}{each}", label, kind, value, each) for each in seeds for label, kind, value in specs]
    clash = [label for label, _, _ in specs if SEED_MARK in label]
    if clash:
        raise SystemExit(f"with --seeds, run labels may not contain {SEED_MARK!r}: {', '.join(clash)}")
    return ([(label, kind, value) for label, _, kind, value, _ in runs],
            {label: configs[base] for label, base, *_ in runs},
            {label: budgets[base] for label, base, *_ in runs},
            {label: each for label, *_, each in runs})


def setting_overrides(settings, labels) -> dict[str, dict[str, str]]:
    """{label: {key: value}} from --set [LABEL.]KEY=VALUE; without a label it applies to every run."""
    overrides = {label: {} for label in labels}
    for setting in settings:
        target, sep, value = setting.partition("=")
        if not sep or not target.strip():
            raise SystemExit(f"--set {setting!r}: expected [LABEL.]KEY=VALUE, e.g. default.r1_weight=0.1")
        label, dot, key = target.partition(".")
        if not dot:
            for entry in overrides.values():
                entry[label.strip()] = value.strip()
        elif label.strip() not in overrides:
            raise SystemExit(f"--set {setting!r}: no run is labelled {label.strip()!r} (runs: {', '.join(labels)})")
        else:
            overrides[label.strip()][key.strip()] = value.strip()
    return overrides


def run_budgets(entries, labels, args) -> dict[str, tuple[float, float | None]]:
    """{label: (kimg cap, minutes or None)} from --kimg/--minutes and each --budget LABEL=..."""
    budgets = {label: (args.kimg, args.minutes) for label in labels}
    for entry in entries:
        label, sep, value = entry.partition("=")
        label, value = label.strip(), value.strip().lower()
        match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(min|kimg)", value)
        if not sep or not match or float(match.group(1)) <= 0:
            raise SystemExit(f"--budget {entry!r}: expected LABEL=Nmin or LABEL=Nkimg with N > 0, e.g. fastgan=30min")
        if label not in budgets:
            raise SystemExit(f"--budget {entry!r}: no run is labelled {label!r} (runs: {', '.join(labels)})")
        amount = float(match.group(1))
        budgets[label] = (args.kimg, amount) if match.group(2) == "min" else (amount, None)
    return budgets


def load_config(kind: str, value: str, overrides: dict, args, label: str):
    from keras_gans.config import (
        ConfigError,
        apply_layers,
        check_model_config,
        config_from_dict,
        load_config_file,
        model_default_config,
        preset_config,
        refuse_typed_settings_unused,
    )

    try:
        layers = []
        if kind == "preset":
            config = preset_config(value)
        elif kind == "model":
            config = model_default_config(value)
        else:
            path = Path(value)
            saved = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" and path.is_file() else None
            if isinstance(saved, dict) and isinstance(saved.get("config"), dict) and "model" in saved:
                config = config_from_dict(saved["model"], saved["config"])  # a run's config.json
            else:
                from keras_gans.train import default_preset

                # Bare settings start where `train --config FILE` starts on the same data.
                config = preset_config(default_preset(args.data))
                layers.append((load_config_file(path), value))
        flags = dict(overrides)
        if args.resolution:
            flags["resolution"] = args.resolution
        if args.batch:
            flags["batch_size"] = args.batch
        config = apply_layers(config, layers + [(flags, f"--set {label}.*")])
        refuse_typed_settings_unused(config, overrides)
        check_model_config(config)
        return config
    except (ConfigError, OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"run {label!r}: {error}") from None


# --- Real images ----------------------------------------------------------------------------------

def real_folder(data: str | None, resolution: int) -> tuple[Path, str]:
    """(a folder of the real images, description). A built-in set is written out as PNGs once
    (keras_gans.data.builtin.builtin_folder), so that the evaluator and the article's code read
    the same pictures as the training runs."""
    from keras_gans.data.builtin import builtin_folder, builtin_set_name, load_builtin_emoji

    name = builtin_set_name(data)
    if name is None:
        folder = Path(data)
        if not folder.is_dir():
            raise SystemExit(f"--data {data}: no such folder")
        return folder, str(folder)
    count = len(load_builtin_emoji(resolution, name=name).images)
    return builtin_folder(name, resolution), f"builtin:{name} ({count} images)"


# --- Training and evaluating ----------------------------------------------------------------------

def train_and_evaluate(label, config, args, data_arg, real, out: Path, kimg: float, minutes: float | None,
                       preset: str | None = None, earlier: dict | None = None, *, seed: int) -> dict:
    """Trains one run (from ``earlier``'s checkpoint when given) and returns its whole record."""
    from keras_gans.io import write_json_atomic
    from keras_gans.metrics.callback import MetricsCallback
    from keras_gans.training.callbacks import EveryKimg
    from keras_gans.training.run import RunSettings, train

    run_dir = out / label
    started = time.perf_counter()
    clock = {}  # the training time at the last periodic checkpoint

    def record(with_clock=True) -> dict:
        sheets = sorted((run_dir / "sheets").glob("sheet-*.png"))
        run = {"model": config.model_name, "seed": seed, "points": list(callback.history),
               "total_seconds": time.perf_counter() - started, "sheet": str(sheets[-1]) if sheets else None}
        run = joined_run(earlier, run) if earlier is not None else run
        if clock and with_clock:
            run["clock"] = {"kimg": clock["kimg"],
                            "train_seconds": clock["train_seconds"] + (resumed_seconds(earlier) if earlier else 0.0)}
        return run

    # A run stopped inside an evaluation has the checkpoint written just before it but not its
    # point: that evaluation is made first thing (after the checkpoint is restored). It fell due
    # at the first step past a multiple of --eval-every, which is not a multiple itself when a
    # step shows several batches (steps_per_execution).
    every, final = int(round(args.eval_every * 1000)), int(round(kimg * 1000))
    catch_up = None
    if earlier is not None and earlier["continued_at_kimg"][-1] > last_kimg(earlier):
        reached = int(round(earlier["continued_at_kimg"][-1] * 1000))
        evaluated = int(round(last_kimg(earlier) * 1000))
        catch_up = reached if reached // every > evaluated // every or reached >= final else None

    checkpoints = EveryKimg(args.checkpoint_every)

    class RecordingMetrics(MetricsCallback):
        # The record written here and the latest checkpoint are where a stopped run continues
        # from (continued_record). Keras calls this after the run's CheckpointCallback, so the
        # clock is written just after the checkpoint it times, and before an evaluation due at
        # the same step.
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            checkpoints.reset(self._images_seen())
            if catch_up is not None and not self.history and self._images_seen() == catch_up:
                self.evaluate_now(catch_up)

        def on_train_batch_end(self, batch, logs=None):
            seen = self._images_seen()
            if checkpoints.due(seen):
                clock.update(kimg=seen / 1000, train_seconds=self.train_seconds)
                write_json_atomic(run_dir / RUN_RECORD, record())
            super().on_train_batch_end(batch, logs)

        def evaluate_now(self, images_seen=None):
            result = super().evaluate_now(images_seen)
            write_json_atomic(run_dir / RUN_RECORD, record())
            return result

    settings = RunSettings(
        out=str(run_dir), data=data_arg, kimg=kimg, seed=seed, preset=preset,
        checkpoint_every_kimg=args.checkpoint_every, keep_checkpoints=1, sample_every_kimg=args.eval_every,
        progress=False,
    )
    callback = RecordingMetrics(
        real, metrics=metrics_of(args), every_kimg=args.eval_every, run_dir=run_dir, num_samples=args.num,
        seed=seed, sheet_dir=run_dir / "sheets", verbose=1, final_images=final,
        budget_seconds=minutes * 60 if minutes else None,
    )
    budget = f"{minutes:g} minutes (at most {kimg:g} kimg)" if minutes else f"{kimg:g} kimg"
    if earlier is not None:
        budget += f", continued from its checkpoint at {earlier['continued_at_kimg'][-1]:g} kimg"
    print(f"\n=== {label}: {config.model_name}, {budget} ===", flush=True)
    gan = train(config, settings, fresh=earlier is None, extra_callbacks=[callback])
    if catch_up == final and not callback.history:  # stopped in its last evaluation: nothing left to train
        callback.set_model(gan)
        callback.on_train_begin()
    return record(with_clock=False)


def preset_of(kind: str, value: str) -> str | None:
    from keras_gans.config import DEFAULT_PRESETS

    return value if kind == "preset" else DEFAULT_PRESETS.get(value) if kind == "model" else None


def run_job(args, specs, configs, budgets, seeds: dict, resolution: int, out: Path) -> dict:
    """The process --jobs starts for one run: train and evaluate it, write its record to --job-result."""
    from keras_gans.io import write_json_atomic
    from keras_gans.metrics.extractors import get_extractor
    from keras_gans.metrics.real_data import real_features

    kinds = {label: (kind, value) for label, kind, value in specs}
    if args.job not in kinds or not args.job_result:
        raise SystemExit(f"--job {args.job!r}: not a run of this invocation, or no --job-result")
    earlier = None
    if args.job_resume:  # what the parent decided from the same files (continued_record)
        finished = json.loads((out / "quality.json").read_text(encoding="utf-8"))["runs"].get(args.job)
        earlier = continued_record(out, args.job, finished)
    folder, _ = real_folder(args.data, resolution)
    real = real_features(folder, get_extractor("effnet-lite0"), resolution)
    run = train_and_evaluate(args.job, configs[args.job], args, args.data, real, out, *budgets[args.job],
                             preset=preset_of(*kinds[args.job]), earlier=earlier, seed=seeds[args.job])
    write_json_atomic(Path(args.job_result), run)
    return run


def train_in_jobs(args, labels: list[str], earlier_runs: dict, out: Path, finished) -> None:
    """Trains ``labels`` at most ``args.jobs`` at once, each by a process of this script that gets
    the invocation's own arguments and --job LABEL (continuing from its checkpoint where
    ``earlier_runs`` holds a record for it); calls ``finished(label, run)`` as each ends.
    A failed run is reported with its log and the others go on. Ctrl-C reaches the processes too
    (one process group); any still running 10 s later are sent SIGINT, which is how a SIGTERM
    sent to this process alone stops them."""
    import signal

    waiting, running, failed = list(labels), {}, []
    script = str(Path(__file__).resolve())
    try:
        while waiting or running:
            while waiting and len(running) < args.jobs:
                label = waiting.pop(0)
                result, log = out / f".{label}.job.json", out / f"{label}.log"
                result.unlink(missing_ok=True)
                command = [sys.executable, script, *args.argv, "--out", str(out), "--jobs", "1",
                           "--job", label, "--job-result", str(result)]
                if earlier_runs.get(label) is not None:
                    command.append("--job-resume")
                with open(log, "w", encoding="utf-8") as handle:
                    running[label] = (subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT),
                                      result, log, time.perf_counter())
                print(f"\n=== {label}: training in its own process (output in {log}) ===", flush=True)
            time.sleep(1.0)
            for label, (process, result, log, started) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[label]
                minutes = (time.perf_counter() - started) / 60
                if process.returncode == 0 and result.is_file():
                    finished(label, json.loads(result.read_text(encoding="utf-8")))
                    result.unlink()
                    print(f"=== {label}: done after {minutes:.1f} min ===", flush=True)
                else:
                    failed.append(f"{label} (exit status {process.returncode}; see {log})")
                    print(f"=== {label}: failed after {minutes:.1f} min; see {log} ===", flush=True)
    except KeyboardInterrupt:
        # Ctrl-C reached the workers as well; a SIGTERM sent to this process alone did not. One
        # shared grace period, then one SIGINT each: a second would stop them before they save.
        grace_ends = time.monotonic() + 10
        for process, *_ in running.values():
            try:
                process.wait(timeout=max(0.0, grace_ends - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)
        for process, *_ in running.values():
            process.wait()
        raise
    if failed:
        raise SystemExit("runs that failed: " + "; ".join(failed)
                         + (f". The finished runs are in {out / 'quality.json'}" if len(failed) < len(labels) else ""))


def train_article(args, python: str, data_folder: Path, resolution: int, real, out: Path) -> dict:
    """Trains the article's code for the same kimg (batch 4) and evaluates its samples."""
    from keras_gans.metrics.evaluation import evaluate
    from keras_gans.metrics.extractors import get_extractor
    from keras_gans.metrics.real_data import load_images, scan_folder

    run_dir = out / "article"
    steps = int(round(args.kimg * 1000 / ARTICLE_BATCH))
    command = [python, str(ARTICLE_DIR / "article.py"), "train", str(data_folder.resolve()), str(run_dir.resolve()),
               "--steps", str(steps), "--num", str(args.num), "--res", str(resolution)]
    print(f"\n=== article: {' '.join(command)} ===", flush=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": str(args.seed)})
    total = time.perf_counter() - started
    (run_dir / "article.log").write_text(process.stdout + process.stderr, encoding="utf-8")
    if process.returncode != 0:
        raise SystemExit(f"the article's code failed (exit {process.returncode}); see {run_dir / 'article.log'}:\n"
                         f"{process.stderr[-2000:]}")
    trained = re.search(r"in (\d+) s", process.stdout)
    train_seconds = float(trained.group(1)) if trained else total
    folder = scan_folder(run_dir / "samples")
    images, _ = load_images(folder.paths[: args.num], resolution)
    result = evaluate(metrics_of(args), real, images, get_extractor("effnet-lite0"), seed=args.seed)
    from keras_gans.generation import image_grid, to_pil
    from keras_gans.io import save_png_atomic

    sheet = run_dir / "sheets" / f"sheet-{args.kimg:08.3f}kimg.png"
    save_png_atomic(to_pil(image_grid(images[:64], 8)), sheet)
    point = {"kimg": steps * ARTICLE_BATCH / 1000, "train_seconds": train_seconds, **result["figures"]}
    print(f"[article @ {point['kimg']:g} kimg] " + ", ".join(f"{k} {v:.4g}" for k, v in result["figures"].items()))
    return {"model": "article (original Keras code)", "points": [point], "total_seconds": total, "sheet": str(sheet)}


# --- Reporting ------------------------------------------------------------------------------------

def figure(point: dict, name: str):
    for key, value in point.items():
        if key.startswith(f"{name}("):
            return value
    return float("nan")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gans.io import atomic_path

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for label, run in results["runs"].items():
        points = run["points"]
        kimg = [p["kimg"] for p in points]
        minutes = [p["train_seconds"] / 60 for p in points]
        for row, name in enumerate(("KID", "FID")):
            values = [figure(p, name) for p in points]
            style = dict(marker="o", label=label)
            axes[row][0].plot(kimg, values, **style)
            axes[row][1].plot(minutes, values, **style)
    for row, name in enumerate(("KID", "FID")):
        axes[row][0].set_xlabel("kimg (thousands of real images shown)")
        axes[row][1].set_xlabel("training wall-clock minutes (evaluation excluded)")
        for column in range(2):
            axes[row][column].set_ylabel(f"{name} (effnet-lite0), lower is better")
            axes[row][column].set_yscale("log")
            axes[row][column].grid(alpha=0.3)
            axes[row][column].legend()
    fig.suptitle(f"{results['data']} at {results['resolution']}px, {results['num']} samples per point")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as temporary:
        fig.savefig(temporary, dpi=90, format="png")
    plt.close(fig)


def comparison_sheet(results: dict, path: Path) -> None:
    """The last sheet of every run side by side, each under its label."""
    from PIL import Image, ImageDraw

    from keras_gans.io import save_png_atomic

    sheets = [(label, Image.open(run["sheet"]).convert("RGB")) for label, run in results["runs"].items() if run["sheet"]]
    if not sheets:
        return
    gap, caption = 12, 22
    width = sum(image.width for _, image in sheets) + gap * (len(sheets) - 1)
    height = max(image.height for _, image in sheets) + caption
    canvas = Image.new("RGB", (width, height), "white")
    draw, x = ImageDraw.Draw(canvas), 0
    for label, image in sheets:
        kid = figure(results["runs"][label]["points"][-1], "KID")
        diversity = figure(results["runs"][label]["points"][-1], "MS-SSIM")
        draw.text((x + 4, 4), f"{label}  KID {kid:.3f}  MS-SSIM {diversity:.3f}", fill="black")
        canvas.paste(image, (x, caption))
        x += image.width + gap
    save_png_atomic(canvas, path)


def table(results: dict) -> str:
    lines = [
        "| run | kimg | train min | KID | FID | precision | recall | MS-SSIM (real) | NN median (real) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, run in results["runs"].items():
        for point in run["points"]:
            lines.append(
                f"| {label} | {point['kimg']:g} | {point['train_seconds'] / 60:.1f} | {figure(point, 'KID'):.4f} | "
                f"{figure(point, 'FID'):.1f} | {figure(point, 'precision'):.3f} | {figure(point, 'recall'):.3f} | "
                f"{figure(point, 'MS-SSIM'):.3f} ({point.get('MS-SSIM(real)', float('nan')):.3f}) | "
                f"{figure(point, 'NN_distance_median'):.2f} ({figure(point, 'NN_distance_real_median'):.2f}) |"
            )
    lines += [f"\n{label}'s train minutes leave out {run['unclocked_kimg']:g} kimg: trained up to a checkpoint that a "
              "stop saved (the run continued from it) and timed by no point or periodic checkpoint"
              for label, run in results["runs"].items() if run.get("unclocked_kimg")]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    given = list(argv if argv is not None else sys.argv[1:])
    previous = None
    if args.resume:
        args, previous = resumed_args(args, given)
    else:
        args.argv = given
        if args.kimg is None:
            args.kimg = 40.0
    if (args.kimg <= 0 or args.eval_every <= 0 or args.checkpoint_every <= 0 or args.num < 2
            or (args.minutes is not None and args.minutes <= 0)):
        raise SystemExit("--kimg, --minutes, --eval-every and --checkpoint-every must be positive and --num at least 2")
    if args.minutes and args.article:
        raise SystemExit("--article trains for a number of steps: give it a --kimg budget, not --minutes")
    if args.jobs < 1:
        raise SystemExit(f"--jobs {args.jobs}: give at least 1")
    if args.jobs > 1 and (args.minutes or any(entry.strip().lower().endswith("min") for entry in args.budget)):
        raise SystemExit("--jobs trains runs side by side, which slows each of them: wall-clock budgets "
                         "(--minutes, --budget LABEL=Nmin) need --jobs 1")
    specs = run_specs(args)
    labels = [label for label, _, _ in specs]
    overrides = setting_overrides(args.set, labels)
    budgets = run_budgets(args.budget, labels, args)
    # Every configuration is resolved before anything trains, so a typo fails in seconds.
    configs = {label: load_config(kind, value, overrides[label], args, label) for label, kind, value in specs}
    if args.baseline is not None and not args.seeds:
        raise SystemExit(f"--baseline {args.baseline!r}: it compares means over --seeds; give --seeds")
    if args.baseline is not None and args.baseline not in labels:
        raise SystemExit(f"--baseline {args.baseline!r}: name one of the runs ({', '.join(labels)})")
    seed_values = seed_list(args)
    specs, configs, budgets, seeds = per_seed(specs, configs, budgets, seed_values, args.seed)
    labels = [label for label, _, _ in specs]
    python = article_python(args.article_python) if args.article else None
    resolutions = {config.resolution for config in configs.values()} | ({args.resolution or 64} if args.article else set())
    if len(resolutions) != 1:
        raise SystemExit(f"every run must train at one resolution to be compared, got {sorted(resolutions)}; pass --resolution")
    resolution = resolutions.pop()
    out = Path(args.out)
    continued = {}
    if previous is not None:
        continued = check_resumable(previous, configs, budgets, out)
    elif not args.job and (out / "quality.json").exists():
        raise SystemExit(f"{out / 'quality.json'} holds an earlier invocation: carry it on with --resume --out {out} "
                         "--kimg N (a run it did not finish continues from its last checkpoint), or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if args.job:
        return run_job(args, specs, configs, budgets, seeds, resolution, out)

    from keras_gans.config import config_to_dict
    from keras_gans.io import write_json_atomic
    from keras_gans.metrics.extractors import get_extractor
    from keras_gans.metrics.real_data import real_features

    folder, description = real_folder(args.data, resolution)
    command = "python benchmarks/quality.py " + shlex.join(given)
    results = {
        "command": command, "argv": args.argv,
        "data": description, "resolution": resolution, "kimg": args.kimg, "minutes": args.minutes, "num": args.num,
        "seed": args.seed,
        "seeds": seed_values,
        "extractor": "effnet-lite0", "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "budgets": {label: {"kimg": kimg, "minutes": minutes} for label, (kimg, minutes) in budgets.items()},
        "configs": {label: {"model": c.model_name, **config_to_dict(c)} for label, c in configs.items()},
        "runs": {},
    }
    if previous is not None:
        resumed = {"command": command, "started": results["started"], "kimg": args.kimg}
        results = {**results, "command": previous["command"], "started": previous.get("started"),
                   "resumed": previous.get("resumed", []) + [resumed], "runs": dict(previous["runs"])}
    else:
        # Recorded before anything trains, so that an invocation stopped in its first run can be resumed.
        write_json_atomic(out / "quality.json", results)
    to_train, earlier_runs = [], {}
    for label, kind, value in specs:
        earlier = results["runs"].get(label)
        if earlier and last_kimg(earlier) >= budgets[label][0]:
            print(f"\n=== {label}: already trained to its budget of {budgets[label][0]:g} kimg ===", flush=True)
        else:
            to_train.append((label, kind, value))
            earlier_runs[label] = continued.get(label)
    side_by_side = args.jobs > 1 and len(to_train) > 1
    # Side by side, each run's process extracts the real set's features itself; here only the
    # runs trained in this process and the article's need them.
    real = None
    if not side_by_side or args.article:
        real = real_features(folder, get_extractor("effnet-lite0"), resolution)
    print(f"real set: {description}" + (f", {len(real.features)} images" if real is not None else "")
          + f" at {resolution}px; CPU threads: {os.cpu_count()}")

    def finished(label, run):  # the run's whole record, earlier points included
        results["runs"][label] = run
        write_json_atomic(out / "quality.json", results)

    in_article = False
    try:
        if side_by_side:
            train_in_jobs(args, [label for label, _, _ in to_train], earlier_runs, out, finished)
            # The runs in the order they were given, whichever finished first.
            results["runs"] = {label: results["runs"][label] for label in
                               [*labels, *(label for label in results["runs"] if label not in labels)] if label in results["runs"]}
        else:
            for label, kind, value in to_train:
                finished(label, train_and_evaluate(label, configs[label], args, args.data, real, out, *budgets[label],
                                                   preset=preset_of(kind, value), earlier=earlier_runs[label],
                                                   seed=seeds[label]))
        if args.article:
            in_article = True
            results["runs"]["article"] = train_article(args, python, folder, resolution, real, out)
    except KeyboardInterrupt:
        done = ", ".join(label for label, run in results["runs"].items() if run["points"])
        if in_article:
            print(f"\nstopped in the article's run: {out / 'quality.json'} keeps the finished runs "
                  f"({done or 'none'}); the article's code writes its samples only at the end, so "
                  f"nothing of its run is kept and this invocation cannot be resumed: rerun it with --article",
                  file=sys.stderr, flush=True)
        else:
            print(f"\nstopped: {out / 'quality.json'} keeps the finished runs ({done or 'none yet'}); the others "
                  f"continue from their last checkpoint (every {args.checkpoint_every:g} kimg; a run stopped before its "
                  f"first trains again from the start) with: python benchmarks/quality.py --resume --out {out} "
                  f"--kimg {args.kimg:g}",
                  file=sys.stderr, flush=True)
        raise
    write_json_atomic(out / "quality.json", results)
    plot(results, out / "quality.png")
    comparison_sheet(results, out / "comparison.png")
    print("\n" + table(results))
    final = {label: figure(run["points"][-1], "KID") for label, run in results["runs"].items() if run["points"]}
    if results.get("seeds"):
        # Here, not at the top: quality_seeds, the one home of means over seeds, imports this module.
        import quality_seeds

        print(f"\nover the seeds (python benchmarks/quality_seeds.py {out}"
              + (f" --baseline {args.baseline}" if args.baseline else "") + "):\n"
              + quality_seeds.summed_up(quality_seeds.split_seeds({**results, "path": str(out / "quality.json")}),
                                         args.baseline))
    elif len(final) > 1:
        best = min(final, key=final.get)
        print("\nKID ratios at the end (run / " + best + "): "
              + ", ".join(f"{label} {value / final[best]:.2f}x" for label, value in final.items()))
    print(f"\nwrote {out / 'quality.json'}, {out / 'quality.png'}, {out / 'comparison.png'}")
    return results


if __name__ == "__main__":
    import signal

    # `kill` stops the workers and says how to resume, as Ctrl-C does. The standard library's
    # handler, not keras_gans's: importing the package starts TensorFlow, 7 s before --help.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main()
    except KeyboardInterrupt:  # main said what was kept and how to go on; no traceback
        sys.exit(130)
