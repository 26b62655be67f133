"""Every generate mode on every registered model, unconditional and (where the model has one)
conditional: class-aware generation must not depend on how a model names its layers."""
import json

import pytest
from PIL import Image

from keras_gans import generate
from keras_gans.config import MODELS, ConfigError, apply_overrides, model_default_config


def _variants():
    import keras_gans  # noqa: F401  (registers every model)

    for name in sorted(MODELS):
        for conditional in (False, True):
            yield pytest.param(name, conditional, id=f"{name}-{'conditional' if conditional else 'unconditional'}")


def _saved_generator(tmp_path, model, conditional):
    """A freshly built generator saved as a .keras file with classes.json beside it, or None
    when the model has no such variant."""
    import keras

    entry = MODELS[model]
    for resolution in (32, 64):
        try:
            config = apply_overrides(model_default_config(model), {
                "resolution": resolution, "conditional": conditional, "num_classes": 3 if conditional else 0,
                "batch_size": 4, "mixed_precision": False,
            }, "test")
            generator = entry.build_generator(config)
            break
        except ConfigError as error:
            if "conditional" in str(error) or "class" in str(error):
                return None
            continue
    else:
        pytest.fail(f"{model} builds at neither 32 nor 64 pixels")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "generator.keras"
    generator.save(path)
    if conditional:
        (tmp_path / "classes.json").write_text(json.dumps(["cats", "dogs", "owls"]))
    return path, resolution, keras.saving.load_model(path, safe_mode=True, compile=False)


@pytest.mark.parametrize("model, conditional", list(_variants()))
def test_every_generate_mode_on_every_model(model, conditional, tmp_path, capsys):
    from keras_gans import generation

    saved = _saved_generator(tmp_path / "model", model, conditional)
    if saved is None:
        pytest.skip(f"{model} has no {'conditional' if conditional else 'unconditional'} variant")
    path, resolution, loaded = saved
    assert generation.is_conditional(loaded) == conditional
    if conditional:
        assert generation.num_classes(loaded) == 3  # declared by the conditioning layers, whatever their names
    out = tmp_path / "out"
    base = ["--generator", str(path)]
    assert generate.main(["grid", *base, "--out", str(out / "grid.png"), "--num", "4"]) == 0
    assert Image.open(out / "grid.png").size == (2 * resolution, 2 * resolution)
    assert generate.main(["samples", *base, "--out", str(out / "samples"), "--num", "3", "--seed", "4"]) == 0
    files = sorted(p.relative_to(out / "samples").as_posix() for p in (out / "samples").rglob("*.png"))
    if conditional:  # spread by seed: class seed % 3, so 4 is dogs, 5 owls, 6 cats
        assert files == ["cats/seed000006-cats.png", "dogs/seed000004-dogs.png", "owls/seed000005-owls.png"]
    else:
        assert files == ["seed000004.png", "seed000005.png", "seed000006.png"]
    walk = ["interpolate", *base, "--out", str(out / "walk.gif"), "--keyframes", "2", "--steps", "2"]
    assert generate.main(walk + (["--class", "dogs"] if conditional else [])) == 0
    if conditional:
        assert generate.main(["grid", *base, "--out", str(out / "owls.png"), "--num", "2", "--class", "owls"]) == 0
        assert generate.main(["interpolate", *base, "--out", str(out / "rows.png"), "--per-class", "--columns", "3"]) == 0
        assert Image.open(out / "rows.png").size == (3 * resolution, 3 * resolution)
    style_based = generation.style_parts(loaded) is not None
    for mode in ("truncation", "mixing"):
        code = generate.main([mode, *base, "--out", str(out / f"{mode}.png")])
        if style_based:
            assert code == 0 and (out / f"{mode}.png").is_file()
        else:
            assert code == 2 and "style-based" in capsys.readouterr().err


def test_to_uint8_maps_minus_one_to_one_onto_pixels_and_passes_pixels_through():
    import numpy as np

    from keras_gans.generation import to_uint8

    assert to_uint8(np.array([-1.5, -1.0, 0.0, 1.0, 2.0], np.float32)).tolist() == [0, 0, 128, 255, 255]
    pixels = np.array([[0, 17, 255]], np.uint8)
    assert to_uint8(pixels) is pixels  # already pixels: not read as [-1, 1] a second time


def test_from_uint8_is_the_inverse_of_to_uint8():
    import numpy as np

    from keras_gans.generation import from_uint8, to_uint8

    pixels = np.arange(256, dtype=np.uint8)
    signed = from_uint8(pixels)
    assert signed.dtype == np.float32 and signed.min() == -1.0 and signed.max() == 1.0
    assert (to_uint8(signed) == pixels).all()
