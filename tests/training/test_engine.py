"""The training engine: one compiled step, EMA, tracked mean w, style mixing, lazy R1 and
checkpoint round trips."""
import numpy as np
import pytest
import tensorflow as tf

from keras_gans.training.checkpoints import CheckpointManager, latest_checkpoint
from keras_gans.training.engine import build_gan


def _dataset(resolution, batch, count=16, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(-1, 1, (count, resolution, resolution, 3)).astype("float32")
    labels = (np.arange(count) % 3).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(batch, drop_remainder=True)


def _snapshot(variables):
    return [np.array(v.numpy()) for v in variables]


@pytest.mark.parametrize("r1_interval", [1, 2])
def test_compiled_train_step_updates_everything(tiny_stylegan_config, r1_interval):
    config = tiny_stylegan_config(16, r1_interval=r1_interval, r1_weight=1.0, ema_halflife_kimg=0.01)
    gan = build_gan(config, seed=3)
    gan.compile()
    g_before = _snapshot(gan.generator.trainable_variables)
    d_before = _snapshot(gan.discriminator.trainable_variables)
    history = gan.fit(_dataset(16, 4), steps_per_epoch=2, epochs=1, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "r1_penalty"):
        assert np.isfinite(logs[name]), name
    assert logs["r1_penalty"] > 0
    assert int(gan.images_seen.numpy()) == 8 and int(gan.steps_done.numpy()) == 2
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(g_before, gan.generator.trainable_variables))
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(d_before, gan.discriminator.trainable_variables))
    # The EMA generator moved, but is not a copy of the raw generator.
    ema = gan.ema_generator.trainable_variables
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(g_before, ema))
    assert any(not np.allclose(np.asarray(a), np.asarray(b)) for a, b in zip(gan.generator.trainable_variables, ema))
    # The tracked mean w moved away from zero and is shared with the EMA generator.
    w_avg = np.asarray(gan.generator.get_layer("truncation").w_avg)
    assert np.abs(w_avg).sum() > 0
    np.testing.assert_allclose(w_avg, np.asarray(gan.ema_generator.get_layer("truncation").w_avg))


def _nodes_of_one_fit_step(gan) -> list:
    """Every node of the graphs one fit() step actually ran (after Grappler's rewrites)."""
    from tensorflow.python.eager import context

    gan.compile()
    context.enable_run_metadata()
    try:
        gan.fit(_dataset(gan.config.resolution, 4), steps_per_epoch=1, epochs=1, verbose=0)
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return [node for function in metadata.function_graphs for partition in function.partition_graphs for node in partition.node]


def _fused_convolutions(nodes) -> list[list[bytes]]:
    """The fused_ops of every fused convolution among the nodes."""
    return [list(node.attr["fused_ops"].list.s) for node in nodes if "FusedConv2D" in node.op]


def test_the_compiled_step_runs_convolutions_fused_with_their_activation(tiny_stylegan_config):
    """TensorFlow's remapper gives up on a whole graph on one bad rewrite (see
    keras_gans.layers.activation); in the training step it must succeed, which shows as
    convolutions fused with their bias and LeakyReLU in the graphs that actually ran."""
    fused = _fused_convolutions(_nodes_of_one_fit_step(build_gan(tiny_stylegan_config(16, r1_interval=1, r1_weight=1.0), seed=3)))
    assert any(b"LeakyRelu" in ops for ops in fused), \
        "no convolution of the training step was fused with its activation: did the remapper fail?"


def test_the_article_generator_adds_bias_and_noise_inside_its_convolutions_and_normalises_in_fused_kernels(monkeypatch):
    """The article's g_block adds a bias and a 1x1 convolution of the noise after each 3x3
    convolution. Added with BiasAdd (keras_gans.layers.EqualizedConv2D), TensorFlow's remapper
    fuses bias and noise into the convolution's kernel; added with "+", the arithmetic optimizer
    merges the two adds first and every convolution runs unfused, with two more passes. AdaIN
    then runs as per-sample fused batch norms, forward and backward (keras_gans.layers.style)."""
    from keras_gans.config import apply_overrides
    from keras_gans.models.stylegan import article_preset

    # The kernel choice as under the parallel-ops threading that batch 4 runs with (one thread
    # per op), which the test process's own threading would not pick at 16x16.
    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: 1)
    config = apply_overrides(article_preset(16), {"share_fakes": "false"}, "test")
    nodes = _nodes_of_one_fit_step(build_gan(config, seed=2))
    # Two 3x3 convolutions per block at 4, 8 and 16 px, run for the D update's fakes and the G update.
    assert sum(ops == [b"BiasAdd", b"Add"] for ops in _fused_convolutions(nodes)) >= 2 * 3
    # The 16 px block's two AdaINs (smaller ones stay written out), 4 samples each: forward for
    # both updates, backward for G's. fit() must trace a static batch for this.
    assert sum(node.op.endswith("FusedBatchNormV3") for node in nodes) == 2 * 2 * 4
    assert sum(node.op.endswith("FusedBatchNormGradV3") for node in nodes) == 2 * 4


def test_style_mixing_uses_two_latents(tiny_stylegan_config):
    gan = build_gan(tiny_stylegan_config(16, style_mixing_prob=1.0, noise_inputs=False), seed=0)
    images_mixed, _, _ = gan.generate_for_training(4, tf.zeros((4,), tf.int32))
    gan_plain = build_gan(tiny_stylegan_config(16, style_mixing_prob=0.0, noise_inputs=False), seed=0)
    assert images_mixed.shape == (4, 16, 16, 3)
    assert gan_plain.generate_for_training(4, tf.zeros((4,), tf.int32))[0].shape == (4, 16, 16, 3)


@pytest.mark.parametrize("share_fakes", [True, False])
def test_mode_seeking_term_trains_a_conditional_step(tiny_stylegan_config, share_fakes):
    config = tiny_stylegan_config(16, conditional=True, num_classes=3, mode_seeking_weight=1.0, share_fakes=share_fakes)
    gan = build_gan(config, seed=5)
    gan.compile()
    g_before = _snapshot(gan.generator.trainable_variables)
    # Batches of 4 over 3 classes always hold a same-class pair.
    history = gan.fit(_dataset(16, 4), steps_per_epoch=2, epochs=1, verbose=0)
    value = history.history["mode_seeking_loss"][-1]
    assert np.isfinite(value) and value > 0
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(g_before, gan.generator.trainable_variables))


def test_checkpoint_restores_weights_optimizers_counters_and_rng(tiny_stylegan_config, tmp_path):
    config = tiny_stylegan_config(16)
    gan = build_gan(config, seed=1)
    gan.compile()
    gan.fit(_dataset(16, 4), steps_per_epoch=3, epochs=1, verbose=0)
    manager = CheckpointManager(tmp_path / "checkpoints", gan, keep=2)
    path = manager.save()
    assert path == latest_checkpoint(tmp_path / "checkpoints")
    assert not list((tmp_path / "checkpoints").glob(".ckpt-*"))  # no staging leftovers

    restored = build_gan(config, seed=99)
    restored.compile()
    meta = CheckpointManager(tmp_path / "checkpoints", restored).restore(path)
    assert meta["images_seen"] == 12 == int(restored.images_seen.numpy())
    for name in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(gan, name).variables, getattr(restored, name).variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{name}: {a.path}")
    for a, b in zip(gan.d_optimizer.variables, restored.d_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(gan.latent_seed.state), np.asarray(restored.latent_seed.state))
    # The same next step from both: the resumed run continues exactly.
    gan.fit(_dataset(16, 4, seed=5), steps_per_epoch=1, epochs=1, verbose=0)
    restored.fit(_dataset(16, 4, seed=5), steps_per_epoch=1, epochs=1, verbose=0)
    for a, b in zip(gan.generator.trainable_variables, restored.generator.trainable_variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_old_checkpoints_are_pruned(tiny_stylegan_config, tmp_path):
    gan = build_gan(tiny_stylegan_config(16), seed=1)
    gan.compile()
    manager = CheckpointManager(tmp_path, gan, keep=2)
    for _ in range(3):
        gan.fit(_dataset(16, 4), steps_per_epoch=1, epochs=1, verbose=0)
        manager.save()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["ckpt-000000008", "ckpt-000000012"]


@pytest.mark.faults
@pytest.mark.parametrize("damage", ["flip", "truncate", "meta"])
def test_corrupted_checkpoint_is_detected_and_the_previous_one_used(damage, tiny_stylegan_config, tmp_path, capsys):
    from keras_gans.training.checkpoints import latest_checkpoint

    gan = build_gan(tiny_stylegan_config(16), seed=1)
    gan.compile()
    manager = CheckpointManager(tmp_path, gan, keep=3)
    for _ in range(2):
        gan.fit(_dataset(16, 4), steps_per_epoch=1, epochs=1, verbose=0)
        manager.save()
    newest = tmp_path / "ckpt-000000008"
    assert latest_checkpoint(tmp_path) == newest
    data = max((p for p in newest.iterdir() if p.name.startswith("state.data")), key=lambda p: p.stat().st_size)
    if damage == "flip":
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    else:
        (newest / "meta.json").write_text("{not json")
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt-000000004"
    warning = capsys.readouterr().err
    assert "skipping checkpoint" in warning and "ckpt-000000008" in warning
    # The previous checkpoint restores cleanly.
    again = build_gan(tiny_stylegan_config(16), seed=2)
    again.compile()
    CheckpointManager(tmp_path, again).restore(latest_checkpoint(tmp_path))
    assert int(again.images_seen.numpy()) == 4


def test_a_checkpoint_pruned_while_being_checked_is_skipped_not_a_crash(tmp_path, monkeypatch, capsys):
    """A training run with --keep removes old checkpoints while another process (a resumed run,
    evaluate, the gallery, the fault test's watcher) may be verifying one."""
    import json
    import shutil
    from pathlib import Path

    from keras_gans.data.dedupe import file_sha256
    from keras_gans.training import checkpoints

    for images in (4, 8):
        folder = tmp_path / f"ckpt-{images:09d}"
        folder.mkdir()
        (folder / "state.index").write_bytes(b"index %d" % images)
        (folder / "meta.json").write_text(json.dumps({"sha256": {"state.index": file_sha256(folder / "state.index")}}))
    newest = tmp_path / "ckpt-000000008"

    def pruned_while_hashing(path):
        if newest in Path(path).parents:
            shutil.rmtree(newest)
        return file_sha256(path)

    monkeypatch.setattr(checkpoints, "file_sha256", pruned_while_hashing)
    assert checkpoints.latest_checkpoint(tmp_path) == tmp_path / "ckpt-000000004"
    assert "a running training may have just removed it" in capsys.readouterr().err


@pytest.mark.parametrize("emulated", [True, False])
def test_mixed_precision_warns_where_bfloat16_is_emulated(tiny_stylegan_config, monkeypatch, emulated):
    import warnings

    from keras_gans.training import engine

    monkeypatch.setattr(engine, "bfloat16_is_emulated", lambda: emulated)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_gan(tiny_stylegan_config(16, mixed_precision=True), seed=0)
    said = [str(w.message) for w in caught if "no bfloat16 arithmetic" in str(w.message)]
    assert len(said) == (1 if emulated else 0)
    if emulated:
        assert "leave mixed_precision off" in said[0]


def test_bfloat16_is_emulated_reads_the_cpu_flags(monkeypatch):
    from keras_gans.training import strategy

    monkeypatch.setattr(strategy.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(strategy.tf.config, "list_physical_devices", lambda kind: [])
    for flags, emulated in (("fpu avx2 fma", True), ("avx2 avx512f avx512_bf16", False), ("avx2 amx_bf16 amx_tile", False)):
        monkeypatch.setattr(strategy.Path, "read_text", lambda self, *a, flags=flags, **k: f"flags\t\t: {flags}\n")
        assert strategy.bfloat16_is_emulated() is emulated
    monkeypatch.setattr(strategy.platform, "machine", lambda: "arm64")
    assert strategy.bfloat16_is_emulated() is False
