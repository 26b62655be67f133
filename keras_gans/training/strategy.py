"""Choosing a tf.distribute strategy: one device, all local GPUs, a multi-worker cluster or a TPU."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import tensorflow as tf

from keras_gans.hardware import usable_cores

STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
# How TensorFlow spreads a step over CPU cores: "split-ops" is its default (each operation split
# over every core, one at a time); "parallel-ops" runs each operation on one core and
# independent operations side by side; "auto" picks parallel-ops for a small step on a CPU-only,
# single-device run. A tiny step is a long chain of small operations whose split costs more
# than it saves. Measured (docs/benchmarks.md): the article's StyleGAN at batch 4 ran about 1.5x
# faster that way at 64x64, and 1-30% faster at 128x128 in float32 and bfloat16 once its
# generator's element-wise passes were cut (2026-12-05); stylegan-cpu-64 (batch 16, 64x64) was
# 4% slower and stylegan-conditional-64 (batch 8, 64x64) about even.
CPU_THREADING = ("auto", "split-ops", "parallel-ops")
SMALL_STEP_BATCH = 4  # the largest batch for which "auto" picks parallel-ops ...
SMALL_STEP_PIXELS = 4 * 128 * 128  # ... up to batch x height x width of


def is_small_step(batch_size: int, resolution: int) -> bool:
    """Whether a step is small enough for "auto" to pick parallel-ops (on a CPU-only single device)."""
    return batch_size <= SMALL_STEP_BATCH and batch_size * resolution * resolution <= SMALL_STEP_PIXELS


class StrategyError(RuntimeError):
    """The strategy asked for cannot run here (no TPU, a batch that does not split)."""


def configure_cpu_threading(choice: str, batch_size: int, resolution: int, cpu_devices: int = 0,
                            strategy: str = "auto") -> str:
    """Sets TensorFlow's CPU thread pools for ``choice`` (see CPU_THREADING) and returns a line
    saying what was chosen. Must run before TensorFlow initialises (its first operation or
    logical-device query); afterwards "auto" keeps TensorFlow's pools and says so, and
    "parallel-ops" raises an error that says what to do."""
    if choice not in CPU_THREADING:
        raise ValueError(f"unknown cpu_threading {choice!r}; choose one of: {', '.join(CPU_THREADING)}")
    default = "CPU threads: TensorFlow's default (each operation split over the cores)"
    cores = usable_cores()
    asked = choice
    if choice == "auto":
        one_cpu_device = (cpu_devices <= 1 and strategy in ("auto", "default") and not _cluster_in_tf_config()
                          and not tf.config.list_physical_devices("GPU") and not tf.config.list_physical_devices("TPU"))
        if not (one_cpu_device and cores > 1 and is_small_step(batch_size, resolution)):
            return default
        choice = "parallel-ops"
    if choice == "split-ops":
        return default
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(cores)
    except RuntimeError as error:
        if asked == "auto":
            return default + "; a small step would run faster with each operation on one core, but TensorFlow had already started"
        raise RuntimeError(
            "cpu_threading=parallel-ops: TensorFlow has already started, so its thread pools cannot change; "
            "choose it before anything runs TensorFlow, or set TF_NUM_INTRAOP_THREADS=1 and "
            f"TF_NUM_INTEROP_THREADS={cores} before Python starts ({error})") from error
    return f"CPU threads: parallel-ops (each operation on one core, up to {cores} side by side)" + (
        ": a small step" if asked == "auto" else "")


def select_strategy(name: str = "auto", cpu_devices: int = 0) -> tf.distribute.Strategy:
    """``auto``: MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored on several GPUs,
    else the default (single-device) strategy. ``cpu_devices`` > 1 splits the CPU into that many
    logical devices and mirrors over them (for testing distribution on a laptop); it must be
    called before TensorFlow initialises its devices. ``tpu`` connects to the TPU named by the
    environment (a Cloud TPU VM, or TPU_NAME) and fails clearly where there is none.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    if name == "tpu":
        return _tpu_strategy()
    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_devices)])
    if name == "multi-worker" or (name == "auto" and _cluster_in_tf_config()):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _tpu_strategy() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise StrategyError(
            f"--strategy tpu: no TPU found here ({str(error).splitlines()[0] if str(error) else type(error).__name__}). "
            "Run on a Cloud TPU VM (or set TPU_NAME to your TPU), or choose --strategy auto"
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def describe_strategy(strategy: tf.distribute.Strategy, global_batch: int) -> str:
    """One line for the log: the strategy, its replicas and each replica's share of the batch.
    Raises StrategyError when the global batch does not split evenly over the replicas."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise StrategyError(
            f"batch_size {global_batch} does not split over {replicas} replicas; "
            f"use a multiple of {replicas} (--set batch_size=...)"
        )
    if replicas == 1 and cluster_workers(strategy) == 1 and not tf.distribute.has_strategy():
        return f"strategy: none (one device); batch {global_batch}"
    line = f"strategy: {type(strategy).__name__}, {replicas} replica(s)"
    if cluster_workers(strategy) > 1:
        line += f" on {cluster_workers(strategy)} workers, this is {worker_name(strategy)}"
        line += " (the chief)" if is_chief(strategy) else ""
    if replicas > 1 or cluster_workers(strategy) > 1:
        line += f" ({', '.join(strategy.extended.worker_devices)})"
    return line + f"; global batch {global_batch} = {global_batch // replicas} per replica"


def _cluster_in_tf_config() -> bool:
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except json.JSONDecodeError:
        return False
    return len(config.get("cluster", {}).get("worker", [])) > 1


# What a collective operation raises when another worker of a MultiWorkerMirroredStrategy died
# or became unreachable (its health check aborts the collectives).
PEER_LOST_ERRORS = (
    tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError, tf.errors.AbortedError,
)


def peer_loss_reason(error: Exception) -> str:
    """The informative lines of a collective's error: which task failed and how."""
    lines = [line.strip() for line in str(error).splitlines()]
    aborted = next((line for line in lines if line.startswith("Collective ops is aborted by")), None)
    remote = next((line for line in lines if "error information from remote target" in line), None)
    parts = [part for part in (aborted, remote and remote.split(" while ")[0]) if part]
    return "; ".join(parts) if parts else f"{type(error).__name__}: {lines[0] if lines else ''}"


def _task(strategy) -> tuple[str | None, int]:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None, 0
    return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run folder: the only process, the ``chief`` task, or
    worker 0 of a cluster without a chief (TensorFlow's convention)."""
    task_type, task_id = _task(strategy)
    if task_type is None or task_type == "chief":
        return True
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_name(strategy: tf.distribute.Strategy) -> str:
    task_type, task_id = _task(strategy)
    return "this process" if task_type is None else f"{task_type}-{task_id}"


def cluster_workers(strategy: tf.distribute.Strategy) -> int:
    """How many processes (chief and workers) train together; 1 outside a cluster."""
    if _task(strategy)[0] is None:
        return 1
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(spec.get(kind, [])) for kind in ("chief", "worker")) or 1


def bfloat16_is_emulated() -> bool:
    """True where training runs on an x86 CPU without bfloat16 arithmetic (no AVX-512 BF16 and
    no AMX) and no GPU or TPU. There mixed_bfloat16 converts to float32 for every operation, and
    under oneDNN its convolutions run several times slower than in float32 (docs/benchmarks.md).
    False where it cannot tell (not Linux, not x86)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"):
        return False
    try:
        cpu = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" not in cpu and "amx_bf16" not in cpu

