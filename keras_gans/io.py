"""Atomic file writes: a reader (or a crash) never sees a half-written file."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _process_umask() -> int:
    # Read once at import: setting and restoring it later could race with other threads' writes.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _process_umask()


@contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    ``suffix`` keeps the extension for writers that look at it (Keras wants ``.keras``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(handle)
    # mkstemp creates the file readable by its owner only; give it the mode a plain open() would
    # (0666 less the umask), so sheets, samples and models are as shareable as any other output.
    os.chmod(temporary, 0o666 & ~_UMASK)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


def write_json_atomic(path: str | Path, payload) -> Path:
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
    return Path(path)


def save_npy_atomic(path: str | Path, array) -> None:
    """np.save without pickle, atomically."""
    import numpy as np

    with atomic_path(path, suffix=".npy") as temporary:
        np.save(temporary, array, allow_pickle=False)


def save_npz_atomic(path: str | Path, **arrays) -> None:
    """np.savez (uncompressed, no pickled objects) atomically."""
    import numpy as np

    with atomic_path(path, suffix=".npz") as temporary:
        np.savez(temporary, **arrays)


def save_png_atomic(image, path: str | Path) -> None:
    """Save a Pillow image as PNG atomically."""
    save_image_atomic(image, path, "PNG")


def save_image_atomic(image, path: str | Path, format: str, **options) -> None:
    """Save a Pillow image (``format`` PNG, WEBP, JPEG, GIF with Pillow's ``options``) atomically."""
    with atomic_path(path, suffix=Path(path).suffix) as temporary:
        image.save(temporary, format=format, **options)


def save_model_atomic(model, path: str | Path) -> None:
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
