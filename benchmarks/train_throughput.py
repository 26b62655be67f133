"""Training throughput of StyleGAN: images/s, ms per step, peak memory and achieved GFLOP/s
as a fraction of a float32 matmul measured in the same process.

    python benchmarks/train_throughput.py                      # stylegan-article at 64, 128, 256
    python benchmarks/train_throughput.py --mixed-precision    # the same in mixed_bfloat16
    python benchmarks/train_throughput.py --resolutions 64 --set share_fakes=false
    python benchmarks/train_throughput.py --resolutions 128 --mixed-precision --profile 20

--profile N runs N more steps under TensorFlow's profiler after the timed ones and prints where
the step's time goes: each kind of operation's share of the time TensorFlow's worker threads
spent running operations (summed over threads, so it holds on a busy machine too, where absolute
times do not).

Each resolution runs in a fresh process (clean peak memory) on synthetic data, so the figure is
the training step alone; benchmarks/input_pipeline.py shows the data pipeline is faster still.
FLOPs are counted with TensorFlow's FLOP statistics on the compiled step's live ops (2 per
multiply-add; ops Grappler prunes before running are not counted), and the compiled step is timed
directly, so fit()'s per-call start-up cost is not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SYNTHETIC_CLASSES = 10
RESULT_PREFIX = "RESULT "


def matmul_gflops(size: int = 2048, seconds: float = 2.0) -> float:
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    run = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    run().numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run().numpy()
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - start) / 1e9


def live_flops(graph) -> float:
    """Float operations of the ops of ``graph`` that its outputs and side effects depend on.

    Differentiating a convolution puts both its input and its filter gradients in the graph even
    when only one is used (the generator's step needs no filter gradients of D); Grappler prunes
    the dead one before running. The article's count (article_anchor.py) cuts out the subgraph
    of what its training functions fetch, so this counts only what runs, the same way."""
    from tensorflow.python.framework import ops as tf_ops

    roots = list(getattr(graph, "outputs", [])) + list(getattr(graph, "control_outputs", []))
    pending = [t.op if hasattr(t, "op") else t for t in roots]
    # Stateful ops (variable updates, optimizer applies) run for their effect.
    pending += [op for op in graph.get_operations() if op._is_stateful and op.type not in ("VarHandleOp", "Placeholder")]
    live = set()
    while pending:
        op = pending.pop()
        if op.name in live:
            continue
        live.add(op.name)
        pending.extend(t.op for t in op.inputs)
        pending.extend(op.control_inputs)
    total = 0
    for op in graph.get_operations():
        if op.name not in live:
            continue
        try:
            total += tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
        except (ValueError, TypeError):  # no FLOP statistics registered for this op type
            pass
    return float(total)


def step_flops(gan, resolution: int, batch: int) -> float:
    """FLOPs of one compiled training step (2 per multiply-add), counting only live ops."""
    import tensorflow as tf

    images = tf.zeros((batch * gan.config.n_critic, resolution, resolution, gan.config.channels))
    labels = tf.zeros((batch * gan.config.n_critic,), tf.int32)
    concrete = tf.function(lambda x, y: gan.train_step((x, y))).get_concrete_function(images, labels)
    graphs = [concrete.graph] + [f.graph for f in concrete.graph._functions.values() if hasattr(f, "graph")]
    return sum(live_flops(graph) for graph in graphs)


def op_time_shares(logdir: str) -> dict[str, float]:
    """Each op type's share of the time the profiler saw TensorFlow's compute threads run ops."""
    import collections
    import glob

    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    if not paths:
        raise SystemExit(f"the profiler wrote no trace under {logdir}")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as handle:
        space.ParseFromString(handle.read())
    seconds = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Ops are "layer/op_name:OpType"; the executor's own spans ("ExecutorState::Process")
                # enclose them and would count their time twice.
                if ":" in name and "::" not in name:
                    seconds[name.rsplit(":", 1)[1]] += event.duration_ps * 1e-12
    total = sum(seconds.values())
    return {op: round(value / total, 4) for op, value in seconds.most_common()} if total else {}


def measure(args) -> dict:
    import keras_gans  # noqa: F401  (before TensorFlow starts: it chooses the CPU kernels)
    import numpy as np
    import resource
    import tensorflow as tf

    from keras_gans.config import apply_overrides, preset_config
    from keras_gans.models.stylegan import article_preset
    from keras_gans.training.engine import build_gan
    from keras_gans.training.strategy import configure_cpu_threading

    resolution = args.resolution
    config = article_preset(resolution) if args.preset == "stylegan-article" else preset_config(args.preset)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides["resolution"] = resolution
    if args.mixed_precision:
        overrides["mixed_precision"] = True
    if args.xla:
        overrides["jit_compile"] = True
    if args.preset == "stylegan-article":
        overrides.pop("resolution")
    if config.conditional and "num_classes" not in overrides:
        # Conditional presets take their classes from a dataset; the synthetic batches have ten,
        # the built-in faces' count.
        overrides["num_classes"] = SYNTHETIC_CLASSES
    config = apply_overrides(config, overrides, "benchmark")
    # As `python -m keras_gans.train` does before TensorFlow starts (tiny steps: one core per op).
    threading = configure_cpu_threading(args.cpu_threading, config.batch_size, config.resolution)
    gan = build_gan(config, seed=0)
    gan.compile()
    batch = config.batch_size * config.n_critic
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (max(64, batch * 4), resolution, resolution, config.channels)).astype("float32")
    labels = (np.arange(len(images)) % max(1, config.num_classes)).astype("int32")
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(batch, drop_remainder=True).prefetch(8)
    )
    # The compiled step is timed directly: fit() adds a start-up and tear-down cost per call
    # (dataset iterators, callbacks) that long training runs pay once, not per step.
    iterator = iter(dataset)
    compiled = tf.function(gan.train_step, jit_compile=config.jit_compile)
    step = lambda: compiled(next(iterator))  # noqa: E731  (XLA cannot compile the iterator)
    for _ in range(3):
        float(step()["d_loss"])  # trace, compile, warm up
    steps = max(1, int(args.steps))
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(steps):
            logs = step()
        float(logs["d_loss"])
        rates.append(steps * config.batch_size / (time.perf_counter() - start))
    images_per_second = statistics.median(rates)
    shares = None
    if args.profile:
        import tempfile

        with tempfile.TemporaryDirectory() as logdir:
            tf.profiler.experimental.start(logdir)
            for _ in range(args.profile):
                logs = step()
            float(logs["d_loss"])
            tf.profiler.experimental.stop()
            shares = op_time_shares(logdir)
    flops = step_flops(gan, resolution, config.batch_size)
    matmul = matmul_gflops()
    achieved = flops * images_per_second / config.batch_size / 1e9
    return {
        "preset": args.preset,
        "resolution": resolution,
        "batch": config.batch_size,
        "mixed_precision": config.mixed_precision,
        "xla": config.jit_compile,
        "cpu_threading": threading,
        "settings": overrides,
        "images_per_second": round(images_per_second, 1),
        "all_runs": [round(r, 1) for r in rates],
        "ms_per_step": round(1000 * config.batch_size / images_per_second, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "gflop_per_image": round(flops / config.batch_size / 1e9, 2),
        "achieved_gflops": round(achieved, 1),
        "matmul_gflops": round(matmul, 1),
        "fraction_of_matmul": round(achieved / matmul, 3),
        "op_time_shares": shares,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="stylegan-article")
    parser.add_argument("--resolutions", default="64,128,256")
    parser.add_argument("--resolution", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help="timed steps per run (default: by resolution)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--xla", action="store_true")
    from keras_gans.training.strategy import CPU_THREADING

    parser.add_argument("--cpu-threading", default="auto", choices=CPU_THREADING,
                        help="TensorFlow's CPU thread pools, as train's --cpu-threading (default auto)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS",
                        help="also profile this many steps and print each op type's share of the time")
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    args = parser.parse_args(argv)
    if args.profile < 0:
        parser.error(f"--profile takes a number of steps (0 for none), not {args.profile}")
    if args.resolution:  # child process
        if not args.steps:
            args.steps = {64: 64, 128: 24, 256: 8}.get(args.resolution, 8)
        print(RESULT_PREFIX + json.dumps(measure(args)), flush=True)
        return 0
    results = []
    for resolution in [int(r) for r in args.resolutions.split(",")]:
        command = [sys.executable, __file__, "--resolution", str(resolution), "--preset", args.preset,
                   "--steps", str(args.steps), "--repeats", str(args.repeats), "--cpu-threading", args.cpu_threading]
        command += ["--mixed-precision"] * args.mixed_precision + ["--xla"] * args.xla
        command += ["--profile", str(args.profile)] * bool(args.profile)
        for item in args.set:
            command += ["--set", item]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        output = subprocess.run(command, capture_output=True, text=True, env=env)
        lines = [line for line in output.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if output.returncode != 0 or not lines:
            print(output.stderr[-3000:], file=sys.stderr)
            return 1
        result = json.loads(lines[-1][len(RESULT_PREFIX):])
        results.append(result)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(
                f"{result['preset']} {resolution}x{resolution} batch {result['batch']}"
                f"{' bf16' if result['mixed_precision'] else ''}{' xla' if result['xla'] else ''} "
                f"({result['cpu_threading']}): "
                f"{result['images_per_second']} img/s (runs {result['all_runs']}), {result['ms_per_step']} ms/step, "
                f"peak {result['peak_rss_mib']:.0f} MiB, {result['gflop_per_image']} GFLOP/img, "
                f"{result['achieved_gflops']} GFLOP/s = {100 * result['fraction_of_matmul']:.0f}% of matmul "
                f"({result['matmul_gflops']} GFLOP/s)",
                flush=True,
            )
            if result["op_time_shares"]:
                shares = result["op_time_shares"]
                convolutions = sum(share for op, share in shares.items() if "Conv" in op)
                top = ", ".join(f"{op} {100 * share:.1f}%" for op, share in list(shares.items())[:12])
                print(f"  time by op type: convolutions (forward and backward) {100 * convolutions:.1f}%; {top}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
