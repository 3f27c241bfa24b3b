"""MCP and SCAD on the path engine: thresholds, stationarity, limits, brute force, skglm.

The first-order conditions are re-derived here from the objective (NumPy, via
``tests/_reference.py``'s losses) so that a wrong engine certificate cannot hide a wrong
solution.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import loss_residual, mean_loss, standardization
from shrinkage import regularization_path
from shrinkage.engine.kernels.concave import MCP, SCAD, threshold
from shrinkage.engine.path import NonconvexWarning
from shrinkage.model.concave import concave_value, stationarity_violation

KINDS = {"mcp": MCP, "scad": SCAD}


def _data(family, n=120, p=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + rng.uniform(-1, 1, p)
    beta = np.zeros(p)
    beta[:4] = [1.5, -1.0, 0.8, 0.5]
    eta = (X - X.mean(0)) / X.std(0) @ beta
    if family == "gaussian":
        y = eta + rng.standard_normal(n)
    elif family == "binomial":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.4 * eta)).astype(float)
    return X, y


def _violation(path, X, y, k, pf=None, w=None):
    """Largest stationarity violation at path point k (standardized units), relative to
    the null model's largest standardized gradient; the intercept's gradient included."""
    n, p = X.shape
    pf = np.ones(p) if pf is None else np.asarray(pf, float)
    w, _, scale = standardization(X, np.ones(n) if w is None else w, path.standardize, True)
    b, b0 = path.coefs[k], path.intercepts[k]
    res = w * loss_residual(path.family, y, X @ b + b0)
    g = X.T @ res
    lam = path.lams[k]
    lam1 = lam * path.l1_ratio * pf
    lam2 = lam * (1 - path.l1_ratio) * pf
    v = stationarity_violation(path.penalty, path.gamma, g / scale, b * scale, lam1, lam2)
    y0 = np.average(y, weights=w)
    eta0 = {"gaussian": lambda: y0, "binomial": lambda: np.log(y0 / (1 - y0)),
            "poisson": lambda: np.log(y0)}[path.family]()
    g0 = X.T @ (w * loss_residual(path.family, y, np.full(n, eta0)))
    return max(v.max(), abs(res.sum())) / np.max(np.abs(g0) / scale)


# ---------------------------------------------------------------- univariate thresholds


@pytest.mark.parametrize("u", np.linspace(-5, 5, 41))
def test_thresholds_match_ncvreg_closed_forms(u):
    lam, gamma = 1.0, 3.7
    # ncvreg (v = 1, no ridge): firm thresholding for MCP, Fan & Li's rule for SCAD
    mcp = np.sign(u) * max(abs(u) - lam, 0) / (1 - 1 / gamma) if abs(u) <= gamma * lam else u
    if abs(u) <= 2 * lam:
        scad = np.sign(u) * max(abs(u) - lam, 0)
    elif abs(u) <= gamma * lam:
        scad = ((gamma - 1) * u - np.sign(u) * gamma * lam) / (gamma - 2)
    else:
        scad = u
    assert threshold(MCP, u, 1.0, lam, 0.0, gamma) == pytest.approx(mcp, abs=1e-13)
    assert threshold(SCAD, u, 1.0, lam, 0.0, gamma) == pytest.approx(scad, abs=1e-13)


@pytest.mark.parametrize("kind", ["mcp", "scad"])
def test_thresholds_are_global_minimisers(kind):
    """Against a fine grid, convex and nonconvex univariate problems alike."""
    rng = np.random.default_rng(1)
    grid = np.linspace(-12, 12, 240_001)
    for _ in range(300):
        u = rng.uniform(-6, 6)
        v = rng.choice([rng.uniform(0.02, 0.3), rng.uniform(0.3, 3)])
        lam1, lam2 = rng.uniform(0.1, 2), rng.choice([0.0, rng.uniform(0, 0.5)])
        gamma = rng.uniform(1.1 if kind == "mcp" else 2.1, 6)
        f = 0.5 * (v + lam2) * grid**2 - u * grid + concave_value(kind, grid, lam1, gamma)
        t = threshold(KINDS[kind], u, v, lam1, lam2, gamma)
        ft = 0.5 * (v + lam2) * t**2 - u * t + concave_value(kind, t, lam1, gamma)
        assert ft <= f.min() + 1e-9


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_stationarity_certificate_at_tight_tol(family, penalty):
    X, y = _data(family)
    pf = np.ones(X.shape[1])
    pf[5] = 0.0  # unpenalised
    pf[6] = 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonconvexWarning)
        path = regularization_path(X, y, family, penalty=penalty, tol=1e-10,
                                   penalty_factor=pf, n_lams=40)
    assert path.penalty == penalty and path.gamma == {"mcp": 3.0, "scad": 3.7}[penalty]
    assert path.converged.all()
    assert path.certificate.max() <= 1e-10
    for k in range(path.n_lams):
        assert _violation(path, X, y, k, pf) <= 1e-9
    assert np.all(path.coefs[:, 5] != 0)  # the unpenalised feature is always in


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_ridge_mix_and_no_standardization(family):
    X, y = _data(family, seed=3)
    path = regularization_path(X, y, family, penalty="scad", l1_ratio=0.6, tol=1e-10,
                               standardize=False, n_lams=30)
    assert path.converged.all()
    for k in range(path.n_lams):
        assert _violation(path, X, y, k) <= 1e-9


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
def test_sparse_design_equals_dense():
    X, y = _data("gaussian", n=150, p=20, seed=4)
    X[np.abs(X) < 0.8] = 0.0
    dense = regularization_path(X, y, penalty="mcp", tol=1e-11, n_lams=30)
    sparse = regularization_path(sp.csc_matrix(X), y, penalty="mcp", tol=1e-11, n_lams=30)
    np.testing.assert_allclose(sparse.coefs, dense.coefs, atol=1e-7)
    Xb, yb = _data("binomial", n=150, p=20, seed=4)
    Xb[np.abs(Xb) < 0.8] = 0.0
    d = regularization_path(Xb, yb, "binomial", penalty="scad", tol=1e-10, n_lams=20)
    s = regularization_path(sp.csc_matrix(Xb), yb, "binomial", penalty="scad", tol=1e-10,
                            n_lams=20)
    np.testing.assert_allclose(s.coefs, d.coefs, atol=1e-6)


# ---------------------------------------------------------------- limits and references


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_mcp_with_large_gamma_is_the_lasso(family):
    X, y = _data(family, seed=5)
    lasso = regularization_path(X, y, family, tol=1e-11, n_lams=25)
    for gamma, atol in [(1e3, 5e-2), (1e7, 1e-5)]:
        mcp = regularization_path(X, y, family, penalty="mcp", gamma=gamma, tol=1e-11,
                                  lams=lasso.lams)
        np.testing.assert_allclose(mcp.coefs, lasso.coefs, atol=atol)


def _stationary_points(Xs, y, lam, gamma):
    """Every stationary point of ``||y - Xs t||^2 / (2n) + sum_j MCP(|t_j|)`` (no
    intercept), by enumeration: a support, its signs and which of its coefficients lie
    beyond ``gamma lam`` fix a linear system; keep the consistent solutions."""
    n, p = Xs.shape
    G = Xs.T @ Xs / n
    c = Xs.T @ y / n
    points = []
    for size in range(p + 1):
        for S in itertools.combinations(range(p), size):
            S = list(S)
            for signs in itertools.product([-1.0, 1.0], repeat=size):
                for far in itertools.product([False, True], repeat=size):
                    A = G[np.ix_(S, S)].copy()
                    rhs = c[S].copy()
                    for k in range(size):
                        if not far[k]:  # G t - c + lam s - t / gamma = 0
                            A[k, k] -= 1.0 / gamma
                            rhs[k] -= lam * signs[k]
                    t = np.zeros(p)
                    if size:
                        try:
                            t[S] = np.linalg.solve(A, rhs)
                        except np.linalg.LinAlgError:
                            continue
                    a = np.abs(t[S])
                    if size and (np.any(np.sign(t[S]) != signs)
                                 or np.any(np.where(far, a <= gamma * lam, a > gamma * lam))):
                        continue
                    out = np.setdiff1d(np.arange(p), S)
                    if np.all(np.abs(c[out] - G[out] @ t) <= lam * (1 + 1e-9)):
                        points.append(t)
    return points


@pytest.mark.parametrize("gamma", [1.5, 3.0])
def test_brute_force_stationary_points(gamma):
    """On a tiny problem every point of the path is one of the enumerated stationary
    points; where the objective is convex (gamma large for this design) it is the only one."""
    rng = np.random.default_rng(7)
    n, p = 40, 4
    X = rng.standard_normal((n, p))
    X[:, 1] += 0.8 * X[:, 0]
    Xs = (X - X.mean(0)) / X.std(0)
    y = Xs @ np.array([1.0, -0.6, 0.0, 0.3]) + 0.7 * rng.standard_normal(n)
    y -= y.mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonconvexWarning)
        path = regularization_path(Xs, y, penalty="mcp", gamma=gamma, tol=1e-12, n_lams=15)
    convex = np.linalg.eigvalsh(Xs.T @ Xs / n)[0] > 1 / gamma
    for k in range(path.n_lams):
        points = _stationary_points(Xs, y, path.lams[k], gamma)
        dist = min(np.max(np.abs(t - path.coefs[k])) for t in points)
        assert dist <= 1e-7
        if convex:
            assert len(points) == 1
    assert convex == (gamma == 3.0)


@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_agrees_with_skglm(penalty):
    """Same objective (centred, standardized X, centred y, no intercept), convex regime:
    coefficients agree to 1e-6."""
    pytest.importorskip("skglm", reason="skglm is the reference for MCP/SCAD")
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Quadratic
    from skglm.penalties import SCAD as SkSCAD
    from skglm.penalties import MCPenalty
    from skglm.solvers import AndersonCD

    X, y = _data("gaussian", n=200, p=10, seed=8)
    Xs = (X - X.mean(0)) / X.std(0)
    y = y - y.mean()
    gamma = 3.0 if penalty == "mcp" else 3.7
    path = regularization_path(Xs, y, penalty=penalty, gamma=gamma, tol=1e-12, n_lams=12)
    for k in range(1, path.n_lams, 2):
        lam = path.lams[k]
        pen = MCPenalty(lam, gamma) if penalty == "mcp" else SkSCAD(lam, gamma)
        est = GeneralizedLinearEstimator(Quadratic(), pen, AndersonCD(tol=1e-12,
                                                                     fit_intercept=False))
        est.fit(Xs, y)
        np.testing.assert_allclose(path.coefs[k], est.coef_, atol=1e-6)


# ---------------------------------------------------------------- diagnostics and errors


def test_nonconvex_warning_when_p_exceeds_n():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((30, 60))
    y = X[:, :3] @ [2.0, -1.5, 1.0] + 0.5 * rng.standard_normal(30)
    with pytest.warns(NonconvexWarning, match="not locally convex"):
        path = regularization_path(X, y, penalty="mcp")
    margin = path.extra["convexity_margin"]
    assert margin.shape == path.lams.shape and np.any(margin < 0)
    # a large gamma with a strong ridge part is convex: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonconvexWarning)
        regularization_path(X, y, penalty="mcp", gamma=50.0, l1_ratio=0.5, n_lams=10)


def test_objective_never_above_lasso_start():
    """The MCP path point is stationary and its objective below the lasso solution's."""
    X, y = _data("gaussian", seed=10)
    w, center, scale = standardization(X, np.ones(len(y)), True, True)
    lasso = regularization_path(X, y, tol=1e-11, n_lams=20)
    mcp = regularization_path(X, y, penalty="mcp", tol=1e-11, lams=lasso.lams)

    def F(b, b0, lam):
        return mean_loss("gaussian", y, X @ b + b0, w) + concave_value(
            "mcp", b * scale, lam, 3.0).sum()

    for k in range(mcp.n_lams):
        assert F(mcp.coefs[k], mcp.intercepts[k], mcp.lams[k]) <= F(
            lasso.coefs[k], lasso.intercepts[k], mcp.lams[k]) + 1e-12


@pytest.mark.parametrize("kwargs, match", [
    ({"penalty": "mcp", "gamma": 1.0}, "gamma"),
    ({"penalty": "mcp", "gamma": 0.5}, "gamma"),
    ({"penalty": "scad", "gamma": 2.0}, "gamma > 2"),
    ({"penalty": "mcp", "gamma": float("nan")}, "gamma"),
    ({"penalty": "mcp", "gamma": float("inf")}, "finite"),
    ({"penalty": "lasso"}, "penalty must be one of"),
    ({"penalty": None}, "penalty must be one of"),
    ({"gamma": 3.0}, "gamma applies to"),
    ({"penalty": "mcp", "l1_ratio": 0.0}, "l1_ratio > 0"),
    ({"penalty": "scad", "lower": 0.0}, "bounds are not supported"),
])
def test_bad_inputs(kwargs, match):
    X, y = _data("gaussian", n=30, p=4)
    with pytest.raises(ValueError, match=match):
        regularization_path(X, y, **kwargs)


def test_multinomial_is_refused():
    X, _ = _data("gaussian", n=30, p=4)
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match="not supported for the multinomial family"):
        regularization_path(X, y, "multinomial", penalty="mcp")


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("family", ["gaussian", "poisson"])
def test_weight_two_equals_a_duplicated_row_and_offsets_work(family):
    X, y = _data(family, n=60, p=8, seed=11)
    w = np.ones(60)
    w[:10] = 2.0
    Xd, yd = np.vstack([X, X[:10]]), np.concatenate([y, y[:10]])
    kw = dict(penalty="mcp", tol=1e-11, n_lams=15)
    a = regularization_path(X, y, family, sample_weight=w, **kw)
    b = regularization_path(Xd, yd, family, lams=a.lams, penalty="mcp", tol=1e-11)
    np.testing.assert_allclose(a.coefs, b.coefs, atol=1e-6)
    off = np.linspace(-0.3, 0.3, 60)
    c = regularization_path(X, y, family, offset=off, **kw)
    assert c.converged.all()
    for k in range(c.n_lams):
        eta = X @ c.coefs[k] + c.intercepts[k] + off
        res = (y - eta) if family == "gaussian" else (y - np.exp(eta))
        assert abs(res.mean()) <= 1e-8 * max(1.0, np.abs(y).mean())


@pytest.mark.parametrize("sparse, uniform", [(False, True), (False, False), (True, False)])
def test_active_gram_blocks_are_the_centred_weighted_gram(sparse, uniform):
    """The square cache (grown feature by feature, in any order) returns exactly the
    blocks ``Xc_A^T W Xc_A`` of the features asked for."""
    from types import SimpleNamespace

    from shrinkage.engine.concave_steps import ActiveGram

    rng = np.random.default_rng(4)
    n, p = 30, 50
    X = rng.standard_normal((n, p)) + rng.uniform(-2, 2, p)
    X[rng.random((n, p)) < 0.5] = 0.0
    w = np.full(n, 1 / n) if uniform else rng.uniform(0.2, 1.0, n) / n
    xw = X.T @ w
    prob = SimpleNamespace(p=p, X=sp.csc_matrix(X) if sparse else np.asfortranarray(X), w=w,
                           uniform_w=1 / n if uniform else 0.0, sparse=sparse,
                           xm=xw / w.sum(), xw=xw)
    Xc = X - prob.xm
    full = Xc.T @ (w[:, None] * Xc)
    gram = ActiveGram(prob)
    for A in ([3, 1], [1, 7, 3, 20], [40], rng.permutation(p)[:25], np.arange(p)):
        A = np.asarray(A, dtype=np.int64)
        np.testing.assert_allclose(gram.block(A), full[np.ix_(A, A)], atol=1e-12)
    gram = ActiveGram(prob)
    gram.max_entries = 100.0
    assert gram.block(np.arange(11, dtype=np.int64)) is None


# ---------------------------------------------------- exact steps through piece changes
def _wide(n=60, p=300, rho=0.3, seed=4):
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal(
        (n, 1))
    X = X * rng.uniform(0.5, 2.0, p) + rng.uniform(-1, 1, p)
    beta = np.zeros(p)
    beta[:8] = rng.choice([-1.0, 1.0], 8) * rng.uniform(0.5, 1.5, 8)
    return X, (X - X.mean(0)) @ beta + rng.standard_normal(n)


@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
@pytest.mark.parametrize("weighted", [False, True])
def test_wide_gaussian_path_with_piece_steps_is_stationary(penalty, weighted, monkeypatch):
    """p >> n (nonconvex on the active set): the Gram-space exact steps followed through
    piece changes run, and every point is stationary to the tolerance asked, re-derived
    from the coefficients alone (with weights: the intercept's step is separate only
    because the columns are centred by their weighted means)."""
    from shrinkage.engine import concave_steps

    calls = []
    inner = concave_steps.piece_steps

    def counted(*args):
        calls.append(inner(*args))
        return calls[-1]

    monkeypatch.setattr(concave_steps, "piece_steps", counted)
    X, y = _wide()
    w = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    path = regularization_path(X, y, penalty=penalty, tol=1e-12, n_lams=60, sample_weight=w)
    assert path.converged.all()
    assert max(calls) > 1  # steps went on through piece changes
    for k in range(path.n_lams):
        assert _violation(path, X, y, k, None, w) <= 1e-11


def _model(kind, gamma, G, g, b, s, lam1, lam2):
    """``-g.(b - b_0) + (b - b_0)^T G (b - b_0) / 2 + P(b)`` up to a constant: here with
    ``b_0 = 0`` and ``g`` the negative gradient at 0."""
    t = b * s
    return float(-g @ b + 0.5 * b @ G @ b
                 + np.sum(concave_value(kind, t, lam1, gamma) + 0.5 * lam2 * t * t))


@pytest.mark.parametrize("kind", ["mcp", "scad"])
@pytest.mark.parametrize("seed", range(6))
def test_piece_steps_descend_and_keep_the_gradient_exact(kind, seed):
    """From a random non-zero start, the exact steps never raise the model, keep
    ``g = c - G b`` exact, and where they end on a full step (no edge met) the point is
    stationary on its pieces."""
    from shrinkage.engine.kernels.concave_pieces import piece_steps

    rng = np.random.default_rng(seed)
    m, gamma = 7, {"mcp": 3.0, "scad": 3.7}[kind]
    A = rng.standard_normal((20, m)) + 0.6 * rng.standard_normal((20, 1))
    G = A.T @ A / 20
    s = rng.uniform(0.5, 2.0, m)
    lam1 = np.full(m, 0.3)
    lam2 = np.full(m, 0.05 * (seed % 2))
    c = A.T @ rng.standard_normal(20) / 4  # the negative gradient at b = 0
    b = rng.choice([-1.0, 1.0], m) * rng.uniform(0.05, 1.5, m) / s
    g = c - G @ b
    before = _model(kind, gamma, G, c, b, s, lam1, lam2)
    steps = piece_steps(KINDS[kind], gamma, G, np.arange(m), g, b, s, lam1, lam2, 500)
    assert steps >= 1
    np.testing.assert_allclose(g, c - G @ b, atol=1e-12)
    assert _model(kind, gamma, G, c, b, s, lam1, lam2) <= before + 1e-14


@pytest.mark.parametrize("kind", ["mcp", "scad"])
def test_piece_steps_solve_the_flat_pieces_exactly(kind):
    """Every coordinate far out on the unshrunk piece (``rho' = 0``) and staying there:
    one step lands on the least-squares solution ``G^{-1} c`` (no bias left)."""
    from shrinkage.engine.kernels.concave_pieces import piece_steps

    rng = np.random.default_rng(0)
    m, gamma = 5, {"mcp": 3.0, "scad": 3.7}[kind]
    A = rng.standard_normal((40, m))
    G = A.T @ A / 40
    s = rng.uniform(0.5, 2.0, m)
    lam1 = np.full(m, 0.01)
    target = rng.choice([-1.0, 1.0], m) * rng.uniform(2.0, 3.0, m) / s
    c = G @ target
    b = target * rng.uniform(0.8, 1.2, m)
    g = c - G @ b
    assert piece_steps(KINDS[kind], gamma, G, np.arange(m), g, b, s, lam1, np.zeros(m),
                       10) == 1
    np.testing.assert_allclose(b, target, rtol=1e-12)
    np.testing.assert_allclose(g, 0.0, atol=1e-12)
