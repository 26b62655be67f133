"""The static gallery build: rooms, in-between room, about pages, working relative links,
the same paintings as the live server, incremental rebuilds and clear refusals."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_gans.gallery import site as site_module
from keras_gans.gallery.catalog import GalleryError
from keras_gans.gallery.site import build_site


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images, self.ids, self.scripts = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src", "data-full"):
            if attrs.get(name):
                self.links.append(attrs[name])
        if tag == "img":
            self.images.append(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_rooms_walls_and_about_pages(built_site):
    styled, plain = built_site / "styled", built_site / "plain"
    # A conditional run has one room per class (names made safe for URLs), an unconditional one a single room.
    assert sorted(p.name for p in styled.glob("room-*.html")) == ["room-blue-sea.html", "room-red-sky.html"]
    assert [p.name for p in plain.glob("room-*.html")] == ["room-paintings.html"]
    for room in ("red-sky", "blue-sea"):
        assert len(list((styled / "paintings" / room).glob("*.png"))) == 4
        assert len(list((styled / "paintings" / room).glob("*.webp"))) == 4
    full = Image.open(next((styled / "paintings" / "red-sky").glob("*.png")))
    thumbnail = Image.open(next((styled / "paintings" / "red-sky").glob("*.webp")))
    assert full.size == (16, 16) and thumbnail.size == (256, 256) and thumbnail.format == "WEBP"
    # In between: a walk per room; the style-based run also has the mixing wall and the truncation strip.
    assert sorted(p.name.split("-psi")[0] for p in (styled / "in-between").glob("*.webp")) == [
        "mixing", "truncation-strip.webp", "walk-blue-sea", "walk-red-sky"]
    walk = Image.open(next((styled / "in-between").glob("walk-red-sky*.webp")))
    assert walk.n_frames == site_module.WALK_KEYFRAMES * site_module.WALK_STEPS
    assert [p.name for p in (plain / "in-between").glob("*.webp")] == ["walk-paintings-psi1.00.webp"]
    about_plain = (plain / "about.html").read_text()
    assert "no style space" in (plain / "in-between.html").read_text()
    assert "dcgan" in about_plain and "no mapping network" in about_plain and "16 images" in about_plain
    about = (styled / "about.html").read_text()
    assert "stylegan" in about and "kimg" in about and "conditional on 2 classes" in about
    assert "starting from the preset stylegan-cpu-64" in about  # what --model stylegan started from


def test_every_page_links_only_to_files_that_exist_and_embeds_what_it_shows(built_site):
    """Relative links only, all resolving inside the site: the gallery opens from file://."""
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) == 1 + 2 * 3 + 2 + 1  # index; per run: wing, in-between, about; 2 + 1 rooms
    for page in pages:
        parsed = _parse(page)
        text = page.read_text()
        assert "fetch(" not in text, page
        for link in parsed.links:
            if link.startswith(("#", "mailto:")):
                continue
            assert not re.match(r"^[a-z]+://|^/", link), f"{page}: {link} is not relative"
            assert not link.endswith(".json"), f"{page}: {link} would need a fetch, which file:// refuses"
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{page}: {link} does not exist"
            assert built_site.resolve() in target.parents
        for image in parsed.images:
            assert image.get("alt") is not None, f"{page}: an image without alt text"
            if "data-lightbox-image" not in image and "data-paint-image" not in image:
                assert image["alt"].strip(), f"{page}: empty alt text on {image.get('src')}"
                assert image.get("loading") == "lazy"


def test_permalinks_name_seed_and_truncation(built_site):
    parsed = _parse(built_site / "styled" / "room-red-sky.html")
    keys = [i for i in parsed.ids if i.startswith("seed")]
    assert keys == [f"seed{seed:06d}-psi0.70" for seed in range(4)]
    plain = _parse(built_site / "plain" / "room-paintings.html")
    assert [i for i in plain.ids if i.startswith("seed")][0] == "seed000000-psi1.00"  # no truncation without a style space


def test_the_gallery_and_the_server_paint_the_same_picture(built_site, gallery_runs):
    from keras_gans.gallery.catalog import read_run
    from keras_gans.gallery.painting import Painter

    painter = Painter(read_run(gallery_runs["styled"]))
    again = painter.paint(2, painter.class_index("red sky"), 0.7)
    built = np.asarray(Image.open(built_site / "styled" / "paintings" / "red-sky" / "seed000002-psi0.70.png"))
    np.testing.assert_array_equal(built, again)
    other_class = np.asarray(Image.open(built_site / "styled" / "paintings" / "blue-sea" / "seed000002-psi0.70.png"))
    assert np.abs(built.astype(int) - other_class).mean() > 0


def test_rebuilds_paint_only_what_changed(gallery_runs, tmp_path, monkeypatch):
    out = tmp_path / "site"
    runs = [gallery_runs["plain"]]
    first = build_site(runs, out, per_room=2, log=lambda *_: None)
    assert first["painted"] == 2
    painting = out / "plain" / "paintings" / "paintings" / "seed000000-psi1.00.png"
    stamp = painting.stat().st_mtime_ns
    again = build_site(runs, out, per_room=3, log=lambda *_: None)
    assert again == {"painted": 1, "kept": 2, "animations": 0}  # only the new seed
    assert painting.stat().st_mtime_ns == stamp
    fewer = build_site(runs, out, per_room=1, log=lambda *_: None)
    assert fewer["painted"] == 0 and not (out / "plain" / "paintings" / "paintings" / "seed000002-psi1.00.png").exists()
    # New weights (a longer-trained run) repaint everything.
    monkeypatch.setattr(site_module, "generator_fingerprint", lambda run: "retrained")
    assert build_site(runs, out, per_room=1, log=lambda *_: None)["painted"] == 1
    index = json.loads((out / ".gallery" / "index.json").read_text())
    assert index["runs"]["plain"]["generator"] == "retrained"


def test_a_new_truncation_repaints_the_style_based_run(gallery_runs, tmp_path):
    out = tmp_path / "site"
    build_site([gallery_runs["styled"]], out, per_room=1, truncation=0.7, log=lambda *_: None)
    counts = build_site([gallery_runs["styled"]], out, per_room=1, truncation=0.5, log=lambda *_: None)
    assert counts["painted"] == 2 and counts["kept"] == 0
    assert sorted(p.name for p in (out / "styled" / "paintings" / "red-sky").iterdir()) == [
        "seed000000-psi0.50.png", "seed000000-psi0.50.webp"]


def test_metrics_in_the_run_folder_appear_on_the_about_page(gallery_runs, tmp_path):
    import shutil

    run = tmp_path / "evaluated"
    shutil.copytree(gallery_runs["plain"], run)
    (run / "evaluation.json").write_text(json.dumps({"kimg": 0.016, "figures": {"FID(effnet-lite0)": 123.456, "KID(effnet-lite0)": 0.0789}}))
    build_site([run], tmp_path / "site", per_room=1, log=lambda *_: None)
    about = (tmp_path / "site" / "evaluated" / "about.html").read_text()
    assert "FID(effnet-lite0)" in about and "123.5" in about and "evaluation.json" in about


def test_bad_runs_and_options_are_refused_with_a_reason(gallery_runs, tmp_path, capsys):
    from keras_gans.gallery.__main__ import main

    with pytest.raises(GalleryError, match="does not exist"):
        build_site([tmp_path / "nowhere"], tmp_path / "site")
    (tmp_path / "not-a-run").mkdir()
    with pytest.raises(GalleryError, match="not a keras_gans run folder"):
        build_site([tmp_path / "not-a-run"], tmp_path / "site")
    with pytest.raises(GalleryError, match="share the room name"):
        build_site([gallery_runs["plain"], gallery_runs["plain"]], tmp_path / "site")
    assert main(["build", "--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "site")]) == 2
    assert "does not exist" in capsys.readouterr().err
    for argv, message in ((["--per-room", "0"], "--per-room"), (["--truncation", "5"], "outside -1..2")):
        with pytest.raises(SystemExit) as exit_info:
            main(["build", "--run", str(gallery_runs["plain"]), "--out", str(tmp_path / "site"), *argv])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "site").exists()
