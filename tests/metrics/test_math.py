"""FID, KID, precision/recall and MS-SSIM config on synthetic features (no network, no models)."""
import numpy as np
import pytest
import scipy.linalg

from keras_gans.metrics.diversity import msssim_config, random_pairs
from keras_gans.metrics.fid import feature_statistics, fid_from_features, frechet_distance, trace_sqrt_product
from keras_gans.metrics.kid import kernel_distance, polynomial_mmd2_unbiased
from keras_gans.metrics.precision_recall import knn_radii, precision_recall


def test_fid_closed_form_gaussians():
    # Diagonal covariances: FID = |mu1-mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)) = ... + sum (sqrt s1 - sqrt s2)^2
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = rng.uniform(0.5, 2, 8), rng.uniform(0.5, 2, 8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)
    # Rotated versions of the same Gaussians (non-diagonal, commuting): same distance.
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T) == pytest.approx(expected, rel=1e-8)


def test_fid_of_samples_approaches_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, size=(20000, 4))
    b = rng.normal(0.5, 2.0, size=(20000, 4))
    expected = 4 * 0.5 ** 2 + 4 * (1 - np.sqrt(4)) ** 2
    assert fid_from_features(a, b) == pytest.approx(expected, rel=0.05)


def test_trace_sqrt_matches_scipy_sqrtm():
    rng = np.random.default_rng(2)
    f1, f2 = rng.normal(size=(300, 64)), rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64)) * 0.3
    (m1, s1), (m2, s2) = feature_statistics(f1), feature_statistics(f2)
    root = scipy.linalg.sqrtm(s1 @ s2)
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(root).real, rel=1e-6)
    reference = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-6)


def test_fid_with_itself_is_zero():
    features = np.random.default_rng(3).normal(size=(500, 32))
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)


def test_kid_unbiased_near_zero_for_one_distribution_and_positive_otherwise():
    rng = np.random.default_rng(4)
    values, biased = [], []
    for _ in range(300):
        x, y = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
        values.append(polynomial_mmd2_unbiased(x, y))
        kxx, kyy, kxy = ((a @ b.T / 8 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    standard_error = np.std(values) / np.sqrt(len(values))
    # unbiased: the mean of the estimates is 0 within noise (single estimates go negative) ...
    assert abs(np.mean(values)) < 3 * standard_error
    assert min(values) < 0
    # ... whereas the biased V-statistic is clearly positive for the same samples
    assert np.mean(biased) > 10 * standard_error
    same = kernel_distance(rng.normal(size=(400, 16)), rng.normal(size=(400, 16)), num_subsets=20, subset_size=200)[0]
    shifted = kernel_distance(rng.normal(size=(400, 16)), rng.normal(0.5, 1, size=(400, 16)), num_subsets=20, subset_size=200)[0]
    assert shifted > 0.1 and abs(same) < 0.02


def test_mmd_unbiased_estimator_by_hand():
    x, y = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0]])
    k = lambda a, b: (a * b + 1) ** 3  # noqa: E731
    xx = sum(k(a, b) for i, a in enumerate(x[:, 0]) for j, b in enumerate(x[:, 0]) if i != j) / 6
    yy = sum(k(a, b) for i, a in enumerate(y[:, 0]) for j, b in enumerate(y[:, 0]) if i != j) / 2
    xy = sum(k(a, b) for a in x[:, 0] for b in y[:, 0]) / 6
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_precision_recall_extremes():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(300, 8))
    assert precision_recall(real, rng.normal(size=(300, 8)))[0] > 0.6
    far = rng.normal(size=(300, 8)) + 50
    assert precision_recall(real, far) == (0.0, 0.0)
    # a collapsed generator: perfect precision, poor recall
    collapsed = real[:5].repeat(60, axis=0) + rng.normal(scale=1e-3, size=(300, 8))
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.2


def test_knn_radii_excludes_self():
    points = np.array([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(points, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("resolution", [32, 48, 64, 128, 256])
def test_msssim_config_fits_resolution(resolution):
    config = msssim_config(resolution)
    coarsest = resolution / 2 ** (config.scales - 1)
    assert coarsest >= config.filter_size
    assert sum(config.power_factors) == pytest.approx(1.0)
    assert config.scales >= 3


def test_random_pairs_distinct():
    first, second = random_pairs(10, 1000)
    assert len(first) == 45 and (first != second).all()
    first, second = random_pairs(1000, 100)
    assert len(first) == 100 and (first != second).all()
