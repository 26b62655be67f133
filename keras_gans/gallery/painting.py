"""Paintings from one run's generator, the same way for the static build and the live server.

A painting is named by (seed, class, truncation psi): its latent is seed ``s``'s, its noise is
drawn from ``s`` too, and it is painted alone, so a permalink, a rebuilt site and the server's
"paint a new one" all give the same picture for the same three values.

``generation``'s functions set psi and reseed the noise layers on the generator itself, so one
``Painter`` must only be used by one thread at a time: the server gives each model a single
worker thread (see ``server``).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from keras_gans import generation as gen
from keras_gans.io import save_image_atomic
from keras_gans.training.run import load_generator

from .catalog import GalleryError, RunInfo

IMAGE_FORMATS = {"png": ("PNG", "image/png", {}), "webp": ("WEBP", "image/webp", {"quality": 90, "method": 4})}
THUMBNAIL_EDGE = 256  # px: two columns on a phone, five or six on a laptop, sharp on 2x screens


class Painter:
    def __init__(self, run: RunInfo):
        self.run = run

        try:
            self.generator, class_names = load_generator(run=run.path)
        except gen.GenerationError as error:
            raise GalleryError(str(error)) from None
        self.class_names = class_names or run.class_names
        self.conditional = gen.is_conditional(self.generator)
        self.style_based = gen.style_parts(self.generator) is not None

    def class_index(self, requested) -> int | None:
        """The class index for a name or index; None for an unconditional generator."""
        if not self.conditional:
            if requested not in (None, ""):
                raise GalleryError(f"run {self.run.name!r} is unconditional: it has no classes")
            return None
        if requested in (None, ""):
            raise GalleryError(f"run {self.run.name!r} is conditional: give a class ({', '.join(self.class_names)})")
        try:
            return gen.resolve_class(self.class_names, requested)
        except gen.GenerationError as error:
            raise GalleryError(str(error)) from None

    def paint(self, seed: int, class_index: int | None, psi: float) -> np.ndarray:
        """One uint8 (H, W, C) painting."""
        if psi != 1.0 and not self.style_based:
            raise GalleryError(f"truncation needs a style-based generator; run {self.run.name!r} is {self.run.model}")
        return gen.generate_images(self.generator, 1, seed, psi, class_index)[0]

    def interpolation(self, keyframe_seeds, steps: int, psi: float, class_index: int | None) -> np.ndarray:
        return gen.interpolation_frames(self.generator, keyframe_seeds, steps, keyframe_seeds[0],
                                        psi if self.style_based else 1.0, class_index)

    def mixing_wall(self, seed: int, psi: float, class_index: int | None) -> np.ndarray:
        labels = None if class_index is None else np.full(5, class_index)
        return gen.mixing_sheet(self.generator, list(range(seed, seed + 5)), list(range(seed + 100, seed + 105)),
                                seed, psi, labels)

    def truncation_strip(self, seed: int, psis, class_index: int | None) -> np.ndarray:
        labels = None if class_index is None else np.full(6, class_index)
        return gen.truncation_sheet(self.generator, psis, 6, seed, labels)


def encode(image: np.ndarray, format: str) -> bytes:
    """PNG or WebP bytes of a uint8 image."""
    pil_format, _, options = IMAGE_FORMATS[format]
    buffer = io.BytesIO()
    gen.to_pil(image).save(buffer, format=pil_format, **options)
    return buffer.getvalue()


def save_painting(image: np.ndarray, full: Path, thumbnail: Path) -> None:
    """The painting at its own size as PNG (the download) and a WebP thumbnail for the walls."""
    from PIL import Image


    picture = gen.to_pil(image).convert("RGB")
    save_image_atomic(picture, full, "PNG")
    edge = (THUMBNAIL_EDGE, THUMBNAIL_EDGE)
    small = picture.resize(edge, Image.LANCZOS) if picture.size != edge else picture
    save_image_atomic(small, thumbnail, "WEBP", quality=85, method=4)


def save_animation(frames: np.ndarray, path: Path, fps: float = 12.0) -> None:
    """An endlessly looping animated WebP (smaller and sharper than a GIF)."""

    pictures = [gen.to_pil(frame).convert("RGB") for frame in frames]
    save_image_atomic(pictures[0], path, "WEBP", save_all=True, append_images=pictures[1:],
                      duration=int(round(1000 / fps)), loop=0, quality=85)


def save_sheet(sheet: np.ndarray, path: Path) -> None:
    save_image_atomic(gen.to_pil(sheet).convert("RGB"), path, "WEBP", quality=90)
