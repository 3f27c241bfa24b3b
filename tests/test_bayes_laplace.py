"""Laplace evidence for binomial / poisson ridge: MAP = reference fits, evidence = quadrature."""

import warnings

import numpy as np
import pytest
from scipy.special import expit, gammaln
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, PoissonRegressor

from shrinkage import units
from shrinkage.bayes import glm_evidence


def _logit_data(n, p, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, p) + 1
    beta = scale * rng.normal(size=p) / np.sqrt(p)
    y = (rng.uniform(size=n) < expit(0.3 + (X - 1) @ beta)).astype(float)
    return X, y


def _pois_data(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 0.5
    y = rng.poisson(np.exp(0.5 + X @ (rng.normal(size=p) * 0.5))).astype(float)
    return X, y


def test_binomial_map_equals_sklearn_logistic():
    X, y = _logit_data(120, 4, seed=0)
    w = np.random.default_rng(1).uniform(0.5, 2.0, 120)
    lams = [0.1, 0.01]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = glm_evidence(X, y, "binomial", lams=lams, sample_weight=w, standardize=False)
    for i, lam in enumerate(res.lams):
        C, _ = units.to_sklearn_logistic(lam, w.sum())
        m = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=w)
        np.testing.assert_allclose(res.coefs[i], m.coef_[0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(res.intercepts[i], m.intercept_[0], rtol=1e-6, atol=1e-8)
    assert np.all(res.gradient_norm < 1e-9 * w.sum())


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_map_without_intercept_is_the_engines_ridge(family):
    # standardize=True scales by the sd also without an intercept (as the engine does)
    from shrinkage import regularization_path

    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 3)) * [1.0, 2.0, 0.5] + [1.0, -2.0, 3.0]
    eta = 0.3 * X[:, 0] - 0.1 * X[:, 1]
    y = ((rng.random(60) < expit(eta)).astype(float) if family == "binomial"
         else rng.poisson(np.exp(0.2 * eta)).astype(float))
    res = glm_evidence(X, y, family, lams=[0.05], fit_intercept=False)
    eng = regularization_path(X, y, family, lams=[0.05], l1_ratio=0.0, fit_intercept=False,
                              tol=1e-12).coefs[0]
    np.testing.assert_allclose(res.coefs[0], eng, rtol=1e-6, atol=1e-9)


def test_poisson_map_equals_sklearn_poisson_regressor_standardized():
    X, y = _pois_data(100, 3, seed=2)
    res = glm_evidence(X, y, "poisson", lams=np.logspace(0, -4, 12))
    s = X.std(0)
    for i in (0, 5, 11):
        m = PoissonRegressor(alpha=res.lams[i], tol=1e-12, max_iter=10000).fit(X / s, y)
        np.testing.assert_allclose(res.coefs[i], m.coef_ / s, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res.intercepts[i], m.intercept_, rtol=1e-6)


def _log_marginal_quadrature(family, x, y, lam, g0, g1):
    """log of the integral of likelihood x N(b | 0, 1/alpha) over (b0, b) on a grid."""
    alpha = lam * len(y)
    B0, B1 = np.meshgrid(g0, g1, indexing="ij")
    ll = np.zeros_like(B0)
    for xi, yi in zip(x, y):  # accumulate over observations: no (grid x n) array
        eta = B0 + B1 * xi
        if family == "binomial":
            ll += yi * eta - np.logaddexp(0, eta)
        else:
            ll += yi * eta - np.exp(eta) - gammaln(yi + 1)
    lp = ll + 0.5 * np.log(alpha / (2 * np.pi)) - 0.5 * alpha * B1**2
    top = lp.max()
    return top + np.log(np.exp(lp - top).sum() * (g0[1] - g0[0]) * (g1[1] - g1[0]))


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_laplace_evidence_close_to_quadrature(family):
    """Intercept + one coefficient: Laplace is O(1/n) off; at n = 300 within 0.02 nats."""
    if family == "binomial":
        X, y = _logit_data(300, 1, seed=3, scale=2.0)
    else:
        X, y = _pois_data(300, 1, seed=4)
    lam = 0.02
    res = glm_evidence(X, y, family, lams=[lam], standardize=False)
    # grids of +-1 around the MAP: about +-7 posterior sd at n = 300
    b0_map = res.intercepts[0]
    g0 = np.linspace(b0_map - 1, b0_map + 1, 201)
    g1 = np.linspace(res.coefs[0, 0] - 1, res.coefs[0, 0] + 1, 201)
    assert 5 * res.coef_sd[0] < 1
    exact = _log_marginal_quadrature(family, X[:, 0], y, lam, g0, g1)
    assert abs(res.log_evidence[0] - exact) < 0.02


def test_wide_row_space_reduction_is_exact():
    """p > n: the reduced computation equals the full (1 + p)-dimensional Laplace formula."""
    X, y = _logit_data(15, 25, seed=5, scale=1.5)
    lam = 0.05
    res = glm_evidence(X, y, "binomial", lams=[lam])
    n, p = X.shape
    xbar = X.mean(0)
    s = X.std(0)
    Xs = (X - xbar) / s
    c = res.coefs[0] * s
    b0 = res.intercepts[0] + xbar @ res.coefs[0]
    alpha = lam * n
    eta = b0 + Xs @ c
    mu = expit(eta)
    A = np.column_stack([np.ones(n), Xs])
    grad = A.T @ (mu - y) + np.r_[0.0, alpha * c]
    assert np.max(np.abs(grad)) < 1e-8  # full-space optimality of the returned MAP
    H = A.T @ ((mu * (1 - mu))[:, None] * A) + np.diag(np.r_[0.0, np.full(p, alpha)])
    f = np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * alpha * c @ c
    full = (-f + 0.5 * p * np.log(alpha / (2 * np.pi)) + 0.5 * (p + 1) * np.log(2 * np.pi)
            - 0.5 * np.linalg.slogdet(H)[1])
    np.testing.assert_allclose(res.log_evidence[0], full, rtol=1e-9)
    # and the Laplace posterior sd matches the full inverse Hessian (original scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = glm_evidence(X, y, "binomial", lams=np.logspace(1, -3, 9))
    alpha = best.lam_best * n
    c = best.coef * s
    eta = best.intercept + xbar @ best.coef + Xs @ c
    mu = expit(eta)
    H = A.T @ ((mu * (1 - mu))[:, None] * A) + np.diag(np.r_[0.0, np.full(p, alpha)])
    sd = np.sqrt(np.diag(np.linalg.inv(H))[1:]) / s
    np.testing.assert_allclose(best.coef_sd, sd, rtol=1e-6)


def test_evidence_prefers_strong_penalty_for_noise():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 5))
    y_noise = (rng.uniform(size=200) < 0.5).astype(float)
    y_sig = (rng.uniform(size=200) < expit(2 * X[:, 0] - 1.5 * X[:, 1])).astype(float)
    lams = np.logspace(1, -4, 26)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        noise = glm_evidence(X, y_noise, "binomial", lams=lams)
    sig = glm_evidence(X, y_sig, "binomial", lams=lams)
    assert noise.lam_best > 10 * sig.lam_best
    assert sig.log_evidence_max >= sig.log_evidence.max() - 1e-9
    assert sig.lams[-1] < sig.lam_best < sig.lams[0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"family": "gaussian"}, "family must be"),
        ({"lams": [0.1, -1]}, "lams must be"),
        ({"sample_weight": np.ones(3)}, "sample_weight must have shape"),
    ],
)
def test_bad_input(kwargs, match):
    X, y = _logit_data(20, 2, seed=0)
    with pytest.raises(ValueError, match=match):
        glm_evidence(X, y, **kwargs)


def test_bad_responses():
    X, y = _logit_data(20, 2, seed=0)
    with pytest.raises(ValueError, match="binomial y must lie"):
        glm_evidence(X, y * 2, "binomial")
    with pytest.raises(ValueError, match="poisson y must be non-negative"):
        glm_evidence(X, -y, "poisson")
    with pytest.raises(ValueError, match="y must have shape"):
        glm_evidence(X, y[:3], "binomial")


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_extreme_scales_of_x_give_the_scaled_results(family):
    """X -> a X (y is counts or labels): with standardize=True nothing but the coefficients
    (by 1 / a) changes; with standardize=False lam carries the units 1 / X^2, so lams * a^2
    give the same fits. Sizes float64 cannot represent are refused by name, never an
    OverflowError or NaN (X * 1e-200 used to be taken for constant columns)."""
    X, y = _logit_data(60, 3, seed=9) if family == "binomial" else _pois_data(60, 3, seed=9)
    lams = np.logspace(0, -4, 9)
    for standardize, factors in ((True, (1e200, 1e-200, 1e300)), (False, (1e100, 1e-100))):
        ref = glm_evidence(X, y, family, lams=lams, standardize=standardize)
        for a in factors:
            la = 1.0 if standardize else a * a
            r = glm_evidence(a * X, y, family, lams=lams * la, standardize=standardize)
            np.testing.assert_allclose(r.log_evidence, ref.log_evidence, rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(r.coefs * a, ref.coefs, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(r.intercepts, ref.intercepts, rtol=1e-8, atol=1e-12)
            # the continuous maximiser is located to its xatol (1e-6 in log lam)
            np.testing.assert_allclose(r.lam_best, ref.lam_best * la, rtol=1e-5)
            np.testing.assert_allclose(r.coef * a, ref.coef, rtol=1e-5)
            np.testing.assert_allclose(r.coef_sd * a, ref.coef_sd, rtol=1e-5)
            np.testing.assert_allclose(r.log_evidence_max, ref.log_evidence_max, atol=1e-9)
    # raw X of size 1e200 with lam ~ 1: the prior precision lam W / x^2 is ~1e-400
    with pytest.raises(ValueError, match="divide X by a power of ten"):
        glm_evidence(1e200 * X, y, family, lams=lams, standardize=False)
