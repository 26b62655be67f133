"""Every notebook runs top to bottom on tiny settings (code cells executed in order)."""
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_GANS_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    from keras_gans.data import builtin
    from keras_gans.data.folders import DatasetError

    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"the notebook trains on the built-in emoji: {error}")
    namespace = {"__name__": "__notebook__"}
    cells = json.loads(notebook.read_text())["cells"]
    for index, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
        exec(compile("".join(cell["source"]), f"{notebook.name}[cell {index}]", "exec"), namespace)
    assert (tmp_path / "runs" / "notebook" / "generator.keras").is_file()
