"""The group solver's Gram mode (tall gaussian designs): the same paths as the residual
mode at tight tolerance, and duality gaps re-derived here from the coefficients alone."""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage.engine.contract import FitHints
from shrinkage.engine.path import PathOptions, fit_path
from shrinkage.validation import check_design


def _design(n=300, sizes=(3, 2, 4, 1, 5, 2, 6), seed=0, k=1):
    rng = np.random.default_rng(seed)
    p = sum(sizes)
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    X[:, 1] = X[:, 0] + 0.3 * rng.standard_normal(n)  # correlated inside a group
    X *= rng.uniform(0.5, 3.0, p)
    X += rng.uniform(-2.0, 2.0, p)  # non-zero means: the centring is implicit
    labels = np.repeat(np.arange(len(sizes)), sizes)
    B = np.zeros((p, k))
    B[:3] = rng.standard_normal((3, k))
    B[5:9] = rng.standard_normal((4, k))
    Y = X @ B / 2 + rng.standard_normal((n, k))
    return X, labels, (Y[:, 0] if k == 1 else Y)


def _fit(X, y, solver, **kw):
    kw.setdefault("tol", 1e-12)
    kw.setdefault("n_lams", 30)
    return fit_path(check_design(X), y, PathOptions(**kw), FitHints(solver=solver))


def _relative_gap(path, X, Y, labels, l1_ratio, k):
    """Duality gap of point k over the null objective, from scratch (dual point: the
    residual scaled into the dual feasible set), standardized units."""
    n = X.shape[0]
    Y = Y.reshape(n, -1)
    B = path.coefs[k].reshape(X.shape[1], -1)
    s = X.std(axis=0) if path.standardize else np.ones(X.shape[1])
    Xs = (X - X.mean(axis=0)) / s
    beta = B * s[:, None]
    Yc = Y - Y.mean(axis=0)
    R = Yc - Xs @ beta
    lam = path.lams[k]
    G = Xs.T @ R / n
    primal = 0.5 * np.sum(R * R) / n
    alpha, groups = 1.0, np.unique(labels)
    if l1_ratio == 1.0:
        alpha = min(1.0, min(lam * np.sqrt(np.sum(labels == g)) / np.linalg.norm(G[labels == g])
                             for g in groups))
    conj = 0.0
    for g in groups:
        idx = labels == g
        pf = np.sqrt(idx.sum())
        bg = beta[idx]
        primal += lam * pf * (l1_ratio * np.linalg.norm(bg)
                              + (1 - l1_ratio) / 2 * np.sum(bg * bg))
        if l1_ratio < 1.0:
            ex = max(np.linalg.norm(alpha * G[idx]) - lam * pf * l1_ratio, 0.0)
            conj += ex * ex / (2 * lam * pf * (1 - l1_ratio))
    dual = alpha * np.sum(R * Yc) / n - 0.5 * alpha * alpha * np.sum(R * R) / n - conj
    return (primal - dual) / (0.5 * np.sum(Yc * Yc) / n)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("standardize", [True, False])
def test_gram_mode_equals_residual_mode(l1_ratio, standardize):
    X, labels, y = _design()
    kw = {"feature_groups": labels, "l1_ratio": l1_ratio, "standardize": standardize}
    auto = _fit(X, y, "auto", **kw)
    gram = _fit(X, y, "group_gram", **kw)
    resid = _fit(X, y, "group", **kw)
    assert np.array_equal(auto.coefs, gram.coefs)  # the tall design picks the Gram mode
    assert gram.converged.all()
    np.testing.assert_allclose(gram.lams, resid.lams, rtol=1e-12)
    scale = np.max(np.abs(resid.coefs))
    np.testing.assert_allclose(gram.coefs, resid.coefs, atol=1e-6 * scale)
    np.testing.assert_allclose(gram.intercepts, resid.intercepts, atol=1e-6 * scale)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_gram_mode_certificates(l1_ratio):
    X, labels, y = _design(seed=3)
    path = _fit(X, y, "group_gram", feature_groups=labels, l1_ratio=l1_ratio, tol=1e-10)
    assert path.converged.all()
    gaps = [_relative_gap(path, X, y, labels, l1_ratio, k) for k in range(path.lams.size)]
    assert max(gaps) <= 1e-8
    assert min(gaps) >= -1e-12


def test_gram_mode_multi_response():
    X, _, Y = _design(seed=5, k=3)
    auto = _fit(X, Y, "auto", family="mgaussian")
    gram = _fit(X, Y, "group_gram", family="mgaussian")
    resid = _fit(X, Y, "group", family="mgaussian")
    assert np.array_equal(auto.coefs, gram.coefs)
    assert gram.converged.all()
    np.testing.assert_allclose(gram.coefs, resid.coefs, atol=1e-6 * np.max(np.abs(resid.coefs)))
    np.testing.assert_allclose(gram.intercepts, resid.intercepts,
                               atol=1e-6 * np.max(np.abs(resid.coefs)))


def test_residual_mode_for_wide_or_sparse_designs():
    X, labels, y = _design(n=20)
    wide = _fit(X, y, "auto", feature_groups=labels, n_lams=5)
    assert np.array_equal(wide.coefs, _fit(X, y, "group", feature_groups=labels,
                                           n_lams=5).coefs)
    tall = sp.csc_matrix(np.vstack([X] * 20))
    with pytest.raises(ValueError, match="group_gram"):
        _fit(tall, np.tile(y, 20), "group_gram", feature_groups=labels)


def test_gram_mode_anderson_same_path_fewer_sweeps(monkeypatch):
    """Anderson extrapolation between the Gram mode's active sweeps changes the route,
    not the answer: the same path at tight tolerance, in fewer sweeps."""
    from shrinkage.engine.group_gram import GroupGramSolver

    X, _, Y = _design(n=400, sizes=(6,) * 10, seed=7, k=3)
    X[:, 2::6] = X[:, 1::6] + 0.2 * np.random.default_rng(1).standard_normal((400, 10))
    kw = {"family": "mgaussian", "n_lams": 20, "tol": 1e-10}
    accel = _fit(X, Y, "group_gram", **kw)
    monkeypatch.setattr(GroupGramSolver, "anderson", 0)
    plain = _fit(X, Y, "group_gram", **kw)
    assert accel.converged.all() and plain.converged.all()
    np.testing.assert_allclose(accel.coefs, plain.coefs, atol=1e-6 * np.max(np.abs(plain.coefs)))
    assert np.sum(accel.n_iter) < np.sum(plain.n_iter)


# ------------------------------------------------------- group MCP / SCAD in Gram mode
def _concave_violation(path, X, y, labels, k):
    """Largest violation of the first-order conditions of group MCP/SCAD at point k
    (standardized units, intercept included) over the null model's largest gradient,
    re-derived from the coefficients alone."""
    n = X.shape[0]
    s = X.std(axis=0) if path.standardize else np.ones(X.shape[1])
    res = y - X @ path.coefs[k] - path.intercepts[k]
    g = X.T @ res / n / s
    t = path.coefs[k] * s
    lam, gamma, a = path.lams[k], path.gamma, path.l1_ratio
    worst = abs(res.mean())
    for grp in np.unique(labels):
        idx = labels == grp
        l1, l2 = lam * a * np.sqrt(idx.sum()), lam * (1 - a) * np.sqrt(idx.sum())
        r = np.linalg.norm(t[idx])
        if r == 0:
            worst = max(worst, np.linalg.norm(g[idx]) - l1)
            continue
        if path.penalty == "mcp":
            slope = max(l1 - r / gamma, 0.0)
        else:
            slope = l1 if r <= l1 else max(gamma * l1 - r, 0.0) / (gamma - 1)
        worst = max(worst, np.linalg.norm(g[idx] - l2 * t[idx] - slope * t[idx] / r))
    return worst / np.max(np.abs(X.T @ (y - y.mean()) / n / s))


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
@pytest.mark.parametrize("l1_ratio, standardize", [(1.0, True), (0.5, False)])
def test_group_concave_gram_mode_equals_residual_mode(penalty, l1_ratio, standardize):
    """The tall design picks the Gram mode; it follows the same local solution as the
    residual mode along the whole path (1e-8 at tol 1e-12), and the same diagnostic."""
    X, labels, y = _design()
    kw = {"feature_groups": labels, "l1_ratio": l1_ratio, "standardize": standardize,
          "penalty": penalty}
    auto = _fit(X, y, "auto", **kw)
    gram = _fit(X, y, "group_concave_gram", **kw)
    resid = _fit(X, y, "group_concave", **kw)
    assert np.array_equal(auto.coefs, gram.coefs)
    assert gram.converged.all() and resid.converged.all()
    assert gram.certificate.max() <= 1e-12
    np.testing.assert_allclose(gram.lams, resid.lams, rtol=1e-12)
    scale = np.max(np.abs(resid.coefs))
    np.testing.assert_allclose(gram.coefs, resid.coefs, atol=1e-8 * scale)
    np.testing.assert_allclose(gram.intercepts, resid.intercepts, atol=1e-8 * scale)
    np.testing.assert_allclose(gram.extra["convexity_margin"],
                               resid.extra["convexity_margin"], rtol=1e-8, atol=1e-12)


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_group_concave_gram_mode_certificates(penalty):
    X, labels, y = _design(seed=3)
    path = _fit(X, y, "group_concave_gram", feature_groups=labels, penalty=penalty,
                tol=1e-10)
    assert path.converged.all()
    viol = [_concave_violation(path, X, y, labels, k) for k in range(path.lams.size)]
    assert max(viol) <= 1e-9
    assert np.count_nonzero(path.coefs[-1]) > 0


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
def test_group_concave_residual_mode_for_wide_or_sparse_designs():
    X, labels, y = _design(n=20)
    kw = {"feature_groups": labels, "n_lams": 5, "penalty": "scad"}
    wide = _fit(X, y, "auto", **kw)
    assert np.array_equal(wide.coefs, _fit(X, y, "group_concave", **kw).coefs)
    tall = sp.csc_matrix(np.vstack([X] * 20))
    with pytest.raises(ValueError, match="group_concave_gram"):
        _fit(tall, np.tile(y, 20), "group_concave_gram", **kw)


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_group_concave_residual_anderson_same_path_stationary(penalty, monkeypatch):
    """Anderson extrapolation between the residual mode's active sweeps (kept only where
    the nonconvex objective drops) changes the route, not the answer: on a design where
    the residual mode is the default (``n < 2p``) the accelerated path is stationary to
    1e-9 (re-derived here from the coefficients), equals the unaccelerated sweeps' path
    (the same local solution at every point of this design) in fewer sweeps; on a tall
    design it equals the Gram mode's path. (The Newton steps on the active groups, which
    choose their own route, are off here: tests/test_group_concave_newton.py.)"""
    from shrinkage.engine.group_concave import GroupConcaveSolver

    monkeypatch.setattr(GroupConcaveSolver, "sweeps_before_newton", 10**9)
    X, labels, y = _design(n=150, sizes=(5,) * 24, seed=5)
    kw = {"feature_groups": labels, "penalty": penalty, "tol": 1e-10}
    accel = _fit(X, y, "group_concave", **kw)
    viol = [_concave_violation(accel, X, y, labels, k) for k in range(accel.lams.size)]
    assert accel.converged.all() and max(viol) <= 1e-9
    assert np.count_nonzero(accel.coefs[-1]) > 0
    tall_X, tall_labels, tall_y = _design(seed=2)
    tall_kw = {"feature_groups": tall_labels, "penalty": penalty}
    tall = _fit(tall_X, tall_y, "group_concave", **tall_kw)
    gram = _fit(tall_X, tall_y, "group_concave_gram", **tall_kw)
    np.testing.assert_allclose(tall.coefs, gram.coefs, atol=1e-8 * np.max(np.abs(gram.coefs)))
    monkeypatch.setattr(GroupConcaveSolver, "residual_anderson", 0)
    plain = _fit(X, y, "group_concave", **kw)
    assert plain.converged.all()
    np.testing.assert_allclose(accel.coefs, plain.coefs, atol=1e-7 * np.max(np.abs(plain.coefs)))
    np.testing.assert_allclose(accel.intercepts, plain.intercepts,
                               atol=1e-7 * np.max(np.abs(plain.coefs)))
    assert np.sum(accel.n_iter) < np.sum(plain.n_iter)
