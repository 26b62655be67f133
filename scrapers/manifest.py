"""The resumable record of a collection: ``<out>/manifest.jsonl``, one JSON object per line.

Each line is written with flush + fsync, so after a kill at most the last line is torn; loading
drops such a line (and cuts it from the file, so the next append starts on a clean line).
A later line for the same key supersedes an earlier one (a failed item that succeeds on a rerun).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from .errors import UserError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
DONE, SKIPPED, FAILED = "done", "skipped", "failed"
STATUSES = (DONE, SKIPPED, FAILED)


class Manifest:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict] = {}
        self._owner_by_sha: dict[str, str] = {}
        self._done_by_genre: Counter = Counter()
        self._file = open(self.path, "a", encoding="utf-8")
        try:
            # Two runs appending to one manifest would interleave and double-download; refuse the second.
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise UserError(f"another scrapers run is using {self.path}") from None
        self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        good_end = 0
        position = 0
        for raw_line in data.splitlines(keepends=True):
            position += len(raw_line)
            complete = raw_line.endswith(b"\n")
            try:
                record = json.loads(raw_line)
                if not isinstance(record, dict) or "key" not in record:
                    raise ValueError("not a manifest record")
            except ValueError:
                if complete and position < len(data):
                    log.warning("manifest: ignoring an unreadable line at byte %d", position - len(raw_line))
                    good_end = position
                continue
            if not complete:
                # A kill between write and newline: the record may be cut anywhere, so drop it.
                continue
            self._remember(record)
            good_end = position
        if good_end < len(data):
            log.warning("manifest: dropping a torn last line (%d bytes)", len(data) - good_end)
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                handle.flush()
                os.fsync(handle.fileno())

    def _remember(self, record: dict) -> None:
        key = record["key"]
        previous = self.records.get(key)
        if previous and previous.get("status") == DONE:
            self._done_by_genre[previous.get("genre")] -= 1
            if self._owner_by_sha.get(previous.get("sha256")) == key:
                del self._owner_by_sha[previous["sha256"]]
        self.records[key] = record
        if record.get("status") == DONE:
            self._done_by_genre[record.get("genre")] += 1
            if record.get("sha256"):
                self._owner_by_sha.setdefault(record["sha256"], key)

    def append(self, **fields) -> dict:
        if fields.get("status") not in STATUSES:
            raise ValueError(f"bad manifest status {fields.get('status')!r}")
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields}
        self._file.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._remember(record)
        return record

    def status(self, key: str) -> str | None:
        record = self.records.get(key)
        return record.get("status") if record else None

    def owner_of(self, sha256: str) -> str | None:
        """Key of the kept item whose content has this hash (cross-source dedupe)."""
        return self._owner_by_sha.get(sha256)

    def done_count(self, genre: str) -> int:
        return self._done_by_genre[genre]

    def counts(self) -> Counter:
        return Counter(r.get("status") for r in self.records.values())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
