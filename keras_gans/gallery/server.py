"""The live gallery: an ASGI app (Starlette, served by uvicorn) with the static site and
``/api/paint``, which paints a new picture for a validated seed, class and truncation.

* Every model is loaded once, in safe mode, when the app is made.
* Painting sets psi and reseeds the noise layers on the generator, so each model has exactly one
  worker thread; requests never share a generator between threads.
* A bounded queue (``queue_size`` paintings waiting or painting, all models together) answers
  503 with Retry-After when full instead of piling requests up; a per-client sliding-window rate
  limit answers 429 with Retry-After. Finished paintings are cached by their parameters.
* Every error is a 4xx with a JSON body (or 503 when busy); nothing outside the site folder is
  ever served, and no stack trace reaches a client. Site files are answered from memory after
  the first read (see ``SiteFiles``).
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import re
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .catalog import GalleryError, read_run
from keras_gans.generation import PSI_RANGE

PAINT_PARAMETERS = {"run", "seed", "class", "psi", "format"}
MAX_SEED = 2**31 - 1
_SEED = re.compile(r"[0-9]{1,10}")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")


class Gallery:
    """The server's state: painters (one worker thread each), the queue count, the cache and the
    rate limiter. Made once per app; request handlers only read it or change it on the event loop."""

    def __init__(self, runs, queue_size: int = 16, rate_limit: int = 60, cache_size: int = 512,
                 default_psi: float = 0.7):
        from .painting import Painter

        if queue_size < 1:
            raise GalleryError(f"the queue must hold at least 1 painting, got {queue_size}")
        if rate_limit < 0:
            raise GalleryError(f"the rate limit must be 0 (off) or positive, got {rate_limit}")
        self.painters = {}
        for path in runs:
            info = read_run(path)
            if info.name in self.painters:
                raise GalleryError(f"two runs are named {info.name!r}; give run folders with different names")
            self.painters[info.name] = Painter(info)
        if not self.painters:
            raise GalleryError("give at least one --run to paint from")
        self.workers = {name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"paint-{name}")
                        for name in self.painters}
        self.queue_size = queue_size
        self.rate_limit = rate_limit
        self.cache_size = cache_size
        self.default_psi = default_psi
        self.waiting = 0
        self.cache: OrderedDict[tuple, bytes] = OrderedDict()
        self.requests_by_client: dict[str, deque] = {}
        self.seconds_per_painting = 0.5  # a running mean, for Retry-After
        self.painted = 0
        self._lock = threading.Lock()  # only for the statistics the worker threads update

    def close(self):
        for worker in self.workers.values():
            worker.shutdown(wait=False, cancel_futures=True)

    # --- validation ---------------------------------------------------------------------------

    def parse(self, query) -> tuple:
        """(run, seed, class index, psi, format) from the query, or a GalleryError for a 400."""

        from .painting import IMAGE_FORMATS

        unknown = sorted(set(query.keys()) - PAINT_PARAMETERS)
        if unknown:
            raise GalleryError(f"unknown parameter(s) {unknown}; use {sorted(PAINT_PARAMETERS)}")
        for key in query.keys():
            if len(query.getlist(key)) > 1:
                raise GalleryError(f"parameter {key!r} was given more than once")
        run = query.get("run")
        if run is None:
            if len(self.painters) > 1:
                raise GalleryError(f"give run= one of {sorted(self.painters)}")
            run = next(iter(self.painters))
        if run not in self.painters:
            raise GalleryError(f"unknown run {run[:80]!r}; this gallery has {sorted(self.painters)}")
        painter = self.painters[run]
        seed_text = query.get("seed", "0")
        if not _SEED.fullmatch(seed_text) or int(seed_text) > MAX_SEED:
            raise GalleryError(f"seed must be a whole number from 0 to {MAX_SEED}")
        psi_text = query.get("psi")
        if psi_text is None:
            psi = self.default_psi if painter.style_based else 1.0
        else:
            if not _NUMBER.fullmatch(psi_text.strip()):
                raise GalleryError("psi must be a number, e.g. 0.7")
            psi = float(psi_text)
            if not PSI_RANGE[0] <= psi <= PSI_RANGE[1]:
                raise GalleryError(f"psi must be between {PSI_RANGE[0]:g} and {PSI_RANGE[1]:g}")
            if psi != 1.0 and not painter.style_based:
                raise GalleryError(f"run {run!r} ({painter.run.model}) has no style space, so no truncation: leave psi out or give 1")
        class_index = painter.class_index(query.get("class"))
        image_format = query.get("format", "png")
        if image_format not in IMAGE_FORMATS:
            raise GalleryError(f"format must be one of {sorted(IMAGE_FORMATS)}")
        return run, int(seed_text), class_index, round(psi, 4), image_format

    # --- rate limit and painting ---------------------------------------------------------------

    def retry_after_limit(self, client: str, now: float) -> int | None:
        """Seconds until ``client`` may paint again, or None (and the request is counted)."""
        if not self.rate_limit:
            return None
        window = self.requests_by_client.setdefault(client, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.rate_limit:
            return max(1, math.ceil(60 - (now - window[0])))
        window.append(now)
        if len(self.requests_by_client) > 10000:  # forget idle clients so the table cannot grow without bound
            for key in [k for k, v in self.requests_by_client.items() if not v or now - v[-1] >= 60]:
                del self.requests_by_client[key]
        return None

    def retry_after_busy(self) -> int:
        per_worker = self.waiting / max(1, len(self.workers))
        return max(1, math.ceil(per_worker * self.seconds_per_painting))

    def paint_bytes(self, run: str, seed: int, class_index, psi: float, image_format: str) -> bytes:
        """Runs on the run's own worker thread."""
        from .painting import encode

        started = time.perf_counter()
        data = encode(self.painters[run].paint(seed, class_index, psi), image_format)
        with self._lock:
            self.seconds_per_painting = 0.8 * self.seconds_per_painting + 0.2 * (time.perf_counter() - started)
            self.painted += 1
        return data

    def remember(self, key: tuple, data: bytes) -> None:
        self.cache[key] = data
        self.cache.move_to_end(key)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)


def create_app(site: str | Path, runs, queue_size: int = 16, rate_limit: int = 60, cache_size: int = 512,
               default_psi: float = 0.7):
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from .painting import IMAGE_FORMATS

    site = Path(site)
    if not (site / "index.html").is_file():
        raise GalleryError(f"{site} is not a built gallery (no index.html); run `python -m keras_gans.gallery build` first")
    gallery = Gallery(runs, queue_size=queue_size, rate_limit=rate_limit, cache_size=cache_size, default_psi=default_psi)

    def error(status: int, message: str, headers=None):
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)

    async def health(request):
        return JSONResponse({
            "status": "ok", "runs": sorted(gallery.painters), "queue": {"waiting": gallery.waiting, "capacity": gallery.queue_size},
            "painted": gallery.painted, "cached": len(gallery.cache),
        })

    async def paint(request):
        try:
            run, seed, class_index, psi, image_format = gallery.parse(request.query_params)
        except GalleryError as problem:
            return error(400, str(problem))
        client = request.client.host if request.client else "unknown"
        wait = gallery.retry_after_limit(client, time.monotonic())
        if wait is not None:
            return error(429, f"at most {gallery.rate_limit} paintings a minute per client; try again in {wait} s",
                         {"Retry-After": str(wait)})
        key = (run, seed, class_index, psi, image_format)
        media_type = IMAGE_FORMATS[image_format][1]
        headers = {"Cache-Control": "public, max-age=3600", "X-Painting": f"run={run}; seed={seed}; class={class_index}; psi={psi:g}"}
        if key in gallery.cache:
            gallery.cache.move_to_end(key)
            return Response(gallery.cache[key], media_type=media_type, headers=headers)
        if gallery.waiting >= gallery.queue_size:
            wait = gallery.retry_after_busy()
            return error(503, f"the painters are busy ({gallery.waiting} paintings queued); try again in {wait} s",
                         {"Retry-After": str(wait)})
        gallery.waiting += 1
        try:
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(gallery.workers[run], gallery.paint_bytes, run, seed, class_index, psi, image_format)
        finally:
            gallery.waiting -= 1
        gallery.remember(key, data)
        return Response(data, media_type=media_type, headers=headers)

    async def not_found(request):
        return error(404, f"no such API endpoint: {request.url.path[:100]}")

    files = SiteFiles(site)

    async def site_file(request):
        path = request.path_params.get("path", "")
        target = files.locate(path)
        if target is not None and target.is_dir():
            if path and not path.endswith("/"):  # relative links inside need the slash
                return Response(status_code=307, headers={"Location": "/" + path + "/"})
            target = target / "index.html"
        if target is None or not target.is_file():
            return error(404, "no such page or painting in this gallery")
        data, media_type, etag = files.read(target)
        headers = {"ETag": etag, "Cache-Control": "no-cache" if media_type == "text/html" else "public, max-age=3600"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data if request.method == "GET" else b"", media_type=media_type, headers=headers)

    async def http_error(request, exc):
        return error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "request refused", getattr(exc, "headers", None))

    async def server_error(request, exc):
        # Logged by uvicorn on the server's side; the client learns only that it failed.
        return error(500, "the server could not answer this request")

    routes = [
        Route("/api/health", health, methods=["GET", "HEAD"]),
        Route("/api/paint", paint, methods=["GET", "HEAD"]),
        Route("/api/{rest:path}", not_found),
        Route("/{path:path}", site_file, methods=["GET", "HEAD"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        gallery.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error},
                    lifespan=lifespan)
    app.state.gallery = gallery
    return app


class SiteFiles:
    """The site's files, served from memory: a painting or a page is read from disk once and then
    answered without touching the disk again until its size or modification time changes (a
    rebuild). Only regular files inside the site folder are served: parent segments, backslashes,
    NUL, dot-files (the build's index) and symlinks leading out are 404s before any lookup."""

    MAX_CACHED_BYTES = 64 * 2**20

    def __init__(self, site: Path):
        self.root = Path(site).resolve()
        self.cache: dict[str, tuple[int, int, bytes, str, str]] = {}
        self.cached_bytes = 0

    def locate(self, path: str) -> Path | None:
        parts = [part for part in path.split("/") if part]
        if "\x00" in path or "\\" in path or any(part == ".." or part.startswith(".") for part in parts):
            return None
        target = self.root.joinpath(*parts) if parts else self.root
        try:
            target = target.resolve()
            target.relative_to(self.root)
        except (OSError, ValueError, RuntimeError):
            return None
        return target

    def read(self, target: Path):
        """(bytes, media type, etag) of a file, from memory when it has not changed."""
        import mimetypes

        stat = target.stat()
        key = str(target)
        cached = self.cache.get(key)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2], cached[3], cached[4]
        data = target.read_bytes()
        media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".webp":
            media_type = "image/webp"
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if self.cached_bytes + len(data) <= self.MAX_CACHED_BYTES:
            self.cache[key] = (stat.st_mtime_ns, stat.st_size, data, media_type, etag)
            self.cached_bytes += len(data) - (len(cached[2]) if cached else 0)
        return data, media_type, etag


def serve(app, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    # uvloop and httptools (uvicorn's "standard" extra) where installed: several times the
    # requests per second of the pure-Python defaults.
    uvicorn.run(app, host=host, port=port, log_level=log_level, backlog=2048, loop="auto", http="auto")
