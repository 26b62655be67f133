"""WikiArt genre listings (opt-in only).

WikiArt has no documented public API: ``/en/paintings-by-genre/<genre>?json=2&page=N`` is the JSON
its own pages load. It is treated as a web page, so robots.txt (and any Crawl-delay) governs the
listings as well as the images, and it is slowed to one request every two seconds. It carries
copyrighted works without licence data, so it is used only when named with --source and only
together with --allow-nonfree.
"""
from __future__ import annotations

from typing import Iterator

from .items import Candidate, SourceContext

KEY = "wikiart"
NAME = "WikiArt (unofficial listing endpoint)"
API_BASE = "https://www.wikiart.org/en"
SITE = "https://www.wikiart.org"
# Images are spread over uploadsN / use2-uploadsN hosts: match every subdomain.
IMAGE_HOSTS = (".wikiart.org",)
HOST_INTERVALS = {"www.wikiart.org": 2.0}
ETIQUETTE = (
    "Unofficial endpoint: treated like a website, robots.txt and Crawl-delay honoured for listings "
    "and images, one request every 2 s. Opt-in: must be named in --source."
)
LICENCE_POLICY = (
    "No licence data; many works are in copyright. Requires --allow-nonfree; the licence recorded "
    "is 'unknown' and checking each work is up to the user."
)
QUERY_HELP = "comma-separated WikiArt genre slugs, e.g. --query wikiart=flower-painting"

# Genre -> WikiArt genre slugs (the part after /paintings-by-genre/).
GENRE_MAP = {
    "portrait": ["portrait"],
    "still-life": ["still-life", "flower-painting"],
    "landscape": ["landscape"],
    "cityscape": ["cityscape"],
}
MAX_PAGES = 2000


def candidates(ctx: SourceContext, genre: str, override: str | None = None) -> Iterator[Candidate]:
    slugs = [s.strip() for s in override.split(",") if s.strip()] if override else GENRE_MAP[genre]
    for slug in slugs:
        yield from _genre_listing(ctx, slug)


def _genre_listing(ctx: SourceContext, slug: str) -> Iterator[Candidate]:
    seen = 0
    for page in range(1, MAX_PAGES + 1):
        found = ctx.client.get_json(
            ctx.urls.api(f"/paintings-by-genre/{slug}"), params={"json": 2, "page": page}, robots=True
        )
        paintings = found.get("Paintings") or []
        for painting in paintings:
            if painting.get("id") and not ctx.is_settled(painting["id"]):
                yield to_candidate(painting)
        seen += len(paintings)
        if not paintings or seen >= int(found.get("AllPaintingsCount") or 0):
            return


def to_candidate(painting: dict) -> Candidate:
    width, height = painting.get("width"), painting.get("height")
    path = painting.get("paintingUrl") or ""
    return Candidate(
        source=KEY,
        item_id=str(painting["id"]),
        image_url=painting.get("image"),
        landing_url=SITE + path if path.startswith("/") else None,
        title=painting.get("title"),
        artist=painting.get("artistName"),
        date=painting.get("year"),
        licence="unknown (WikiArt gives no licence; may be in copyright)",
        public_domain=None,
        original_size=(width, height) if isinstance(width, int) and isinstance(height, int) else None,
    )
