"""Decoding and validating single image files.

Every loader in keras_gans (training folders, the prepare tool, metrics) goes through
:func:`load_image`, so an image that trains is an image that prepares, and a bad file is
rejected with the same reason everywhere.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")

# Pillow's own bomb limit is ~89 Mpx (warning) / 179 Mpx (error). Paintings scanned at
# museum resolution can legitimately reach ~100 Mpx, so we allow that much and no more.
MAX_IMAGE_PIXELS = 120_000_000


class ImageRejected(Exception):
    """A file that cannot be used as a training image.

    ``reason`` is a short stable code (``zero-byte``, ``not-an-image``, ``truncated``,
    ``decompression-bomb``, ``too-small``, ``extreme-aspect``, ``unreadable``) that reports
    group by; ``str(error)`` is the human explanation.
    """

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageInfo:
    """What was found in the file before conversion (for reports and manifests)."""

    original_mode: str
    original_size: tuple[int, int]
    format: str | None


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float images scaled to 8 bits by their real range of values."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return image
    array = array.astype(np.float64)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N") or (
        image.mode == "I" and array.max(initial=0) <= 65535 and array.min(initial=0) >= 0
    ):
        scale = 65535.0 if array.max(initial=0) > 255 else 255.0
        array = array / scale * 255.0
    elif image.mode == "F":
        low, high = float(array.min(initial=0)), float(array.max(initial=1))
        array = (array - low) / max(high - low, 1e-12) * 255.0
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), mode="L")


def convert_mode(image: Image.Image, channels: int = 3, background=(255, 255, 255)) -> Image.Image:
    """Bring any Pillow mode to 8-bit RGB (channels=3) or L (channels=1).

    Transparency is composited onto ``background`` rather than dropped, because dropping
    alpha turns transparent pixels into whatever colour the encoder left there (often black).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, tuple(background) + (255,))
        image = Image.alpha_composite(canvas, rgba).convert("RGB")
    elif image.mode == "CMYK":
        # Adobe-written CMYK JPEGs are stored inverted; Pillow handles the flag when converting.
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    target = "L" if channels == 1 else "RGB"
    return image if image.mode == target else image.convert(target)


def load_image(
    path: str | Path,
    channels: int = 3,
    background=(255, 255, 255),
    min_size: int = 1,
    max_aspect: float | None = None,
    with_info: bool = False,
):
    """Fully decode ``path`` and return an 8-bit RGB or L Pillow image, upright.

    Raises :class:`ImageRejected` with a reason for zero-byte, non-image, truncated and
    oversized (decompression bomb) files, images whose short side is below ``min_size``, and,
    when ``max_aspect`` is given, images whose long/short side ratio exceeds it. Animated
    files (GIF, WebP) give their first frame.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImageRejected("unreadable", f"cannot read {path}: {error.strerror or error}") from None
    if size == 0:
        raise ImageRejected("zero-byte", "the file is empty")
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                image_format = opened.format
                original_mode, original_size = opened.mode, opened.size
                opened.seek(0)
                # load() decodes every pixel: a truncated file fails here, not mid-epoch.
                opened.load()
                image = ImageOps.exif_transpose(opened) or opened
                image = image.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected("decompression-bomb", str(error)) from None
    except Image.UnidentifiedImageError:
        raise ImageRejected("not-an-image", "Pillow cannot identify this file as an image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        message = str(error) or type(error).__name__
        reason = "truncated" if "truncat" in message.lower() or isinstance(error, EOFError) else "corrupt"
        raise ImageRejected(reason, message) from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit
    width, height = image.size
    if min(width, height) < min_size:
        raise ImageRejected("too-small", f"{width}x{height} is below the minimum side of {min_size} px")
    if max_aspect is not None and max(width, height) / max(min(width, height), 1) > max_aspect:
        raise ImageRejected(
            "extreme-aspect", f"{width}x{height} exceeds the aspect ratio limit of {max_aspect:g}"
        )
    image = convert_mode(image, channels=channels, background=background)
    if with_info:
        return image, ImageInfo(original_mode, original_size, image_format)
    return image


def square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred square crop box (left, top, right, bottom) of a width x height image."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def fit_square(image: Image.Image, resolution: int, crop: str = "center", background=(255, 255, 255)):
    """Centre-crop (``crop='center'``) or pad (``crop='pad'``) to a square, then resize.

    Resizing uses Pillow's Lanczos filter, which low-passes before subsampling (anti-aliased),
    unlike a plain bilinear tf.image.resize.
    """
    width, height = image.size
    if crop == "center":
        image = image.crop(square_box(width, height))
    elif crop == "pad":
        side = max(width, height)
        fill = background[0] if image.mode == "L" else tuple(background)
        canvas = Image.new(image.mode, (side, side), fill)
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image = canvas
    else:
        raise ValueError(f"unknown crop mode {crop!r}: use 'center' or 'pad'")
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.LANCZOS, reducing_gap=3.0)
    return image


def image_to_array(image: Image.Image) -> np.ndarray:
    """HxWxC uint8 array (C=1 for grayscale) from an RGB or L image."""
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array
