"""Command-line errors, URL rewriting, id sanitising and the client's retry arithmetic."""
import pytest

from scrapers.__main__ import main
from scrapers.errors import FetchError
from scrapers.http import ClientSettings, PoliteClient, parse_retry_after
from scrapers.naming import item_key, safe_id
from scrapers.urls import SourceUrls, parse_base_url
from scrapers import met, registry, wikiart


@pytest.mark.parametrize(
    "argv, message",
    [
        (["paintings", "--genre", "nudes", "--limit", "5"], "unknown genre 'nudes'"),
        (["paintings", "--genre", "portrait", "--source", "louvre", "--limit", "5"], "unknown painting source 'louvre'"),
        (["paintings", "--genre", "portrait", "--source", "wikiart", "--limit", "5"], "needs --allow-nonfree"),
        (["paintings", "--genre", "portrait", "--limit", "5", "--base-url", "met=ftp://x"], "bad URL 'ftp://x'"),
        (["paintings", "--genre", "portrait", "--limit", "5", "--base-url", "met"], "--base-url wants SOURCE=VALUE"),
        (["paintings", "--genre", "portrait", "--limit", "5", "--base-url", "moma=http://x"], "unknown source 'moma'"),
        (["paintings", "--genre", "portrait", "--limit", "zero"], "not a whole number"),
        (["paintings", "--genre", "portrait,landscape", "--limit", "5", "--query", "met=x"], "single --genre"),
        (["paintings", "--genre", "portrait", "--limit", "5", "--user-agent", "curl"], "contact URL"),
        (["paintings", "--genre", "portrait", "--source", "commons", "--limit", "5"], "commons require(s) a contact"),
        (["paintings", "--genre", "portrait", "--source", "met,artic", "--limit", "5"], "artic require(s) a contact"),
        (["paintings", "--genre", "portrait", "--limit", "5", "--contact", "nobody"], "neither a URL nor an e-mail"),
        (["safebooru", "--tags", "x", "--limit", "5", "--label", "../up"], "bad --label"),
        (["safebooru", "--tags", "x", "--limit", "5", "--rating", "nsfw"], "unknown rating 'nsfw'"),
        (["sculptures"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SCRAPERS_CONTACT", raising=False)
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)] if argv[0] != "sculptures" else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("scrapers: error: ")
    assert message in err and "Traceback" not in err
    assert not out.exists()  # nothing created for a rejected command


def test_unwritable_out_dir_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["paintings", "--genre", "portrait", "--limit", "5", "--contact", "me@example.org", "--out", str(blocker / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("scrapers: error: cannot write to output folder") and err.count("\n") == 1


def test_second_run_on_the_same_folder_is_refused(tmp_path, capsys):
    from scrapers.manifest import Manifest

    out = tmp_path / "out"
    out.mkdir()
    with Manifest(out / "manifest.jsonl"):
        code = main(["paintings", "--genre", "portrait", "--limit", "5", "--contact", "me@example.org", "--out", str(out)])
    assert code == 2 and "another scrapers run" in capsys.readouterr().err


def test_base_url_rewrites_api_prefix_and_known_image_hosts_only():
    urls = SourceUrls(met.API_BASE, met.IMAGE_HOSTS, parse_base_url("http://127.0.0.1:8123/mirror/"))
    assert urls.api("/objects/1") == "http://127.0.0.1:8123/mirror/objects/1"
    assert urls.image("https://images.metmuseum.org/CRDImages/a.jpg?x=1") == "http://127.0.0.1:8123/CRDImages/a.jpg?x=1"
    assert urls.image("https://example.org/a.jpg") == "https://example.org/a.jpg"
    plain = SourceUrls(met.API_BASE, met.IMAGE_HOSTS)
    assert plain.api("/search") == "https://collectionapi.metmuseum.org/public/collection/v1/search"
    assert plain.image("//images.metmuseum.org/a.jpg") == "https://images.metmuseum.org/a.jpg"


def test_subdomain_image_hosts_match_every_upload_server():
    urls = SourceUrls(wikiart.API_BASE, wikiart.IMAGE_HOSTS, "http://127.0.0.1:9")
    assert urls.image("https://use2-uploads8.wikiart.org/images/a.jpg") == "http://127.0.0.1:9/images/a.jpg"
    assert urls.image("https://wikiart.org.evil.example/a.jpg") == "https://wikiart.org.evil.example/a.jpg"


@pytest.mark.parametrize("raw", ["../../etc/passwd", "/abs/path", "a b", "x" * 300, "..", ".", "", "a/../b"])
def test_safe_ids_never_escape_or_collide(raw):
    name = safe_id(raw)
    assert name and "/" not in name and ".." not in name and not name.startswith(".")
    assert len(name) <= 80
    assert safe_id(raw) == name


def test_plain_ids_are_unchanged_and_distinct_unsafe_ids_differ():
    assert item_key("met", 438101) == "met-438101"
    assert safe_id("577271cfedc2cb3880c2de61") == "577271cfedc2cb3880c2de61"
    assert safe_id("a/b") != safe_id("a_b")


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_exponentially_with_jitter():
    client = PoliteClient(ClientSettings(backoff_base=1.0, backoff_max=60.0))
    from scrapers.http import _Transient

    delays = [client._retry_delay(n, _Transient("timeout")) for n in (1, 2, 3, 4, 10)]
    for delay, ceiling in zip(delays, (1, 2, 4, 8, 60)):
        assert ceiling / 2 <= delay <= ceiling


def test_per_host_interval_spaces_requests():
    clock = {"now": 0.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    client = PoliteClient(ClientSettings(), sleep=sleep, clock=lambda: clock["now"])
    client.set_host_interval("api.example", 1.0)
    client._wait_turn("api.example", 0.0)
    clock["now"] += 0.25
    client._wait_turn("api.example", 0.0)
    client._wait_turn("other.example", 0.0)  # other hosts do not wait for this one
    assert sleeps == [0.75]
    client._wait_turn("api.example", 3.0)  # a robots Crawl-delay larger than the interval wins
    assert sleeps[-1] == 3.0


def test_only_allowed_hosts_are_contacted():
    client = PoliteClient(ClientSettings(allowed_hosts=frozenset({"127.0.0.1"})))
    with pytest.raises(FetchError) as caught:
        client.get_json("https://collectionapi.metmuseum.org/public/collection/v1/search")
    assert caught.value.reason == "host-not-allowed"


def test_every_painting_source_maps_every_genre():
    for key in registry.PAINTING_SOURCES:
        module = registry.SOURCES[key]
        assert set(module.GENRE_MAP) == set(registry.GENRES), key
        assert module.ETIQUETTE and module.LICENCE_POLICY


def test_the_contact_comes_from_the_flag_or_the_environment_and_no_default_is_made_up(monkeypatch):
    import argparse

    from scrapers.__main__ import check_contact, client_settings

    def args(**given):
        defaults = dict(user_agent=None, contact=None, retries=1, timeout=1.0, download_timeout=1.0, backoff_base=0.1,
                        max_retry_after=1.0, min_interval=None)
        return argparse.Namespace(**{**defaults, **given})

    monkeypatch.delenv("SCRAPERS_CONTACT", raising=False)
    anonymous = client_settings(args()).user_agent
    assert "+" not in anonymous.split("(")[1] and "github" not in anonymous  # no invented project URL
    assert "(+me@example.org; " in client_settings(args(contact="me@example.org")).user_agent
    monkeypatch.setenv("SCRAPERS_CONTACT", "https://example.org/me")
    assert "(+https://example.org/me; " in client_settings(args()).user_agent
    check_contact(args(), ["commons", "artic"], {})  # the environment's contact satisfies the policy
    monkeypatch.delenv("SCRAPERS_CONTACT")
    check_contact(args(), ["commons"], {"commons": "http://127.0.0.1:1"})  # a local mirror is not a live run
    check_contact(args(), ["met", "cleveland"], {})  # sources without such a policy need none
