"""Export: each format reloads with its own runtime and matches Keras (SavedModel 1e-4, ONNX and
LiteRT 1e-3) for the same latents, truncation, class and noise; every kind of generator exports;
the CLI writes the folder atomically and says what is wrong."""
import json

import numpy as np
import pytest

from keras_gans import export
from keras_gans.config import apply_overrides, preset_config
from keras_gans.export import ExportableGenerator, example_inputs, export_generator, keras_reference, run_export
from keras_gans.training.engine import build_gan


@pytest.fixture
def generator(tiny_stylegan_generator):
    model = tiny_stylegan_generator(seed=2, noise_strength=0.3)
    # A trained generator's mean w is not zero either; truncation must move pictures.
    model.get_layer("truncation").w_avg.assign(np.linspace(-1, 1, 16).astype("float32"))
    return model


@pytest.mark.parametrize("format", ["saved_model", "onnx", "litert"])
def test_each_format_reloads_with_its_runtime_and_matches_keras(generator, tmp_path, format):
    description = export_generator(generator, format, tmp_path / "out")
    assert description["check"]["max_abs_difference"] <= export.TOLERANCES[format]
    path = tmp_path / "out" / description["model"]
    names = [spec["name"] for spec in description["inputs"]]
    assert names[:2] == ["z", "psi"] and len(names) == 2 + 6  # 2 noise maps per resolution 4, 8, 16
    # New inputs, a batch of another size, and psi differing per sample: the first sample
    # untruncated, the second at the mean w, the third in between.
    exportable = ExportableGenerator(generator)
    inputs = example_inputs(exportable, [10, 11, 12])
    inputs["psi"] = np.asarray([1.0, 0.0, 0.5], np.float32)
    exported = run_export(format, path, inputs)
    tolerance = export.TOLERANCES[format]
    for index, psi in enumerate(inputs["psi"]):
        single = {name: value[index : index + 1] for name, value in inputs.items()}
        single["psi"] = np.asarray([psi], np.float32)
        np.testing.assert_allclose(exported[index : index + 1], keras_reference(generator, single), atol=tolerance)
    # The noise inputs matter: other noise, another picture.
    noisier = {**inputs, **{name: value * -1 for name, value in inputs.items() if name.startswith("noise")}}
    assert np.max(np.abs(run_export(format, path, noisier) - exported)) > 1e-3
    saved = np.load(tmp_path / "out" / "example_inputs.npz")
    assert saved["expected_image"].shape == (4, 16, 16, 3)


def _tiny(preset, **overrides):
    config = apply_overrides(preset_config(preset), overrides, "test")
    return build_gan(config, seed=0).ema_generator


@pytest.mark.parametrize("preset, overrides, expected_inputs", [
    ("stylegan-conditional-64", {"resolution": 16, "latent_dim": 16, "style_dim": 16, "mapping_layers": 2,
                                  "width_base": 256, "width_max": 16, "num_classes": 3}, ["z", "psi", "label"]),
    ("stylegan-article", {"resolution": 16, "latent_dim": 16, "style_dim": 16, "mapping_layers": 2}, ["z", "psi"]),
    ("fastgan-64", {"generator_width": 4, "discriminator_width": 4}, ["z"]),
    ("dcgan-64", {"resolution": 16, "generator_width": 8, "discriminator_width": 8, "latent_dim": 16}, ["z"]),
])
def test_every_kind_of_generator_exports(tmp_path, preset, overrides, expected_inputs):
    generator = _tiny(preset, **overrides)
    description = export_generator(generator, "saved_model", tmp_path / "out")
    names = [spec["name"] for spec in description["inputs"]]
    assert names[: len(expected_inputs)] == expected_inputs
    assert all(name.startswith("noise_") for name in names[len(expected_inputs):])
    assert description["check"]["max_abs_difference"] <= 1e-4
    if preset == "stylegan-article":  # the article's one noise image, cropped per resolution
        assert [spec["meaning"].split(":")[0] for spec in description["inputs"][2:]] == ["uniform [0, 1)"]


def test_cli_writes_the_folder_and_replaces_an_old_export(generator, tmp_path, capsys):
    path = tmp_path / "generator.keras"
    generator.save(path)
    out = tmp_path / "exported"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier export")
    assert export.main(["--generator", str(path), "--format", "saved_model", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "checked: reloaded with its runtime, max |difference| from Keras" in printed
    assert sorted(p.name for p in out.iterdir()) == ["example_inputs.npz", "export.json", "saved_model"]
    assert json.loads((out / "export.json").read_text())["output"]["range"] == [-1, 1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".exported")]


def test_cli_says_what_is_wrong(tmp_path, capsys):
    assert export.main(["--run", str(tmp_path / "missing"), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export.main(["--run", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "o")])
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_a_mixed_precision_generator_is_refused_with_a_reason(tiny_stylegan_config):
    generator = build_gan(tiny_stylegan_config(16, mixed_precision=True), seed=0).generator
    with pytest.raises(export.ExportError, match="mixed precision; exports are float32 only"):
        export_generator(generator, "saved_model", "/nonexistent/never-written")
