"""File names built only from sanitised ids: never from remote file names or titles."""
from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_ID_CHARS = 80
LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def safe_id(raw) -> str:
    """A file-name-safe form of a remote id.

    Plain ids (digits, letters, ``-``/``_``) pass unchanged. Anything else (``../``, ``/``, dots,
    spaces, very long ids) is flattened and suffixed with a short hash of the original, so two
    different remote ids can never collide on one name and no name can leave its folder.
    """
    text = str(raw).strip()
    cleaned = _UNSAFE.sub("_", text).strip("_-")
    if cleaned == text and 0 < len(text) <= MAX_ID_CHARS:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned[:MAX_ID_CHARS - 11]}-{digest}" if cleaned else digest


def item_key(source: str, raw_id) -> str:
    """``<source>-<id>``: the manifest key and the stem of the image and sidecar files."""
    return f"{source}-{safe_id(raw_id)}"


def is_valid_label(label: str) -> bool:
    return bool(LABEL_PATTERN.match(label))
