"""How close projection gets: the perceptual distance of each projected image to its target,
against that of the mean-w image (where the search starts), on images of a folder.

    python benchmarks/projection.py --run runs/NAME --data HELD_OUT_FOLDER --count 20
    python benchmarks/projection.py --run runs/NAME --data FOLDER --count 20 --steps 300 --w-plus

The images are the first --count of the folder in the project's scan order (pass a folder the
run did not train on for held-out images). Prints one line per image and the mean distances,
and writes every figure to --out as JSON. The distance is the EfficientNet-Lite0 LPIPS-style
distance that projection optimises (keras_gans.metrics.perceptual).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time

from keras_gans.io import write_json_atomic
from keras_gans.metrics.perceptual import EffNetPerceptualDistance
from keras_gans.metrics.real_data import load_images, scan_folder
from keras_gans.projection import ProjectionSettings, mean_w_distance, project
from keras_gans.training.run import load_generator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--data", required=True, help="folder of images to project")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--w-plus", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/projection_benchmark.json")
    args = parser.parse_args(argv)
    if args.count < 1 or args.steps < 1:
        parser.error("--count and --steps must be at least 1")
    generator, _ = load_generator(run=args.run)
    resolution = int(generator.outputs[0].shape[1])
    folder = scan_folder(args.data)
    images, kept = load_images(folder.paths[: args.count], resolution)
    distance = EffNetPerceptualDistance()
    settings = ProjectionSettings(steps=args.steps, w_plus=args.w_plus, seed=args.seed)
    rows = []
    for index, target in zip(kept, images):
        started = time.perf_counter()
        start = mean_w_distance(generator, target, distance, seed=args.seed)
        result = project(generator, target, distance, settings)
        rows.append({"image": str(folder.paths[int(index)]), "mean_w": start, "projected": result.distance,
                     "closer": 1.0 - result.distance / start, "seconds": time.perf_counter() - started})
        print(f"{folder.paths[int(index)].name}: mean w {start:.4f} -> projected {result.distance:.4f} "
              f"({100 * rows[-1]['closer']:.0f}% closer, {rows[-1]['seconds']:.0f} s)", flush=True)
    mean_start = statistics.mean(r["mean_w"] for r in rows)
    mean_projected = statistics.mean(r["projected"] for r in rows)
    summary = {"run": args.run, "data": args.data, "images": len(rows), "settings": dataclasses.asdict(settings),
               "mean_w_distance": mean_start, "projected_distance": mean_projected,
               "closer_on_average": 1.0 - mean_projected / mean_start,
               "distance": "EfficientNet-Lite0 LPIPS-style (keras_gans.metrics.perceptual)", "rows": rows}
    write_json_atomic(args.out, summary)
    print(f"{len(rows)} images: mean distance {mean_start:.4f} (mean w) -> {mean_projected:.4f} (projected), "
          f"{100 * summary['closer_on_average']:.0f}% closer on average; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
