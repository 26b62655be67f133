"""Checking an image folder before training: broken files are skipped and named, and datasets
that cannot train are clear errors."""
import io

import numpy as np
import pytest
from PIL import Image

from keras_gans.data.folders import DatasetError, check_trainable, load_image_folder
from keras_gans.data.pipeline import array_dataset


def _jpeg_bytes(size=(40, 30), color=(200, 30, 30), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "data"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    for index in range(3):
        Image.new("RGB", (48, 32), (index * 40, 80, 120)).save(root / "cats" / f"good{index}.png")
        (root / "dogs" / f"good{index}.jpg").write_bytes(_jpeg_bytes())
    Image.new("P", (20, 20), 3).save(root / "dogs" / "palette.gif")
    Image.new("RGBA", (20, 20), (0, 0, 255, 0)).save(root / "dogs" / "transparent.png")
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(root / "cats" / "cmyk.jpg")
    Image.fromarray(np.full((16, 16), 40000, np.uint16)).save(root / "cats" / "sixteen.png")
    (root / "cats" / "empty.jpg").write_bytes(b"")
    (root / "cats" / "text.png").write_text("this is not a picture")
    (root / "dogs" / "truncated.jpg").write_bytes(_jpeg_bytes((64, 64))[:300])
    (root / "dogs" / "notes.txt").write_text("ignored quietly")
    (root / "dogs" / "dog.json").write_text("{}")  # scraper sidecar: not reported
    return root


def test_broken_files_are_skipped_with_reasons_and_the_rest_converted(messy_folder, tmp_path):
    data = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    skipped = {path.split("/")[-1]: reason for path, reason in data.skipped}
    assert set(skipped) == {"empty.jpg", "text.png", "truncated.jpg"}
    assert skipped["empty.jpg"].startswith("zero-byte")
    assert skipped["text.png"].startswith("not-an-image")
    assert skipped["truncated.jpg"].startswith(("truncated", "corrupt"))
    assert data.images.shape == (10, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.class_names == ["cats", "dogs"]
    assert data.class_counts() == {"cats": 5, "dogs": 5}
    transparent = data.images[data.paths.index(str(messy_folder / "dogs" / "transparent.png"))]
    np.testing.assert_array_equal(transparent, 255)  # composited on white, not black


def test_cache_is_reused_and_invalidated_by_a_changed_file(messy_folder, tmp_path):
    first = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    again = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(np.asarray(again.images), first.images)
    Image.new("RGB", (20, 20), (0, 0, 0)).save(messy_folder / "cats" / "new.png")
    changed = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    assert len(changed.images) == len(first.images) + 1


def test_grayscale_loading(messy_folder, tmp_path):
    data = load_image_folder(messy_folder, 8, channels=1, cache_dir=tmp_path / "cache", progress=False)
    assert data.images.shape[1:] == (8, 8, 1)


def test_unusable_datasets_are_clear_errors(tmp_path, messy_folder):
    with pytest.raises(DatasetError, match="does not exist"):
        load_image_folder(tmp_path / "missing", 16, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        load_image_folder(tmp_path / "empty", 16, progress=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_text("nope")
    with pytest.raises(DatasetError, match="none of the 1 image files"):
        load_image_folder(tmp_path / "bad", 16, cache_dir=tmp_path / "cache", progress=False)
    data = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match="fewer than one batch of 64"):
        check_trainable(data, 64, conditional=False, source="messy")
    flat = tmp_path / "flat"
    flat.mkdir()
    for index in range(4):
        Image.new("RGB", (9, 9), (index, 0, 0)).save(flat / f"{index}.png")
    unlabelled = load_image_folder(flat, 8, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match="needs labelled data"):
        check_trainable(unlabelled, 2, conditional=True, source="flat")


def test_pipeline_batches_are_in_model_range_with_labels(messy_folder, tmp_path):
    data = load_image_folder(messy_folder, 16, cache_dir=tmp_path / "cache", progress=False)
    images, labels = next(iter(array_dataset(data.images, data.labels, batch_size=4, seed=1)))
    assert images.shape == (4, 16, 16, 3) and images.dtype.name == "float32"
    assert -1.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0
    assert set(np.asarray(labels).tolist()) <= {0, 1}
