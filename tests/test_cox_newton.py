"""The Cox solver's exact-Hessian Newton steps: the Hessian (built, and applied as an
operator) against finite differences of the gradient, and the deep end of a ``p >> n``
path certified at a tight tolerance (where glmnet's diagonal model stalled at its step
cap), by exact steps and by the conjugate-gradient corrections of working sets too large
for them."""

import warnings

import numpy as np
import pytest

import shrinkage.engine.cox as cox_solver
from shrinkage import regularization_path
from shrinkage.model.cox import Cox, cox_index, survival_response
from shrinkage.model.cox_curvature import CoxCurvature
from shrinkage.model.cox_math import (
    cox_hessian,
    cox_observation_derivatives,
    cox_terms,
    new_terms,
)


def _derivatives(y, w, eta, efron):
    """``(wres, mu, terms)`` at ``eta``: minus the gradient in ``eta`` and the sums."""
    idx = cox_index(y)
    terms, prefix = new_terms(idx.sentinel.size)
    n = eta.size
    mu, wres, v = np.empty(n), np.empty(n), np.empty(n)
    cox_terms(eta, w, idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms, mu)
    cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms, mu, prefix,
                                wres, v)
    return idx, wres, mu, terms


def _hessian_against_differences(y, w, Z, offset, b, efron):
    """The exact Hessian in ``b`` at ``eta = offset + Z b``, checked against central
    differences of the gradient; returns it and ``_derivatives`` there."""
    def grad(bb):
        return -Z.T @ _derivatives(y, w, offset + Z @ bb, efron)[1]

    at = _derivatives(y, w, offset + Z @ b, efron)
    idx, wres, mu, terms = at
    event_w = np.where(idx.evk >= 0, w, 0.0)
    H = cox_hessian(np.ascontiguousarray(Z), event_w, wres, mu, terms, idx.lo, idx.hi,
                    idx.evk, idx.sentinel, efron)
    h = 1e-5
    fd = np.column_stack([(grad(b + h * u) - grad(b - h * u)) / (2 * h)
                          for u in np.eye(Z.shape[1])])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
    return H, at


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("design", ["plain", "strata_entry_weights"])
def test_exact_hessian_equals_finite_differences_of_the_gradient(ties, design):
    rng = np.random.default_rng(5)
    n, m = 120, 5
    Z = rng.normal(size=(n, m))
    stop = np.round(rng.exponential(1.0, n), 1) + 0.1  # many tied times
    event = (rng.random(n) < 0.7).astype(float)
    w = np.ones(n)
    strata = None
    start = np.full(n, -np.inf)
    if design != "plain":
        strata = rng.integers(0, 3, n)
        start = np.where(rng.random(n) < 0.3, stop * rng.random(n) * 0.8, 0.0)
        w = rng.uniform(0.2, 2.0, n)
        w[:4] = 0.0  # absent rows
    y = survival_response(np.c_[start, stop, event] if design != "plain" else np.c_[stop, event],
                          strata=strata)
    w = w / w.sum()
    efron = ties == "efron"
    b = rng.normal(scale=0.3, size=m)
    offset = rng.normal(scale=0.5, size=n) + 3.0  # a large shift: the sums are rescaled
    H, (idx, wres, mu, terms) = _hessian_against_differences(y, w, Z, offset, b, efron)
    np.testing.assert_array_equal(H, H.T)
    assert np.linalg.eigvalsh(H).min() > 0  # n >> m: positive definite
    # the same Hessian as an operator in eta: Z^T (H_eta (Z c)) = H c for any c
    op = CoxCurvature(np.where(idx.evk >= 0, w, 0.0), wres, mu, terms, idx.lo, idx.hi,
                      idx.evk, idx.sentinel, efron)
    C = rng.normal(size=(m, 3))
    HC = np.column_stack([Z.T @ op.apply(Z @ c, np.empty(n)) for c in C.T])
    np.testing.assert_allclose(HC, H @ C, rtol=1e-10, atol=1e-12 * np.abs(H @ C).max())
    assert np.all(op.apply(np.ones(n), np.empty(n))[w > 0] == pytest.approx(0.0, abs=1e-12))


def _wide(n=60, p=400, seed=0):
    """AR(1) features, 10 true effects, exponential times with ~30% censoring (the
    benchmark's design at a size CI affords)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = 0.5 * X[:, j - 1] + np.sqrt(0.75) * Z[:, j]
    beta = np.zeros(p)
    beta[np.linspace(0, p - 1, 10).astype(int)] = rng.choice([-1, 1], 10) * 0.4
    T = rng.exponential(np.exp(-X @ beta))
    C = rng.exponential(np.quantile(T, 0.8), size=n)
    return X, np.minimum(T, C), (T <= C).astype(float)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_deep_end_of_a_wide_path_is_certified_at_tight_tolerance(ties):
    X, t, e = _wide()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        path = regularization_path(X, np.c_[t, e], "cox", tol=1e-10, ties=ties)
    assert path.n_lams == 100 and path.converged.all()
    assert np.all(path.certificate <= 1e-10)
    assert path.nnz[-1] > 0.6 * e.sum()  # the deep end: about as many features as events
    # the certificate checked independently: a numerical gradient of the loss at the
    # deepest strengths satisfies the lasso's KKT conditions (standardized units)
    fam = Cox(ties)
    yy = survival_response(np.c_[t, e])
    w = np.full(t.size, 1.0 / t.size)
    s = X.std(axis=0)
    for k in (60, 99):
        b, lam = path.coefs[k], path.lams[k]
        eta = X @ b
        hh = 1e-6
        grad = np.array([(fam.loss(yy, eta + hh * X[:, j], w)
                          - fam.loss(yy, eta - hh * X[:, j], w)) / (2 * hh)
                         for j in range(X.shape[1])])
        act = b != 0
        tol = 1e-6 * path.lams[0]
        np.testing.assert_allclose(grad[act], -lam * s[act] * np.sign(b[act]), atol=tol)
        assert np.all(np.abs(grad[~act]) <= lam * s[~act] + tol)


@pytest.mark.parametrize("sparse", [False, True])
def test_deep_end_without_an_affordable_hessian_is_certified_by_cg_corrections(
        monkeypatch, sparse):
    """Where the working set's exact Hessian costs too much to build, the diagonal
    model's steps are corrected by conjugate gradients with the exact curvature
    (engine.cox_cg): forced here on a small design, the deep end converges at 1e-10 to
    the exact steps' path; diagonal steps alone stopped 57 of 100 strengths at the
    Newton cap."""
    sp = pytest.importorskip("scipy.sparse")
    X, t, e = _wide()
    exact = regularization_path(X, np.c_[t, e], "cox", tol=1e-10)
    refined = []
    refine = cox_solver.refine_step

    def counted(solver, ws, b_before, step, *args):
        out = refine(solver, ws, b_before, step, *args)
        refined.append(out is not step)
        return out

    monkeypatch.setattr(cox_solver, "_EXACT_MAX_WORK", 0.0)
    monkeypatch.setattr(cox_solver, "refine_step", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        path = regularization_path(sp.csc_matrix(X) if sparse else X, np.c_[t, e], "cox",
                                   tol=1e-10)
    assert path.n_lams == 100 and path.converged.all()
    assert np.all(path.certificate <= 1e-10)
    assert sum(refined) > 100  # corrections taken, not only tried
    np.testing.assert_allclose(path.coefs, exact.coefs, atol=1e-6)
    np.testing.assert_allclose(path.dev_ratio, exact.dev_ratio, rtol=1e-9)


def test_wide_deep_end_equals_scikit_survival_coxnet():
    sksurv = pytest.importorskip("sksurv.linear_model")
    from sksurv.util import Surv

    X, t, e = _wide(seed=1)
    X = (X - X.mean(0)) / X.std(0)
    path = regularization_path(X, np.c_[t, e], "cox", tol=1e-10, ties="breslow",
                               standardize=False)
    assert path.converged.all()
    k = 50  # already past the number of events; deeper, Coxnet's tol=1e-12 stops early
    ref = sksurv.CoxnetSurvivalAnalysis(alphas=path.lams[:k + 1], l1_ratio=1.0, tol=1e-12,
                                        max_iter=10**6, normalize=False,
                                        fit_baseline_model=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, Surv.from_arrays(e.astype(bool), t))
    c, b, lam = ref.coef_[:, k], path.coefs[k], path.lams[k]
    assert np.count_nonzero(b) > e.sum()
    fam = Cox("breslow")
    yy = survival_response(np.c_[t, e])
    w = np.full(t.size, 1.0 / t.size)
    ours = fam.loss(yy, X @ b, w) + lam * np.abs(b).sum()
    theirs = fam.loss(yy, X @ c, w) + lam * np.abs(c).sum()
    assert ours <= theirs + 1e-12 * abs(theirs)  # never worse than the reference
    np.testing.assert_allclose(b, c, atol=2e-4)  # Coxnet's convergence limits this


def test_exact_steps_with_elastic_net_bounds_free_features_and_sparse_design():
    sp = pytest.importorskip("scipy.sparse")
    X, t, e = _wide(seed=2)
    X[np.abs(X) < 0.8] = 0.0  # about half the entries zero
    p = X.shape[1]
    pf = np.ones(p)
    pf[:2] = 0.0  # unpenalized
    upper = np.full(p, np.inf)
    upper[::7] = 0.05
    kw = dict(tol=1e-10, l1_ratio=0.5, penalty_factor=pf, upper=upper, ties="efron",
              sample_weight=np.linspace(0.5, 1.5, t.size))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dense = regularization_path(X, np.c_[t, e], "cox", **kw)
        csc = regularization_path(sp.csc_matrix(X), np.c_[t, e], "cox", **kw)
    for path in (dense, csc):
        assert path.converged.all() and np.all(path.certificate <= 1e-10)
        assert np.all(path.coefs[:, ::7] <= 0.05) and np.any(path.coefs[:, ::7] == 0.05)
    np.testing.assert_allclose(csc.coefs, dense.coefs, atol=1e-6)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_curvature_is_finite_where_late_risk_sets_are_tiny(ties):
    """Late risk sets at exp(-495) of the largest risk (a fit near saturation): their
    1 / den^2 overflowed, the exact Hessian was inf in every cell (its coordinate descent
    then moved nothing and the path stalled: certificates 1e-4 at 120 x 110). The sums
    are now shifted to the middle of the risks' range (and Efron's tie term no longer
    squares a sum that scales as den^-2)."""
    rng = np.random.default_rng(3)
    n, m = 30, 4
    Z = rng.normal(size=(n, m))
    stop = np.arange(1.0, n + 1.0)
    stop[5] = stop[4]  # ties among the largest risks and among the smallest
    stop[26] = stop[25]
    y = survival_response(np.c_[stop, np.ones(n)])
    w = np.full(n, 1.0 / n)
    efron = ties == "efron"
    # rows in threes, each three exp(-55) below the one before: the latest risk set
    # ~ exp(-495) of the first, every risk set led by three comparable risks
    offset = -55.0 * (np.arange(n) // 3)
    b = rng.normal(scale=0.3, size=m)
    H, (idx, _, mu, terms) = _hessian_against_differences(y, w, Z, offset, b, efron)
    assert np.isfinite(H).all()
    v = np.empty(n)
    cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms, mu,
                                new_terms(idx.sentinel.size)[1], np.empty(n), v)
    assert np.isfinite(v).all() and v.max() > 0


def test_p_near_n_path_is_certified_near_saturation():
    """120 x 110: the deep end (deviance explained 0.996, coefficients up to 56, risk sets
    down to exp(-566) of the largest) stalled at certificates 1e-4 with an inf Hessian;
    every strength now certifies, at 1e-9 as well."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 110))
    eta = X[:, :5] @ rng.standard_normal(5) * 0.5
    t = rng.exponential(np.exp(-eta))
    c = rng.exponential(2 * np.median(t), 120)
    y = np.c_[np.minimum(t, c), (t <= c).astype(float)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        path = regularization_path(X, y, "cox", n_lams=20, tol=1e-9)
    assert path.converged.all() and np.all(path.certificate <= 1e-9)
    assert path.dev_ratio[-1] > 0.99 and np.abs(path.coefs[-1]).max() > 40
