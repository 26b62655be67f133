"""What tf.distribute costs on this machine: training img/s on one device against the same
global batch mirrored over 2 logical CPU devices, and against 2 worker processes on 127.0.0.1
(MultiWorkerMirroredStrategy), each case in fresh processes, interleaved, median of repeats.

    python benchmarks/distribute_overhead.py                      # stylegan-cpu-64 at 64x64
    python benchmarks/distribute_overhead.py --preset fastgan-64 --repeats 3

On a 2-core CPU the logical devices share the same two cores, so this measures the overhead of
distribution (per-replica graphs, all-reduces of every gradient, a smaller batch per replica),
not a speed-up; on several GPUs or machines each replica has its own hardware.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

RESULT = "RESULT "


def measure(preset: str, overrides: dict, steps: int, cpu_devices: int) -> None:
    """In this process: build the preset under the strategy the environment asks for and time
    ``steps`` training steps after one warm-up execution."""
    import keras_gans  # noqa: F401  (before TensorFlow starts: it chooses the CPU kernels)
    import numpy as np
    import tensorflow as tf

    from keras_gans.config import apply_overrides, preset_config
    from keras_gans.training.engine import build_gan
    from keras_gans.training.strategy import select_strategy

    strategy = select_strategy("auto", cpu_devices)
    config = apply_overrides(preset_config(preset), overrides, "benchmark")
    with strategy.scope():
        gan = build_gan(config, seed=0)
        gan.compile()
    images = np.random.RandomState(0).uniform(-1, 1, (256, config.resolution, config.resolution, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(256, "int32"))).repeat()
    dataset = dataset.batch(config.batch_size, drop_remainder=True).prefetch(4)
    spe = config.steps_per_execution
    gan.fit(dataset, steps_per_epoch=2 * spe, epochs=1, verbose=0)  # traces and warms up
    steps = max(spe, steps // spe * spe)
    start = time.perf_counter()
    gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    print(RESULT + json.dumps({"img_per_s": steps * config.batch_size / seconds, "replicas": strategy.num_replicas_in_sync}), flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(case: str, args) -> float:
    base = [sys.executable, __file__, "--measure", "--preset", args.preset, "--steps", str(args.steps),
            *sum((["--set", item] for item in args.set), [])]
    if case == "2 workers":
        cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
        processes = [
            subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
            for i in range(2)
        ]
        outputs = [process.communicate(timeout=1800)[0] for process in processes]
    else:
        devices = ["--cpu-devices", "2"] if case == "2 devices" else []
        outputs = [subprocess.run(base + devices, capture_output=True, text=True, timeout=1800).stdout]
    rows = [json.loads(line[len(RESULT):]) for output in outputs for line in output.splitlines() if line.startswith(RESULT)]
    if not rows:
        raise SystemExit(f"{case}: no result (run with --measure to see the error)")
    return rows[0]["img_per_s"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="stylegan-cpu-64")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cpu-devices", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        overrides = dict(item.split("=", 1) for item in args.set)
        return measure(args.preset, overrides, args.steps, args.cpu_devices)
    cases = ("1 device", "2 devices", "2 workers")
    figures = {case: [] for case in cases}
    for _ in range(args.repeats):
        for case in cases:  # interleaved, so a drift of the machine's speed hits every case alike
            figures[case].append(_run(case, args))
    single = statistics.median(figures["1 device"])
    print(f"{args.preset}, {args.steps} timed steps, median of {args.repeats} (runs interleaved)")
    print(f"{'case':<12} {'img/s':>8} {'vs 1 device':>12}  runs")
    for case in cases:
        median = statistics.median(figures[case])
        print(f"{case:<12} {median:8.1f} {median / single:11.2f}x  {[round(v, 1) for v in figures[case]]}")


if __name__ == "__main__":
    main()
