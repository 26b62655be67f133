"""Shared test fixtures: the ../shared data folders and a quiet, deterministic Keras."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Before any test module imports TensorFlow: the package's choice of CPU kernels (oneDNN) is
# made by importing it first, and the tests should run on the kernels users get.
import keras_gans  # noqa: E402,F401
import pytest  # noqa: E402

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


def tiny_stylegan_overrides(resolution: int = 16) -> dict:
    """A StyleGAN small enough for a CPU test step in well under a second."""
    return {
        "resolution": resolution,
        "latent_dim": 16,
        "style_dim": 16,
        "mapping_layers": 2,
        "width_base": 16 * resolution,
        "width_max": 16,
        "batch_size": 4,
        "steps_per_execution": 1,
        "minibatch_std_group": 2,
    }


@pytest.fixture
def tiny_stylegan_generator(tiny_stylegan_config):
    """A tiny 16x16 StyleGAN generator whose noise counts (a trained one's noise strengths are
    not zero, a fresh one's are)."""
    import keras
    import numpy as np

    from keras_gans.layers import NoiseInjection
    from keras_gans.models.stylegan import build_generator

    def make(seed: int = 1, noise_strength: float = 0.1):
        keras.utils.set_random_seed(seed)
        model = build_generator(tiny_stylegan_config(16))
        for layer in model.get_layer("synthesis").layers:
            if isinstance(layer, NoiseInjection):
                layer.strength.assign(np.full(layer.strength.shape, noise_strength, "float32"))
        return model

    return make


@pytest.fixture
def tiny_stylegan_config():
    from keras_gans.config import apply_overrides, preset_config

    def make(resolution: int = 16, **overrides):
        config = preset_config("stylegan-cpu-64")
        return apply_overrides(config, {**tiny_stylegan_overrides(resolution), **overrides}, "test")

    return make


@pytest.fixture
def tiny_stylegan_flags():
    """``--set KEY=VALUE`` flags for the train CLI that give the tiny StyleGAN above."""
    flags = []
    for key, value in tiny_stylegan_overrides().items():
        flags += ["--set", f"{key}={value}"]
    return flags


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (benchmark-grade runs) only run when asked for with -m slow."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run it with `python3 -m pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
