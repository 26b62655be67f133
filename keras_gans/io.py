"""Atomic file writes: a reader (or a crash) never sees a half-written file. Also the one reader of
classes.json, the small file that generation, evaluation and the gallery all read from a run."""
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


def cache_dir(kind: str) -> Path:
    """The one cache location: ``$KERAS_GANS_CACHE/<kind>``, else ``$XDG_CACHE_HOME/keras_gans/<kind>``,
    else ``~/.cache/keras_gans/<kind>``. Kinds: ``datasets`` (decoded image folders), ``metrics``
    (real-image features), ``weights`` (downloaded network weights), ``models`` (helper models
    such as the anime face cascade), ``gallery`` (sites that ``gallery serve`` builds)."""
    base = os.environ.get("KERAS_GANS_CACHE")
    if base:
        root = Path(base).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "keras_gans"
    return root / kind


def is_atomic_temporary(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_path`'s temporaries (``.NAME.XXXX.tmp[.ext]``),
    which only a process killed mid-write leaves behind: cleaners may delete them."""
    return name.startswith(".") and ".tmp" in name


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, synced to disk before the rename."""
    with atomic_path(path, suffix=Path(path).suffix) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


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


def read_class_names(run_dir: str | Path) -> list[str]:
    """The class names a training run saved in ``<run_dir>/classes.json`` ([] when unconditional
    or when the file is absent, as in runs older than the file).

    A file that is not a JSON list of strings raises ``ValueError`` naming it: labels would
    otherwise be matched to the wrong classes, or silently dropped.
    """
    path = Path(run_dir) / "classes.json"
    if not path.is_file():
        return []
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path} is not readable JSON ({error}); restore it from the run's training data "
                         "(the class subfolder names, sorted) or retrain") from None
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{path} should hold a JSON list of class names, not {str(names)[:80]}; "
                         "restore it or retrain")
    return names
