"""Training speed of the article's own StyleGAN code and of keras_gans' `stylegan-article`
preset (the same networks, layer for layer) in float32 and bfloat16, measured in one invocation.

    python benchmarks/article_side_by_side.py                         # 64, 128 and 256 px, four rounds
    python benchmarks/article_side_by_side.py --resolutions 64 --rounds 8

At every resolution the runs go back to back, each in a fresh process (batch 4, random images,
median of 3 timed runs after a warm-up): the article's code through
../shared/anchors/stylegan-keras/article.py in its venv, then ours through
benchmarks/train_throughput.py in float32 and in mixed_bfloat16, at equal work: with
`share_fakes=false`, so that our D and G updates each draw their own fakes as the article's do.
`--shared-fakes` adds a float32 run with the preset's default `share_fakes=true` (one generator
pass serving both updates), labelled as such.

TensorFlow's CPU kernels: keras_gans turns on TensorFlow's oneDNN kernels (keras_gans/__init__.py),
which TensorFlow leaves off on CPUs without AVX-512 VNNI/BF16 or AMX. The article's code runs as
it ships, with TensorFlow's default for the CPU (TF_ENABLE_ONEDNN_OPTS unset); `--article-onednn`
also runs it with TF_ENABLE_ONEDNN_OPTS=1, so that the table shows how much of the difference
is the kernels and how much the rest. Likewise keras_gans runs a tiny step (batch 4 at 64x64) with
each operation on one core and several side by side (``--cpu-threading auto``);
`--article-same-settings` also runs the article's code with oneDNN and that threading. The order rotates from round
to round and the figure of each cell is its median over rounds, so the machine's drift between
hours (2x on the development machine) cannot masquerade as a ratio. GFLOP per image is counted
by TensorFlow's profiler on each side's own training step (benchmarks/article_anchor.py for the
article's four compiled functions, train_throughput.py for ours); GFLOP/s is that count times
images per second. Prints one table and writes every figure to --out as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from article_anchor import ARTICLE_DIR, FLOPS_PREFIX, REPO_ROOT, article_python  # noqa: E402

from keras_gans.training.strategy import is_small_step, usable_cores  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULT_PREFIX = "RESULT "  # train_throughput.py's child output
SYSTEMS = ("article", "float32", "bfloat16")  # our two at equal work (share_fakes=false)
SHARED_FAKES = "float32, share_fakes"
ARTICLE_ONEDNN = "article, oneDNN"
ARTICLE_SAME = "article, our settings"  # oneDNN and the CPU threading keras_gans picks for the step


def _run(command: list[str], what: str, onednn: bool | None = None, parallel_ops: bool = False) -> str:
    """Runs ``command``; ``onednn`` sets TF_ENABLE_ONEDNN_OPTS (None: unset, TensorFlow's default);
    ``parallel_ops`` runs each TensorFlow operation on one core, several side by side."""
    threading = ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    env = {key: value for key, value in os.environ.items() if key not in threading}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO_ROOT)})
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn else "0"
    if parallel_ops:
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS=str(usable_cores()))
    process = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if process.returncode != 0:
        raise SystemExit(f"{what} failed (exit {process.returncode}): {' '.join(command)}\n{process.stderr[-3000:]}")
    return process.stdout


def article_speed(python: str, resolution: int, onednn: bool | None = None, parallel_ops: bool = False) -> float:
    output = _run([python, str(ARTICLE_DIR / "article.py"), "speed", str(resolution)], f"the article's code at {resolution}px",
                  onednn=onednn, parallel_ops=parallel_ops)
    found = re.search(r"ARTICLE res=\d+ batch=\d+ img/s=([\d.]+)", output)
    if not found:
        raise SystemExit(f"article.py printed no speed at {resolution}px:\n{output[-2000:]}")
    return float(found.group(1))


def article_flops(python: str, resolution: int) -> float:
    output = _run([python, str(HERE / "article_anchor.py"), "flops", str(resolution)], f"counting the article's FLOPs at {resolution}px")
    lines = [line for line in output.splitlines() if line.startswith(FLOPS_PREFIX)]
    if not lines:
        raise SystemExit(f"article_anchor.py printed no FLOP count at {resolution}px:\n{output[-2000:]}")
    return float(json.loads(lines[-1][len(FLOPS_PREFIX):])["flop_per_image"])


def ours(resolution: int, bfloat16: bool, share_fakes: bool = False) -> dict:
    command = [sys.executable, str(HERE / "train_throughput.py"), "--resolution", str(resolution),
               "--preset", "stylegan-article", "--repeats", "3", "--set", f"share_fakes={str(share_fakes).lower()}"]
    command += ["--mixed-precision"] * bfloat16
    output = _run(command, f"keras_gans stylegan-article at {resolution}px{' bf16' if bfloat16 else ''}")
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise SystemExit(f"train_throughput.py printed no result at {resolution}px:\n{output[-2000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def measure(args) -> dict:
    python = article_python(args.article_python)
    resolutions = [int(r) for r in args.resolutions.split(",")]
    systems = tuple(s for s in SYSTEMS if not (args.no_bfloat16 and s == "bfloat16")) + ((SHARED_FAKES,) if args.shared_fakes else ()) + ((ARTICLE_ONEDNN,) if args.article_onednn else ()) + ((ARTICLE_SAME,) if args.article_same_settings else ())
    speeds = {r: {system: [] for system in systems} for r in resolutions}
    flops = {r: {} for r in resolutions}
    threading = {}
    for round_index in range(args.rounds):
        for resolution in resolutions:
            shift = round_index % len(systems)
            for system in systems[shift:] + systems[:shift]:
                if system == ARTICLE_SAME:
                    rate = article_speed(python, resolution, onednn=True,
                                         parallel_ops=is_small_step(4, resolution))
                elif system in ("article", ARTICLE_ONEDNN):
                    rate = article_speed(python, resolution, onednn=True if system == ARTICLE_ONEDNN else None)
                else:
                    result = ours(resolution, bfloat16=system == "bfloat16", share_fakes=system == SHARED_FAKES)
                    rate = result["images_per_second"]
                    flops[resolution][system] = result["gflop_per_image"] * 1e9
                    threading[resolution] = result.get("cpu_threading", "")
                speeds[resolution][system].append(rate)
                print(f"round {round_index + 1} {resolution}x{resolution} {system}: {rate:.2f} img/s", flush=True)
            if "article" not in flops[resolution]:
                flops[resolution]["article"] = article_flops(python, resolution)
            for system in (ARTICLE_ONEDNN, ARTICLE_SAME):
                if system in systems:
                    flops[resolution][system] = flops[resolution]["article"]
    rows = []
    for resolution in resolutions:
        rate = {system: statistics.median(speeds[resolution][system]) for system in systems}
        gflop = {system: flops[resolution][system] / 1e9 for system in systems}
        rows.append({
            "resolution": resolution,
            "img_per_s": rate,
            "all_runs": speeds[resolution],
            "ratio_to_article": {system: rate[system] / rate["article"] for system in systems[1:]},
            # Each round's own ratios: how well one invocation reproduces another.
            "ratio_per_round": {
                system: [ours / article for ours, article in zip(speeds[resolution][system], speeds[resolution]["article"])]
                for system in systems[1:]
            },
            "gflop_per_image": gflop,
            "work_ratio": gflop["float32"] / gflop["article"],
            "achieved_gflops": {system: gflop[system] * rate[system] for system in systems},
            "our_cpu_threading": threading.get(resolution, ""),
        })
    return {"batch": 4, "rounds": args.rounds, "equal_work": "share_fakes=false", "rows": rows}


def table(result: dict) -> str:
    shared = SHARED_FAKES in result["rows"][0]["img_per_s"]
    onednn = ARTICLE_ONEDNN in result["rows"][0]["img_per_s"]
    same = ARTICLE_SAME in result["rows"][0]["img_per_s"]
    lines = [
        "| resolution | article's code | keras_gans float32 | keras_gans bfloat16 | GFLOP/img article / ours (ratio) "
        "| GFLOP/s article / f32 / bf16 |" + (" float32, share_fakes=true |" if shared else "")
        + (" article's code with oneDNN (f32 / bf16 ratio to it) |" if onednn else "")
        + (" article's code with our settings (f32 / bf16 ratio to it) |" if same else ""),
        "|---|---|---|---|---|---|" + ("---|" if shared else "") + ("---|" if onednn else "") + ("---|" if same else ""),
    ]
    bfloat16 = "bfloat16" in result["rows"][0]["img_per_s"]
    for row in result["rows"]:
        rate, ratio, gflop, achieved = row["img_per_s"], row["ratio_to_article"], row["gflop_per_image"], row["achieved_gflops"]
        line = (
            f"| {row['resolution']}x{row['resolution']} | {rate['article']:.2f} img/s "
            f"| {rate['float32']:.2f} ({ratio['float32']:.2f}x) "
            + (f"| {rate['bfloat16']:.2f} ({ratio['bfloat16']:.2f}x) " if bfloat16 else "| not run ")
            + f"| {gflop['article']:.2f} / {gflop['float32']:.2f} ({row['work_ratio']:.2f}) "
            f"| {achieved['article']:.0f} / {achieved['float32']:.0f} / "
            + (f"{achieved['bfloat16']:.0f} |" if bfloat16 else "- |")
        )
        if shared:
            line += f" {rate[SHARED_FAKES]:.2f} ({ratio[SHARED_FAKES]:.2f}x, {gflop[SHARED_FAKES]:.2f} GFLOP/img) |"
        for present, system in ((onednn, ARTICLE_ONEDNN), (same, ARTICLE_SAME)):
            if present:
                base = rate[system]
                line += f" {base:.2f} img/s ({rate['float32'] / base:.2f}x / " + (
                    f"{rate['bfloat16'] / base:.2f}x) |" if bfloat16 else "-) |")
        lines.append(line)
    lines.append("")
    lines += [f"ours at {row['resolution']}x{row['resolution']}: {row['our_cpu_threading']}"
              for row in result["rows"] if row.get("our_cpu_threading")]
    if result["rounds"] > 1:
        lines.append("")
        lines.append("ratio to the article's code in each round (float32 / bfloat16):")
        for row in result["rows"]:
            per_round = row["ratio_per_round"]
            if bfloat16:
                cells = (f"{a:.2f} / {b:.2f}" for a, b in zip(per_round["float32"], per_round["bfloat16"]))
            else:
                cells = (f"{a:.2f} / -" for a in per_round["float32"])
            lines.append(f"  {row['resolution']}x{row['resolution']}: " + ", ".join(cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", default="64,128,256")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds of all three systems, the median reported (default 4: single rounds at 64x64 "
                        "scatter by 10-20%%, docs/benchmarks.md)")
    parser.add_argument("--shared-fakes", action="store_true",
                        help="also time float32 with share_fakes=true (one generator pass for both updates)")
    parser.add_argument("--no-bfloat16", action="store_true",
                        help="skip our bfloat16 runs (on CPUs without bfloat16 arithmetic they are many times slower)")
    parser.add_argument("--article-onednn", action="store_true",
                        help="also time the article's code with TF_ENABLE_ONEDNN_OPTS=1 (the kernels keras_gans turns on)")
    parser.add_argument("--article-same-settings", action="store_true",
                        help="also time the article's code with oneDNN and the CPU threading keras_gans picks "
                        "for the step (parallel-ops for batch 4 at 64x64)")
    parser.add_argument("--article-python", help="python of the article's venv (default: what its setup.sh prints)")
    parser.add_argument("--out", default="runs/article_side_by_side.json")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not (ARTICLE_DIR / "article.py").is_file():
        raise SystemExit(f"the article's code is not at {ARTICLE_DIR}: this benchmark needs the team's ../shared folder")
    result = measure(args)
    from keras_gans.io import write_json_atomic

    write_json_atomic(args.out, result)
    print(table(result))
    print(f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
