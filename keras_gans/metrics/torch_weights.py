"""Read PyTorch weight files (``.pth``) into numpy arrays without torch, and without running code.

A ``.pth`` file is a pickle, and unpickling an untrusted pickle can run arbitrary code: the
pickle names a callable (``os.system``) and the arguments to call it with. This reader uses a
restricted unpickler whose ``find_class`` accepts only the handful of names that a plain
``state_dict`` of tensors needs, and maps each of them to a harmless stand-in of our own:

* ``collections.OrderedDict`` (the state dict itself, and empty backward-hook dicts),
* ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` (a tensor is a view of a storage),
* ``torch.<Type>Storage`` (the storage's dtype, e.g. ``torch.FloatStorage``).

Anything else (``os.system``, ``builtins.eval``, ``torch.nn.Module`` subclasses, …) raises
:class:`UnsafeWeightsError` before any object is built. Two layouts are understood: the legacy
stream (several pickles followed by raw storages, torch < 1.6) and the zip archive (torch >= 1.6,
``archive/data.pkl`` plus ``archive/data/<key>``).
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": None,  # no numpy dtype; refused if a tensor actually uses it
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeWeightsError(pickle.UnpicklingError):
    """The weight file asks for something other than tensors; it was not loaded."""


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: just a name and a numpy dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    def __init__(self, storage_type: _StorageType, key: str, numel: int):
        self.storage_type = storage_type
        self.key = key
        self.numel = numel
        self.data: np.ndarray | None = None


class _PendingTensor:
    """A tensor whose storage bytes come later in the file (legacy format)."""

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, _Storage):
            raise UnsafeWeightsError("a tensor was rebuilt from something that is not a storage")
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialize(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise pickle.UnpicklingError(f"storage {self.storage.key} has no data")
        if not self.size:
            return np.array(data[self.offset])
        itemsize = data.dtype.itemsize
        extent = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.size, self.stride) if n > 0)
        if min(self.size) > 0 and extent > data.size:
            raise pickle.UnpicklingError(f"tensor view runs past its storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *rest):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _PendingTensor(storage, storage_offset, size, stride)


class _OrderedDict(collections.OrderedDict):
    """OrderedDict that ignores attribute state (a pickle could otherwise set attributes)."""

    def __setstate__(self, state):  # pragma: no cover - only reached by odd pickles
        return None


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds tensors and dicts only; every other global is refused."""

    def __init__(self, file, storages: dict | None = None, allow_globals: bool = True):
        super().__init__(file)
        self._storages = {} if storages is None else storages
        self._allow_globals = allow_globals

    def find_class(self, module, name):
        if self._allow_globals:
            if (module, name) in _ALLOWED_GLOBALS:
                return _ALLOWED_GLOBALS[(module, name)]
            if module == "torch" and name in _STORAGE_DTYPES:
                return _StorageType(name)
        raise UnsafeWeightsError(
            f"refused to load {module}.{name}: this weight file may only contain tensors"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise UnsafeWeightsError(f"unexpected persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str):
            raise UnsafeWeightsError("malformed storage reference")
        if key not in self._storages:
            self._storages[key] = _Storage(storage_type, key, int(numel))
        return self._storages[key]


def _load_plain(stream):
    """A pickle that must contain plain data only (numbers, strings, lists, dicts)."""
    return RestrictedUnpickler(stream, allow_globals=False).load()


def _finish(result, storages: dict) -> dict[str, np.ndarray]:
    def convert(value, where):
        if isinstance(value, _PendingTensor):
            return value.materialize()
        if isinstance(value, dict):
            return {str(k): convert(v, f"{where}.{k}") for k, v in value.items()}
        raise UnsafeWeightsError(f"{where or 'the file'} holds a {type(value).__name__}, not tensors")

    for storage in storages.values():
        if storage.data is None:
            raise pickle.UnpicklingError(f"storage {storage.key} was never read")
    if not isinstance(result, dict):
        raise UnsafeWeightsError(f"the file holds a {type(result).__name__}, not a dict of tensors")
    flat = {}
    for key, value in convert(result, "").items():
        if isinstance(value, dict):  # {'state_dict': {...}} style checkpoints
            for inner, array in value.items():
                flat[f"{key}.{inner}"] = array
        else:
            flat[key] = value
    return flat


def _storage_dtype(storage: _Storage):
    dtype = storage.storage_type.dtype
    if dtype is None:
        raise pickle.UnpicklingError(f"{storage.storage_type.name} tensors are not supported")
    return np.dtype(dtype).newbyteorder("<")


def _load_legacy(stream) -> dict[str, np.ndarray]:
    magic = _load_plain(stream)
    if magic != LEGACY_MAGIC_NUMBER:
        raise pickle.UnpicklingError("not a PyTorch weight file (bad magic number)")
    version = _load_plain(stream)
    if version != LEGACY_PROTOCOL_VERSION:
        raise pickle.UnpicklingError(f"unsupported legacy PyTorch protocol version {version}")
    sys_info = _load_plain(stream)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise pickle.UnpicklingError("big-endian PyTorch files are not supported")
    storages: dict[str, _Storage] = {}
    result = RestrictedUnpickler(stream, storages).load()
    keys = _load_plain(stream)
    if not isinstance(keys, list):
        raise pickle.UnpicklingError("malformed storage key list")
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise pickle.UnpicklingError(f"storage {key} is not referenced by any tensor")
        dtype = _storage_dtype(storage)
        header = stream.read(8)
        if len(header) != 8:
            raise pickle.UnpicklingError("the file ends inside a storage header (truncated?)")
        (numel,) = struct.unpack("<q", header)
        if numel != storage.numel:
            raise pickle.UnpicklingError(f"storage {key}: {numel} elements, expected {storage.numel}")
        raw = stream.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise pickle.UnpicklingError("the file ends inside a storage (truncated?)")
        storage.data = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
    return _finish(result, storages)


def _load_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise pickle.UnpicklingError("not a PyTorch zip weight file (no single data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        storages: dict[str, _Storage] = {}
        with archive.open(pickles[0]) as handle:
            result = RestrictedUnpickler(io.BytesIO(handle.read()), storages).load()
        for key, storage in storages.items():
            dtype = _storage_dtype(storage)
            raw = archive.read(f"{prefix}data/{key}")
            if len(raw) < storage.numel * dtype.itemsize:
                raise pickle.UnpicklingError(f"storage {key} is shorter than its tensor")
            storage.data = np.frombuffer(raw[: storage.numel * dtype.itemsize], dtype=dtype).astype(
                dtype.newbyteorder("=")
            )
    return _finish(result, storages)


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch ``state_dict`` file as ``{name: numpy array}``.

    Raises :class:`UnsafeWeightsError` if the file references anything but tensors, and
    :class:`pickle.UnpicklingError` if it is malformed or truncated.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    with open(path, "rb") as stream:
        try:
            return _load_legacy(stream)
        except (EOFError, struct.error, ValueError, TypeError, IndexError) as error:
            raise pickle.UnpicklingError(f"malformed PyTorch file {path}: {error}") from None
