"""Gaussian MCP/SCAD by covariance updates (ConcaveCovariance) against ConcaveSolver.

Both solvers follow the local solution reached by warm starts from ``lam_max``; on tall
designs they must give the same path, each point certified by first-order conditions
re-derived here with NumPy. The convexity diagnostic (a Cholesky test instead of an
eigenvalue) must agree in sign with ConcaveSolver's exact smallest eigenvalue.
"""

import warnings

import numpy as np
import pytest

from _reference import standardization
from shrinkage import regularization_path
from shrinkage.engine.concave_covariance import ConcaveCovariance
from shrinkage.engine.concave_steps import MarginTracker
from shrinkage.engine.contract import FitHints
from shrinkage.engine.kernels.active_set import cholesky_substitute
from shrinkage.engine.kernels.concave import MCP, SCAD, penalty_sum
from shrinkage.engine.kernels.concave_factor import factor_sync, new_factor
from shrinkage.engine.kernels.concave_gram import (
    anderson_try,
    convexity_margins,
    gram_objective,
    gram_sweep,
    piece_newton,
)
from shrinkage.engine.path import NonconvexWarning, PathOptions, check_design, fit_path
from shrinkage.model.concave import stationarity_violation

pytestmark = pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")


def _design(n=240, p=20, rho=0.5, seed=0):
    """Equicorrelated columns of uneven scale and mean; five true effects."""
    rng = np.random.default_rng(seed)
    Z = np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal(
        (n, 1))
    X = Z * rng.uniform(0.5, 3.0, p) + rng.uniform(-2, 2, p)
    beta = np.zeros(p)
    beta[:5] = [1.5, -1.0, 0.8, 0.6, -0.4]
    y = Z @ beta + rng.standard_normal(n) + 3.0
    return X, y, rng


def _fit(X, y, solver, **kw):
    return fit_path(check_design(X), y, PathOptions(**kw), FitHints(solver=solver))


def _violation(path, X, y, k, pf, w):
    """Largest stationarity violation at point k, standardized, relative to the null
    model's largest standardized gradient (as the certificate)."""
    n, p = X.shape
    w, center, scale = standardization(X, w, path.standardize, path.fit_intercept)
    b, b0 = path.coefs[k], path.intercepts[k]
    r = w * (y - X @ b - b0)
    g = X.T @ r
    lam = path.lams[k]
    v = stationarity_violation(path.penalty, path.gamma, g / scale, b * scale,
                               lam * path.l1_ratio * pf, lam * (1 - path.l1_ratio) * pf)
    y0 = np.average(y, weights=w) if path.fit_intercept else 0.0
    g0 = (X - center).T @ (w * (y - y0)) if path.fit_intercept else X.T @ (w * y)
    extra = abs(r.sum()) if path.fit_intercept else 0.0
    return max(v.max(), extra) / np.max(np.abs(g0) / scale)


CASES = {
    "mcp": dict(penalty="mcp"),
    "scad": dict(penalty="scad"),
    "mcp ridge mix": dict(penalty="mcp", l1_ratio=0.5),
    "scad ridge mix, weights": dict(penalty="scad", l1_ratio=0.7, weights=True),
    "mcp penalty factors": dict(penalty="mcp", pf=True),
    "scad no intercept, raw scale": dict(penalty="scad", fit_intercept=False,
                                         standardize=False),
    "mcp small gamma (nonconvex)": dict(penalty="mcp", gamma=1.5),
    "mcp short grid (columns cached in batches)": dict(penalty="mcp", n_lams=6),
}


@pytest.mark.parametrize("name", list(CASES))
def test_equals_concave_solver_and_is_stationary(name, monkeypatch):
    # the reference's diagnostic as exact eigenvalues everywhere (no Rayleigh bounds)
    monkeypatch.setattr(MarginTracker, "_bound", lambda self, *args: None)
    kw = dict(CASES[name])
    X, y, rng = _design(seed=len(name))
    n, p = X.shape
    w = rng.uniform(0.2, 2.0, n) if kw.pop("weights", False) else None
    pf = np.ones(p)
    if kw.pop("pf", False):
        pf[3] = 0.0  # an unpenalised feature
        pf[7] = 2.5
    opts = dict(tol=1e-11, n_lams=kw.pop("n_lams", 40), sample_weight=w, penalty_factor=pf,
                **kw)
    ours = _fit(X, y, "concave_covariance", **opts)
    ref = _fit(X, y, "concave", **opts)
    assert ours.n_lams == ref.n_lams and ours.converged.all() and ref.converged.all()
    np.testing.assert_allclose(ours.lams, ref.lams, rtol=1e-12)
    scale = np.max(np.abs(ref.coefs))
    np.testing.assert_allclose(ours.coefs, ref.coefs, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.intercepts, ref.intercepts, rtol=0,
                               atol=1e-8 * max(scale, 1.0) * np.abs(X).max())
    np.testing.assert_allclose(ours.dev_ratio, ref.dev_ratio, rtol=0, atol=1e-9)
    assert ours.certificate.max() <= 1e-11
    ww = np.ones(n) if w is None else w
    for k in range(ours.n_lams):
        assert _violation(ours, X, y, k, pf, ww) <= 1e-10
    # the diagnostic: the same sign as the exact smallest eigenvalue, and where negative
    # an upper bound on it (a Rayleigh quotient)
    mine, exact = ours.extra["convexity_margin"], ref.extra["convexity_margin"]
    neg = exact < 0
    np.testing.assert_array_equal(mine < 0, neg)
    assert np.all(np.isnan(mine[~neg]) | np.isinf(mine[~neg]))
    assert np.all(np.isinf(mine) == np.isinf(exact))
    assert np.all(mine[neg] >= exact[neg] - 1e-12)
    if name.startswith("mcp small gamma"):
        assert np.any(neg)  # the case does test the nonconvex branch


def test_registry_chooses_it_only_in_its_domain(monkeypatch):
    X, y, _ = _design(n=200, p=20)
    chosen = []
    original = ConcaveCovariance.__init__

    def init(self, prob, setup):
        chosen.append(prob.X.shape)
        original(self, prob, setup)

    monkeypatch.setattr(ConcaveCovariance, "__init__", init)
    regularization_path(X, y, penalty="scad", n_lams=5)  # n >= 2p: covariance
    regularization_path(X[:30], y[:30], penalty="scad", n_lams=5)  # n < 2p
    regularization_path(X, (y > 3).astype(float), "binomial", penalty="mcp", n_lams=5)
    regularization_path(X, y, n_lams=5)  # the lasso keeps its own solver
    assert chosen == [X.shape]
    with pytest.raises(ValueError, match="concave_covariance"):
        _fit(X, (y > 3).astype(float), "concave_covariance", family="binomial",
             penalty="mcp")


def test_convexity_warning_fires_where_it_should():
    X, y, _ = _design(n=300, p=30, rho=0.8, seed=5)
    # strongly correlated columns and MCP's default gamma: locally nonconvex
    with pytest.warns(NonconvexWarning, match="not locally convex"):
        path = regularization_path(X, y, penalty="mcp", gamma=1.5, n_lams=30)
    assert np.any(path.extra["convexity_margin"] < 0)
    # a large gamma (and a ridge part) keeps every local problem convex: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonconvexWarning)
        regularization_path(X, y, penalty="mcp", gamma=50.0, n_lams=30)
        regularization_path(X, y, penalty="scad", gamma=10.0, l1_ratio=0.5, n_lams=30)


def _check_margins(got, S, sets, shifts):
    for A, m, d in zip(sets, got, shifts):
        lmin = np.linalg.eigvalsh(S[np.ix_(A, A)] + np.diag(d[A]))[0]
        if lmin > 1e-10:
            assert np.isnan(m)
        elif lmin < -1e-10:
            assert lmin - 1e-12 <= m < 0


@pytest.mark.parametrize("seed", range(4))
def test_convexity_margins_against_eigenvalues(seed):
    """Grown, repeated, shrunk and regrown active sets (with and without a ridge part that
    moves the shift with ``lam``): the sign of the smallest eigenvalue, and a bound above
    it where negative; ``inf`` without penalised features, the smallest shift past
    ``n_live`` features."""
    rng = np.random.default_rng(seed)
    p = 25
    Z = rng.standard_normal((60, p)) + rng.standard_normal((60, 1)) * (seed + 1) / 2
    S = Z.T @ Z / 60
    s = np.sqrt(np.diag(S))
    G = np.asfortranarray(S)  # the standardized block is G / (s s^T)
    S = S / np.outer(s, s)
    col = np.arange(p, dtype=np.int64)
    sets = [np.arange(3), np.arange(8), np.arange(8), np.arange(15), np.arange(25),
            np.array([0, 2, 4, 9, 11]), np.array([0, 2, 4, 9, 11, 20, 21]), np.arange(6)]
    coefs = np.zeros((len(sets), p))
    for k, A in enumerate(sets):
        coefs[k, A] = rng.choice([-1.0, 1.0], A.size)
    conc = 1.0 / 3.0 + 0.15 * seed
    lams = np.linspace(1.0, 0.2, len(sets))
    pen = np.ones(p, dtype=bool)
    for l2 in (np.zeros(p), np.full(p, 0.3)):
        got = convexity_margins(G, col, s, coefs, lams, np.full(p, -conc), l2, pen, 59,
                                bool(l2.any()))
        _check_margins(got, S, sets, [lam * l2 - conc for lam in lams])
        if not l2.any():
            assert got[2] == got[1] or (np.isnan(got[1]) and np.isnan(got[2]))
    got = convexity_margins(G, col, s, coefs, lams, np.full(p, -conc), np.zeros(p),
                            np.arange(p) >= 3, 10, False)
    assert got[0] == np.inf and got[3] == got[4] == -conc


def _gram_problem(seed=0, p=12):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((100, p)) + 0.7 * rng.standard_normal((100, 1))
    Z -= Z.mean(0)
    y = Z[:, :4] @ [1.0, -1.0, 0.5, 0.5] + rng.standard_normal(100)
    y -= y.mean()
    G = np.asfortranarray(Z.T @ Z / 100)
    c = Z.T @ y / 100
    scale = np.sqrt(np.diag(G)).copy()
    return G, c, float(y @ y / 100), scale


@pytest.mark.parametrize("kind", [MCP, SCAD])
def test_extrapolation_and_newton_steps_never_raise_the_objective(kind):
    """Anderson and active-piece Newton steps from many CD states: each kept step lowers
    the nonconvex objective, keeps the gradient exact and keeps every sign."""
    gamma = 3.0 if kind == MCP else 3.7
    p = 12
    col = np.arange(p, dtype=np.int64)
    ws = np.arange(p, dtype=np.int64)
    kinds = []
    for seed in range(6):
        G, c, yw, scale = _gram_problem(seed, p)
        fact = new_factor(p)  # carried across the steps of one problem
        rng = np.random.default_rng(seed)
        lam1 = np.full(p, rng.uniform(0.02, 0.2))
        lam2 = np.zeros(p) if seed % 2 else np.full(p, 0.05)
        b = np.where(rng.uniform(size=p) < 0.6, rng.normal(0, 0.5, p), 0.0)
        g = c - G @ b
        hist = np.empty((p, 6))
        for k in range(6):  # iterates of a noisy contraction towards a point
            hist[:, k] = b + (0.7 ** (k + 1)) * np.where(b != 0, rng.normal(0, .05, p), 0)
        b = hist[:, -1].copy()
        g = c - G @ b
        f0 = gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, p)
        before = b.copy()
        if anderson_try(kind, gamma, G, col, c, g, yw, scale, lam1, lam2, b, ws, p, hist, 5,
                        np.empty(p), np.empty(p)):
            assert np.all(np.sign(b) == np.sign(before))
            assert gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, p) < f0
        np.testing.assert_allclose(g, c - G @ b, atol=1e-12)
        for _ in range(20):  # as the driver: sweeps between steps until one is full
            gram_sweep(kind, gamma, G, col, g, np.diag(G).copy(), scale, lam1, lam2, b, ws,
                       p)
            A = np.flatnonzero(b).astype(np.int64)
            f1 = gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, p)
            signs = np.sign(b)
            kinds.append(piece_newton(kind, gamma, G, col, g, b, scale, lam1, lam2, A,
                                      A.size, fact))
            f2 = gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, p)
            assert f2 <= f1 + 1e-15 * abs(f1)
            np.testing.assert_array_equal(np.sign(b), signs)
            np.testing.assert_allclose(g, c - G @ b, atol=1e-12)
            if kinds[-1] != 2:
                break
        # the objective evaluated from inner products is the direct one
        direct = (0.5 * (yw - 2 * b @ c + b @ G @ b)
                  + penalty_sum(kind, gamma, b, scale, lam1, lam2, ws))
        assert f2 == pytest.approx(direct, rel=1e-12, abs=1e-14)
    assert {1, 2} <= set(kinds)  # both kinds of kept step were tested


def test_carried_factor_is_the_cholesky_factor_of_each_newton_matrix():
    """Active sets that grow, lose features and change diagonal terms (pieces) in random
    order: after each update ``L L^T`` is ``G_AA + diag(e_A)`` in the factor's order, the
    solve is NumPy's, and an indefinite matrix is reported (not factored)."""
    rng = np.random.default_rng(5)
    p = 30
    G, _, _, _ = _gram_problem(1, p)
    col = np.arange(p, dtype=np.int64)
    fact = new_factor(p)
    L, fac, fd, n = fact
    e = np.zeros(p)
    A = np.arange(4, dtype=np.int64)
    for step in range(60):
        if step % 3 == 0:
            A = np.union1d(A, rng.choice(p, 3)).astype(np.int64)
        elif step % 3 == 1 and A.size > 3:
            A = np.setdiff1d(A, rng.choice(A, 2)).astype(np.int64)
        e[rng.choice(p, 4)] = -rng.uniform(0, 0.2, 4) * np.diag(G)[:4]
        assert factor_sync(G, col, A, A.size, e, L, fac, fd, n)
        nf = int(n[0])
        F = fac[:nf]
        assert sorted(F.tolist()) == A.tolist()
        np.testing.assert_array_equal(fd[:nf], e[F])
        H = G[np.ix_(F, F)] + np.diag(e[F])
        Lf = np.tril(L[:nf, :nf])
        np.testing.assert_allclose(Lf @ Lf.T, H, rtol=1e-12, atol=1e-12)
        r = rng.standard_normal(nf)
        x = r.copy()
        cholesky_substitute(L, nf, x)
        np.testing.assert_allclose(x, np.linalg.solve(H, r), rtol=1e-9, atol=1e-12)
    e[A[0]] = -2.0 * G[A[0], A[0]]  # negative diagonal: not positive definite
    assert not factor_sync(G, col, A, A.size, e, L, fac, fd, n)
    assert A[0] not in fac[:n[0]]
