"""TensorFlow's CPU convolution kernels with and without oneDNN, at the shapes GAN training uses.

    python benchmarks/conv_kernels.py
    python benchmarks/conv_kernels.py --shapes 4x64x32x16,16x64x16x16 --repeats 50

A training step spends most of its time in convolutions and their two backward kernels
(the input gradient, and the filter gradient), and R1's second-order pass adds more of both.
TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI/BF16 or AMX; on
other x86 CPUs (this machine's AMD EPYC has AVX2 only) it runs its own Eigen kernels, whose
backward passes take 2-4x the time of a forward convolution of the same FLOPs. keras_gans
therefore sets TF_ENABLE_ONEDNN_OPTS=1 unless the user has set it (keras_gans/__init__.py).

Each setting runs in a fresh process (the variable is read when TensorFlow starts), both in the
same invocation, and the script prints one table: milliseconds per call (median of --rounds
timings of --repeats calls each) and the speed-up, plus the largest difference between the two
settings' results over each output's first 64 values (relative to their largest magnitude), so
the speed-up is seen to compute the same thing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
RESULT_PREFIX = "KERNELS "
# batch x side x input channels x output channels, 3x3 kernels, stride 1, SAME padding:
# stylegan-article at 64x64 (batch 4) and stylegan-cpu-64's full-resolution layers (batch 16).
DEFAULT_SHAPES = "4x64x32x16,4x32x64x32,4x16x128x64,16x64x16x16,16x32x32x16"


def _time(function, rounds: int, repeats: int) -> float:
    function()
    function()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            result = function()
        result.numpy()
        timings.append((time.perf_counter() - start) / repeats * 1000)
    return statistics.median(timings)


def measure(shapes, rounds: int, repeats: int) -> dict:
    import tensorflow as tf

    rows = {}
    for shape in shapes:
        batch, side, cin, cout = shape
        rng = np.random.default_rng(0)
        x = tf.constant(rng.standard_normal((batch, side, side, cin), dtype=np.float32))
        w = tf.constant(rng.standard_normal((3, 3, cin, cout), dtype=np.float32))
        g = tf.constant(rng.standard_normal((batch, side, side, cout), dtype=np.float32))
        strides = [1, 1, 1, 1]
        kernels = {
            "forward": tf.function(lambda: tf.nn.conv2d(x, w, 1, "SAME")),
            "input_gradient": tf.function(lambda: tf.raw_ops.Conv2DBackpropInput(
                input_sizes=[batch, side, side, cin], filter=w, out_backprop=g, strides=strides, padding="SAME")),
            "filter_gradient": tf.function(lambda: tf.raw_ops.Conv2DBackpropFilter(
                input=x, filter_sizes=[3, 3, cin, cout], out_backprop=g, strides=strides, padding="SAME")),
        }
        key = "x".join(map(str, shape))
        rows[key] = {
            name: {"ms": round(_time(kernel, rounds, repeats), 3), "checksum": kernel().numpy().ravel()[:64].tolist()}
            for name, kernel in kernels.items()
        }
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES, help="comma-separated BATCHxSIDExCINxCOUT")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shapes = [tuple(int(v) for v in item.split("x")) for item in args.shapes.split(",") if item]
    if args.worker:
        print(RESULT_PREFIX + json.dumps(measure(shapes, args.rounds, args.repeats)), flush=True)
        return 0

    results = {}
    for setting in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, __file__, "--worker", "--shapes", args.shapes,
                   "--rounds", str(args.rounds), "--repeats", str(args.repeats)]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"the TF_ENABLE_ONEDNN_OPTS={setting} run failed:\n{done.stderr[-3000:]}")
        results[setting] = json.loads(lines[-1][len(RESULT_PREFIX):])

    print("milliseconds per call, 3x3 convolution, float32; TF_ENABLE_ONEDNN_OPTS=0 (Eigen) / =1 (oneDNN)")
    print(f"{'batch x side x cin x cout':>26} {'kernel':>16} {'Eigen':>8} {'oneDNN':>8} {'speed-up':>9} {'max diff':>9}")
    table = []
    for key in results["0"]:
        for name in results["0"][key]:
            eigen, onednn = results["0"][key][name], results["1"][key][name]
            difference = float(np.max(np.abs(np.subtract(eigen["checksum"], onednn["checksum"]))))
            scale = float(np.max(np.abs(eigen["checksum"]))) or 1.0
            speedup = eigen["ms"] / onednn["ms"]
            table.append({"shape": key, "kernel": name, "eigen_ms": eigen["ms"], "onednn_ms": onednn["ms"],
                          "speedup": round(speedup, 2), "max_relative_difference": difference / scale})
            print(f"{key:>26} {name:>16} {eigen['ms']:8.2f} {onednn['ms']:8.2f} {speedup:8.2f}x {difference / scale:9.1e}")
    if args.json:
        from keras_gans.io import write_json_atomic

        write_json_atomic(args.json, {"command": sys.argv, "rows": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
