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
