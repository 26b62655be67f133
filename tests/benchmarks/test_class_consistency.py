"""benchmarks/class_consistency.py end to end on tiny settings: the real digits, both models, figures."""
import json

import pytest

# The same tiny StyleGAN as tests/conftest.py's tiny_stylegan_overrides, as --set strings.
TINY_STYLEGAN = {"latent_dim": 16, "style_dim": 16, "mapping_layers": 2, "width_base": 256, "width_max": 16,
                 "minibatch_std_group": 2}


@pytest.fixture
def class_consistency(load_benchmark):
    return load_benchmark("class_consistency")


def test_digits_are_real_grayscale_and_labelled(class_consistency):
    images, labels, classes, mirror = class_consistency.load_labelled("sklearn-digits", 16)
    assert images.shape == (1797, 16, 16, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert classes == [str(d) for d in range(10)]
    assert sorted(set(labels.tolist())) == list(range(10))
    assert not mirror  # a mirrored 3 is not a 3


def test_runs_both_models_and_reports_figures(tmp_path, class_consistency):
    settings = ["acgan.generator_width=32", "acgan.width_max=32"] + [f"stylegan.{k}={v}" for k, v in TINY_STYLEGAN.items()]
    out = tmp_path / "figures.json"
    argv = ["--data", "sklearn-digits", "--resolution", "16", "--budget-seconds", "0.1", "--batch", "8",
            "--classifier-epochs", "1", "--samples-per-class", "3", "--json", str(out), "--out", str(tmp_path)]
    for setting in settings:
        argv += ["--set", setting]
    results = class_consistency.main(argv)

    assert json.loads(out.read_text()) == results
    assert 0.0 <= results["real_held_out_accuracy"] <= 1.0
    assert set(results["models"]) == {"acgan", "stylegan"}
    for name, figures in results["models"].items():
        assert 0.0 <= figures["generated_accuracy"] <= 1.0
        assert len(figures["generated_per_class"]) == 10
        assert figures["kimg"] > 0
        assert (tmp_path / f"{name}_generator.keras").is_file()
        assert (tmp_path / f"{name}_classes.png").is_file()
    assert results["models"]["acgan"]["settings"] == {"generator_width": "32", "width_max": "32"}


def test_bad_setting_is_a_clear_error(class_consistency):
    with pytest.raises(SystemExit, match="LABEL.KEY=VALUE"):
        class_consistency.model_overrides(["generator_width=32"])


def test_one_model_twice_needs_its_own_label(class_consistency):
    assert class_consistency.model_runs("acgan, stylegan, acgan_paper=acgan") == [
        ("acgan", "acgan"), ("stylegan", "stylegan"), ("acgan_paper", "acgan")]
    with pytest.raises(SystemExit, match="its own label"):
        class_consistency.model_runs("acgan,acgan")


@pytest.mark.parametrize("setting, message", [
    ("dcgan.batch_size=4", "which --models does not run"),
    ("acgan.no_such_setting=1", "no setting 'no_such_setting'"),
])
def test_bad_settings_fail_before_any_training(setting, message, class_consistency):
    with pytest.raises(SystemExit, match=message):
        class_consistency.main(["--data", "sklearn-digits", "--resolution", "16", "--set", setting])
