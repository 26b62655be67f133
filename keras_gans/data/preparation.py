"""Turning a messy folder of downloads into a clean, deduplicated training folder.

:func:`prepare_dataset` is the library behind ``python -m keras_gans.prepare``. It reads SRC
recursively (never writing there), decodes and validates every image through
:func:`keras_gans.data.images.load_image`, crops (centre, pad, or one output per anime face),
resizes, writes DST as a clean image folder, deduplicates, and records everything:

``DST/manifest.jsonl``
    one line per output image: path, source, source sha256, label, crop box, source metadata.
``DST/skipped.jsonl``
    one line per source that gave no output, with its reason (and ``duplicate_of``).
``DST/summary.json`` / ``DST/summary.txt``
    counts kept / skipped by reason / duplicates, overall and per class.
``DST/no-face.txt``
    with ``crop="anime-face"``: the sources in which no face was found.
``DST/.prepare/journal.jsonl``
    the resume journal: one line per processed source, appended as results arrive. A rerun
    (after an interrupt, or after files were added to SRC) skips sources whose journal entry
    matches the file's size and mtime and the per-file options.

Every image and report is written to a temporary name in its final folder and renamed into
place, so a killed run leaves no half-written file under a real name.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Iterator

from PIL import Image

from keras_gans.io import is_atomic_temporary, write_bytes_atomic, write_text_atomic

from .dedupe import DEFAULT_NEAR_THRESHOLD, Candidate, file_sha256, find_duplicates, perceptual_hash
from .folders import walk_files
from .images import IMAGE_EXTENSIONS, ImageRejected, fit_square, load_image, square_box

# Prepare also reads TIFF (museum downloads); its outputs are PNG/JPEG, which training reads.
INPUT_EXTENSIONS = tuple(sorted(set(IMAGE_EXTENSIONS) | {".tif", ".tiff"}))
METADATA_EXTENSIONS = (".json", ".jsonl")
STATE_DIRNAME = ".prepare"
JOURNAL_NAME = "journal.jsonl"
STATE_NAME = "state.json"
REPORT_FILES = ("manifest.jsonl", "skipped.jsonl", "summary.json", "summary.txt", "no-face.txt")
CROPS = ("center", "pad", "anime-face")
CHANNELS = (1, 3)
DEDUPE_MODES = (None, "exact", "near")
LABEL_MODES = ("folders", "none")
FORMATS = ("folder", "tfrecord")
IMAGE_FORMATS = ("png", "jpg")
JOURNAL_VERSION = 1
# Keys of scraper sidecars/manifests whose value names the image file they describe.
_MANIFEST_PATH_KEYS = ("path", "file", "filename", "local_path", "image_path", "output", "saved_as")


class PrepareError(Exception):
    """A problem with the arguments or folders, explained in one line for the user."""


@dataclass
class PrepareOptions:
    resolution: int = 256
    crop: str = "center"
    channels: int = 3
    dedupe: str | None = None
    near_threshold: int = DEFAULT_NEAR_THRESHOLD
    min_size: int = 32
    max_aspect: float | None = 3.0
    labels: str = "folders"
    format: str = "folder"
    workers: int = 1
    background: tuple[int, int, int] = (255, 255, 255)
    face_margin: float = 0.25
    cascade: str | None = None
    image_format: str = "png"
    jpeg_quality: int = 95
    shard_size: int = 2048
    overwrite: bool = False

    # Options that change what one source file becomes; a journal entry made under other
    # values is stale. (dedupe/format/workers act on the whole set and are redone each run.)
    PER_FILE = (
        "resolution", "crop", "channels", "min_size", "max_aspect", "labels", "background",
        "face_margin", "image_format", "jpeg_quality",
    )

    def validate(self) -> None:
        if not isinstance(self.resolution, int) or not 4 <= self.resolution <= 8192:
            raise PrepareError(f"--resolution must be a whole number of pixels from 4 to 8192, got {self.resolution}")
        if self.crop not in CROPS:
            raise PrepareError(f"--crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.channels not in CHANNELS:
            raise PrepareError(f"--channels must be 1 or 3, got {self.channels!r}")
        if self.dedupe not in DEDUPE_MODES:
            raise PrepareError(f"--dedupe must be exact or near, got {self.dedupe!r}")
        if not 0 <= self.near_threshold <= 32:
            raise PrepareError(f"--near-threshold must be 0 to 32 bits, got {self.near_threshold}")
        if self.min_size < 1:
            raise PrepareError(f"--min-size must be at least 1, got {self.min_size}")
        if self.max_aspect is not None and self.max_aspect < 1:
            raise PrepareError(f"--max-aspect must be at least 1 (0 disables the check), got {self.max_aspect}")
        if self.labels not in LABEL_MODES:
            raise PrepareError(f"--labels must be folders or none, got {self.labels!r}")
        if self.format not in FORMATS:
            raise PrepareError(f"--format must be folder or tfrecord, got {self.format!r}")
        if self.workers < 1:
            raise PrepareError(f"--workers must be at least 1, got {self.workers}")
        if len(self.background) != 3 or not all(0 <= int(v) <= 255 for v in self.background):
            raise PrepareError(f"--background must be three values 0-255, got {self.background!r}")
        if not 0 <= self.face_margin <= 2:
            raise PrepareError(f"--face-margin must be from 0 to 2 (fraction of the face side), got {self.face_margin}")
        if self.image_format not in IMAGE_FORMATS:
            raise PrepareError(f"--image-format must be png or jpg, got {self.image_format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise PrepareError(f"--jpeg-quality must be 1 to 100, got {self.jpeg_quality}")
        if self.shard_size < 1:
            raise PrepareError(f"--shard-size must be at least 1, got {self.shard_size}")

    def per_file(self) -> dict:
        values = {name: getattr(self, name) for name in self.PER_FILE}
        values["background"] = list(values["background"])
        return values

    def fingerprint(self) -> str:
        return json.dumps(self.per_file(), sort_keys=True)

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["background"] = list(values["background"])
        return values


@dataclass
class SourceItem:
    """One file found under SRC that should be an image."""

    rel: str  # posix path relative to SRC
    label: str | None
    size: int
    mtime_ns: int
    output_stem: str  # output path relative to DST, without extension
    metadata: dict | None = None


@dataclass
class SourceScan:
    items: list[SourceItem]
    unsupported: list[str]  # files with extensions that are neither images nor metadata
    outside_classes: list[str]  # images directly in SRC while others are in class folders
    metadata_files: int
    classes: list[str]


@dataclass
class PrepareSummary:
    src: str
    dst: str
    options: dict
    classes: list[str]
    sources: int
    kept_sources: int
    outputs: int
    duplicates: int
    skipped: dict[str, int]
    per_class: dict[str, dict]
    no_face: int = 0
    last_run: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------- helpers


def _jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n" for record in records)


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def _safe_component(text: str) -> str:
    return "".join(ch if ch not in '<>:"|?*\\' and ord(ch) >= 32 else "_" for ch in text)


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _index_manifest(manifest: Path, src: Path, into: dict[str, dict]) -> None:
    """Records of a scraper ``manifest.jsonl``, keyed by the SRC-relative path they name."""
    try:
        lines = manifest.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        for key in _MANIFEST_PATH_KEYS:
            value = record.get(key)
            if not isinstance(value, str) or not value:
                continue
            for base in (manifest.parent, src):
                candidate = Path(value) if os.path.isabs(value) else base / value
                try:
                    rel = candidate.resolve().relative_to(src).as_posix()
                except (ValueError, OSError):
                    continue
                if candidate.is_file():
                    into.setdefault(rel, record)
                    break


def scan_source(src: Path, labels: str = "folders") -> SourceScan:
    """Every file under ``src`` (recursively, sorted, hidden files and folders ignored) sorted
    into images to prepare, metadata (``*.json`` sidecars, ``manifest.jsonl``), and others."""
    images: list[tuple[str, os.stat_result]] = []
    unsupported: list[str] = []
    metadata_files = 0
    manifests: list[Path] = []
    # Downloads often arrive as symlinked folders: follow them, each real folder once.
    for path in walk_files(src, follow_links=True):
        rel = path.relative_to(src).as_posix()
        suffix = path.suffix.lower()
        if suffix in INPUT_EXTENSIONS:
            try:
                images.append((rel, path.stat()))
            except OSError:
                unsupported.append(rel)
        elif suffix in METADATA_EXTENSIONS:
            metadata_files += 1
            if suffix == ".jsonl":
                manifests.append(path)
        else:
            unsupported.append(rel)
    manifest_records: dict[str, dict] = {}
    for manifest in manifests:
        _index_manifest(manifest, src, manifest_records)

    images.sort(key=lambda entry: entry[0])
    nested = any("/" in rel for rel, _ in images)
    items: list[SourceItem] = []
    outside: list[str] = []
    for rel, stat in images:
        parts = rel.split("/")
        if labels == "folders" and nested:
            if len(parts) == 1:
                outside.append(rel)
                continue
            label, rest = parts[0], parts[1:]
            stem = label + "/" + "__".join(_safe_component(p) for p in rest)
        else:
            label = None
            stem = "__".join(_safe_component(p) for p in parts)
        stem = stem.rsplit(".", 1)[0]
        # The sidecar (<stem>.json) describes the file best; else the scraper manifest's line.
        sidecar = _read_json((src / rel).with_suffix(".json"))
        metadata = sidecar if isinstance(sidecar, dict) else manifest_records.get(rel)
        items.append(SourceItem(rel, label, stat.st_size, stat.st_mtime_ns, stem, metadata))

    # Two sources may map to one output stem (a.jpg and a.png): keep their extensions apart.
    stems = Counter(item.output_stem.lower() for item in items)
    for item in items:
        if stems[item.output_stem.lower()] > 1:
            item.output_stem += "-" + Path(item.rel).suffix.lower().lstrip(".")
    # Anything still clashing (case-insensitive file systems included) gets a counter, in
    # sorted source order, so names stay deterministic.
    taken: set[str] = set()
    for item in items:
        stem, number = item.output_stem, 1
        while stem.lower() in taken:
            number += 1
            stem = f"{item.output_stem}-{number}"
        item.output_stem = stem
        taken.add(stem.lower())
    classes = sorted({item.label for item in items if item.label is not None})
    return SourceScan(items, unsupported, outside, metadata_files, classes)


# ------------------------------------------------------------------------------ per-file work

_WORKER: dict = {}


def _init_worker(options: dict, cascade_path: str | None, in_pool: bool = False) -> None:
    if in_pool:
        # Ctrl-C reaches the whole process group: the parent stops the pool and explains;
        # workers ignoring it avoids one traceback per worker.
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.clear()
    _WORKER["options"] = options
    if cascade_path:
        from .faces import AnimeFaceDetector

        _WORKER["detector"] = AnimeFaceDetector(cascade_path)


def _encode(image: Image.Image, image_format: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if image_format == "png":
        image.save(buffer, format="PNG", compress_level=6)
    else:
        image.save(buffer, format="JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return buffer.getvalue()


def _resize(image: Image.Image, resolution: int) -> Image.Image:
    if image.size == (resolution, resolution):
        return image
    return image.resize((resolution, resolution), Image.LANCZOS, reducing_gap=3.0)


def process_source(job: tuple[str, str, dict]) -> dict:
    """Prepare one source file; returns its journal record. Runs in worker processes."""
    src, dst, item = job
    options = _WORKER["options"]
    record = {
        "source": item["rel"],
        "label": item["label"],
        "size": item["size"],
        "mtime_ns": item["mtime_ns"],
        "fingerprint": json.dumps(options, sort_keys=True),
        "outputs": [],
    }
    path = Path(src) / item["rel"]
    max_aspect = options["max_aspect"]
    try:
        image, info = load_image(
            path,
            channels=options["channels"],
            background=tuple(options["background"]),
            min_size=options["min_size"],
            max_aspect=max_aspect if max_aspect else None,
            with_info=True,
        )
        record["sha256"] = file_sha256(path)
    except ImageRejected as error:
        record.update(status="rejected", reason=error.reason, detail=error.detail)
        return record
    except (OSError, MemoryError) as error:
        record.update(status="rejected", reason="unreadable", detail=str(error))
        return record
    width, height = image.size
    record.update(
        width=width,
        height=height,
        original_mode=info.original_mode,
        original_size=list(info.original_size),
        format=info.format,
        phash=f"{perceptual_hash(image):016x}",
    )
    resolution = options["resolution"]
    crops: list[tuple[tuple[int, int, int, int], Image.Image, int | None]] = []
    if options["crop"] == "center":
        box = square_box(width, height)
        crops.append((box, fit_square(image, resolution, "center"), None))
    elif options["crop"] == "pad":
        side = max(width, height)
        left, top = -((side - width) // 2), -((side - height) // 2)
        box = (left, top, left + side, top + side)
        crops.append((box, fit_square(image, resolution, "pad", tuple(options["background"])), None))
    else:
        from .faces import face_crop_box

        faces = _WORKER["detector"].detect(image)
        record["faces"] = [list(face) for face in faces]
        if not faces:
            record.update(status="rejected", reason="no-face", detail="the cascade found no anime face")
            return record
        for index, face in enumerate(faces):
            box = face_crop_box(face, image.size, options["face_margin"])
            if box[2] - box[0] < options["min_size"]:
                continue
            crops.append((box, _resize(image.crop(box), resolution), index))
        if not crops:
            record.update(
                status="rejected",
                reason="face-too-small",
                detail=f"every face crop is below the minimum side of {options['min_size']} px",
            )
            return record
    extension = ".png" if options["image_format"] == "png" else ".jpg"
    for box, output, face_index in crops:
        stem = item["output_stem"] + (f"-face{face_index}" if face_index is not None else "")
        rel_out = stem + extension
        target = Path(dst) / rel_out
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, _encode(output, options["image_format"], options["jpeg_quality"]))
        record["outputs"].append({"path": rel_out, "box": [int(v) for v in box], "face": face_index})
    record["status"] = "ok"
    return record


# ---------------------------------------------------------------------------- orchestration


class _Journal:
    """Append-only JSON lines; a partial last line (killed mid-write) is ignored on reading."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def load(self) -> dict[str, dict]:
        records: dict[str, dict] = {}
        if not self.path.exists():
            return records
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "source" in record:
                    records[record["source"]] = record
        return records

    def append(self, record: dict) -> None:
        if self._handle is None:
            # A killed run may have left a partial last line: start ours on a fresh line.
            needs_newline = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as existing:
                    existing.seek(-1, os.SEEK_END)
                    needs_newline = existing.read(1) != b"\n"
            self._handle = open(self.path, "a", encoding="utf-8")
            if needs_newline:
                self._handle.write("\n")
        self._handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
        self._handle.flush()

    def rewrite(self, records: Iterable[dict]) -> None:
        self.close()
        write_text_atomic(self.path, _jsonl(records))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _run_jobs(
    jobs: list[tuple[str, str, dict]],
    options: PrepareOptions,
    cascade_path: str | None,
    progress: bool,
    description: str,
) -> Iterator[dict]:
    if not jobs:
        return
    from tqdm.auto import tqdm

    per_file = options.per_file()
    bar = tqdm(total=len(jobs), desc=description, unit="img", disable=not progress, dynamic_ncols=True)
    try:
        if options.workers <= 1 or len(jobs) == 1:
            _init_worker(per_file, cascade_path)
            for job in jobs:
                yield process_source(job)
                bar.update(1)
            return
        import multiprocessing

        # Not fork: the parent may hold TensorFlow threads (notebooks), which fork can deadlock.
        # forkserver imports this module once in a fresh server process and forks workers from
        # it, so N workers cost one package import (TensorFlow included) instead of N.
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
        else:
            context = multiprocessing.get_context("spawn")
        workers = min(options.workers, len(jobs))
        chunksize = max(1, min(8, len(jobs) // (workers * 8)))
        pool = context.Pool(workers, initializer=_init_worker, initargs=(per_file, cascade_path, True))
        try:
            for record in pool.imap_unordered(process_source, jobs, chunksize=chunksize):
                yield record
                bar.update(1)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    finally:
        bar.close()


def _check_folders(src: Path, dst: Path) -> None:
    if not src.exists():
        raise PrepareError(f"source folder {src} does not exist")
    if not src.is_dir():
        raise PrepareError(f"source {src} is not a folder")
    if dst.exists() and not dst.is_dir():
        raise PrepareError(f"destination {dst} exists and is not a folder")
    if dst == src or _is_inside(dst, src):
        raise PrepareError(f"destination {dst} is inside the source folder {src}; prepare never writes into SRC")
    if _is_inside(src, dst):
        raise PrepareError(f"source folder {src} is inside the destination {dst}; choose a separate DST")


def _clean_previous(dst: Path) -> None:
    """Remove everything a previous prepare run wrote to ``dst`` (``overwrite=True``)."""
    for child in dst.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _prepare_destination(dst: Path, options: PrepareOptions) -> Path:
    """Check that ``dst`` is new, empty or ours (made with the same per-file options, unless
    ``overwrite``, which empties it), and record the options there."""
    state_dir = dst / STATE_DIRNAME
    if dst.exists() and any(dst.iterdir()):
        if not (state_dir / STATE_NAME).is_file():
            raise PrepareError(
                f"destination {dst} is not empty and was not written by keras_gans.prepare; "
                "choose a new or empty folder"
            )
        previous = (_read_json(state_dir / STATE_NAME) or {}).get("per_file") or {}
        if options.overwrite:
            _clean_previous(dst)
        elif previous != options.per_file():
            changed = sorted(key for key, value in options.per_file().items() if previous.get(key) != value)
            raise PrepareError(
                f"destination {dst} was prepared with different options ({', '.join(changed)}); "
                "use --overwrite to redo it, or choose another DST"
            )
    state_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        state_dir / STATE_NAME,
        json.dumps({"version": JOURNAL_VERSION, "per_file": options.per_file()}, indent=2, sort_keys=True) + "\n",
    )
    return state_dir


def _remove_strays(dst: Path, expected: set[str]) -> int:
    """Delete leftover temporaries and image files that no current source produces, then
    empty folders. Only DST's image area is touched (not the state or TFRecord folders)."""
    removed = 0
    for child in list(dst.iterdir()):
        if child.name.startswith(".tfrecords") or (is_atomic_temporary(child.name) and child.is_file()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for root, dirs, files in os.walk(dst, topdown=False):
        root_path = Path(root)
        rel_root = root_path.relative_to(dst)
        if rel_root.parts and rel_root.parts[0] in (STATE_DIRNAME, "tfrecords"):
            for name in files:
                if is_atomic_temporary(name):
                    (root_path / name).unlink()
            continue
        for name in files:
            path = root_path / name
            if is_atomic_temporary(name):
                path.unlink()
            elif path.suffix.lower() in INPUT_EXTENSIONS and path.relative_to(dst).as_posix() not in expected:
                path.unlink()
                removed += 1
        if root_path != dst and not any(root_path.iterdir()):
            root_path.rmdir()
    return removed


def _summary_text(summary: PrepareSummary, dedupe: str | None) -> str:
    lines = [
        f"prepared {summary.src} -> {summary.dst}",
        f"  sources: {summary.sources}   kept: {summary.kept_sources}   images written: {summary.outputs}"
        + (f"   duplicates removed: {summary.duplicates}" if dedupe else ""),
    ]
    if summary.skipped:
        lines.append("  skipped: " + ", ".join(f"{reason} {count}" for reason, count in sorted(summary.skipped.items())))
    if summary.classes:
        width = max(len(name) for name in summary.per_class)
        lines.append(f"  {'class'.ljust(width)}  sources   kept  images  duplicates  skipped")
        for name, counts in summary.per_class.items():
            skipped = sum(counts["skipped"].values())
            lines.append(
                f"  {name.ljust(width)}  {counts['sources']:7d}  {counts['kept']:5d}  {counts['outputs']:6d}"
                f"  {counts['duplicates']:10d}  {skipped:7d}"
            )
    run = summary.last_run
    if run:
        lines.append(
            f"  this run: processed {run.get('processed', 0)}, resumed {run.get('resumed', 0)} "
            f"from the journal, {run.get('seconds', 0):.1f} s"
        )
    lines.append("  details: manifest.jsonl (kept), skipped.jsonl (skipped, with reasons), summary.json")
    return "\n".join(lines)


def prepare_dataset(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    options: PrepareOptions | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    on_record: Callable[[dict], None] | None = None,
) -> PrepareSummary:
    """Prepare ``src`` into ``dst``; see the module docstring. Raises :class:`PrepareError` for
    wrong folders or options. ``on_record`` is called after each source is journalled."""
    started = time.monotonic()
    options = options or PrepareOptions()
    options.validate()
    src = Path(src).expanduser().resolve()
    dst = Path(dst).expanduser().resolve()
    _check_folders(src, dst)

    cascade_path = None
    if options.crop == "anime-face":
        from .faces import FaceDetectionUnavailable, require_cv2, resolve_cascade

        try:
            require_cv2()
            cascade_path = str(resolve_cascade(options.cascade))
        except FaceDetectionUnavailable as error:
            raise PrepareError(str(error)) from None

    scan = scan_source(src, options.labels)
    if not scan.items:
        raise PrepareError(
            f"no images ({', '.join(e.lstrip('.') for e in INPUT_EXTENSIONS)}) found under {src}"
        )

    dst.mkdir(parents=True, exist_ok=True)
    state_dir = _prepare_destination(dst, options)
    journal = _Journal(state_dir / JOURNAL_NAME)
    fingerprint = options.fingerprint()
    previous = journal.load()
    items = {item.rel: item for item in scan.items}

    def is_current(item: SourceItem, record: dict | None) -> bool:
        return (
            record is not None
            and record.get("fingerprint") == fingerprint
            and record.get("size") == item.size
            and record.get("mtime_ns") == item.mtime_ns
            and record.get("label") == item.label
            and all(o["path"].startswith(item.output_stem) for o in record.get("outputs", []))
        )

    records = {rel: record for rel, record in previous.items() if rel in items and is_current(items[rel], record)}
    resumed = len(records)
    todo = [item for item in scan.items if item.rel not in records]

    def job(item: SourceItem) -> tuple[str, str, dict]:
        return (str(src), str(dst), {k: v for k, v in asdict(item).items() if k != "metadata"})

    processed = 0
    try:
        if log and resumed:
            log(f"resuming: {resumed} of {len(scan.items)} sources already done according to the journal")
        for record in _run_jobs([job(i) for i in todo], options, cascade_path, progress, "prepare"):
            journal.append(record)
            records[record["source"]] = record
            processed += 1
            if on_record is not None:
                on_record(record)

        # Deduplicate over every usable source, then make sure each kept one has its files.
        ok = {rel: r for rel, r in records.items() if r.get("status") == "ok"}
        duplicates: dict[str, str] = {}
        if options.dedupe:
            candidates = [
                Candidate(rel, r["sha256"], int(r["phash"], 16), int(r["width"]) * int(r["height"]))
                for rel, r in ok.items()
            ]
            duplicates = find_duplicates(candidates, options.dedupe, options.near_threshold)
        missing = [
            items[rel]
            for rel, r in sorted(ok.items())
            if rel not in duplicates and not all((dst / o["path"]).is_file() for o in r["outputs"])
        ]
        for record in _run_jobs([job(i) for i in missing], options, cascade_path, progress, "restore"):
            journal.append(record)
            records[record["source"]] = record
            processed += 1
    finally:
        journal.close()

    return _finalize(src, dst, options, scan, records, duplicates, journal, resumed, processed, started, log)


def _finalize(src, dst, options, scan, records, duplicates, journal, resumed, processed, started, log):
    items = {item.rel: item for item in scan.items}
    manifest: list[dict] = []
    skipped: list[dict] = []
    expected: set[str] = set()
    no_face: list[str] = []
    classes = scan.classes
    class_index = {name: index for index, name in enumerate(classes)}
    per_class: dict[str, dict] = {
        name: {"sources": 0, "kept": 0, "outputs": 0, "duplicates": 0, "skipped": Counter()}
        for name in (classes or ["(unlabelled)"])
    }
    reasons: Counter = Counter()

    def class_counts(label):
        return per_class[label if label is not None else "(unlabelled)"]

    for rel in sorted(records):
        record = records[rel]
        item = items[rel]
        counts = class_counts(item.label)
        counts["sources"] += 1
        if record.get("status") != "ok":
            reasons[record["reason"]] += 1
            counts["skipped"][record["reason"]] += 1
            skipped.append(
                {"source": rel, "label": item.label, "reason": record["reason"], "detail": record.get("detail", "")}
            )
            if record["reason"] == "no-face":
                no_face.append(rel)
            continue
        if rel in duplicates:
            reasons["duplicate"] += 1
            counts["duplicates"] += 1
            skipped.append(
                {
                    "source": rel,
                    "label": item.label,
                    "reason": "duplicate",
                    "detail": f"{options.dedupe} duplicate of {duplicates[rel]}",
                    "duplicate_of": duplicates[rel],
                    "sha256": record["sha256"],
                }
            )
            continue
        counts["kept"] += 1
        for output in record["outputs"]:
            counts["outputs"] += 1
            expected.add(output["path"])
            entry = {
                "path": output["path"],
                "source": rel,
                "sha256": record["sha256"],
                "bytes": record["size"],
                "original_size": [record["width"], record["height"]],
                "original_mode": record.get("original_mode"),
                "label": item.label,
                "class_index": class_index[item.label] if item.label is not None else -1,
                "crop": options.crop,
                "crop_box": output["box"],
                "resolution": options.resolution,
                "channels": options.channels,
            }
            if output.get("face") is not None:
                entry["face"] = output["face"]
            if item.metadata:
                entry["metadata"] = item.metadata
                for key in ("licence", "license", "source", "landing_url", "artist", "title"):
                    if key in item.metadata and key not in entry:
                        entry[key] = item.metadata[key]
            manifest.append(entry)
    for rel in scan.unsupported:
        reasons["unsupported-file"] += 1
        skipped.append({"source": rel, "label": None, "reason": "unsupported-file",
                        "detail": "not an image extension (" + ", ".join(INPUT_EXTENSIONS) + ")"})
    for rel in scan.outside_classes:
        reasons["outside-class-folder"] += 1
        skipped.append({"source": rel, "label": None, "reason": "outside-class-folder",
                        "detail": "directly in SRC while other images are in class folders; "
                                  "move it into a class folder or use --labels none"})
    skipped.sort(key=lambda entry: entry["source"])
    manifest.sort(key=lambda entry: entry["path"])

    _remove_strays(dst, expected)
    write_text_atomic(dst / "manifest.jsonl", _jsonl(manifest))
    write_text_atomic(dst / "skipped.jsonl", _jsonl(skipped))
    if options.crop == "anime-face":
        write_text_atomic(dst / "no-face.txt", "".join(rel + "\n" for rel in no_face))
    elif (dst / "no-face.txt").exists():
        (dst / "no-face.txt").unlink()
    journal.rewrite(records[rel] for rel in sorted(records))

    for counts in per_class.values():
        counts["skipped"] = dict(sorted(counts["skipped"].items()))
    summary = PrepareSummary(
        src=str(src),
        dst=str(dst),
        options=options.to_dict(),
        classes=classes,
        sources=len(scan.items) + len(scan.unsupported) + len(scan.outside_classes),
        kept_sources=sum(c["kept"] for c in per_class.values()),
        outputs=len(manifest),
        duplicates=len(duplicates),
        skipped=dict(sorted(reasons.items())),
        per_class=per_class,
        no_face=len(no_face),
    )
    tfrecord_dir = dst / "tfrecords"
    if options.format == "tfrecord":
        import hashlib

        from .tfrecords import find_tfrecords, read_tfrecord_metadata, write_tfrecords

        manifest_sha = hashlib.sha256(_jsonl(manifest).encode("utf-8")).hexdigest()
        extra = {"image_format": options.image_format, "manifest_sha256": manifest_sha,
                 "shard_size": options.shard_size}
        try:
            current = read_tfrecord_metadata(dst) if find_tfrecords(dst) else {}
        except (OSError, ValueError):
            current = {}
        if any(current.get(key) != value for key, value in extra.items()):
            if log:
                log(f"writing TFRecords for {len(manifest)} images to {tfrecord_dir}")
            write_tfrecords(dst, manifest, classes, options.resolution, options.channels,
                            options.shard_size, extra_metadata=extra)
    elif tfrecord_dir.exists():
        shutil.rmtree(tfrecord_dir)  # stale shards would shadow the folder in training
    summary.last_run = {
        "processed": processed,
        "resumed": resumed,
        "seconds": round(time.monotonic() - started, 3),
    }
    text = _summary_text(summary, options.dedupe)
    write_text_atomic(dst / "summary.json", json.dumps(summary.to_dict(), indent=2, sort_keys=True) + "\n")
    write_text_atomic(dst / "summary.txt", text + "\n")
    if log:
        log(text)
    return summary
