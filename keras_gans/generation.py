"""Sampling from a trained generator: sheets, separate files, truncation rows, the style-mixing
grid and latent walks. Used by ``python -m keras_gans.generate``, the training callbacks,
metrics and notebooks.

Seeds make every output reproducible: the latent of seed ``s`` is ``RandomState(s).randn``
(as in the StyleGAN tools), and the generator's noise layers are reseeded from the command's
seed before each batch.
"""
from __future__ import annotations

import numpy as np

import keras_gans  # noqa: F401  (registers layers for load_model)
from keras_gans.layers import NoiseImage, NoiseInjection, SelectLatent
from keras_gans.models.common import generator_parts


# Truncation psi accepted everywhere (generate, the gallery's server): 1 is no truncation, 0 the
# mean styles in the truncated (coarse) layers, which is the mean face when the generator
# truncates every layer (truncation_cutoff); negative values the "anti-face"; beyond these the
# images are meaningless.
PSI_RANGE = (-1.0, 2.0)


class GenerationError(ValueError):
    """A generation request that cannot be satisfied (missing run, bad class, wrong mode)."""


# --- Inspecting a generator ---------------------------------------------------------------------

def latent_dim(generator) -> int:
    return int(generator.inputs[0].shape[-1])


def is_conditional(generator) -> bool:
    return len(generator.inputs) > 1


def style_parts(generator):
    """(mapping, synthesis, truncation) of a style-based generator, as it declares them, else None."""
    parts = generator_parts(generator)
    return (parts.mapping, parts.synthesis, parts.truncation) if parts.style_based else None


def seed_noise(generator, seed: int) -> None:
    """Reseed every layer that draws noise (NoiseInjection, NoiseImage; nested ones too)
    deterministically from ``seed``."""
    index = 0
    for layer in all_layers(generator):
        if _draws_noise(layer):
            state = layer.seed_generator.state
            state.assign(np.asarray([seed % (2**31), index + 1]).astype(state.dtype))
            index += 1


def all_layers(model):
    """Every layer of ``model``, nested models' layers included, parents first."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def set_truncation(generator, psi: float) -> None:
    if psi == 1.0 and style_parts(generator) is None:
        return
    parts = style_parts(generator)
    if parts is None:
        raise GenerationError("truncation needs a style-based generator (StyleGAN); this one has no mapping network")
    parts[2].psi.assign(float(psi))


def resolve_class(class_names, requested) -> int:
    """A class index from a name or an index string, with a clear error for anything else."""
    if not class_names:
        raise GenerationError("--class was given, but this generator is unconditional (the run has no classes)")
    if isinstance(requested, int) or (isinstance(requested, str) and requested.isdigit()):
        index = int(requested)
        if not 0 <= index < len(class_names):
            raise GenerationError(f"class index {index} is out of range 0..{len(class_names) - 1}")
        return index
    if requested not in class_names:
        raise GenerationError(f"unknown class {requested!r}; this run's classes: {', '.join(class_names)}")
    return class_names.index(requested)


# --- Sampling -------------------------------------------------------------------------------------

def latents_for_seeds(seeds, dim: int) -> np.ndarray:
    return np.stack([np.random.RandomState(int(seed) % (2**32)).randn(dim) for seed in seeds]).astype(np.float32)


def run_generator(generator, latents, labels=None, batch_size: int = 32):
    """Float images in [-1, 1] for the given latents (and labels for conditional generators)."""
    latents = np.asarray(latents, np.float32)
    outputs = []
    for start in range(0, len(latents), batch_size):
        z = latents[start : start + batch_size]
        if is_conditional(generator):
            if labels is None:
                raise GenerationError("this generator is conditional: give a class (--class NAME)")
            inputs = [z, np.asarray(labels[start : start + batch_size], np.int32)]
        else:
            inputs = z
        outputs.append(np.asarray(generator(inputs, training=False)))
    return np.concatenate(outputs)


def to_uint8(images) -> np.ndarray:
    """Generator outputs in [-1, 1] as uint8 pixels; images already uint8 pass through unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def from_uint8(images) -> np.ndarray:
    """uint8 pixels (or floats in 0..255) as float32 in the generator's range [-1, 1]; the inverse of
    ``to_uint8``."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def generate_images(generator, num: int, seed: int = 0, truncation_psi: float = 1.0, class_index=None, batch_size: int = 32, labels=None):
    """``num`` images as uint8 (N, H, W, C) for seeds ``seed .. seed + num - 1``.

    Conditional generators use ``class_index`` for all images, or ``labels`` per image, or else
    spread the images over the classes by seed (class ``seed % classes``), so that a seed names
    the same image whatever range it was drawn in.
    """
    seeds = list(range(seed, seed + num))
    if is_conditional(generator) and labels is None:
        if class_index is None:
            labels = np.asarray(seeds) % num_classes(generator)
        else:
            labels = np.full(num, class_index)
    set_truncation(generator, truncation_psi)
    seed_noise(generator, seed)
    try:
        return to_uint8(run_generator(generator, latents_for_seeds(seeds, latent_dim(generator)), labels, batch_size))
    finally:
        set_truncation(generator, 1.0)


def _draws_noise(layer) -> bool:
    return isinstance(layer, NoiseImage) or (isinstance(layer, NoiseInjection) and layer.randomize)


def noise_shape(layer, batch: int = 1) -> tuple:
    """The shape of the noise a noise layer draws for ``batch`` samples: the article's whole noise
    image (uniform [0, 1)), or one map of the layer's own size (standard normal)."""
    if isinstance(layer, NoiseImage):
        return (batch, layer.size, layer.size, 1)
    height, width = layer.input.shape[1:3]
    return (batch, int(height), int(width), 1)


def noise_layers(model) -> list:
    """The layers of ``model`` that draw noise (in a fixed order: projection optimises their
    maps, export makes them inputs)."""
    return [layer for layer in all_layers(model) if _draws_noise(layer)]


def has_noise_inputs(generator) -> bool:
    return any(_draws_noise(layer) for layer in all_layers(generator))


def generate_by_seed(generator, seeds, truncation_psi: float = 1.0, labels=None, batch_size: int = 32) -> np.ndarray:
    """Images that each depend only on their own seed (and label): what a file named by its seed
    must hold. Noise layers draw one batch's noise from one seed, so a generator with noise
    paints one image per call, seeded by that image's seed; one without noise paints in batches."""
    seeds = [int(seed) for seed in seeds]
    if not has_noise_inputs(generator):
        set_truncation(generator, truncation_psi)
        try:
            return to_uint8(run_generator(generator, latents_for_seeds(seeds, latent_dim(generator)), labels, batch_size))
        finally:
            set_truncation(generator, 1.0)
    images = [generate_images(generator, 1, seed, truncation_psi, labels=None if labels is None else [labels[i]])
              for i, seed in enumerate(seeds)]
    return np.concatenate(images)


def num_classes(generator) -> int:
    """How many classes a conditional generator paints, as it declares them."""
    count = generator_parts(generator).num_classes
    if count < 1:
        raise GenerationError("cannot tell how many classes this conditional generator has "
                              "(it declares none and its conditioning layers disagree); pass --class")
    return count


# --- Sheets -------------------------------------------------------------------------------------

def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
    count, height, width, channels = images.shape
    rows = -(-count // columns)
    padded = np.full((rows * columns, height, width, channels), 255, images.dtype)
    padded[:count] = images
    return padded.reshape(rows, columns, height, width, channels).swapaxes(1, 2).reshape(
        rows * height, columns * width, channels
    )


def to_pil(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def truncation_sheet(generator, psis, columns: int = 8, seed: int = 0, labels=None):
    """One row per psi (the same latents in every row), as in StyleGAN fig. 8."""
    rows = []
    latents = latents_for_seeds(range(seed, seed + columns), latent_dim(generator))
    for psi in psis:
        set_truncation(generator, psi)
        seed_noise(generator, seed)
        rows.append(to_uint8(run_generator(generator, latents, labels)))
    set_truncation(generator, 1.0)
    return image_grid(np.concatenate(rows), columns)


# Coarse (4x4-8x8), middle (16x16-32x32) and fine (64x64 and up) styles, as in StyleGAN fig. 3.
MIXING_RANGES = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, 1 << 20)}


def style_layer_resolutions(synthesis) -> list[int]:
    """The output resolution each style vector of the synthesis network acts at."""

    # The style of a g_block at resolution r is selected by a layer named "block{r}{a|b}_w".
    by_index = {}
    for layer in synthesis.layers:
        if isinstance(layer, SelectLatent):
            name = layer.name.split("_")[0]  # e.g. "block16a"
            by_index[layer.index] = int("".join(ch for ch in name[len("block"):] if ch.isdigit()))
    return [by_index[i] for i in sorted(by_index)]


def mixing_sheet(generator, source_seeds, destination_seeds, seed_for_noise: int = 0, psi: float = 1.0, labels=None,
                 source_ws=None, destination_ws=None):
    """The style-mixing figure: for each of coarse / middle / fine, a grid whose top row shows
    the source images, whose left column shows the destinations, and whose cells take the
    destination's styles except in that range, which come from the source. ``source_ws`` /
    ``destination_ws`` (arrays (N, num_ws, dim), e.g. projected paintings from
    keras_gans.projection) replace the seeds' styles on their side."""
    parts = style_parts(generator)
    if parts is None:
        raise GenerationError("style mixing needs a style-based generator (StyleGAN)")
    mapping, synthesis, truncation = parts
    dim = latent_dim(generator)
    resolutions = style_layer_resolutions(synthesis)
    num_ws = len(resolutions)

    def mapped(seeds, class_labels):
        z = latents_for_seeds(seeds, dim)
        inputs = [z, np.asarray(class_labels, np.int32)] if is_conditional(generator) else z
        w = np.asarray(mapping(inputs, training=False))
        w_avg = np.asarray(truncation.w_avg)
        return np.repeat((w_avg + psi * (w - w_avg))[:, None, :], num_ws, axis=1)

    def given(ws, side):
        ws = np.asarray(ws, np.float32)
        if ws.ndim == 2:
            ws = ws[None]
        if ws.ndim != 3 or ws.shape[1:] != (num_ws, int(synthesis.inputs[0].shape[2])):
            raise GenerationError(f"{side} styles have shape {ws.shape[1:]}; this generator takes "
                                  f"({num_ws}, {int(synthesis.inputs[0].shape[2])}) per image (a projection's w.npy)")
        return ws

    source_labels = labels if labels is not None else np.zeros(len(source_seeds), np.int32)
    destination_labels = labels if labels is not None else np.zeros(len(destination_seeds), np.int32)
    source = given(source_ws, "source") if source_ws is not None else mapped(source_seeds, source_labels[: len(source_seeds)])
    destination = (given(destination_ws, "destination") if destination_ws is not None
                   else mapped(destination_seeds, destination_labels[: len(destination_seeds)]))

    def synthesize(ws):
        seed_noise(generator, seed_for_noise)
        return to_uint8(np.asarray(synthesis(ws.astype(np.float32), training=False)))

    source_images = synthesize(source)
    destination_images = synthesize(destination)
    height, width, channels = source_images.shape[1:]
    blank = np.full((1, height, width, channels), 255, np.uint8)
    sections = []
    for low, high in MIXING_RANGES.values():
        mask = np.array([low <= r <= high for r in resolutions])
        if not mask.any():
            continue
        tiles = [blank, source_images]
        for row in range(len(destination)):
            ws = np.repeat(destination[row][None], len(source), axis=0)
            ws[:, mask] = source[:, mask]
            tiles += [destination_images[row : row + 1], synthesize(ws)]
        sections.append(image_grid(np.concatenate(tiles), len(source) + 1))
    separator = np.full((max(2, height // 16), sections[0].shape[1], channels), 255, np.uint8)
    stacked = []
    for section in sections:
        stacked += [section, separator]
    return np.concatenate(stacked[:-1])


def slerp(a, b, t):
    """Spherical interpolation, which keeps Gaussian latents at a typical norm."""
    a_norm, b_norm = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_norm, b_norm), -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def interpolation_latents(keyframe_seeds, dim: int, steps_between: int) -> np.ndarray:
    keys = latents_for_seeds(keyframe_seeds, dim)
    frames = []
    for start, end in zip(keys, np.roll(keys, -1, axis=0)):  # loops back to the first key
        frames += [slerp(start, end, t) for t in np.linspace(0, 1, steps_between, endpoint=False)]
    return np.asarray(frames, np.float32)


def interpolation_frames(generator, keyframe_seeds, steps_between: int = 16, seed: int = 0, psi: float = 1.0, class_index=None):
    latents = interpolation_latents(keyframe_seeds, latent_dim(generator), steps_between)
    labels = np.full(len(latents), class_index or 0) if is_conditional(generator) else None
    if is_conditional(generator) and class_index is None:
        raise GenerationError("this generator is conditional: give --class, or use --per-class")
    set_truncation(generator, psi)
    frames = []
    try:
        for start in range(0, len(latents), 32):
            # The same noise for every frame, so the walk shows the latent changing, not the noise.
            seed_noise(generator, seed)
            batch = latents[start : start + 32]
            frames.append(to_uint8(run_generator(generator, batch, None if labels is None else labels[start : start + 32])))
    finally:
        set_truncation(generator, 1.0)
    return np.concatenate(frames)


def per_class_interpolation_sheet(generator, class_names, columns: int = 8, seed: int = 0, psi: float = 1.0):
    """One row per class, columns interpolating between two random latents with the class fixed
    (the AC-GAN article's figure)."""
    if not is_conditional(generator):
        raise GenerationError("--per-class needs a conditional generator")
    dim = latent_dim(generator)
    start, end = latents_for_seeds([seed, seed + 1], dim)
    row_latents = np.stack([slerp(start, end, t) for t in np.linspace(0, 1, columns)]).astype(np.float32)
    set_truncation(generator, psi)
    rows = []
    try:
        for index in range(len(class_names)):
            seed_noise(generator, seed)
            rows.append(to_uint8(run_generator(generator, row_latents, np.full(columns, index))))
    finally:
        set_truncation(generator, 1.0)
    return image_grid(np.concatenate(rows), columns)
