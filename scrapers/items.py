"""What a source hands to the collector, and what the collector hands to a source."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .http import PoliteClient
from .urls import SourceUrls


@dataclass
class Candidate:
    """One image a source proposes. ``rejection`` set means: record as skipped with that reason."""

    source: str
    item_id: str
    image_url: str | None
    landing_url: str | None = None
    title: str | None = None
    artist: str | None = None
    date: str | None = None
    licence: str | None = None
    # True: public domain / CC0. False: known to be restricted. None: unknown (needs --allow-nonfree).
    public_domain: bool | None = None
    original_size: tuple[int, int] | None = None
    rejection: str | None = None
    # Set when a detail request for this item failed for good: recorded as failed with this reason.
    failure: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class SourceContext:
    """Everything a source module needs, so that source modules hold no global state."""

    client: PoliteClient
    urls: SourceUrls
    allow_nonfree: bool
    min_side: int
    # True for ids already settled in the manifest: the source skips them before any detail request.
    is_settled: Callable[[str], bool]
    page_size: int = 100
