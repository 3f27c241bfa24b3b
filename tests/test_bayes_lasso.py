"""Bayesian lasso: posterior equals numerical integration; mode is the lasso; diagnostics."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.utils.estimator_checks import check_estimator

from shrinkage.bayes import BayesianLasso, ess, rhat
from shrinkage.bayes.gibbs import gibbs_lasso_chain, inverse_gaussian_draws


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


@pytest.mark.parametrize("n,p", [(6, 9), (9, 4)])
def test_the_three_coefficient_draws_target_the_same_posterior(n, p):
    """Cholesky of A, Bhattacharya's O(n^2 p) draw and its QR form agree in distribution."""
    rng = np.random.default_rng(6)
    Z = rng.normal(size=(n, p))
    z = Z[:, 0] - Z[:, 1] + 0.5 * rng.normal(size=n)
    means = []
    for draw in (1, 2, 3):
        draws = []
        for k in range(3):
            c, s2, it2 = np.zeros(p), np.array([0.25]), np.ones(p)
            out = np.empty((6000, p))
            _, status = gibbs_lasso_chain(Z, z, 0.0, float(n), 4.0, 0, 1.0, 1.0, 0.25, 6500,
                                          500, 1, 11 + k, draw, c, s2, it2, out,
                                          np.empty(6000), np.empty(6000), np.empty(6000))
            assert status == 0
            draws.append(out)
        means.append(np.stack(draws))
    for other in means[1:]:
        tol = np.sqrt(_mc_tol(means[0], 4.0) ** 2 + _mc_tol(other, 4.0) ** 2)
        assert np.all(np.abs(means[0].mean(axis=(0, 1)) - other.mean(axis=(0, 1))) < tol)


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
    # scikit-learn's checks below fit y that is an exact linear function of X, repeated
    # (or with weights) beyond the rank of X: the posterior is then improper (see
    # test_improper_posterior_is_refused) and fit refuses it by name.
    improper = "y fitted exactly by X: improper posterior, refused with a ValueError"
    expected = {
        "check_sample_weight_equivalence_on_dense_data": "same posterior, different draws; "
                                                         + improper,
        "check_sample_weights_shape": improper,
        "check_sample_weights_not_overwritten": improper,
        "check_regressors_no_decision_function": improper,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_estimator(BayesianLasso(n_draws=60, burn_in=30, n_chains=2),
                        expected_failed_checks=expected)


def test_inverse_gaussian_draw_matches_scipy_and_survives_a_weak_prior():
    """The 1/tau2 draw: InverseGaussian(mu, lam) by Kolmogorov-Smirnov against scipy, and
    at mu / lam = 1e20, where numpy's formula cancels to 0, against its limit lam / chi2_1
    (an inverse gamma with shape 1/2 and scale lam / 2)."""
    for mu, lam in [(1.0, 1.0), (0.3, 5.0), (2.0, 1e-3)]:
        x = inverse_gaussian_draws(mu, lam, 20000, 3)
        assert stats.kstest(x, stats.invgauss(mu / lam, scale=lam).cdf).pvalue > 0.01
    assert np.all(np.random.default_rng(0).wald(1.0, 1e-20, 10) == 0)  # the failure mode
    x = inverse_gaussian_draws(1.0, 1e-20, 20000, 4)
    assert np.all(x > 0)
    assert stats.kstest(x / 1e-20, stats.invgamma(0.5, scale=0.5).cdf).pvalue > 0.01


def test_wide_design_unequal_weights_weak_prior_gives_the_flat_prior_limit():
    """p > n with unequal (non-integer) weights and a nearly flat Laplace prior (fixed
    sigma): the fitted values b0 + x_i . b are then N(y_i, sigma^2 / w_i) a posteriori.
    This used to raise numpy's LinAlgError ("singular") from inside the sampler."""
    rng = np.random.default_rng(21)
    n, p, sigma = 8, 20, 0.7
    X = rng.normal(size=(n, p))
    y = X[:, 0] - X[:, 1] + rng.normal(size=n)
    w = rng.uniform(0.5, 3.0, n)
    m = BayesianLasso(lam=1e-8, sigma=sigma, n_draws=1500, burn_in=200, random_state=2,
                      min_ess=1).fit(X, y, sample_weight=w)
    assert np.all(np.isfinite(m.coef_samples_)) and np.all(np.isfinite(m.intercept_samples_))
    fitted = m.coef_samples_ @ X.T + m.intercept_samples_[:, :, None]  # (chains, draws, n)
    for i in range(n):
        f = fitted[:, :, i]
        assert abs(f.mean() - y[i]) < _mc_tol(f), i
        np.testing.assert_allclose(f.std(), sigma / np.sqrt(w[i]), rtol=0.1)


@pytest.mark.parametrize("sigma", [0.5, None])
def test_wide_design_weights_equal_duplicated_rows(sigma):
    """p > n: integer weights and repeated rows give the same posterior (and finite draws).

    With sigma sampled, the weights sum to n + 1 so that the posterior stays proper (see
    test_improper_posterior_is_refused)."""
    rng = np.random.default_rng(3)
    n, p = 8, 20
    X = rng.normal(size=(n, p))
    y = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n)
    w = np.array([1, 2, 3, 1, 2, 1, 1, 3]) if sigma else np.r_[2, np.ones(n - 1, int)]
    kw = dict(sigma=sigma, n_draws=2000, burn_in=300, random_state=1, min_ess=1)
    a = BayesianLasso(**kw).fit(X, y, sample_weight=w.astype(float))
    b = BayesianLasso(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for m in (a, b):
        assert np.all(np.isfinite(m.coef_samples_)) and np.all(m.sigma_samples_ > 0)
    for j in range(4):
        sa, sb = a.coef_samples_[:, :, j], b.coef_samples_[:, :, j]
        assert abs(sa.mean() - sb.mean()) < np.hypot(_mc_tol(sa, 4), _mc_tol(sb, 4)), j
    la, lb = np.log(a.lam_samples_), np.log(b.lam_samples_)
    assert abs(la.mean() - lb.mean()) < np.hypot(_mc_tol(la, 4), _mc_tol(lb, 4))


def test_improper_posterior_is_refused():
    """sigma ~ 1/sigma^2 while X fits y exactly and the weighted count exceeds the rank by
    2 or more: the posterior of sigma is not integrable at 0 (the chain collapses to
    sigma = 0). Refused by name, for weights and for repeated rows alike; a fixed sigma
    makes the same data fine."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 20))
    y = X[:, 0] + rng.normal(size=8)
    w = np.array([3.0, 1, 2, 1, 4, 1, 1, 2])
    for args in ((X, y, w), (np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int)),
                             None)):
        for lam in ("gamma", "em"):
            with pytest.raises(ValueError, match="posterior is improper"):
                BayesianLasso(lam=lam, n_draws=20, burn_in=5).fit(args[0], args[1],
                                                                  sample_weight=args[2])
    # noise-free y on a narrow design: the same
    Xn = rng.normal(size=(30, 3))
    with pytest.raises(ValueError, match="X fits y exactly"):
        BayesianLasso(n_draws=20, burn_in=5).fit(Xn, Xn @ [1.0, 2.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = BayesianLasso(sigma=0.3, n_draws=50, burn_in=20).fit(X, y, sample_weight=w)
    assert np.all(np.isfinite(m.coef_samples_))


@pytest.mark.parametrize("standardize", [True, False])
def test_extreme_scales_give_the_scaled_draws_or_say_what_to_rescale(standardize):
    """X -> a X, y -> b y. By powers of two the unit problem is bit for bit the same, so
    the draws are exactly the scaled draws (coefficients by b / a, sigma by b, lam by b, and
    by a too when standardize=False, where gamma_rate carries 1 / a^2). By powers of ten
    the chains see rounding-level differences (and Gibbs chains amplify them): the
    posterior means agree in distribution. Never an OverflowError or a NaN."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 3)) + 1.0
    y = X @ [1.0, -0.5, 0.0] + rng.normal(size=30) + 2.0
    kw = dict(n_draws=300, burn_in=50, n_chains=2, min_ess=1, standardize=standardize)
    ref = BayesianLasso(**kw).fit(X, y)
    for a, b in [(2.0**500, 2.0**-400), (2.0**-450, 2.0**450), (1e150, 1e-100),
                 (1e-120, 1e140)]:
        rate = 1.78 if standardize else 1.78 / a / a
        m = BayesianLasso(gamma_rate=rate, **kw).fit(a * X, b * y)
        if np.log2(a) % 1 == 0 and np.log2(b) % 1 == 0:
            np.testing.assert_allclose(m.coef_samples_, ref.coef_samples_ * (b / a),
                                       rtol=1e-12)
            np.testing.assert_allclose(m.sigma_samples_, ref.sigma_samples_ * b, rtol=1e-12)
            np.testing.assert_allclose(m.lam_samples_,
                                       ref.lam_samples_ * b * (1 if standardize else a),
                                       rtol=1e-12)
            np.testing.assert_allclose(m.intercept_samples_, ref.intercept_samples_ * b,
                                       rtol=1e-12, atol=1e-12 * abs(b))
        else:
            for j in range(3):
                s, s0 = m.coef_samples_[:, :, j] * (a / b), ref.coef_samples_[:, :, j]
                assert abs(s.mean() - s0.mean()) < np.hypot(_mc_tol(s), _mc_tol(s0)), j
        assert np.all(np.isfinite(m.coef_samples_)) and np.all(m.sigma_samples_ > 0)
    # coefficients of size 1e300 / 1e-300: not float64 numbers
    with pytest.raises(ValueError, match="coef_samples_ does not fit.*divide y"):
        BayesianLasso(gamma_rate=1.78 if standardize else 1.78e300, **kw).fit(
            1e-150 * X, 1e300 * y)


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("lam", [0.1, "em"])
def test_a_constant_column_is_left_out_of_the_sampler(standardize, lam):
    # its coefficient is not identified: 0, and the other draws as without the column
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = X[:, 0] + rng.standard_normal(30)
    kw = dict(lam=lam, sigma=1.0 if lam != "em" else None, n_draws=100, burn_in=50,
              standardize=standardize, random_state=3, n_em_iter=5, em_draws=20)
    warnings.simplefilter("ignore", ConvergenceWarning)
    ref = BayesianLasso(**kw).fit(X, y)
    got = BayesianLasso(**kw).fit(np.column_stack([X[:, :2], np.full(30, 5.0), X[:, 2:]]), y)
    np.testing.assert_allclose(got.coef_samples_[:, :, [0, 1, 3]], ref.coef_samples_,
                               rtol=1e-8, atol=1e-10)  # the same draws, up to rounding
    assert np.all(got.coef_samples_[:, :, 2] == 0.0) and np.isnan(got.rhat_[2])
    with pytest.raises(ValueError, match="every column of X is constant"):
        BayesianLasso(**kw).fit(np.ones((30, 2)), y)
