"""The Keras FID Inception against pytorch-fid, its weight files, download and CLI.

The real FID weights (92 MB, on GitHub) cannot be fetched here, so the architecture is checked on
deterministic random weights: tests/metrics/data/make_fid_inception_reference.py ran pytorch-fid's
own InceptionV3 (FIDInceptionA/C/E_1/E_2 blocks) on them with torch and recorded its features;
the same weights loaded into the Keras port must give the same features.
"""
import hashlib
import http.server
import importlib.util
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from keras_gans.metrics import fid_inception
from keras_gans.metrics.effnet_lite import WeightsUnavailable
from keras_gans.metrics.extractors import build_fid_inception, build_inception

from .conftest import write_images

DATA = Path(__file__).resolve().parent / "data"
_spec = importlib.util.spec_from_file_location("fid_reference_weights", DATA / "fid_reference_weights.py")
recipe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recipe)


@pytest.fixture(scope="module")
def reference_state():
    """pytorch-fid state-dict names and shapes (read off the Keras port) with the recipe's values."""
    import keras

    state = {}
    for layer in fid_inception.build_fid_inception().layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            state[f"{layer.name}.conv.weight"] = recipe.tensor_for(f"{layer.name}.conv.weight", (cout, cin, kh, kw))
            for part in ("weight", "bias", "running_mean", "running_var"):
                state[f"{layer.name}.bn.{part}"] = recipe.tensor_for(f"{layer.name}.bn.{part}", (cout,))
    return state


@pytest.fixture(scope="module")
def reference_pth(reference_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "pt_inception-random.pth"
    recipe.write_torch_zip(path, reference_state)
    return path


def test_same_features_as_pytorch_fid(reference_state):
    expected = np.load(DATA / "fid_inception_reference.npz")
    extractor = build_fid_inception(reference_state)
    assert extractor.label == "inception-fid" and extractor.feature_dim == 2048
    for key, images in recipe.reference_images().items():  # 48 px (upsampled) and 320 px (shrunk)
        features = extractor(images)
        reference = expected[f"features_{key}"]
        # With torchvision's blocks instead (pools counting the padding, no max pool in
        # Mixed_7c) pytorch-fid's features move by up to 5.1 on these inputs: far above this.
        np.testing.assert_allclose(features, reference, atol=5e-5, rtol=1e-4, err_msg=key)


def test_loads_the_pth_file_and_labels_figures(reference_pth):
    extractor = build_inception(reference_pth)
    assert extractor.label == "inception-fid"
    assert str(reference_pth) in extractor.cache_identity
    images = recipe.reference_images()["small"]
    expected = np.load(DATA / "fid_inception_reference.npz")["features_small"]
    np.testing.assert_allclose(extractor(images), expected, atol=5e-5, rtol=1e-4)


def test_wrong_files_are_clear_errors(tmp_path, reference_state):
    with pytest.raises(WeightsUnavailable, match="no such file"):
        build_inception(tmp_path / "missing.pth")
    partial = tmp_path / "partial.pth"
    recipe.write_torch_zip(partial, {k: v for k, v in reference_state.items() if not k.startswith("Mixed_7c")})
    with pytest.raises(WeightsUnavailable, match="not the FID Inception weights.*Mixed_7c"):
        build_inception(partial)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a weights file")
    with pytest.raises(WeightsUnavailable, match="cannot read it as a PyTorch weights file"):
        build_inception(garbage)
    hostile = tmp_path / "hostile.pth"
    hostile.write_bytes(b"\x80\x02cos\nsystem\n(X\x04\x00\x00\x00trueTR.")
    with pytest.raises(WeightsUnavailable, match="refused to load os.system"):
        build_inception(hostile)


class _Server:
    def __init__(self, payload: bytes):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                if self.path != "/pt_inception.pth":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_download_is_cached_hash_checked_and_atomic(tmp_path):
    payload = b"weights" * 1000
    digest = hashlib.sha256(payload).hexdigest()
    server = _Server(payload)
    try:
        cache = tmp_path / "cache"
        with pytest.raises(WeightsUnavailable, match="expected 00000000"):
            fid_inception.fetch_fid_weights(f"{server.url}/pt_inception.pth", cache, sha256_prefix="00000000")
        assert not cache.exists() or not any(cache.iterdir())  # nothing half-written or unverified
        path = fid_inception.fetch_fid_weights(f"{server.url}/pt_inception.pth", cache, sha256_prefix=digest[:8])
        assert path.read_bytes() == payload and path.name == "pt_inception.pth"
        assert fid_inception.fetch_fid_weights(f"{server.url}/pt_inception.pth", cache, digest[:8]) == path
        with pytest.raises(WeightsUnavailable, match="could not download.*--inception-weights PATH"):
            fid_inception.fetch_fid_weights(f"{server.url}/missing.pth", cache, digest[:8])
    finally:
        server.close()


def test_evaluate_cli_reports_inception_fid(tmp_path, reference_pth, capsys):
    from keras_gans import evaluate

    real = write_images(tmp_path / "real", 6, seed=1)
    fake = write_images(tmp_path / "fake", 6, seed=2)
    code = evaluate.main(["--fake", str(fake), "--data", str(real), "--metrics", "fid", "--extractor", "inception",
                          "--inception-weights", str(reference_pth), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert np.isfinite(result["figures"]["FID(inception-fid)"])


def test_evaluate_cli_missing_weights_fail_before_sampling(tmp_path, capsys):
    from keras_gans import evaluate

    real = write_images(tmp_path / "real", 3, seed=1)
    code = evaluate.main(["--fake", str(real), "--data", str(real), "--extractor", "inception",
                          "--inception-weights", str(tmp_path / "nope.pth")])
    assert code == 2
    assert "nope.pth: no such file" in capsys.readouterr().err
