"""Streaming image download: temp file first, renamed by the caller only after every check passed."""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from PIL import Image, UnidentifiedImageError

from .errors import FetchError
from .http import PoliteClient

# Every temporary download starts with this, so a later run can sweep what a killed run left behind.
PARTIAL_PREFIX = ".partial-"
CHUNK_BYTES = 64 * 1024
ACCEPTED_CONTENT_TYPES = ("application/octet-stream", "binary/octet-stream", "")

# Magic bytes -> (file extension, Pillow format name). Checked on the first bytes of the body.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "png", "PNG"),
    (b"GIF87a", "gif", "GIF"),
    (b"GIF89a", "gif", "GIF"),
    (b"II*\x00", "tif", "TIFF"),
    (b"MM\x00*", "tif", "TIFF"),
)
SNIFF_BYTES = 12


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 50 * 1024 * 1024
    min_side: int = 512


@dataclass
class Downloaded:
    temp_path: Path
    sha256: str
    extension: str
    width: int
    height: int
    size_bytes: int
    content_type: str


def sniff_format(head: bytes) -> tuple[str, str] | None:
    """(extension, Pillow format) for the leading bytes of a supported image, else None."""
    for magic, extension, pillow_format in _SIGNATURES:
        if head.startswith(magic):
            return extension, pillow_format
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "WEBP"
    return None


def decode_fully(path: Path, expected_format: str) -> tuple[int, int]:
    """Decode every pixel (verify() alone misses truncated scan data); returns (width, height)."""
    try:
        with Image.open(path) as image:
            if image.format != expected_format:
                raise FetchError("not-an-image", f"bytes say {expected_format}, Pillow says {image.format}")
            image.load()
            return image.size
    except Image.DecompressionBombError as exc:
        raise FetchError("too-large", str(exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise FetchError("undecodable", str(exc)) from None


class _Deadline:
    """Bounds a whole download: a server that drips one byte per read-timeout would never trip it.

    A blocked socket read cannot be interrupted from its own thread, so a timer shuts the socket
    down, which makes the read return; the caller then reports a timeout.
    """

    def __init__(self, response: requests.Response, seconds: float):
        self.expired = False
        self._response = response
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        connection = getattr(self._response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            else:
                self._response.close()
        except OSError:
            pass

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def _media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def download_image(
    client: PoliteClient,
    url: str,
    directory: Path,
    limits: ImageLimits,
    headers: dict | None = None,
) -> Downloaded:
    """Fetch ``url`` (robots.txt honoured) into a hidden temp file in ``directory`` and validate it.

    On any failure the temp file is removed before the error propagates, so nothing partial stays.
    """

    def consume(response: requests.Response) -> Downloaded:
        media_type = _media_type(response)
        if not media_type.startswith("image/") and media_type not in ACCEPTED_CONTENT_TYPES:
            raise FetchError("not-an-image", f"content type {media_type}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchError("too-large", f"{declared} bytes declared, limit {limits.max_bytes}")
        handle, temp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=directory)
        temp_path = Path(temp_name)
        try:
            with _Deadline(response, client.settings.download_timeout) as deadline:
                try:
                    return _stream_and_check(response, handle, temp_path, media_type, limits)
                except Exception:
                    if deadline.expired:
                        raise FetchError("timeout", f"download took over {client.settings.download_timeout:g} s") from None
                    raise
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise

    return client.call(url, consume, headers=headers, robots=True, stream=True)


def _stream_and_check(response, handle, temp_path, media_type, limits) -> Downloaded:
    digest = hashlib.sha256()
    size = 0
    head = b""
    detected = None
    with os.fdopen(handle, "wb") as sink:
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError("too-large", f"more than {limits.max_bytes} bytes")
            if detected is None:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    detected = _require_format(head, media_type)
            digest.update(chunk)
            sink.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    if detected is None:
        detected = _require_format(head, media_type)
    extension, pillow_format = detected
    width, height = decode_fully(temp_path, pillow_format)
    if min(width, height) < limits.min_side:
        raise FetchError("too-small", f"{width}x{height}, minimum side {limits.min_side}")
    return Downloaded(temp_path, digest.hexdigest(), extension, width, height, size, media_type)


def _require_format(head: bytes, media_type: str) -> tuple[str, str]:
    detected = sniff_format(head)
    if detected is None:
        raise FetchError("not-an-image", f"unrecognised leading bytes (content type {media_type or 'none'})")
    return detected
