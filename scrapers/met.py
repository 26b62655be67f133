"""The Metropolitan Museum of Art Collection API (https://metmuseum.github.io/).

Search returns every matching object id in one response; each object then needs its own request.
"""
from __future__ import annotations

from typing import Iterator

from .errors import FetchError
from .items import Candidate, SourceContext

KEY = "met"
NAME = "The Metropolitan Museum of Art Collection API"
API_BASE = "https://collectionapi.metmuseum.org/public/collection/v1"
IMAGE_HOSTS = ("images.metmuseum.org",)
HOST_INTERVALS = {
    "collectionapi.metmuseum.org": 1 / 80,  # published: "limit request rate to 80 requests per second"
    "images.metmuseum.org": 1.0,  # no published figure for the image host: one per second
}
ETIQUETTE = (
    "Documented API, no key; the Met asks clients to stay under 80 requests per second. "
    "Images come from images.metmuseum.org under its robots.txt."
)
LICENCE_POLICY = (
    "Kept when isPublicDomain is true (Met Open Access, CC0); others only with --allow-nonfree, "
    "and the Met publishes no image for most of those anyway."
)
QUERY_HELP = "subject keyword tag searched with tags=true, e.g. --query met=Portraits"

# Genre -> subject keyword tag. Searched with tags=true (subject tags only), medium=Paintings and
# hasImages=true; each object must then also be classified "Paintings" when that field is present.
GENRE_MAP = {
    "portrait": "Portraits",
    "still-life": "Still Life",
    "landscape": "Landscapes",
    "cityscape": "Cities",
}


def search_params(term: str) -> dict:
    return {"q": term, "tags": "true", "medium": "Paintings", "hasImages": "true"}


def candidates(ctx: SourceContext, genre: str, override: str | None = None) -> Iterator[Candidate]:
    found = ctx.client.get_json(ctx.urls.api("/search"), params=search_params(override or GENRE_MAP[genre]))
    for object_id in found.get("objectIDs") or []:
        if ctx.is_settled(object_id):
            continue
        try:
            record = ctx.client.get_json(ctx.urls.api(f"/objects/{object_id}"))
        except FetchError as exc:
            yield Candidate(KEY, str(object_id), None, failure=exc.reason)
            continue
        yield to_candidate(record, object_id)


def to_candidate(record: dict, object_id) -> Candidate:
    public = record.get("isPublicDomain") is True
    image = record.get("primaryImageSmall") or record.get("primaryImage") or None
    candidate = Candidate(
        source=KEY,
        item_id=str(record.get("objectID") or object_id),
        # web-large renditions (about 1000 px) are plenty for GAN training and far lighter on the Met.
        image_url=image,
        landing_url=record.get("objectURL"),
        title=record.get("title") or None,
        artist=record.get("artistDisplayName") or None,
        date=record.get("objectDate") or None,
        licence="Public domain (Met Open Access, CC0)" if public else "Not public domain (rights reserved)",
        public_domain=public,
    )
    classification = record.get("classification")
    if classification and "painting" not in classification.lower():
        candidate.rejection = "not-a-painting"
    elif public and not image:
        candidate.rejection = "no-image"
    return candidate
