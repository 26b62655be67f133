"""keras_gans.prepare: every kind of bad input lands where it should, with its reason."""
from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_gans import prepare as prepare_cli
from keras_gans.data.dedupe import Candidate, _near_pairs, _popcount, find_duplicates, perceptual_hash
from keras_gans.data.preparation import PrepareError, PrepareOptions, prepare_dataset

RES = 32


def pattern(seed: int, size=(96, 96)) -> Image.Image:
    """A distinct RGB picture per seed: a random 6x6 colour grid, smoothly upscaled."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    return Image.fromarray(grid, "RGB").resize(size, Image.BICUBIC)


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but holds almost no data (decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def exif_rotated_jpeg(path: Path) -> None:
    """96x64 stored: left half red, right half blue; EXIF orientation 6 (display rotated 90
    clockwise), so upright it is 64x96 with red on top."""
    image = Image.new("RGB", (96, 64), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 48, 64))
    exif = Image.Exif()
    exif[0x0112] = 6
    save(image, path, format="JPEG", quality=95, exif=exif.tobytes())


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def messy(tmp_path) -> Path:
    """SRC with two classes and every kind of bad input the issue lists."""
    src = tmp_path / "src"
    for i in range(4):
        save(pattern(i), src / "cats" / f"good{i}.jpg", quality=95)
    for i in range(4, 7):
        save(pattern(i), src / "dogs" / f"good{i}.png")
    good0 = (src / "cats" / "good0.jpg").read_bytes()
    (src / "cats" / "zz-exact-copy.jpg").write_bytes(good0)
    # A smaller re-encode of good4 sorts first but must lose to the larger original.
    save(pattern(4).resize((72, 72), Image.LANCZOS), src / "dogs" / "aaa-resized.jpg", quality=90)
    truncated = io.BytesIO()
    pattern(10, (128, 128)).save(truncated, format="JPEG", quality=95)
    (src / "cats" / "truncated.jpg").write_bytes(truncated.getvalue()[: len(truncated.getvalue()) // 2])
    (src / "cats" / "empty.jpg").write_bytes(b"")
    (src / "cats" / "text.png").write_text("this is not a picture\n")
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((200, 30, 30, 255), (32, 0, 64, 64))  # right half opaque red, left transparent
    save(rgba, src / "dogs" / "transparent.png")
    save(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), src / "dogs" / "cmyk.jpg", quality=95)
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    save(Image.fromarray(ramp), src / "dogs" / "sixteen.png")
    exif_rotated_jpeg(src / "cats" / "rotated.jpg")
    save(Image.new("RGB", (1, 1), (9, 9, 9)), src / "cats" / "tiny.png")
    save(pattern(20, (400, 40)), src / "cats" / "banner.png")
    (src / "cats" / "bomb.png").write_bytes(png_header_only(20000, 20000))  # over twice the limit
    (src / "dogs" / "bomb-warning.png").write_bytes(png_header_only(12000, 11000))  # just over it
    (src / "dogs" / "notes.txt").write_text("downloaded from somewhere\n")
    # Scraper-style metadata: a sidecar next to one image, a manifest line for another.
    (src / "dogs" / "good5.json").write_text(json.dumps({"source": "met", "licence": "CC0", "title": "A dog"}))
    (src / "manifest.jsonl").write_text(
        json.dumps({"key": "good6", "status": "done", "file": "dogs/good6.png", "licence": "public-domain"}) + "\n"
        + "{torn line\n"
    )
    return src


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(src, dst, **kwargs):
    options = PrepareOptions(**{"resolution": RES, "min_size": 16, "workers": 1, **kwargs})
    return prepare_dataset(src, dst, options, progress=False, log=None)


def test_every_bad_input_lands_where_it_should(messy, tmp_path):
    before = tree_digest(messy)
    dst = tmp_path / "dst"
    summary = run(messy, dst, dedupe="near", background=(0, 255, 0))
    assert tree_digest(messy) == before, "SRC must never be written"

    skipped = {entry["source"]: entry for entry in read_jsonl(dst / "skipped.jsonl")}
    reasons = {source: entry["reason"] for source, entry in skipped.items()}
    assert reasons == {
        "cats/zz-exact-copy.jpg": "duplicate",
        "dogs/aaa-resized.jpg": "duplicate",
        "cats/truncated.jpg": "truncated",
        "cats/empty.jpg": "zero-byte",
        "cats/text.png": "not-an-image",
        "cats/tiny.png": "too-small",
        "cats/banner.png": "extreme-aspect",
        "cats/bomb.png": "decompression-bomb",
        "dogs/bomb-warning.png": "decompression-bomb",
        "dogs/notes.txt": "unsupported-file",
    }
    # Keep the largest of a group, then the first path in sorted order.
    assert skipped["cats/zz-exact-copy.jpg"]["duplicate_of"] == "cats/good0.jpg"
    assert skipped["dogs/aaa-resized.jpg"]["duplicate_of"] == "dogs/good4.png"

    manifest = {entry["source"]: entry for entry in read_jsonl(dst / "manifest.jsonl")}
    assert sorted(manifest) == sorted(
        [f"cats/good{i}.jpg" for i in range(4)] + ["cats/rotated.jpg"]
        + [f"dogs/good{i}.png" for i in range(4, 7)]
        + ["dogs/transparent.png", "dogs/cmyk.jpg", "dogs/sixteen.png"]
    )
    images = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png"))
    assert images == sorted(entry["path"] for entry in manifest.values())
    assert all(not p.startswith(".prepare") for p in images)
    for entry in manifest.values():
        assert entry["label"] == entry["source"].split("/")[0]
        assert entry["class_index"] == ["cats", "dogs"].index(entry["label"])
        data = (messy / entry["source"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        with Image.open(dst / entry["path"]) as output:
            assert output.size == (RES, RES) and output.mode == "RGB"

    def pixel(source, xy):
        with Image.open(dst / manifest[source]["path"]) as output:
            return np.asarray(output.convert("RGB"), dtype=int)[xy[1], xy[0]]

    # Transparency composited on the chosen background (green), not black.
    assert np.abs(pixel("dogs/transparent.png", (3, 16)) - [0, 255, 0]).max() < 8
    assert np.abs(pixel("dogs/transparent.png", (28, 16)) - [200, 30, 30]).max() < 8
    # CMYK (0,255,255,0) is red.
    assert np.abs(pixel("dogs/cmyk.jpg", (16, 16)) - [255, 0, 0]).max() < 40
    # 16-bit ramp keeps its full range after conversion to 8 bits.
    with Image.open(dst / manifest["dogs/sixteen.png"]["path"]) as output:
        values = np.asarray(output.convert("L"))
    assert values.max() - values.min() > 100
    # EXIF orientation applied: upright 64x96, red on top, blue at the bottom.
    rotated = manifest["cats/rotated.jpg"]
    assert rotated["original_size"] == [64, 96] and rotated["crop_box"] == [0, 16, 64, 80]
    assert np.abs(pixel("cats/rotated.jpg", (16, 2)) - [255, 0, 0]).max() < 40
    assert np.abs(pixel("cats/rotated.jpg", (16, 29)) - [0, 0, 255]).max() < 40
    # Licence/source metadata from the sidecar and from the scraper manifest.
    assert manifest["dogs/good5.png"]["licence"] == "CC0"
    assert manifest["dogs/good5.png"]["metadata"]["title"] == "A dog"
    assert manifest["dogs/good6.png"]["licence"] == "public-domain"

    assert summary.outputs == 11 and summary.duplicates == 2
    assert summary.skipped["duplicate"] == 2 and summary.skipped["truncated"] == 1
    assert summary.per_class["cats"]["duplicates"] == 1 and summary.per_class["dogs"]["duplicates"] == 1
    assert summary.per_class["cats"]["skipped"]["decompression-bomb"] == 1
    saved = json.loads((dst / "summary.json").read_text())
    assert saved["skipped"] == summary.skipped and saved["per_class"]["dogs"]["kept"] == 6
    assert "duplicates removed: 2" in (dst / "summary.txt").read_text()


def test_exact_dedupe_keeps_near_copies_and_grayscale(messy, tmp_path):
    dst = tmp_path / "dst"
    summary = run(messy, dst, dedupe="exact", channels=1)
    reasons = {e["source"]: e["reason"] for e in read_jsonl(dst / "skipped.jsonl")}
    assert reasons["cats/zz-exact-copy.jpg"] == "duplicate"
    assert "dogs/aaa-resized.jpg" not in reasons
    assert summary.duplicates == 1
    for path in dst.rglob("*.png"):
        with Image.open(path) as output:
            assert output.mode == "L"


def test_labels_none_flattens_and_pad_keeps_the_whole_image(tmp_path):
    src = tmp_path / "src"
    save(pattern(1, (80, 40)), src / "a" / "wide.png")
    save(pattern(2), src / "b" / "deep" / "square.png")
    save(pattern(3), src / "a__wide.png")  # flattens onto the same name as a/wide.png
    dst = tmp_path / "dst"
    run(src, dst, labels="none", crop="pad", background=(0, 0, 0))
    manifest = {e["source"]: e for e in read_jsonl(dst / "manifest.jsonl")}
    assert manifest["a/wide.png"]["path"] == "a__wide-png.png"
    assert manifest["a__wide.png"]["path"] == "a__wide-png-2.png"
    assert manifest["b/deep/square.png"]["path"] == "b__deep__square.png"
    assert manifest["a/wide.png"]["label"] is None and manifest["a/wide.png"]["class_index"] == -1
    assert manifest["a/wide.png"]["crop_box"] == [0, -20, 80, 60]
    with Image.open(dst / "a__wide-png.png") as output:
        array = np.asarray(output)
    assert array[:6].max() < 10 and array[-6:].max() < 10  # black bars above and below
    assert [p.name for p in dst.iterdir() if p.is_dir() and not p.name.startswith(".")] == []


def test_folder_labels_with_nested_folders_and_name_collisions(tmp_path):
    src = tmp_path / "src"
    save(pattern(1), src / "oil" / "2020" / "a.png")
    save(pattern(2), src / "oil" / "a.png")
    save(pattern(3), src / "oil" / "a.jpg")
    save(pattern(4), src / "loose.png")  # outside any class folder
    dst = tmp_path / "dst"
    summary = run(src, dst)
    paths = sorted(e["path"] for e in read_jsonl(dst / "manifest.jsonl"))
    assert paths == ["oil/2020__a.png", "oil/a-jpg.png", "oil/a-png.png"]
    assert summary.classes == ["oil"]
    assert summary.skipped == {"outside-class-folder": 1}


def test_rerun_follows_changes_in_src(messy, tmp_path):
    dst = tmp_path / "dst"
    run(messy, dst)
    first = tree_digest(dst)
    again = run(messy, dst)
    assert again.last_run["processed"] == 0
    assert {k: v for k, v in tree_digest(dst).items() if not k.startswith(("summary", ".prepare"))} == {
        k: v for k, v in first.items() if not k.startswith(("summary", ".prepare"))
    }
    (messy / "cats" / "good1.jpg").unlink()
    save(pattern(30), messy / "cats" / "new.jpg")
    changed = run(messy, dst)
    assert changed.last_run["processed"] == 1
    assert not (dst / "cats" / "good1.png").exists() and (dst / "cats" / "new.png").exists()
    assert "cats/good1.jpg" not in {e["source"] for e in read_jsonl(dst / "manifest.jsonl")}


def test_interrupted_run_resumes_to_the_same_result(messy, tmp_path):
    reference = tmp_path / "reference"
    run(messy, reference, dedupe="near")

    dst = tmp_path / "dst"
    seen = []

    def interrupt(record):
        seen.append(record)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(messy, dst, PrepareOptions(resolution=RES, min_size=16, dedupe="near"),
                        progress=False, log=None, on_record=interrupt)
    assert not (dst / "manifest.jsonl").exists()
    resumed = run(messy, dst, dedupe="near")
    assert resumed.last_run == {**resumed.last_run, "resumed": 5, "processed": 20 - 5}

    def outputs(root):
        return {k: v for k, v in tree_digest(root).items() if not k.startswith(("summary", ".prepare"))}

    assert outputs(dst) == outputs(reference)


def test_different_options_need_overwrite(messy, tmp_path):
    dst = tmp_path / "dst"
    run(messy, dst)
    with pytest.raises(PrepareError, match="different options.*resolution"):
        run(messy, dst, resolution=48)
    summary = run(messy, dst, resolution=48, overwrite=True)
    with Image.open(next(dst.rglob("*.png"))) as output:
        assert output.size == (48, 48)
    assert summary.last_run["resumed"] == 0


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing-src", "does not exist"),
        ("dst-in-src", "inside the source folder"),
        ("foreign-dst", "not empty and was not written by keras_gans.prepare"),
        ("no-images", "no images"),
    ],
)
def test_cli_wrong_paths_are_one_line_errors(case, message, messy, tmp_path, capsys):
    dst = tmp_path / "dst"
    src = messy
    if case == "missing-src":
        src = tmp_path / "nowhere"
    elif case == "dst-in-src":
        dst = messy / "out"
    elif case == "foreign-dst":
        dst.mkdir()
        (dst / "precious.txt").write_text("mine")
    elif case == "no-images":
        src = tmp_path / "empty"
        src.mkdir()
        (src / "readme.txt").write_text("x")
    code = prepare_cli.main([str(src), str(dst), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (messy / "out").exists()
    if case == "foreign-dst":
        assert (dst / "precious.txt").read_text() == "mine" and len(list(dst.iterdir())) == 1


@pytest.mark.parametrize(
    "arguments",
    [["--crop", "circle"], ["--channels", "2"], ["--resolution", "0"], ["--background", "nope"],
     ["--workers", "-1"]],
)
def test_cli_bad_options_are_usage_errors(arguments, messy, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        prepare_cli.main([str(messy), str(tmp_path / "dst"), *arguments])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_cli_runs_and_prints_the_summary(messy, tmp_path, capsys):
    code = prepare_cli.main([str(messy), str(tmp_path / "dst"), "--resolution", "24", "--min-size", "16",
                             "--dedupe", "exact", "--workers", "1", "--background", "#00ff00"])
    out = capsys.readouterr().out
    assert code == 0
    assert "duplicates removed: 1" in out and "decompression-bomb 2" in out and "cats" in out


def test_find_duplicates_is_deterministic_and_exact():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=40, dtype=np.int64).astype(np.uint64)
    # Plant near copies: flip up to 4 bits of some hashes.
    hashes = list(base)
    for i in range(0, 40, 4):
        flipped = int(base[i])
        for bit in rng.choice(64, size=int(rng.integers(1, 5)), replace=False):
            flipped ^= 1 << int(bit)
        hashes.append(np.uint64(flipped))
    array = np.array(hashes, dtype=np.uint64)
    brute = {
        (i, j)
        for i in range(len(array))
        for j in range(i + 1, len(array))
        if int(_popcount(np.array([array[i] ^ array[j]]))[0]) <= 6
    }
    assert set(_near_pairs(array, 6)) == brute and len(brute) >= 10

    candidates = [Candidate(f"k{i:03d}", f"sha{i}", int(h), 100 + (i % 3)) for i, h in enumerate(hashes)]
    result = find_duplicates(candidates, "near", 6)
    assert find_duplicates(list(reversed(candidates)), "near", 6) == result
    for dropped, kept in result.items():
        assert dropped != kept and kept not in result


def test_perceptual_hash_survives_resizing_and_separates_pictures():
    a, b = pattern(1, (128, 128)), pattern(2, (128, 128))
    distance = lambda x, y: bin(perceptual_hash(x) ^ perceptual_hash(y)).count("1")  # noqa: E731
    assert distance(a, a.resize((70, 70), Image.LANCZOS)) <= 4
    assert distance(a, b) > 12
