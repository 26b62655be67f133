"""Files per second of keras_gans.prepare at 1 and 2 workers (by default on ../shared/data/bob-ross-128).

    python benchmarks/prepare_throughput.py [--src DIR] [--resolution 64] [--workers 1 2] [--repeat 1]

Each run prepares SRC into a fresh temporary DST (centre crop, near dedupe, PNG output) and
reports two rates: ``files/s`` over the whole call (worker start-up included, what a user
waits for) and ``files/s steady`` over the processing loop only (start-up excluded, what
matters on tens of thousands of files). Both count every source file, good or rejected.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_gans.data.preparation import PrepareOptions, prepare_dataset  # noqa: E402


def measure(src: Path, workers: int, resolution: int) -> tuple[float, float, int]:
    times: list[float] = []

    def on_record(record):
        times.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="prepare-bench-") as tmp:
        options = PrepareOptions(resolution=resolution, dedupe="near", workers=workers)
        started = time.perf_counter()
        summary = prepare_dataset(src, Path(tmp) / "dst", options, progress=False, log=None, on_record=on_record)
        total = time.perf_counter() - started
    count = summary.sources
    # Steady state: from the first result to the last, over the files in between.
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else float("nan")
    return count / total, steady, count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO.parent / "shared" / "data" / "bob-ross-128")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count; the best is reported")
    args = parser.parse_args(argv)
    if not args.src.is_dir():
        print(f"error: {args.src} does not exist (the team's ../shared data folder is needed)", file=sys.stderr)
        return 2
    print(f"keras_gans.prepare throughput on {args.src} (resolution {args.resolution}, near dedupe, PNG)")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs visible")
    for workers in args.workers:
        results = [measure(args.src, workers, args.resolution) for _ in range(args.repeat)]
        overall, steady, count = max(results)
        print(f"workers={workers}: {count} files, {overall:.1f} files/s, {steady:.1f} files/s steady")
    return 0


if __name__ == "__main__":
    sys.exit(main())
