"""Two tiny trained runs for the gallery tests, trained once per session through the train CLI:
a conditional StyleGAN (classes "red sky" and "blue/sea", so class names need slugs) and an
unconditional DCGAN (a model without a style space)."""
import os

import numpy as np
import pytest
from PIL import Image

TINY_STYLEGAN = {"resolution": 16, "latent_dim": 16, "style_dim": 16, "mapping_layers": 2, "width_base": 256,
                 "width_max": 16, "batch_size": 4, "steps_per_execution": 1, "minibatch_std_group": 2}


def _pictures(root):
    rng = np.random.RandomState(0)
    for klass, colour in (("red sky", (200, 40, 40)), ("blue&sea", (40, 40, 200))):
        (root / klass).mkdir(parents=True)
        for index in range(8):
            pixels = np.clip(rng.randn(16, 16, 3) * 20 + colour, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / klass / f"{index}.png")
    return root


def _flags(settings):
    flags = []
    for key, value in settings.items():
        flags += ["--set", f"{key}={value}"]
    return flags


@pytest.fixture(scope="session")
def gallery_runs(tmp_path_factory):
    """{"styled": conditional StyleGAN run folder, "plain": DCGAN run folder}."""
    from keras_gans import train

    base = tmp_path_factory.mktemp("gallery-runs")
    previous = os.environ.get("KERAS_GANS_CACHE")
    os.environ["KERAS_GANS_CACHE"] = str(base / "cache")
    try:
        data = _pictures(base / "pictures")
        common = ["--data", str(data), "--kimg", "0.016", "--no-progress", "--tick", "0.016",
                  "--sample-every", "0.016", "--checkpoint-every", "0.016"]
        styled, plain = base / "styled", base / "plain"
        assert train.main(["--model", "stylegan", "--conditional", "--out", str(styled), *common, *_flags(TINY_STYLEGAN)]) == 0
        assert train.main(["--model", "dcgan", "--resolution", "16", "--out", str(plain), *common,
                           *_flags({"batch_size": 4, "latent_dim": 16, "steps_per_execution": 1})]) == 0
    finally:
        if previous is None:
            os.environ.pop("KERAS_GANS_CACHE", None)
        else:
            os.environ["KERAS_GANS_CACHE"] = previous
    return {"styled": styled, "plain": plain}


@pytest.fixture(scope="session")
def built_site(gallery_runs, tmp_path_factory):
    from keras_gans.gallery.site import build_site

    site = tmp_path_factory.mktemp("site")
    build_site([gallery_runs["styled"], gallery_runs["plain"]], site, per_room=4, truncation=0.7, log=lambda *_: None)
    return site
