"""Safebooru (Gelbooru 0.2 "dapi") tag search, XML or JSON, for anime illustrations.

A broken search answers HTTP 200 with ``<response success="false" reason="..."/>``: that is an error
for the whole source, not an empty result.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Iterator

from .errors import FetchError, SourceError
from .items import Candidate, SourceContext

KEY = "safebooru"
NAME = "Safebooru"
API_BASE = "https://safebooru.org"
SITE = "https://safebooru.org"
IMAGE_HOSTS = ("safebooru.org",)
HOST_INTERVALS = {"safebooru.org": 1.0}  # no published limit: one request per second
ETIQUETTE = (
    "The dapi endpoint described on Safebooru's help page, one request per second, one at a time; "
    "images on safebooru.org fetched under its robots.txt (Crawl-delay honoured)."
)
LICENCE_POLICY = (
    "Fan art with no licence data: running the safebooru command is the opt-in. Each sidecar records "
    "licence 'unknown' with the post's tags and source link."
)
DEFAULT_LABEL = "anime"
DEFAULT_RATINGS = ("safe", "general")
RATING_NAMES = {"s": "safe", "g": "general", "q": "questionable", "e": "explicit"}
# The tag query is the genre mapping for this source; the command line gives it with --tags.
GENRE_MAP = {DEFAULT_LABEL: "(from --tags)"}
MAX_PAGES = 2000


def normalise_rating(value) -> str:
    text = str(value or "").strip().lower()
    return RATING_NAMES.get(text, text or "unknown")


def parse_posts(text: str, as_json: bool) -> list[dict]:
    """Post attribute dicts from a dapi reply; raises SourceError on an error reply."""
    if as_json:
        if not text.strip():
            return []
        try:
            data = json.loads(text)
        except ValueError:
            return _parse_xml(text)  # errors come back as XML even when JSON was asked for
        if data is None:
            return []
        if isinstance(data, dict):
            if str(data.get("success", "true")).lower() == "false":
                raise SourceError(f"safebooru: {data.get('reason') or data.get('message') or 'error reply'}")
            data = data.get("post") or []
        if not isinstance(data, list):
            raise FetchError("bad-json", "unexpected safebooru JSON shape")
        return [post for post in data if isinstance(post, dict)]
    return _parse_xml(text)


def _parse_xml(text: str) -> list[dict]:
    try:
        root = ElementTree.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ElementTree.ParseError as exc:
        raise FetchError("bad-xml", str(exc)) from None
    if root.tag == "response":
        if root.get("success", "").lower() == "false":
            raise SourceError(f"safebooru: {root.get('reason') or root.text or 'error reply'}")
        return []
    if root.tag != "posts":
        raise FetchError("bad-xml", f"unexpected root <{root.tag}>")
    return [dict(post.attrib) for post in root.iter("post")]


def candidates(
    ctx: SourceContext, tags: str, ratings=DEFAULT_RATINGS, as_json: bool = False
) -> Iterator[Candidate]:
    allowed = {normalise_rating(r) for r in ratings}
    for page in range(MAX_PAGES):
        params = {"page": "dapi", "s": "post", "q": "index", "tags": tags, "limit": ctx.page_size, "pid": page}
        if as_json:
            params["json"] = 1
        posts = parse_posts(ctx.client.get_text(ctx.urls.api("/index.php"), params=params), as_json)
        for post in posts:
            if post.get("id") not in (None, "") and not ctx.is_settled(post["id"]):
                yield to_candidate(post, allowed)
        if len(posts) < ctx.page_size:
            return


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _image_url_from_parts(post: dict) -> str | None:
    # Some JSON replies carry only directory + image name; the name goes into a URL, never a file name.
    if post.get("directory") not in (None, "") and post.get("image"):
        return f"{SITE}/images/{post['directory']}/{post['image']}"
    return None


def to_candidate(post: dict, allowed_ratings: set[str]) -> Candidate:
    rating = normalise_rating(post.get("rating"))
    width, height = _as_int(post.get("width")), _as_int(post.get("height"))
    candidate = Candidate(
        source=KEY,
        item_id=str(post["id"]),
        image_url=post.get("file_url") or _image_url_from_parts(post),
        landing_url=f"{SITE}/index.php?page=post&s=view&id={post['id']}",
        title=None,
        artist=None,
        date=post.get("created_at") or (str(post["change"]) if post.get("change") else None),
        licence="unknown (copyright of the original artists)",
        public_domain=None,
        original_size=(width, height) if width and height else None,
        extra={
            "tags": (post.get("tags") or "").strip(),
            "rating": rating,
            "md5": post.get("md5") or post.get("hash"),
            "post_source": post.get("source") or None,
        },
    )
    if rating not in allowed_ratings:
        candidate.rejection = f"rating-{rating}"
    return candidate
