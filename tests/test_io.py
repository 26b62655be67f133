"""Atomic writes: all or nothing, and the permissions a plain write would give; classes.json read back."""
import pytest

from keras_gans.io import atomic_path, read_class_names, write_text_atomic


def test_written_file_has_the_umask_mode_not_mkstemps_0600(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "hello")
    (tmp_path / "plain.txt").write_text("hello")  # what an ordinary open() gives
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == (tmp_path / "plain.txt").stat().st_mode & 0o777


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "b.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.txt"]


def test_class_names_come_back_and_an_absent_or_null_file_means_unconditional(tmp_path):
    assert read_class_names(tmp_path) == []
    (tmp_path / "classes.json").write_text('["cats", "dogs"]')
    assert read_class_names(tmp_path) == ["cats", "dogs"]
    (tmp_path / "classes.json").write_text("null")
    assert read_class_names(tmp_path) == []


@pytest.mark.parametrize("text", ['["cats", "do', '{"cats": 0}', '["cats", 3]'])
def test_a_damaged_classes_file_is_named_in_the_error(tmp_path, text):
    (tmp_path / "classes.json").write_text(text)
    with pytest.raises(ValueError, match="classes.json"):
        read_class_names(tmp_path)
