"""python -m keras_gans.gallery build|serve: the AI Art Gallery.

    python -m keras_gans.gallery build --run runs/default --out site/ [--per-room 24] [--truncation 0.7]
    python -m keras_gans.gallery serve --site site/ --run runs/default [--host 127.0.0.1] [--port 8000]

``serve`` without ``--site`` builds the gallery into a cache folder first. The server binds to
127.0.0.1 unless ``--host`` says otherwise; its dependencies are the ``gallery`` extra
(``pip install -e .[gallery]``; ``scripts/setup.sh --test`` installs it).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from keras_gans.generation import PSI_RANGE
from keras_gans.io import cache_dir


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m keras_gans.gallery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="paint the static site")
    build.add_argument("--run", action="append", required=True, metavar="RUN_FOLDER", help="a trained run (repeatable)")
    build.add_argument("--out", required=True, help="the site folder (made or updated)")
    _painting_options(build)
    serve = commands.add_parser("serve", help="serve a site and paint new pictures live")
    serve.add_argument("--run", action="append", required=True, metavar="RUN_FOLDER", help="a trained run (repeatable)")
    serve.add_argument("--site", help="a folder that `build` made (default: build one into a cache folder)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--queue", type=int, default=16, help="paintings waiting or painting before 503 (default 16)")
    serve.add_argument("--rate-limit", type=int, default=60, help="paintings per client per minute, 0 for none (default 60)")
    serve.add_argument("--cache", type=int, default=512, help="paintings kept in memory (default 512)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    _painting_options(serve)
    return parser


def _painting_options(parser):
    parser.add_argument("--per-room", type=int, default=24, help="paintings per room (default 24)")
    parser.add_argument("--truncation", type=float, default=0.7, metavar="PSI",
                        help="truncation psi of style-based models' paintings (default 0.7)")


def _check(parser, args):
    if args.per_room < 1:
        parser.error(f"--per-room must be at least 1, got {args.per_room}")
    if not PSI_RANGE[0] <= args.truncation <= PSI_RANGE[1]:
        parser.error(f"--truncation {args.truncation:g} is outside {PSI_RANGE[0]:g}..{PSI_RANGE[1]:g} (0.7 is typical)")
    if args.command == "serve":
        if not 0 < args.port < 65536:
            parser.error(f"--port must be 1..65535, got {args.port}")
        if args.queue < 1:
            parser.error(f"--queue must be at least 1, got {args.queue}")
        if args.rate_limit < 0 or args.cache < 0:
            parser.error("--rate-limit and --cache must be 0 or more")


def default_site_cache(runs) -> Path:
    key = hashlib.sha256("\n".join(str(Path(r).resolve()) for r in runs).encode()).hexdigest()[:16]
    return cache_dir("gallery") / key


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    from .catalog import GalleryError
    from .site import build_site

    try:
        if args.command == "build":
            build_site(args.run, args.out, per_room=args.per_room, truncation=args.truncation)
            return 0
        try:
            from .server import create_app, serve
            import uvicorn  # noqa: F401
        except ImportError as missing:
            print(f"error: the gallery server needs its extra ({missing.name} is missing): pip install -e '.[gallery]'",
                  file=sys.stderr)
            return 1
        site = Path(args.site) if args.site else default_site_cache(args.run)
        if not args.site:
            print(f"building the gallery into {site}", flush=True)
            build_site(args.run, site, per_room=args.per_room, truncation=args.truncation)
        app = create_app(site, args.run, queue_size=args.queue, rate_limit=args.rate_limit, cache_size=args.cache,
                         default_psi=args.truncation)
        print(f"AI Art Gallery on http://{args.host}:{args.port}/ (runs: {', '.join(sorted(app.state.gallery.painters))})",
              flush=True)
        serve(app, host=args.host, port=args.port, log_level=args.log_level)
        return 0
    except GalleryError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
