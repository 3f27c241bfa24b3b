"""The two gaussian solvers (residual updates and covariance updates) along whole paths.

Each strategy is written once, in its compiled driver. The two drivers share no update
code (one moves a residual over X, the other a gradient over cached Gram columns), so
agreement between them on the same problem, together with an independent KKT check
(``tests/_reference.py``), tests both.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import kkt_residual
from shrinkage import regularization_path
from shrinkage.engine.contract import FitHints
from shrinkage.engine.kernels.active_set import apply_step, cholesky_solve, orthant_step
from shrinkage.engine.path import PathOptions, fit_path
from shrinkage.engine.problem import unsigned_index
from shrinkage.validation import check_design


def _correlated(n, p, rho=0.9, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p), order="F")
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * Z[:, j]
    y = X[:, : min(p, 8)] @ rng.uniform(-2, 2, min(p, 8)) + rng.standard_normal(n)
    return X, y, rng


CASES = {
    "wide lasso": dict(shape=(60, 300), kw={}),
    "wide enet bounded": dict(shape=(60, 300), kw=dict(l1_ratio=0.5, lower=-0.5, upper=2.0)),
    "tall lasso": dict(shape=(400, 30), kw={}),
    "tall enet weighted": dict(shape=(400, 30), kw=dict(l1_ratio=0.3), weights=True),
    "wide no intercept": dict(shape=(60, 300), kw=dict(fit_intercept=False)),
    "sparse": dict(shape=(200, 150), kw={}, sparse=True),
    # free unpenalised features: the dual point is projected off them
    "tall free features": dict(shape=(300, 25), kw=dict(penalty_factor="free")),
    "wide free features": dict(shape=(60, 200), kw=dict(penalty_factor="free")),
    # a short grid: the covariance solver caches Gram columns lazily, in batches
    "tall short grid": dict(shape=(500, 80), kw=dict(n_lams=8)),
}


def _fit(X, y, solver, kw):
    return fit_path(check_design(X), y, PathOptions(**kw), FitHints(solver=solver))


@pytest.mark.parametrize("name", list(CASES))
def test_naive_and_covariance_solvers_agree_and_pass_kkt(name):
    case = CASES[name]
    X, y, rng = _correlated(*case["shape"])
    if case.get("sparse"):
        X = sp.csc_matrix(np.where(rng.uniform(size=X.shape) < 0.2, X, 0.0))
    w = rng.uniform(0.2, 2.0, X.shape[0]) if case.get("weights") else None
    opts = dict(case["kw"])
    if opts.get("penalty_factor") == "free":
        pf = np.ones(X.shape[1])
        pf[[1, 4]] = 0.0
        opts["penalty_factor"] = pf
    kw = dict({"tol": 1e-10, "n_lams": 40}, **opts, sample_weight=w)
    naive = _fit(X, y, "naive", kw)
    cov = _fit(X, y, "covariance", kw)
    auto = regularization_path(X, y, **kw)
    assert naive.n_lams == cov.n_lams == auto.n_lams
    assert naive.stop_reason == cov.stop_reason
    for path in (naive, cov, auto):
        assert np.all(path.converged) and np.all(path.certificate <= 1e-10)
    scale = np.abs(naive.coefs).max()
    np.testing.assert_allclose(cov.coefs, naive.coefs, atol=1e-4 * scale)
    np.testing.assert_allclose(cov.intercepts, naive.intercepts, atol=1e-4 * (1 + scale))
    np.testing.assert_allclose(cov.dev_ratio, naive.dev_ratio, atol=1e-7)
    # every point passes an independent KKT check (relative to lam_max's scale)
    Xd = X.toarray() if sp.issparse(X) else X
    ref = {("pf" if k == "penalty_factor" else k): v for k, v in opts.items()
           if k not in ("l1_ratio", "n_lams")}
    l1_ratio = opts.get("l1_ratio", 1.0)
    for path in (naive, cov):
        for k in range(path.n_lams):
            v = kkt_residual("gaussian", Xd, y, path.intercepts[k], path.coefs[k],
                             path.lams[k], l1_ratio, w=w, **ref)
            assert v < 1e-4 * path.lams[0] * max(l1_ratio, 1e-3)


def test_saturated_wide_path_converges_with_active_set_steps():
    """Near saturation (nnz close to n) coordinate descent alone needs thousands of sweeps
    per lam on correlated features; the exact active-set steps keep it to a few hundred."""
    X, y, _ = _correlated(100, 3000, rho=0.5, seed=2)
    path = regularization_path(X, y, tol=1e-9, lam_min_ratio=1e-3, early_stop=False,
                               n_lams=60)
    assert np.all(path.converged)
    assert path.nnz[-1] > 90
    # total sweeps measured: ~9,000 with the steps, 35,209 without
    assert path.n_iter.sum() < 20000


def testcholesky_solve():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    H = A @ A.T + 0.1 * np.eye(6)
    b = rng.standard_normal(6)
    Hc, x = H.copy(), b.copy()
    assert cholesky_solve(Hc, x, 6)
    np.testing.assert_allclose(H @ x, b, atol=1e-10)
    # only the leading block is used
    big = np.zeros((8, 8))
    big[:6, :6] = H
    x2 = np.concatenate([b, [7.0, 7.0]])
    assert cholesky_solve(big, x2, 6)
    np.testing.assert_allclose(x2[:6], x, atol=1e-12)
    # singular: refused, not a garbage solve
    S = np.outer(A[0], A[0])
    assert not cholesky_solve(S.copy(), b.copy(), 6)


def _step(b, d, lo=None, hi=None):
    m = b.size
    lo = np.full(m, -np.inf) if lo is None else np.asarray(lo, float)
    hi = np.full(m, np.inf) if hi is None else np.asarray(hi, float)
    H, rhs, A = np.eye(m), np.asarray(d, float).copy(), np.arange(m)
    zeros = np.zeros(m)
    t = orthant_step(H, rhs, b, A, m, zeros, zeros, lo, hi)
    if t > 0:
        apply_step(b, A, m, rhs, t, lo, hi)
    return t, rhs


def test_active_set_step_stops_at_the_first_kink():
    # full step: no kink on the way (infinite bounds must not count as kinks)
    b = np.array([1.0, -2.0])
    t, moved = _step(b, [2.0, -1.0])
    assert t == 1.0 and np.array_equal(b, [3.0, -3.0]) and np.allclose(moved, [2.0, -1.0])
    # the second coefficient would change sign: stop where it reaches zero, exactly
    b = np.array([1.0, 0.5])
    t, moved = _step(b, [0.5, -1.0])
    assert t == 0.5 and b[1] == 0.0 and b[0] == 1.25
    np.testing.assert_allclose(moved, [0.25, -0.5])
    # an upper bound is hit first: land on it exactly
    b = np.array([1.0, 0.5])
    t, _ = _step(b, [1.0, 0.1], hi=[1.5, np.inf])
    assert t == 0.5 and b[0] == 1.5


@pytest.mark.parametrize("sparse_x", [False, True])
def test_path_prediction_lowers_the_objective_and_keeps_the_residual(sparse_x):
    """The secant warm start: from exact solutions at lam_0 > lam_1 it predicts lam_2's;
    the point it keeps has a lower objective at lam_2 than b(lam_1), is closer to
    b(lam_2), and the residual it leaves is y - b0 - X b of its coefficients."""
    from shrinkage.engine.naive import path_prediction

    X, y, _ = _correlated(80, 12, rho=0.3, seed=3)
    X = np.asfortranarray(X + 1.0)  # non-zero means: the centring is implicit
    n, p = X.shape
    Xs = sp.csc_matrix(X) if sparse_x else X
    lams = regularization_path(X, y, n_lams=12).lams[[5, 6, 7]]
    exact = regularization_path(X, y, lams=lams, standardize=False, tol=1e-14)
    w = np.full(n, 1.0 / n)
    xm = X.mean(axis=0)
    yc = y - y.mean()

    def objective(b):
        r = yc - (X - xm) @ b
        return 0.5 * w @ (r * r) + lams[2] * np.abs(b).sum()

    b = exact.coefs[1].copy()
    r = yc - (X - xm) @ b
    st = np.array([0.0, w @ r, 1.0, 0.0])
    kd = ((None, Xs.data, unsigned_index(Xs.indices), unsigned_index(Xs.indptr)) if sparse_x
          else (X, None, None, None))  # the index types the engine hands its kernels
    ratio = (lams[2] - lams[1]) / (lams[1] - lams[0])
    kept = path_prediction(*kd, sparse_x, w, xm, np.full(p, lams[2]), np.zeros(p),
                           np.full(p, -np.inf), np.full(p, np.inf), b, r, st, exact.coefs[1],
                           exact.coefs[0], ratio, np.empty(p, dtype=np.int64), np.empty(p),
                           np.empty(n))
    assert kept
    assert objective(b) < objective(exact.coefs[1])
    assert np.linalg.norm(b - exact.coefs[2]) < np.linalg.norm(exact.coefs[1] - exact.coefs[2])
    np.testing.assert_allclose(r, yc - (X - xm) @ b, atol=1e-12)
    assert st[1] == pytest.approx(w @ r, abs=1e-14)


def test_shrink_factor_aims_at_the_target_within_its_bounds():
    """The inner threshold's factor after a failed gap: 1/2 (target/gap)^2 (a lasso gap
    falls like the square root of the threshold), never above 1/2 nor below shrink^2, and
    shrink^2 for a gap that is NaN or infinite."""
    from shrinkage.engine.naive import shrink_factor

    assert shrink_factor(4e-5, 1e-5, 1e-2) == pytest.approx(0.5 / 16)
    assert shrink_factor(1.1e-5, 1e-5, 1e-2) == pytest.approx(0.5 / 1.21)
    assert shrink_factor(0.5e-5, 1e-5, 1e-2) == 0.5
    assert shrink_factor(1.0, 1e-5, 1e-2) == pytest.approx(1e-4)
    assert shrink_factor(np.inf, 1e-5, 1e-2) == pytest.approx(1e-4)
    assert shrink_factor(np.nan, 1e-5, 1e-2) == pytest.approx(1e-4)
