"""End-to-end runs of every source against the fixture server: what lands on disk and in the manifest."""
import json


def test_met_keeps_public_domain_and_writes_sidecars(scrape, server):
    result = scrape("paintings", "--genre", "cityscape", "--source", "met", "--limit", "10")
    assert result.code == 0
    assert result.done() == ["met-436535", "met-438101"]
    assert result.status("met-437133") == "skipped"
    assert result.reason("met-437133") == "not-public-domain"
    assert result.files("cityscape") == ["met-436535.jpg", "met-436535.json", "met-438101.jpg", "met-438101.json"]

    sidecar = json.loads((result.out / "cityscape" / "met-438101.json").read_text())
    assert sidecar["source"] == "met"
    assert sidecar["landing_url"] == "https://www.metmuseum.org/art/collection/search/438101"
    assert sidecar["title"] == "Campo Santa Maria Zobenigo, Venice"
    assert sidecar["artist"] == "Canaletto (Giovanni Antonio Canal)"
    assert sidecar["date"] == "1730s"
    assert "public domain" in sidecar["licence"].lower()
    assert sidecar["image_url"] == "https://images.metmuseum.org/CRDImages/ep/web-large/DT274230.jpg"
    assert (sidecar["width"], sidecar["height"]) == server.image_size
    line = result.items["met-438101"]
    assert line["file"] == "cityscape/met-438101.jpg" and len(line["sha256"]) == 64
    # The search asked for paintings tagged with the mapped subject.
    _, _, query = server.requests_for("/met/search")[0]
    assert query["q"] == "Cities" and query["tags"] == "true" and query["medium"] == "Paintings"
    # The non-public-domain object's (absent) image was never requested.
    assert not any("437133" in p for p in server.image_paths())


def test_met_nonfree_only_with_flag_and_no_image_is_skipped(scrape):
    result = scrape("paintings", "--genre", "cityscape", "--source", "met", "--limit", "10", "--allow-nonfree")
    assert result.reason("met-437133") == "no-image"


def test_default_sources_are_the_four_museums(scrape, server):
    result = scrape("paintings", "--genre", "still-life", "--limit", "50")
    assert result.code == 0
    sources = {key.split("-")[0] for key in result.done()}
    assert sources == {"met", "artic", "cleveland", "commons"}
    assert not server.requests_for("/wikiart/paintings-by-genre/still-life")
    # Commons: CC BY-SA file skipped by licence; a listed file without image info is skipped too.
    assert result.reason("commons-23232323") == "not-public-domain"
    assert result.reason("commons-24242424") == "no-image-info"
    assert result.status("commons-18910101") == "done"
    sidecar = json.loads((result.out / "still-life" / "commons-18910101.json").read_text())
    assert sidecar["artist"] == "Ambrosius Bosschaert the Elder"  # HTML stripped
    assert sidecar["licence"] == "Public domain"
    assert sidecar["original_size"] == [4528, 5816]
    # AIC: IIIF URL built from config.iiif_url, and the courtesy header sent.
    assert any(p.startswith("/iiif/2/3c27b499-af56-f0d5-93b5-a7f2f1ad5813/full/843,/0/") for p in server.image_paths())
    _, _, artic_query = server.requests_for("/artic/artworks/search")[0]
    assert artic_query["query[term][is_public_domain]"] == "true"
    # Commons: paged through cmcontinue, walked into the subcategory, asked with maxlag.
    commons_queries = [q for _, _, q in server.requests_for("/commons/api.php")]
    assert any(q.get("cmcontinue") for q in commons_queries)
    assert any("subcategory" in q.get("cmtitle", "") for q in commons_queries)
    assert all(q["maxlag"] == "5" for q in commons_queries)


def test_commons_nonfree_kept_with_flag_and_small_originals_skipped(scrape):
    result = scrape(
        "paintings", "--genre", "still-life", "--source", "commons", "--limit", "50", "--allow-nonfree",
        "--category", "Category:Example flowers", "--min-size", "400",
    )
    # 320 px original: skipped from metadata before any download; the generated 96x80 bodies are
    # rejected by the pixel check after download, and nothing is left on disk.
    assert result.reason("commons-23232323") == "too-small"
    assert result.reason("commons-18910101") == "too-small"
    assert result.done() == []
    assert result.files("still-life") == []


def test_limit_counts_per_genre_over_all_sources(scrape):
    result = scrape("paintings", "--genre", "landscape", "--source", "met,artic,cleveland", "--limit", "3")
    assert len(result.done()) == 3
    # Interleaved: the first source does not take the whole quota.
    assert {key.split("-")[0] for key in result.done()} == {"met", "artic", "cleveland"}
    assert len([f for f in result.files("landscape") if f.endswith(".jpg")]) == 3
    again = scrape("paintings", "--genre", "landscape", "--source", "met,artic,cleveland", "--limit", "3")
    assert again.lines == result.lines  # limit already met: nothing new


def test_cleveland_keeps_only_cc0_even_with_allow_nonfree(scrape, server):
    item = server.data["cleveland_search"]["data"][0]
    item["share_license_status"] = "Copyrighted"
    result = scrape("paintings", "--genre", "landscape", "--source", "cleveland", "--limit", "5", "--allow-nonfree")
    assert result.reason("cleveland-93014") == "not-cc0"
    _, _, query = server.requests_for("/cleveland/artworks/")[0]
    assert query["cc0"] == "1" and query["type"] == "Painting"


def test_wikiart_only_when_named_and_with_allow_nonfree(scrape, server):
    result = scrape("paintings", "--genre", "portrait", "--source", "wikiart", "--limit", "5", "--allow-nonfree")
    assert result.done() == ["wikiart-577271cfedc2cb3880c2de61"]
    sidecar = json.loads((result.out / "portrait" / "wikiart-577271cfedc2cb3880c2de61.json").read_text())
    assert sidecar["landing_url"] == "https://www.wikiart.org/en/aleksandr-deyneka/winter-in-kursk-1916"
    assert sidecar["licence"].startswith("unknown")
    # The listing is an unofficial web endpoint, so robots.txt was read before it.
    assert server.requests_for("/robots.txt")
    assert server.requests_for("/wikiart/paintings-by-genre/portrait")


def test_safebooru_xml_with_rating_filter_into_label(scrape, server):
    server.data["safebooru_xml"] = server.data["safebooru_xml"].replace('rating="s" tags=" bonocho 2girls', 'rating="q" tags=" bonocho 2girls')
    result = scrape("safebooru", "--tags", "bonocho", "--limit", "10", "--label", "bonocho-test")
    assert result.code == 0
    assert result.done() == ["safebooru-2695", "safebooru-3410", "safebooru-3411"]
    assert result.reason("safebooru-2702") == "rating-questionable"
    sidecar = json.loads((result.out / "bonocho-test" / "safebooru-3411.json").read_text())
    assert sidecar["landing_url"] == "https://safebooru.org/index.php?page=post&s=view&id=3411"
    assert "long_hair" in sidecar["extra"]["tags"]
    assert sidecar["original_size"] == [850, 1200]
    _, _, query = server.requests_for("/safebooru/index.php")[0]
    assert query["tags"] == "bonocho" and query["page"] == "dapi" and query["pid"] == "0"


def test_safebooru_json_defaults_to_anime_folder(scrape):
    result = scrape("safebooru", "--tags", "1girl solo", "--limit", "2", "--json")
    assert len(result.done()) == 2
    assert len([f for f in result.files("anime") if f.endswith(".jpg")]) == 2


def test_duplicates_by_content_are_skipped_across_sources(scrape, server):
    server.image_alias["/1335.1917/1335.1917_web.jpg"] = "/CRDImages/ep/web-large/DT274230.jpg"
    result = scrape("paintings", "--genre", "cityscape", "--source", "met,cleveland", "--limit", "10")
    line = result.items["cleveland-93014"]
    assert line["status"] == "skipped" and line["reason"] == "duplicate"
    assert line["duplicate_of"] == "met-438101"
    assert not any(name.startswith("cleveland-") for name in result.files("cityscape"))


def test_summary_reports_counts(scrape, capsys):
    scrape("paintings", "--genre", "cityscape", "--source", "met", "--limit", "10")
    out = capsys.readouterr().out
    assert "summary: 2 downloaded; skipped 1 (not-public-domain 1); failed 0" in out
    assert "cityscape: 2/10 in the manifest" in out


def test_progress_bars_per_source_go_to_stderr(server, tmp_path, capsys):
    from scrapers.__main__ import main

    code = main([
        "paintings", "--genre", "cityscape", "--source", "met,cleveland", "--limit", "10",
        "--min-interval", "0", "--min-size", "32", "--out", str(tmp_path / "out"), *server.base_url_args(),
    ])
    captured = capsys.readouterr()
    assert code == 0
    assert "cityscape met" in captured.err and "cityscape cleveland" in captured.err
    assert "summary: 3 downloaded" in captured.out
