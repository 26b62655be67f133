"""keras_gans.prepare --format tfrecord: shards the training loader reads back exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from keras_gans.data.preparation import PrepareOptions, prepare_dataset
from keras_gans.data.tfrecords import find_tfrecords, read_tfrecord_metadata, tfrecord_dataset


def make_src(root, labelled=True):
    rng = np.random.default_rng(1)
    for i in range(7):
        folder = root / (("abc"[i % 3]) if labelled else "")
        folder.mkdir(parents=True, exist_ok=True)
        grid = rng.integers(0, 256, size=(5, 5, 3), dtype=np.uint8)
        Image.fromarray(grid, "RGB").resize((40, 40), Image.BICUBIC).save(folder / f"p{i}.png")
    return root


@pytest.mark.parametrize("labelled, channels", [(True, 3), (False, 1)])
def test_tfrecords_hold_exactly_the_folder(labelled, channels, tmp_path):
    src = make_src(tmp_path / "src", labelled)
    dst = tmp_path / "dst"
    assert find_tfrecords(dst) == []
    prepare_dataset(src, dst, PrepareOptions(resolution=16, channels=channels, format="tfrecord", shard_size=3,
                                             workers=1), progress=False, log=None)
    files = find_tfrecords(dst)
    assert [f.rsplit("/", 1)[1] for f in files] == [f"data-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert find_tfrecords(dst / "tfrecords") == files
    metadata = read_tfrecord_metadata(dst)
    assert metadata["resolution"] == 16 and metadata["channels"] == channels and metadata["count"] == 7
    assert metadata["classes"] == (["a", "b", "c"] if labelled else [])

    manifest = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    expected = {}
    for entry in manifest:
        with Image.open(dst / entry["path"]) as image:
            array = np.asarray(image)
        expected[array.tobytes()] = entry["class_index"]
    dataset = tfrecord_dataset(files)
    image_spec, label_spec = dataset.element_spec
    assert image_spec.shape.as_list() == [16, 16, channels] and image_spec.dtype.name == "uint8"
    assert label_spec.shape.as_list() == [] and label_spec.dtype.name == "int32"
    seen = {}
    for image, label in dataset.as_numpy_iterator():
        seen[image[..., 0].tobytes() if channels == 1 else image.tobytes()] = int(label)
    assert seen == expected
    if not labelled:
        assert set(seen.values()) == {-1}

    # A rerun with nothing changed leaves the shards alone; going back to folder removes them.
    mtimes = [p.stat().st_mtime_ns for p in (dst / "tfrecords").iterdir()]
    prepare_dataset(src, dst, PrepareOptions(resolution=16, channels=channels, format="tfrecord", shard_size=3,
                                             workers=1), progress=False, log=None)
    assert [p.stat().st_mtime_ns for p in (dst / "tfrecords").iterdir()] == mtimes
    prepare_dataset(src, dst, PrepareOptions(resolution=16, channels=channels, workers=1), progress=False, log=None)
    assert find_tfrecords(dst) == [] and not (dst / "tfrecords").exists()


def test_incomplete_shard_set_is_ignored(tmp_path):
    (tmp_path / "tfrecords").mkdir()
    (tmp_path / "tfrecords" / "data-00000-of-00002.tfrecord").write_bytes(b"")
    assert find_tfrecords(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        read_tfrecord_metadata(tmp_path)


def test_tfrecord_training_batches_come_in_class_runs(tmp_path):
    from keras_gans.data.pipeline import tfrecord_training_dataset

    src = make_src(tmp_path / "src")
    dst = tmp_path / "dst"
    prepare_dataset(src, dst, PrepareOptions(resolution=16, format="tfrecord", shard_size=3, workers=1), progress=False, log=None)
    dataset = tfrecord_training_dataset(find_tfrecords(dst), 16, 3, 4, 7, flip=False, class_run_length=2)
    counts = np.zeros(3)
    for images, labels in dataset.take(60).as_numpy_iterator():
        assert images.shape == (4, 16, 16, 3)
        runs = labels.reshape(-1, 2)
        assert (runs == runs[:, :1]).all()
        counts += np.bincount(labels, minlength=3)
    # Classes a, b, c hold 3, 2 and 2 of the 7 images.
    np.testing.assert_allclose(counts / counts.sum(), [3 / 7, 2 / 7, 2 / 7], atol=0.08)
