"""AdaIN's two instance-norm kernels, forward and backward, at the shapes StyleGAN trains with.

    python benchmarks/instance_norm_kernels.py
    python benchmarks/instance_norm_kernels.py --shapes 4x128x16,16x64x16 --dtypes bfloat16

keras_gans.layers.AdaIN normalises each sample's channels in one of two ways (both the same
function, rounding differently; keras_gans/layers/style.py):
- written out: mean, variance and the affine as element-wise TensorFlow ops, with the backward
  pass written out (four element-wise passes and two reductions forward, five and two backward);
- fused: one oneDNN batch norm per sample (a sample of a channels-last batch is a contiguous
  block whose batch-norm statistics are its instance-norm statistics), forward and backward in
  two passes each, at a fixed cost per sample and call.
On a CPU, element-wise ops over bfloat16 run no faster than over float32, so the passes are what
costs; the fused kernel's fixed cost decides where it wins. AdaIN picks the fused kernel where
this script measured it faster; the last column says what it picks.

Each threading setting (keras_gans.training.strategy: parallel-ops runs each op on one core,
split-ops splits each op over the cores) runs in a fresh process, both in the same invocation,
and the script prints one table: milliseconds per forward-and-backward call (the minimum of
--rounds timings of enough calls to take about 20 ms each) and the speed-up of the fused kernel.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
RESULT_PREFIX = "INSTANCE_NORM "
# batch x side x channels: stylegan-article's AdaIN inputs at batch 4 (64, 128 and 256 px) and
# stylegan-cpu-64's at batch 16, from the coarse blocks to the full-resolution ones.
DEFAULT_SHAPES = ("4x4x128,4x8x128,4x16x128,4x32x64,4x64x32,4x128x16,4x64x64,4x128x32,4x256x16,"
                  "4x64x8,16x8x128,16x32x32,16x64x16,16x64x32")


def _measure(shapes: list[tuple[int, int, int]], dtypes: list[str], rounds: int) -> list[dict]:
    import numpy as np
    import tensorflow as tf

    from keras_gans.layers.style import (
        _can_fuse_instance_norm,
        _fused_instance_norm_affine,
        _written_out_instance_norm_affine,
    )

    results = []
    for dtype_name in dtypes:
        dtype = tf.as_dtype(dtype_name)
        for batch, side, channels in shapes:
            rng = np.random.default_rng(0)
            x = tf.cast(rng.normal(size=(batch, side, side, channels)) * 3 + 1, dtype)
            scale, bias = (tf.cast(rng.normal(size=(batch, channels)), dtype) for _ in range(2))
            upstream = tf.cast(rng.normal(size=(batch, side, side, channels)), dtype)
            row = {"dtype": dtype_name, "shape": f"{batch}x{side}x{side}x{channels}",
                   "picks_fused": bool(_can_fuse_instance_norm(x))}
            for name, kernel in (("written_out", _written_out_instance_norm_affine), ("fused", _fused_instance_norm_affine)):
                def step(x, scale, bias, kernel=kernel):
                    with tf.GradientTape() as tape:
                        tape.watch([x, scale, bias])
                        outputs = kernel(x, scale, bias, 1e-8)
                    return outputs, tape.gradient(outputs, [x, scale, bias], output_gradients=upstream)

                compiled = tf.function(step)
                compiled(x, scale, bias)[0].numpy()
                start = time.perf_counter()
                compiled(x, scale, bias)[0].numpy()
                calls = max(3, min(400, int(0.02 / max(time.perf_counter() - start, 1e-6))))
                timings = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    for _ in range(calls):
                        outputs = compiled(x, scale, bias)
                    outputs[0].numpy()
                    timings.append((time.perf_counter() - start) / calls * 1e3)
                row[f"{name}_ms"] = min(timings)
            results.append(row)
    return results


def _child(threading: str, shapes, dtypes, rounds) -> None:
    from keras_gans.training.strategy import configure_cpu_threading

    print(configure_cpu_threading(threading, batch_size=4, resolution=64), file=sys.stderr)
    print(RESULT_PREFIX + json.dumps(_measure(shapes, dtypes, rounds)), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=DEFAULT_SHAPES, help="comma-separated BATCHxSIDExCHANNELS (default: %(default)s)")
    parser.add_argument("--dtypes", default="bfloat16,float32", help="comma-separated: bfloat16, float32")
    parser.add_argument("--threading", default="parallel-ops,split-ops", help="comma-separated: parallel-ops, split-ops")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        shapes = [tuple(int(part) for part in item.split("x")) for item in args.shapes.split(",")]
        if any(len(shape) != 3 or min(shape) < 1 for shape in shapes):
            raise ValueError
    except ValueError:
        parser.error(f"--shapes: expected comma-separated BATCHxSIDExCHANNELS of positive integers, got {args.shapes!r}")
    dtypes = args.dtypes.split(",")
    if unknown := [d for d in dtypes if d not in ("bfloat16", "float32")]:
        parser.error(f"--dtypes: unknown {', '.join(unknown)}; choose from bfloat16, float32")
    threadings = args.threading.split(",")
    if unknown := [t for t in threadings if t not in ("parallel-ops", "split-ops")]:
        parser.error(f"--threading: unknown {', '.join(unknown)}; choose from parallel-ops, split-ops")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.child:
        _child(args.child, shapes, dtypes, args.rounds)
        return 0

    rows = []
    for threading in threadings:
        command = [sys.executable, os.path.abspath(__file__), "--child", threading, "--shapes", args.shapes,
                   "--dtypes", args.dtypes, "--rounds", str(args.rounds)]
        process = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in process.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if process.returncode or not lines:
            sys.stderr.write(process.stderr[-4000:])
            print(f"error: the {threading} measurement failed (exit {process.returncode}); its output is above", file=sys.stderr)
            return 1
        rows += [{"threading": threading, **row} for row in json.loads(lines[-1][len(RESULT_PREFIX):])]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'threading':13s} {'dtype':9s} {'shape':15s} {'written out':>12s} {'fused':>9s} {'speed-up':>9s}  AdaIN picks")
    for row in rows:
        print(f"{row['threading']:13s} {row['dtype']:9s} {row['shape']:15s} {row['written_out_ms']:9.3f} ms {row['fused_ms']:6.3f} ms"
              f" {row['written_out_ms'] / row['fused_ms']:8.2f}x  {'fused' if row['picks_fused'] else 'written out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
