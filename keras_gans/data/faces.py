"""Anime face detection with nagadomi's lbpcascade_animeface (OpenCV cascade classifier).

OpenCV is an optional dependency (``pip install keras_gans[faces]``, which pins
``opencv-python-headless>=4.8,<5``: OpenCV 5 drops ``CascadeClassifier`` and the headless build
needs no libGL). Detection uses the settings the cascade's author recommends: histogram-
equalised grayscale, ``scaleFactor=1.1``, ``minNeighbors=5``, ``minSize=(24, 24)``.
"""
from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from keras_gans.io import cache_dir as project_cache, write_bytes_atomic

CASCADE_URL = "https://raw.githubusercontent.com/nagadomi/lbpcascade_animeface/master/lbpcascade_animeface.xml"
CASCADE_FILENAME = "lbpcascade_animeface.xml"
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
MIN_SIZE = 24
DEFAULT_MARGIN = 0.25
INSTALL_HINT = "pip install keras_gans[faces]"


class FaceDetectionUnavailable(RuntimeError):
    """OpenCV or the cascade file cannot be had; the message says what to do."""


def require_cv2():
    """Import OpenCV, or raise with the install command when it is missing or unusable."""
    try:
        import cv2
    except ImportError as error:
        raise FaceDetectionUnavailable(
            f"--crop anime-face needs OpenCV, which is not installed ({error}); "
            f"install it with: {INSTALL_HINT}"
        ) from None
    if not hasattr(cv2, "CascadeClassifier"):
        raise FaceDetectionUnavailable(
            f"this OpenCV ({getattr(cv2, '__version__', '?')}) has no CascadeClassifier (OpenCV 5 "
            f"removed it); install a 4.x build with: {INSTALL_HINT}"
        )
    return cv2


def cache_dir() -> Path:
    """Where the downloaded cascade lives (the project's one cache location, ``models``)."""

    return project_cache("models")


def _looks_like_cascade(data: bytes) -> bool:
    return b"<opencv_storage>" in data[:4096] and b"</opencv_storage>" in data[-4096:]


def download_cascade(destination: Path, url: str = CASCADE_URL, timeout: float = 60.0) -> Path:
    """Download the cascade to ``destination`` atomically (temporary file, then rename)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "keras_gans (anime face cascade)"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
    except OSError as error:
        raise FaceDetectionUnavailable(
            f"could not download the anime face cascade from {url} ({error}); download it by hand "
            f"and pass --cascade PATH"
        ) from None
    if not _looks_like_cascade(data):
        raise FaceDetectionUnavailable(f"{url} did not return an OpenCV cascade file; pass --cascade PATH")

    write_bytes_atomic(destination, data)
    return destination


def resolve_cascade(path: str | os.PathLike | None = None) -> Path:
    """The cascade file to use: ``path`` when given (it must exist), else the cached copy,
    downloaded once from :data:`CASCADE_URL`."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FaceDetectionUnavailable(f"cascade file {path} does not exist")
        return path.resolve()
    cached = cache_dir() / CASCADE_FILENAME
    if cached.is_file():
        return cached
    return download_cascade(cached)


class AnimeFaceDetector:
    """``detect(image)`` gives face boxes ``(x, y, w, h)`` in pixel coordinates of ``image``."""

    def __init__(self, cascade_path: str | os.PathLike):
        cv2 = require_cv2()
        self._cv2 = cv2
        self.cascade_path = str(cascade_path)
        self._classifier = cv2.CascadeClassifier(self.cascade_path)
        if self._classifier.empty():
            raise FaceDetectionUnavailable(f"{cascade_path} is not a valid OpenCV cascade file")

    def detect(self, image: Image.Image) -> list[tuple[int, int, int, int]]:
        gray = np.asarray(image.convert("L"), dtype=np.uint8)
        gray = self._cv2.equalizeHist(gray)
        faces = self._classifier.detectMultiScale(
            gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(MIN_SIZE, MIN_SIZE)
        )
        boxes = [tuple(int(v) for v in face) for face in (faces if len(faces) else [])]
        return sorted(boxes, key=lambda box: (box[1], box[0], box[2], box[3]))


def face_crop_box(face, image_size, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int, int]:
    """A square crop box ``(left, top, right, bottom)`` around ``face = (x, y, w, h)``.

    The face's side grows by ``margin`` times itself on every side (0.25: a quarter of the face
    each side, so hair and chin fit). The box is moved, not cut, to stay inside the image; only
    when it is larger than the image's short side is it shrunk to that side.
    """
    x, y, w, h = face
    width, height = image_size
    side = int(round(max(w, h) * (1.0 + 2.0 * margin)))
    side = max(1, min(side, width, height))
    centre_x, centre_y = x + w / 2.0, y + h / 2.0
    left = int(round(centre_x - side / 2.0))
    top = int(round(centre_y - side / 2.0))
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return left, top, left + side, top + side
