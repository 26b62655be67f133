"""The article's own StyleGAN code (../shared/anchors/stylegan-keras) as a runnable anchor.

Imported by the benchmarks that run it beside keras_gans (quality.py, article_side_by_side.py)
for where it lives and which Python runs it. Also a script for the article's venv (tf_keras),
which counts the FLOPs of the article's training step:

    $ARTICLE_PY benchmarks/article_anchor.py flops 64     # ARTICLE_FLOPS {"res": 64, ...}

It builds the article's four compiled training functions (D, G, and the style-mixing D and G),
cuts each one's subgraph out of the TF1 graph with batch 4 fixed in its placeholders and counts
its float operations with TensorFlow's profiler (2 per multiply-add, the same counter
train_throughput.py uses on our compiled step). The article trains D+G on 6 steps in 10 and the
mixing pair on the other 4, so FLOPs per image = (0.6 (D + G) + 0.4 (mixD + mixG)) / 4.
Only the standard library is imported at the top: this file must load under both Kerases.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
ARTICLE_DIR = SHARED / "anchors" / "stylegan-keras"
ARTICLE_BATCH = 4  # the article's code trains with batch 4
FLOPS_PREFIX = "ARTICLE_FLOPS "
# The article's schedule: train_dis/train_gen when steps % 10 <= 5, the mixing pair otherwise.
ARTICLE_STEP_MIX = {"DisModel": 0.6, "AdModel": 0.6, "MixModelD": 0.4, "MixModel": 0.4}


def article_python(explicit: str | None = None) -> str:
    """The Python of the article's venv: ``explicit``, else what its setup.sh prints (made once)."""
    if explicit:
        return explicit
    setup = ARTICLE_DIR / "setup.sh"
    if not setup.is_file():
        raise SystemExit(f"the article's code is not at {ARTICLE_DIR} (../shared/anchors beside the repository)")
    print("setting up the article's venv (once) ...", flush=True)
    result = subprocess.run(["bash", str(setup)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the article's setup.sh failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def _load_runner():
    """article.py under its own module name (the article's code is exec'd as a module named
    "article", and autograph resolves functions by module name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("article_runner", ARTICLE_DIR / "article.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


def count_flops(resolution: int) -> dict:
    """FLOPs of each of the article's training functions at batch 4, and per image (see above)."""
    import tensorflow as tf
    from tensorflow.python.framework import graph_util

    article = _load_runner().load_article(resolution, ARTICLE_BATCH)
    wgan = article.WGAN(lr=0.0001, silent=True)
    graph = tf.compat.v1.get_default_graph()
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    counts = {}
    for name in ARTICLE_STEP_MIX:
        model = getattr(wgan, name)
        model._make_train_function()
        function = model.train_function
        fetches = [tensor.op.name for tensor in function.outputs] + [function.updates_op.name]
        subgraph = graph_util.extract_sub_graph(graph.as_graph_def(), fetches)
        for node in subgraph.node:  # batch 4 in every placeholder, so every shape is known
            if node.op == "Placeholder" and "shape" in node.attr:
                dims = node.attr["shape"].shape.dim
                if len(dims) and dims[0].size == -1:
                    dims[0].size = ARTICLE_BATCH
        fixed = tf.Graph()
        with fixed.as_default():
            tf.compat.v1.import_graph_def(subgraph, name="")
        counts[name] = int(tf.compat.v1.profiler.profile(fixed, options=options).total_float_ops)
    per_step = sum(share * counts[name] for name, share in ARTICLE_STEP_MIX.items())
    return {"res": resolution, "functions": counts, "flop_per_image": per_step / ARTICLE_BATCH}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "flops":
        raise SystemExit("usage (in the article's venv): article_anchor.py flops RESOLUTION")
    print(FLOPS_PREFIX + json.dumps(count_flops(int(sys.argv[2]))), flush=True)
