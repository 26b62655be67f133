"""Several seeds of one comparison in one table: invocations of benchmarks/quality.py that differ
only in ``--seed`` (and in how far they were carried with ``--resume``), summed up per setting.

    python benchmarks/quality_seeds.py runs/quality/bobross-s0 runs/quality/bobross-s1 \\
        runs/quality/bobross-s2:none,diffaug --labels none,diffaug --baseline none

On one machine and one commit a seed gives the same run, and between seeds KID moves more than
most settings differ, so a setting is judged by its mean over seeds. For every run label and
evaluation point: each seed's KID, the mean KID with its standard error, the mean FID, and for
each label beside ``--baseline`` how much lower its mean KID is than the baseline's over the same
seeds, and on how many of those seeds it is lower. The invocations must agree on the data, the
resolution, the number of samples and each label's settings; a label whose settings differ
between them is refused (name the labels to compare with ``--labels``, or the runs to take from
one invocation with ``FOLDER:LABEL,LABEL``).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

from quality import SEED_MARK, figure  # a point's figure by name, whatever the extractor

# What every invocation must share for its figures to be comparable.
SHARED = ("data", "resolution", "num", "extractor")


def load_invocation(path: str) -> list[dict]:
    """One invocation, as one per seed where it trained with ``--seeds``; ``PATH:LABEL,LABEL`` takes
    only those runs of it (so that one run of another recipe under a label used elsewhere can be
    left out)."""
    only = None
    folder, colon, names = path.rpartition(":")
    if colon and folder and not Path(path).exists():
        path, only = folder, {name.strip() for name in names.split(",") if name.strip()}
    file = Path(path)
    file = file / "quality.json" if file.is_dir() else file
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"{file}: cannot read it ({error}); give the folder or quality.json of an invocation "
                         "of benchmarks/quality.py") from None
    missing = [key for key in ("runs", "configs", "seed") if not isinstance(results, dict) or key not in results]
    if missing:
        raise SystemExit(f"{file}: not a quality.json of benchmarks/quality.py (no {', '.join(missing)})")
    results["path"] = str(file)
    parts = split_seeds(results)
    if only is not None:
        known = list(dict.fromkeys(label for part in parts for label in part["runs"]))
        unknown = sorted(only - set(known))
        if unknown or not only:
            missing = f"no run labelled {', '.join(map(repr, unknown))}" if unknown else "no label after the colon"
            raise SystemExit(f"{path}:{names}: {missing} (the runs of {file}: {', '.join(known)})")
        parts = [{**part, "runs": {label: run for label, run in part["runs"].items() if label in only}} for part in parts]
    return parts


def split_seeds(results: dict) -> list[dict]:
    """An invocation of quality.py --seeds (runs labelled LABEL@seedN) as one invocation per seed
    with the runs under their own labels; any other invocation as it is."""
    if not results.get("seeds"):
        return [results]
    parts = []
    for seed in results["seeds"]:
        suffix = f"{SEED_MARK}{seed}"
        runs = {label[: -len(suffix)]: run for label, run in results["runs"].items() if label.endswith(suffix)}
        if runs:
            configs = {label[: -len(suffix)]: config for label, config in results["configs"].items() if label.endswith(suffix)}
            parts.append({**results, "seed": seed, "runs": runs, "configs": configs,
                          "path": f"{results['path']} (seed {seed})"})
    return parts


def collect(invocations: list[dict], labels: list[str] | None) -> dict:
    """{label: {kimg: {seed: point}}}, after checking that the invocations are comparable."""
    first = invocations[0]
    for other in invocations[1:]:
        for key in SHARED:
            if other.get(key) != first.get(key):
                raise SystemExit(f"{other['path']} and {first['path']} differ in {key}: "
                                 f"{other.get(key)!r} against {first.get(key)!r}; only seeds may differ")
    available = sorted({label for results in invocations for label in results["runs"]})
    chosen = labels or available
    unknown = [label for label in chosen if label not in available]
    if unknown:
        raise SystemExit(f"--labels: no run is labelled {', '.join(map(repr, unknown))} "
                         f"(the invocations hold: {', '.join(available)})")
    table: dict = {label: {} for label in chosen}
    settings: dict = {}
    for results in invocations:
        seed = results["seed"]
        for label in chosen:
            run = results["runs"].get(label)
            if run is None:
                continue
            config = results["configs"].get(label)
            if label in settings and config != settings[label][0]:
                changed = sorted(key for key in set(config) | set(settings[label][0])
                                 if config.get(key) != settings[label][0].get(key))
                raise SystemExit(f"run {label!r} has other settings in {results['path']} than in {settings[label][1]} "
                                 f"({', '.join(changed)}); compare it separately, leave it out with --labels, "
                                 "or take only some runs of an invocation with FOLDER:LABEL,LABEL")
            settings.setdefault(label, (config, results["path"]))
            for point in run["points"]:
                seeds = table[label].setdefault(round(point["kimg"], 3), {})
                if seed in seeds:
                    raise SystemExit(f"run {label!r} has seed {seed} twice ({results['path']}); give each seed once")
                seeds[seed] = point
    return table


def mean_and_error(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, error


def summary(table: dict, baseline: str | None) -> list[dict]:
    rows = []
    for label, points in table.items():
        for kimg, by_seed in sorted(points.items()):
            seeds = sorted(by_seed)
            kids = [figure(by_seed[seed], "KID") for seed in seeds]
            fids = [figure(by_seed[seed], "FID") for seed in seeds]
            mean_kid, error = mean_and_error(kids)
            row = {"label": label, "kimg": kimg, "seeds": seeds, "kid": kids, "kid_mean": mean_kid, "kid_stderr": error,
                   "fid_mean": statistics.fmean(fids)}
            reference = table.get(baseline, {}).get(kimg, {}) if baseline and label != baseline else {}
            paired = [seed for seed in seeds if seed in reference]
            if paired:
                ours = statistics.fmean(figure(by_seed[seed], "KID") for seed in paired)
                theirs = statistics.fmean(figure(reference[seed], "KID") for seed in paired)
                row["paired_seeds"] = paired
                row["kid_lower_than_baseline"] = 1 - ours / theirs
                row["lower_on_seeds"] = sum(figure(by_seed[s], "KID") < figure(reference[s], "KID") for s in paired)
            rows.append(row)
    return rows


def markdown(rows: list[dict], baseline: str | None) -> str:
    lines = ["| run | kimg | seeds | KID per seed | mean KID ± s.e. | mean FID | "
             + (f"mean KID against `{baseline}` (same seeds) | lower on |" if baseline else ""),
             "|---|---|---|---|---|---|" + ("---|---|" if baseline else "")]
    for row in sorted(rows, key=lambda r: (r["kimg"], r["label"] != baseline, r["label"])):
        per_seed = ", ".join(f"{kid:.3f}" for kid in row["kid"])
        line = (f"| {row['label']} | {row['kimg']:g} | {', '.join(map(str, row['seeds']))} | {per_seed} | "
                f"{row['kid_mean']:.3f} ± {row['kid_stderr']:.3f} | {row['fid_mean']:.0f} |")
        if baseline:
            if "kid_lower_than_baseline" in row:
                change = row["kid_lower_than_baseline"] * 100
                line += (f" {abs(change):.0f}% {'lower' if change >= 0 else 'higher'} |"
                         f" {row['lower_on_seeds']} of {len(row['paired_seeds'])} seeds |")
            else:
                line += " | |"
        lines.append(line)
    return "\n".join(lines)


def rows_over_seeds(invocations: list[dict], baseline: str | None = None, labels: list[str] | None = None) -> list[dict]:
    table = collect(invocations, labels)
    if baseline and baseline not in table:
        raise SystemExit(f"--baseline {baseline!r} is not among the runs compared ({', '.join(table)})")
    return summary(table, baseline)


def summed_up(invocations: list[dict], baseline: str | None = None) -> str:
    """The markdown table of the invocations' runs over their seeds (what this script prints)."""
    return markdown(rows_over_seeds(invocations, baseline), baseline)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("invocations", nargs="+", metavar="RUN_FOLDER_OR_QUALITY_JSON",
                        help="the --out folders (or their quality.json) of quality.py invocations, one per seed "
                        "or one that trained with --seeds; "
                        "FOLDER:LABEL,LABEL takes only those runs of one")
    parser.add_argument("--labels", help="comma-separated run labels to compare (default: every label)")
    parser.add_argument("--baseline", help="the label the others are measured against (e.g. none)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    labels = [label.strip() for label in args.labels.split(",") if label.strip()] if args.labels else None
    rows = rows_over_seeds([part for path in args.invocations for part in load_invocation(path)], args.baseline, labels)
    print(markdown(rows, args.baseline))
    if args.json:
        from keras_gans.io import write_json_atomic

        write_json_atomic(Path(args.json), {"invocations": args.invocations, "baseline": args.baseline, "rows": rows})
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
