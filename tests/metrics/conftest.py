"""Tiny generators and image folders for the metrics tests (fast: few images, small sizes)."""
import json

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _isolated_feature_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))


def write_images(folder, count, size=32, seed=0, classes=None):
    """Random smooth colour images (classes: one sub-folder each, with its own tint)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for c, name in enumerate(classes or [None]):
        target = folder / name if name else folder
        target.mkdir(exist_ok=True)
        for i in range(count):
            low = rng.uniform(0, 255, (4, 4, 3))
            low[..., c % 3] = 255 if name else low[..., c % 3]
            image = Image.fromarray(low.astype(np.uint8)).resize((size, size), Image.BILINEAR)
            image.save(target / f"{i:03d}.png")
    return folder


def tiny_generator(latent_dim=8, size=32, num_classes=0):
    import keras

    z = keras.Input((latent_dim,), name="z")
    inputs, h = [z], z
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        h = keras.layers.Add()([h, keras.layers.Flatten()(keras.layers.Embedding(num_classes, latent_dim)(label))])
    h = keras.layers.Dense(4 * 4 * 3)(h)
    h = keras.layers.Reshape((4, 4, 3))(h)
    h = keras.layers.UpSampling2D(size // 4, interpolation="bilinear")(h)
    out = keras.layers.Activation("tanh")(h)
    return keras.Model(inputs if num_classes else z, out, name="tiny_generator")


@pytest.fixture
def real_dir(tmp_path):
    return write_images(tmp_path / "real", 24, seed=1)


@pytest.fixture
def real_classes_dir(tmp_path):
    return write_images(tmp_path / "real_classes", 12, seed=2, classes=["red", "green"])


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    tiny_generator().save(run / "generator.keras")
    return run


@pytest.fixture
def conditional_run_dir(tmp_path):
    run = tmp_path / "cond_run"
    run.mkdir()
    tiny_generator(num_classes=2).save(run / "generator.keras")
    (run / "classes.json").write_text(json.dumps(["red", "green"]))
    return run
