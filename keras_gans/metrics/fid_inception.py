"""The Inception network of the standard FID (Heusel et al. 2017), written in Keras.

Published FIDs use the 2015 TensorFlow Inception graph (``inception-2015-12-05``), not the
InceptionV3 of ``keras.applications``. pytorch-fid ported that graph's weights to a PyTorch file,
``pt_inception-2015-12-05-6726825d.pth``, and its ``FIDInceptionA/C/E_1/E_2`` blocks reproduce
the graph's quirks, which this port follows:

* the average pools inside the A, C and E blocks do not count the zero padding (TF "SAME"
  pooling; torchvision's blocks count it), and
* the last E block (``Mixed_7c``) pools its branch with a max pool instead of an average pool.

Every convolution is followed by batch norm (eps 1e-3) and ReLU; the batch norm is folded into
the convolution at load time. Input: images scaled to [-1, 1] at 299x299, resized bilinearly
without antialiasing (as pytorch-fid's ``F.interpolate`` does); output: the 2048-d ``pool3``
features that FID is computed on.

The ``.pth`` file is read by :mod:`keras_gans.metrics.torch_weights` (tensors only, no torch, no
code execution). ``fetch_fid_weights`` downloads it once into the cache when online and checks
the SHA-256 prefix that its name carries.
"""
from __future__ import annotations

import hashlib
import pickle
import zipfile
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .effnet_lite import WeightsUnavailable
from keras_gans.io import atomic_path, cache_dir

INPUT_SIZE = 299
FEATURE_DIM = 2048
BN_EPSILON = 1e-3
FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILE
FID_WEIGHTS_SHA256_PREFIX = "6726825d"


# --- The network, in pytorch-fid's module names (a Keras layer per conv+bn) ---------------------

def _conv(x, filters, kernel, name, strides=1, padding="valid"):
    """torchvision's BasicConv2d (conv without bias, batch norm, ReLU) with the norm folded in."""
    import keras

    return keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu", name=name)(x)


def _avg_pool_excluding_padding(x, name):
    import keras

    # TF "SAME" average pooling divides by the number of real pixels under the window, which is
    # pytorch-fid's count_include_pad=False.
    return keras.layers.AveragePooling2D(3, strides=1, padding="same", name=name)(x)


def _concat(tensors, name):
    import keras

    return keras.layers.Concatenate(axis=-1, name=name)(tensors)


def inception_a(x, pool_features, name):
    """FIDInceptionA (Mixed_5b/c/d)."""
    branch1x1 = _conv(x, 64, 1, f"{name}.branch1x1")
    branch5x5 = _conv(x, 48, 1, f"{name}.branch5x5_1")
    branch5x5 = _conv(branch5x5, 64, 5, f"{name}.branch5x5_2", padding="same")
    branch3x3dbl = _conv(x, 64, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_3", padding="same")
    branch_pool = _avg_pool_excluding_padding(x, f"{name}.avg_pool")
    branch_pool = _conv(branch_pool, pool_features, 1, f"{name}.branch_pool")
    return _concat([branch1x1, branch5x5, branch3x3dbl, branch_pool], name)


def inception_b(x, name):
    """InceptionB (Mixed_6a): the 35 -> 17 grid reduction."""
    import keras

    branch3x3 = _conv(x, 384, 3, f"{name}.branch3x3", strides=2)
    branch3x3dbl = _conv(x, 64, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _conv(branch3x3dbl, 96, 3, f"{name}.branch3x3dbl_3", strides=2)
    branch_pool = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.max_pool")(x)
    return _concat([branch3x3, branch3x3dbl, branch_pool], name)


def inception_c(x, channels_7x7, name):
    """FIDInceptionC (Mixed_6b..e): factorised 7x7 convolutions."""
    c7 = channels_7x7
    branch1x1 = _conv(x, 192, 1, f"{name}.branch1x1")
    branch7x7 = _conv(x, c7, 1, f"{name}.branch7x7_1")
    branch7x7 = _conv(branch7x7, c7, (1, 7), f"{name}.branch7x7_2", padding="same")
    branch7x7 = _conv(branch7x7, 192, (7, 1), f"{name}.branch7x7_3", padding="same")
    branch7x7dbl = _conv(x, c7, 1, f"{name}.branch7x7dbl_1")
    branch7x7dbl = _conv(branch7x7dbl, c7, (7, 1), f"{name}.branch7x7dbl_2", padding="same")
    branch7x7dbl = _conv(branch7x7dbl, c7, (1, 7), f"{name}.branch7x7dbl_3", padding="same")
    branch7x7dbl = _conv(branch7x7dbl, c7, (7, 1), f"{name}.branch7x7dbl_4", padding="same")
    branch7x7dbl = _conv(branch7x7dbl, 192, (1, 7), f"{name}.branch7x7dbl_5", padding="same")
    branch_pool = _avg_pool_excluding_padding(x, f"{name}.avg_pool")
    branch_pool = _conv(branch_pool, 192, 1, f"{name}.branch_pool")
    return _concat([branch1x1, branch7x7, branch7x7dbl, branch_pool], name)


def inception_d(x, name):
    """InceptionD (Mixed_7a): the 17 -> 8 grid reduction."""
    import keras

    branch3x3 = _conv(x, 192, 1, f"{name}.branch3x3_1")
    branch3x3 = _conv(branch3x3, 320, 3, f"{name}.branch3x3_2", strides=2)
    branch7x7x3 = _conv(x, 192, 1, f"{name}.branch7x7x3_1")
    branch7x7x3 = _conv(branch7x7x3, 192, (1, 7), f"{name}.branch7x7x3_2", padding="same")
    branch7x7x3 = _conv(branch7x7x3, 192, (7, 1), f"{name}.branch7x7x3_3", padding="same")
    branch7x7x3 = _conv(branch7x7x3, 192, 3, f"{name}.branch7x7x3_4", strides=2)
    branch_pool = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}.max_pool")(x)
    return _concat([branch3x3, branch7x7x3, branch_pool], name)


def inception_e(x, name, max_pool_branch):
    """FIDInceptionE_1 (Mixed_7b, average pool) and FIDInceptionE_2 (Mixed_7c, max pool)."""
    import keras

    branch1x1 = _conv(x, 320, 1, f"{name}.branch1x1")
    branch3x3 = _conv(x, 384, 1, f"{name}.branch3x3_1")
    branch3x3 = _concat([
        _conv(branch3x3, 384, (1, 3), f"{name}.branch3x3_2a", padding="same"),
        _conv(branch3x3, 384, (3, 1), f"{name}.branch3x3_2b", padding="same"),
    ], f"{name}.branch3x3")
    branch3x3dbl = _conv(x, 448, 1, f"{name}.branch3x3dbl_1")
    branch3x3dbl = _conv(branch3x3dbl, 384, 3, f"{name}.branch3x3dbl_2", padding="same")
    branch3x3dbl = _concat([
        _conv(branch3x3dbl, 384, (1, 3), f"{name}.branch3x3dbl_3a", padding="same"),
        _conv(branch3x3dbl, 384, (3, 1), f"{name}.branch3x3dbl_3b", padding="same"),
    ], f"{name}.branch3x3dbl")
    if max_pool_branch:
        # The TF graph's last block max-pools here; pytorch-fid's FIDInceptionE_2 keeps that.
        branch_pool = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}.max_pool")(x)
    else:
        branch_pool = _avg_pool_excluding_padding(x, f"{name}.avg_pool")
    branch_pool = _conv(branch_pool, 192, 1, f"{name}.branch_pool")
    return _concat([branch1x1, branch3x3, branch3x3dbl, branch_pool], name)


def build_fid_inception(input_size: int = INPUT_SIZE, name: str = "fid_inception"):
    """The network with random weights: (N, S, S, 3) in [-1, 1] -> (N, 2048) pool3 features."""
    import keras

    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = _conv(inputs, 32, 3, "Conv2d_1a_3x3", strides=2)
    x = _conv(x, 32, 3, "Conv2d_2a_3x3")
    x = _conv(x, 64, 3, "Conv2d_2b_3x3", padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool1")(x)
    x = _conv(x, 80, 1, "Conv2d_3b_1x1")
    x = _conv(x, 192, 3, "Conv2d_4a_3x3")
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool2")(x)
    x = inception_a(x, 32, "Mixed_5b")
    x = inception_a(x, 64, "Mixed_5c")
    x = inception_a(x, 64, "Mixed_5d")
    x = inception_b(x, "Mixed_6a")
    x = inception_c(x, 128, "Mixed_6b")
    x = inception_c(x, 160, "Mixed_6c")
    x = inception_c(x, 160, "Mixed_6d")
    x = inception_c(x, 192, "Mixed_6e")
    x = inception_d(x, "Mixed_7a")
    x = inception_e(x, "Mixed_7b", max_pool_branch=False)
    x = inception_e(x, "Mixed_7c", max_pool_branch=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool3")(x)
    return keras.Model(inputs, features, name=name)


# --- Weights -------------------------------------------------------------------------------------

def _folded_conv(state: Mapping[str, np.ndarray], prefix: str, kernel_shape) -> list[np.ndarray]:
    """Kernel and bias of ``prefix``'s conv with its batch norm folded in (inference form)."""
    weight = np.asarray(state[f"{prefix}.conv.weight"], np.float64)  # (O, I, kh, kw)
    gamma, beta, mean, var = (
        np.asarray(state[f"{prefix}.bn.{key}"], np.float64) for key in ("weight", "bias", "running_mean", "running_var")
    )
    scale = gamma / np.sqrt(var + BN_EPSILON)
    kernel = weight.transpose(2, 3, 1, 0) * scale  # (kh, kw, I, O), scaled per output channel
    if kernel.shape != tuple(kernel_shape):
        raise WeightsUnavailable(
            f"{prefix}.conv.weight has shape {weight.shape}, the FID Inception needs "
            f"{tuple(kernel_shape[i] for i in (3, 2, 0, 1))}"
        )
    return [kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)]


def load_fid_inception(weights: str | Path | Mapping[str, np.ndarray], input_size: int = INPUT_SIZE):
    """The FID Inception with pytorch-fid's weights: a ``.pth`` path or an already-read state dict."""
    import keras

    from .torch_weights import load_torch_state_dict

    if isinstance(weights, Mapping):
        state, source = weights, "the state dict"
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsUnavailable(f"--inception-weights {path}: no such file")
        try:
            state = load_torch_state_dict(path)
        except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError) as error:
            raise WeightsUnavailable(f"--inception-weights {path}: cannot read it as a PyTorch weights file ({error})") from None
        source = str(path)
    model = build_fid_inception(input_size)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    needed = [f"{layer.name}.{part}" for layer in convs
              for part in ("conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")]
    missing = [key for key in needed if key not in state]
    if missing:
        raise WeightsUnavailable(
            f"{source} is not the FID Inception weights (pytorch-fid {FID_WEIGHTS_FILE}): "
            f"{len(missing)} of its {len(needed)} tensors are missing, e.g. {', '.join(missing[:3])}"
        )
    for layer in convs:
        layer.set_weights(_folded_conv(state, layer.name, layer.kernel.shape))
    return model


def weights_cache_dir() -> Path:
    return cache_dir("weights")


def fetch_fid_weights(url: str = FID_WEIGHTS_URL, cache_dir: str | Path | None = None,
                      sha256_prefix: str = FID_WEIGHTS_SHA256_PREFIX, timeout: float = 30.0) -> Path:
    """The pytorch-fid weights file, downloaded once into the cache (atomically, hash-checked)."""

    target = Path(cache_dir or weights_cache_dir()) / url.rsplit("/", 1)[-1]
    if target.is_file():
        return target
    digest = hashlib.sha256()
    try:
        with atomic_path(target) as temporary:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(temporary, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if not digest.hexdigest().startswith(sha256_prefix):
                raise WeightsUnavailable(
                    f"{url}: downloaded file has SHA-256 {digest.hexdigest()[:16]}..., expected "
                    f"{sha256_prefix}...; nothing was saved"
                )
    except OSError as error:
        raise WeightsUnavailable(
            f"could not download the FID Inception weights from {url} ({error}); download "
            f"{FID_WEIGHTS_FILE} on a machine that is online and pass --inception-weights PATH"
        ) from None
    return target
