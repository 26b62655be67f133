"""Does mixed_bfloat16 harm image quality? Trains the same configuration twice from the same
seed, in float32 and in mixed_bfloat16, then evaluates both with FID and KID (EfficientNet-Lite0
features) against the training images.

    python benchmarks/mixed_precision_quality.py                                  # anime faces at 32x32
    python benchmarks/mixed_precision_quality.py --data DIR --resolution 64 --kimg 40

GAN runs vary from seed to seed, so a small difference either way is noise; a harmful
precision would show up as a clearly worse FID for bfloat16.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anime-faces-64"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--preset", default="stylegan-cpu-64")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--kimg", type=float, default=10)
    parser.add_argument("--num", type=int, default=1000, help="generated images per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"error: {args.data} does not exist (pass --data DIR)", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, extra in (("float32", []), ("mixed_bfloat16", ["--mixed-precision"])):
            run = Path(scratch) / label
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "keras_gans.train", "--preset", args.preset, "--data", args.data,
                 "--resolution", str(args.resolution), "--kimg", str(args.kimg), "--out", str(run),
                 "--seed", str(args.seed), "--no-progress", *extra],
                check=True, stdout=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - start
            result = subprocess.run(
                [sys.executable, "-m", "keras_gans.evaluate", "--run", str(run), "--data", args.data,
                 "--metrics", "fid,kid", "--num", str(args.num), "--json"],
                check=True, capture_output=True, text=True,
            )
            figures = json.loads(result.stdout)
            rows.append((label, seconds, figures))
            print(f"{label}: trained {args.kimg:g} kimg in {seconds:.0f} s; {json.dumps(figures.get('figures', figures))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
