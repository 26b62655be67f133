"""Whole runs through the command line: a short real run on anime faces, resume, refusal of a
changed config, --fresh, and the generate modes on what was saved."""
import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from keras_gans import generate, train


@pytest.fixture(autouse=True)
def _tiny_flags(tiny_stylegan_flags):
    global TINY_FLAGS
    TINY_FLAGS = tiny_stylegan_flags + ["--no-progress", "--tick", "0.032", "--sample-every", "0.032", "--checkpoint-every", "0.064"]


def _train(out, data, kimg, *extra):
    return train.main(["--model", "stylegan", "--data", str(data), "--out", str(out), "--kimg", str(kimg), *TINY_FLAGS, *extra])


@pytest.fixture
def small_folder(tmp_path):
    root = tmp_path / "pictures"
    rng = np.random.RandomState(0)
    for klass in ("red", "blue"):
        (root / klass).mkdir(parents=True)
        for index in range(12):
            color = (200, 40, 40) if klass == "red" else (40, 40, 200)
            pixels = np.clip(rng.randn(24, 24, 3) * 20 + color, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / klass / f"{index}.png")
    (root / "red" / "broken.png").write_text("not an image")
    return root


def test_short_real_run_on_anime_faces(anime_faces_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, anime_faces_dir, 0.128, "--sample-every", "0.064") == 0
    grids = sorted((out / "samples").glob("grid-*.png"))
    assert len(grids) >= 3
    first, last = (np.asarray(Image.open(p), dtype=np.float32) for p in (grids[0], grids[-1]))
    assert np.abs(first - last).mean() > 1.0  # the EMA samples changed as training went on
    assert (out / "generator.keras").is_file() and list((out / "logs").iterdir())
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import tensorflow as tf

    events = EventAccumulator(str(out / "logs")).Reload()

    def values(tag):  # TF2 summaries are stored as tensors
        return [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)]

    for tag in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/r1_penalty"):
        assert values(tag) and np.all(np.isfinite(values(tag))), tag
    assert values("speed/images_per_second")[-1] > 0
    assert events.Tensors("samples/ema_fixed_seeds")


def test_resume_continues_and_changed_config_is_refused(small_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, small_folder, 0.064) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "stylegan" and config["config"]["resolution"] == 16
    assert "broken.png" in (out / "skipped_files.txt").read_text()
    first = sorted(p.name for p in (out / "checkpoints").iterdir())[-1]
    assert first == "ckpt-000000064"

    assert _train(out, small_folder, 0.128) == 0
    output = capsys.readouterr().out
    assert "resuming from" in output and "ckpt-000000064" in output
    assert sorted(p.name for p in (out / "checkpoints").iterdir())[-1] == "ckpt-000000128"

    assert _train(out, small_folder, 0.256, "--set", "r1_weight=3") == 2
    error = capsys.readouterr().err
    assert "r1_weight: 0.025 -> 3.0" in error and "--override" in error
    # Rerunning a finished run is a no-op that says so and exits 0, and makes the run whole: a
    # kill between the last checkpoint and the export leaves no generator.keras.
    # Without model flags the run goes on with its saved settings, and says so.
    (out / "generator.keras").unlink()
    assert train.main(["--data", str(small_folder), "--out", str(out), "--kimg", "0.128", "--no-progress"]) == 0
    output = capsys.readouterr().out
    assert "with the settings it was started with" in output
    assert "already trained to 0.128 kimg" in output and "wrote" in output
    assert (out / "generator.keras").is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir())[-1] == "ckpt-000000128"
    assert _train(out, small_folder, 0.1) == 0
    output = capsys.readouterr().out
    assert "nothing to train" in output and "wrote" not in output

    assert _train(out, small_folder, 0.064, "--fresh") == 0
    assert len(list(tmp_path.glob("run.old-*"))) == 1  # moved aside, never deleted


@pytest.mark.parametrize("model, setting, message", [
    ("stylegan", "synthesis_widths=64", "synthesis_widths needs 2 entries at 16x16, got 1"),
    ("fastgan", "resolution=32", "fastgan resolution must be a power of two from 64"),
    ("dcgan", "conditional=true", "dcgan has no class-conditional form"),
])
def test_a_model_that_cannot_be_built_is_refused_before_the_run_folder_is_touched(
        small_folder, tmp_path, capsys, model, setting, message):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "notes.txt").write_text("an earlier run")
    flags = TINY_FLAGS if model == "stylegan" else ["--no-progress"]
    argv = ["--model", model, "--data", str(small_folder), "--out", str(out), "--kimg", "0.032", *flags, "--set", setting, "--fresh"]
    assert train.main(argv) == 2
    assert message in capsys.readouterr().err
    # --fresh did not move the earlier run aside for a model that could not have been built.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pictures", "run"]
    assert (out / "notes.txt").read_text() == "an earlier run"


def test_generate_modes_from_a_run(small_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, small_folder, 0.032) == 0
    results = tmp_path / "generated"
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "grid.png"), "--num", "9"]) == 0
    assert Image.open(results / "grid.png").size == (48, 48)
    assert generate.main(["samples", "--run", str(out), "--out", str(results / "samples"), "--num", "3", "--seed", "5"]) == 0
    assert sorted(p.name for p in (results / "samples").iterdir()) == ["seed000005.png", "seed000006.png", "seed000007.png"]
    again = tmp_path / "again"
    assert generate.main(["samples", "--generator", str(out / "generator.keras"), "--out", str(again), "--num", "1", "--seed", "5"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(again / "seed000005.png")), np.asarray(Image.open(results / "samples" / "seed000005.png")))
    assert generate.main(["truncation", "--run", str(out), "--out", str(results / "trunc.png"), "--psis", "0,0.5,1"]) == 0
    assert Image.open(results / "trunc.png").size == (8 * 16, 3 * 16)
    assert generate.main(["mixing", "--run", str(out), "--out", str(results / "mix.png")]) == 0
    assert generate.main(["interpolate", "--run", str(out), "--out", str(results / "walk.gif"), "--keyframes", "2", "--steps", "3"]) == 0
    assert Image.open(results / "walk.gif").n_frames == 6
    assert len(list((results / "walk_frames").iterdir())) == 6
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "x.png"), "--class", "red"]) == 2
    assert "unconditional" in capsys.readouterr().err


@pytest.mark.faults
def test_interrupted_run_generates_from_its_checkpoint(small_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, small_folder, 0.064) == 0
    (out / "generator.keras").unlink()
    assert generate.main(["grid", "--run", str(out), "--out", str(tmp_path / "g.png"), "--num", "4"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "nosuch"], "unknown model 'nosuch'"),
        (["--preset", "nosuch"], "unknown preset 'nosuch'"),
        (["--data", "/nonexistent/folder"], "does not exist"),
        (["--set", "no_such_field=1"], "has no setting 'no_such_field'"),
        (["--set", "batch_size=many"], "is not a valid int"),
        (["--kimg", "-1"], "--kimg must be positive"),
    ],
)
def test_bad_command_lines_are_one_line_errors(argv, message, tmp_path, capsys):
    assert train.main([*argv, "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error and error.count("\n") <= 3


def test_progressive_run_grows_and_resumes_mid_growth(small_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "pggan"
    flags = ["--model", "pggan", "--data", str(small_folder), "--out", str(out), "--resolution", "16", "--batch", "4",
             "--latent-dim", "16", "--set", "width_base=64", "--set", "width_max=16", "--set", "fade_kimg=0.016",
             "--set", "stable_kimg=0.016", "--set", "minibatch_std_group=2", "--no-progress",
             "--checkpoint-every", "0.016", "--sample-every", "0.032", "--tick", "0.016"]
    # 4x4 stable (16 images), 8x8 fade + stable (32), then stop inside the 16x16 stage.
    assert train.main([*flags, "--kimg", "0.056"]) == 0
    output = capsys.readouterr().out
    assert "stage 4x4" in output and "stage 8x8" in output and "stage 16x16" in output
    assert (out / "generator.keras").is_file()
    # Resume inside the 16x16 stage: it is rebuilt at that stage and continues.
    assert train.main([*flags, "--kimg", "0.096"]) == 0
    output = capsys.readouterr().out
    assert "resuming from" in output and "stage 16x16" in output and "stage 4x4" not in output
    assert generate.main(["grid", "--run", str(out), "--out", str(tmp_path / "g.png"), "--num", "4"]) == 0
    assert Image.open(tmp_path / "g.png").size == (32, 32)


def test_conditional_run_generates_by_class(small_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, small_folder, 0.032, "--conditional") == 0
    assert json.loads((out / "classes.json").read_text()) == ["blue", "red"]
    results = tmp_path / "generated"
    assert generate.main(["samples", "--run", str(out), "--out", str(results / "spread"), "--num", "4"]) == 0
    assert sorted(p.name for p in (results / "spread").iterdir()) == ["blue", "red"]
    # Classes follow the seed (red is class 1: the odd seeds), and the name says seed and class ...
    assert sorted(p.name for p in (results / "spread" / "red").iterdir()) == ["seed000001-red.png", "seed000003-red.png"]
    # ... so the same name holds the same image whatever --seed the range started from.
    assert generate.main(["samples", "--run", str(out), "--out", str(results / "later"), "--num", "1", "--seed", "3"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(results / "later" / "red" / "seed000003-red.png")),
                                  np.asarray(Image.open(results / "spread" / "red" / "seed000003-red.png")))
    assert generate.main(["samples", "--run", str(out), "--out", str(results / "blue"), "--num", "2", "--class", "blue"]) == 0
    assert sorted(p.name for p in (results / "blue").iterdir()) == ["seed000000-blue.png", "seed000001-blue.png"]
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "red.png"), "--num", "4", "--class", "red"]) == 0
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "one.png"), "--num", "4", "--class", "1"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(results / "red.png")), np.asarray(Image.open(results / "one.png")))
    assert generate.main(["interpolate", "--run", str(out), "--out", str(results / "rows.png"), "--per-class", "--columns", "5"]) == 0
    assert Image.open(results / "rows.png").size == (5 * 16, 2 * 16)
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "x.png"), "--class", "green"]) == 2
    assert "unknown class 'green'" in capsys.readouterr().err
    # Unlabelled data for a conditional model is a one-line error.
    flat = tmp_path / "flat"
    flat.mkdir()
    for index in range(8):
        Image.new("RGB", (16, 16), (index * 20, 0, 0)).save(flat / f"{index}.png")
    assert _train(tmp_path / "run2", flat, 0.032, "--conditional") == 2
    assert "needs labelled data" in capsys.readouterr().err


@pytest.mark.faults
def test_terminated_run_saves_a_checkpoint_and_resumes(small_folder, tmp_path, tiny_stylegan_flags):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    env = {**os.environ, "KERAS_GANS_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "keras_gans.train", "--model", "stylegan", "--data", str(small_folder),
               "--out", str(out), "--no-progress", "--checkpoint-every", "1000", "--sample-every", "0.016",
               *tiny_stylegan_flags]
    process = subprocess.Popen([*command, "--kimg", "1000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 300
    # Wait for an observable event, not the clock: the sheet after 16 images exists only once
    # training steps have run (the first sheet is drawn before any step), however busy the machine.
    while len(list((out / "samples").glob("grid-*.png"))) < 2 and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # keras_gans.train prints every thread's stack
        time.sleep(5)
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the run did not stop within 120 s of SIGTERM; where its threads were:\n{output[-12000:]}")
    assert process.returncode == 130, output[-2000:]
    assert "stopping after this step" in output
    assert "interrupted: saving a checkpoint" in output and "resume with the same command" in output
    checkpoints = sorted((out / "checkpoints").iterdir())
    saved = int(checkpoints[-1].name.split("-")[1])
    assert saved > 0  # the progress since the start was kept, though no scheduled checkpoint was due
    resumed = subprocess.run([*command, "--kimg", str((saved + 8) / 1000)], capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"ckpt-{saved:09d}" in resumed.stdout


def test_missing_inception_weights_fail_before_training(small_folder, tmp_path, capsys):
    out = tmp_path / "run"
    code = train.main(["--data", str(small_folder), "--out", str(out), "--metrics", "fid", "--extractor", "inception",
                       "--inception-weights", str(tmp_path / "nope.pth"), "--no-progress"])
    assert code == 2
    assert "nope.pth: no such file" in capsys.readouterr().err
    assert not (out / "checkpoints").exists()


def test_fastgan_run_resumes_and_generates(small_folder, tmp_path, monkeypatch, capsys):
    """FastGAN through the same CLI: checkpoints, resume, samples, and a clear refusal of the
    modes that need a style space."""
    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "fastgan"
    flags = ["--model", "fastgan", "--data", str(small_folder), "--out", str(out), "--resolution", "64",
             "--set", "steps_per_execution=1",
             "--no-progress", "--tick", "0.016", "--sample-every", "0.016", "--checkpoint-every", "0.016"]
    assert train.main([*flags, "--kimg", "0.016"]) == 0
    assert train.main([*flags, "--kimg", "0.032"]) == 0
    log = capsys.readouterr().out
    assert "resum" in log.lower()
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "fastgan" and config["config"]["augment"] == "diffaug"
    results = tmp_path / "generated"
    assert generate.main(["grid", "--run", str(out), "--out", str(results / "grid.png"), "--num", "4"]) == 0
    assert Image.open(results / "grid.png").size == (128, 128)
    assert generate.main(["interpolate", "--run", str(out), "--out", str(results / "walk.gif"), "--keyframes", "2", "--steps", "2"]) == 0
    for mode in ("truncation", "mixing"):
        assert generate.main([mode, "--run", str(out), "--out", str(results / f"{mode}.png")]) == 2
        assert "style-based" in capsys.readouterr().err


@pytest.mark.faults
def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(small_folder, tmp_path, monkeypatch, capsys):
    import errno

    from keras_gans.training import checkpoints

    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert _train(out, small_folder, 0.064) == 0
    real_object = checkpoints._checkpoint_object

    class FullDisk:
        def __init__(self, gan):
            self.inner = real_object(gan)

        def write(self, prefix):
            self.inner.write(prefix)  # part of the files land, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

        def read(self, prefix):
            return self.inner.read(prefix)

    monkeypatch.setattr(checkpoints, "_checkpoint_object", FullDisk)
    assert _train(out, small_folder, 0.128) == 1
    error = capsys.readouterr().err
    assert "No space left on device" in error and "ckpt-000000064 is intact" in error
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["ckpt-000000064"]
    monkeypatch.setattr(checkpoints, "_checkpoint_object", real_object)
    assert _train(out, small_folder, 0.128) == 0
    assert "resuming from" in capsys.readouterr().out


class _PoisonDiscriminator:
    """A callback that sets one discriminator weight to NaN after ``after`` images (``times`` times)."""

    def __new__(cls, after, times):
        import keras

        class Poison(keras.callbacks.Callback):
            done = 0

            def on_train_batch_end(self, batch, logs=None):
                if int(self.model.images_seen.numpy()) >= after and Poison.done < times:
                    Poison.done += 1
                    kernel = self.model.discriminator.trainable_variables[0]
                    kernel.assign(np.full(kernel.shape, np.nan, "float32"))

        return Poison()


@pytest.mark.faults
def test_nan_losses_roll_back_with_lower_learning_rates_then_stop(small_folder, tmp_path, tiny_stylegan_config):
    from keras_gans.training.run import RunError, RunSettings, train as train_run

    config = tiny_stylegan_config(16)
    settings = RunSettings(out=str(tmp_path / "run"), data=str(small_folder), kimg=0.064, checkpoint_every_kimg=0.016,
                           tick_kimg=0.016, sample_every_kimg=1, progress=False)
    gan = train_run(config, settings, extra_callbacks=[_PoisonDiscriminator(after=24, times=1)])
    assert int(gan.images_seen.numpy()) == 64
    assert all(np.all(np.isfinite(v.numpy())) for v in gan.discriminator.trainable_variables)
    assert gan.learning_rate_scale == 0.5
    from keras_gans.training.engine import build_gan

    fresh = build_gan(config)
    fresh.compile()
    for optimizer in ("g_optimizer", "d_optimizer"):
        rate = float(getattr(gan, optimizer).learning_rate.numpy())
        assert rate == pytest.approx(0.5 * float(getattr(fresh, optimizer).learning_rate.numpy()))
    meta = json.loads((tmp_path / "run" / "checkpoints" / "ckpt-000000064" / "meta.json").read_text())
    assert meta["learning_rate_scale"] == 0.5
    # Every time: after max_divergences rollbacks the run stops with a clear message.
    settings = RunSettings(out=str(tmp_path / "doomed"), data=str(small_folder), kimg=0.064, checkpoint_every_kimg=0.016,
                           tick_kimg=0.016, sample_every_kimg=1, progress=False, max_divergences=2)
    with pytest.raises(RunError, match="training diverged .*non-finite d_loss.*3 times in this run"):
        train_run(config, settings, extra_callbacks=[_PoisonDiscriminator(after=24, times=100)])


def test_a_damaged_classes_file_stops_generation_with_its_name(tmp_path):
    from keras_gans.generation import GenerationError
    from keras_gans.training.run import load_generator

    (tmp_path / "generator.keras").write_bytes(b"not read: the class names are checked first")
    (tmp_path / "classes.json").write_text('{"cats": 0}')
    for kwargs in ({"run": tmp_path}, {"generator_path": tmp_path / "generator.keras"}):
        with pytest.raises(GenerationError, match="classes.json should hold a JSON list"):
            load_generator(**kwargs)


def test_small_set_hint_suggests_diffaugment_only_where_it_was_measured_to_help():
    from keras_gans.config import model_default_config, preset_config
    from keras_gans.training.run import small_set_hint

    stylegan = model_default_config("stylegan")
    hint = small_set_hint(stylegan, 403, 80)
    assert hint and "403 images about 199 times" in hint and "--augment diffaug" in hint
    assert "--preset stylegan-small-set" in hint
    small_set = preset_config("stylegan-small-set")  # what the hint names
    assert small_set.augment == "diffaug" and small_set_hint(small_set, 403, 80) is None
    assert small_set_hint(stylegan, 403, 40) is None  # 99 passes: no gain measured yet
    assert small_set_hint(stylegan, 1500, 80) is None  # 53 passes
    assert small_set_hint(dataclasses.replace(stylegan, augment="ada"), 403, 80) is None  # already augmenting
    assert small_set_hint(preset_config("fastgan-64"), 100, 80) is None  # not StyleGAN (and augments anyway)
    # The default run (98 built-in faces, 40 kimg: 408 passes) keeps its tuned preset without a hint.
    assert small_set_hint(preset_config("stylegan-conditional-64"), 98, 40, builtin=True) is None
    assert small_set_hint(preset_config("stylegan-conditional-64"), 98, 40) is not None
