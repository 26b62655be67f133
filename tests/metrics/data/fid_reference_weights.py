"""Deterministic random weights in pytorch-fid's state-dict naming (numpy only).

Shared by ``make_fid_inception_reference.py`` (run with torch + pytorch-fid to record reference
features) and ``tests/metrics/test_fid_inception.py`` (which loads the same weights into the
Keras port and compares). Each tensor's values depend only on its name, so the order in which
either side asks for them does not matter.
"""
import zlib

import numpy as np


def tensor_for(name: str, shape) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    shape = tuple(int(s) for s in shape)
    if name.endswith("conv.weight"):
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    if name.endswith("bn.weight"):
        return rng.uniform(0.7, 1.3, shape).astype(np.float32)
    if name.endswith("bn.bias"):
        return rng.normal(0.0, 0.2, shape).astype(np.float32)
    if name.endswith("bn.running_mean"):
        return rng.normal(0.0, 0.2, shape).astype(np.float32)
    if name.endswith("bn.running_var"):
        return rng.uniform(0.5, 2.0, shape).astype(np.float32)
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, np.int64)
    return (rng.standard_normal(shape) * 0.01).astype(np.float32)  # fc.weight / fc.bias


def reference_images() -> dict[str, np.ndarray]:
    """Smooth uint8 test images: one smaller than 299 px (upsampled) and one larger (shrunk)."""
    images = {}
    for key, size, count in (("small", 48, 2), ("large", 320, 1)):
        y, x = np.mgrid[0:size, 0:size] / size
        batch = []
        for index in range(count):
            channels = [
                np.sin((3 + index + c) * np.pi * x + c) * np.cos((2 + c) * np.pi * y * (1 + index)) for c in range(3)
            ]
            batch.append(np.stack(channels, -1))
        images[key] = np.clip(np.round((np.stack(batch) + 1) * 127.5), 0, 255).astype(np.uint8)
    return images


def write_torch_zip(path, state: dict) -> None:
    """Write float32 ``state`` as a PyTorch zip-format ``.pth`` (what ``torch.save`` writes since
    1.6), with a hand-assembled protocol-2 pickle so that no torch is needed."""
    import struct
    import zipfile

    def glob(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def integer(value):
        return b"J" + struct.pack("<i", int(value))

    def text(value):
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    def tup(items):
        return b"(" + b"".join(items) + b"t"

    body = [b"\x80\x02", glob("collections", "OrderedDict"), b")R", b"("]
    arrays = {}
    for index, (name, array) in enumerate(state.items()):
        array = np.ascontiguousarray(array, dtype="<f4")
        key = str(index)
        arrays[key] = array
        storage = tup([text("storage"), glob("torch", "FloatStorage"), text(key), text("cpu"), integer(array.size)]) + b"Q"
        strides = [int(np.prod(array.shape[i + 1:])) for i in range(array.ndim)]
        arguments = tup([storage, integer(0), tup([integer(s) for s in array.shape]), tup([integer(s) for s in strides]),
                         b"\x89", glob("collections", "OrderedDict") + b")R"])
        body += [text(name), glob("torch._utils", "_rebuild_tensor_v2"), arguments, b"R"]
    body += [b"u."]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", b"".join(body))
        archive.writestr("archive/byteorder", "little")
        for key, array in arrays.items():
            archive.writestr(f"archive/data/{key}", array.tobytes())
        archive.writestr("archive/version", "3\n")
