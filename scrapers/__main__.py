"""``python -m scrapers paintings|safebooru ...``: thin argument parsing around the collector."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from . import __version__
from .collect import Collector, CollectOptions, SourceRun
from .download import ImageLimits
from .errors import UserError
from .http import CONTACT_ENV, ClientSettings, PoliteClient, user_agent_for
from .items import SourceContext
from .manifest import MANIFEST_NAME, Manifest
from .naming import is_valid_label
from .registry import DEFAULT_PAINTING_SOURCES, GENRES, OPT_IN_SOURCES, PAINTING_SOURCES, SOURCES
from .urls import SourceUrls, parse_base_url
from . import commons, safebooru

log = logging.getLogger("scrapers")
RATING_CHOICES = ("safe", "general", "sensitive", "questionable", "explicit")


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus message on errors; a single line is clearer in scripts and logs."""

    def error(self, message):
        raise UserError(f"{message} (see --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be positive: 0")
    return value


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=_positive_int, required=True,
                        help="images to collect per genre (label), over all sources, counting earlier runs")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    net = parser.add_argument_group("network and politeness")
    net.add_argument("--base-url", action="append", default=[], metavar="SOURCE=URL",
                     help="send SOURCE's API (and its known image hosts) to URL; repeatable")
    net.add_argument("--user-agent", help="full User-Agent; must contain a contact URL or e-mail")
    net.add_argument("--contact", help=f"your contact URL or e-mail for the User-Agent (default: ${CONTACT_ENV}); "
                                       "Wikimedia Commons and the Art Institute require one")
    net.add_argument("--min-interval", type=_non_negative_float, metavar="SECONDS",
                     help="seconds between requests to one host, replacing each source's published default")
    net.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                     help="connect and read timeout per request (default 30)")
    net.add_argument("--download-timeout", type=_positive_float, default=300.0, metavar="SECONDS",
                     help="time limit for one whole image download (default 300)")
    net.add_argument("--retries", type=int, default=4, help="retries on timeouts, connection errors, 5xx, 429")
    net.add_argument("--backoff-base", type=_non_negative_float, default=1.0, metavar="SECONDS",
                     help="first retry waits about this long, doubling each time (with jitter)")
    net.add_argument("--max-retry-after", type=_non_negative_float, default=900.0, metavar="SECONDS",
                     help="give up on an item when a server asks to wait longer than this")
    checks = parser.add_argument_group("validation and resume")
    checks.add_argument("--max-bytes", type=_positive_int, default=50 * 1024 * 1024,
                        help="largest accepted image file (default 50 MiB)")
    checks.add_argument("--min-size", type=int, default=512, metavar="PIXELS",
                        help="smallest accepted width and height (default 512)")
    checks.add_argument("--retry-failed", action="store_true",
                        help="try items the manifest records as failed again")
    checks.add_argument("--max-consecutive-failures", type=_positive_int, default=10,
                        help="skip a source after this many failed items in a row")
    checks.add_argument("--page-size", type=_positive_int, default=100, help=argparse.SUPPRESS)
    output = parser.add_argument_group("output")
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    output.add_argument("-q", "--quiet", action="store_true", help="only warnings and the summary")
    output.add_argument("-v", "--verbose", action="store_true", help="log every skipped item")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m scrapers", description="Collect painting and anime datasets politely.")
    parser.add_argument("--version", action="version", version=f"scrapers {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{paintings,safebooru}")

    paintings = commands.add_parser("paintings", help="museum open-access paintings by genre")
    paintings.add_argument("--genre", required=True, help=f"comma-separated: {', '.join(GENRES)}")
    paintings.add_argument("--source", default=",".join(DEFAULT_PAINTING_SOURCES),
                           help=f"comma-separated: {', '.join(PAINTING_SOURCES)} (default: the four museums; "
                                "wikiart only when named)")
    paintings.add_argument("--allow-nonfree", action="store_true",
                           help="also keep items that are not public domain / CC0 (licence kept in the sidecar)")
    paintings.add_argument("--query", action="append", default=[], metavar="SOURCE=TEXT",
                           help="replace the genre's search text for met, artic, cleveland or wikiart")
    paintings.add_argument("--category", action="append", default=[],
                           help="replace the genre's Commons categories (repeatable)")
    paintings.add_argument("--commons-depth", type=int, default=commons.DEFAULT_DEPTH,
                           help="subcategory levels to walk on Commons (default 1)")
    _add_common_options(paintings)

    anime = commands.add_parser("safebooru", help="anime illustrations by Safebooru tag search")
    anime.add_argument("--tags", required=True, help='tag query, e.g. "1girl solo"')
    anime.add_argument("--label", default=safebooru.DEFAULT_LABEL, help="output sub-folder (default anime)")
    anime.add_argument("--rating", default=",".join(safebooru.DEFAULT_RATINGS),
                       help=f"comma-separated ratings to keep: {', '.join(RATING_CHOICES)} (default safe,general)")
    anime.add_argument("--json", action="store_true", help="ask the dapi for JSON instead of XML")
    _add_common_options(anime)
    return parser


# ----- argument checking --------------------------------------------------------------------------
def split_list(text: str, allowed, what: str) -> list[str]:
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise UserError(f"no {what} given")
    for item in items:
        if item not in allowed:
            raise UserError(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def parse_assignments(values: list[str], allowed, option: str) -> dict[str, str]:
    result = {}
    for value in values:
        name, sep, rest = value.partition("=")
        name = name.strip()
        if not sep or not rest.strip():
            raise UserError(f"{option} wants SOURCE=VALUE, got {value!r}")
        if name not in allowed:
            raise UserError(f"unknown source {name!r} in {option}; choose from {', '.join(allowed)}")
        result[name] = rest.strip()
    return result


def client_settings(args) -> ClientSettings:
    if args.user_agent:
        if "http" not in args.user_agent and "@" not in args.user_agent:
            raise UserError("--user-agent must name a contact URL or e-mail (Wikimedia blocks generic agents)")
        user_agent = args.user_agent
    else:
        contact = contact_of(args)
        if contact is not None and "http" not in contact and "@" not in contact:
            raise UserError(f"contact {contact!r} is neither a URL nor an e-mail address")
        user_agent = user_agent_for(contact)
    if args.retries < 0:
        raise UserError("--retries must not be negative")
    return ClientSettings(
        user_agent=user_agent,
        connect_timeout=args.timeout,
        read_timeout=args.timeout,
        download_timeout=args.download_timeout,
        retries=args.retries,
        backoff_base=args.backoff_base,
        max_retry_after=args.max_retry_after,
        interval_override=args.min_interval,
        allowed_hosts=ClientSettings.allowed_hosts_from_env(),
    )


def contact_of(args) -> str | None:
    contact = (args.contact or os.environ.get(CONTACT_ENV, "")).strip()
    return contact or None


def check_contact(args, sources, base_urls) -> None:
    """Sources whose policy asks for the operator's contact (CONTACT_REQUIRED) are refused on a
    live run without one; runs against a --base-url (a mirror, a local fixture) are not live."""
    if args.user_agent or contact_of(args):
        return
    missing = [key for key in sources if getattr(SOURCES[key], "CONTACT_REQUIRED", False) and key not in base_urls]
    if missing:
        raise UserError(f"{', '.join(missing)} require(s) a contact in the User-Agent by policy: give --contact "
                        f"URL-OR-EMAIL (or set {CONTACT_ENV})")


def prepare_out_dir(text: str) -> Path:
    out_dir = Path(text).expanduser()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to output folder {text!r}: {exc.strerror or exc}") from None
    return out_dir


# ----- planning -----------------------------------------------------------------------------------
def source_urls(key: str, base_urls: dict[str, str], client: PoliteClient) -> SourceUrls:
    module = SOURCES[key]
    urls = SourceUrls(module.API_BASE, module.IMAGE_HOSTS, base_urls.get(key))
    for host, seconds in module.HOST_INTERVALS.items():
        client.set_host_interval(host, seconds)
    if urls.override:
        client.set_host_interval(urlsplit(urls.override).netloc, max(module.HOST_INTERVALS.values()))
    return urls


def check_paintings(args) -> dict:
    genres = split_list(args.genre, GENRES, "genre")
    sources = split_list(args.source, PAINTING_SOURCES, "painting source")
    for key in OPT_IN_SOURCES:
        if key in sources and not args.allow_nonfree:
            raise UserError(f"{key} lists works without licence data; it needs --allow-nonfree")
    queries = parse_assignments(args.query, PAINTING_SOURCES, "--query")
    if "commons" in queries:
        raise UserError("use --category for commons, not --query")
    if (queries or args.category) and len(genres) > 1:
        raise UserError("--query and --category apply to one genre; give a single --genre")
    if args.commons_depth < 0:
        raise UserError("--commons-depth must not be negative")
    return {"genres": genres, "sources": sources, "queries": queries}


def check_safebooru(args) -> dict:
    if not is_valid_label(args.label):
        raise UserError(f"bad --label {args.label!r}: use lower-case letters, digits, '-' and '_'")
    ratings = split_list(args.rating, RATING_CHOICES + ("all",), "rating")
    if not args.tags.strip():
        raise UserError("--tags is empty")
    return {"ratings": list(RATING_CHOICES) if "all" in ratings else ratings}


def plan_paintings(args, request, collector, client, base_urls) -> dict[str, list[SourceRun]]:
    plan = {}
    for genre in request["genres"]:
        runs = []
        for key in request["sources"]:
            module = SOURCES[key]
            urls = source_urls(key, base_urls, client)
            context = _context(collector, client, urls, key, args)
            if key == "commons":
                stream = commons.candidates(context, genre, args.category or None, depth=args.commons_depth)
            else:
                stream = module.candidates(context, genre, request["queries"].get(key))
            # AIC asks for its own courtesy header on every request, images included.
            headers = {"AIC-User-Agent": client.settings.user_agent} if key == "artic" else None
            runs.append(SourceRun(key, stream, urls, image_headers=headers))
        plan[genre] = runs
    return plan


def plan_safebooru(args, request, collector, client, base_urls) -> dict[str, list[SourceRun]]:
    urls = source_urls("safebooru", base_urls, client)
    context = _context(collector, client, urls, "safebooru", args)
    stream = safebooru.candidates(context, args.tags.strip(), request["ratings"], as_json=args.json)
    return {args.label: [SourceRun("safebooru", stream, urls)]}


def _context(collector, client, urls, key, args) -> SourceContext:
    return SourceContext(
        client=client,
        urls=urls,
        allow_nonfree=collector.options.allow_nonfree,
        min_side=args.min_size,
        is_settled=lambda raw_id: collector.is_settled(key, raw_id),
        page_size=args.page_size,
    )


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear the progress bars."""

    def emit(self, record):
        tqdm.write(self.format(record), file=sys.stderr)


def configure_logging(verbose: bool, quiet: bool) -> None:
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


def run(args) -> int:
    configure_logging(args.verbose, args.quiet)
    # Overrides for sources this command does not use are accepted and ignored (one set for all runs).
    base_urls = {k: parse_base_url(v) for k, v in parse_assignments(args.base_url, tuple(SOURCES), "--base-url").items()}
    settings = client_settings(args)
    if args.min_size < 1:
        raise UserError("--min-size must be at least 1")
    checker, planner = (
        (check_paintings, plan_paintings) if args.command == "paintings" else (check_safebooru, plan_safebooru)
    )
    request = checker(args)
    check_contact(args, request.get("sources", ["safebooru"]), base_urls)
    out_dir = prepare_out_dir(args.out)
    log.info("User-Agent: %s", settings.user_agent)
    options = CollectOptions(
        out_dir=out_dir,
        limit=args.limit,
        # Running the safebooru command is itself the opt-in to works without licence data.
        allow_nonfree=getattr(args, "allow_nonfree", False) or args.command == "safebooru",
        retry_failed=args.retry_failed,
        image_limits=ImageLimits(max_bytes=args.max_bytes, min_side=args.min_size),
        max_consecutive_failures=args.max_consecutive_failures,
        show_progress=not (args.no_progress or args.quiet),
    )
    client = PoliteClient(settings)
    try:
        with Manifest(out_dir / MANIFEST_NAME) as manifest:
            collector = Collector(client, manifest, options)
            plan = planner(args, request, collector, client, base_urls)
            try:
                for genre, runs in plan.items():
                    collector.collect_genre(genre, runs)
            finally:
                for line in collector.summary.lines(args.limit):
                    print(line, flush=True)
    finally:
        client.close()
    used = {run.source for runs in plan.values() for run in runs}
    failed = used & set(collector.summary.failed_sources)
    # 1: nothing could be collected; 3: some sources failed, the others' images are in (like
    # rsync's "partial transfer"), so that a script can tell a complete run from a partial one.
    return 1 if used and failed == used else 3 if failed else 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except UserError as exc:
        print(f"scrapers: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scrapers: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
