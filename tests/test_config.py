"""Config resolution: preset, then file (TOML or JSON), then flags; typed coercion; diffs."""
import json

import pytest

from keras_gans.config import ConfigError, config_differences, config_from_dict, config_to_dict, preset_config
from keras_gans.train import build_parser, resolve_config


def _resolve(argv):
    return resolve_config(build_parser().parse_args(argv))


def test_precedence_preset_then_file_then_flags(tmp_path):
    toml = tmp_path / "model.toml"
    toml.write_text('batch_size = 8\nr1_weight = 2.0\n[model]\nstyle_mixing_prob = 0.5\n')
    config, explicit = _resolve(["--preset", "stylegan-article", "--config", str(toml), "--batch", "2"])
    assert explicit and config.model_name == "stylegan"
    assert config.batch_size == 2  # the flag wins over the file
    assert config.r1_weight == 2.0 and config.style_mixing_prob == 0.5  # the file wins over the preset
    assert config.loss == "least-squares"  # untouched preset value
    data = tmp_path / "model.json"
    data.write_text(json.dumps({"synthesis_widths": [32, 16], "resolution": 16, "discriminator_widths": "16,32"}))
    config, _ = _resolve(["--model", "stylegan", "--config", str(data), "--set", "truncation_cutoff=none"])
    assert config.synthesis_widths == (32, 16) and config.discriminator_widths == (16, 32)
    assert config.truncation_cutoff is None


def test_no_arguments_is_the_default_preset_and_not_explicit(tmp_path):
    # The built-in faces come in classes: the default run there is conditional; on a folder it is not.
    config, explicit = _resolve([])
    assert not explicit and config == preset_config("stylegan-conditional-64") and config.conditional
    config, _ = _resolve(["--data", "builtin:emoji"])
    assert config.conditional
    config, explicit = _resolve(["--data", str(tmp_path)])
    assert not explicit and config == preset_config("fastgan-64")
    # FastGAN has no conditional form: asking for classes on a folder gives the conditional StyleGAN.
    config, explicit = _resolve(["--data", str(tmp_path), "--conditional"])
    assert config == preset_config("stylegan-conditional-64")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--preset", "dcgan-64", "--model", "stylegan"], "is for model dcgan"),
        (["--set", "conditional=maybe"], "not a valid bool"),
        (["--config", "/nonexistent.toml"], "does not exist"),
        (["--set", "nokey"], "KEY=VALUE"),
    ],
)
def test_bad_settings_are_config_errors(argv, message):
    with pytest.raises(ConfigError, match=message):
        _resolve(argv)


def test_round_trip_and_differences():
    config = preset_config("stylegan-article")
    assert config_from_dict("stylegan", config_to_dict(config)) == config
    changed = config_from_dict("stylegan", {**config_to_dict(config), "batch_size": 8})
    assert config_differences(config, changed) == ["batch_size: 4 -> 8"]


@pytest.mark.parametrize("setting, allowed", [("gradient_penalty=wgangp", "none, wgan-gp, dragan"),
                                              ("loss=hinge-loss", "nonsaturating, least-squares, hinge, wasserstein")])
def test_mistyped_choices_fail_before_the_data_is_read(setting, allowed, tmp_path, capsys):
    """A typo used to train silently with DRAGAN's penalty (any value but "none" and "wgan-gp")."""
    from keras_gans import train

    code = train.main(["--preset", "wgan-gp-64", "--set", setting, "--data", str(tmp_path / "missing"),
                       "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2 and allowed in error and "missing" not in error
    assert not (tmp_path / "run").exists()


def test_loss_choices_are_the_loss_pairs():
    import typing

    from keras_gans.config import LossChoice
    from keras_gans.losses import LOSS_PAIRS

    assert set(typing.get_args(LossChoice)) == set(LOSS_PAIRS)


@pytest.mark.parametrize("preset, setting, value", [
    ("dcgan-64", "discriminator_normalization", "bach"),
    ("wgan-gp-64", "discriminator_normalization", "batchnorm"),
    ("acgan-cifar-like", "arch", "resnt"),
    ("stylegan-cpu-64", "upsample_interpolation", "cubic"),
    ("fastgan-64", "augment", "adaa"),
])
def test_every_fixed_choice_is_checked_at_resolve_time(preset, setting, value):
    from keras_gans.config import apply_overrides

    with pytest.raises(ConfigError, match=f"{setting}: '{value}' is not one of"):
        apply_overrides(preset_config(preset), {setting: value}, "--set")


@pytest.mark.parametrize("argv, message", [
    (["--resolution", "0"], "resolution must be a power of two"),
    (["--resolution", "48"], "resolution must be a power of two"),
    (["--batch", "0"], "batch_size must be at least 1"),
    (["--set", "loss=nosuch"], "loss: 'nosuch' is not one of"),
    (["--set", "g_learning_rate=0"], "g_learning_rate must be positive"),
])
def test_bad_training_settings_fail_before_the_data_and_leave_no_run_folder(argv, message, tmp_path, capsys):
    from keras_gans import train

    out = tmp_path / "run"
    assert train.main([*argv, "--data", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--truncation", "5"], "truncation psi 5 is outside -1..2"),
    (["--truncation", "-3"], "truncation psi -3 is outside"),
    (["--seed", "-1"], "--seed -1"),
    (["--num", "0"], "--num must be at least 1"),
])
def test_bad_generate_arguments_are_refused_before_loading(argv, message, tmp_path, capsys):
    from keras_gans import generate

    with pytest.raises(SystemExit) as exit_info:
        generate.main(["grid", "--run", str(tmp_path / "no-run"), "--out", str(tmp_path / "g.png"), *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        generate.main(["truncation", "--run", str(tmp_path / "no-run"), "--out", str(tmp_path / "t.png"), "--psis", "0,9"])


def test_class_run_length_is_checked_when_the_configuration_is_resolved():
    from keras_gans.config import ConfigError, apply_overrides, preset_config

    conditional = preset_config("stylegan-conditional-64")
    assert apply_overrides(conditional, {"class_run_length": "4"}, "--set").class_run_length == 4
    with pytest.raises(ConfigError, match=f"must divide batch_size {conditional.batch_size}"):
        apply_overrides(conditional, {"class_run_length": 3}, "--set")
    with pytest.raises(ConfigError, match="needs conditional=true"):
        apply_overrides(preset_config("stylegan-cpu-64"), {"class_run_length": 4}, "--set")
    with pytest.raises(ConfigError, match="must be 0"):
        apply_overrides(conditional, {"class_run_length": -1}, "--set")


def test_settings_of_an_augmentation_that_is_off_are_refused(tmp_path):
    # Before, `--set ada_target=0.4` without `--augment ada` trained as if it had not been given.
    with pytest.raises(ConfigError, match=r"ada_target=0\.4: this setting applies only with augment=ada, but augment is 'none'"):
        _resolve(["--preset", "stylegan-cpu-64", "--set", "ada_target=0.4"])
    with pytest.raises(ConfigError, match=r"ada_skip='lumaflip', augment_p=0\.2: these settings apply only with augment=ada, but augment is 'diffaug'"):
        _resolve(["--preset", "stylegan-small-set", "--set", "ada_skip=lumaflip", "--set", "augment_p=0.2"])
    with pytest.raises(ConfigError, match="diffaugment_policy='color': this setting applies only with augment=diffaug"):
        _resolve(["--preset", "stylegan-cpu-64", "--augment", "ada", "--set", "diffaugment_policy=color"])
    config, _ = _resolve(["--preset", "stylegan-cpu-64", "--augment", "ada", "--set", "ada_target=0.4"])
    assert config.augment == "ada" and config.ada_target == 0.4
    # Typed by hand, a setting is refused even at its default value: 0.6 is ADA's default target.
    with pytest.raises(ConfigError, match=r"ada_target=0\.6: this setting applies only with augment=ada, but augment is 'none'"):
        _resolve(["--preset", "stylegan-cpu-64", "--set", "ada-target=0.6"])
    with pytest.raises(ConfigError, match=r"diffaugment_policy='color,translation': this setting applies only with augment=diffaug"):
        _resolve(["--preset", "fastgan-64", "--augment", "none", "--set", "diffaugment_policy=color,translation"])
    # A model's own defaults are not "given": FastGAN's DiffAugment policy stays when it is switched off.
    config, _ = _resolve(["--preset", "fastgan-64", "--augment", "none"])
    assert config.augment == "none" and config.diffaugment_policy == preset_config("fastgan-64").diffaugment_policy
    # The file and the flags are checked together: the file's ADA settings with the flag's ADA pass.
    toml = tmp_path / "ada.toml"
    toml.write_text("ada_target = 0.4\naugment_p = 0.2\n")
    config, _ = _resolve(["--preset", "stylegan-cpu-64", "--config", str(toml), "--augment", "ada"])
    assert (config.augment, config.ada_target, config.augment_p) == ("ada", 0.4, 0.2)
    with pytest.raises(ConfigError, match="only with augment=ada"):
        _resolve(["--preset", "stylegan-cpu-64", "--config", str(toml)])
