"""tf.distribute on a CPU: mirrored over two logical CPU devices, and two worker processes on
127.0.0.1 (MultiWorkerMirroredStrategy through TF_CONFIG).

Everything runs in subprocesses: logical devices and TF_CONFIG must be set before TensorFlow
starts.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent


def _pictures(folder: Path, count: int = 16) -> Path:
    folder.mkdir()
    rng = np.random.RandomState(0)
    for index in range(count):
        Image.fromarray(rng.randint(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return folder


def _environment(tmp_path, **extra):
    return {**os.environ, "KERAS_GANS_CACHE": str(tmp_path / "cache"), **extra}


def _train_command(data, out, kimg, *flags):
    return [sys.executable, "-m", "keras_gans.train", "--data", str(data), "--out", str(out), "--kimg", str(kimg),
            "--no-progress", *flags]


def _without_execution_setting(flags):
    """The tiny network's flags, but the preset's own steps_per_execution (4), which Keras'
    multi-step loop could not run under MirroredStrategy."""
    pairs = [flags[i:i + 2] for i in range(0, len(flags), 2)]
    return [flag for pair in pairs if pair[1] != "steps_per_execution=1" for flag in pair]


def test_mirrored_training_over_two_logical_cpus(tmp_path, tiny_stylegan_flags):
    data = _pictures(tmp_path / "pictures")
    out = tmp_path / "run"
    flags = ["--model", "stylegan", *_without_execution_setting(tiny_stylegan_flags)]
    assert len(flags) == len(tiny_stylegan_flags)
    result = subprocess.run(_train_command(data, out, 0.032, "--cpu-devices", "2", "--augment", "ada", *flags),
                            capture_output=True, text=True, timeout=600, env=_environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "strategy: MirroredStrategy, 2 replica(s)" in result.stdout
    assert "global batch 4 = 2 per replica" in result.stdout
    meta = json.loads((sorted((out / "checkpoints").iterdir())[-1] / "meta.json").read_text())
    # Images are counted once per global batch of 4, not once per replica; 8 steps = 2 executions of 4.
    assert meta["images_seen"] == 32 and meta["steps_done"] == 8
    assert (out / "generator.keras").is_file()


def _equivalence(cases):
    result = subprocess.run([sys.executable, str(HERE / "mirrored_equivalence.py"), *cases],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["case"] for row in rows] == list(cases)
    for row in rows:
        # Training moved weights by up to 0.03-4; one device and two agree to float rounding.
        assert row["largest_change"] > 1e-2, row
        assert row["max_abs_difference"] < 1e-4, row
        assert row["images_seen"][0] == row["images_seen"][1]
        if row["augment_p"] is not None:
            assert row["augment_p"][0] == pytest.approx(row["augment_p"][1], abs=1e-6)
    return rows


def test_progressive_growing_mirrored_over_two_logical_cpus(tmp_path):
    """Each grown stage is built in the strategy's scope, as the first one is: the run grows
    from 4x4 to 16x16 on two replicas and writes a generator."""
    data = _pictures(tmp_path / "pictures")
    out = tmp_path / "pggan"
    flags = ["--model", "pggan", "--resolution", "16", "--batch", "4", "--latent-dim", "16", "--set", "width_base=64",
             "--set", "width_max=16", "--set", "fade_kimg=0.016", "--set", "stable_kimg=0.016",
             "--set", "minibatch_std_group=2", "--checkpoint-every", "0.016", "--tick", "0.016", "--cpu-devices", "2"]
    result = subprocess.run(_train_command(data, out, 0.056, *flags), capture_output=True, text=True, timeout=600,
                            env=_environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replica(s)" in result.stdout
    assert "stage 8x8 from 0.016 kimg on 2 replicas" in result.stdout
    assert "stage 16x16 from 0.048 kimg on 2 replicas" in result.stdout
    assert (out / "generator.keras").is_file()


def test_two_devices_give_the_weights_of_one_device():
    """Latents, noise, augmentation, dropout and batch statistics are the global batch's, so a
    mirrored step equals a single-device step of the same global batch."""
    _equivalence(["stylegan-ada", "acgan"])


@pytest.mark.slow
def test_two_devices_give_the_weights_of_one_device_for_every_family():
    _equivalence(["stylegan", "stylegan-diffaug", "stylegan-ada", "wgan-gp", "dragan", "acgan", "fastgan"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_workers(tmp_path, command, count=2):
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(count)]}
    workers = []
    for index in range(count):
        log = open(tmp_path / f"worker{index}.log", "w")
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                   env=_environment(tmp_path, TF_CONFIG=config, TMPDIR=str(tmp_path)))
        workers.append((process, log))
    return workers


def _finish(workers, timeout=600):
    codes = []
    for process, log in workers:
        try:
            codes.append(process.wait(timeout=timeout))
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    return codes


def _log(tmp_path, index):
    return (tmp_path / f"worker{index}.log").read_text()


def _digest(text):
    return [line.split(": ")[1] for line in text.splitlines() if line.startswith("weights digest: ")]


def test_two_workers_train_identically_only_the_chief_writes_and_resume_elsewhere(tmp_path, tiny_stylegan_flags):
    data = _pictures(tmp_path / "pictures")
    out = tmp_path / "run"
    command = _train_command(data, out, 0.08, "--model", "stylegan", *tiny_stylegan_flags)
    assert _finish(_start_workers(tmp_path, command)) == [0, 0], _log(tmp_path, 0)[-3000:] + _log(tmp_path, 1)[-3000:]
    chief, worker = _log(tmp_path, 0), _log(tmp_path, 1)
    assert "2 replica(s) on 2 workers, this is worker-0 (the chief)" in chief
    assert "this is worker-1" in worker
    # 20 steps of a global batch of 4, and the same weights on both workers.
    assert "done: 0.1 kimg" in chief
    assert _digest(chief) and _digest(chief) == _digest(worker)
    # Only the chief wrote the run folder; the other worker's scratch copies are gone.
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["ckpt-000000080"]
    assert {p.name for p in out.iterdir()} >= {"config.json", "generator.keras", "logs", "samples", "checkpoints"}
    assert not list(tmp_path.glob("keras_gans-worker-*"))
    # The run resumes with another number of replicas: one process, then two logical devices.
    for kimg, flags in ((0.12, ()), (0.16, ("--cpu-devices", "2"))):
        result = subprocess.run(_train_command(data, out, kimg, *flags), capture_output=True, text=True,
                                timeout=600, env=_environment(tmp_path))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "resuming from" in result.stdout
    assert json.loads((sorted((out / "checkpoints").iterdir())[-1] / "meta.json").read_text())["images_seen"] == 160


def test_a_killed_worker_stops_the_others_with_a_message_and_a_rerun_resumes(tmp_path, tiny_stylegan_flags):
    data = _pictures(tmp_path / "pictures")
    out = tmp_path / "run"
    command = _train_command(data, out, 20, "--model", "stylegan", "--checkpoint-every", "0.04", *tiny_stylegan_flags)
    workers = _start_workers(tmp_path, command)
    try:
        deadline = time.time() + 300
        while not list((out / "checkpoints").glob("ckpt-*/meta.json")) and time.time() < deadline:
            assert all(process.poll() is None for process, _ in workers), _log(tmp_path, 0)[-3000:]
            time.sleep(0.5)
        assert list((out / "checkpoints").glob("ckpt-*/meta.json")), "no checkpoint within 5 minutes"
        os.kill(workers[1][0].pid, signal.SIGKILL)
        killed_at = time.time()
        code = workers[0][0].wait(timeout=120)
        stopped_after = time.time() - killed_at
    finally:
        _finish(workers, timeout=5)
    assert code != 0
    # The promise (within 60 s), not a speed figure: the health check aborts the
    # collectives in seconds (3-5 s measured), so the bound has a wide margin.
    assert stopped_after < 60
    message = _log(tmp_path, 0)
    assert "error: lost contact with another worker of the cluster" in message
    assert "Restart every worker with the same command to resume from ckpt-" in message
    # Rerunning resumes from the chief's last checkpoint (here as one process).
    last = sorted((out / "checkpoints").glob("ckpt-*"))[-1]
    seen = json.loads((last / "meta.json").read_text())["images_seen"]
    result = subprocess.run(_train_command(data, out, (seen + 16) / 1000), capture_output=True, text=True,
                            timeout=600, env=_environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from {last}" in result.stdout


def test_tpu_strategy_says_clearly_when_there_is_no_tpu():
    from keras_gans.training.strategy import StrategyError, select_strategy

    with pytest.raises(StrategyError, match="no TPU found here .*--strategy auto"):
        select_strategy("tpu")


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(tmp_path):
    data = _pictures(tmp_path / "pictures")
    result = subprocess.run(
        _train_command(data, tmp_path / "run", 0.01, "--cpu-devices", "2", "--set", "batch_size=5", "--set", "resolution=64"),
        capture_output=True, text=True, timeout=300, env=_environment(tmp_path),
    )
    assert result.returncode == 2
    assert "batch_size 5 does not split over 2 replicas; use a multiple of 2" in result.stderr
