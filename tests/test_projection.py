"""Projection: the search gets much closer to the target than the mean-w image, leaves the
generator drawing its own noise again, and the CLI writes what it promises (w.npy that
`generate mixing --source-w` takes)."""
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_gans import generate, project
from keras_gans.generation import generate_images
from keras_gans.layers.style import fixed_noise_of
from keras_gans.projection import ProjectionSettings, learning_rate_at, mean_w_distance, noise_regularization
from keras_gans.projection import project as project_image


def _l2(a, b):
    return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)), axis=[1, 2, 3])


@pytest.fixture
def generator(tiny_stylegan_generator):
    return tiny_stylegan_generator(seed=1, noise_strength=0.1)


def test_projection_gets_closer_than_the_mean_w_image(generator):
    target = generate_images(generator, 1, seed=12)[0]
    start = mean_w_distance(generator, target, _l2, samples=500)
    result = project_image(generator, target, _l2, ProjectionSettings(steps=80, w_avg_samples=500, frames=10))
    assert result.distance < 0.7 * start
    assert result.ws.shape == (generator.get_layer("synthesis").inputs[0].shape[1], 16)
    assert result.image.shape == target.shape and result.image.dtype == np.uint8
    assert len(result.distances) == 80 and 2 <= len(result.frames) <= 11
    # the generator draws its own noise again afterwards
    assert all(fixed_noise_of(layer) is None for layer in generator.get_layer("synthesis").layers)
    assert not np.array_equal(generate_images(generator, 1, seed=3), generate_images(generator, 1, seed=4))


def test_w_plus_has_one_style_per_layer_and_schedules_are_the_references(generator):
    target = generate_images(generator, 1, seed=4)[0]
    result = project_image(generator, target, _l2, ProjectionSettings(steps=10, w_plus=True, w_avg_samples=200))
    assert not np.allclose(result.ws[0], result.ws[-1])  # the layers moved apart
    settings = ProjectionSettings(steps=1000)
    assert learning_rate_at(0, settings) == 0.0
    assert learning_rate_at(500, settings) == pytest.approx(0.1)
    assert learning_rate_at(999, settings) < 0.001
    white = tf.ones((1, 16, 16, 1))
    assert float(noise_regularization([white])) > float(noise_regularization([tf.random.normal((1, 16, 16, 1), seed=1)]))


def test_project_cli_writes_its_files_and_mixing_takes_them(generator, tmp_path, capsys):
    path = tmp_path / "generator.keras"
    generator.save(path)
    painting = tmp_path / "painting.png"
    Image.fromarray(generate_images(generator, 1, seed=9)[0]).resize((40, 30)).save(painting)
    out = tmp_path / "proj"
    assert project.main(["--generator", str(path), "--image", str(painting), "--steps", "6", "--out", str(out)]) == 0
    for name in ("projected.png", "target.png", "comparison.png", "w.npy", "progress.webp", "projection.json"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "projection.json").read_text())
    assert report["settings"]["steps"] == 6 and len(report["distances"]) == 6
    w = np.load(out / "w.npy", allow_pickle=False)
    assert w.shape == tuple(report["w_shape"])
    sheet = tmp_path / "mixing.png"
    assert generate.main(["mixing", "--generator", str(path), "--out", str(sheet), "--source-w", str(out / "w.npy"),
                          str(out / "w.npy"), "--destinations", "2"]) == 0
    assert Image.open(sheet).size[0] >= 3 * 16  # a blank corner and the two projected sources
    np.save(tmp_path / "bad.npy", np.zeros((2, 3), np.float32))
    assert generate.main(["mixing", "--generator", str(path), "--out", str(tmp_path / "x.png"),
                          "--destination-w", str(tmp_path / "bad.npy")]) == 2
    assert "styles have shape" in capsys.readouterr().err


def test_project_refuses_bad_input(generator, tmp_path, capsys):
    path = tmp_path / "generator.keras"
    generator.save(path)
    with pytest.raises(SystemExit) as exit_info:
        project.main(["--generator", str(path), "--image", str(tmp_path / "missing.jpg"), "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert project.main(["--generator", str(path), "--image", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "broken.jpg" in capsys.readouterr().err
