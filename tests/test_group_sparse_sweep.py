"""The sparse group sweep's shortcuts give the plain method's answers: the vector-response
sweep on a CSC design (``kernels/group_sparse``) and the equal-weight design values
(``xdv = xd``, ``vc = v_i``) agree with a sweep of exact block updates written here in
NumPy, and with the general sweep on the dense copy of the design; the gap's per-group
reductions (``kernels/group_dual``) and the block Hessians of a sparse group (built row by
row) agree with NumPy; a sparse path is certified by a duality gap re-derived here from
its coefficients alone."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import brentq

from _reference import group_design
from shrinkage import regularization_path
from shrinkage.engine.kernels.group_blocks import (
    solve_block_sgl,
    violation_rounding,
    weighted_values,
)
from shrinkage.engine.kernels.group_dual import group_penalty_sum, group_soft_norms
from shrinkage.engine.kernels.groups import bcd_sweep, block_hessians
from shrinkage.engine.problem import unsigned_index
from shrinkage.model.groups import group_penalty_value

SIZES = (3, 4, 2, 5, 1)


def _state(seed=0, equal=False):
    rng = np.random.default_rng(seed)
    n, p = 50, sum(SIZES)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < 0.35)
    v = np.full(n, 1.0 / n) if equal else rng.uniform(0.2, 1.5, n)
    xm = rng.normal(0.0, 0.2, p)
    inv_s = rng.uniform(0.5, 2.0, p)
    gptr = np.concatenate([[0], np.cumsum(SIZES)]).astype(np.int64)
    gidx = rng.permutation(p).astype(np.int64)  # groups need not be contiguous columns
    Z = (X - xm) * inv_s
    eoff = np.concatenate([[0], np.cumsum(np.array(SIZES) ** 2)]).astype(np.int64)
    H, Q, D = np.zeros(eoff[-1]), np.zeros(eoff[-1]), np.zeros(p)
    for g in range(len(SIZES)):
        f = gidx[gptr[g]:gptr[g + 1]]
        Hg = Z[:, f].T @ (v[:, None] * Z[:, f])
        d, V = np.linalg.eigh(Hg)
        H[eoff[g]:eoff[g + 1]] = Hg.ravel()
        Q[eoff[g]:eoff[g + 1]] = V.ravel()
        D[gptr[g]:gptr[g + 1]] = np.maximum(d, 0.0)
    beta = rng.standard_normal((p, 1)) * (rng.random((p, 1)) < 0.6)
    beta[gidx[gptr[2]:]] = 0.0  # blocks that start at zero (and may stay there)
    R = np.asfortranarray(0.2 * rng.standard_normal((n, 1)))
    sh = np.array([0.3])
    return dict(X=X, v=v, xm=xm, inv_s=inv_s, gptr=gptr, gidx=gidx, Z=Z, eoff=eoff, H=H,
                Q=Q, D=D, beta=beta, R=R, sh=sh, b0=np.array([0.1]))


def _block_reference(Hg, lin, l1, l2):
    """``argmin 1/2 b'Hb - lin'b + l1 ||b|| + l2/2 ||b||^2`` through the norm ``t`` of
    the solution: ``b(t) = (H + (l2 + l1 / t) I)^-1 lin`` with ``||b(t)|| = t``."""
    if np.linalg.norm(lin) <= l1:
        return np.zeros_like(lin)
    eye = np.eye(lin.size)
    if l1 == 0.0:
        return np.linalg.solve(Hg + l2 * eye, lin)

    def excess(t):  # ||b(t)|| / t - 1: positive left of the solution's norm
        return np.linalg.norm(np.linalg.solve(t * (Hg + l2 * eye) + l1 * eye, lin)) - 1.0

    lo = hi = 1e-8 * np.linalg.norm(lin)
    while excess(hi) > 0:
        hi *= 2.0
    t = brentq(excess, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=1000)
    return np.linalg.solve(Hg + (l2 + l1 / t) * eye, lin)


def _numpy_sweep(s, ws, l1g, l2g):
    """One sweep of exact block updates over ``ws`` then the intercept, on the true
    residual ``r = R - sh``: ``(beta, r, b0)``."""
    beta, r, b0 = s["beta"].copy(), s["R"][:, 0] - s["sh"][0], s["b0"].copy()
    v, Z = s["v"], s["Z"]
    for g in ws:
        f = s["gidx"][s["gptr"][g]:s["gptr"][g + 1]]
        m = f.size
        Hg = s["H"][s["eoff"][g]:s["eoff"][g + 1]].reshape(m, m)
        lin = Z[:, f].T @ (v * r) + Hg @ beta[f, 0]
        new = _block_reference(Hg, lin, l1g[g], l2g[g])
        r -= Z[:, f] @ (new - beta[f, 0])
        beta[f, 0] = new
    d0 = (v @ r) / v.sum()
    return beta, r - d0, b0 + d0


def _kernel_sweep(s, ws, l1g, l2g, design, vc_form=False):
    """``bcd_sweep`` on the state ``s`` with the design given as "dense" or "sparse"."""
    beta, R, sh, b0 = s["beta"].copy(), s["R"].copy(order="F"), s["sh"].copy(), s["b0"].copy()
    v = s["v"]
    X, xd, xi, xp, xdv, vc = None, None, None, None, None, 1.0
    if design == "dense":
        X = np.asfortranarray(s["X"])
    else:
        C = sp.csc_matrix(s["X"])
        # the index types the engine hands its kernels (engine.problem.unsigned_index)
        xd, xi, xp = C.data, unsigned_index(C.indices), unsigned_index(C.indptr)
        xdv = weighted_values(xd, xi, v)
        if vc_form:  # equal weights: the design's own values and the common weight
            xdv, vc = xd, float(v[0])
    xv = s["X"].T @ v
    svR = v @ R[:, 0]
    mmax, K, n = max(SIZES), 1, R.shape[0]
    bufs = [np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)), np.empty(mmax),
            np.empty(mmax), np.empty(K), np.empty(K), np.empty(K), np.empty((mmax, K)),
            np.empty(n if X is not None else 0)]
    bcd_sweep(X, xd, xi, xp, xdv, vc, xd is not None, v, float(v.sum()), s["xm"],
              s["inv_s"], xv, s["gptr"], s["gidx"], s["eoff"], s["H"], s["Q"], s["D"],
              ws, l1g, np.zeros(len(SIZES)), l2g, beta, R, sh, np.array([svR]), b0, True,
              np.full(len(SIZES), 1e-12), *bufs)
    return beta, R[:, 0] - sh[0], b0


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("design", ["sparse", "dense"])
def test_sweep_matches_numpy_block_updates(l1_ratio, design):
    s = _state(seed=1)
    ws = np.array([3, 0, 4, 1, 2], dtype=np.int64)
    pf = np.sqrt(np.array(SIZES, dtype=float))
    lam = 2.0
    l1g, l2g = lam * l1_ratio * pf, lam * (1 - l1_ratio) * pf
    ref = _numpy_sweep(s, ws, l1g, l2g)
    got = _kernel_sweep(s, ws, l1g, l2g, design)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    zero = [np.all(got[0][s["gidx"][a:b]] == 0) for a, b in zip(s["gptr"][:-1], s["gptr"][1:])]
    assert zero == [np.all(ref[0][s["gidx"][a:b]] == 0)
                    for a, b in zip(s["gptr"][:-1], s["gptr"][1:])]
    assert l1_ratio == 0.0 or any(zero)  # some block is set exactly to zero


def test_equal_weights_take_the_design_values_with_the_same_answer():
    s = _state(seed=2, equal=True)
    ws = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    pf = np.sqrt(np.array(SIZES, dtype=float))
    l1g, l2g = 0.03 * pf, 0.01 * pf
    weighted = _kernel_sweep(s, ws, l1g, l2g, "sparse")
    common = _kernel_sweep(s, ws, l1g, l2g, "sparse", vc_form=True)
    ref = _numpy_sweep(s, ws, l1g, l2g)
    for a, b, c in zip(common, weighted, ref):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_gap_reductions_match_numpy():
    rng = np.random.default_rng(4)
    p, K = sum(SIZES), 3
    order = rng.permutation(p).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(SIZES)]).astype(np.int64)
    A = rng.standard_normal((p, K)) * (rng.random((p, K)) < 0.7)
    thr = rng.uniform(0.0, 0.8, len(SIZES))
    thr[1] = 0.0
    expect = np.array([np.sqrt(np.sum(np.maximum(np.abs(A[order[a:b]]) - t, 0.0) ** 2))
                       for a, b, t in zip(starts[:-1], starts[1:], thr)])
    np.testing.assert_allclose(group_soft_norms(A, order, starts, thr), expect, rtol=1e-14)
    l1g, l1in, l2g = (rng.uniform(0, 1, len(SIZES)) for _ in range(3))
    pen = sum(l1g[g] * np.linalg.norm(A[order[a:b]]) + l1in[g] * np.abs(A[order[a:b]]).sum()
              + 0.5 * l2g[g] * np.sum(A[order[a:b]] ** 2)
              for g, (a, b) in enumerate(zip(starts[:-1], starts[1:])))
    got = group_penalty_sum(A, order, starts, l1g, l1in, l2g)
    assert got == pytest.approx(pen, rel=1e-14)
    assert got == pytest.approx(group_penalty_value(A, order, starts, l1g, l1in, l2g),
                                rel=1e-14)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_sparse_path_equals_dense_path_and_its_gap_is_rederived(l1_ratio):
    X, labels, ys = group_design(n=150, sizes=(3, 2, 4, 6, 5, 2))
    X = np.where(np.abs(X) > 1.0, X, 0.0)
    y = ys["gaussian"]
    kw = dict(family="gaussian", feature_groups=labels, l1_ratio=l1_ratio, n_lams=20,
              standardize=False, tol=1e-9)
    dense = regularization_path(X, y, **kw)
    sparse = regularization_path(sp.csc_matrix(X), y, lams=dense.lams, **kw)
    assert sparse.converged.all() and dense.converged.all()
    # the duality gap from the coefficients alone: residual dual point scaled into the
    # dual feasible set, relative to the null objective (mean-loss units); two certified
    # fits of one objective differ by at most the sum of their gaps
    n = X.shape[0]
    Xc = X - X.mean(0)
    yc = y - y.mean()
    null = 0.5 * yc @ yc / n
    sizes = np.bincount(labels)
    pf = np.sqrt(sizes)
    for lam, b, b0, bd, b0d in zip(sparse.lams, sparse.coefs, sparse.intercepts,
                                   dense.coefs, dense.intercepts):
        l1, l2 = lam * l1_ratio * pf, lam * (1 - l1_ratio) * pf

        def objective(b, b0, l1=l1, l2=l2):
            r = y - b0 - X @ b
            bn = np.sqrt(np.bincount(labels, b * b))
            return 0.5 * r @ r / n + np.sum(l1 * bn + 0.5 * l2 * bn ** 2)

        assert abs(objective(b, b0) - objective(bd, b0d)) <= 2e-9 * null * 1.01
        r = y - b0 - X @ b
        r -= r.mean()
        G = Xc.T @ r / n
        gn = np.sqrt(np.bincount(labels, G * G))
        primal = objective(b, b0)
        if l1_ratio == 1.0:
            alpha = min(1.0, float(np.min(l1 / np.maximum(gn, 1e-300))))
            conj = 0.0
        else:
            alpha = 1.0
            conj = np.sum(np.maximum(gn - l1, 0.0) ** 2 / (2 * l2))
        dual = alpha * (r @ yc) / n - 0.5 * alpha ** 2 * (r @ r) / n - conj
        assert (primal - dual) / null <= 1e-9 * 1.01 + 1e-13


@pytest.mark.parametrize("design", ["sparse", "dense"])
def test_block_hessians_match_numpy(design):
    s = _state(seed=5)
    X, v = s["X"], s["v"]
    X[3, :] = 1.5  # a row shared by every column: every pair meets in it
    Z = (X - s["xm"]) * s["inv_s"]
    p, n = X.shape[1], X.shape[0]
    H, Q = np.zeros(s["eoff"][-1]), np.zeros(s["eoff"][-1])
    D, xv = np.zeros(p), np.zeros(p)
    head = np.full(n, -1, dtype=np.int64)
    todo = np.array([4, 1, 3, 0, 2], dtype=np.int64)
    if design == "sparse":
        C = sp.csc_matrix(X)
        args = (None, C.data, C.indices.astype(np.int64), C.indptr.astype(np.int64), True)
    else:
        args = (np.asfortranarray(X), None, None, None, False)
    block_hessians(*args, v, float(v.sum()), s["xm"], s["inv_s"], s["gptr"], s["gidx"],
                   s["eoff"], todo, H, Q, D, xv, head)
    assert np.all(head == -1)  # the row lists are left empty
    np.testing.assert_allclose(xv, X.T @ v, rtol=1e-13)
    for g in range(len(SIZES)):
        f = s["gidx"][s["gptr"][g]:s["gptr"][g + 1]]
        m = f.size
        expect = Z[:, f].T @ (v[:, None] * Z[:, f])
        Hg = H[s["eoff"][g]:s["eoff"][g + 1]].reshape(m, m)
        scale = np.max(np.abs(expect))
        np.testing.assert_allclose(Hg, expect, rtol=0, atol=1e-13 * scale)
        Qg = Q[s["eoff"][g]:s["eoff"][g + 1]].reshape(m, m)
        Dg = D[s["gptr"][g]:s["gptr"][g + 1]]
        np.testing.assert_allclose(Qg @ np.diag(Dg) @ Qg.T, expect, rtol=0,
                                   atol=1e-12 * scale)


def test_sparse_group_block_stops_at_its_own_rounding():
    # a block met on a binomial path with a column 1e6 from zero and no intercept: the
    # entries of c near 7,500 carry a last bit of 9e-13, under the solve's tolerance of
    # 2e-14, and the accelerated prox iteration ran to its cap of 20,000 steps at every
    # call (the sparse-group path at tol=1e-10 did not return within minutes)
    Hg = np.diag([2.015741843317547e11, 0.2500000120418491])
    c = np.array([[-7482.8404483890135], [0.2142919018888981]])
    l1 = 2723.362512558027
    b = np.array([[-1.0101072367093952e-08], [0.0]])
    viol, steps = solve_block_sgl(Hg, c, l1, l1, 0.0, b, Hg[0, 0], 2.1296369410223355e-14)
    assert steps <= 10
    assert viol <= violation_rounding(Hg, c, b, l1, l1, 0.0) < 1e-10
    # the block's minimiser in closed form: b_1 = 0 (|c_1| < l1), b_0 = (c_0 + 2 l1) / H_00
    np.testing.assert_allclose(b[:, 0], [(c[0, 0] + 2 * l1) / Hg[0, 0], 0.0], rtol=1e-12)
