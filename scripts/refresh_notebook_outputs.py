"""Run notebooks for real and store them with their outputs, figures made small, so that they
read well on a code host. (The tests run them on tiny settings and keep no outputs.)

    python scripts/refresh_notebook_outputs.py notebooks/style_mixing_and_truncation.ipynb
    python scripts/refresh_notebook_outputs.py notebooks/*.ipynb --reuse runs/mixing=~/runs/faces
    python scripts/refresh_notebook_outputs.py notebooks/paintings_pipeline.ipynb --tiny

Each notebook runs in a Jupyter kernel in ``--workdir`` (default ``notebooks/.work``, ignored by
git) with a cell timeout of ``--timeout`` seconds. ``--reuse NAME=PATH`` copies a trained run
into the work folder first, so a notebook that finds ``NAME`` already trained skips its training.
``--tiny`` runs the test settings instead (for a notebook whose full run needs the internet);
the notebook's metadata records which settings made its outputs.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MAX_WIDTH = 480


def shrink_png(data: str) -> str:
    """A base64 JPEG at most MAX_WIDTH wide for a base64 PNG figure: sheets of generated
    pictures are photographs as far as compression goes, and a tenth of the PNG's size."""
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=75, optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def is_runtime_chatter(line: str) -> bool:
    """TensorFlow's C++ start-up log lines (oneDNN, CUDA probes), which say nothing to a reader."""
    return line.startswith(("I0000 ", "W0000 ", "E0000 ", "WARNING: All log messages before absl"))


def as_terminal_shows(text: str) -> str:
    """What a terminal leaves on screen of text with carriage returns: a progress bar redrawn
    hundreds of times becomes its last state instead of hundreds of lines in the notebook."""
    lines = []
    for line in text.split("\n"):
        drawn = [part for part in line.split("\r") if part]
        lines.append(drawn[-1] if drawn else "")
    return "\n".join(lines)


def merged_streams(outputs: list) -> list:
    """Consecutive outputs of one stream (a kernel sends a progress bar in many messages) as one."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def tidy(outputs: list) -> list:
    kept = []
    for output in merged_streams(outputs):
        data = output.get("data", {})
        if "image/png" in data:
            data["image/jpeg"] = shrink_png(data.pop("image/png"))
        if output.get("output_type") == "stream":
            text = as_terminal_shows(output["text"])
            lines = [line for line in text.splitlines(keepends=True) if not is_runtime_chatter(line)]
            if not lines:
                continue
            output["text"] = "".join(lines)
        kept.append(output)
    return kept


def refresh(path: Path, workdir: Path, timeout: int, tiny: bool) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    environment = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if tiny:
        environment["KERAS_GANS_NOTEBOOK_TINY"] = "1"
    os.environ.update(environment)
    if not tiny:
        os.environ.pop("KERAS_GANS_NOTEBOOK_TINY", None)
    started = time.time()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    for cell in notebook.cells:
        if "outputs" in cell:
            cell["outputs"] = tidy(cell["outputs"])
    notebook.metadata["keras_gans"] = {
        "outputs": "tiny test settings (KERAS_GANS_NOTEBOOK_TINY=1)" if tiny else "full settings",
        "executed": time.strftime("%Y-%m-%d"),
        "minutes": round((time.time() - started) / 60, 1),
    }
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)
    print(f"{path}: {notebook.metadata['keras_gans']['minutes']} min, {path.stat().st_size / 1024:.0f} KiB", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--workdir", type=Path, default=ROOT / "notebooks" / ".work")
    parser.add_argument("--reuse", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    for item in args.reuse:
        name, _, source = item.partition("=")
        if not source or not Path(source).expanduser().is_dir():
            parser.error(f"--reuse {item}: give NAME=PATH with PATH a run folder")
        target = args.workdir / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(source).expanduser(), target)
    for path in args.notebooks:
        refresh(path.resolve(), args.workdir.resolve(), args.timeout, args.tiny)
    return 0


if __name__ == "__main__":
    sys.exit(main())
