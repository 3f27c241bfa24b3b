"""Newton steps on the non-zero groups of a group elastic net's quadratic model
(:mod:`shrinkage.engine.kernels.group_newton`): on a wide design (more active features
than samples) they reach the optimum restricted to the given groups, checked against
scipy's BFGS on the same smooth objective written here in NumPy, they keep the residual
and intercept consistent with the coefficients, and the paths they speed up (with warm
starts on the path's secant) are those of plain block sweeps: gaussian, and binomial and
poisson (inside proximal Newton's IRLS models), where the KKT conditions are re-derived
here from the returned coefficients."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from shrinkage import regularization_path
from shrinkage.engine.groups import GroupSolver
from shrinkage.engine.kernels.group_newton import newton_steps


def _wide(n=40, groups=30, size=3, seed=3):
    rng = np.random.default_rng(seed)
    p = groups * size
    X = rng.standard_normal((n, p)) + 0.3 * rng.standard_normal((n, 1))
    starts = np.arange(0, p + 1, size, dtype=np.int64)
    y = X[:, :12] @ rng.standard_normal(12) + 0.5 * rng.standard_normal(n)
    return np.asfortranarray(X), starts, y


def _objective(b, b0, X, y, v, starts, act, l1g, l2g):
    """The model of the kernel in NumPy: weighted squares plus the group penalty."""
    r = y - b0 - X @ b
    f = 0.5 * v @ (r * r)
    for g in act:
        bg = b[starts[g]:starts[g + 1]]
        f += l1g[g] * np.linalg.norm(bg) + 0.5 * l2g[g] * bg @ bg
    return f


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_newton_steps_reach_the_restricted_optimum(ridge):
    X, starts, y = _wide()
    n, p = X.shape
    G = starts.size - 1
    v = np.full(n, 1.0 / n)
    xm = v @ X
    Z = X - xm
    act = np.arange(8, dtype=np.int64)  # 24 features, 40 samples: ill-conditioned
    l1g = np.full(G, 0.02)
    l2g = np.full(G, ridge)
    sizes = np.diff(starts)
    eoff = np.concatenate([[0], np.cumsum(sizes * sizes)]).astype(np.int64)
    H = np.concatenate([((Z[:, a:b].T * v) @ Z[:, a:b]).ravel()
                        for a, b in zip(starts, starts[1:])])
    rng = np.random.default_rng(0)
    beta = np.zeros((p, 1))
    beta[:24, 0] = rng.standard_normal(24)
    b0 = np.array([0.1])
    R = np.asfortranarray((y - b0[0] - Z @ beta[:, 0])[:, None])
    f0 = _objective(beta[:, 0], b0[0], Z, y, v, starts, act, l1g, l2g)
    kept, _ = newton_steps(X, None, None, None, v, 1.0, xm, np.ones(p), starts,
                           np.arange(p, dtype=np.int64), eoff, H, act, l1g, l2g, beta, R,
                           b0, True, 50, 500, 1e-10, 0.0)
    b = beta[:, 0]
    assert kept > 0
    assert np.all(b[24:] == 0.0)
    assert all(np.linalg.norm(b[starts[g]:starts[g + 1]]) > 0 for g in act)
    # the residual and intercept moved with the coefficients
    np.testing.assert_allclose(R[:, 0], y - b0[0] - Z @ b, atol=1e-10)
    assert abs(v @ R[:, 0]) < 1e-12
    f1 = _objective(b, b0[0], Z, y, v, starts, act, l1g, l2g)
    assert f1 < f0

    def restricted(x):
        return _objective(np.concatenate([x[1:], np.zeros(p - 24)]), x[0], Z, y, v, starts,
                          act, l1g, l2g)

    ref = minimize(restricted, np.concatenate([[0.1], rng.standard_normal(24)]),
                   method="BFGS", options={"gtol": 1e-12, "maxiter": 20000})
    assert f1 <= ref.fun + 1e-10 * abs(ref.fun)
    np.testing.assert_allclose(b[:24], ref.x[1:], atol=1e-4)


def _with_and_without_speedups(monkeypatch, X, y, kw):
    """The path with the group Newton steps and secant start, and without; both certified
    at ``kw["tol"]``."""
    with_newton = regularization_path(X, y, **kw)
    monkeypatch.setattr(GroupSolver, "newton_after", 0)
    monkeypatch.setattr(GroupSolver, "secant", False)
    plain = regularization_path(X, y, **kw)
    assert np.all(with_newton.converged) and np.all(plain.converged)
    assert np.max(with_newton.certificate) <= kw["tol"]
    return with_newton, plain


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_paths_with_and_without_newton_and_secant_agree(monkeypatch, sparse, l1_ratio):
    X, starts, y = _wide(n=60, groups=40, size=4, seed=5)
    if sparse:
        X = sp.csc_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    labels = np.repeat(np.arange(starts.size - 1), np.diff(starts))
    kw = dict(feature_groups=labels, l1_ratio=l1_ratio, n_lams=30, lam_min_ratio=1e-3,
              tol=1e-9, early_stop=False)
    with_newton, plain = _with_and_without_speedups(monkeypatch, X, y, kw)
    scale = np.max(np.abs(plain.coefs))
    np.testing.assert_allclose(with_newton.coefs, plain.coefs, atol=1e-3 * scale)
    np.testing.assert_allclose(with_newton.intercepts, plain.intercepts, atol=1e-3 * scale)


def _glm_kkt(family, X, y, b0, b, lam, l1_ratio, labels):
    """Largest group KKT violation of ``mean loss + lam pen`` (``standardize=False``,
    ``pf_g = sqrt(|g|)``) at ``(b0, b)``, intercept's condition included, from scratch."""
    eta = b0 + X @ b
    mu = 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
    resid = (y - mu) / len(y)
    grad = X.T @ resid  # -d loss / d b
    worst = abs(resid.sum())
    for g in np.unique(labels):
        idx = labels == g
        pf = np.sqrt(idx.sum())
        z = grad[idx] - lam * pf * (1 - l1_ratio) * b[idx]
        nb = np.linalg.norm(b[idx])
        l1g = lam * pf * l1_ratio
        if nb == 0:
            worst = max(worst, np.linalg.norm(z) - l1g)
        else:
            worst = max(worst, np.linalg.norm(z - l1g * b[idx] / nb))
    return worst


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_glm_paths_with_and_without_newton_and_secant_agree(monkeypatch, family, sparse,
                                                             l1_ratio):
    X, starts, eta = _wide(n=60, groups=40, size=4, seed=7)
    rng = np.random.default_rng(1)
    eta = 0.6 * eta / np.std(eta)
    y = (rng.random(60) < 1 / (1 + np.exp(-eta))).astype(float) if family == "binomial" \
        else rng.poisson(np.exp(0.5 * eta)).astype(float)
    if sparse:
        X = sp.csc_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    labels = np.repeat(np.arange(starts.size - 1), np.diff(starts))
    kw = dict(family=family, feature_groups=labels, l1_ratio=l1_ratio, n_lams=30,
              lam_min_ratio=1e-2, tol=1e-9, early_stop=False, standardize=False)
    with_newton, plain = _with_and_without_speedups(monkeypatch, X, y, kw)
    Xd = X.toarray() if sparse else X
    top = float(np.max(np.abs(Xd.T @ (y - y.mean())))) / len(y)
    for k in range(with_newton.n_lams):
        assert _glm_kkt(family, Xd, y, with_newton.intercepts[k], with_newton.coefs[k],
                        with_newton.lams[k], l1_ratio, labels) <= 1e-7 * top
    scale = np.max(np.abs(plain.coefs))
    np.testing.assert_allclose(with_newton.coefs, plain.coefs, atol=1e-5 * scale)
    np.testing.assert_allclose(with_newton.intercepts, plain.intercepts, atol=1e-5 * scale)
