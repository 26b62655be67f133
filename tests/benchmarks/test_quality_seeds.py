"""benchmarks/quality_seeds.py: several seeds of one quality.py comparison summed up per setting."""
import json

import pytest


@pytest.fixture
def seeds(load_benchmark):
    return load_benchmark("quality_seeds")


def invocation(folder, seed, kids, data="paintings", r1=0.025):
    """A quality.json as quality.py writes it: {label: [(kimg, KID), ...]}."""
    folder.mkdir(parents=True)
    runs = {label: {"points": [{"kimg": kimg, "train_seconds": 1.0, "KID(effnet-lite0)": kid,
                                "FID(effnet-lite0)": 1000 * kid} for kimg, kid in points]}
            for label, points in kids.items()}
    results = {"data": data, "resolution": 128, "num": 2000, "extractor": "effnet-lite0", "seed": seed, "runs": runs,
               "configs": {label: {"model": "stylegan", "r1_weight": r1, "augment": label} for label in kids}}
    (folder / "quality.json").write_text(json.dumps(results))
    return str(folder)


def test_means_over_seeds_and_the_paired_comparison(tmp_path, seeds, capsys):
    folders = [
        invocation(tmp_path / "s0", 0, {"none": [(40, 0.20), (80, 0.20)], "diffaug": [(40, 0.25), (80, 0.15)]}),
        invocation(tmp_path / "s1", 1, {"none": [(80, 0.30)], "diffaug": [(80, 0.18)]}),
        invocation(tmp_path / "s2", 2, {"none": [(40, 0.22), (80, 0.22)], "diffaug": [(40, 0.20), (80, 0.24)]}),
    ]
    out = tmp_path / "summary.json"
    assert seeds.main(folders + ["--baseline", "none", "--json", str(out)]) == 0
    rows = {(row["label"], row["kimg"]): row for row in json.loads(out.read_text())["rows"]}
    assert rows[("none", 80)]["seeds"] == [0, 1, 2] and rows[("none", 80)]["kid_mean"] == pytest.approx(0.24)
    assert rows[("none", 80)]["kid_stderr"] == pytest.approx(0.0305505, rel=1e-4)
    diffaug = rows[("diffaug", 80)]
    assert diffaug["kid_lower_than_baseline"] == pytest.approx(1 - 0.19 / 0.24)
    assert diffaug["lower_on_seeds"] == 2 and diffaug["paired_seeds"] == [0, 1, 2]
    early = rows[("diffaug", 40)]  # seed 1 has no 40-kimg point: compared over seeds 0 and 2
    assert early["paired_seeds"] == [0, 2] and early["kid_lower_than_baseline"] == pytest.approx(1 - 0.225 / 0.21)
    printed = capsys.readouterr().out
    assert "| diffaug | 80 | 0, 1, 2 | 0.150, 0.180, 0.240 | 0.190 ± 0.026 | 190 | 21% lower | 2 of 3 seeds |" in printed
    assert "| diffaug | 40 | 0, 2 | 0.250, 0.200 | 0.225 ± 0.025 | 225 | 7% higher | 1 of 2 seeds |" in printed


def test_only_seeds_may_differ(tmp_path, seeds):
    s0 = invocation(tmp_path / "s0", 0, {"none": [(40, 0.2)], "ada": [(40, 0.2)]})
    other_data = invocation(tmp_path / "d", 1, {"none": [(40, 0.2)]}, data="faces")
    with pytest.raises(SystemExit, match="differ in data"):
        seeds.main([s0, other_data])
    other_ada = invocation(tmp_path / "r", 1, {"none": [(40, 0.2)], "ada": [(40, 0.2)]}, r1=0.1)
    with pytest.raises(SystemExit, match=r"run 'ada' has other settings .*\(r1_weight\)"):
        seeds.main([s0, other_ada])
    with pytest.raises(SystemExit, match="seed 0 twice"):
        seeds.main([s0, s0])
    with pytest.raises(SystemExit, match="no run is labelled 'diffaug'"):
        seeds.main([s0, "--labels", "none,diffaug"])
    with pytest.raises(SystemExit, match="--baseline 'ada' is not among"):
        seeds.main([s0, "--labels", "none", "--baseline", "ada"])
    with pytest.raises(SystemExit, match="cannot read it"):
        seeds.main([str(tmp_path / "absent")])
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a quality.json"):
        seeds.main([str(tmp_path / "bad.json")])


def test_a_folder_can_lend_only_some_of_its_runs(tmp_path, seeds, capsys):
    """FOLDER:LABEL,LABEL: seed 1's 'ada' is another recipe, so only its 'none' joins the table."""
    s0 = invocation(tmp_path / "s0", 0, {"none": [(40, 0.20)], "ada": [(40, 0.10)]})
    s1 = invocation(tmp_path / "s1", 1, {"none": [(40, 0.30)], "ada": [(40, 0.50)]})
    saved = json.loads((tmp_path / "s1" / "quality.json").read_text())
    saved["configs"]["ada"]["ada_target"] = 0.6
    (tmp_path / "s1" / "quality.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="run 'ada' has other settings .*FOLDER:LABEL,LABEL"):
        seeds.main([s0, s1])
    assert seeds.main([s0, s1 + ":none", "--baseline", "none"]) == 0
    printed = capsys.readouterr().out
    assert "| none | 40 | 0, 1 | 0.200, 0.300 | 0.250 ± 0.050 | 250 |" in printed
    assert "| ada | 40 | 0 | 0.100 | 0.100 ± nan | 100 | 50% lower | 1 of 1 seeds |" in printed
    with pytest.raises(SystemExit, match=r"no run labelled 'diffaug' \(the runs of .*: none, ada\)"):
        seeds.main([s0, s1 + ":none,diffaug"])
    with pytest.raises(SystemExit, match="no label after the colon"):
        seeds.main([s0, s1 + ":"])


def test_an_invocation_that_trained_with_seeds_is_summed_up_per_seed(tmp_path, seeds, capsys):
    """quality.py --seeds labels its runs LABEL@seedN in one quality.json."""
    folder = tmp_path / "both"
    folder.mkdir()
    runs, configs = {}, {}
    for seed, (none, ada) in enumerate([(0.20, 0.15), (0.30, 0.21)]):
        for label, kid in (("none", none), ("ada", ada)):
            runs[f"{label}@seed{seed}"] = {"points": [{"kimg": 40, "KID(effnet-lite0)": kid, "FID(effnet-lite0)": 1000 * kid}]}
            configs[f"{label}@seed{seed}"] = {"model": "stylegan", "r1_weight": 0.025, "augment": label}
    (folder / "quality.json").write_text(json.dumps({
        "data": "paintings", "resolution": 128, "num": 2000, "extractor": "effnet-lite0", "seed": 0, "seeds": [0, 1],
        "runs": runs, "configs": configs}))
    assert seeds.main([str(folder), "--baseline", "none"]) == 0
    printed = capsys.readouterr().out
    assert "| ada | 40 | 0, 1 | 0.150, 0.210 | 0.180 ± 0.030 | 180 | 28% lower | 2 of 2 seeds |" in printed
    assert seeds.main([f"{folder}:ada", str(invocation(tmp_path / "s2", 2, {"ada": [(40, 0.18)]}))]) == 0
    assert "| ada | 40 | 0, 1, 2 | 0.150, 0.210, 0.180 | 0.180 ± 0.017 |" in capsys.readouterr().out
