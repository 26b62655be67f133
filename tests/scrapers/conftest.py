"""A real HTTP server on 127.0.0.1 that replays the ../shared/fixtures/scrapers response shapes.

Every source is mounted under its own path prefix (/met, /artic, /cleveland, /commons, /wikiart,
/safebooru); image hosts are rewritten by the scrapers to the same server with their paths kept, so
any other GET for an image-like path is answered with a generated image. Faults are injected per
path, in order, one per request.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PIL import Image, ImageDraw

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "scrapers"
TEST_ROBOTS = "User-agent: *\nDisallow: /private/\n"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str):
    return json.loads(fixture_text(name))


def make_image(seed: str, size=(96, 80), fmt="JPEG") -> bytes:
    """A small image whose bytes depend on ``seed`` (so distinct paths never look like duplicates)."""
    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", size, tuple(digest[:3]))
    draw = ImageDraw.Draw(image)
    x, y = digest[3] % (size[0] // 2), digest[4] % (size[1] // 2)
    draw.rectangle([x, y, x + size[0] // 3, y + size[1] // 3], fill=tuple(digest[5:8]))
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=90)
    return buffer.getvalue()


class FakeServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.log: list[tuple[float, str, dict]] = []
        self.faults: dict[str, list[dict]] = {}
        self.always: dict[str, dict] = {}
        self.robots_text = TEST_ROBOTS
        self.image_size = (96, 80)
        self.image_alias: dict[str, str] = {}
        self.safebooru_mode = "xml"
        self.release = threading.Event()
        self.data = {
            "met_search": fixture_json("met_search.json"),
            "artic_search": fixture_json("aic_search_fields.json"),
            "cleveland_search": fixture_json("cleveland_artworks_search.json"),
            "commons_members": fixture_json("commons_categorymembers.json"),
            "commons_members_last": fixture_json("commons_categorymembers_last.json"),
            "commons_imageinfo": fixture_json("commons_imageinfo.json"),
            "wikiart_page1": fixture_json("wikiart_paintings_page1.json"),
            "wikiart_end": fixture_json("wikiart_paintings_page_end.json"),
            "safebooru_xml": fixture_text("safebooru_posts.xml"),
            "safebooru_json": fixture_json("safebooru_posts.json"),
        }
        for object_file in FIXTURES.glob("met_object_*.json"):
            self.data[f"met_object_{object_file.stem.rsplit('_', 1)[1]}"] = json.loads(object_file.read_text())
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    # ----- helpers for tests ---------------------------------------------------------------------
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def base_url_args(self) -> list[str]:
        args = []
        for source in ("met", "artic", "cleveland", "commons", "wikiart", "safebooru"):
            args += ["--base-url", f"{source}={self.root}/{source}"]
        return args

    def inject(self, path: str, *actions: dict) -> None:
        self.faults.setdefault(path, []).extend(actions)

    def requests_for(self, path: str) -> list[tuple[float, str, dict]]:
        with self.lock:
            return [entry for entry in self.log if entry[1] == path]

    def image_paths(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.log if _is_image_path(path)]

    def wait_for_request(self, path: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.requests_for(path):
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def fixture_text(name: str) -> str:
        return fixture_text(name)

    def image_bytes(self, path: str) -> bytes:
        return make_image(self.image_alias.get(path, path), self.image_size)

    # ----- the handler ---------------------------------------------------------------------------
    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                with server.lock:
                    server.log.append((time.monotonic(), path, query))
                    queued = server.faults.get(path)
                    action = queued.pop(0) if queued else server.always.get(path)
                if action:
                    self.fault(action, path)
                else:
                    self.route(path, query)

            # -- plain replies
            def reply(self, status, body: bytes, content_type: str, headers=None, length=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def json(self, data, status=200):
                self.reply(status, json.dumps(data).encode(), "application/json")

            def not_found(self):
                self.reply(404, b"not found", "text/plain")

            # -- faults
            def fault(self, action, path):
                if "status" in action:
                    self.reply(action["status"], b"fault", "text/plain", action.get("headers"))
                elif action.get("stall"):
                    body = server.image_bytes(path)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server.release.wait(action.get("seconds", 30))
                    self.close_connection = True
                elif action.get("drip"):
                    body = server.image_bytes(path)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for start in range(0, len(body), 16):
                        if server.release.wait(0.05):
                            break
                        try:
                            self.wfile.write(body[start:start + 16])
                            self.wfile.flush()
                        except OSError:
                            break
                    self.close_connection = True
                elif action.get("html"):
                    page = b"<!DOCTYPE html><html><body>Access denied</body></html>"
                    self.reply(200, page, action.get("content_type", "text/html; charset=utf-8"))
                elif action.get("truncate"):
                    body = server.image_bytes(path)
                    self.reply(200, body[: len(body) * 2 // 3], "image/jpeg")
                elif action.get("short_body"):
                    body = server.image_bytes(path)
                    self.reply(200, body[: len(body) // 2], "image/jpeg", length=len(body))
                    self.close_connection = True
                elif "oversize" in action:
                    body = server.image_bytes(path)
                    body += b"\0" * (action["oversize"] - len(body))
                    if action.get("declare_length", True):
                        self.reply(200, body, "image/jpeg")
                    else:
                        self.send_response(200)
                        self.send_header("Content-Type", "image/jpeg")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(body)
                        self.close_connection = True
                else:
                    raise AssertionError(f"unknown fault {action}")

            # -- routes
            def route(self, path, query):
                if path == "/robots.txt":
                    return self.reply(200, server.robots_text.encode(), "text/plain")
                if path == "/met/search":
                    return self.json(server.data["met_search"])
                if path.startswith("/met/objects/"):
                    record = server.data.get(f"met_object_{path.rsplit('/', 1)[1]}")
                    return self.json(record) if record else self.json({"message": "Not a valid object"}, 404)
                if path == "/artic/artworks/search":
                    return self.json(server.data["artic_search"])
                if path == "/cleveland/artworks/":
                    data = copy.deepcopy(server.data["cleveland_search"])
                    if int(query.get("skip", 0)) >= data["info"]["total"]:
                        data["data"] = []
                    return self.json(data)
                if path == "/commons/api.php":
                    return self.json(self.commons(query))
                if path.startswith("/wikiart/paintings-by-genre/"):
                    page = int(query.get("page", 1))
                    return self.json(server.data["wikiart_page1" if page == 1 else "wikiart_end"])
                if path == "/safebooru/index.php":
                    return self.safebooru(query)
                if _is_image_path(path):
                    return self.reply(200, server.image_bytes(path), "image/jpeg")
                return self.not_found()

            def commons(self, query):
                if query.get("list") == "categorymembers":
                    if "subcategory" in query.get("cmtitle", ""):
                        return {"batchcomplete": "", "query": {"categorymembers": []}}
                    if query.get("cmcontinue"):
                        return server.data["commons_members_last"]
                    return server.data["commons_members"]
                if query.get("prop") == "imageinfo":
                    data = copy.deepcopy(server.data["commons_imageinfo"])
                    pages = data["query"]["pages"]
                    known = {page["title"] for page in pages.values()}
                    wanted = query["titles"].split("|")
                    for page_id, page in list(pages.items()):
                        if page["title"] not in wanted:
                            del pages[page_id]
                    for number, title in enumerate(t for t in wanted if t not in known):
                        pages[str(-1 - number)] = {"ns": 6, "title": title, "missing": ""}
                    return data
                return {"error": {"code": "badvalue", "info": "unexpected test query"}}

            def safebooru(self, query):
                if server.safebooru_mode == "error":
                    return self.reply(200, fixture_text("safebooru_error.xml").encode(), "text/xml")
                first_page = int(query.get("pid", 0)) == 0
                if query.get("json") == "1":
                    return self.json(server.data["safebooru_json"] if first_page else [])
                text = server.data["safebooru_xml"] if first_page else fixture_text("safebooru_posts_empty.xml")
                return self.reply(200, text.encode(), "text/xml")

        return Handler

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _is_image_path(path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES) or path.startswith("/iiif/")


@pytest.fixture
def server():
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent: these tests replay the team's ../shared/fixtures/scrapers")
    fake = FakeServer().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch):
    # Belt and braces: the client refuses any host but the test server.
    monkeypatch.setenv("SCRAPERS_ALLOWED_HOSTS", "127.0.0.1")


FAST = [
    "--no-progress", "--min-interval", "0", "--backoff-base", "0.01", "--timeout", "2",
    "--retries", "2", "--min-size", "32",
]


class Result:
    def __init__(self, code: int, out: Path):
        self.code = code
        self.out = out
        path = out / "manifest.jsonl"
        text = path.read_text() if path.exists() else ""
        self.lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        # The latest line per key, as the scrapers themselves read it.
        self.items = {line["key"]: line for line in self.lines}

    def status(self, key: str) -> str | None:
        return self.items.get(key, {}).get("status")

    def reason(self, key: str) -> str | None:
        return self.items.get(key, {}).get("reason")

    def files(self, genre: str) -> list[str]:
        folder = self.out / genre
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def done(self) -> list[str]:
        return sorted(k for k, line in self.items.items() if line["status"] == "done")


@pytest.fixture
def scrape(server, tmp_path):
    """Run the CLI in-process against the fake server, with tiny delays; returns a Result."""
    from scrapers.__main__ import main

    def run(command: str, *args: str, out: Path | None = None) -> Result:
        out = out or tmp_path / "out"
        code = main([command, *FAST, *server.base_url_args(), *args, "--out", str(out)])
        return Result(code, out)

    return run


@pytest.fixture
def cli_command(server):
    """argv for running the CLI as a separate process (for kill tests)."""

    def command(*args: str, out: Path) -> tuple[list[str], dict]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["SCRAPERS_ALLOWED_HOSTS"] = "127.0.0.1"
        argv = [sys.executable, "-m", "scrapers", args[0], *FAST, *server.base_url_args(), *args[1:], "--out", str(out)]
        return argv, env

    return command


@pytest.fixture
def result_of():
    return Result
