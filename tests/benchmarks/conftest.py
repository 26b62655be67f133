"""The ``load_benchmark`` fixture: a script from benchmarks/ as a module (the folder is not a package)."""
import importlib.util
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_benchmark_script(name: str):
    # Scripts import their sibling modules (e.g. quality's helpers) by plain name.
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_benchmark():
    return load_benchmark_script
