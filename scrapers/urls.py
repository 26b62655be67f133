"""Where each source lives, and ``--base-url SOURCE=URL`` redirection (for tests and mirrors).

An override replaces the scheme, host and path prefix of the source's API base. Image URLs on the
source's known image hosts are sent to the override's scheme and host with their path and query
kept; any other URL is fetched as given.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .errors import UserError


def parse_base_url(text: str) -> str:
    """Validate an override URL; raises UserError with a one-line reason."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"bad URL {text!r}: need http:// or https:// and a host")
    if parts.query or parts.fragment:
        raise UserError(f"bad URL {text!r}: a base URL takes no query or fragment")
    try:
        parts.port
    except ValueError:
        raise UserError(f"bad URL {text!r}: bad port") from None
    return text.strip().rstrip("/")


def _host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    # A pattern starting with "." matches every subdomain (WikiArt spreads images over uploadsN hosts).
    for pattern in patterns:
        if pattern.startswith(".") and (host.endswith(pattern) or host == pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


@dataclass(frozen=True)
class SourceUrls:
    api_base: str
    image_hosts: tuple[str, ...] = ()
    override: str | None = None

    @property
    def effective_api_base(self) -> str:
        return (self.override or self.api_base).rstrip("/")

    def api(self, path: str = "") -> str:
        return self.effective_api_base + path

    def image(self, url: str) -> str:
        """The URL to fetch for an image URL the source reported (protocol-relative URLs get https)."""
        if url.startswith("//"):
            url = "https:" + url
        if not self.override:
            return url
        parts = urlsplit(url)
        if not _host_matches((parts.hostname or "").lower(), self.image_hosts):
            return url
        target = urlsplit(self.override)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))

    def hosts(self) -> tuple[str, ...]:
        """Hosts this source will contact (for per-host rate limits), as host[:port] keys."""
        api_host = urlsplit(self.effective_api_base).netloc.lower()
        if self.override:
            return (api_host,)
        return (api_host, *(h for h in self.image_hosts if not h.startswith(".")))
