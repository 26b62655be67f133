"""What the gallery knows about a run folder: its name, model, training length, metrics, classes
and dataset, read from the files training and evaluation leave there. Nothing is loaded that
could execute code: JSON only, and the generator through the safe-mode loader in ``painting``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from keras_gans.data.builtin import BUILTIN_PREFIX
from keras_gans.data.folders import scan_image_files
from keras_gans.io import read_class_names
from keras_gans.training.checkpoints import latest_checkpoint

# Run names become URL path segments and folder names in the site.
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


class GalleryError(ValueError):
    """A run or site the gallery cannot use, with what to do about it."""


def slug(text: str) -> str:
    """A lowercase name safe in a URL and a file name ("Claude Monet" -> "claude-monet")."""
    cleaned = _UNSAFE.sub("-", str(text).lower()).strip("-.")
    return cleaned or "untitled"


@dataclass
class RunInfo:
    name: str  # the slug used in URLs and the site's folders
    path: Path
    model: str
    config: dict
    data: str | None
    preset: str | None
    class_names: list[str]
    kimg: float | None
    steps: int | None
    metrics: list[dict] = field(default_factory=list)  # {"source", "kimg", "figures"}
    dataset: dict = field(default_factory=dict)  # {"images", "licences", "summary"}
    style_based: bool = False

    @property
    def conditional(self) -> bool:
        return bool(self.class_names)

    @property
    def resolution(self) -> int:
        return int(self.config.get("resolution", 0))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_run(path: str | Path, name: str | None = None) -> RunInfo:
    """A run folder's description; a clear :class:`GalleryError` when it is not a trained run."""

    path = Path(path)
    if not path.is_dir():
        raise GalleryError(f"run folder {path} does not exist; give a folder that `python -m keras_gans.train --out` wrote")
    saved = _read_json(path / "config.json")
    if not isinstance(saved, dict) or "model" not in saved or not isinstance(saved.get("config"), dict):
        raise GalleryError(f"{path} has no readable config.json, so it is not a keras_gans run folder")
    if not (path / "generator.keras").is_file() and latest_checkpoint(path / "checkpoints") is None:
        raise GalleryError(f"{path} has neither generator.keras nor a checkpoint; train it first")
    run_settings = saved.get("run") or {}
    try:
        classes = read_class_names(path)
    except ValueError as error:
        raise GalleryError(str(error)) from None
    kimg = steps = None
    checkpoint = latest_checkpoint(path / "checkpoints")
    if checkpoint is not None:
        meta = _read_json(checkpoint / "meta.json") or {}
        if "images_seen" in meta:
            kimg = meta["images_seen"] / 1000
        steps = meta.get("steps_done")
    return RunInfo(
        name=slug(name or path.resolve().name),
        path=path,
        model=str(saved["model"]),
        config=saved["config"],
        data=run_settings.get("data"),
        preset=run_settings.get("preset"),
        class_names=[str(c) for c in classes],
        kimg=kimg,
        steps=steps,
        metrics=_metrics(path),
        dataset=_dataset(run_settings.get("data"), path),
        style_based=saved["model"] == "stylegan",
    )


def _metrics(run: Path) -> list[dict]:
    """Every evaluation found in the run folder: the training-time history (its last entry) and
    any JSON that ``python -m keras_gans.evaluate --out`` wrote there. Each figure's name carries
    its feature extractor, e.g. ``FID(effnet-lite0)``."""
    found = []
    history = run / "metrics_history.jsonl"
    if history.is_file():
        lines = [line for line in history.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry.get("figures"), dict):
                found.append({"source": "during training (metrics_history.jsonl)", "kimg": entry.get("kimg"),
                              "figures": entry["figures"]})
                break
    for candidate in sorted(run.glob("*.json")):
        payload = _read_json(candidate)
        if isinstance(payload, dict) and isinstance(payload.get("figures"), dict) and payload["figures"]:
            found.append({"source": candidate.name, "kimg": payload.get("kimg"), "figures": payload["figures"]})
    return found


def _dataset(data: str | None, run: Path) -> dict:
    """The training set's size and licence notes: the images in the folder and the licences the
    scrapers recorded in a prepared folder's manifest.jsonl, or the built-in set's font licence."""

    if data is None or str(data).startswith(BUILTIN_PREFIX):
        name = str(data)[len(BUILTIN_PREFIX):] if data else "the default built-in set"
        return {
            "description": f"built-in {name}: emoji rendered from the Noto Color Emoji font",
            "licences": ["SIL Open Font License 1.1 (Noto Color Emoji)"],
        }
    folder = Path(data)
    if not folder.is_absolute() and not folder.is_dir():
        folder = run / folder
    info: dict = {"description": str(data), "licences": []}
    if not folder.is_dir():
        info["note"] = "the training folder is not on this machine"
        return info

    info["images"] = len(scan_image_files(folder)[0])
    manifest = folder / "manifest.jsonl"
    if manifest.is_file():
        licences = set()
        for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            licence = entry.get("licence") or entry.get("license")
            if licence:
                licences.add(str(licence))
        info["licences"] = sorted(licences)
    return info
