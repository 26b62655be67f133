"""``python -m keras_gans.prepare SRC DST``: a clean, deduplicated training set from a messy folder.

Thin command line over :func:`keras_gans.data.preparation.prepare_dataset`; docs/prepare.md is
the user guide.
"""
from __future__ import annotations

import argparse
import os
import sys

from PIL import ImageColor

from keras_gans.data.preparation import (
    CROPS,
    DEFAULT_NEAR_THRESHOLD,
    PrepareError,
    PrepareOptions,
    prepare_dataset,
)

PROG = "python -m keras_gans.prepare"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _colour(text: str) -> tuple[int, int, int]:
    try:
        if "," in text:
            values = tuple(int(part) for part in text.split(","))
        else:
            values = ImageColor.getrgb(text)[:3]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a colour such as white, '#808080' or 128,128,128, got {text!r}"
        ) from None
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise argparse.ArgumentTypeError(f"expected three values from 0 to 255, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate, convert, crop, resize and deduplicate the images under SRC into a clean "
        "training folder DST (SRC is only read). Rerun the same command to resume an interrupted run.",
    )
    parser.add_argument("src", metavar="SRC", help="folder of images, read recursively (class subfolders = labels)")
    parser.add_argument("dst", metavar="DST", help="output folder (created; must be new, empty or made by prepare)")
    parser.add_argument("--resolution", type=_positive_int, default=256, help="output side in pixels (default 256)")
    parser.add_argument("--crop", choices=CROPS, default="center",
                        help="center: centre square; pad: whole image padded to a square with --background; "
                        "anime-face: one output per detected anime face (needs OpenCV)")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3, help="3 for RGB, 1 for grayscale")
    parser.add_argument("--dedupe", choices=("none", "exact", "near"), default="none",
                        help="exact: identical files; near: perceptual hash within --near-threshold bits")
    parser.add_argument("--near-threshold", type=int, default=DEFAULT_NEAR_THRESHOLD, metavar="BITS",
                        help=f"max differing bits of the 64-bit perceptual hash for --dedupe near "
                        f"(default {DEFAULT_NEAR_THRESHOLD})")
    parser.add_argument("--min-size", type=_positive_int, default=32, metavar="PX",
                        help="drop images (and face crops) whose short side is below PX (default 32)")
    parser.add_argument("--max-aspect", type=float, default=3.0, metavar="RATIO",
                        help="drop images whose long/short side ratio exceeds RATIO; 0 disables (default 3)")
    parser.add_argument("--labels", choices=("folders", "none"), default="folders",
                        help="folders: first-level subfolders of SRC are classes (kept in DST); none: flatten")
    parser.add_argument("--format", choices=("folder", "tfrecord"), default="folder",
                        help="tfrecord: also write sharded TFRecords to DST/tfrecords (training prefers them)")
    parser.add_argument("--workers", type=_positive_int, default=max(1, min(8, os.cpu_count() or 1)),
                        help="parallel worker processes (default: CPU count, at most 8)")
    parser.add_argument("--background", type=_colour, default=(255, 255, 255), metavar="COLOUR",
                        help="colour behind transparency and padding (default white)")
    parser.add_argument("--face-margin", type=float, default=0.25, metavar="FRACTION",
                        help="space added around each face on every side, as a fraction of the face (default 0.25)")
    parser.add_argument("--cascade", metavar="PATH",
                        help="lbpcascade_animeface.xml to use instead of the cached download")
    parser.add_argument("--image-format", choices=("png", "jpg"), default="png", help="output file format")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="quality for --image-format jpg (default 95)")
    parser.add_argument("--shard-size", type=_positive_int, default=2048, metavar="N",
                        help="images per TFRecord shard (default 2048)")
    parser.add_argument("--overwrite", action="store_true",
                        help="empty a DST made by an earlier prepare run and start over")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary (errors still shown)")
    return parser


def options_from_args(args: argparse.Namespace) -> PrepareOptions:
    return PrepareOptions(
        resolution=args.resolution,
        crop=args.crop,
        channels=args.channels,
        dedupe=None if args.dedupe == "none" else args.dedupe,
        near_threshold=args.near_threshold,
        min_size=args.min_size,
        max_aspect=args.max_aspect if args.max_aspect else None,
        labels=args.labels,
        format=args.format,
        workers=args.workers,
        background=tuple(args.background),
        face_margin=args.face_margin,
        cascade=args.cascade,
        image_format=args.image_format,
        jpeg_quality=args.jpeg_quality,
        shard_size=args.shard_size,
        overwrite=args.overwrite,
    )


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        prepare_dataset(
            args.src,
            args.dst,
            options_from_args(args),
            progress=not args.quiet,
            log=None if args.quiet else print,
        )
    except PrepareError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; rerun the same command to resume where it stopped", file=sys.stderr)
        return 130
    except OSError as error:
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        print(f"{PROG}: error:{where} {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
