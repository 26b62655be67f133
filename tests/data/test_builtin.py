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


def test_face_emoji_are_the_default_set_of_round_yellow_faces(tmp_path):
    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"Noto Color Emoji is not installed here: {error}")
    assert builtin.builtin_set_name(None) == "emoji-faces" == builtin.DEFAULT_BUILTIN
    data = builtin.load_builtin_emoji(32, cache_dir=tmp_path, name="emoji-faces")
    assert 80 <= len(data.images) <= 120
    # Unicode's face subgroups as classes, in the order a scan of builtin_folder reads them.
    assert data.class_names == sorted(builtin.FACE_SUBGROUPS) == list(builtin.FACE_SUBGROUPS)
    assert np.all(np.bincount(data.labels, minlength=10) >= 5)
    # Yellow: red and green well above blue at the centre of every face.
    centre = data.images[:, 12:20, 12:20].reshape(len(data.images), -1, 3).mean(axis=1)
    assert np.median(centre[:, 0] - centre[:, 2]) > 80 and np.median(centre[:, 1] - centre[:, 2]) > 50
    # Cached under the set's own name: the full set is not served in its place.
    assert len(builtin.load_builtin_emoji(32, cache_dir=tmp_path, name="emoji").images) > 500


def test_face_subgroups_name_each_face_once():
    codepoints = [cp for members in builtin.FACE_SUBGROUPS.values() for cp in members]
    assert len(codepoints) == len(set(codepoints)) >= 90
    assert len(builtin.FACE_SUBGROUPS) == 10


def test_builtin_names_are_checked():
    assert builtin.builtin_set_name("builtin:emoji") == "emoji"
    assert builtin.builtin_set_name("data/my-faces") is None  # a folder
    with pytest.raises(DatasetError, match="unknown built-in dataset 'builtin:emoji-face'.*builtin:emoji-faces"):
        builtin.builtin_set_name("builtin:emoji-face")


def test_builtin_folder_writes_the_set_once_as_pngs_in_class_folders(tmp_path):
    try:
        builtin.find_emoji_font()
    except DatasetError as error:
        pytest.skip(f"Noto Color Emoji is not installed here: {error}")
    from keras_gans.metrics.real_data import scan_folder

    folder = builtin.builtin_folder("emoji-faces", 16, cache_dir=tmp_path)
    data = builtin.load_builtin_emoji(16, cache_dir=tmp_path, name="emoji-faces")
    scanned = scan_folder(folder)
    assert len(scanned.paths) == len(data.images) and scanned.class_names == data.class_names
    first = sorted(folder.rglob("*.png"))[0]
    written = first.stat().st_mtime_ns
    assert builtin.builtin_folder("emoji-faces", 16, cache_dir=tmp_path) == folder
    assert first.stat().st_mtime_ns == written  # reused, not rewritten
