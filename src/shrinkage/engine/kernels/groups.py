"""Block coordinate descent for penalties on groups of coefficients (numba, plain arrays).

The model is a weighted quadratic in the standardized coefficients ``beta`` (shape
(p, K): K responses, 1 for a vector response)::

    q(b0, beta) = 1/2 sum_i v_i ||R_i - b0 - sum_j z_ij beta_j||^2
                  + sum_g l1g_g ||beta_g|| + l1in_g ||beta_g||_1 + l2g_g / 2 ||beta_g||^2

with ``z_ij = (x_ij - xm_j) * inv_s_j`` (centring and scaling implicit: X is never
copied), groups given by ``gidx[gptr[g]:gptr[g + 1]]`` and norms over the group's whole
(m, K) block. ``R`` is stored lazily: the true residual is ``R - sh`` (a per-response
shift), so that a group update touches only the stored entries of its columns.

**The group update is exact.** With ``H = Z_g^T V Z_g = Q diag(d) Q^T`` (cached per group)
and ``c = Z_g^T V r + H beta_g`` the block minimises ``1/2 b^T H b - c^T b + pen(b)``.
Without L1 inside the group (``l1in = 0``) the minimiser is zero when ``||c|| <= l1g``,
else ``b = Q diag(t / (t (d + l2) + l1g)) Q^T c`` where ``t = ||b||`` is the root of the
decreasing convex ``phi(t) = sum_j ||(Q^T c)_j||^2 / (t (d_j + l2) + l1g)^2 - 1``, found
by Newton's method from the lower bound ``(||c|| - l1g) / (d_max + l2)`` (monotone,
quadratic convergence, to rounding). With L1 inside (sparse-group lasso) the support and
signs are found by accelerated proximal gradient on the block, and the block is then
solved exactly on that support by the same root finding (``c_S - l1in sign(b_S)``,
``H_SS``); the result is accepted when the block's own optimality conditions hold.
"""

import numpy as np
from numba import njit

from .active_set import clip_spectrum
from .flags import FASTMATH
from .group_anderson import anderson_step, store_iterate
from .group_blocks import (
    exact_group_update,
    group_features,
    largest_group,
    nonzero_groups,
    refit_intercepts,
    sparse_wdot,
    take_block_row,
)
from .group_sparse import no_inner_l1, sparse_vector_sweep

_EPS = 2.220446049250313e-16


@njit(cache=True, nogil=True, fastmath=False)
def block_hessians(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, gptr, gidx, eoff, todo,
                   H, Q, D, xv, head):
    """Cache ``H_g = Z_g^T V Z_g``, its eigenvectors ``Q_g`` and eigenvalues ``D_g`` and
    ``xv_j = sum_i v_i x_ij`` for the groups in ``todo``. ``head`` (int64, length n, -1
    on entry and on exit) holds a sparse design's row lists (:func:`sparse_block_gram`)."""
    for t in range(todo.shape[0]):
        g = todo[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        for s in range(m):
            j = gidx[a + s]
            xv[j] = column_weighted_sum(X, xd, xi, xp, sparse, v, j)
        err = 0.0  # a bound on the Frobenius norm of the computed block's error
        if X is not None:
            dense_block_hessian(X, v, xm, inv_s, gidx, a, m, e0, H)
        if xd is not None:
            raw = sparse_block_gram(xd, xi, xp, v, gidx, a, m, head)
            for s in range(m):
                j = gidx[a + s]
                for u in range(s + 1):
                    jj = gidx[a + u]
                    # sum v (x_j - m_j)(x_l - m_l) from the raw sums: columns whose mean
                    # is far from zero lose digits to the cancellation, which bounds
                    # what the eigenvalues can resolve
                    t1, t2, t3 = xm[j] * xv[jj], xm[jj] * xv[j], xm[j] * xm[jj] * vsum
                    sc = inv_s[j] * inv_s[jj]
                    h = (raw[s, u] - t1 - t2 + t3) * sc
                    e = 8.0 * _EPS * (abs(raw[s, u]) + abs(t1) + abs(t2) + abs(t3)) * sc
                    err += e * e * (1.0 if u == s else 2.0)
                    H[e0 + s * m + u] = h
                    H[e0 + u * m + s] = h
        Hm = np.empty((m, m))
        for s in range(m):
            for u in range(m):
                Hm[s, u] = H[e0 + s * m + u]
        d, V = np.linalg.eigh(Hm)
        clip_spectrum(d, V, Hm, np.sqrt(err))
        for s in range(m):
            D[a + s] = d[s]
            for u in range(m):
                Q[e0 + s * m + u] = V[s, u]


@njit(cache=True, nogil=True, fastmath=False)
def sparse_block_gram(xd, xi, xp, v, gidx, a, m, head):
    """``raw[s, u] = sum_i v_i x_ij x_il`` (``j = gidx[a + s]``, ``l = gidx[a + u]``,
    ``u <= s``) of a CSC group, row by row: each stored entry meets the group's earlier
    entries in its row through a per-row list (``head``: -1 for every row on entry and
    on exit), so the cost is the group's stored entries plus the pairs sharing a row,
    not a pass over each column per pair (sparse columns rarely share rows)."""
    E = 0
    for s in range(m):
        j = gidx[a + s]
        E += xp[j + 1] - xp[j]
    col = np.empty(E, dtype=np.int64)
    val = np.empty(E)
    nxt = np.empty(E, dtype=np.int64)
    raw = np.zeros((m, m))
    e = 0
    for s in range(m):
        j = gidx[a + s]
        for q in range(xp[j], xp[j + 1]):
            i = xi[q]
            wx = v[i] * xd[q]
            raw[s, s] += wx * xd[q]
            k = head[i]
            while k >= 0:
                raw[s, col[k]] += wx * val[k]
                k = nxt[k]
            col[e] = s
            val[e] = xd[q]
            nxt[e] = head[i]
            head[i] = e
            e += 1
    for s in range(m):
        j = gidx[a + s]
        for q in range(xp[j], xp[j + 1]):
            head[xi[q]] = -1
    return raw


@njit(cache=True, nogil=True, fastmath=False)
def weighted_sums(X, xd, xi, xp, sparse, v, feats, xv):
    """``xv_j = sum_i v_i x_ij`` for the features ``feats`` (the lazy residual's
    correction under new weights when the block Hessians are kept)."""
    for t in range(feats.shape[0]):
        j = feats[t]
        xv[j] = column_weighted_sum(X, xd, xi, xp, sparse, v, j)


@njit(cache=True, nogil=True, fastmath=False)
def column_weighted_sum(X, xd, xi, xp, sparse, v, j):
    """``sum_i v_i x_ij`` for one column of a dense or CSC design."""
    acc = 0.0
    if xd is not None:
        for k in range(xp[j], xp[j + 1]):
            acc += v[xi[k]] * xd[k]
    if X is not None:
        for i in range(X.shape[0]):
            acc += v[i] * X[i, j]
    return acc


@njit(cache=True, nogil=True, fastmath=False)
def dense_block_hessian(X, v, xm, inv_s, gidx, a, m, e0, H):
    """``H_g = Z_g^T V Z_g`` of a dense group: the rows ``sqrt(v_i) (x_ij - xm_j) inv_s_j``
    are formed once (n m), then each entry is one contiguous dot product (vectorised;
    weights are non-negative: prior weights times IRLS curvatures)."""
    n = X.shape[0]
    Zt = np.empty((m, n))
    for s in range(m):
        j = gidx[a + s]
        mj = xm[j]
        sj = inv_s[j]
        for i in range(n):
            Zt[s, i] = np.sqrt(v[i]) * (X[i, j] - mj) * sj
    for s in range(m):
        for u in range(s + 1):
            h = row_dot(Zt, s, u)
            H[e0 + s * m + u] = h
            H[e0 + u * m + s] = h


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def row_dot(Zt, s, u):
    """``sum_i Zt[s, i] Zt[u, i]`` (vectorised: see ``flags``)."""
    acc = 0.0
    for i in range(Zt.shape[1]):
        acc += Zt[s, i] * Zt[u, i]
    return acc


@njit(cache=True, nogil=True, fastmath=False)
def block_gradient(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, R, sh, svR, j, out):
    """``out_k = sum_i v_i z_ij (R_ik - sh_k)`` for column ``j`` (the lazy residual)."""
    K = R.shape[1]
    for k in range(K):
        out[k] = 0.0
    if xd is not None:
        for k in range(K):
            out[k] = sparse_dot(xd, xi, xp[j], xp[j + 1], v, R, k)
    if X is not None:
        for k in range(K):
            out[k] = dense_dot(X, v, R, j, k)
    for k in range(K):
        out[k] = lazy_gradient(out[k], j, k, inv_s, xv, xm, sh, svR, vsum)


@njit(cache=True, nogil=True, inline="always")
def lazy_gradient(raw, j, k, inv_s, xv, xm, sh, svR, vsum):
    """The standardized gradient ``sum_i v_i z_ij (R_ik - sh_k)`` of column ``j`` from its
    raw product ``raw = sum_i v_i x_ij R_ik`` (the shift ``sh`` and centring ``xm`` applied
    through ``xv_j = sum_i v_i x_ij`` and ``svR_k = sum_i v_i R_ik``)."""
    return inv_s[j] * (raw - sh[k] * xv[j] - xm[j] * (svR[k] - sh[k] * vsum))


@njit(cache=True, nogil=True, fastmath=False)
def dense_group_gradient(X, v, vsum, xm, inv_s, xv, R, sh, svR, gidx, a, cg, vr):
    """:func:`block_gradient` of the ``cg.shape[0]`` columns ``gidx[a:]`` of a dense
    design at once: ``vr = v * R[:, k]`` is formed once per response, so each column
    costs one two-stream dot product (not a three-stream one)."""
    m, K = cg.shape
    for k in range(K):
        weighted_column(v, R, k, vr)
        for s in range(m):
            j = gidx[a + s]
            cg[s, k] = lazy_gradient(column_dot(X, j, vr), j, k, inv_s, xv, xm, sh, svR,
                                     vsum)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def weighted_column(v, R, k, vr):
    """``vr = v * R[:, k]`` (vectorised: see ``flags``)."""
    for i in range(vr.shape[0]):
        vr[i] = v[i] * R[i, k]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def column_dot(X, j, w):
    """``sum_i x_ij w_i`` (vectorised: see ``flags``)."""
    acc = 0.0
    for i in range(X.shape[0]):
        acc += X[i, j] * w[i]
    return acc


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def dense_dot(X, v, R, j, k):
    """``sum_i v_i x_ij R_ik`` (vectorised: see ``flags``; R is Fortran-ordered)."""
    acc = 0.0
    for i in range(X.shape[0]):
        acc += v[i] * X[i, j] * R[i, k]
    return acc


@njit(cache=True, nogil=True, fastmath=False)
def sparse_dot(xd, xi, q0, q1, v, R, k):
    """``sum_q v_i xd_q R_ik`` over the stored entries ``q0:q1`` of a column (one
    response at a time: the inner loop is a plain gather)."""
    acc = 0.0
    for q in range(q0, q1):
        i = xi[q]
        acc += v[i] * xd[q] * R[i, k]
    return acc


@njit(cache=True, nogil=True, fastmath=False)
def sparse_axpy(xd, xi, q0, q1, R, k, a0):
    """``R[i, k] -= a0 * xd_q`` over the stored entries ``q0:q1`` of a column."""
    for q in range(q0, q1):
        R[xi[q], k] -= xd[q] * a0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def dense_axpy(X, R, j, k, a0):
    """``R[:, k] -= a0 * x_j``."""
    for i in range(X.shape[0]):
        R[i, k] -= X[i, j] * a0


@njit(cache=True, nogil=True, fastmath=False)
def block_move(X, xd, xi, xp, sparse, xm, inv_s, xv, R, sh, svR, j, delta, a):
    """The residual after ``beta_j += delta`` (shape (K,)): ``R -= z_j delta``, lazily
    (``a`` is scratch of shape (K,))."""
    K = R.shape[1]
    for k in range(K):
        a[k] = delta[k] * inv_s[j]
    if xd is not None:
        for k in range(K):
            sparse_axpy(xd, xi, xp[j], xp[j + 1], R, k, a[k])
    if X is not None:
        for k in range(K):
            dense_axpy(X, R, j, k, a[k])
    for k in range(K):
        sh[k] -= xm[j] * a[k]
        svR[k] -= a[k] * xv[j]


@njit(cache=True, nogil=True, fastmath=False)
def bcd_sweep(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff, H, Q,
              D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, sgl_tol, c, out,
              ct, ss, e, col, delta, scr, bbuf, vr):
    """One sweep of exact block updates over ``ws`` and the intercept; returns the largest
    move ``(d_max + l2) ||delta_g||^2`` (the objective's scale). ``vr`` is scratch of
    length n (dense designs); ``xdv`` a sparse design's stored values times ``v / vc`` (see
    :func:`~shrinkage.engine.kernels.group_blocks.weighted_values`; None for a dense one):
    with equal weights ``v = vc`` it is the design's own values, so that the gradient and
    the residual update of a column stream the same array. A sparse design with a vector
    response and no L1 inside the groups takes
    :func:`~shrinkage.engine.kernels.group_sparse.sparse_vector_sweep` (the same updates)."""
    K = R.shape[1]
    if xd is not None and K == 1 and no_inner_l1(l1in, ws):
        return sparse_vector_sweep(xd, xi, xp, xdv, vc, vsum, xm, inv_s, xv, gptr, gidx, eoff,
                                   H, Q, D, ws, l1g, l2g, beta, R, sh, svR, b0,
                                   fit_intercept, c[:, 0], bbuf[:, 0], ct[:, 0], ss, e,
                                   out[:, 0])
    worst = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        Hg = H[e0:e0 + m * m].reshape((m, m))
        cg = c[:m]
        og = out[:m]
        if xd is not None:
            for s in range(m):
                j = gidx[a + s]
                for k in range(K):
                    raw = vc * sparse_wdot(xdv, xi, xp[j], xp[j + 1], R, k)
                    cg[s, k] = lazy_gradient(raw, j, k, inv_s, xv, xm, sh, svR, vsum)
        if X is not None:
            dense_group_gradient(X, v, vsum, xm, inv_s, xv, R, sh, svR, gidx, a, cg, vr)
        dmax = exact_group_update(Hg, Q[e0:e0 + m * m].reshape((m, m)), D, a, gidx, beta, cg,
                                  bbuf[:m], og, l1in[g], l1g[g], l2g[g], sgl_tol[g], ct, ss,
                                  e)
        moved = 0.0
        for s in range(m):
            j = gidx[a + s]
            sq, nz = take_block_row(og, s, beta, j, delta)
            moved += sq
            if nz:
                block_move(X, xd, xi, xp, sparse, xm, inv_s, xv, R, sh, svR, j, delta,
                           scr)
        worst = max(worst, (dmax + l2g[g]) * moved)
    if fit_intercept:
        worst = refit_intercepts(svR, sh, vsum, b0, worst)
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def group_bcd(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff, H, Q,
              D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, thr, max_sweeps,
              sgl_tol, n_anderson, confirm=True):
    """Sweeps of exact block updates over the groups ``ws`` until no block moves the model
    by more than ``thr`` (``d_max ||delta_g||^2``, the objective's scale) or
    ``max_sweeps``; the intercept ``b0`` (shape (K,)) is updated after each sweep.

    After a sweep over ``ws``, sweeps run over its non-zero groups only until they settle
    (glmnet's active-set cycling), then ``ws`` is swept again; the blocks are converged
    when a sweep over all of ``ws`` moves none of them by more than ``thr``. Without
    ``confirm`` the sweeps end once the non-zero groups settle: the caller's pass over
    X (gradient and certificate) then stands for the confirming sweep over ``ws``.
    Returns the number of sweeps."""
    K = R.shape[1]
    mmax = largest_group(gptr, ws)
    bufs = (np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)), np.empty(mmax),
            np.empty(mmax), np.empty(K), np.empty(K), np.empty(K), np.empty((mmax, K)),
            np.empty(0 if sparse else R.shape[0]))
    c, out, ct, ss, e, col, delta, scr, bbuf, vr = bufs
    act = np.empty(ws.shape[0], dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = bcd_sweep(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx,
                          eoff, H, Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept,
                          sgl_tol, c, out, ct, ss, e, col, delta, scr, bbuf, vr)
        if worst <= thr:
            break
        m = nonzero_groups(beta, gptr, gidx, ws, act)
        if m > 0:
            left = max_sweeps - sweeps
            done = active_sweeps(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr,
                                 gidx, eoff, H, Q, D, act[:m].copy(), l1g, l1in, l2g, beta,
                                 R, sh, svR, b0, fit_intercept, thr, left, sgl_tol,
                                 n_anderson, bufs)
            sweeps += done
            if not confirm and done < left:
                break
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def active_sweeps(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff, H,
                  Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, thr,
                  max_sweeps, sgl_tol, n_anderson, bufs):
    """Sweeps over the groups ``ws`` until none moves by more than ``thr``.

    Every ``n_anderson + 1`` sweeps (0: never) the iterates are extrapolated by Anderson
    acceleration (Bertrand & Massias 2021): the affine combination of the last iterates
    whose differences combine to the smallest norm; the residual, affine in the
    coefficients, follows by the same combination. The extrapolation is kept only when
    it lowers the model's objective. Returns the number of sweeps."""
    c, out, ct, ss, e, col, delta, scr, bbuf, vr = bufs
    n, K = R.shape
    feats = group_features(gptr, gidx, ws)
    F = feats.shape[0]
    M = n_anderson
    Bh = np.empty((M + 1, F, K))
    Rh = np.empty((M + 1, n, K))
    b0h = np.empty((M + 1, K))
    hist = np.int64(0)  # not a literal: see test_kernel_specialisations
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = bcd_sweep(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx,
                          eoff, H, Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept,
                          sgl_tol, c, out, ct, ss, e, col, delta, scr, bbuf, vr)
        if worst <= thr:
            break
        if M == 0 or F == 0:
            continue
        store_iterate(Bh, Rh, b0h, hist, beta, feats, R, sh, b0)
        hist += 1
        if hist == M + 1:
            hist = np.int64(0)  # not a literal: see test_kernel_specialisations
            anderson_step(Bh, Rh, b0h, feats, v, ws, gptr, gidx, l1g, l1in, l2g, beta, R,
                          sh, svR, b0)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def settle_residual(R, sh):
    """Materialise the lazy residual: ``R -= sh``, ``sh = 0``."""
    for i in range(R.shape[0]):
        for k in range(R.shape[1]):
            R[i, k] -= sh[k]
    for k in range(R.shape[1]):
        sh[k] = 0.0
