"""The Cholesky factor of the active Gram that the naive gaussian driver keeps along a path.

The factor is checked against the Gram matrix formed densely in NumPy after every change
of the active set (features entering, leaving, an ``l2`` that moves), on dense and sparse
designs with weights; collinear features must be left out of it, never factored wrongly;
the exact step must lower the objective and keep the residual equal to the one recomputed
from the coefficients; and whole paths that use it must agree with the covariance solver
(which factors afresh from cached Gram columns) and pass an independent KKT check, on
designs with duplicated columns and active sets that reach the number of rows (the
driver takes the step on dense designs only; the sparse path is checked all the same).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit

from _reference import kkt_residual
from shrinkage.engine.contract import FitHints
from shrinkage.engine.kernels.active_factor import factor_polish, factor_update, new_factor
from shrinkage.engine.kernels.active_set import cholesky_substitute
from shrinkage.engine.path import PathOptions, fit_path
from shrinkage.validation import check_design


@njit
def _polish(X, xd, xi, xp, sparse, w, xm, h, r, st, b, A, na, l1, l2, lo, hi, L, fac, fd,
            pos, refused, nf, gcol, step):
    """factor_polish has no Python wrapper: the tests call it through this caller."""
    return factor_polish(X, xd, xi, xp, sparse, w, xm, h, r, st, b, A, na, l1, l2, lo, hi, L,
                         fac, fd, pos, refused, nf, gcol, step)


def _design(n, p, sparse, seed, dup=()):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    if sparse:
        X = np.where(rng.uniform(size=X.shape) < 0.3, X + 1.0, 0.0)
    for j, k in dup:  # column j a multiple of column k: exactly collinear
        X[:, j] = 2.0 * X[:, k]
    w = rng.uniform(0.3, 2.0, n)
    w /= w.sum()
    xm = w @ X
    h = w @ (X - xm) ** 2
    return X, w, xm, h, rng


def _kernel_args(X, sparse):
    if sparse:
        S = sp.csc_matrix(X)
        return None, S.data, S.indices.astype(np.int64), S.indptr.astype(np.int64), True
    return np.asfortranarray(X), None, None, None, False


def _gram(X, w, xm, idx, l2):
    Xc = X[:, idx] - xm[idx]
    return Xc.T @ (w[:, None] * Xc) + np.diag(l2[idx])


def _check(fact, nf, X, w, xm, l2):
    L, fac = fact[0][:nf, :nf], fact[1][:nf]
    assert nf <= fact[0].shape[0]
    np.testing.assert_allclose(np.tril(L) @ np.tril(L).T, _gram(X, w, xm, fac, l2),
                               atol=1e-10, rtol=0)
    pos = fact[3]
    assert np.all(pos[fac] == np.arange(nf))


@pytest.mark.parametrize("sparse", [False, True])
def test_factor_follows_the_active_set_and_its_l2(sparse):
    n, p = 40, 30
    X, w, xm, h, rng = _design(n, p, sparse, seed=3)
    args = _kernel_args(X, sparse)
    fact = new_factor(p, p)
    nf = 0
    gcol, u = np.zeros(p), np.empty(n)
    l2 = np.zeros(p)
    sets = [np.arange(5), np.arange(12), np.array([0, 2, 3, 7, 11, 13, 20, 21]),
            np.array([20, 0, 3, 25, 26, 27, 28, 29, 1]), np.arange(0, 30, 2)]
    for step, A in enumerate(sets):
        A = A.astype(np.int64)
        if step == 3:
            l2[[0, 25]] = 0.7  # a changed diagonal: those two are re-factored
        nf = factor_update(*args, w, xm, h, A, A.size, l2, *fact, nf, gcol, u)
        assert nf == A.size and set(fact[1][:nf]) == set(A)
        _check(fact, nf, X, w, xm, l2)


def test_a_full_factor_leaves_the_rest_to_coordinate_descent():
    n, p = 40, 30
    X, w, xm, h, _ = _design(n, p, True, seed=6)
    fact, l2 = new_factor(p, 6), np.zeros(p)
    A = np.arange(10, dtype=np.int64)
    nf = factor_update(*_kernel_args(X, True), w, xm, h, A, A.size, l2, *fact, 0,
                       np.zeros(p), np.empty(n))
    assert nf == 6 and np.all(fact[3][A[6:]] == -1)
    _check(fact, nf, X, w, xm, l2)


def test_collinear_features_are_left_out_until_they_leave():
    n, p = 40, 12
    X, w, xm, h, _ = _design(n, p, False, seed=4, dup=[(5, 2), (9, 2)])
    args = _kernel_args(X, False)
    fact, gcol, u, l2 = new_factor(p, p), np.zeros(p), np.empty(n), np.zeros(p)
    A = np.array([2, 3, 5, 9, 7], dtype=np.int64)
    nf = factor_update(*args, w, xm, h, A, A.size, l2, *fact, 0, gcol, u)
    assert set(fact[1][:nf]) == {2, 3, 7}
    assert fact[3][5] == fact[3][9] == -3 and fact[4][0] == 2
    _check(fact, nf, X, w, xm, l2)
    # feature 2 leaves; 5 stays refused while active, 9 left and may enter again
    A = np.array([3, 5, 7], dtype=np.int64)
    nf = factor_update(*args, w, xm, h, A, A.size, l2, *fact, nf, gcol, u)
    assert set(fact[1][:nf]) == {3, 7} and fact[3][5] == -3 and fact[3][9] == -1
    A = np.array([3, 7, 9], dtype=np.int64)
    nf = factor_update(*args, w, xm, h, A, A.size, l2, *fact, nf, gcol, u)
    assert set(fact[1][:nf]) == {3, 7, 9} and fact[3][5] == -1 and fact[4][0] == 0
    _check(fact, nf, X, w, xm, l2)


def test_cholesky_substitute_inverts_the_factored_matrix():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((60, 40))
    H = Z.T @ Z + 0.1 * np.eye(40)
    L = np.linalg.cholesky(H)
    x = rng.standard_normal(40)
    y = x.copy()
    cholesky_substitute(np.ascontiguousarray(L), 40, y)
    np.testing.assert_allclose(H @ y, x, atol=1e-10)


@pytest.mark.parametrize("sparse", [False, True])
def test_exact_step_lowers_the_objective_and_keeps_the_residual(sparse):
    n, p = 50, 20
    X, w, xm, h, rng = _design(n, p, sparse, seed=5)
    args = _kernel_args(X, sparse)
    y = X[:, :4] @ np.array([2.0, -1.5, 1.0, 0.5]) + 0.3 * rng.standard_normal(n)
    yc = y - w @ y
    b = np.zeros(p)
    b[[0, 1, 2, 3, 6]] = [1.0, -1.0, 0.5, 0.2, 0.05]
    r = yc - (X - xm) @ b
    st = np.array([0.0, w @ r, 1.0, 0.0])
    l1, l2 = np.full(p, 0.02), np.full(p, 0.01)
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)

    def objective(b, r):
        return 0.5 * w @ r**2 + l1 @ np.abs(b) + 0.5 * l2 @ b**2

    A = np.flatnonzero(b).astype(np.int64)
    before = objective(b, r)
    b0 = b.copy()
    nf = _polish(*args, w, xm, h, r, st, b, A, A.size, l1, l2, lo, hi, *new_factor(p, p), 0,
                 np.zeros(p), np.empty(n))
    assert np.any(b != b0)  # the step was taken
    np.testing.assert_allclose(r, yc - (X - xm) @ b, atol=1e-12)
    assert objective(b, r) < before
    # a step cut at a feature's zero drops that feature and is taken again on the rest
    # (on the sparse design feature 6 reaches zero; on the dense one no sign changes), until
    # a full step: the factor then holds the features left, and their restricted problem
    # is solved (zero gradient on them)
    rest = A[b[A] != 0]
    assert (b[6] == 0.0) == sparse and rest.size == 5 - sparse
    assert nf == rest.size
    g = (X - xm)[:, rest].T @ (w * r) - l2[rest] * b[rest] - l1[rest] * np.sign(b[rest])
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


def _saturating(n, p, seed):
    """Correlated wide columns, a block of duplicated ones, the response on both."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p), order="F")
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = 0.8 * X[:, j - 1] + 0.6 * Z[:, j]
    X[:, p - 6:] = X[:, :6]  # exact duplicates
    y = X[:, :10] @ rng.uniform(-2, 2, 10) + rng.standard_normal(n)
    return X, y, rng


PATHS = {
    "lasso to saturation": dict(lam_min_ratio=1e-4),
    "weighted enet": dict(l1_ratio=0.6, weights=True),
    "bounds and penalty factors": dict(lower=-0.4, upper=1.5, pf=True),
    "sparse": dict(sparse=True, lam_min_ratio=1e-3),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_paths_with_kept_factor_agree_with_covariance_solver_and_pass_kkt(name):
    case = dict(PATHS[name])
    X, y, rng = _saturating(30, 150, seed=7)
    if case.pop("sparse", False):
        X = sp.csc_matrix(np.where(rng.uniform(size=X.shape) < 0.4, X, 0.0))
    w = rng.uniform(0.2, 2.0, X.shape[0]) if case.pop("weights", False) else None
    if case.pop("pf", False):
        pf = rng.uniform(0.5, 2.0, X.shape[1])
        pf[3] = 0.0
        case["penalty_factor"] = pf
    kw = dict(tol=1e-10, n_lams=50, early_stop=False, sample_weight=w, **case)
    fits = [fit_path(check_design(X), y, PathOptions(**kw), FitHints(solver=s))
            for s in ("naive", "covariance")]
    naive, cov = fits
    for path in fits:
        assert np.all(path.converged) and np.all(path.certificate <= 1e-10)
    if name == "lasso to saturation":
        assert naive.nnz.max() >= X.shape[0] - 2  # the active set reaches n
    np.testing.assert_allclose(naive.dev_ratio, cov.dev_ratio, atol=1e-7)
    Xd = X.toarray() if sp.issparse(X) else X
    ref = {("pf" if k == "penalty_factor" else k): v for k, v in case.items()
           if k in ("lower", "upper", "penalty_factor")}
    l1_ratio = case.get("l1_ratio", 1.0)
    for k in range(naive.n_lams):
        v = kkt_residual("gaussian", Xd, y, naive.intercepts[k], naive.coefs[k],
                         naive.lams[k], l1_ratio, w=w, **ref)
        assert v < 1e-4 * naive.lams[0] * l1_ratio
