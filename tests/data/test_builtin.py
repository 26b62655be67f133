import numpy as np
import pytest

from keras_gans.data import builtin
from keras_gans.data.folders import DatasetError


def test_emoji_render_into_classes(tmp_path):
    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"Noto Color Emoji is not installed here: {error}")
    data = builtin.load_builtin_emoji(32, cache_dir=tmp_path)
    assert data.images.shape[1:] == (32, 32, 3) and len(data.images) > 500
    assert data.class_names == list(builtin.EMOJI_BLOCKS)
    assert np.all(np.bincount(data.labels) > 50)
    # Real pictures, not blank tiles: colourful and different from each other.
    assert data.images.std() > 40
    assert not np.array_equal(data.images[0], data.images[1])


def test_missing_font_says_how_to_install(monkeypatch):
    monkeypatch.setenv("KERAS_GANS_EMOJI_FONT", "/nonexistent/NotoColorEmoji.ttf")
    with pytest.raises(DatasetError, match="apt-get install fonts-noto-color-emoji"):
        builtin.find_emoji_font()
