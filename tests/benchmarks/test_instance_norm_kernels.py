"""benchmarks/instance_norm_kernels.py end to end on tiny shapes, and its argument checks."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO_ROOT / "benchmarks" / "instance_norm_kernels.py")


def test_times_both_kernels_under_both_threadings_and_says_which_adain_picks():
    process = subprocess.run(
        [sys.executable, SCRIPT, "--shapes", "2x16x16,1x64x32", "--dtypes", "float32", "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    rows = json.loads(process.stdout.strip().splitlines()[-1])
    assert [(row["threading"], row["shape"]) for row in rows] == [
        ("parallel-ops", "2x16x16x16"), ("parallel-ops", "1x64x64x32"), ("split-ops", "2x16x16x16"), ("split-ops", "1x64x64x32")]
    assert all(row["written_out_ms"] > 0 and row["fused_ms"] > 0 for row in rows)
    # AdaIN's rule: 16x16 is fused only with one thread per op; 64x64x32 (2^17 values) always.
    assert [row["picks_fused"] for row in rows] == [True, True, False, True]


@pytest.mark.parametrize("arguments, message", [
    (["--shapes", "4x64"], "BATCHxSIDExCHANNELS"),
    (["--dtypes", "float16"], "unknown float16"),
    (["--threading", "fast"], "unknown fast"),
])
def test_rejects_bad_arguments_with_a_message(arguments, message):
    process = subprocess.run([sys.executable, SCRIPT, *arguments], capture_output=True, text=True, timeout=120)
    assert process.returncode == 2 and message in process.stderr
