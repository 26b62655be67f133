"""Wikimedia Commons: category members with image info and licence metadata (MediaWiki Action API).

Categories are walked breadth-first into subcategories up to a configurable depth; files are looked
up 50 titles per request. The API is used under Wikimedia's API etiquette rather than robots.txt
(which disallows /w/ for crawlers): descriptive User-Agent, serial requests, maxlag=5.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

from bs4 import BeautifulSoup

from .errors import FetchError, SourceError
from .items import Candidate, SourceContext

KEY = "commons"
NAME = "Wikimedia Commons"
# Its API policy asks every client to name its operator's contact (see POLITENESS).
CONTACT_REQUIRED = True
API_BASE = "https://commons.wikimedia.org/w"
API_PATH = "/api.php"
IMAGE_HOSTS = ("upload.wikimedia.org",)
HOST_INTERVALS = {
    "commons.wikimedia.org": 0.5,  # etiquette asks for serial requests; no fixed rate
    "upload.wikimedia.org": 1.0,  # media downloads: keep it gentle
}
ETIQUETTE = (
    "MediaWiki Action API etiquette: a descriptive User-Agent with contact (generic ones are blocked), "
    "one request at a time, maxlag=5 (and wait when the servers report lag), batched lookups "
    "(50 titles per imageinfo request). Media from upload.wikimedia.org under its robots.txt."
)
LICENCE_POLICY = (
    "Kept when the file's licence is public domain or CC0 (extmetadata License pd*/cc0 or "
    "Copyrighted=False); other licences (CC BY-SA, ...) only with --allow-nonfree, recorded in the sidecar."
)
QUERY_HELP = "categories to walk: --category 'Category:Portrait paintings' (repeatable)"

# Genre -> root categories; subcategories are followed to --commons-depth (default 1).
GENRE_MAP = {
    "portrait": ["Category:Portrait paintings"],
    "still-life": ["Category:Still life paintings", "Category:Flower paintings"],
    "landscape": ["Category:Landscape paintings"],
    "cityscape": ["Category:Cityscape paintings"],
}
DEFAULT_DEPTH = 1
TITLES_PER_LOOKUP = 50
THUMB_WIDTH = 1024
MAXLAG_SECONDS = 5
MAXLAG_ATTEMPTS = 5
RASTER_MIME_TYPES = ("image/jpeg", "image/png", "image/tiff", "image/webp", "image/gif")
FILE_NAMESPACE, CATEGORY_NAMESPACE = 6, 14


def api_query(ctx: SourceContext, params: dict) -> dict:
    params = {"action": "query", "format": "json", "maxlag": MAXLAG_SECONDS, **params}
    for _ in range(MAXLAG_ATTEMPTS):
        reply, retry_after = ctx.client.call(
            ctx.urls.api(API_PATH), lambda r: (_json(r), r.headers.get("Retry-After")), params=params
        )
        error = reply.get("error") if isinstance(reply, dict) else None
        if not error:
            return reply
        if error.get("code") != "maxlag":
            raise SourceError(f"commons API error {error.get('code')}: {error.get('info')}")
        ctx.client.pause(float(retry_after) if (retry_after or "").isdigit() else MAXLAG_SECONDS)
    raise SourceError("commons: servers stayed lagged; try later")


def _json(response):
    try:
        return response.json()
    except ValueError:
        raise FetchError("bad-json", response.url) from None


def category_members(ctx: SourceContext, category: str) -> Iterator[dict]:
    continuation: dict = {}
    while True:
        reply = api_query(
            ctx,
            {"list": "categorymembers", "cmtitle": category, "cmtype": "file|subcat", "cmlimit": 500, **continuation},
        )
        yield from (reply.get("query") or {}).get("categorymembers") or []
        if "continue" not in reply:
            return
        continuation = reply["continue"]


def candidates(ctx: SourceContext, genre: str, override=None, depth: int = DEFAULT_DEPTH) -> Iterator[Candidate]:
    roots = list(override) if override else GENRE_MAP[genre]
    queue = deque((root, 0) for root in roots)
    visited = set(roots)
    while queue:
        category, level = queue.popleft()
        pending: list[dict] = []
        for member in category_members(ctx, category):
            if member.get("ns") == CATEGORY_NAMESPACE:
                if level < depth and member["title"] not in visited:
                    visited.add(member["title"])
                    queue.append((member["title"], level + 1))
            elif member.get("ns") == FILE_NAMESPACE and not ctx.is_settled(member.get("pageid")):
                pending.append(member)
                if len(pending) == TITLES_PER_LOOKUP:
                    yield from lookup(ctx, pending)
                    pending = []
        if pending:
            yield from lookup(ctx, pending)


def lookup(ctx: SourceContext, members: list[dict]) -> Iterator[Candidate]:
    reply = api_query(
        ctx,
        {
            "titles": "|".join(m["title"] for m in members),
            "prop": "imageinfo",
            "iiprop": "url|size|mime|extmetadata",
            "iiurlwidth": THUMB_WIDTH,
        },
    )
    pages = (reply.get("query") or {}).get("pages") or {}
    by_title = {page.get("title"): page for page in pages.values()}
    for member in members:
        page = by_title.get(member["title"]) or {}
        info = (page.get("imageinfo") or [None])[0]
        if not info:
            yield Candidate(KEY, str(member["pageid"]), None, rejection="no-image-info")
            continue
        yield to_candidate(member["pageid"], member["title"], info)


def plain_text(html: str | None) -> str | None:
    """extmetadata values are HTML fragments (links, <bdi>); keep the readable text only."""
    if not html:
        return None
    text = BeautifulSoup(html, "html.parser").get_text(" ", strip=True)
    return text or None


def is_public_domain(meta: dict) -> bool:
    code = (meta.get("License") or "").lower()
    copyrighted = (meta.get("Copyrighted") or "").lower()
    return code.startswith("pd") or code.startswith("cc0") or copyrighted == "false"


def to_candidate(pageid, title: str, info: dict) -> Candidate:
    meta = {name: (entry or {}).get("value") for name, entry in (info.get("extmetadata") or {}).items()}
    public = is_public_domain(meta)
    width, height = info.get("width"), info.get("height")
    name = title.split(":", 1)[-1].rsplit(".", 1)[0]
    candidate = Candidate(
        source=KEY,
        item_id=str(pageid),
        image_url=info.get("thumburl") or info.get("url"),
        landing_url=info.get("descriptionurl"),
        title=plain_text(meta.get("ObjectName")) or name,
        artist=plain_text(meta.get("Artist")),
        date=plain_text(meta.get("DateTimeOriginal")),
        licence=plain_text(meta.get("LicenseShortName")) or meta.get("License") or "unknown",
        public_domain=public,
        original_size=(width, height) if width and height else None,
        extra={"licence_url": meta.get("LicenseUrl"), "mime": info.get("mime")},
    )
    if info.get("mime") not in RASTER_MIME_TYPES:
        candidate.rejection = "not-a-raster-image"
    return candidate
