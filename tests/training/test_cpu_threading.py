"""The CPU thread pools a run asks TensorFlow for (keras_gans.training.strategy.configure_cpu_threading).
TensorFlow fixes its pools when it starts, so each case runs in a fresh interpreter."""
import os
import subprocess
import sys

import pytest

from keras_gans.training.strategy import configure_cpu_threading

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _python(code: str) -> str:
    script = ("import keras_gans, tensorflow as tf\n"
              "from keras_gans.training.strategy import configure_cpu_threading as configure\n" + code)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


POOLS = "print('POOLS', tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())\n"


@pytest.mark.skipif(CORES < 2, reason="one core: there is nothing to run side by side")
def test_auto_runs_a_tiny_cpu_step_one_core_per_operation():
    out = _python("print(configure('auto', 4, 64))\n" + POOLS + "print('SUM', float(tf.reduce_sum(tf.ones([3]))))\n")
    assert "parallel-ops" in out and "a small step" in out
    assert f"POOLS 1 {CORES}" in out and "SUM 3.0" in out
    assert "parallel-ops" in _python("print(configure('auto', 4, 128))\n")


def test_auto_leaves_larger_steps_to_tensorflow():
    out = _python("print(configure('auto', 16, 64))\n" + POOLS)
    assert "TensorFlow's default" in out and "POOLS 0 0" in out
    out = _python("print(configure('auto', 4, 256))\n" + POOLS)
    assert "TensorFlow's default" in out and "POOLS 0 0" in out
    out = _python("print(configure('auto', 4, 64, cpu_devices=2))\n" + POOLS)  # mirrored logical CPUs
    assert "POOLS 0 0" in out


@pytest.mark.skipif(CORES < 2, reason="one core: auto never changes the pools")
def test_once_tensorflow_runs_auto_says_so_and_an_explicit_choice_is_an_error():
    out = _python(
        "tf.reduce_sum(tf.ones([3]))\n"
        "print(configure('auto', 4, 64))\n"
        "try:\n    configure('parallel-ops', 64, 256)\nexcept RuntimeError as error:\n    print('ERROR', error)\n"
    )
    assert "had already started" in out
    assert "ERROR cpu_threading=parallel-ops: TensorFlow has already started" in out and "TF_NUM_INTRAOP_THREADS=1" in out


def test_unknown_choice_names_the_choices():
    with pytest.raises(ValueError, match="unknown cpu_threading 'fast'; choose one of: auto, split-ops, parallel-ops"):
        configure_cpu_threading("fast", 4, 64)
