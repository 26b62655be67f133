"""Small helpers the classic model files share (inputs, resolution checks, the image head)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from keras_gans.config import ConfigError
from keras_gans.layers import ConditionalBatchNormalization, GeneratorDescription, OneHot, SNEmbedding


def check_resolution(config, name: str, minimum: int = 8, maximum: int = 1024) -> int:
    """log2(resolution / 4): the number of doublings from a 4x4 start."""
    resolution = config.resolution
    if resolution < minimum or resolution > maximum or resolution & (resolution - 1):
        raise ConfigError(f"{name} resolution must be a power of two from {minimum} to {maximum}, got {resolution}")
    return int(math.log2(resolution)) - 2


def require_unconditional(config, name: str) -> None:
    if config.conditional:
        raise ConfigError(f"{name} has no class-conditional form; use acgan, sngan, or stylegan with --conditional")


def require_classes(config, name: str) -> None:
    if config.conditional and config.num_classes < 2:
        raise ConfigError(
            f"conditional {name} needs labelled data with at least 2 classes (one subfolder per class), "
            f"got num_classes={config.num_classes}"
        )


def latent_inputs(config):
    """(model inputs, z tensor, label tensor or None) following the generator contract."""
    z = keras.Input((config.latent_dim,), name="z")
    if not config.conditional:
        return z, z, None
    label = keras.Input((), dtype="int32", name="label")
    return [z, label], z, label


def image_input(config):
    """(model inputs, image tensor, label tensor or None) for a discriminator conditioned on the label."""
    image = keras.Input((config.resolution, config.resolution, config.channels), name="image")
    if not config.conditional:
        return image, image, None
    label = keras.Input((), dtype="int32", name="label")
    return [image, label], image, label


def tanh_image(x, name="image"):
    """The generator's output: tanh in float32 (also under mixed precision)."""
    return keras.layers.Activation("tanh", dtype="float32", name=name)(x)


def float32_logits(x, name="logit"):
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)


def halving_widths(top: int, count: int, minimum: int = 1) -> list[int]:
    """[top, top/2, top/4, ...] (count entries, at least ``minimum``)."""
    return [max(minimum, top // 2**i) for i in range(count)]


def doubling_widths(bottom: int, count: int, maximum: int) -> list[int]:
    """[bottom, 2*bottom, ...] capped at ``maximum`` (count entries)."""
    return [min(maximum, bottom * 2**i) for i in range(count)]


# --- What a generator declares about itself ----------------------------------------------------------

def described_generator(inputs, image, config, name: str, **style_parts) -> keras.Model:
    """The generator model, its output passed through a :class:`GeneratorDescription` declaring
    the model, its number of classes and (``mapping=``, ``synthesis=``, ``truncation=``: layer
    names) the parts of a style-based generator."""
    description = GeneratorDescription(
        model=config.model_name, num_classes=config.num_classes if config.conditional else 0,
        name="description", **style_parts,
    )
    return keras.Model(inputs, description(image), name=name)


@dataclass(frozen=True)
class GeneratorParts:
    """What a generator is made of, as it declares it (see :func:`generator_parts`)."""

    model: str
    num_classes: int  # 0: unconditional
    mapping: keras.Model | None = None
    synthesis: keras.Model | None = None
    truncation: keras.layers.Layer | None = None

    @property
    def style_based(self) -> bool:
        return self.mapping is not None and self.synthesis is not None and self.truncation is not None


def generator_parts(generator: keras.Model) -> GeneratorParts:
    """The parts ``generator`` declares through its GeneratorDescription layer. Generators saved
    before the declaration existed (no such layer) are read the old way: the parts by their layer
    names, the class count from the conditioning layers' sizes."""
    declared = [layer for layer in generator.layers if isinstance(layer, GeneratorDescription)]
    if declared:
        description = declared[0]
        pick = lambda name: generator.get_layer(name) if name else None  # noqa: E731
        return GeneratorParts(
            description.model, description.num_classes,
            pick(description.mapping), pick(description.synthesis), pick(description.truncation),
        )
    names = {layer.name: layer for layer in generator.layers}
    conditional = len(generator.inputs) > 1
    return GeneratorParts(
        "", _legacy_num_classes(generator) if conditional else 0,
        names.get("mapping"), names.get("synthesis"), names.get("truncation"),
    )


def _legacy_num_classes(generator) -> int:
    """The class count of an undeclared conditional generator from its conditioning layers
    (an embedding's table size, a one-hot's or a class-conditional normalization's count); 0 when
    they disagree or there are none."""
    sizes = set()
    pending = list(generator.layers)
    while pending:
        layer = pending.pop()
        pending.extend(getattr(layer, "layers", []))
        if isinstance(layer, (OneHot, ConditionalBatchNormalization)):
            sizes.add(int(layer.num_classes))
        elif isinstance(layer, (keras.layers.Embedding, SNEmbedding)):
            sizes.add(int(layer.input_dim))
    return sizes.pop() if len(sizes) == 1 else 0
