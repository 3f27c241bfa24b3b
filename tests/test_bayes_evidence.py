"""EvidenceRidge: exact evidence, agreement with BayesianRidge, ridge at lam_, coverage."""

import warnings

import numpy as np
import pytest
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize, minimize_scalar, root
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import BayesianRidge
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

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
        s = Xd.std(0)  # the sd also without an intercept (docs/design.md 1)
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


def test_without_intercept_the_scale_is_the_sd_as_the_engines():
    # columns far from zero mean: the uncentred root mean square (once used) is not the sd
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3)) * [1.0, 2.0, 0.5] + [1.0, -2.0, 3.0]
    y = X @ [0.5, -0.2, 0.3] + rng.standard_normal(40) + 2.0
    m = EvidenceRidge(fit_intercept=False).fit(X, y)
    from shrinkage import regularization_path

    eng = regularization_path(X, y, lams=[m.lam_], l1_ratio=0.0, fit_intercept=False,
                              tol=1e-14).coefs[0]
    np.testing.assert_allclose(m.coef_, eng, rtol=1e-8)


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


# --------------------------------------------------------------------------------------
# Dense reference: the log marginal likelihood written out as an n x n Gaussian density


def _dense_log_evidence(theta, Zs, y, fit_intercept):
    """``log p(y | alpha, beta)`` and its gradient in ``theta = (log alpha, log beta)``.

    ``y ~ N(b0 1, C)``, ``C = I / beta + Zs Zs^T / alpha`` on the scaled (uncentred)
    design; with an intercept the flat ``b0`` is integrated out, which gives the restricted
    likelihood ``-(n-1)/2 log 2 pi - 1/2 log det C - 1/2 log(1^T C^-1 1) - 1/2 y^T P y``
    with ``P = C^-1 - C^-1 1 1^T C^-1 / (1^T C^-1 1)``; its derivative along ``dC`` is
    ``1/2 y^T P dC P y - 1/2 tr(P dC)`` (``P = C^-1`` without an intercept).
    """
    alpha, beta = np.exp(theta)
    n = y.size
    G = Zs @ Zs.T
    C = np.eye(n) / beta + G / alpha
    cf = cho_factor(C, lower=True)
    logdet = 2.0 * np.sum(np.log(np.diag(cf[0])))
    Ci = cho_solve(cf, np.eye(n))
    if fit_intercept:
        ci1 = Ci.sum(axis=1)
        a = ci1.sum()
        P = Ci - np.outer(ci1, ci1) / a
        val = -0.5 * (n - 1) * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * np.log(a)
    else:
        P = Ci
        val = -0.5 * n * np.log(2 * np.pi) - 0.5 * logdet
    Py = P @ y
    val -= 0.5 * y @ Py
    grad = np.empty(2)
    for k, dC in enumerate((-G / alpha, -np.eye(n) / beta)):
        grad[k] = 0.5 * Py @ dC @ Py - 0.5 * np.sum(P * dC)
    return val, grad


def _scaled(X, standardize, fit_intercept):
    if not standardize:
        return X, np.ones(X.shape[1])
    del fit_intercept  # the sd either way, as the engine's scale (docs/design.md 1)
    s = X.std(0)
    return X / s, s


@threadpool_limits.wrap(limits=1, user_api="blas")  # small dense solves: threads only contend
def _dense_maximum(Zs, y, fit_intercept):
    """Maximise the dense log evidence over (log alpha, log beta) to a tight tolerance."""
    start = np.array([0.0, -np.log(np.var(y))])
    opt = minimize(lambda t: tuple(-v for v in _dense_log_evidence(t, Zs, y, fit_intercept)),
                   start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 500})
    # polish: solve grad = 0 from there (BFGS stalls at a gradient of ~1e-7)
    theta = root(lambda t: _dense_log_evidence(t, Zs, y, fit_intercept)[1], opt.x,
                 tol=1e-14).x
    val, grad = _dense_log_evidence(theta, Zs, y, fit_intercept)
    assert np.max(np.abs(grad)) < 1e-9 and val >= -opt.fun - 1e-9, grad  # converged
    return np.exp(theta), val


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_maximum_equals_the_dense_closed_form_maximum(standardize, fit_intercept, weighted):
    """The reported n = 150, p = 40 case: lam_, alpha_, beta_, coef_ and the maximal log
    evidence equal the maximiser of the dense Gaussian marginal likelihood (BFGS with its
    analytic gradient), and log_evidence_max_ is the dense value at (alpha_, beta_).
    Integer frequency weights are checked against the rows repeated."""
    X, y = _data(150, 40, seed=11, noise=3.0)
    w = np.random.default_rng(1).integers(1, 4, 150) if weighted else np.ones(150, int)
    m = EvidenceRidge(standardize=standardize, fit_intercept=fit_intercept).fit(
        X, y, sample_weight=w.astype(float) if weighted else None)
    Xd, yd = np.repeat(X, w, axis=0), np.repeat(y, w)
    Zs, s = _scaled(Xd, standardize, fit_intercept)
    (alpha, beta), logp = _dense_maximum(Zs, yd, fit_intercept)
    W = yd.size
    np.testing.assert_allclose(m.lam_, alpha / (beta * W), rtol=1e-6)
    np.testing.assert_allclose([m.alpha_, m.beta_], [alpha, beta], rtol=1e-6)
    np.testing.assert_allclose(m.log_evidence_max_, logp, rtol=0, atol=1e-8)
    at_ours = _dense_log_evidence(np.log([m.alpha_, m.beta_]), Zs, yd, fit_intercept)[0]
    np.testing.assert_allclose(m.log_evidence_max_, at_ours, rtol=0, atol=1e-8)
    # posterior mean of the scaled coefficients at the dense maximiser, directly
    Zc = Zs - Zs.mean(0) if fit_intercept else Zs
    yc = yd - yd.mean() if fit_intercept else yd
    c = np.linalg.solve(beta * Zc.T @ Zc + alpha * np.eye(40), beta * Zc.T @ yc)
    np.testing.assert_allclose(m.coef_, c / s, rtol=1e-6, atol=1e-9 * np.max(np.abs(c / s)))


def test_with_intercept_equals_sklearn_on_the_projected_data():
    """With an intercept the models coincide after projecting out the constant vector.

    ``H`` (n x (n-1), orthonormal, ``H^T 1 = 0``): ``y = b0 1 + ...`` becomes
    ``H^T y ~ N(H^T X b, I / beta + ...)`` with no intercept, which is BayesianRidge's
    model; integrating ``b0`` instead leaves the same likelihood times ``1 / sqrt(n)``.
    """
    X, y = _data(150, 40, seed=12, noise=3.0)
    H = np.linalg.qr(np.column_stack([np.ones(150), np.eye(150)[:, :149]]))[0][:, 1:]
    for standardize in (False, True):
        Zs, s = _scaled(X, standardize, True)
        ours = EvidenceRidge(standardize=standardize).fit(X, y)
        ref = BayesianRidge(fit_intercept=False, alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0,
                            tol=1e-14, max_iter=100000, compute_score=True).fit(H.T @ Zs, H.T @ y)
        np.testing.assert_allclose(ours.alpha_, ref.lambda_, rtol=1e-6)
        np.testing.assert_allclose(ours.beta_, ref.alpha_, rtol=1e-6)
        np.testing.assert_allclose(ours.coef_, ref.coef_ / s, rtol=1e-6)
        np.testing.assert_allclose(ours.log_evidence_max_, ref.scores_[-1] - 0.5 * np.log(150),
                                   rtol=0, atol=1e-7)


def _dense_profile(kappa, Zs, y, fit_intercept):
    """``max_beta`` of the dense log evidence at ``alpha = kappa beta`` (bounded Brent)."""
    def neg(lb):
        return -_dense_log_evidence(np.array([np.log(kappa) + lb, lb]), Zs, y, fit_intercept)[0]

    return -minimize_scalar(neg, bounds=(-40, 40), method="bounded",
                            options={"xatol": 1e-10}).fun


@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_n_gives_the_maximum_or_a_clear_error(n, fit_intercept, p):
    """n = 1: refused; one residual degree of freedom (n = 2 with an intercept): the dense
    evidence is flat in lam, so no maximiser exists and fit says so; otherwise the result
    is the supremum of the dense evidence (possibly a limit at an end of the range)."""
    rng = np.random.default_rng(10 * n + p)
    X, y = rng.normal(size=(n, p)), rng.normal(size=n)
    if n == 1:
        with pytest.raises(ValueError, match="minimum of 2"):
            EvidenceRidge(fit_intercept=fit_intercept).fit(X, y)
        return
    Zs, _ = _scaled(X, True, fit_intercept)
    kappas = np.geomspace(1e-6, 1e6, 25)
    dense = np.array([_dense_profile(k, Zs, y, fit_intercept) for k in kappas])
    if n - fit_intercept == 1:
        assert np.ptp(dense) < 1e-9
        with pytest.raises(ValueError, match="does not depend on lam"):
            EvidenceRidge(fit_intercept=fit_intercept).fit(X, y)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a limit at an end is allowed
        m = EvidenceRidge(fit_intercept=fit_intercept).fit(X, y)
    at_ours = _dense_log_evidence(np.log([m.alpha_, m.beta_]), Zs, y, fit_intercept)[0]
    np.testing.assert_allclose(m.log_evidence_max_, at_ours, rtol=0, atol=1e-8)
    assert m.log_evidence_max_ >= dense.max() - 1e-8


_POW = [(1e150, 1e150), (1e-150, 1e-150), (1e200, 1.0), (1e-200, 1.0), (1.0, 1e-150)]


@pytest.mark.parametrize("standardize", [True, False])
def test_extreme_scales_give_the_scaled_results_or_say_what_to_rescale(standardize):
    """X -> a X, y -> b y: coefficients scale by b / a, precisions by 1 / b^2 (alpha also
    by a^2 on the raw scale), lam by a^2 on the raw scale, the log evidence shifts by
    -N log b. Where a result cannot be held in float64 fit names what to divide."""
    X, y = _data(40, 5, seed=13)
    ref = EvidenceRidge(standardize=standardize).fit(X, y)
    N = 39
    for a, b in _POW:
        if not standardize and abs(np.log10(a)) > 160:  # lam_ would be ~1e+-400
            with pytest.raises(ValueError, match="lam_ does not fit.*divide X"):
                EvidenceRidge(standardize=standardize).fit(a * X, b * y)
            continue
        m = EvidenceRidge(standardize=standardize).fit(a * X, b * y)
        ax = 1.0 if standardize else a
        np.testing.assert_allclose(m.lam_, ref.lam_ * ax**2, rtol=1e-9)
        np.testing.assert_allclose(m.beta_, ref.beta_ / b**2, rtol=1e-9)
        np.testing.assert_allclose(m.alpha_, ref.alpha_ * (ax / b) ** 2, rtol=1e-9)
        np.testing.assert_allclose(m.coef_, ref.coef_ * (b / a), rtol=1e-9)
        np.testing.assert_allclose(m.coef_sd_, ref.coef_sd_ * (b / a), rtol=1e-9)
        np.testing.assert_allclose(m.intercept_, ref.intercept_ * b, rtol=1e-9)
        np.testing.assert_allclose(m.log_evidence_max_, ref.log_evidence_max_ - N * np.log(b),
                                   rtol=1e-13, atol=1e-9)
        # the default curve keeps the grid points that are normal float64 numbers
        keep = (ref.lams_ * ax**2 >= np.finfo(float).tiny) & np.isfinite(ref.lams_ * ax**2)
        np.testing.assert_allclose(m.lams_, ref.lams_[keep] * ax**2, rtol=1e-9)
        np.testing.assert_allclose(m.log_evidence_, ref.log_evidence_[keep] - N * np.log(b),
                                   rtol=1e-13, atol=1e-9)
        mean, sd = m.predict(a * X[:4], return_std=True)
        mean0, sd0 = ref.predict(X[:4], return_std=True)
        np.testing.assert_allclose(mean, mean0 * b, rtol=1e-9)
        np.testing.assert_allclose(sd, sd0 * b, rtol=1e-9)
    # the noise precision of y ~ 1e200 is ~1e-400: not a float64
    with pytest.raises(ValueError, match="beta_ does not fit.*divide y"):
        EvidenceRidge(standardize=standardize).fit(X, 1e200 * y)
