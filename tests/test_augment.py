"""DiffAugment and ADA: differentiable, per-sample, shape-preserving, applied wherever D looks;
ADA's p adapts, is logged and survives resume."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans import augment
from keras_gans.config import ADA_PIPELINES


def _images(batch=8, size=16, channels=3, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32"))


@pytest.mark.parametrize("name", augment.DIFFAUGMENT_TRANSFORMS)
def test_each_transform_keeps_shape_differs_per_sample_and_passes_gradients(name):
    images = tf.ones((8, 16, 16, 3)) * 0.3
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = augment.diff_augment(images, name, keras.random.SeedGenerator(1))
        total = tf.reduce_sum(out)
    assert out.shape == images.shape
    per_sample = np.asarray(out).reshape(8, -1)
    assert len({row.tobytes() for row in per_sample}) > 1  # each sample draws its own parameters
    gradient = tape.gradient(total, images)
    assert gradient is not None and np.isfinite(np.asarray(gradient)).all() and np.abs(np.asarray(gradient)).sum() > 0


def test_translation_moves_content_by_whole_pixels_and_fills_zeros():
    image = np.zeros((1, 16, 16, 1), np.float32)
    image[0, 8, 8, 0] = 1.0
    seen = set()
    generator = keras.random.SeedGenerator(3)
    for _ in range(30):
        out = np.asarray(augment.random_translation(tf.constant(image), generator))[0, :, :, 0]
        assert out.sum() in (0.0, 1.0) and set(np.unique(out)) <= {0.0, 1.0}
        if out.sum():
            y, x = np.argwhere(out == 1.0)[0]
            assert abs(y - 8) <= 2 and abs(x - 8) <= 2
            seen.add((y, x))
    assert len(seen) > 3


def test_cutout_zeroes_a_half_side_square():
    out = np.asarray(augment.random_cutout(tf.ones((4, 16, 16, 3)), keras.random.SeedGenerator(0)))
    for sample in out:
        zeros = (sample[..., 0] == 0).sum()
        assert 0 < zeros <= 64  # an 8x8 square, clipped at the border


def test_the_ratios_set_the_cutout_square_and_the_largest_shift(tiny_stylegan_config):
    from keras_gans.config import ConfigError
    from keras_gans.training.engine import build_gan

    ones = tf.ones((16, 16, 16, 1))
    quarter = np.asarray(augment.diff_augment(ones, "cutout", keras.random.SeedGenerator(0), cutout_ratio=0.25))
    assert max((sample == 0).sum() for sample in quarter) == 16  # 4x4 where it is not clipped
    point = np.zeros((1, 16, 16, 1), np.float32)
    point[0, 8, 8, 0] = 1.0
    generator, shifts = keras.random.SeedGenerator(3), set()
    for _ in range(40):
        out = np.asarray(augment.diff_augment(tf.constant(point), "translation", generator, translation_ratio=0.25))
        y, x = np.argwhere(out[0, :, :, 0] == 1.0)[0]
        shifts.add(max(abs(y - 8), abs(x - 8)))
    assert max(shifts) > 2 and max(shifts) <= 4  # beyond 1/8 of 16 pixels, within 1/4

    # The engine takes them from the config, and the config refuses what is not a fraction.
    config = tiny_stylegan_config(16, augment="diffaug", diffaugment_policy="cutout", diffaugment_cutout_ratio=0.75)
    gan = build_gan(config, seed=0)
    cut = np.asarray(gan._augment(tf.ones((8, 16, 16, 3))))
    assert max((sample[..., 0] == 0).sum() for sample in cut) > 64  # more than the default 8x8
    for bad in ({"diffaugment_cutout_ratio": 1.0}, {"diffaugment_translation_ratio": 0.0}):
        with pytest.raises(ConfigError, match=f"{next(iter(bad))}: .* is not a fraction of the image side"):
            tiny_stylegan_config(16, augment="diffaug", **bad)
    with pytest.raises(ConfigError, match="diffaugment_cutout_ratio=0.25: this setting applies only with augment=diffaug"):
        tiny_stylegan_config(16, augment="ada", diffaugment_cutout_ratio=0.25)


def test_unknown_transform_is_named_when_the_config_is_resolved(tiny_stylegan_config):
    from keras_gans.config import ConfigError

    with pytest.raises(ValueError, match="unknown DiffAugment transform.*'colour'"):
        augment.parse_policy("colour,translation")
    with pytest.raises(ConfigError, match="diffaugment_policy: unknown transform.*'colour'"):
        tiny_stylegan_config(16, augment="diffaug", diffaugment_policy="colour,translation")


def test_engine_augments_reals_fakes_and_r1_inputs(tiny_stylegan_config):
    from keras_gans.training.engine import build_gan

    config = tiny_stylegan_config(16, augment="diffaug", r1_interval=1, r1_weight=1.0)
    gan = build_gan(config, seed=0)
    gan.compile()
    images = _images(4)
    # The same images give different logits in training (augmented), identical ones in inference.
    first = np.asarray(gan._discriminate(images, None))
    second = np.asarray(gan._discriminate(images, None))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(np.asarray(gan(images)), np.asarray(gan(images)))
    labels = tf.zeros((4,), tf.int32)
    logs = gan.train_step((images, labels))
    assert np.isfinite(float(logs["r1_penalty"])) and float(logs["r1_penalty"]) > 0


# --- ADA ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pipeline", sorted(augment.ADA_PIPELINES))
def test_ada_is_the_identity_at_p0_and_differentiable(pipeline):
    images = _images(16)
    seed = keras.random.SeedGenerator(0)
    np.testing.assert_allclose(augment.ada_augment(images, 0.0, seed, pipeline), images, atol=1e-5)
    variable = tf.Variable(images)
    with tf.GradientTape() as tape:
        augmented = augment.ada_augment(variable, 1.0, seed, pipeline)
        total = tf.reduce_sum(augmented * tf.reverse(images, [0]))
    gradient = tape.gradient(total, variable)
    assert augmented.shape == images.shape
    assert np.abs(np.asarray(augmented) - np.asarray(images)).mean() > 0.05
    assert gradient is not None and np.all(np.isfinite(gradient)) and np.abs(gradient).sum() > 0


def test_ada_probability_is_per_transform_and_per_sample():
    # Brightness alone: with p = 0.5 about half the samples change, and each changes by a constant.
    images = _images(400, size=4)
    seed = keras.random.SeedGenerator(1)
    colour = augment._colour_matrix(400, ("brightness",), tf.constant(0.5), seed)
    changed = np.abs(colour[:, 0, 3].numpy()) > 0
    assert 0.4 < changed.mean() < 0.6
    # The blit group maps pixels onto pixels: a flip, quarter turn or whole-pixel shift of each
    # image, so its values stay the image's own.
    blitted = augment.ada_augment(images[:, :, :, :1] * 0 + tf.range(16, dtype=tf.float32)[None, :, None, None][:, :4], 1.0, seed, "blit")
    assert set(np.round(np.asarray(blitted), 4).ravel().tolist()) <= set(range(16))


def test_ada_corruptions_blank_a_half_side_square_and_add_noise_of_a_per_image_strength():
    images = _images(64) * 0 + 1.0
    seed = keras.random.SeedGenerator(2)
    blanked = np.asarray(augment.ada_augment(images, 1.0, seed, ("cutout",)))
    assert set(np.unique(blanked)) <= {0.0, 1.0}
    for image in blanked[..., 0]:
        rows, cols = np.nonzero(image == 0)
        # One axis-aligned square of half the side, cut where it hangs over the border.
        assert 0 < len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1) and np.ptp(rows) < 8 and np.ptp(cols) < 8
    assert (blanked == 0).mean(axis=(1, 2, 3)).max() == 0.25
    untouched = np.asarray(augment.ada_augment(images, 0.5, seed, ("cutout",)))
    assert 0.25 < (untouched == 1).all(axis=(1, 2, 3)).mean() < 0.75
    noisy = np.asarray(augment.ada_augment(images, 1.0, seed, ("noise",))) - 1.0
    spread = noisy.std(axis=(1, 2, 3))
    # |N(0, 0.1)| per image: a median near 0.067, images far apart.
    assert 0.04 < np.median(spread) < 0.1 and spread.max() > 3 * spread.min()
    np.testing.assert_allclose(noisy.mean(axis=(1, 2, 3)), 0, atol=0.05)


def test_ada_adjustment_moves_p_by_the_speed_and_clips():
    step = augment.ada_adjustment(0.5, 0.9, 0.6, images=64, speed_kimg=20)
    assert float(step) == pytest.approx(0.5 + 64 / 20000)
    assert float(augment.ada_adjustment(0.5, 0.1, 0.6, images=64, speed_kimg=20)) == pytest.approx(0.5 - 64 / 20000)
    assert float(augment.ada_adjustment(0.0, -1.0, 0.6, images=64, speed_kimg=20)) == 0.0
    assert float(augment.ada_adjustment(1.0, 1.0, 0.6, images=64, speed_kimg=20)) == 1.0


def test_ada_settings_are_checked_when_the_config_is_resolved(tiny_stylegan_config):
    from keras_gans.config import ConfigError

    with pytest.raises(ConfigError, match="augment: 'adaa' is not one of: none, diffaug, ada"):
        tiny_stylegan_config(16, augment="adaa")
    with pytest.raises(ConfigError, match="ada_pipeline: 'bgcf' is not one of"):
        tiny_stylegan_config(16, augment="ada", ada_pipeline="bgcf")
    with pytest.raises(ConfigError, match="augment_p"):
        tiny_stylegan_config(16, augment="ada", augment_p=1.5)
    with pytest.raises(ConfigError, match="ada_hue_max: 2.0 is outside 0 to 1"):
        tiny_stylegan_config(16, augment="ada", ada_hue_max=2.0)
    with pytest.raises(ConfigError, match="ada_target: 6.0 is outside -1 to 1"):  # 0.6 mistyped
        tiny_stylegan_config(16, augment="ada", ada_target=6.0)


def test_ada_hue_max_bounds_the_hue_rotation():
    # A saturated red under hue rotations alone (the colour group at p=1 minus the other
    # transforms): its hue angle about the grey axis moves by at most hue_max half-turns.
    import math

    red = tf.tile(tf.constant([[[[1.0, -1.0, -1.0]]]]), [512, 1, 1, 1])

    def angles(hue_max):
        colour = augment._colour_matrix(512, ("hue",), 1.0, keras.random.SeedGenerator(3), hue_max)
        rgb = np.asarray(tf.einsum("bij,bhwj->bhwi", colour[:, :3, :3], red) + colour[:, None, None, :3, 3])[:, 0, 0]
        # Hue angle in the plane orthogonal to grey.
        x = (2 * rgb[:, 0] - rgb[:, 1] - rgb[:, 2]) / math.sqrt(6)
        y = (rgb[:, 1] - rgb[:, 2]) / math.sqrt(2)
        return np.abs(np.arctan2(y, x))

    assert angles(1.0).max() > 0.9 * math.pi
    narrow = angles(0.25)
    assert narrow.max() <= 0.25 * math.pi + 1e-4 and narrow.max() > 0.2 * math.pi
    assert angles(0.0).max() < 1e-4


def test_ada_skip_is_checked_against_the_pipeline(tiny_stylegan_config):
    from keras_gans.config import ConfigError

    config = tiny_stylegan_config(16, augment="ada", ada_skip="rotate90, rotate")
    assert config.ada_transforms() == ("xflip", "xint", "scale", "aniso", "xfrac",
                                       "brightness", "contrast", "lumaflip", "hue", "saturation")
    with pytest.raises(ConfigError, match="ada_skip: 'rotat' not in ada_pipeline 'bgc', whose transforms are xflip"):
        tiny_stylegan_config(16, augment="ada", ada_skip="rotat")
    with pytest.raises(ConfigError, match="ada_skip: 'hue' not in ada_pipeline 'bg'"):
        tiny_stylegan_config(16, augment="ada", ada_pipeline="bg", ada_skip="hue")
    with pytest.raises(ConfigError, match="ada_skip leaves nothing of ada_pipeline 'blit'"):
        tiny_stylegan_config(16, augment="ada", ada_pipeline="blit", ada_skip="xflip,rotate90,xint")


def test_engine_applies_only_the_transforms_ada_skip_leaves(tiny_stylegan_config):
    from keras_gans.training.engine import build_gan

    # The blit group without rotations and shifts at p = 1: every image comes out as itself or its
    # mirror image, and both occur.
    config = tiny_stylegan_config(16, augment="ada", ada_pipeline="blit", ada_skip="rotate90,xint",
                                  augment_p=1.0, augment_adjust=False)
    gan = build_gan(config, seed=0)
    images = _images(64)
    out = np.asarray(gan._augment(images))
    same = np.all(np.abs(out - np.asarray(images)) < 1e-5, axis=(1, 2, 3))
    mirrored = np.all(np.abs(out - np.asarray(images)[:, :, ::-1]) < 1e-5, axis=(1, 2, 3))
    assert np.all(same | mirrored) and same.any() and mirrored.any()
    # Without ada_skip the same pipeline also turns and shifts images.
    full = build_gan(tiny_stylegan_config(16, augment="ada", ada_pipeline="blit", augment_p=1.0, augment_adjust=False), seed=0)
    out = np.asarray(full._augment(images))
    assert not np.all(np.all(np.abs(out - np.asarray(images)) < 1e-5, axis=(1, 2, 3))
                      | np.all(np.abs(out - np.asarray(images)[:, :, ::-1]) < 1e-5, axis=(1, 2, 3)))
    # The corruptions through the engine: cutout alone at p = 1 blanks part of every image.
    cutout = build_gan(tiny_stylegan_config(16, augment="ada", ada_pipeline="bgcnc", ada_skip=",".join(
        name for name in ADA_PIPELINES["bgcnc"] if name != "cutout"), augment_p=1.0, augment_adjust=False), seed=0)
    out = np.asarray(cutout._augment(images * 0 + 1.0))
    assert set(np.unique(out)) <= {0.0, 1.0} and (out == 0).any(axis=(1, 2, 3)).all()


def test_engine_raises_p_when_d_overfits_and_keeps_it_constant_when_told(tiny_stylegan_config):
    from keras_gans.training.engine import build_gan

    config = tiny_stylegan_config(16, augment="ada", ada_interval=2, augment_speed_kimg=0.1, ada_target=-1.0)
    gan = build_gan(config, seed=0)
    gan.compile()
    batch = (_images(config.batch_size), tf.zeros((config.batch_size,), tf.int32))
    for _ in range(4):
        logs = gan.train_step(batch)
    # r_t >= -1 always exceeds a target of -1: p rises by batch * interval / (speed * 1000) per adjustment.
    expected = min(1.0, 2 * config.batch_size * 2 / 100)
    assert float(gan.augment_p.numpy()) == pytest.approx(expected)
    assert "augment_p" in logs
    # r_t is logged beside p, so a user can see why p moves (or does not).
    assert -1.0 <= float(logs["augment_rt"]) <= 1.0

    fixed = build_gan(tiny_stylegan_config(16, augment="ada", augment_adjust=False, augment_p=0.3), seed=0)
    fixed.compile()
    for _ in range(3):
        fixed.train_step(batch)
    assert float(fixed.augment_p.numpy()) == pytest.approx(0.3)


def test_p_and_kimg_survive_resume_and_reach_tensorboard(tmp_path, tiny_stylegan_flags, monkeypatch):
    """stylegan2-ada restarts p and kimg at zero on resume (NVlabs/stylegan2-ada#106); here both continue."""
    import json

    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from keras_gans import train
    from keras_gans.training.checkpoints import latest_checkpoint

    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "pictures"
    data.mkdir()
    rng = np.random.default_rng(0)
    for index in range(16):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(data / f"{index}.png")
    out = tmp_path / "run"
    # A target of -1 is always exceeded, so p climbs by 4 images / 500 per step.
    flags = ["--model", "stylegan", "--data", str(data), "--out", str(out), "--augment", "ada", *tiny_stylegan_flags,
             "--set", "ada_target=-1", "--set", "augment_speed_kimg=0.5", "--set", "ada_interval=1",
             "--no-progress", "--tick", "0.016", "--checkpoint-every", "0.016", "--sample-every", "1"]
    assert train.main([*flags, "--kimg", "0.032"]) == 0
    first = json.loads((latest_checkpoint(out / "checkpoints") / "meta.json").read_text())
    assert first["images_seen"] == 32 and 0 < first["augment_p"] <= 1
    assert train.main([*flags, "--kimg", "0.064"]) == 0
    second = json.loads((latest_checkpoint(out / "checkpoints") / "meta.json").read_text())
    assert second["images_seen"] == 64
    # Continued from the saved p: a restart from zero would end where the first run did.
    assert second["augment_p"] == pytest.approx(min(1.0, 2 * first["augment_p"]), abs=1e-5)
    events = EventAccumulator(str(out / "logs"))
    events.Reload()
    tags = events.Tags()
    assert "augment/p" in tags.get("scalars", []) + tags.get("tensors", [])
