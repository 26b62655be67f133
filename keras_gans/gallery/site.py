"""The static gallery: one wing per run, a room per class (or one room for an unconditional run),
an "in between" room of latent walks (plus, for style-based models, a style-mixing wall and a
truncation strip) and an about page. Plain HTML, CSS and a little vanilla JS with relative links,
so the site opens from ``file://`` as well as from any web server; every page carries what it
shows (no page fetches JSON).

Rebuilding is incremental: ``.gallery/index.json`` in the site records, per run, the generator's
fingerprint and the paintings made with it; a painting whose seed, class and truncation did not
change, painted by the same generator, is not painted again. Every file is written atomically,
and the index after each run, so an interrupted build loses nothing already painted.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import GalleryError, RunInfo, read_run, slug
from keras_gans.data.dedupe import file_sha256
from keras_gans.generation import PSI_RANGE
from keras_gans.io import atomic_path, write_json_atomic, write_text_atomic
from keras_gans.training.checkpoints import latest_checkpoint

ASSETS = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
INDEX_FILE = Path(".gallery") / "index.json"
INDEX_VERSION = 1
WALK_KEYFRAMES = 4
WALK_STEPS = 12
TRUNCATION_STRIP = (1.0, 0.85, 0.7, 0.5, 0.25, 0.0)


@dataclass
class Room:
    slug: str
    title: str
    class_name: str | None
    paintings: list[dict] = field(default_factory=list)


def painting_key(seed: int, psi: float) -> str:
    return f"seed{seed:06d}-psi{psi:.2f}"


def generator_fingerprint(run: RunInfo) -> str:
    """What identifies the weights that paint: generator.keras's SHA-256, else the latest
    checkpoint's recorded checksums (a run still training paints anew after each checkpoint)."""

    final = run.path / "generator.keras"
    if final.is_file():
        return "generator.keras:" + file_sha256(final)
    checkpoint = latest_checkpoint(run.path / "checkpoints")
    meta = (checkpoint / "meta.json").read_text(encoding="utf-8") if checkpoint else ""
    return "checkpoint:" + hashlib.sha256(meta.encode()).hexdigest()


def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["figure"] = lambda value: f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
    return environment


def _load_index(out: Path) -> dict:
    path = out / INDEX_FILE
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": INDEX_VERSION, "runs": {}}
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION or not isinstance(index.get("runs"), dict):
        return {"version": INDEX_VERSION, "runs": {}}
    return index


def build_site(runs, out, per_room: int = 24, truncation: float = 0.7, log=print) -> dict:
    """Build (or update) the gallery for the run folders ``runs`` in ``out``; returns counts of
    what was painted and what was kept from the previous build."""

    if per_room < 1:
        raise GalleryError(f"--per-room must be at least 1, got {per_room}")
    if not PSI_RANGE[0] <= truncation <= PSI_RANGE[1]:
        raise GalleryError(f"--truncation {truncation:g} is outside {PSI_RANGE[0]:g}..{PSI_RANGE[1]:g} (0.7 is typical)")
    if not runs:
        raise GalleryError("give at least one --run folder")
    infos = [read_run(path) for path in runs]
    names = [info.name for info in infos]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise GalleryError(f"two runs would share the room name(s) {duplicates}: give run folders with different names")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    index = _load_index(out)
    environment = _environment()
    counts = {"painted": 0, "kept": 0, "animations": 0}
    wings = []
    for info in infos:
        wing = _build_run(info, out, index, per_room, truncation, environment, counts, log)
        wings.append(wing)
        write_json_atomic(out / INDEX_FILE, index)
    for stale in set(index["runs"]) - set(names):
        del index["runs"][stale]  # its pages stay until the site folder is cleaned; nothing links to them
    _copy_assets(out)
    _write_page(environment, "index.html", out / "index.html", root="", wings=wings,
                title="AI Art Gallery", built=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    write_json_atomic(out / INDEX_FILE, index)
    log(f"gallery: {counts['painted']} paintings painted, {counts['kept']} kept from the last build, "
        f"{counts['animations']} walls and walks made; open {out / 'index.html'}")
    return counts


def _rooms(info: RunInfo, class_names) -> list[Room]:
    if not class_names:
        return [Room(slug="paintings", title="Paintings", class_name=None)]
    rooms, used = [], set()
    for name in class_names:
        room_slug = slug(name)
        while room_slug in used or room_slug in ("in-between", "about", "index"):
            room_slug += "-room"
        used.add(room_slug)
        rooms.append(Room(slug=room_slug, title=name, class_name=name))
    return rooms


def _build_run(info, out, index, per_room, truncation, environment, counts, log) -> dict:
    fingerprint = generator_fingerprint(info)
    record = index["runs"].get(info.name)
    if not record or record.get("generator") != fingerprint:
        record = {"generator": fingerprint, "paintings": {}, "extras": {}}
        index["runs"][info.name] = record
    painter = None

    def get_painter():
        nonlocal painter
        if painter is None:
            from .painting import Painter

            log(f"[{info.name}] loading the generator (safe mode)")
            painter = Painter(info)
        return painter

    from .painting import save_animation, save_painting, save_sheet

    wing_dir = out / info.name
    style_based = info.style_based
    psi = truncation if style_based else 1.0
    rooms = _rooms(info, info.class_names)
    for room in rooms:
        done = set(record["paintings"].get(room.slug, []))
        wanted = []
        room_dir = wing_dir / "paintings" / room.slug
        for seed in range(per_room):
            key = painting_key(seed, psi)
            full, thumbnail = room_dir / f"{key}.png", room_dir / f"{key}.webp"
            if key in done and full.is_file() and thumbnail.is_file():
                counts["kept"] += 1
            else:
                painter_ = get_painter()
                class_index = painter_.class_index(room.class_name) if room.class_name is not None else None
                save_painting(painter_.paint(seed, class_index, psi), full, thumbnail)
                counts["painted"] += 1
            wanted.append(key)
            room.paintings.append({
                "key": key, "seed": seed, "psi": psi, "full": f"paintings/{room.slug}/{key}.png",
                "thumbnail": f"paintings/{room.slug}/{key}.webp",
                "alt": f"{room.title if room.class_name else 'A painting'} by {info.name}, seed {seed}, truncation {psi:g}",
            })
        for old in set(done) - set(wanted):  # fewer paintings per room, or another truncation
            for suffix in (".png", ".webp"):
                (room_dir / f"{old}{suffix}").unlink(missing_ok=True)
        record["paintings"][room.slug] = wanted

    # The in-between room: a latent walk per room; for style-based models a mixing wall and a truncation strip.
    extras = []
    keyframes = list(range(WALK_KEYFRAMES))
    for room in rooms:
        name = f"walk-{room.slug}-psi{psi:.2f}.webp"
        if not _extra_done(record, wing_dir, name):
            painter_ = get_painter()
            class_index = painter_.class_index(room.class_name) if room.class_name is not None else None
            save_animation(painter_.interpolation(keyframes, WALK_STEPS, psi, class_index), wing_dir / "in-between" / name)
            record["extras"][name] = True
            counts["animations"] += 1
        extras.append({"kind": "walk", "file": f"in-between/{name}", "title": f"A walk through {room.title.lower() if room.class_name is None else room.title}",
                       "alt": f"An animation morphing between {WALK_KEYFRAMES} paintings of {room.title}, looping"})
    if style_based:
        first = rooms[0]
        label = f" ({first.title})" if first.class_name else ""
        for kind, name, title, alt in (
            ("mixing", f"mixing-psi{psi:.2f}.webp", f"Style mixing: coarse, middle and fine{label}",
             "Three grids, top to bottom coarse, middle and fine styles: each cell takes the row's painting and "
             "the column's styles in that range"),
            ("truncation", "truncation-strip.webp", f"Truncation strip{label}",
             "Rows of the same six paintings at truncation psi " + ", ".join(f"{p:g}" for p in TRUNCATION_STRIP)),
        ):
            if not _extra_done(record, wing_dir, name):
                painter_ = get_painter()
                class_index = painter_.class_index(first.class_name) if first.class_name is not None else None
                sheet = (painter_.mixing_wall(0, psi, class_index) if kind == "mixing"
                         else painter_.truncation_strip(0, TRUNCATION_STRIP, class_index))
                save_sheet(sheet, wing_dir / "in-between" / name)
                record["extras"][name] = True
                counts["animations"] += 1
            extras.append({"kind": kind, "file": f"in-between/{name}", "title": title, "alt": alt})

    wing = {"name": info.name, "info": info, "rooms": rooms, "extras": extras, "psi": psi,
            "cover": f"{info.name}/{rooms[0].paintings[0]['thumbnail']}", "conditional": bool(info.class_names)}
    common = {"root": "../", "wing": wing, "info": info}
    _write_page(environment, "wing.html", wing_dir / "index.html", title=info.name, **common)
    for room in rooms:
        _write_page(environment, "room.html", wing_dir / f"room-{room.slug}.html",
                    title=f"{room.title} - {info.name}", room=room, **common)
    _write_page(environment, "in_between.html", wing_dir / "in-between.html", title=f"In between - {info.name}", **common)
    _write_page(environment, "about.html", wing_dir / "about.html", title=f"About {info.name}",
                config_json=json.dumps(info.config, indent=2, sort_keys=True), **common)
    log(f"[{info.name}] {len(rooms)} room(s), {sum(len(r.paintings) for r in rooms)} paintings")
    return wing


def _extra_done(record, wing_dir: Path, name: str) -> bool:
    return bool(record["extras"].get(name)) and (wing_dir / "in-between" / name).is_file()


def _write_page(environment, template: str, path: Path, **context) -> None:
    write_text_atomic(path, environment.get_template(template).render(**context))


def _copy_assets(out: Path) -> None:
    for asset in sorted(ASSETS.iterdir()):
        if asset.is_file():
            with atomic_path(out / "assets" / asset.name, suffix=asset.suffix) as temporary:
                shutil.copyfile(asset, temporary)
