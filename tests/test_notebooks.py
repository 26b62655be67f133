"""Every notebook runs top to bottom in a real Jupyter kernel (nbclient + ipykernel) on tiny
settings (KERAS_GANS_NOTEBOOK_TINY=1), each cell within 2 minutes, and leaves what it says it
makes."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHARED = ROOT.parent / "shared"

# What each notebook leaves in its working folder (besides what it shows).
EXPECTED = {
    "quickstart.ipynb": ["runs/notebook/generator.keras"],
    "style_mixing_and_truncation.ipynb": ["runs/mixing/generator.keras", "mixing.png", "truncation.png"],
    "acgan_class_interpolation.ipynb": ["runs/acgan/generator.keras", "class_interpolation.png"],
    "projection_and_editing.ipynb": ["runs/projection/generator.keras", "projection/w_a.npy", "projection/w_b.npy",
                                     "projection/mixed.png"],
    "paintings_pipeline.ipynb": ["paintings/manifest.jsonl", "paintings-prepared", "runs/paintings/generator.keras"],
    "evaluation_and_mode_collapse.ipynb": ["evaluation.json"],
    "progressive_growing.ipynb": ["runs/progressive/generator.keras"],
}
# Notebooks that read the team's ../shared (the scrapers' recorded API responses).
NEEDS_SHARED = {"paintings_pipeline.ipynb": "fixtures/scrapers"}


def test_every_notebook_is_listed():
    assert sorted(EXPECTED) == [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from keras_gans.data import builtin
    from keras_gans.data.folders import DatasetError

    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"the notebooks train on the built-in emoji: {error}")
    needed = NEEDS_SHARED.get(notebook.name)
    if needed and not (SHARED / needed).exists():
        pytest.skip(f"{notebook.name} needs ../shared/{needed} (the team's shared data), absent here")
    # The kernel inherits this process's environment.
    monkeypatch.setenv("KERAS_GANS_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_GANS_SHARED", str(SHARED))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in nb.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    for relative in EXPECTED[notebook.name]:
        assert (tmp_path / relative).exists(), f"{notebook.name} did not make {relative}"
