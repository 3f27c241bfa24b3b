"""The Cox solver's exact-Hessian Newton steps: the Hessian against finite differences of
the gradient, and the deep end of a ``p >> n`` path certified at a tight tolerance (where
glmnet's diagonal model stalled at its step cap)."""

import warnings

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.model.cox import Cox, cox_index, survival_response
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

    def grad(bb):
        return -Z.T @ _derivatives(y, w, offset + Z @ bb, efron)[1]

    idx, wres, mu, terms = _derivatives(y, w, offset + Z @ b, efron)
    event_w = np.where(idx.evk >= 0, w, 0.0)
    H = cox_hessian(np.ascontiguousarray(Z), event_w, wres, mu, terms, idx.lo, idx.hi,
                    idx.evk, idx.sentinel, efron)
    h = 1e-5
    fd = np.column_stack([(grad(b + h * u) - grad(b - h * u)) / (2 * h) for u in np.eye(m)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
    np.testing.assert_array_equal(H, H.T)
    assert np.linalg.eigvalsh(H).min() > 0  # n >> m: positive definite


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
