"""The live gallery's ASGI app: painting on demand, validation, the bounded queue, the rate
limit, the cache, errors without stack traces, and no path out of the site folder."""
import asyncio
import io
import random
import string

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
try:  # the HTTP client Starlette's TestClient uses: httpx2 for Starlette 1.x (it warns on httpx), httpx before
    import httpx2 as httpx
except ModuleNotFoundError:
    httpx = pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from keras_gans.gallery.catalog import GalleryError  # noqa: E402
from keras_gans.gallery.server import create_app  # noqa: E402


@pytest.fixture(scope="module")
def app(built_site, gallery_runs):
    return create_app(built_site, [gallery_runs["styled"], gallery_runs["plain"]], rate_limit=0)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_and_the_static_site(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["runs"] == ["plain", "styled"]
    assert health["queue"]["capacity"] == 16
    page = client.get("/styled/room-red-sky.html")
    assert page.status_code == 200 and "Paint a new one" in page.text
    assert client.get("/").status_code == 200
    # A wing's folder without its slash is redirected (its pages' relative links need it) ...
    moved = client.get("/styled", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == "/styled/"
    assert "In between" in client.get("/styled/").text
    # ... and an unchanged file is answered 304 to a browser that has it.
    thumbnail = client.get("/styled/paintings/red-sky/seed000000-psi0.70.webp")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    again = client.get("/styled/paintings/red-sky/seed000000-psi0.70.webp", headers={"If-None-Match": thumbnail.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_paint_matches_the_gallery_and_is_cached(client, app, built_site):
    response = client.get("/api/paint", params={"run": "styled", "seed": 3, "class": "red sky", "psi": 0.7})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    painted = np.asarray(Image.open(io.BytesIO(response.content)))
    built = np.asarray(Image.open(built_site / "styled" / "paintings" / "red-sky" / "seed000003-psi0.70.png"))
    np.testing.assert_array_equal(painted, built)
    count = app.state.gallery.painted
    index = app.state.gallery.painters["styled"].class_names.index("red sky")
    again = client.get("/api/paint", params={"run": "styled", "seed": 3, "class": str(index), "psi": "0.70"})
    assert again.content == response.content and app.state.gallery.painted == count  # by index, from the cache
    webp = client.get("/api/paint", params={"run": "plain", "seed": 1, "format": "webp"})
    assert webp.status_code == 200 and webp.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(webp.content)).size == (16, 16)


@pytest.mark.parametrize("params, message", [
    ({"run": "nope"}, "unknown run"),
    ({"run": "styled", "class": "red sky", "seed": "-1"}, "seed must be"),
    ({"run": "styled", "class": "red sky", "seed": "12abc"}, "seed must be"),
    ({"run": "styled", "class": "red sky", "seed": "99999999999"}, "seed must be"),
    ({"run": "styled", "class": "red sky", "psi": "nan"}, "psi must be a number"),
    ({"run": "styled", "class": "red sky", "psi": "inf"}, "psi must be a number"),
    ({"run": "styled", "class": "red sky", "psi": "3"}, "between -1 and 2"),
    ({"run": "styled", "class": "green"}, "unknown class"),
    ({"run": "styled", "class": "7"}, "out of range"),
    ({"run": "styled"}, "conditional: give a class"),
    ({"run": "plain", "class": "red sky"}, "unconditional"),
    ({"run": "plain", "psi": "0.5"}, "no style space"),
    ({"run": "plain", "format": "gif"}, "format must be"),
    ({"run": "plain", "size": "9000"}, "unknown parameter"),
    ({}, "give run="),
])
def test_bad_parameters_get_400_with_a_json_reason(client, params, message):
    response = client.get("/api/paint", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_repeated_parameter_is_refused(client):
    response = client.get("/api/paint?run=plain&seed=1&seed=2")
    assert response.status_code == 400 and "more than once" in response.json()["error"]


def test_fuzzed_parameters_never_get_a_server_error(client):
    rng = random.Random(0)
    alphabet = string.printable + "\u00e9\u4e2d\U0001f600\x00"
    names = ["run", "seed", "class", "psi", "format", "x", "", "seed[]", "run\x00"]
    values = ["styled", "plain", "0", "1", "-0", "1e3", "0x10", " 1", "0.7", "-1", "2.0000001", "NaN", "", "red sky",
              "../../etc/passwd", "%00", "1" * 300, "webp", "png"]
    for _ in range(300):
        params = {}
        for _ in range(rng.randint(0, 5)):
            name = rng.choice(names) if rng.random() < 0.8 else "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
            value = rng.choice(values) if rng.random() < 0.7 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
            params[name] = value
        response = client.get("/api/paint", params=params)
        assert response.status_code in (200, 400), (params, response.status_code, response.text[:200])
        if response.status_code == 400:
            assert response.json()["error"] and "Traceback" not in response.text


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/styled/../../../etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd", "/styled/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/.gallery/index.json",
    "/styled/..%5c..%5c..%5cetc%5cpasswd", "/%00", "/styled/room-red-sky.html%00.png", "//etc/passwd",
    "/assets/../../outside.txt", "/link-out/secret.txt", "/styled/paintings/red-sky/../../../../outside.txt",
])
def test_no_path_leaves_the_site_folder(client, built_site, path):
    outside = built_site.parent / "outside.txt"
    outside.write_text("root:x:0:0 secret")
    link = built_site / "link-out"
    if not link.exists():
        link.symlink_to(built_site.parent, target_is_directory=True)
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert "secret" not in response.text and "root:" not in response.text


def test_unknown_api_paths_are_json_404s(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and "no such API endpoint" in response.json()["error"]


def test_a_full_queue_answers_503_with_retry_after(built_site, gallery_runs):
    app = create_app(built_site, [gallery_runs["plain"]], queue_size=1, rate_limit=0)

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gallery") as http:
            return await asyncio.gather(*(http.get("/api/paint", params={"seed": 100 + i}) for i in range(6)))

    responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1 and set(statuses) <= {200, 503}
    for response in responses:
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1 and "busy" in response.json()["error"]
    assert app.state.gallery.waiting == 0
    app.state.gallery.close()


def test_the_rate_limit_answers_429_with_retry_after(built_site, gallery_runs):
    app = create_app(built_site, [gallery_runs["plain"]], rate_limit=3)
    with TestClient(app) as client:
        statuses = [client.get("/api/paint", params={"seed": i}).status_code for i in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/paint", params={"seed": 0})
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60


def test_an_internal_failure_tells_the_client_nothing_more(built_site, gallery_runs, monkeypatch):
    app = create_app(built_site, [gallery_runs["plain"]], rate_limit=0)

    def broken(*args):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(app.state.gallery, "paint_bytes", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/paint", params={"seed": 5})
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert app.state.gallery.waiting == 0


def test_a_missing_site_or_bad_settings_are_refused(gallery_runs, tmp_path, capsys):
    from keras_gans.gallery.__main__ import main

    with pytest.raises(GalleryError, match="not a built gallery"):
        create_app(tmp_path, [gallery_runs["plain"]])
    for argv, message in ((["--port", "0"], "--port"), (["--queue", "0"], "--queue"), (["--rate-limit", "-1"], "--rate-limit")):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--run", str(gallery_runs["plain"]), *argv])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
