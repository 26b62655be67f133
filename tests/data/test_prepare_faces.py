"""keras_gans.prepare --crop anime-face: real faces from ../shared found in synthetic scenes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_gans.data import faces
from keras_gans.data.preparation import PrepareError, PrepareOptions, prepare_dataset

FACE_SIDE = 96  # 64 px shared crops scaled up: the cascade's sweet spot for these crops


def background(size, seed=0) -> Image.Image:
    """A soft, non-uniform backdrop (sky-like gradient plus mild noise)."""
    width, height = size
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    base = np.array([120, 170, 220]) * (1 - y) + np.array([90, 140, 90]) * y
    noise = rng.normal(0, 6, size=(height, width, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def scene(face_images, seed=0):
    """Faces pasted in a row on a backdrop three face-widths per face wide; returns the scene
    and the pasted boxes (left, top, right, bottom)."""
    side = FACE_SIDE
    canvas = background((side * 3 * len(face_images), side * 2), seed)
    boxes = []
    for index, face in enumerate(face_images):
        left, top = side + index * side * 3, side // 2
        canvas.paste(face.resize((side, side), Image.LANCZOS), (left, top))
        boxes.append((left, top, left + side, top + side))
    return canvas, boxes


def overlaps(detection, box) -> bool:
    x, y, w, h = detection
    cx, cy = x + w / 2, y + h / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def find_detectable(anime_faces_dir: Path, detector, wanted: int):
    """The first faces (sorted paths) that the cascade finds, one detection each, in a scene."""
    found = []
    for path in sorted(anime_faces_dir.rglob("*.jpg"))[:200]:
        with Image.open(path) as opened:
            face = opened.convert("RGB")
        image, boxes = scene([face])
        detections = detector.detect(image)
        if len(detections) == 1 and overlaps(detections[0], boxes[0]):
            found.append((path, face))
            if len(found) == wanted:
                return found
    pytest.skip(f"the cascade found fewer than {wanted} of the shared faces at {FACE_SIDE} px")


def test_face_crop_finds_the_pasted_faces(anime_faces_dir, anime_cascade_path, tmp_path):
    pytest.importorskip("cv2")
    detector = faces.AnimeFaceDetector(anime_cascade_path)
    chosen = find_detectable(anime_faces_dir, detector, 2)
    src = tmp_path / "src"
    (src / "art").mkdir(parents=True)
    one, one_boxes = scene([chosen[0][1]])
    one.save(src / "art" / "one.png")
    two, two_boxes = scene([chosen[0][1], chosen[1][1]], seed=1)
    two_detections = detector.detect(two)
    background((300, 200), seed=2).save(src / "art" / "sky.png")

    two.save(src / "art" / "two.png")
    dst = tmp_path / "dst"
    summary = prepare_dataset(
        src, dst,
        PrepareOptions(resolution=64, crop="anime-face", cascade=str(anime_cascade_path), face_margin=0.25,
                       min_size=24, workers=1),
        progress=False, log=None,
    )
    manifest = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    by_source = {}
    for entry in manifest:
        by_source.setdefault(entry["source"], []).append(entry)

    # The single face: one output whose crop box is centred on the pasted face and about its size.
    [entry] = by_source["art/one.png"]
    assert entry["path"] == "art/one-face0.png" and entry["face"] == 0
    left, top, right, bottom = entry["crop_box"]
    pasted = one_boxes[0]
    assert abs((left + right) / 2 - (pasted[0] + pasted[2]) / 2) < FACE_SIDE / 4
    assert abs((top + bottom) / 2 - (pasted[1] + pasted[3]) / 2) < FACE_SIDE / 4
    assert 0.5 * FACE_SIDE <= right - left <= 2 * FACE_SIDE and right - left == bottom - top
    with Image.open(dst / entry["path"]) as output:
        assert output.size == (64, 64)

    # One output per face.
    if len(two_detections) == 2:
        outputs = sorted(e["path"] for e in by_source["art/two.png"])
        assert outputs == ["art/two-face0.png", "art/two-face1.png"]
        for entry, pasted in zip(sorted(by_source["art/two.png"], key=lambda e: e["crop_box"][0]), two_boxes):
            centre = (entry["crop_box"][0] + entry["crop_box"][2]) / 2
            assert abs(centre - (pasted[0] + pasted[2]) / 2) < FACE_SIDE / 4

    # The picture without a face is reported.
    assert (dst / "no-face.txt").read_text().splitlines() == ["art/sky.png"]
    assert summary.skipped == {"no-face": 1} and summary.no_face == 1


def test_face_crop_box_stays_inside_the_image():
    assert faces.face_crop_box((0, 0, 40, 40), (100, 80), margin=0.25) == (0, 0, 60, 60)
    assert faces.face_crop_box((70, 50, 30, 30), (100, 80), margin=0.5) == (40, 20, 100, 80)
    left, top, right, bottom = faces.face_crop_box((10, 10, 100, 100), (120, 90), margin=0.5)
    assert right - left == bottom - top == 90 and 0 <= left and right <= 120


def test_missing_opencv_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (64, 64)).save(src / "a.png")
    with pytest.raises(PrepareError, match=r"pip install keras_gans\[faces\]"):
        prepare_dataset(src, tmp_path / "dst", PrepareOptions(crop="anime-face"), progress=False, log=None)
    assert not (tmp_path / "dst").exists()


def test_cascade_is_downloaded_once_into_the_cache(monkeypatch, tmp_path):
    payload = b"<?xml version='1.0'?>\n<opencv_storage>\n<cascade/>\n</opencv_storage>\n"
    calls = []

    class Response:
        def __init__(self, data):
            self.data = data

        def read(self):
            return self.data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout):
        calls.append(request.full_url)
        return Response(payload)

    monkeypatch.setenv("KERAS_GANS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(faces.urllib.request, "urlopen", fake_urlopen)
    first = faces.resolve_cascade()
    second = faces.resolve_cascade()
    assert first == second == tmp_path / "cache" / "models" / faces.CASCADE_FILENAME
    assert first.read_bytes() == payload and calls == [faces.CASCADE_URL]
    assert [p.name for p in first.parent.iterdir()] == [faces.CASCADE_FILENAME]  # no temporaries left

    first.unlink()
    monkeypatch.setattr(faces.urllib.request, "urlopen", lambda request, timeout: Response(b"<html>404</html>"))
    with pytest.raises(faces.FaceDetectionUnavailable, match="--cascade PATH"):
        faces.resolve_cascade()
    assert list(first.parent.iterdir()) == []
    with pytest.raises(faces.FaceDetectionUnavailable, match="does not exist"):
        faces.resolve_cascade(tmp_path / "nope.xml")
