"""The Art Institute of Chicago API (https://api.artic.edu/docs/) with IIIF image URLs."""
from __future__ import annotations

from typing import Iterator

from .items import Candidate, SourceContext

KEY = "artic"
NAME = "Art Institute of Chicago API"
# Its API policy asks every client to name its operator's contact (see POLITENESS).
CONTACT_REQUIRED = True
API_BASE = "https://api.artic.edu/api/v1"
IMAGE_HOSTS = ("www.artic.edu",)
HOST_INTERVALS = {
    "api.artic.edu": 1.0,  # published: 60 requests per minute for anonymous clients
    "www.artic.edu": 1.0,  # IIIF image server: same pace
}
ETIQUETTE = (
    "Documented API: 60 requests per minute anonymously, one request at a time, an AIC-User-Agent "
    "header naming the application and a contact, only the fields needed; for bulk work AIC prefers "
    "its data dumps. IIIF images at 843 px wide (the size AIC caches), under www.artic.edu's robots.txt."
)
LICENCE_POLICY = "Search filtered on is_public_domain=true (CC0 images) unless --allow-nonfree."
QUERY_HELP = "full-text search, e.g. --query artic='portrait'"

# Genre -> full-text query; results are kept only when artwork_type_title is "Painting".
GENRE_MAP = {
    "portrait": "portrait",
    "still-life": "still life",
    "landscape": "landscape",
    "cityscape": "cityscape",
}
FIELDS = (
    "id,title,artist_title,artist_display,date_display,image_id,is_public_domain,"
    "artwork_type_title,thumbnail"
)
IIIF_SIZE = "843,"
# The search API refuses to page beyond 10,000 results.
MAX_RESULTS = 10_000


def candidates(ctx: SourceContext, genre: str, override: str | None = None) -> Iterator[Candidate]:
    headers = {"AIC-User-Agent": ctx.client.settings.user_agent}
    page = 1
    while page * ctx.page_size <= MAX_RESULTS:
        params = {"q": override or GENRE_MAP[genre], "fields": FIELDS, "limit": ctx.page_size, "page": page}
        if not ctx.allow_nonfree:
            params["query[term][is_public_domain]"] = "true"
        found = ctx.client.get_json(ctx.urls.api("/artworks/search"), params=params, headers=headers)
        iiif_base = (found.get("config") or {}).get("iiif_url") or "https://www.artic.edu/iiif/2"
        for artwork in found.get("data") or []:
            if not ctx.is_settled(artwork.get("id")):
                yield to_candidate(artwork, iiif_base)
        pagination = found.get("pagination") or {}
        if not found.get("data") or page >= int(pagination.get("total_pages") or 0):
            return
        page += 1


def to_candidate(artwork: dict, iiif_base: str) -> Candidate:
    public = artwork.get("is_public_domain") is True
    image_id = artwork.get("image_id")
    thumbnail = artwork.get("thumbnail") or {}
    size = (thumbnail.get("width"), thumbnail.get("height"))
    candidate = Candidate(
        source=KEY,
        item_id=str(artwork["id"]),
        image_url=f"{iiif_base.rstrip('/')}/{image_id}/full/{IIIF_SIZE}/0/default.jpg" if image_id else None,
        landing_url=f"https://www.artic.edu/artworks/{artwork['id']}",
        title=artwork.get("title"),
        artist=artwork.get("artist_title") or artwork.get("artist_display"),
        date=artwork.get("date_display"),
        licence="Public domain (CC0, Art Institute of Chicago)" if public else "Not public domain",
        public_domain=public,
        original_size=size if all(isinstance(v, int) for v in size) else None,
    )
    if artwork.get("artwork_type_title") not in (None, "Painting"):
        candidate.rejection = "not-a-painting"
    elif not image_id:
        candidate.rejection = "no-image"
    return candidate
