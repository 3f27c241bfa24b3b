"""The group solver's shortcuts give the answers of the plain method: proximal Newton that
keeps block Hessians of earlier IRLS weights (scaled into a majorizer) agrees with the
one that recomputes them at every step, and the kernels it adds agree with NumPy."""

import numpy as np
import pytest
import scipy.sparse as sp

import shrinkage.engine.groups as engine_groups
from _reference import group_design
from shrinkage import regularization_path
from shrinkage.engine.groups import GroupSolver
from shrinkage.engine.kernels.groups import dense_group_gradient, weighted_sums


def _counted_path(monkeypatch, X, y, family, labels, mix, slack):
    """The path at ``hessian_slack = slack`` and how many times block Hessians were
    computed."""
    calls = []
    real = engine_groups.block_hessians

    def counting(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(engine_groups, "block_hessians", counting)
    monkeypatch.setattr(GroupSolver, "hessian_slack", slack)
    path = regularization_path(X, y, family=family, feature_groups=labels, group_mix=mix,
                               l1_ratio=0.8, n_lams=25, tol=1e-10)
    return path, len(calls)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("mix", [0.0, 0.4])
def test_kept_hessians_reach_the_refreshed_answer(monkeypatch, family, sparse, mix):
    X, labels, ys = group_design()
    if sparse:
        X = np.where(np.abs(X) > 0.8, X, 0.0)
        X = sp.csc_matrix(X)
    y = ys[family]
    ref, n_ref = _counted_path(monkeypatch, X, y, family, labels, mix, 1.0)
    kept, n_kept = _counted_path(monkeypatch, X, y, family, labels, mix, 1e6)
    assert n_kept < n_ref  # the shortcut was taken
    for path in (ref, kept):
        assert path.converged.all()
        assert np.all(path.certificate <= 1e-10)
    scale = float(np.max(np.abs(ref.coefs)))
    np.testing.assert_allclose(kept.coefs, ref.coefs, atol=1e-7 * scale)
    np.testing.assert_allclose(kept.intercepts, ref.intercepts, atol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
def test_weighted_sums_match_numpy(sparse):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 12)) * (rng.random((40, 12)) < 0.4)
    v = rng.random(40)
    feats = np.array([7, 0, 3, 11], dtype=np.int64)
    xv = np.full(12, -1.0)
    if sparse:
        C = sp.csc_matrix(X)
        weighted_sums(None, C.data, C.indices.astype(np.int64),
                      C.indptr.astype(np.int64), True, v, feats, xv)
    else:
        weighted_sums(np.asfortranarray(X), None, None, None, False, v, feats, xv)
    expect = np.full(12, -1.0)
    expect[feats] = X[:, feats].T @ v
    np.testing.assert_allclose(xv, expect, rtol=1e-13, atol=1e-13)


def test_dense_group_gradient_matches_numpy():
    """``Z_g^T V (R - sh)`` for a group of columns (centred by ``xm``, scaled by
    ``inv_s``), with ``xv = X^T v`` and ``svR = v^T R`` as the kernel keeps them."""
    rng = np.random.default_rng(5)
    n, p, K = 30, 9, 2
    X = np.asfortranarray(rng.standard_normal((n, p)))
    v = rng.random(n)
    R = np.asfortranarray(rng.standard_normal((n, K)))
    sh = rng.standard_normal(K)
    xm, inv_s = rng.standard_normal(p), rng.uniform(0.5, 2.0, p)
    gidx = np.array([4, 1, 7, 2, 8], dtype=np.int64)
    cg = np.empty((3, K))
    dense_group_gradient(X, v, float(v.sum()), xm, inv_s, X.T @ v, R, sh, v @ R, gidx, 1,
                         cg, np.empty(n))
    cols = gidx[1:4]
    Z = (X[:, cols] - xm[cols]) * inv_s[cols]
    np.testing.assert_allclose(cg, Z.T @ (v[:, None] * (R - sh)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("K", [1, 3])
def test_sweeps_ending_on_the_settled_active_groups_reach_the_same_path(monkeypatch, sparse,
                                                                       l1_ratio, K):
    """Gaussian sweeps that end once the non-zero groups settle (the certificate's pass
    over X checks the zero groups) give the path of sweeps that end on a confirming sweep
    over the whole working set, and its duality gap, re-derived here in NumPy from the
    returned coefficients, is within the tolerance."""
    X, labels, ys = group_design(n=80, sizes=(3, 2, 4, 1, 5, 3, 2, 4), seed=2)
    rng = np.random.default_rng(4)
    y = ys["gaussian"] if K == 1 else ys["gaussian"][:, None] + rng.standard_normal((80, K))
    family = "gaussian" if K == 1 else "mgaussian"
    if sparse:
        X = sp.csc_matrix(np.where(np.abs(X) > 0.6, X, 0.0))
    kw = dict(family=family, feature_groups=labels, l1_ratio=l1_ratio, n_lams=30,
              tol=1e-8, standardize=False)
    monkeypatch.setattr(GroupSolver, "confirm", False)
    fast = regularization_path(X, y, **kw)
    monkeypatch.setattr(GroupSolver, "confirm", True)
    ref = regularization_path(X, y, **kw)
    assert fast.converged.all() and ref.converged.all()
    scale = float(np.max(np.abs(ref.coefs)))
    np.testing.assert_allclose(fast.coefs, ref.coefs, atol=1e-4 * scale)
    Xd = X.toarray() if sparse else X
    Y = y.reshape(80, K)
    Xc, Yc = Xd - Xd.mean(0), Y - Y.mean(0)
    null = 0.5 * np.sum(Yc * Yc) / 80
    for k in range(fast.n_lams):
        B = fast.coefs[k].reshape(-1, K)
        lam = fast.lams[k]
        R = Yc - Xc @ B
        G = Xc.T @ R / 80
        primal = 0.5 * np.sum(R * R) / 80
        dual_norm, ridge = 0.0, 0.0
        for g in np.unique(labels):
            idx = labels == g
            pf = np.sqrt(idx.sum())
            primal += lam * pf * (l1_ratio * np.linalg.norm(B[idx])
                                  + (1 - l1_ratio) / 2 * np.sum(B[idx] ** 2))
            dual_norm = max(dual_norm, np.linalg.norm(G[idx]) / (lam * pf)) \
                if l1_ratio == 1 else dual_norm
        alpha = min(1.0, 1.0 / dual_norm) if l1_ratio == 1 else 1.0
        if l1_ratio < 1:
            for g in np.unique(labels):
                idx = labels == g
                pf = np.sqrt(idx.sum())
                ex = max(alpha * np.linalg.norm(G[idx]) - lam * pf * l1_ratio, 0.0)
                ridge += ex * ex / (2 * lam * pf * (1 - l1_ratio))
        dual = (alpha * np.sum(R * Yc) - 0.5 * alpha ** 2 * np.sum(R * R)) / 80 - ridge
        assert (primal - dual) / null <= 1e-8 * (1 + 1e-6)
