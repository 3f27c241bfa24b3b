"""Newton steps on the active groups of gaussian group MCP/SCAD (issue 18).

The kernel (:func:`~shrinkage.engine.kernels.group_concave_newton.group_newton`) is
checked against the model written out here in NumPy: every step lowers it, stays on each
group's piece of ``rho``, keeps the gradient exact, and the steps reach its stationary
point where the model is convex. The solvers that take them (residual and Gram modes)
give the path of the sweeps alone where every local problem is convex, certified at
tight tolerance, in fewer sweeps.
"""

import numpy as np
import pytest

from _reference import concave_rho, concave_slope
from shrinkage.engine import group_concave as engine_module
from shrinkage.engine.contract import FitHints
from shrinkage.engine.group_concave import GroupConcaveSolver
from shrinkage.engine.kernels.concave import MCP, SCAD
from shrinkage.engine.kernels.group_concave_newton import group_newton
from shrinkage.engine.path import PathOptions, check_design, fit_path


def _rho(kind, t, lam, gamma):
    return concave_rho("mcp" if kind == MCP else "scad", t, lam, gamma)


def _slope(kind, t, lam, gamma):
    return concave_slope("mcp" if kind == MCP else "scad", t, lam, gamma)


def _piece(kind, t, lam, gamma):
    edges = [gamma * lam] if kind == MCP else [lam, gamma * lam]
    return int(np.searchsorted(edges, t, side="left"))


def _model(kind, gamma, C, g0, b0, b, off, l1, l2):
    """``-g0.(b - b0) + (b - b0)^T C (b - b0) / 2 + P(b)`` (P per group)."""
    d = b - b0
    pen = sum(_rho(kind, np.linalg.norm(b[off[h]:off[h + 1]]), l1[h], gamma)
              + 0.5 * l2[h] * np.sum(b[off[h]:off[h + 1]] ** 2) for h in range(len(l1)))
    return -g0 @ d + 0.5 * d @ C @ d + pen


def _problem(seed, n=400, sizes=(3, 2, 4, 1, 5)):
    rng = np.random.default_rng(seed)
    m = sum(sizes)
    Z = rng.standard_normal((n, m)) + 0.4 * rng.standard_normal((n, 1))
    Z = (Z - Z.mean(0)) / Z.std(0)
    C = Z.T @ Z / n
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    b = rng.standard_normal(m)
    g = rng.standard_normal(m) * 0.3
    return C, g, b, off


@pytest.mark.parametrize("kind, gamma", [(MCP, 3.0), (SCAD, 3.7), (MCP, 1.5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_step_descends_on_its_pieces_with_the_gradient_exact(kind, gamma, seed):
    C, g, b, off = _problem(seed)
    k = len(off) - 1
    l1 = np.full(k, 0.4)
    l2 = np.where(np.arange(k) % 2 == 0, 0.0, 0.05)
    for _ in range(6):
        b_old, g_old = b.copy(), g.copy()
        steps = group_newton(kind, gamma, C, np.arange(b.size), np.ones(b.size), g, b, off,
                             l1, l2, 0.0, 1)
        if steps == 0:  # refused: nothing moved
            np.testing.assert_array_equal(b, b_old)
            np.testing.assert_array_equal(g, g_old)
            break
        assert (_model(kind, gamma, C, g_old, b_old, b, off, l1, l2)
                < _model(kind, gamma, C, g_old, b_old, b_old, off, l1, l2))
        np.testing.assert_allclose(g, g_old - C @ (b - b_old), atol=1e-12)
        for h in range(k):
            r0 = np.linalg.norm(b_old[off[h]:off[h + 1]])
            r1 = np.linalg.norm(b[off[h]:off[h + 1]])
            # on its piece of rho (an edge belongs to both sides) and not at zero
            tol = 1e-12 * max(r0, 1.0)
            before = {_piece(kind, r0 - tol, l1[h], gamma), _piece(kind, r0 + tol, l1[h], gamma)}
            after = {_piece(kind, r1 - tol, l1[h], gamma), _piece(kind, r1 + tol, l1[h], gamma)}
            assert before & after
            assert r1 >= 0.1 * r0 - tol


@pytest.mark.parametrize("kind, gamma", [(MCP, 3.0), (SCAD, 3.7)])
def test_steps_reach_the_stationary_point_of_a_convex_piece(kind, gamma):
    """Every group far beyond ``gamma lam`` (rho flat): the model is the quadratic
    ``-g.d + d^T (C + diag(l2)) d / 2`` and the steps end at its minimiser."""
    C, g, b, off = _problem(3)
    k = len(off) - 1
    b = 50.0 * np.sign(b) + b
    l1 = np.full(k, 0.1)
    l2 = np.full(k, 0.2)
    b0, g0 = b.copy(), g.copy()
    steps = group_newton(kind, gamma, C, np.arange(b.size), np.ones(b.size), g, b, off, l1,
                         l2, 1e-30, 20)
    assert steps >= 1
    l2f = np.repeat(l2, np.diff(off))
    d = np.linalg.solve(C + np.diag(l2f), g0 - l2f * b0)
    np.testing.assert_allclose(b, b0 + d, rtol=0, atol=1e-10)


def test_an_indefinite_model_is_refused():
    """MCP with a concavity above the loss's curvature: the Hessian is not positive
    definite at a point inside the concave piece, and nothing moves."""
    C, g, b, off = _problem(4)
    C *= 0.01
    k = len(off) - 1
    l1 = np.full(k, 10.0)
    b_old, g_old = b.copy(), g.copy()
    assert group_newton(MCP, 1.5, C, np.arange(b.size), np.ones(b.size), g, b, off, l1,
                        np.zeros(k), 0.0, 5) == 0
    np.testing.assert_array_equal(b, b_old)
    np.testing.assert_array_equal(g, g_old)


def _design(n=150, groups=24, size=5, seed=5):
    rng = np.random.default_rng(seed)
    p = groups * size
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    X[:, 1] = X[:, 0] + 0.3 * rng.standard_normal(n)
    X *= rng.uniform(0.5, 3.0, p)
    X += rng.uniform(-2.0, 2.0, p)
    beta = np.zeros(p)
    beta[:3] = rng.standard_normal(3)
    beta[5:9] = rng.standard_normal(4)
    return X, np.repeat(np.arange(groups), size), X @ beta / 2 + rng.standard_normal(n)


def _violation(path, X, y, labels, k):
    """Largest first-order violation at point k (standardized, intercept included),
    relative to the null model's largest standardized gradient."""
    n = X.shape[0]
    s = X.std(0)
    b, lam = path.coefs[k], path.lams[k]
    res = (y - X @ b - path.intercepts[k]) / n
    g = X.T @ res / s
    t = b * s
    worst = abs(res.sum())
    for grp in np.unique(labels):
        idx = labels == grp
        l1 = lam * np.sqrt(idx.sum())
        r = np.linalg.norm(t[idx])
        kind = MCP if path.penalty == "mcp" else SCAD
        worst = max(worst, max(np.linalg.norm(g[idx]) - l1, 0.0) if r == 0 else np.linalg.norm(
            g[idx] - _slope(kind, r, l1, path.gamma) * t[idx] / r))
    return worst / np.max(np.abs(X.T @ (y - y.mean()) / n / s))


def _fit(X, y, solver, **kw):
    kw.setdefault("tol", 1e-12)
    return fit_path(check_design(X), y, PathOptions(n_lams=30, **kw), FitHints(solver=solver))


@pytest.mark.parametrize("solver", ["group_concave", "group_concave_gram"])
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_newton_keeps_the_convex_path_in_fewer_sweeps(solver, penalty, monkeypatch):
    """A gamma large enough for every local problem to be convex (the diagnostic says so):
    the path with Newton steps is the sweeps' own path (1e-8 at tol 1e-12), certified
    (re-derived here), and the steps were taken and saved sweeps."""
    X, labels, y = _design()
    kw = {"feature_groups": labels, "penalty": penalty, "gamma": 300.0}
    taken = []

    def counted(*args):
        steps = group_newton(*args)
        taken.append(steps)
        return steps

    monkeypatch.setattr(engine_module, "group_newton", counted)
    newton = _fit(X, y, solver, **kw)
    assert np.all(newton.extra["convexity_margin"] > 0)
    assert sum(taken) > 0
    monkeypatch.setattr(GroupConcaveSolver, "sweeps_before_newton", 10**9)
    sweeps = _fit(X, y, solver, **kw)
    assert newton.converged.all() and sweeps.converged.all()
    scale = np.max(np.abs(sweeps.coefs))
    np.testing.assert_allclose(newton.coefs, sweeps.coefs, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(newton.intercepts, sweeps.intercepts, rtol=0,
                               atol=1e-8 * scale)
    assert max(_violation(newton, X, y, labels, k) for k in range(newton.n_lams)) <= 1e-10
    assert np.sum(newton.n_iter) < np.sum(sweeps.n_iter)


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("solver", ["group_concave", "group_concave_gram"])
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_newton_path_is_certified_where_not_convex(solver, penalty):
    """The default gamma on a design where the local problems are not convex: every
    point is stationary to 1e-9 at tol 1e-10, re-derived from the coefficients (the
    residual mode's running residual carries rounding of 1e-10 relative along this
    path's large coefficients)."""
    X, labels, y = _design()
    path = _fit(X, y, solver, feature_groups=labels, penalty=penalty, tol=1e-10)
    assert np.any(path.extra["convexity_margin"] < 0)
    assert path.converged.all()
    assert max(_violation(path, X, y, labels, k) for k in range(path.n_lams)) <= 1e-9
