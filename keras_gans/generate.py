"""python -m keras_gans.generate MODE: images from a trained generator.

Modes: ``grid`` (a sample sheet PNG), ``samples`` (``--num`` PNG files ``seed<NNNNNN>.png``),
``truncation`` (rows of increasing psi), ``mixing`` (the coarse / middle / fine style-mixing
figure), ``interpolate`` (an animated GIF latent walk and its frames; ``--per-class`` writes the
one-row-per-class interpolation sheet instead). Seeds make every output reproducible.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from keras_gans import generation as gen
from keras_gans.generation import GenerationError, PSI_RANGE
from keras_gans.io import atomic_path, save_png_atomic
from keras_gans.training.run import add_generator_source, load_generator

MODES = ("grid", "samples", "truncation", "mixing", "interpolate")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_gans.generate",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("mode", choices=MODES, help="what to write")
    add_generator_source(parser)
    parser.add_argument("--out", required=True, help="output PNG/GIF path, or folder for samples")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="truncation psi (1 = none)")
    parser.add_argument("--num", type=int, default=64, help="images (grid, samples)")
    parser.add_argument("--columns", type=int, help="grid columns (default: square-ish)")
    parser.add_argument("--class", dest="class_name", help="class name or index, for conditional generators")
    parser.add_argument("--psis", default="-1,-0.5,0,0.5,0.7,1", help="truncation rows (truncation mode)")
    parser.add_argument("--sources", type=int, default=5, help="source images (mixing mode)")
    parser.add_argument("--destinations", type=int, default=4, help="destination images (mixing mode)")
    parser.add_argument("--source-w", nargs="+", metavar="W.npy",
                        help="mixing: projected styles (python -m keras_gans.project's w.npy) as the sources")
    parser.add_argument("--destination-w", nargs="+", metavar="W.npy",
                        help="mixing: projected styles as the destinations (coarse from these, the rest from the sources)")
    parser.add_argument("--keyframes", type=int, default=4, help="latents visited (interpolate mode)")
    parser.add_argument("--steps", type=int, default=16, help="frames between keyframes (interpolate mode)")
    parser.add_argument("--fps", type=float, default=16, help="GIF frame rate")
    parser.add_argument("--per-class", action="store_true", help="interpolate: one row per class (conditional)")
    parser.add_argument("--batch-size", type=int, default=32)
    return parser


def _load_ws(paths) -> np.ndarray:
    """Projected styles, one (num_ws, dim) array per file, stacked; plain arrays only (no pickle)."""
    arrays = []
    for path in paths:
        try:
            arrays.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as error:
            raise GenerationError(f"{path}: not a w.npy file written by python -m keras_gans.project ({error})") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise GenerationError(f"the w files have different shapes: {sorted(shapes)}")
    return np.stack(arrays)


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "class"


def _check_arguments(parser, args) -> None:
    """Refuse impossible values before any model is loaded (argparse exits 2 with the message)."""
    low, high = PSI_RANGE
    psis = [args.truncation]
    if args.mode == "truncation":
        try:
            psis += [float(p) for p in args.psis.split(",") if p.strip()]
        except ValueError:
            parser.error(f"--psis {args.psis!r}: give comma-separated numbers, e.g. -1,0,0.7,1")
    for psi in psis:
        if not low <= psi <= high:
            parser.error(f"truncation psi {psi:g} is outside {low:g}..{high:g} (1 = no truncation, 0.7 is typical)")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: seeds are whole numbers from 0")
    for name in ("num", "sources", "destinations", "keyframes", "steps", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.columns is not None and args.columns < 1:
        parser.error(f"--columns must be at least 1, got {args.columns}")
    if args.fps <= 0:
        parser.error(f"--fps must be positive, got {args.fps:g}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)

    try:
        return _run(args)
    except (GenerationError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.num < 1:
        raise ValueError("--num must be at least 1")

    generator, class_names = load_generator(run=args.run, generator_path=args.generator)
    class_index = gen.resolve_class(class_names, args.class_name) if args.class_name is not None else None
    if class_index is None and gen.is_conditional(generator) and args.mode in ("truncation", "mixing") :
        class_index = 0
    out = Path(args.out)

    if args.mode == "grid":
        images = gen.generate_images(generator, args.num, args.seed, args.truncation, class_index, args.batch_size)
        columns = args.columns or math.ceil(math.sqrt(args.num))
        save_png_atomic(gen.to_pil(gen.image_grid(images, columns)), out)
        print(f"wrote {out} ({args.num} images, seeds {args.seed}..{args.seed + args.num - 1})")
    elif args.mode == "samples":
        out.mkdir(parents=True, exist_ok=True)
        # A file's name identifies its image: the seed, and for a conditional generator the class
        # (the seed's, seed % classes, when --class is not given). Each image depends only on its
        # own seed, so the same name holds the same image whatever range it was drawn in.
        seeds = np.arange(args.seed, args.seed + args.num)
        conditional = gen.is_conditional(generator)
        spread = conditional and class_index is None
        labels = None
        if conditional:
            labels = seeds % gen.num_classes(generator) if spread else np.full(args.num, class_index)
        images = gen.generate_by_seed(generator, seeds, args.truncation, labels, args.batch_size)
        for offset, image in enumerate(images):
            seed = int(seeds[offset])
            if not conditional:
                path = out / f"seed{seed:06d}.png"
            else:
                index = int(labels[offset])
                name = class_names[index] if index < len(class_names) else f"class{index}"
                path = (out / name if spread else out) / f"seed{seed:06d}-{_file_safe(name)}.png"
            save_png_atomic(gen.to_pil(image), path)
        where = f"{out}/<class>/" if spread else f"{out}/"
        first = f"seed{args.seed:06d}" + ("-<class>" if conditional else "")
        print(f"wrote {len(images)} images to {where} ({first}.png ...)")
    elif args.mode == "truncation":
        psis = [float(p) for p in args.psis.split(",")]
        labels = None if class_index is None else np.full(args.columns or 8, class_index)
        sheet = gen.truncation_sheet(generator, psis, args.columns or 8, args.seed, labels)
        save_png_atomic(gen.to_pil(sheet), out)
        print(f"wrote {out} (rows: psi = {', '.join(f'{p:g}' for p in psis)})")
    elif args.mode == "mixing":
        sources = list(range(args.seed, args.seed + args.sources))
        destinations = list(range(args.seed + 1000, args.seed + 1000 + args.destinations))
        labels = None if class_index is None else np.full(max(args.sources, args.destinations), class_index)
        source_ws = _load_ws(args.source_w) if args.source_w else None
        destination_ws = _load_ws(args.destination_w) if args.destination_w else None
        sheet = gen.mixing_sheet(generator, sources, destinations, args.seed, args.truncation, labels,
                                 source_ws=source_ws, destination_ws=destination_ws)
        save_png_atomic(gen.to_pil(sheet), out)
        described = lambda files, seeds: ", ".join(files) if files else str(seeds)  # noqa: E731
        print(f"wrote {out} (coarse, middle and fine style mixing; sources {described(args.source_w, sources)}, "
              f"destinations {described(args.destination_w, destinations)})")
    else:
        if args.per_class:
            sheet = gen.per_class_interpolation_sheet(generator, class_names, args.columns or 8, args.seed, args.truncation)
            save_png_atomic(gen.to_pil(sheet), out)
            print(f"wrote {out} (one row per class: {', '.join(class_names)})")
            return 0
        keyframes = list(range(args.seed, args.seed + args.keyframes))
        frames = gen.interpolation_frames(generator, keyframes, args.steps, args.seed, args.truncation, class_index)
        frames_dir = out.with_name(f"{out.stem}_frames")
        frames_dir.mkdir(parents=True, exist_ok=True)
        pictures = [gen.to_pil(frame) for frame in frames]
        for index, picture in enumerate(pictures):
            save_png_atomic(picture, frames_dir / f"frame{index:05d}.png")
        with atomic_path(out, suffix=".gif") as temporary:
            pictures[0].save(
                temporary, format="GIF", save_all=True, append_images=pictures[1:],
                duration=int(round(1000 / args.fps)), loop=0,
            )
        print(f"wrote {out} ({len(frames)} frames, also in {frames_dir}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
