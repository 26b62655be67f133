"""The Cleveland Museum of Art Open Access API (https://openaccess-api.clevelandart.org/)."""
from __future__ import annotations

from typing import Iterator

from .items import Candidate, SourceContext

KEY = "cleveland"
NAME = "Cleveland Museum of Art Open Access API"
API_BASE = "https://openaccess-api.clevelandart.org/api"
IMAGE_HOSTS = ("openaccess-cdn.clevelandart.org",)
HOST_INTERVALS = {
    "openaccess-api.clevelandart.org": 1.0,  # no published limit: one request per second
    "openaccess-cdn.clevelandart.org": 1.0,
}
ETIQUETTE = (
    "Documented open-access API with no key and no published rate limit, so one request per second "
    "and one at a time. Images come from openaccess-cdn.clevelandart.org under its robots.txt."
)
LICENCE_POLICY = (
    "Kept only when share_license_status is CC0, whatever the query and even with --allow-nonfree."
)
QUERY_HELP = "full-text search within type=Painting, e.g. --query cleveland='portrait'"

# Genre -> full-text query, sent with type=Painting, has_image=1 and cc0=1.
GENRE_MAP = {
    "portrait": "portrait",
    "still-life": "still life",
    "landscape": "landscape",
    "cityscape": "cityscape",
}
# "web" renditions are about 1,000-1,300 px on the long side; "print" ones are 3,400 px and ~5 MB.
RENDITION_PREFERENCE = ("web", "print")


def candidates(ctx: SourceContext, genre: str, override: str | None = None) -> Iterator[Candidate]:
    skip = 0
    while True:
        params = {
            "q": override or GENRE_MAP[genre],
            "type": "Painting",
            "has_image": 1,
            "cc0": 1,
            "limit": ctx.page_size,
            "skip": skip,
        }
        found = ctx.client.get_json(ctx.urls.api("/artworks/"), params=params)
        artworks = found.get("data") or []
        for artwork in artworks:
            if not ctx.is_settled(artwork.get("id")):
                yield to_candidate(artwork)
        skip += len(artworks)
        total = int((found.get("info") or {}).get("total") or 0)
        if not artworks or skip >= total:
            return


def _as_int(value) -> int | None:
    try:
        return int(value)  # the API sends sizes as strings
    except (TypeError, ValueError):
        return None


def to_candidate(artwork: dict) -> Candidate:
    images = artwork.get("images") or {}
    rendition = next((images[name] for name in RENDITION_PREFERENCE if images.get(name)), None) or {}
    full = images.get("full") or rendition
    width, height = _as_int(full.get("width")), _as_int(full.get("height"))
    creators = artwork.get("creators") or []
    licence_status = artwork.get("share_license_status")
    candidate = Candidate(
        source=KEY,
        item_id=str(artwork["id"]),
        image_url=rendition.get("url"),
        landing_url=artwork.get("url"),
        title=artwork.get("title"),
        artist=(creators[0].get("description") if creators else None),
        date=artwork.get("creation_date"),
        licence=licence_status or "unknown",
        public_domain=licence_status == "CC0",
        original_size=(width, height) if width and height else None,
    )
    if licence_status != "CC0":
        candidate.rejection = "not-cc0"
    elif not candidate.image_url:
        candidate.rejection = "no-image"
    return candidate
