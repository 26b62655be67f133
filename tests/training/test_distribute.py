"""tf.distribute on a CPU: the train command mirrored over two logical CPU devices.

Runs in a subprocess because logical devices must be configured before TensorFlow starts.
"""
import json
import subprocess
import sys

import numpy as np
from PIL import Image


def test_mirrored_training_over_two_logical_cpus(tmp_path, tiny_stylegan_flags):
    data = tmp_path / "pictures"
    data.mkdir()
    rng = np.random.RandomState(0)
    for index in range(16):
        Image.fromarray(rng.randint(0, 255, (20, 20, 3), dtype=np.uint8)).save(data / f"{index}.png")
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "keras_gans.train", "--model", "stylegan", "--data", str(data),
        "--out", str(out), "--kimg", "0.024", "--cpu-devices", "2", "--no-progress", *tiny_stylegan_flags,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ, "KERAS_GANS_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoints = sorted((out / "checkpoints").iterdir())
    meta = json.loads((checkpoints[-1] / "meta.json").read_text())
    # Images are counted once per global batch of 4, not once per replica.
    assert meta["images_seen"] == 24 and meta["steps_done"] == 6
    assert (out / "generator.keras").is_file()
