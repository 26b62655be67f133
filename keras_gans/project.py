"""python -m keras_gans.project: find the styles with which a trained StyleGAN paints a given image.

    python -m keras_gans.project --run runs/NAME --image painting.jpg --out proj/
    python -m keras_gans.project --run runs/NAME --image painting.jpg --w-plus --steps 500 --out proj/

Writes to --out: ``projected.png`` (the generator's image), ``target.png`` (the image as the
generator sees it: centre-cropped and resized), ``comparison.png`` (the two side by side),
``w.npy`` (the styles, one row per synthesis layer; ``generate mixing --source-w`` takes it),
``progress.webp`` (an animation of the search) and ``projection.json`` (distances, settings).
See keras_gans.projection for the method.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from keras_gans import generation as gen
from keras_gans.generation import GenerationError
from keras_gans.io import atomic_path, save_npy_atomic, save_png_atomic, write_json_atomic
from keras_gans.metrics.perceptual import EffNetPerceptualDistance
from keras_gans.metrics.real_data import load_images
from keras_gans.projection import ProjectionSettings, mean_w_distance, project
from keras_gans.training.run import add_generator_source, load_generator


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m keras_gans.project", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_generator_source(parser)
    parser.add_argument("--image", required=True, help="the image to project (JPEG, PNG, WebP ...)")
    parser.add_argument("--out", required=True, help="output folder")
    defaults = ProjectionSettings()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--w-plus", action="store_true", help="one w per synthesis layer (closer, less editable)")
    parser.add_argument("--noise-regularization", type=float, default=defaults.noise_regularization)
    parser.add_argument("--class", dest="class_name", help="the image's class, for conditional generators")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be positive, got {args.learning_rate:g}")
    if args.noise_regularization < 0:
        parser.error(f"--noise-regularization must be 0 or more, got {args.noise_regularization:g}")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: seeds are whole numbers from 0")
    if not Path(args.image).is_file():
        parser.error(f"--image {args.image}: no such file")
    try:
        return _run(args)
    except (GenerationError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args) -> int:
    generator, class_names = load_generator(run=args.run, generator_path=args.generator)
    label = gen.resolve_class(class_names, args.class_name) if args.class_name is not None else None
    resolution = int(generator.outputs[0].shape[1])
    images, kept = load_images([Path(args.image)], resolution, channels=int(generator.outputs[0].shape[-1]))
    if len(kept) == 0:
        raise GenerationError(f"{args.image}: not an image that can be decoded")
    target = images[0]
    settings = ProjectionSettings(steps=args.steps, learning_rate=args.learning_rate, w_plus=args.w_plus,
                                  noise_regularization=args.noise_regularization, seed=args.seed)
    distance = EffNetPerceptualDistance()
    start = mean_w_distance(generator, target, distance, seed=args.seed, label=label)
    every = max(1, args.steps // 10)

    def report(step, value):
        if step % every == 0 or step == args.steps - 1:
            print(f"step {step + 1}/{args.steps}: perceptual distance {value:.4f}", flush=True)

    result = project(generator, target, distance, settings, label=label, on_step=report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_png_atomic(gen.to_pil(result.image), out / "projected.png")
    save_png_atomic(gen.to_pil(target), out / "target.png")
    save_png_atomic(gen.to_pil(gen.image_grid(np.stack([target, result.image]), 2)), out / "comparison.png")
    save_npy_atomic(out / "w.npy", result.ws.astype(np.float32))
    frames = [gen.to_pil(np.concatenate([target, frame], axis=1)) for frame in result.frames]
    with atomic_path(out / "progress.webp", suffix=".webp") as temporary:
        frames[0].save(temporary, format="WEBP", save_all=True, append_images=frames[1:], duration=80, loop=0, quality=85)
    write_json_atomic(out / "projection.json", {
        "image": str(args.image),
        "generator": str(args.run or args.generator),
        "class": None if label is None else class_names[label],
        "distance": result.distance,
        "mean_w_distance": start,
        "closer_than_mean_w": 1.0 - result.distance / start if start > 0 else None,
        "distances": result.distances,
        "distance_name": "EfficientNet-Lite0 LPIPS-style (keras_gans.metrics.perceptual)",
        "settings": dataclasses.asdict(settings),
        "w_shape": list(result.ws.shape),
    })
    print(f"projected {args.image}: distance {result.distance:.4f} (mean w: {start:.4f}); wrote {out}/projected.png, "
          f"w.npy, progress.webp, comparison.png, projection.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
