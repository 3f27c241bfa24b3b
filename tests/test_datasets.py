"""Bundled and simulated data sets."""

import numpy as np
import pytest
from sklearn import datasets as skd

from shrinkage import datasets


def test_diabetes_wraps_sklearn():
    d = datasets.load_diabetes()
    raw = skd.load_diabetes()
    assert d.X.shape == (442, 10) and d.family == "gaussian"
    np.testing.assert_array_equal(d.X, raw.data)
    np.testing.assert_array_equal(d.y, raw.target)
    assert list(d.feature_names) == list(raw.feature_names)
    assert d.n_samples == 442 and d.n_features == 10


def test_breast_cancer_wraps_sklearn():
    d = datasets.load_breast_cancer()
    raw = skd.load_breast_cancer()
    assert d.X.shape == (569, 30) and d.family == "binomial"
    np.testing.assert_array_equal(d.y, raw.target)
    assert set(np.unique(d.y)) == {0.0, 1.0}
    assert d.extra["class_names"] == ["malignant", "benign"]


def test_noisy_curve_is_seeded_and_has_the_stated_noise():
    a = datasets.make_noisy_curve(50, random_state=3)
    b = datasets.make_noisy_curve(50, random_state=3)
    c = datasets.make_noisy_curve(50, random_state=4)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert np.all(np.diff(a.x) >= 0) and a.x.min() >= 0 and a.x.max() <= 1
    np.testing.assert_allclose(a.f_grid, np.sin(2 * np.pi * a.x_grid) + 0.5 * a.x_grid)
    big = datasets.make_noisy_curve(20000, noise_sd=0.3, random_state=0)
    resid = big.y - (np.sin(2 * np.pi * big.x) + 0.5 * big.x)
    # sd of 20000 normal draws: relative standard error 1/sqrt(2n) = 0.5%; allow 3%.
    assert abs(resid.std() / 0.3 - 1) < 0.03
    assert abs(resid.mean()) < 4 * 0.3 / np.sqrt(20000)
    flat = datasets.make_noisy_curve(5, noise_sd=0.0)
    np.testing.assert_allclose(flat.y, np.sin(2 * np.pi * flat.x) + 0.5 * flat.x)


def test_sparse_regression_truth_and_correlation():
    d = datasets.make_sparse_regression(4000, 20, n_informative=4, rho=0.6, snr=2.0,
                                        random_state=1)
    assert np.count_nonzero(d.coef) == 4 and d.coef[0] == 1 and d.coef[-1] == 1
    lag1 = np.mean([np.corrcoef(d.X[:, j], d.X[:, j + 1])[0, 1] for j in range(19)])
    lag2 = np.mean([np.corrcoef(d.X[:, j], d.X[:, j + 2])[0, 1] for j in range(18)])
    assert abs(lag1 - 0.6) < 0.03 and abs(lag2 - 0.36) < 0.03
    np.testing.assert_allclose(d.X.var(axis=0), 1.0, atol=0.1)
    signal = d.X @ d.coef
    noise = d.y - signal
    assert abs(noise.std() - d.extra["noise_sd"]) / d.extra["noise_sd"] < 0.05
    assert abs(signal.var() / noise.var() - 2.0) < 0.25
    again = datasets.make_sparse_regression(4000, 20, n_informative=4, rho=0.6, snr=2.0,
                                            random_state=1)
    np.testing.assert_array_equal(d.y, again.y)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_sparse_glm_responses(family):
    d = datasets.make_sparse_regression(3000, 10, n_informative=3, snr=4.0, family=family,
                                        random_state=0)
    eta = d.X @ d.coef
    assert abs(eta.var() - 1.0) < 0.1  # snr / 4
    if family == "binomial":
        assert set(np.unique(d.y)) == {0.0, 1.0}
        # Mean of y matches the model's mean probability.
        assert abs(d.y.mean() - np.mean(1 / (1 + np.exp(-eta)))) < 0.03
    else:
        assert np.all(d.y >= 0) and np.all(d.y == np.round(d.y))
        assert abs(d.y.mean() - np.mean(np.exp(eta))) < 0.08


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_informative"):
        datasets.make_sparse_regression(10, 3, n_informative=4)
    with pytest.raises(ValueError, match="rho"):
        datasets.make_sparse_regression(10, 8, rho=1.0)
    with pytest.raises(ValueError, match="snr"):
        datasets.make_sparse_regression(10, 8, snr=0)
    with pytest.raises(ValueError, match="family"):
        datasets.make_sparse_regression(10, 8, family="gamma")
    with pytest.raises(TypeError, match="n_samples"):
        datasets.make_sparse_regression(10.5, 3)
    with pytest.raises(ValueError, match="random_state"):
        datasets.make_noisy_curve(10, random_state=-1)
    with pytest.raises(ValueError, match="noise_sd"):
        datasets.make_noisy_curve(10, noise_sd=-0.1)
    with pytest.raises(ValueError, match="n_samples"):
        datasets.make_noisy_curve(1)
