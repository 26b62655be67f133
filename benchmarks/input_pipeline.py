"""Input pipeline throughput: batches per second from keras_gans.data alone (no model), to
show the pipeline outruns training (compare with benchmarks/train_throughput.py).

    python benchmarks/input_pipeline.py                                  # built-in emoji at 64
    python benchmarks/input_pipeline.py --data ../shared/data/anime-faces-64 --resolution 64
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="image folder (default: built-in emoji)")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    from keras_gans.data.builtin import load_builtin_emoji
    from keras_gans.data.folders import load_image_folder
    from keras_gans.data.pipeline import array_dataset

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        if args.data:
            data = load_image_folder(args.data, args.resolution, cache_dir=cache, progress=False)
            source = args.data
        else:
            data = load_builtin_emoji(args.resolution, cache_dir=cache)
            source = "built-in emoji"
        scan = time.perf_counter() - start
        print(f"first scan (decode + validate + resize, uncached): {len(data.images)} images from {source} "
              f"in {scan:.1f} s = {len(data.images) / scan:.0f} images/s")
        iterator = iter(array_dataset(data.images, data.labels, args.batch, seed=0))
        next(iterator)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            next(iterator)
            count += 1
        elapsed = time.perf_counter() - start
    print(f"pipeline at {args.resolution}x{args.resolution}, batch {args.batch}: "
          f"{count * args.batch / elapsed:.0f} images/s ({count / elapsed:.0f} batches/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
