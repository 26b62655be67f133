"""Built-in training data that needs no network: colour emoji rendered from Noto Color Emoji.

The font comes from the Debian package ``fonts-noto-color-emoji`` (the README's run command
installs it). Two sets:

* ``emoji-faces`` (the default): the round yellow face emoji, about a hundred images of one
  kind of object, so that a GAN paints something recognisable within minutes on a CPU, in ten
  classes (Unicode's face subgroups: smiling, affection, tongue, ..., negative).
* ``emoji``: every emoji of the font's main pictographic blocks (about 1,200, nearly every one a
  different object), grouped into classes by Unicode block for conditional models. A hard set:
  see docs/quality.md.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_gans.data.folders import (
    DatasetError,
    ImageFolderData,
    default_cache_dir,
)
from keras_gans.data.images import fit_square, image_to_array
from keras_gans.io import save_npy_atomic, save_png_atomic, write_json_atomic

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/System/Library/Fonts/Apple Color Emoji.ttc",
)
# The only size CBDT bitmaps in Noto Color Emoji are drawn at.
BITMAP_SIZE = 109
EMOJI_BLOCKS = {
    "smileys-and-people": [(0x1F600, 0x1F64F), (0x1F910, 0x1F92F), (0x1F970, 0x1F97F)],
    "nature-and-objects": [(0x1F300, 0x1F5FF)],
    "transport-and-places": [(0x1F680, 0x1F6FF)],
    "supplemental": [(0x1F930, 0x1F96F), (0x1F980, 0x1F9FF)],
    "extended": [(0x1FA70, 0x1FAFF)],
}
# Round yellow faces only (no hands-only gestures, cats, monkeys or people), in the subgroups of
# Unicode's emoji-test.txt (15.0); the three smallest (hat, glasses, costume: 6 faces in all) are
# merged. They are the classes of a conditional model: each names a kind of face a user can ask for.
# In alphabetical order, the order of a scanned class folder.
FACE_SUBGROUPS = {
    "affection": [0x1F970, 0x1F60D, 0x1F929, 0x1F618, 0x1F617, 0x1F61A, 0x1F619, 0x1F972],
    "concerned": [0x1F615, 0x1FAE4, 0x1F61F, 0x1F641, 0x1F62E, 0x1F62F, 0x1F632, 0x1F633, 0x1F97A, 0x1F979,
                  0x1F626, 0x1F627, 0x1F628, 0x1F630, 0x1F625, 0x1F622, 0x1F62D, 0x1F631, 0x1F616, 0x1F623,
                  0x1F61E, 0x1F613, 0x1F629, 0x1F62B, 0x1F971],
    "hand": [0x1F917, 0x1F92D, 0x1FAE2, 0x1FAE3, 0x1F92B, 0x1F914, 0x1FAE1],
    "hat-glasses-costume": [0x1F920, 0x1F973, 0x1F978, 0x1F60E, 0x1F913, 0x1F921],
    "negative": [0x1F624, 0x1F621, 0x1F620, 0x1F92C, 0x1F608],
    "neutral-skeptical": [0x1F910, 0x1F928, 0x1F610, 0x1F611, 0x1F636, 0x1FAE5, 0x1F60F, 0x1F612, 0x1F644,
                          0x1F62C, 0x1F925],
    "sleepy": [0x1F60C, 0x1F614, 0x1F62A, 0x1F924, 0x1F634],
    "smiling": [0x1F600, 0x1F603, 0x1F604, 0x1F601, 0x1F606, 0x1F605, 0x1F923, 0x1F602, 0x1F642, 0x1F643,
                0x1FAE0, 0x1F609, 0x1F60A, 0x1F607],
    "tongue": [0x1F60B, 0x1F61B, 0x1F61C, 0x1F92A, 0x1F61D, 0x1F911],
    "unwell": [0x1F637, 0x1F912, 0x1F915, 0x1F922, 0x1F92E, 0x1F927, 0x1F975, 0x1F976, 0x1F974, 0x1F635,
               0x1F92F],
}
BUILTIN_SETS = {
    "emoji-faces": {name: [(cp, cp) for cp in codepoints] for name, codepoints in FACE_SUBGROUPS.items()},
    "emoji": EMOJI_BLOCKS,
}
# 2: emoji-faces in Unicode subgroups (it was one class, "faces").
LAYOUT_VERSION = 2
DEFAULT_BUILTIN = "emoji-faces"
BUILTIN_PREFIX = "builtin:"
INSTALL_HINT = (
    "the built-in emoji dataset needs the Noto Color Emoji font; install it with "
    "`apt-get install fonts-noto-color-emoji` (Debian/Ubuntu), set KERAS_GANS_EMOJI_FONT to a "
    "NotoColorEmoji.ttf, or pass --data DIR with your own images"
)


def find_emoji_font() -> Path:
    override = os.environ.get("KERAS_GANS_EMOJI_FONT")
    candidates = (override,) if override else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise DatasetError(INSTALL_HINT)


def builtin_set_name(data: str | None) -> str | None:
    """The built-in set a ``--data`` value names (None means the default), or None for a folder."""
    if data is None:
        return DEFAULT_BUILTIN
    if not data.startswith(BUILTIN_PREFIX):
        return None
    name = data[len(BUILTIN_PREFIX):]
    if name not in BUILTIN_SETS:
        raise DatasetError(
            f"unknown built-in dataset {data!r}; choose one of: "
            + ", ".join(BUILTIN_PREFIX + known for known in BUILTIN_SETS)
        )
    return name


def supported_codepoints(font_path: Path, blocks=EMOJI_BLOCKS) -> dict[str, list[int]]:
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(font_path), lazy=True).getBestCmap()
    return {
        name: [cp for start, end in ranges for cp in range(start, end + 1) if cp in cmap]
        for name, ranges in blocks.items()
    }


def render_emoji(codepoint: int, font, background=(255, 255, 255)):
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (BITMAP_SIZE * 3 // 2, BITMAP_SIZE * 3 // 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((0, 0), chr(codepoint), font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    side = max(glyph.size) + 8
    square = Image.new("RGBA", (side, side), tuple(background) + (255,))
    square.alpha_composite(glyph, ((side - glyph.size[0]) // 2, (side - glyph.size[1]) // 2))
    return square.convert("RGB")


def load_builtin_emoji(resolution: int, channels: int = 3, cache_dir=None, name: str = "emoji") -> ImageFolderData:
    """The emoji of the built-in set ``name`` (see :data:`BUILTIN_SETS`), rendered on white at
    ``resolution``; its classes are the set's groups."""
    from PIL import ImageFont

    if name not in BUILTIN_SETS:
        raise DatasetError(f"unknown built-in dataset {name!r}; choose one of: {', '.join(BUILTIN_SETS)}")
    blocks = BUILTIN_SETS[name]
    font_path = find_emoji_font()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    stem = _cache_stem(name, font_path, resolution, channels)
    array_path, meta_path = cache_dir / f"{stem}.npy", cache_dir / f"{stem}.json"
    if array_path.exists() and meta_path.exists():
        import json

        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return ImageFolderData(
            np.load(array_path, allow_pickle=False), np.asarray(meta["labels"], np.int32), meta["class_names"], meta["paths"]
        )
    try:
        font = ImageFont.truetype(str(font_path), BITMAP_SIZE)
    except OSError as error:
        raise DatasetError(f"cannot open the emoji font {font_path}: {error}. {INSTALL_HINT}") from None
    class_names = list(blocks)
    arrays, labels, names = [], [], []
    for label, (block, codepoints) in enumerate(supported_codepoints(font_path, blocks).items()):
        for codepoint in codepoints:
            image = render_emoji(codepoint, font)
            if image is None:
                continue
            if channels == 1:
                image = image.convert("L")
            arrays.append(image_to_array(fit_square(image, resolution)))
            labels.append(label)
            names.append(f"emoji:U+{codepoint:X}")
    if not arrays:
        raise DatasetError(f"the font {font_path} rendered no emoji. {INSTALL_HINT}")
    data = ImageFolderData(np.stack(arrays), np.asarray(labels, np.int32), class_names, names)
    try:
        save_npy_atomic(array_path, data.images)
        write_json_atomic(meta_path, {"labels": labels, "class_names": class_names, "paths": names})
    except OSError:
        pass
    return data


def _cache_stem(name: str, font_path: Path, resolution: int, channels: int) -> str:
    # The font file's size stands for its version: another font renders other pictures. The
    # layout version changes when a set's membership or classes change.
    return f"builtin-{name}-v{LAYOUT_VERSION}-{font_path.stat().st_size}-{resolution}-{channels}"


def builtin_folder(name: str, resolution: int, channels: int = 3, cache_dir=None) -> Path:
    """The built-in set ``name`` written out as PNG files, one subfolder per class, for what
    reads image folders (the evaluator's real images, the article's code). Written once into the
    dataset cache, each file atomically; a folder with every file present is reused."""
    from PIL import Image

    data = load_builtin_emoji(resolution, channels, cache_dir=cache_dir, name=name)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    folder = cache_dir / f"{_cache_stem(name, find_emoji_font(), resolution, channels)}-png"
    if len(list(folder.glob("*/*.png"))) != len(data.images):
        for index, (image, label) in enumerate(zip(data.images, data.labels)):
            picture = Image.fromarray(image[..., 0] if channels == 1 else image)
            save_png_atomic(picture, folder / data.class_names[label] / f"{index:05d}.png")
    return folder
