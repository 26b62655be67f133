"""kill -9 at random moments: a training run killed ten times, each time rerun with the same
command, resumes every time, never loads a half-written checkpoint, loses at most one
checkpoint interval, and ends with step counts, optimizer state, EMA weights and TensorBoard
steps that continued through every kill. (``pytest -m faults`` runs this with the other fault
tests: disk full, NaN rollback, corrupted checkpoints, interrupted prepare, failing servers.)"""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.faults

KILLS = 10
BATCH = 4
CHECKPOINT_EVERY_IMAGES = 16  # 4 steps: kills land before, during and after checkpoint writes
TOTAL_IMAGES = 1280  # 320 steps: ten kills ~100 images apart on a fast, quiet CPU must not reach the end


def _pictures(root):
    rng = np.random.RandomState(0)
    root.mkdir()
    for index in range(16):
        pixels = np.clip(rng.randn(16, 16, 3) * 30 + (120, 90, 60), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"{index}.png")
    return root


def _checkpoint_images(path):
    return int(path.name.split("-")[1])


def _valid_checkpoints(out):
    from keras_gans.training.checkpoints import checkpoint_problem, list_checkpoints

    return [p for p in list_checkpoints(out / "checkpoints") if (p / "meta.json").is_file() and checkpoint_problem(p) is None]


def _newest(out):
    return _newest_of(_valid_checkpoints(out))


def _newest_of(checkpoints):
    return _checkpoint_images(checkpoints[-1]) if checkpoints else -1


def _state(checkpoint):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(checkpoint / "state"))
    names = reader.get_variable_to_shape_map()

    def value(suffix):
        matches = [name for name in names if name.endswith(suffix)]
        assert len(matches) == 1, (suffix, matches)
        return reader.get_tensor(matches[0])

    ema = sorted(n for n in names if n.startswith("gan/ema_generator/") and n.endswith("kernel/.ATTRIBUTES/VARIABLE_VALUE"))
    return {
        "images_seen": int(value("gan/images_seen/.ATTRIBUTES/VARIABLE_VALUE")),
        "steps_done": int(value("gan/steps_done/.ATTRIBUTES/VARIABLE_VALUE")),
        "g_iterations": int(value("g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")),
        "d_iterations": int(value("d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")),
        "ema": np.concatenate([reader.get_tensor(n).ravel() for n in ema]),
    }


def _tensorboard_steps(out):
    """Per event file (one per process), the 'progress/kimg' steps it logged, in file order."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    files = sorted((out / "logs").glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    steps = []
    for path in files:
        logged = [event.step for event in EventFileLoader(str(path)).Load()
                  if any(value.tag == "progress/kimg" for value in event.summary.value)]
        if logged:
            steps.append(logged)
    return steps


def test_ten_kill_9s_at_random_moments_lose_at_most_one_checkpoint_interval(tmp_path, tiny_stylegan_flags):
    rng = random.Random(20261202)
    out = tmp_path / "run"
    data = _pictures(tmp_path / "pictures")
    env = {**os.environ, "KERAS_GANS_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "keras_gans.train", "--model", "stylegan", "--data", str(data), "--out", str(out),
               "--kimg", str(TOTAL_IMAGES / 1000), "--checkpoint-every", str(CHECKPOINT_EVERY_IMAGES / 1000),
               "--keep", "3", "--tick", "0.016", "--sample-every", "0.064", "--no-progress",
               *tiny_stylegan_flags]
    history = []
    for kill in range(KILLS):
        before = _valid_checkpoints(out)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        # A random moment, found by events rather than the clock so that a busy machine changes
        # nothing: every third kill lands while TensorFlow starts, restores or traces; the others
        # a random fraction of a second after a new checkpoint appeared, i.e. during training
        # steps or the next checkpoint's write.
        if kill % 3 == 0:
            time.sleep(rng.uniform(0.5, 6.0))
        else:
            deadline = time.time() + 300
            while len(_valid_checkpoints(out)) <= len(before) and _newest(out) <= _newest_of(before) \
                    and process.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.5))
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        output, _ = process.communicate(timeout=60)
        after = _valid_checkpoints(out)
        if "resuming from" in output:
            # It resumed from the newest intact checkpoint the previous process left, nothing else.
            assert before and f"resuming from {before[-1]} " in output, output[-3000:]
        # Nothing under a checkpoint's real name is half-written: every listed checkpoint verifies.
        from keras_gans.training.checkpoints import list_checkpoints

        listed = [p for p in list_checkpoints(out / "checkpoints") if (p / "meta.json").is_file()]
        assert listed == after, "a checkpoint folder under its real name failed its checksums"
        history.append({"kill": kill, "killed": not finished, "checkpoints": [_checkpoint_images(p) for p in after]})
        if finished:
            break
    assert sum(entry["killed"] for entry in history) >= KILLS - 1, history  # the kills did land

    # The same command once more finishes the run (or, if it had finished, is a no-op that exits 0).
    final = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    last = _valid_checkpoints(out)[-1]
    state = _state(last)
    # Step count, optimizer state and images seen continued through every kill, never restarted.
    assert state["images_seen"] == TOTAL_IMAGES
    assert state["steps_done"] == TOTAL_IMAGES // BATCH == state["g_iterations"]
    assert state["d_iterations"] >= state["steps_done"]
    meta = json.loads((last / "meta.json").read_text())
    assert meta["images_seen"] == TOTAL_IMAGES and meta["steps_done"] == TOTAL_IMAGES // BATCH
    # The EMA generator trained on: its weights differ from the first checkpoint's.
    first = _state(_valid_checkpoints(out)[0])
    assert np.abs(state["ema"] - first["ema"]).max() > 0
    assert (out / "generator.keras").is_file()
    # TensorBoard's step continued: each process after the first starts logging past images it
    # resumed from (not at zero), and across processes the steps only move back to a checkpoint.
    steps = _tensorboard_steps(out)
    assert len(steps) >= 2 and steps[-1][-1] == TOTAL_IMAGES
    for earlier, later in zip(steps, steps[1:]):
        assert later[0] > 0
        assert later[0] >= earlier[-1] - CHECKPOINT_EVERY_IMAGES - 16 * BATCH  # at most one interval (+ one tick) redone
    for logged in steps:
        assert logged == sorted(logged)
