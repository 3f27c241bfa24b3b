"""Bayesian lasso: posterior equals numerical integration; mode is the lasso; diagnostics."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.utils.estimator_checks import check_estimator

from shrinkage.bayes import BayesianLasso, ess, rhat
from shrinkage.bayes.gibbs import gibbs_lasso_chain


def _tiny(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ np.linspace(0.8, -0.4, p) + 0.7 * rng.normal(size=n)
    return X, y


def _moments(grid_axes, logdens, axis_of):
    """Posterior mean and sd of one coordinate from a log density on a product grid."""
    dens = np.exp(logdens - logdens.max())
    dens /= dens.sum()
    g = grid_axes[axis_of]
    shape = [1] * dens.ndim
    shape[axis_of] = -1
    g = g.reshape(shape)
    mean = (dens * g).sum()
    return mean, np.sqrt((dens * (g - mean) ** 2).sum())


def _mc_tol(samples, k=5.0):
    """k Monte Carlo standard errors of the mean, from the chains' ESS."""
    return k * samples.std() / np.sqrt(ess(samples))


def test_one_coefficient_fixed_sigma_matches_quadrature():
    X, y = _tiny(12, 1, seed=0)
    sigma, lam = 0.7, 0.15
    rate = lam * 12 / sigma  # Park & Casella's lambda for fixed sigma
    m = BayesianLasso(lam=lam, sigma=sigma, standardize=False, fit_intercept=False,
                      n_draws=4000, burn_in=300, random_state=1).fit(X, y)
    b = np.linspace(-2, 3, 4001)
    logd = -((y[:, None] - X[:, :1] * b) ** 2).sum(0) / (2 * sigma**2) - rate / sigma * np.abs(b)
    mean, sd = _moments([b], logd, 0)
    s = m.coef_samples_[:, :, 0]
    assert abs(s.mean() - mean) < _mc_tol(s)
    assert abs(s.std() - sd) < 0.03 * sd
    cdf = np.cumsum(np.exp(logd - logd.max()))
    cdf /= cdf[-1]
    for q in (0.05, 0.5, 0.95):
        exact = b[np.searchsorted(cdf, q)]
        assert abs(np.quantile(s, q) - exact) < 0.05 * sd * 4, q


def test_two_coefficients_fixed_sigma_matches_quadrature_and_mode_is_lasso():
    X, y = _tiny(10, 2, seed=2)
    sigma, lam = 0.7, 0.21  # between the two coefficients' entry points on the path
    rate = lam * 10 / sigma
    m = BayesianLasso(lam=lam, sigma=sigma, standardize=False, fit_intercept=False,
                      n_draws=4000, burn_in=300, random_state=3).fit(X, y)
    g = np.linspace(-1.5, 2.0, 701)
    B1, B2 = np.meshgrid(g, g, indexing="ij")
    r = y[:, None, None] - X[:, 0, None, None] * B1 - X[:, 1, None, None] * B2
    logd = -(r**2).sum(0) / (2 * sigma**2) - rate / sigma * (np.abs(B1) + np.abs(B2))
    for j in range(2):
        mean, sd = _moments([g, g], logd, j)
        s = m.coef_samples_[:, :, j]
        assert abs(s.mean() - mean) < _mc_tol(s), j
        assert abs(s.std() - sd) < 0.04 * sd, j
    # the posterior density the sampler matches has its mode at the lasso at lam
    i1, i2 = np.unravel_index(np.argmax(logd), logd.shape)
    ref = Lasso(alpha=lam, fit_intercept=False, tol=1e-12).fit(X, y).coef_
    np.testing.assert_allclose([g[i1], g[i2]], ref, atol=2 * (g[1] - g[0]))
    assert np.sum(ref == 0) == 1  # the mode sits on a kink: a real lasso solution


def test_one_coefficient_random_sigma_gamma_hyperprior_matches_quadrature():
    X, y = _tiny(15, 1, seed=4)
    r_shape, delta = 1.0, 1.78
    m = BayesianLasso(lam="gamma", gamma_shape=r_shape, gamma_rate=delta, standardize=False,
                      fit_intercept=False, n_draws=4000, burn_in=500, random_state=5).fit(X, y)
    b = np.linspace(-1.5, 2.5, 321)[:, None, None]
    logsig = np.linspace(np.log(0.2), np.log(3.0), 121)[None, :, None]
    lam2 = np.geomspace(1e-4, 60, 200)[None, None, :]
    sig = np.exp(logsig)
    n = len(y)
    rss = ((y[:, None] - X * b[:, 0, 0]) ** 2).sum(0)[:, None, None]
    lam = np.sqrt(lam2)
    logd = (
        -n * logsig - rss / (2 * sig**2)  # likelihood, sigma^-n
        + np.log(lam / (2 * sig)) - lam * np.abs(b) / sig  # Laplace(sigma / lambda)
        - 2 * logsig + 2 * logsig  # prior 1/sigma^2 times Jacobian dsigma^2 = 2 sigma^2 dlog
        + (r_shape - 1) * np.log(lam2) - delta * lam2 + np.log(lam2)  # Gamma, geometric grid
    )
    mean, sd = _moments([b[:, 0, 0], logsig[0, :, 0], lam2[0, 0, :]], logd, 0)
    s = m.coef_samples_[:, :, 0]
    assert abs(s.mean() - mean) < _mc_tol(s)
    assert abs(s.std() - sd) < 0.04 * sd
    smean, _ = _moments([b[:, 0, 0], logsig[0, :, 0], lam2[0, 0, :]], logd, 1)
    assert abs(np.log(m.sigma_samples_).mean() - smean) < _mc_tol(np.log(m.sigma_samples_))


def test_wide_and_narrow_draws_target_the_same_posterior():
    """p > n: Bhattacharya's O(n^2 p) draw and the Cholesky draw agree in distribution."""
    rng = np.random.default_rng(6)
    n, p = 6, 9
    Z = rng.normal(size=(n, p))
    z = Z[:, 0] - Z[:, 1] + 0.5 * rng.normal(size=n)
    means = []
    for wide in (True, False):
        draws = []
        for k in range(3):
            c, s2, it2 = np.zeros(p), np.array([0.25]), np.ones(p)
            out = np.empty((6000, p))
            gibbs_lasso_chain(Z.T @ Z, Z.T @ z, z @ z, Z, z, float(n), wide, 4.0, 0, 1.0, 1.0,
                              0.25, 6500, 500, 1, 11 + k, c, s2, it2, out, np.empty(6000),
                              np.empty(6000), np.empty(6000))
            draws.append(out)
        draws = np.stack(draws)
        means.append((draws.mean(axis=(0, 1)), draws))
    (m1, d1), (m2, d2) = means
    tol = np.sqrt(_mc_tol(d1, 4.0) ** 2 + _mc_tol(d2, 4.0) ** 2)
    assert np.all(np.abs(m1 - m2) < tol)


def test_mode_by_estimator_matches_lasso_path_units():
    """lam_ reported for fixed (lam, sigma) is lam itself: rate * sigma / W."""
    X, y = _tiny(20, 3, seed=7)
    m = BayesianLasso(lam=0.05, sigma=0.5, n_draws=50, burn_in=20, min_ess=1,
                      rhat_max=10).fit(X, y)
    np.testing.assert_allclose(m.lam_samples_, 0.05, rtol=1e-12)
    np.testing.assert_allclose(m.rate_, 0.05 * 20 / 0.5)


def test_em_and_gamma_modes_run_and_recover_signal():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 6))
    y = 1.0 + X[:, 0] * 2 - X[:, 1] + rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em = BayesianLasso(lam="em", n_em_iter=15, em_draws=60, n_draws=600, burn_in=200,
                           n_chains=2).fit(X, y)
    assert em.em_path_.shape == (15,)
    assert abs(em.coef_[0] - 2) < 0.4 and abs(em.coef_[1] + 1) < 0.4
    assert abs(em.intercept_ - 1) < 0.4
    ci = em.credible_intervals(0.9)
    assert ci[0, 0] < em.coef_[0] < ci[0, 1]
    np.testing.assert_allclose(em.predict(X[:3]), X[:3] @ em.coef_ + em.intercept_)


def test_reproducible_and_threads_equal_serial():
    X, y = _tiny(30, 4, seed=9)
    kw = dict(n_draws=200, burn_in=50, random_state=4, min_ess=1)
    a = BayesianLasso(**kw).fit(X, y)
    b = BayesianLasso(**kw, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_samples_, b.coef_samples_)
    c = BayesianLasso(**{**kw, "random_state": 5}).fit(X, y)
    assert not np.array_equal(a.coef_samples_, c.coef_samples_)


def test_warns_when_chains_have_not_mixed():
    X, y = _tiny(30, 4, seed=10)
    with pytest.warns(ConvergenceWarning, match="have not mixed"):
        m = BayesianLasso(n_draws=8, burn_in=0).fit(X, y)
    assert not m.converged_


def test_rhat_and_ess_on_known_chains():
    rng = np.random.default_rng(11)
    iid = rng.normal(size=(4, 2000, 2))
    assert np.all(rhat(iid) < 1.01)
    np.testing.assert_allclose(ess(iid), 8000, rtol=0.12)
    rho = 0.9
    ar = np.empty((4, 4000))
    ar[:, 0] = rng.normal(size=4) / np.sqrt(1 - rho**2)
    for t in range(1, 4000):
        ar[:, t] = rho * ar[:, t - 1] + rng.normal(size=4)
    np.testing.assert_allclose(ess(ar), 16000 * (1 - rho) / (1 + rho), rtol=0.25)
    shifted = iid[:, :, 0] + np.arange(4)[:, None]
    assert rhat(shifted) > 1.5
    with pytest.raises(ValueError, match="n_chains, n_draws"):
        rhat(np.ones(5))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"lam": 0.1}, "needs a fixed noise sd sigma"),
        ({"lam": "map"}, "lam must be"),
        ({"lam": -1.0, "sigma": 1.0}, "lam must be"),
        ({"sigma": -1.0}, "sigma must be"),
        ({"n_draws": 0}, "n_draws must be"),
        ({"gamma_rate": 0}, "gamma_rate must be"),
        ({"random_state": "x"}, "random_state must be"),
    ],
)
def test_bad_input(kwargs, match):
    X, y = _tiny(10, 2, seed=0)
    with pytest.raises(ValueError, match=match):
        BayesianLasso(**kwargs).fit(X, y)


def test_frequency_weights_equal_duplicated_rows_in_distribution():
    X, y = _tiny(15, 2, seed=12)
    w = np.r_[np.full(5, 2.0), np.ones(10)]
    kw = dict(n_draws=3000, burn_in=300, random_state=2)
    a = BayesianLasso(**kw).fit(X, y, sample_weight=w)
    b = BayesianLasso(**kw).fit(np.vstack([X, X[:5]]), np.r_[y, y[:5]])
    for j in range(2):
        sa, sb = a.coef_samples_[:, :, j], b.coef_samples_[:, :, j]
        assert abs(sa.mean() - sb.mean()) < np.hypot(_mc_tol(sa, 4), _mc_tol(sb, 4))
    sa, sb = a.sigma_samples_, b.sigma_samples_
    assert abs(sa.mean() - sb.mean()) < np.hypot(_mc_tol(sa, 4), _mc_tol(sb, 4))


def test_sklearn_estimator_contract():
    # A sampler draws different Monte Carlo samples for weights and for repeated rows; the
    # posteriors are equal, which the test above checks in distribution.
    expected = {
        "check_sample_weight_equivalence_on_dense_data": "same posterior, different draws",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(BayesianLasso(n_draws=60, burn_in=30, n_chains=2),
                        expected_failed_checks=expected)
