"""Shared test fixtures: the ../shared data folders and a quiet, deterministic Keras."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test with a clear reason if it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the team's ../shared folder next to the repo")
    return path


@pytest.fixture
def anime_faces_dir() -> Path:
    return shared_path("data", "anime-faces-64")


@pytest.fixture
def bob_ross_dir() -> Path:
    return shared_path("data", "bob-ross-128")


@pytest.fixture
def anime_cascade_path() -> Path:
    return shared_path("models", "lbpcascade_animeface.xml")
