"""Resumability: a run killed mid-download is completed by a rerun without downloading anything twice."""
import json
import subprocess

from scrapers.manifest import Manifest

MET_FIRST = "/CRDImages/ep/web-large/DT274230.jpg"
MET_LAST = "/CRDImages/ep/web-large/DP-42549-001.jpg"
ARTIC_PREFIX = "/iiif/2/"
ARGS = ("paintings", "--genre", "landscape", "--source", "met,artic", "--limit", "10")


def test_rerun_after_kill_completes_without_redownloading(server, cli_command, tmp_path, result_of, scrape):
    out = tmp_path / "out"
    # Met's last image (the fourth download in the interleaved order) stalls half-way through.
    server.inject(MET_LAST, {"stall": True, "seconds": 60})
    argv, env = cli_command(*ARGS, "--timeout", "60", out=out)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.wait_for_request(MET_LAST, timeout=30), process.stderr.read1().decode(errors="replace")
        partials = []
        for _ in range(100):  # the temp file appears once the headers are in
            partials = list((out / "landscape").glob(".partial-*"))
            if partials:
                break
            server.release.wait(0.05)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert partials, "the killed run should have been mid-download"
    killed = result_of(0, out)
    assert killed.done() == ["artic-16568", "artic-27992", "met-438101"]
    images_before = server.image_paths()

    result = scrape(*ARGS, out=out)
    assert result.code == 0
    assert result.done() == ["artic-16568", "artic-27992", "met-436535", "met-438101"]
    assert not list((out / "landscape").glob(".partial-*"))
    images_after = server.image_paths()[len(images_before):]
    assert images_after == [MET_LAST]  # only the one that never finished
    # Items already settled are not even looked up again at the API.
    assert len(server.requests_for("/met/objects/438101")) == 1
    assert len(server.requests_for("/met/objects/437133")) == 1


def test_exception_injected_mid_run_leaves_a_resumable_state(server, scrape, tmp_path, monkeypatch):
    import scrapers.collect as collect

    real_replace = collect.os.replace
    calls = {"n": 0}

    def failing_replace(src, dst):
        calls["n"] += 1
        if str(dst).endswith(".jpg") and calls["n"] > 2:
            raise KeyboardInterrupt  # what Ctrl-C in the middle of a rename would look like
        return real_replace(src, dst)

    monkeypatch.setattr(collect.os, "replace", failing_replace)
    interrupted = scrape(*ARGS)
    assert interrupted.code == 130
    assert len(interrupted.done()) == 1
    folder = interrupted.out / "landscape"
    assert not list(folder.glob(".partial-*"))
    monkeypatch.setattr(collect.os, "replace", real_replace)
    before = len(server.image_paths())
    result = scrape(*ARGS)
    assert len(result.done()) == 4
    assert len(server.image_paths()) - before == 3


def test_image_written_just_before_a_kill_is_adopted_not_downloaded(server, scrape):
    first = scrape(*ARGS)
    # Simulate a kill between the final rename and the manifest line: drop that line.
    manifest_path = first.out / "manifest.jsonl"
    lines = manifest_path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line)["key"] != "met-438101"]
    manifest_path.write_text("".join(kept))
    before = len(server.image_paths())
    again = scrape(*ARGS)
    assert again.status("met-438101") == "done"
    assert len(server.image_paths()) == before


def test_torn_last_manifest_line_is_dropped_and_appends_stay_clean(tmp_path):
    path = tmp_path / "manifest.jsonl"
    good = json.dumps({"key": "met-1", "status": "done", "genre": "portrait", "sha256": "ab"}) + "\n"
    path.write_text(good + '{"key": "met-2", "status": "do')
    with Manifest(path) as manifest:
        assert manifest.status("met-1") == "done" and manifest.status("met-2") is None
        assert manifest.done_count("portrait") == 1
        manifest.append(key="met-2", status="done", genre="portrait", sha256="cd")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["met-1", "met-2"]
    with Manifest(path) as manifest:
        assert manifest.owner_of("cd") == "met-2" and manifest.done_count("portrait") == 2


def test_later_manifest_lines_supersede_earlier_ones(tmp_path):
    path = tmp_path / "manifest.jsonl"
    with Manifest(path) as manifest:
        manifest.append(key="met-1", status="failed", reason="timeout", genre="portrait")
        manifest.append(key="met-1", status="done", genre="portrait", sha256="ab")
    with Manifest(path) as manifest:
        assert manifest.status("met-1") == "done" and manifest.done_count("portrait") == 1


def test_failed_items_are_retried_only_when_asked(server, scrape):
    server.inject(MET_FIRST, {"html": True})
    first = scrape(*ARGS)
    assert first.status("met-438101") == "failed"
    again = scrape(*ARGS)
    assert again.status("met-438101") == "failed" and len(server.requests_for(MET_FIRST)) == 1
    retried = scrape(*ARGS, "--retry-failed")
    assert retried.status("met-438101") == "done"
