"""EvidenceRidge: exact evidence, agreement with BayesianRidge, ridge at lam_, coverage."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import BayesianRidge
from sklearn.utils.estimator_checks import check_estimator

from shrinkage.bayes import EvidenceRidge
from shrinkage.tuning.ridge import ridge_path


def _data(n, p, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, p) + 1.0
    y = 2.0 + X @ (0.5 * rng.normal(size=p)) + noise * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("n,p", [(60, 8), (20, 40)])
def test_agrees_with_sklearn_bayesian_ridge_where_models_coincide(n, p):
    X, y = _data(n, p)
    ours = EvidenceRidge(standardize=False, fit_intercept=False).fit(X, y)
    ref = BayesianRidge(fit_intercept=False, alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0,
                        tol=1e-13, max_iter=100000, compute_score=True).fit(X, y)
    np.testing.assert_allclose(ours.alpha_, ref.lambda_, rtol=1e-6)  # prior precision
    np.testing.assert_allclose(ours.beta_, ref.alpha_, rtol=1e-6)  # noise precision
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.log_evidence_max_, ref.scores_[-1], rtol=1e-9)
    cov = ours.coef_covariance()
    np.testing.assert_allclose(cov, ref.sigma_, rtol=1e-6, atol=1e-8 * np.max(np.diag(cov)))
    np.testing.assert_allclose(ours.coef_sd_, np.sqrt(np.diag(ref.sigma_)), rtol=1e-6)
    m1, s1 = ours.predict(X[:7], return_std=True)
    m2, s2 = ref.predict(X[:7], return_std=True)
    np.testing.assert_allclose(m1, m2, rtol=1e-6)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)


def test_with_intercept_close_to_sklearn():
    """Flat-prior intercept (N = n - 1) vs sklearn's centring (N = n): O(1/n) apart."""
    X, y = _data(200, 5, seed=1)
    ours = EvidenceRidge(standardize=False).fit(X, y)
    ref = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=2e-2)
    np.testing.assert_allclose(ours.beta_, ref.alpha_, rtol=2e-2)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_log_evidence_equals_gaussian_marginal(fit_intercept, standardize):
    """The curve equals max_beta log of the exact Gaussian marginal, intercept integrated.

    ``y ~ N(b0 1, C)`` with ``C = I/beta + Xs Xs^T / alpha`` on the raw (uncentred) scaled
    design; the flat intercept is integrated in closed form. Frequency weights are checked
    by duplicating rows.
    """
    X, y = _data(25, 4, seed=2)
    w = np.r_[np.ones(20), np.full(5, 2.0)]
    m = EvidenceRidge(standardize=standardize, fit_intercept=fit_intercept,
                      lams=[0.3, 0.03]).fit(X, y, sample_weight=w)
    Xd = np.vstack([X, X[20:]])
    yd = np.r_[y, y[20:]]
    n = len(yd)
    if standardize:
        s = Xd.std(0) if fit_intercept else np.sqrt((Xd**2).mean(0))
    else:
        s = np.ones(4)
    Xs = Xd / s
    one = np.ones(n)
    for lam, lp in zip(m.lams_, m.log_evidence_):
        kappa = lam * n

        def neg_marginal(log_beta, kappa=kappa):
            beta = np.exp(log_beta)
            C = np.eye(n) / beta + Xs @ Xs.T / (kappa * beta)
            val = multivariate_normal(np.zeros(n), C).logpdf(yd)
            if fit_intercept:  # int N(y | b0 1, C) db0
                Ci1 = np.linalg.solve(C, one)
                a, c = one @ Ci1, yd @ Ci1
                val += 0.5 * c * c / a + 0.5 * np.log(2 * np.pi / a)
            return -val

        opt = minimize_scalar(neg_marginal, bounds=(-8, 8), method="bounded",
                              options={"xatol": 1e-9})
        np.testing.assert_allclose(lp, -opt.fun, rtol=1e-8)


def test_posterior_mean_is_ridge_at_implied_lam():
    X, y = _data(40, 6, seed=3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, 40)
    m = EvidenceRidge().fit(X, y, sample_weight=w)
    r = ridge_path(X, y, lams=[m.lam_], sample_weight=w)
    np.testing.assert_allclose(m.coef_, r.path.coefs[0], rtol=1e-9)
    np.testing.assert_allclose(m.intercept_, r.path.intercepts[0], rtol=1e-9)
    # the evidence curve peaks at lam_
    assert m.log_evidence_max_ >= np.max(m.log_evidence_) - 1e-9
    assert np.all(np.diff(m.lams_) < 0)


def test_wide_problem_matches_narrow_formula():
    """p > n uses the n x n Gram matrix; the result must not depend on that choice."""
    X, y = _data(15, 30, seed=4)
    m = EvidenceRidge().fit(X, y)
    r = ridge_path(X, y, lams=[m.lam_])
    np.testing.assert_allclose(m.coef_, r.path.coefs[0], rtol=1e-8)
    cov = m.coef_covariance()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), m.coef_sd_, rtol=1e-10)
    # direct posterior covariance of the standardized coefficients
    Xc = X - X.mean(0)
    s = np.sqrt((Xc**2).mean(0))
    Z = Xc / s
    direct = np.linalg.inv(m.alpha_ * np.eye(30) + m.beta_ * Z.T @ Z)
    np.testing.assert_allclose(cov * np.outer(s, s), direct, rtol=1e-6, atol=1e-12)


def test_credible_interval_coverage_when_data_come_from_the_prior():
    rng = np.random.default_rng(0)
    # p = 30 coefficients per data set so that the prior variance is estimated well
    # enough for the plug-in (empirical Bayes) intervals to be close to nominal
    n, p, reps, tau, sigma = 100, 30, 60, 0.4, 1.3
    hits = []
    for _ in range(reps):
        X = rng.normal(size=(n, p))
        b = tau * rng.normal(size=p)
        y = 3.0 + X @ b + sigma * rng.normal(size=n)
        m = EvidenceRidge(standardize=False).fit(X, y)
        lo, hi = m.credible_intervals(0.9).T
        hits.append((lo <= b) & (b <= hi))
    cover = np.mean(hits)
    assert 0.85 <= cover <= 0.95, cover


def test_no_signal_warns_and_shrinks_to_zero():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 3))
    y = np.zeros(30)
    y[0] = 1.0  # pure noise, uncorrelated with X by construction below
    X[:, :] -= X.mean(0)
    X[0] = 0.0
    with pytest.warns(ConvergenceWarning, match="edge of the search range"):
        m = EvidenceRidge().fit(X, y)
    assert np.max(np.abs(m.coef_)) < 1e-6


def test_prior_in_words():
    X, y = _data(50, 3, seed=6)
    m = EvidenceRidge().fit(X, y)
    text = m.prior().describe()
    assert "Gaussian prior with sd" in text and "standardized" in text
    # sigma / sqrt(W lam) is 1 / sqrt(alpha): the prior the evidence chose
    np.testing.assert_allclose(m.prior().gaussian_sd, m.prior_sd_, rtol=1e-10)


def test_bad_input():
    X, y = _data(30, 2, noise=0.3)
    with pytest.raises(ValueError, match="sample_weight"):
        EvidenceRidge().fit(X, y, sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="lams must be"):
        EvidenceRidge(lams=[-1.0]).fit(X, y)
    m = EvidenceRidge().fit(X, y)
    with pytest.raises(ValueError, match="level must"):
        m.credible_intervals(1.5)


def test_sklearn_estimator_contract():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(EvidenceRidge())
