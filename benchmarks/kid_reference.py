"""What KID and FID reward on a data set: the scores of "generators" made from its own real images.

A generator that paints one perfect face per class, or every real image slightly blurred or
noisy, is easy to describe and tells how a score weighs variety against fidelity:

    python benchmarks/kid_reference.py --data builtin:emoji-faces --resolution 64
    python benchmarks/kid_reference.py --data ../shared/data/anime-faces-64

Each row draws ``--num`` images (default 2,000, as benchmarks/quality.py) from the real set,
altered as the row says, and scores them against all the real images with the project's
evaluator (EffNet-Lite0 features; KID over 100 subsets of 1,000, as keras_gans.metrics):

* every real image, resampled: the floor (about zero);
* one real image per class (the first in file order), drawn in the classes' proportions: a
  conditional generator collapsed onto one flawless picture per class;
* two per class; one image for everything: a total collapse;
* every real image under a Gaussian blur of sigma 0.7 and 1.2 pixels, and with Gaussian pixel
  noise of standard deviation 12 (of 255): all the variety, less fidelity.

Rows that need classes are left out for a folder without class subfolders. Prints a table and
writes it as JSON to ``--out``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_gans  # noqa: E402,F401  (first: it chooses TensorFlow's CPU kernels before TensorFlow starts)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import real_folder  # noqa: E402  (the one place a --data argument becomes a folder)


def blurred(images, sigma: float):
    import numpy as np
    from PIL import Image, ImageFilter

    return np.stack([np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma))) for image in images])


def references(images, labels, num: int, seed: int) -> dict:
    """Name -> uint8 images standing in for a generator's samples."""
    import numpy as np

    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(images), num)  # real images in their classes' proportions
    rows = {"every real image": images[drawn]}
    classes = np.unique(labels)
    if len(classes) > 1:
        members = {c: np.flatnonzero(labels == c) for c in classes}
        rows["one image per class"] = images[[members[labels[i]][0] for i in drawn]]
        rows["two images per class"] = images[[members[labels[i]][rng.integers(0, min(2, len(members[labels[i]])))]
                                               for i in drawn]]
    rows["one image in all"] = images[np.zeros(num, int)]
    rows["every real image, blur 0.7 px"] = blurred(images, 0.7)[drawn]
    rows["every real image, blur 1.2 px"] = blurred(images, 1.2)[drawn]
    noisy = images.astype(np.float32) + rng.normal(0.0, 12.0, images.shape)
    rows["every real image, noise 12/255"] = np.clip(np.round(noisy), 0, 255).astype(np.uint8)[drawn]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="an image folder (subfolders = classes) or builtin:NAME")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--num", type=int, default=2000, help="images per row, as quality.py's --num")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/kid_reference.json")
    args = parser.parse_args(argv)
    if args.num < 2:
        parser.error("--num must be at least 2")

    import numpy as np

    from keras_gans.metrics.extractors import get_extractor
    from keras_gans.metrics.fid import fid_from_features
    from keras_gans.metrics.kid import kernel_distance
    from keras_gans.metrics.real_data import load_images, real_features, scan_folder

    folder, description = real_folder(args.data, args.resolution)
    extractor = get_extractor("effnet-lite0")
    real = real_features(folder, extractor, args.resolution)
    scanned = scan_folder(folder)
    images, kept = load_images(scanned.paths, args.resolution)
    labels = np.asarray(scanned.labels)[kept]
    print(f"{description}: {len(images)} real images at {args.resolution} px, {len(np.unique(labels))} classes; "
          f"{args.num} images per row")
    table = {}
    print(f"{'stand-in generator':34s} {'KID':>15s} {'FID':>7s}")
    for name, fakes in references(images, labels, args.num, args.seed).items():
        features = extractor(fakes)
        kid, kid_std = kernel_distance(features, real.features)
        fid = fid_from_features(features, real.features)
        table[name] = {"kid": float(kid), "kid_std": float(kid_std), "fid": float(fid)}
        print(f"{name:34s} {kid:8.3f} ± {kid_std:.3f} {fid:7.1f}", flush=True)
    from keras_gans.io import write_json_atomic

    write_json_atomic(args.out, {"data": description, "resolution": args.resolution, "num": args.num,
                                 "seed": args.seed, "rows": table})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
