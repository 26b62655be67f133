"""keras_gans.prepare killed part way (SIGKILL, parallel workers), rerun: same DST as one clean run."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_gans.data.preparation import PrepareOptions, prepare_dataset

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
COUNT = 160


def outputs(root: Path) -> dict[str, str]:
    """Everything a user consumes: images and per-file reports (summary has run timings)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("summary") and ".prepare" not in p.parts
    }


def journal_lines(dst: Path) -> int:
    path = dst / ".prepare" / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_killed_run_resumes_to_the_same_result(tmp_path):
    src = tmp_path / "src"
    rng = np.random.default_rng(0)
    for i in range(COUNT):
        folder = src / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        grid = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        Image.fromarray(grid, "RGB").resize((160, 120), Image.BICUBIC).save(folder / f"img{i:03d}.png")
    (src / "a" / "img001.png").write_bytes((src / "b" / "img000.png").read_bytes())  # one duplicate
    (src / "b" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")

    reference = tmp_path / "reference"
    prepare_dataset(src, reference, PrepareOptions(resolution=48, dedupe="near", workers=1), progress=False, log=None)

    dst = tmp_path / "dst"
    command = [sys.executable, "-m", "keras_gans.prepare", str(src), str(dst), "--resolution", "48",
               "--dedupe", "near", "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while journal_lines(dst) < 10 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, mid-flight
        process.wait()
        process.stderr.close()
    done = journal_lines(dst)
    if process.returncode == 0 or done >= COUNT + 1:
        pytest.skip(f"the run finished ({done} sources) before it could be killed")
    assert process.returncode == -signal.SIGKILL and done >= 10
    assert not (dst / "manifest.jsonl").exists()

    summary = prepare_dataset(src, dst, PrepareOptions(resolution=48, dedupe="near", workers=1),
                              progress=False, log=None)
    assert summary.last_run["resumed"] >= 10
    assert summary.last_run["resumed"] + summary.last_run["processed"] == COUNT + 1
    assert outputs(dst) == outputs(reference)
    assert not [p for p in dst.rglob("*") if ".tmp-" in p.name], "no temporaries may survive"
