"""Feature-extraction speed on CPU for each metrics extractor (images/s).

    python benchmarks/metrics_speed.py [--images 200] [--resolution 64] [--batch-size 50]
        [--inception-weights PATH]

Runs on the CPU (CUDA hidden) with random uint8 images at the given resolution; each extractor
resizes them to its own input size (224 for EfficientNet-Lite0, 299 for InceptionV3). The
Inception extractor with real weights is timed only when they are available (cached Keras
download or --inception-weights); the FID Inception network is always timed, with random weights
when its file is not given (the speed does not depend on the values).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--inception-weights")
    args = parser.parse_args(argv)

    from keras_gans.metrics.effnet_lite import WeightsUnavailable
    from keras_gans.metrics.extractors import EXTRACTORS, get_extractor, inception_weights_available

    images = np.random.default_rng(0).integers(0, 256, (args.images, args.resolution, args.resolution, 3), np.uint8)
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"{args.images} images of {args.resolution}px, batch {args.batch_size}")
    extractors = []
    for name in EXTRACTORS:
        if name == "inception" and not inception_weights_available(args.inception_weights):
            print(f"{name:>13}: Keras/file weights skipped, none available (not cached in ~/.keras/models "
                  "and no --inception-weights PATH)")
            continue
        try:
            extractors.append((get_extractor(name, args.inception_weights), ""))
        except WeightsUnavailable as error:
            print(f"{name:>13}: skipped, {error}")
    if not any(extractor.label == "inception-fid" for extractor, _ in extractors):
        extractors.append((fid_inception_random_weights(), " (random weights: speed only)"))
    for extractor, note in extractors:
        extractor(images[: args.batch_size], batch_size=args.batch_size)  # warm-up: tracing
        start = time.perf_counter()
        extractor(images, batch_size=args.batch_size)
        elapsed = time.perf_counter() - start
        print(f"{extractor.label:>13}: {args.images / elapsed:8.1f} images/s "
              f"({extractor.input_size}px input, {extractor.feature_dim}-d features){note}")
    return 0


def fid_inception_random_weights():
    from keras_gans.metrics import fid_inception
    from keras_gans.metrics.extractors import FeatureExtractor

    return FeatureExtractor("inception", "inception-fid", fid_inception.build_fid_inception(), fid_inception.INPUT_SIZE,
                            1 / 127.5, -1.0, "FID Inception, random weights", antialias=False)


if __name__ == "__main__":
    sys.exit(main())
