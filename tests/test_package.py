"""What importing keras_gans does to TensorFlow's start-up: the oneDNN CPU kernels, whose
convolution gradients are 1.5-3.8x faster than the default Eigen ones on AVX2 CPUs
(benchmarks/conv_kernels.py). Each case starts a fresh interpreter: the choice is made when
TensorFlow starts."""
import os
import subprocess
import sys

import pytest

QUERY = "from tensorflow.python.util import _pywrap_util_port; print('ONEDNN', _pywrap_util_port.IsMklEnabled())"


def _python(code: str, **env_changes):
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    onednn = [line for line in done.stdout.splitlines() if line.startswith("ONEDNN")]
    return onednn[-1] == "ONEDNN True", done.stderr


def test_importing_keras_gans_first_turns_the_onednn_kernels_on():
    on, stderr = _python(f"import keras_gans; {QUERY}")
    assert on and "oneDNN CPU kernels off" not in stderr


def test_the_user_can_opt_out():
    on, stderr = _python(f"import keras_gans; {QUERY}", TF_ENABLE_ONEDNN_OPTS="0")
    assert not on and "oneDNN CPU kernels off" not in stderr


def test_tensorflow_started_first_gets_a_warning_that_says_what_to_do():
    on, stderr = _python(f"import tensorflow; import keras_gans; {QUERY}")
    if on:
        pytest.skip("TensorFlow turns oneDNN on by itself on this CPU (AVX-512 VNNI/BF16 or AMX): nothing to warn about")
    assert "Import keras_gans first, or set TF_ENABLE_ONEDNN_OPTS=1" in stderr
