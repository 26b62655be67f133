"""benchmarks/train_throughput.py: a conditional preset runs on its synthetic batches without a
dataset to take the classes from, the printed figures are consistent, and --profile says which
operations the step's time went to."""
import json

import pytest


@pytest.fixture
def throughput(load_benchmark):
    # Not named `benchmark`: pytest-benchmark, where installed, owns that fixture name.
    return load_benchmark("train_throughput")


def test_a_conditional_preset_is_timed_with_synthetic_classes(capsys, throughput):
    small = ["latent_dim=16", "style_dim=16", "width_base=64", "width_max=16", "batch_size=4", "steps_per_execution=1"]
    # split-ops leaves TensorFlow's thread pools alone: they belong to the whole test process.
    argv = ["--preset", "stylegan-conditional-64", "--resolution", "16", "--steps", "1", "--repeats", "1",
            "--cpu-threading", "split-ops", "--profile", "2"]
    for setting in small:
        argv += ["--set", setting]
    assert throughput.main(argv) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(throughput.RESULT_PREFIX))
    result = json.loads(line[len(throughput.RESULT_PREFIX):])
    assert result["preset"] == "stylegan-conditional-64" and result["batch"] == 4
    assert result["images_per_second"] > 0 and result["gflop_per_image"] > 0
    shares = result["op_time_shares"]
    assert abs(sum(shares.values()) - 1) < 0.01 and all(share >= 0 for share in shares.values())
    assert any("Conv2D" in op for op in shares)  # the convolutions are seen, under whichever kernel's name


def test_a_negative_profile_is_refused(throughput, capsys):
    with pytest.raises(SystemExit):
        throughput.main(["--profile", "-1"])
    assert "--profile takes a number of steps" in capsys.readouterr().err
