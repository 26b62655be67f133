"""scripts/refresh_notebook_outputs.py: stored outputs show what a reader would see, once."""
import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_script():
    path = REPO_ROOT / "scripts" / "refresh_notebook_outputs.py"
    spec = importlib.util.spec_from_file_location("refresh_notebook_outputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


def test_a_redrawn_progress_bar_is_stored_in_its_last_state():
    script = load_script()
    outputs = [stream("stderr", "\rtraining:   0%| 0/20k"), stream("stderr", "\rtraining:  50%| 10k/20k"),
               stream("stderr", "\rtraining: 100%| 20k/20k"), stream("stderr", "\n"),
               stream("stdout", "done: 20.0 kimg\n")]
    tidied = script.tidy(outputs)
    assert tidied == [stream("stderr", "training: 100%| 20k/20k\n"), stream("stdout", "done: 20.0 kimg\n")]


def test_streams_keep_their_order_and_runtime_chatter_goes():
    script = load_script()
    outputs = [stream("stdout", "a\n"), stream("stderr", "I0000 00:00 port.cc:153] oneDNN\n"),
               stream("stdout", "b\n"), stream("stdout", "c\r\n")]
    assert script.tidy(outputs) == [stream("stdout", "a\n"), stream("stdout", "b\nc\n")]


def test_lines_without_carriage_returns_are_unchanged():
    script = load_script()
    assert script.as_terminal_shows("one\n\ntwo\n") == "one\n\ntwo\n"
