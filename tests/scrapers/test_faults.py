"""Every fault from the issue ends as documented, with nothing partial on disk."""
import os
import time

import pytest

pytestmark = pytest.mark.faults

MET_IMAGE = "/CRDImages/ep/web-large/DT274230.jpg"
MET_OTHER_IMAGE = "/CRDImages/ep/web-large/DP-42549-001.jpg"
CLEVELAND_IMAGE = "/1335.1917/1335.1917_web.jpg"


def only_finished_files(folder):
    """Names in ``folder`` that are not complete image + sidecar pairs (temp files, strays)."""
    names = set(os.listdir(folder)) if folder.is_dir() else set()
    stems = {name.rsplit(".", 1)[0] for name in names}
    strays = {name for name in names if name.startswith(".")}
    for stem in stems:
        kinds = {name.rsplit(".", 1)[1] for name in names if name.rsplit(".", 1)[0] == stem}
        if kinds != {"json", "jpg"}:
            strays |= {f"{stem}.{kind}" for kind in kinds}
    return strays


def run_met(scrape, *extra):
    return scrape("paintings", "--genre", "cityscape", "--source", "met", "--limit", "10", *extra)


def test_429_waits_for_retry_after_then_succeeds(scrape, server):
    server.inject(MET_IMAGE, {"status": 429, "headers": {"Retry-After": "1"}})
    result = run_met(scrape)
    assert result.status("met-438101") == "done"
    first, second = server.requests_for(MET_IMAGE)[:2]
    assert second[0] - first[0] >= 0.9  # the backoff base is 0.01 s: only Retry-After explains this


def test_429_asking_too_long_fails_the_item(scrape, server):
    server.inject(MET_IMAGE, {"status": 429, "headers": {"Retry-After": "3600"}})
    result = run_met(scrape, "--max-retry-after", "5")
    assert result.status("met-438101") == "failed" and result.reason("met-438101") == "rate-limited"
    assert only_finished_files(result.out / "cityscape") == set()


def test_500_then_success_on_api_and_image(scrape, server):
    server.inject("/met/search", {"status": 500})
    server.inject("/met/objects/438101", {"status": 503})
    server.inject(MET_IMAGE, {"status": 500}, {"status": 502})
    result = run_met(scrape)
    assert result.done() == ["met-436535", "met-438101"]
    assert len(server.requests_for("/met/search")) == 2
    assert len(server.requests_for(MET_IMAGE)) == 3


def test_stalled_response_times_out_and_others_continue(scrape, server):
    server.inject(MET_IMAGE, {"stall": True}, {"stall": True})
    result = run_met(scrape, "--timeout", "0.4", "--retries", "1")
    assert result.status("met-438101") == "failed" and result.reason("met-438101") == "timeout"
    assert result.status("met-436535") == "done"
    assert len(server.requests_for(MET_IMAGE)) == 2
    assert only_finished_files(result.out / "cityscape") == set()


def test_slow_drip_is_cut_by_the_whole_download_limit(scrape, server):
    # 16 bytes every 50 ms: the 5 s read timeout never fires, the 0.5 s download limit must.
    server.inject(MET_IMAGE, {"drip": True})
    started = time.monotonic()
    result = run_met(scrape, "--timeout", "5", "--download-timeout", "0.5", "--retries", "0")
    assert time.monotonic() - started < 4
    assert result.status("met-438101") == "failed" and result.reason("met-438101") == "timeout"
    assert only_finished_files(result.out / "cityscape") == set()


@pytest.mark.parametrize(
    "fault, reason",
    [
        ({"truncate": True}, "undecodable"),
        ({"short_body": True}, "incomplete-body"),
        ({"html": True}, "not-an-image"),
        ({"html": True, "content_type": "image/jpeg"}, "not-an-image"),
        ({"oversize": 60_000}, "too-large"),
        ({"oversize": 60_000, "declare_length": False}, "too-large"),
    ],
    ids=["truncated-jpeg", "body-shorter-than-length", "html", "html-labelled-jpeg", "oversize", "oversize-unannounced"],
)
def test_bad_image_bodies_are_rejected_and_never_kept(scrape, server, fault, reason):
    server.always[MET_IMAGE] = fault
    result = run_met(scrape, "--max-bytes", "20000")
    assert result.status("met-438101") == "failed"
    assert result.reason("met-438101") == reason
    assert not (result.out / "cityscape" / "met-438101.jpg").exists()
    assert not (result.out / "cityscape" / "met-438101.json").exists()
    assert only_finished_files(result.out / "cityscape") == set()
    assert result.status("met-436535") == "done"


def test_remote_names_with_dot_dot_never_leave_the_folder(scrape, server, tmp_path):
    painting = server.data["wikiart_page1"]["Paintings"][0]
    painting["id"] = "../../../escaped"
    painting["image"] = "https://uploads0.wikiart.org/images/../../../escaped.jpg"
    result = scrape("paintings", "--genre", "portrait", "--source", "wikiart", "--limit", "5", "--allow-nonfree")
    [key] = result.done()
    assert key.startswith("wikiart-escaped-") and "/" not in key and ".." not in key
    written = {p.relative_to(result.out).as_posix() for p in result.out.rglob("*") if p.is_file()}
    assert written == {"manifest.jsonl", f"portrait/{key}.jpg", f"portrait/{key}.json"}
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped.jpg").exists()


def test_robots_disallow_and_crawl_delay_from_the_fixture(scrape, server):
    server.robots_text = server.fixture_text("robots_SYNTHETIC_example.txt")  # Disallow /private/, Crawl-delay 1
    server.data["met_object_438101"]["primaryImageSmall"] = "https://images.metmuseum.org/private/DT274230.jpg"
    result = scrape("paintings", "--genre", "cityscape", "--source", "met,cleveland", "--limit", "10")
    assert result.status("met-438101") == "skipped" and result.reason("met-438101") == "robots-disallowed"
    assert not server.requests_for("/private/DT274230.jpg")
    assert result.done() == ["cleveland-93014", "met-436535"]
    (first, *_), (second, *_) = server.requests_for(CLEVELAND_IMAGE)[0], server.requests_for(MET_OTHER_IMAGE)[0]
    assert second - first >= 0.95  # Crawl-delay: 1 between the two robots-governed image fetches


def test_robots_unreachable_means_disallow_all(scrape, server):
    server.always["/robots.txt"] = {"status": 503}
    result = run_met(scrape, "--retries", "0")
    assert result.reason("met-438101") == "robots-unreachable"
    assert server.image_paths() == []


def test_missing_robots_means_allow_all(scrape, server):
    server.always["/robots.txt"] = {"status": 404}
    assert run_met(scrape).done() == ["met-436535", "met-438101"]


def test_safebooru_error_reply_with_http_200_skips_the_source(scrape, server, capsys):
    server.safebooru_mode = "error"
    result = scrape("safebooru", "--tags", "bonocho", "--limit", "10")
    assert result.code == 1  # every source used failed
    assert result.lines == []
    assert result.files("anime") == []
    assert "source skipped: safebooru (safebooru: search down)" in capsys.readouterr().out


def test_met_object_not_public_domain_is_skipped_without_fetching(scrape, server):
    server.data["met_object_438101"]["isPublicDomain"] = False
    result = run_met(scrape)
    assert result.reason("met-438101") == "not-public-domain"
    assert result.reason("met-437133") == "not-public-domain"
    assert server.image_paths() == [MET_OTHER_IMAGE]
    assert result.files("cityscape") == ["met-436535.jpg", "met-436535.json"]


def test_failing_source_is_reported_and_the_others_continue(scrape, server, capsys):
    server.always["/artic/artworks/search"] = {"status": 500}
    result = scrape("paintings", "--genre", "landscape", "--source", "artic,met", "--limit", "10", "--retries", "1")
    assert result.code == 3  # some sources failed, the others' images are in
    assert result.done() == ["met-436535", "met-438101"]
    assert len(server.requests_for("/artic/artworks/search")) == 2
    assert "source skipped: artic (http-500" in capsys.readouterr().out


def test_a_failing_object_request_fails_only_that_item(scrape, server):
    server.always["/met/objects/438101"] = {"status": 500}
    result = run_met(scrape, "--retries", "1")
    assert result.status("met-438101") == "failed" and result.reason("met-438101") == "http-500"
    assert result.status("met-436535") == "done"


def test_a_source_whose_downloads_keep_failing_is_given_up(scrape, server, capsys):
    for path in (MET_IMAGE, MET_OTHER_IMAGE):
        server.always[path] = {"html": True}
    result = run_met(scrape, "--max-consecutive-failures", "2")
    assert "source skipped: met (2 items in a row failed)" in capsys.readouterr().out
    assert result.done() == []


def test_a_reply_with_an_unexpected_shape_costs_only_that_source(scrape, server, capsys):
    server.data["artic_search"] = ["not", "an", "object"]
    result = scrape("paintings", "--genre", "landscape", "--source", "artic,met", "--limit", "10")
    assert result.code == 3 and result.done() == ["met-436535", "met-438101"]
    assert "source skipped: artic (unexpected reply" in capsys.readouterr().out
