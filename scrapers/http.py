"""The one polite HTTP client every source goes through.

Politeness lives here so that no source can forget it: a descriptive User-Agent, robots.txt (with
Crawl-delay) for HTML pages and images, a minimum interval between requests to the same host, one
connection per host, timeouts on every request, and retries with exponential backoff and jitter on
connection errors, 5xx and 429 (honouring Retry-After). The client is deliberately single-threaded:
one request at a time overall is the simplest way to guarantee one at a time per host.
"""
from __future__ import annotations

import email.utils
import os
import random
import time
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Callable, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from . import __version__
from .errors import FetchError

T = TypeVar("T")

# The operator's contact (a URL or e-mail) goes into the User-Agent: from --contact or this variable.
# There is no made-up default: an agent naming a project page nobody reads is no contact at all.
CONTACT_ENV = "SCRAPERS_CONTACT"


def user_agent_for(contact: str | None) -> str:
    """The descriptive User-Agent, with the contact when there is one."""
    who = f"+{contact}; " if contact else ""
    return (f"keras_gans-scrapers/{__version__} ({who}dataset builder for GAN research) "
            f"python-requests/{requests.__version__}")


DEFAULT_USER_AGENT = user_agent_for(None)
MAX_REDIRECTS = 5
# Tests (and cautious users) can pin the client to a set of hosts so that nothing else is ever contacted.
ALLOWED_HOSTS_ENV = "SCRAPERS_ALLOWED_HOSTS"


@dataclass
class ClientSettings:
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # A server can drip bytes forever without tripping the read timeout; this bounds a whole download.
    download_timeout: float = 300.0
    retries: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 900.0
    default_interval: float = 1.0
    # --min-interval: replaces every per-host default (tests use 0).
    interval_override: float | None = None
    allowed_hosts: frozenset[str] | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def allowed_hosts_from_env(cls) -> frozenset[str] | None:
        value = os.environ.get(ALLOWED_HOSTS_ENV, "").strip()
        return frozenset(h.strip().lower() for h in value.split(",") if h.strip()) or None


class _Transient(Exception):
    """A failure worth retrying; ``wait`` is set when the server told us how long to wait."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass
class RobotsRules:
    parser: urllib.robotparser.RobotFileParser | None
    allow_all: bool = False
    unreachable: bool = False

    def allows(self, user_agent: str, url: str) -> bool:
        if self.unreachable:
            return False
        if self.allow_all or self.parser is None:
            return True
        return self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay else 0.0


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc or "").lower()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class PoliteClient:
    def __init__(
        self,
        settings: ClientSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings or ClientSettings()
        self._sleep = sleep
        self._clock = clock
        self._host_intervals: dict[str, float] = {}
        self._last_request_at: dict[str, float] = {}
        self._robots: dict[str, RobotsRules] = {}
        self.session = requests.Session()
        # pool_maxsize=1 + pool_block: never more than one open connection per host.
        adapter = HTTPAdapter(pool_connections=32, pool_maxsize=1, pool_block=True, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = self.settings.user_agent
        self.session.headers.update(self.settings.extra_headers)

    def close(self) -> None:
        self.session.close()

    def pause(self, seconds: float) -> None:
        """Wait as a server asked (e.g. MediaWiki maxlag), through the injectable sleep."""
        self._sleep(min(seconds, self.settings.max_retry_after))

    # ----- rate limiting -------------------------------------------------------------------------
    def set_host_interval(self, host: str, seconds: float) -> None:
        """Minimum seconds between two requests to ``host``; the strictest of several settings wins."""
        host = host.lower()
        self._host_intervals[host] = max(seconds, self._host_intervals.get(host, 0.0))

    def interval_for(self, host: str) -> float:
        if self.settings.interval_override is not None:
            return self.settings.interval_override
        return self._host_intervals.get(host, self.settings.default_interval)

    def _wait_turn(self, host: str, crawl_delay: float) -> None:
        interval = max(self.interval_for(host), crawl_delay)
        last = self._last_request_at.get(host)
        if last is not None:
            remaining = last + interval - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        self._last_request_at[host] = self._clock()

    # ----- robots.txt ----------------------------------------------------------------------------
    def robots_for(self, url: str) -> RobotsRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in self._robots:
            self._robots[origin] = self._fetch_robots(origin)
        return self._robots[origin]

    def _fetch_robots(self, origin: str) -> RobotsRules:
        # RFC 9309: a 4xx robots.txt means no rules; an unreachable one (5xx, network) means disallow all.
        try:
            text = self.call(origin + "/robots.txt", lambda r: r.text, robots=False)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return RobotsRules(parser=None, allow_all=True)
            return RobotsRules(parser=None, unreachable=True)
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        parser.parse(text.splitlines())
        return RobotsRules(parser=parser)

    # ----- requests ------------------------------------------------------------------------------
    def _check_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad-url", url)
        allowed = self.settings.allowed_hosts
        if allowed is not None and parts.hostname.lower() not in allowed:
            raise FetchError("host-not-allowed", parts.hostname)

    def _send(self, url, params, headers, robots: bool, stream: bool) -> requests.Response:
        for _ in range(MAX_REDIRECTS + 1):
            self._check_allowed(url)
            crawl_delay = 0.0
            if robots:
                rules = self.robots_for(url)
                if rules.unreachable:
                    raise FetchError("robots-unreachable", url)
                if not rules.allows(self.settings.user_agent, url):
                    raise FetchError("robots-disallowed", url)
                crawl_delay = rules.crawl_delay(self.settings.user_agent)
            self._wait_turn(host_key(url), crawl_delay)
            response = self.session.get(
                url,
                params=params,
                headers=headers,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                stream=stream,
                allow_redirects=False,
            )
            if not response.is_redirect:
                return response
            # Followed by hand so that every hop gets its own robots check and rate limit.
            url = urljoin(response.url, response.headers["Location"])
            params = None
            response.close()
        raise FetchError("too-many-redirects", url)

    def call(
        self,
        url: str,
        consume: Callable[[requests.Response], T],
        *,
        params: dict | None = None,
        headers: dict | None = None,
        robots: bool = False,
        stream: bool = False,
    ) -> T:
        """Send a GET and hand the response to ``consume``, retrying transient failures.

        ``robots`` is True for HTML pages and images and False for documented APIs, which are used
        under their own published etiquette instead. Raises FetchError when it gives up.
        """
        failures = 0
        while True:
            try:
                response = self._send(url, params, headers, robots, stream)
                with response:
                    status = response.status_code
                    if status == 429:
                        raise _Transient("http-429", parse_retry_after(response.headers.get("Retry-After")))
                    if status >= 500:
                        raise _Transient(f"http-{status}", parse_retry_after(response.headers.get("Retry-After")))
                    if status >= 400:
                        raise FetchError(f"http-{status}", url, status=status)
                    return consume(response)
            except _Transient as exc:
                failure = exc
            except requests.exceptions.Timeout:
                failure = _Transient("timeout")
            except requests.exceptions.ChunkedEncodingError:
                failure = _Transient("incomplete-body")
            except requests.exceptions.ConnectionError as exc:
                # A read timeout in the middle of a streamed body arrives as a ConnectionError.
                failure = _Transient("timeout" if "timed out" in str(exc).lower() else "connection-error")
            except requests.exceptions.InvalidURL as exc:
                raise FetchError("bad-url", str(exc)) from None
            failures += 1
            if failures > self.settings.retries:
                status = int(failure.reason[5:]) if failure.reason.startswith("http-") else None
                raise FetchError(failure.reason, f"{url} (gave up after {failures} attempts)", status=status)
            self._sleep(self._retry_delay(failures, failure))

    def _retry_delay(self, failures: int, failure: _Transient) -> float:
        if failure.wait is not None:
            if failure.wait > self.settings.max_retry_after:
                raise FetchError("rate-limited", f"server asked to wait {failure.wait:.0f} s")
            return failure.wait
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (failures - 1))
        # "Equal jitter": always wait at least half the ceiling, spread the rest so clients desynchronise.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def get_json(self, url: str, *, params=None, headers=None, robots: bool = False):
        def decode(response: requests.Response):
            try:
                return response.json()
            except ValueError:
                raise FetchError("bad-json", url) from None

        return self.call(url, decode, params=params, headers=headers, robots=robots)

    def get_text(self, url: str, *, params=None, headers=None, robots: bool = False) -> str:
        return self.call(url, lambda r: r.text, params=params, headers=headers, robots=robots)
