"""Turn candidates from several sources into validated files, sidecars and manifest lines.

Sources of one genre are interleaved one candidate at a time, so that ``--limit`` (per genre, over
all sources) draws from every source rather than exhausting the first.
"""
from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from .download import PARTIAL_PREFIX, Downloaded, ImageLimits, download_image, sniff_format
from .errors import FetchError, SourceError
from .http import PoliteClient
from .items import Candidate
from .manifest import DONE, FAILED, SKIPPED, Manifest
from .naming import item_key
from .urls import SourceUrls

log = logging.getLogger("scrapers")

# Failures that are a policy decision rather than an error: recorded as skipped.
POLICY_REASONS = frozenset({"robots-disallowed", "too-small"})
IMAGE_EXTENSIONS = ("jpg", "png", "webp", "gif", "tif")


@dataclass
class CollectOptions:
    out_dir: Path
    limit: int
    allow_nonfree: bool = False
    retry_failed: bool = False
    image_limits: ImageLimits = field(default_factory=ImageLimits)
    max_consecutive_failures: int = 10
    show_progress: bool = True


@dataclass
class SourceRun:
    """One source feeding one genre folder."""

    source: str
    candidates: Iterator[Candidate]
    urls: SourceUrls
    image_headers: dict | None = None
    failures_in_row: int = 0


@dataclass
class Summary:
    downloaded: int = 0
    recovered: int = 0
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    failed_sources: dict = field(default_factory=dict)
    in_manifest: dict = field(default_factory=dict)

    def lines(self, limit: int) -> list[str]:
        def breakdown(counter: Counter) -> str:
            return ", ".join(f"{reason} {count}" for reason, count in counter.most_common())

        first = f"summary: {self.downloaded} downloaded"
        if self.recovered:
            first += f", {self.recovered} recovered from disk"
        first += f"; skipped {sum(self.skipped.values())}"
        if self.skipped:
            first += f" ({breakdown(self.skipped)})"
        first += f"; failed {sum(self.failed.values())}"
        if self.failed:
            first += f" ({breakdown(self.failed)})"
        lines = [first]
        lines += [f"  {genre}: {count}/{limit} in the manifest" for genre, count in self.in_manifest.items()]
        lines += [f"  source skipped: {name} ({why})" for name, why in self.failed_sources.items()]
        return lines


def sweep_partials(folder: Path) -> int:
    """Remove temp files a killed run left behind (only ours: they carry PARTIAL_PREFIX)."""
    removed = 0
    if folder.is_dir():
        for leftover in folder.glob(PARTIAL_PREFIX + "*"):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


class Collector:
    def __init__(self, client: PoliteClient, manifest: Manifest, options: CollectOptions):
        self.client = client
        self.manifest = manifest
        self.options = options
        self.summary = Summary()

    def is_settled(self, source: str, raw_id) -> bool:
        status = self.manifest.status(item_key(source, raw_id))
        return status in (DONE, SKIPPED) or (status == FAILED and not self.options.retry_failed)

    # ----- the loop ------------------------------------------------------------------------------
    def collect_genre(self, genre: str, runs: list[SourceRun]) -> None:
        folder = self.options.out_dir / genre
        folder.mkdir(parents=True, exist_ok=True)
        if sweep_partials(folder):
            log.info("%s: removed partial downloads left by an interrupted run", genre)
        bars = {
            run.source: tqdm(
                desc=f"{genre} {run.source}", unit="img", position=i, leave=True,
                disable=not self.options.show_progress, dynamic_ncols=True,
            )
            for i, run in enumerate(runs)
        }
        active = list(runs)
        try:
            while active and self.manifest.done_count(genre) < self.options.limit:
                for run in list(active):
                    if self.manifest.done_count(genre) >= self.options.limit:
                        break
                    if not self._step(genre, folder, run, bars[run.source]):
                        active.remove(run)
        finally:
            for bar in bars.values():
                bar.close()
        self.summary.in_manifest[genre] = self.manifest.done_count(genre)

    def _step(self, genre: str, folder: Path, run: SourceRun, bar) -> bool:
        """Handle one candidate of ``run``; False when the source is finished or given up."""
        try:
            candidate = next(run.candidates)
        except StopIteration:
            return False
        except (SourceError, FetchError) as exc:
            self._give_up(run, str(exc))
            return False
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A reply whose shape changed must cost one source, not the whole run.
            self._give_up(run, f"unexpected reply ({type(exc).__name__}: {exc})")
            return False
        outcome = self.process(candidate, genre, folder, run)
        if outcome == DONE:
            bar.update(1)
            run.failures_in_row = 0
        elif outcome == FAILED:
            run.failures_in_row += 1
            if run.failures_in_row >= self.options.max_consecutive_failures:
                self._give_up(run, f"{run.failures_in_row} items in a row failed")
                return False
        return True

    def _give_up(self, run: SourceRun, why: str) -> None:
        self.summary.failed_sources[run.source] = why
        log.warning("source %s skipped: %s", run.source, why)

    # ----- one candidate -------------------------------------------------------------------------
    def process(self, candidate: Candidate, genre: str, folder: Path, run: SourceRun) -> str | None:
        key = item_key(candidate.source, candidate.item_id)
        if self.is_settled(candidate.source, candidate.item_id):
            return None
        base = {
            "key": key,
            "source": candidate.source,
            "id": str(candidate.item_id),
            "genre": genre,
            "url": candidate.image_url,
            "landing_url": candidate.landing_url,
        }
        if candidate.failure:
            return self._record(FAILED, candidate.failure, base)
        if candidate.rejection:
            return self._record(SKIPPED, candidate.rejection, base)
        if candidate.public_domain is not True and not self.options.allow_nonfree:
            return self._record(SKIPPED, "not-public-domain", base, detail=candidate.licence)
        if not candidate.image_url:
            return self._record(SKIPPED, "no-image", base)
        min_side = self.options.image_limits.min_side
        if candidate.original_size and min(candidate.original_size) < min_side:
            return self._record(SKIPPED, "too-small", base, detail="x".join(map(str, candidate.original_size)))
        if self._recover_from_disk(folder, key, base):
            return DONE
        try:
            downloaded = download_image(
                self.client, run.urls.image(candidate.image_url), folder,
                self.options.image_limits, headers=run.image_headers,
            )
        except FetchError as exc:
            status = SKIPPED if exc.reason in POLICY_REASONS else FAILED
            return self._record(status, exc.reason, base, detail=exc.detail)
        return self._keep(downloaded, candidate, folder, key, base)

    def _record(self, status: str, reason: str | None, base: dict, **fields) -> str:
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        self.manifest.append(status=status, reason=reason, **base, **fields)
        if status == SKIPPED:
            self.summary.skipped[reason] += 1
            log.debug("skipped %s: %s", base["key"], reason)
        elif status == FAILED:
            self.summary.failed[reason] += 1
            log.info("failed %s: %s %s", base["key"], reason, fields.get("detail", ""))
        return status

    def _keep(self, downloaded: Downloaded, candidate: Candidate, folder: Path, key: str, base: dict) -> str:
        owner = self.manifest.owner_of(downloaded.sha256)
        if owner:
            downloaded.temp_path.unlink(missing_ok=True)
            return self._record(SKIPPED, "duplicate", base, duplicate_of=owner, sha256=downloaded.sha256)
        image_path = folder / f"{key}.{downloaded.extension}"
        sidecar = sidecar_for(candidate, downloaded, image_path.name)
        try:
            # Sidecar first, image second, manifest last: a kill in between leaves either nothing
            # usable (redone next run) or a complete pair that the next run adopts without a download.
            write_json_atomically(folder / f"{key}.json", sidecar, folder)
            os.replace(downloaded.temp_path, image_path)
        except BaseException:
            downloaded.temp_path.unlink(missing_ok=True)
            raise
        self.summary.downloaded += 1
        self.manifest.append(
            status=DONE, reason=None, **base,
            file=f"{folder.name}/{image_path.name}", sidecar=f"{folder.name}/{key}.json",
            sha256=downloaded.sha256, width=downloaded.width, height=downloaded.height,
            bytes=downloaded.size_bytes,
        )
        return DONE

    def _recover_from_disk(self, folder: Path, key: str, base: dict) -> bool:
        """Adopt an image + sidecar pair written just before a kill, instead of downloading it again."""
        sidecar_path = folder / f"{key}.json"
        if not sidecar_path.exists():
            return False
        for extension in IMAGE_EXTENSIONS:
            image_path = folder / f"{key}.{extension}"
            if not image_path.exists():
                continue
            try:
                sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
                if sniff_format(image_path.read_bytes()[:12]) is None or sidecar.get("sha256") is None:
                    return False
            except (OSError, ValueError):
                return False
            self.summary.recovered += 1
            self.manifest.append(
                status=DONE, reason=None, **base,
                file=f"{folder.name}/{image_path.name}", sidecar=f"{folder.name}/{sidecar_path.name}",
                sha256=sidecar["sha256"], width=sidecar.get("width"), height=sidecar.get("height"),
                bytes=image_path.stat().st_size,
            )
            return True
        return False


def sidecar_for(candidate: Candidate, downloaded: Downloaded, file_name: str) -> dict:
    return {
        "source": candidate.source,
        "id": str(candidate.item_id),
        "landing_url": candidate.landing_url,
        "title": candidate.title,
        "artist": candidate.artist,
        "date": candidate.date,
        "licence": candidate.licence,
        "public_domain": candidate.public_domain,
        "original_size": list(candidate.original_size) if candidate.original_size else None,
        "image_url": candidate.image_url,
        "file": file_name,
        "width": downloaded.width,
        "height": downloaded.height,
        "bytes": downloaded.size_bytes,
        "sha256": downloaded.sha256,
        **({"extra": candidate.extra} if candidate.extra else {}),
    }


def write_json_atomically(path: Path, data: dict, folder: Path) -> None:
    temp_path = folder / f"{PARTIAL_PREFIX}{path.name}"
    with open(temp_path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp_path, path)
