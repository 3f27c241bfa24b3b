"""Block coordinate descent for group MCP / group SCAD (numba, plain arrays).

The model is :mod:`~shrinkage.engine.kernels.groups`'s weighted quadratic in the
standardized coefficients ``beta`` (shape (p, K)) with the folded-concave penalty on
each group's norm::

    q(b0, beta) = 1/2 sum_i v_i ||R_i - b0 - sum_j z_ij beta_j||^2
                  + sum_g rho(||beta_g||; l1g_g, gamma) + l2g_g / 2 ||beta_g||^2

**The group update** majorizes the block's quadratic by its largest eigenvalue ``L``
(``H_g = Z_g^T V Z_g <= L I``). At a point ``x`` of the block, with
``q = Z_g^T V r(x)`` (minus the data term's gradient) and an optional proximal term
``damp L / 2 ||b - a||^2`` (``a`` the anchor; ``damp = 0`` normally), the majorized
problem is::

    min_b  Lt / 2 ||b - u||^2 + rho(||b||) + l2 / 2 ||b||^2,
    Lt = (1 + damp) L,   u = (L x + q + damp L a) / Lt

whose exact solution is radial: ``b = u / ||u|| * r*`` with ``r*`` the univariate
threshold :func:`~shrinkage.engine.kernels.concave.threshold` of ``Lt ||u||`` under the
curvature ``Lt``. For MCP with ``Lt + l2 > 1/gamma`` this is the firm thresholding of the
norm::

    r* = S(Lt ||u||, l1g) / (Lt + l2 - 1/gamma)    if Lt ||u|| <= gamma l1g (Lt + l2)
         Lt ||u|| / (Lt + l2)                      beyond

(SCAD's three pieces likewise; the global minimiser of the one-dimensional problem when
it is itself nonconvex). Each such step cannot increase the block's model (it minimises
a majorizer that touches it at ``x``), and it is repeated on the block (``x`` the new
point, ``q`` updated through ``H_g``, no pass over X) until the block's move falls below
the sweep's threshold, so one visit solves the block's model to that accuracy. For an
orthonormal group (``H_g = I``, grpreg's geometry) one step is the exact block minimiser.
"""

import numpy as np
from numba import njit

from .concave import rho, threshold
from .group_anderson import (
    anderson_combination,
    anderson_weights,
    move_to_point,
    store_iterate,
)
from .group_blocks import (
    group_features,
    largest_group,
    nonzero_groups,
    refit_intercepts,
    take_block_row,
)
from .group_gram import gram_move, store_gram_iterate
from .groups import block_gradient, block_move


@njit(cache=True, nogil=True, fastmath=False)
def radial_block(kind, gamma, Hg, cg, bg, ag, L, damp, l1g, l2g, out, q, u, thr,
                 max_inner):
    """Repeated majorized updates of one block (module docstring) from ``bg``.

    ``cg`` is ``Z_g^T V r`` at ``bg`` (shape (m, K)), ``ag`` the anchor of the proximal
    term; the solution goes to ``out``; ``q`` and ``u`` are scratch of ``cg``'s shape.
    Stops when ``Lt ||change||^2 <= thr`` or after ``max_inner`` steps."""
    m, K = cg.shape
    Lt = (1.0 + damp) * L
    for s in range(m):
        for k in range(K):
            out[s, k] = bg[s, k]
    for _ in range(max_inner):
        nrm = 0.0
        for s in range(m):  # q = cg - Hg (out - bg), u = (L out + q + damp L a) / Lt
            for k in range(K):
                acc = cg[s, k]
                for w in range(m):
                    acc -= Hg[s, w] * (out[w, k] - bg[w, k])
                q[s, k] = acc
                u[s, k] = (L * out[s, k] + acc + damp * L * ag[s, k]) / Lt
                nrm += u[s, k] * u[s, k]
        nrm = np.sqrt(nrm)
        f = 0.0
        if nrm > 0.0:
            f = threshold(kind, Lt * nrm, Lt, l1g, l2g, gamma) / nrm
        ch = 0.0
        for s in range(m):
            for k in range(K):
                new = u[s, k] * f
                d = new - out[s, k]
                ch += d * d
                out[s, k] = new
        if Lt * ch <= thr:
            break


@njit(cache=True, nogil=True, fastmath=False)
def project_off_null(Q, D, e0, a, m, c):
    """``c[:m]`` less its components along the block's eigenvectors (``Q[e0 + s m + u]``
    is entry ``s`` of vector ``u``) whose eigenvalue ``D[a + u]`` is 0: directions of
    collinear columns that the data do not determine (:func:`~.active_set.clip_spectrum`).
    The gradient there is rounding (a sparse design's centring cancels digits), and
    majorized steps would follow it as far as the block's computed curvature, itself
    rounding, lets them."""
    K = c.shape[1]
    for u in range(m):
        if D[a + u] != 0.0:
            continue
        for k in range(K):
            acc = 0.0
            for s in range(m):
                acc += Q[e0 + s * m + u] * c[s, k]
            for s in range(m):
                c[s, k] -= acc * Q[e0 + s * m + u]


@njit(cache=True, nogil=True, fastmath=False)
def concave_group_sweep(kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, gptr,
                        gidx, eoff, H, Q, D, ws, l1g, l2g, beta, R, sh, svR, b0, fit_intercept,
                        thr, damp, anchor, bufs):
    """One sweep of block updates over ``ws`` and the intercept; returns the largest
    move ``(Lt + l2) ||delta_g||^2`` (the objective's scale)."""
    c, out, bg, ag, q, u, col, delta, scr = bufs
    K = R.shape[1]
    worst = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        L = 0.0
        for s in range(m):
            L = max(L, D[a + s])
        if L <= 0.0:  # constant columns: nothing to move
            continue
        e0 = eoff[g]
        Hg = H[e0:e0 + m * m].reshape((m, m))
        for s in range(m):
            j = gidx[a + s]
            block_gradient(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, R, sh, svR, j, col)
            for k in range(K):
                c[s, k] = col[k]
                bg[s, k] = beta[j, k]
                ag[s, k] = anchor[j, k]
        project_off_null(Q, D, e0, a, m, c)
        radial_block(kind, gamma, Hg, c[:m], bg[:m], ag[:m], L, damp, l1g[g], l2g[g],
                     out[:m], q[:m], u[:m], 1e-2 * thr, np.int64(100))
        moved = 0.0
        for s in range(m):
            j = gidx[a + s]
            sq, nz = take_block_row(out, s, beta, j, delta)
            moved += sq
            if nz:
                block_move(X, xd, xi, xp, sparse, xm, inv_s, xv, R, sh, svR, j, delta, scr)
        worst = max(worst, ((1.0 + damp) * L + l2g[g]) * moved)
    if fit_intercept:
        worst = refit_intercepts(svR, sh, vsum, b0, worst)
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def concave_group_bcd(kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, gptr,
                      gidx, eoff, H, Q, D, ws, l1g, l2g, beta, R, sh, svR, b0, fit_intercept,
                      thr, max_sweeps, damp, anchor, n_anderson):
    """Sweeps of block updates over the groups ``ws`` until no block moves the model by
    more than ``thr`` or ``max_sweeps``. After a sweep over ``ws``, sweeps run over its
    non-zero groups only until they settle (glmnet's active-set cycling,
    :func:`concave_active_sweeps`, Anderson-accelerated every ``n_anderson + 1`` sweeps),
    then ``ws`` is swept again. Returns the number of sweeps."""
    K = R.shape[1]
    mmax = largest_group(gptr, ws)
    bufs = (np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)),
            np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)), np.empty(K),
            np.empty(K), np.empty(K))
    act = np.empty(ws.shape[0], dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = concave_group_sweep(kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s,
                                    xv, gptr, gidx, eoff, H, Q, D, ws, l1g, l2g, beta, R, sh,
                                    svR, b0, fit_intercept, thr, damp, anchor, bufs)
        if worst <= thr:
            break
        m = nonzero_groups(beta, gptr, gidx, ws, act)
        if m > 0:
            sweeps += concave_active_sweeps(
                kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff,
                H, Q, D, act[:m].copy(), l1g, l2g, beta, R, sh, svR, b0, fit_intercept, thr,
                max_sweeps - sweeps, damp, anchor, n_anderson, bufs)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def concave_active_sweeps(kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, gptr,
                          gidx, eoff, H, Q, D, ws, l1g, l2g, beta, R, sh, svR, b0,
                          fit_intercept, thr, max_sweeps, damp, anchor, n_anderson, bufs):
    """Sweeps over the groups ``ws`` until none moves by more than ``thr``; every
    ``n_anderson + 1`` sweeps (0: never; never with a proximal term) the iterates are
    extrapolated by Anderson acceleration. The residual ``R - sh`` and the intercept,
    affine in the coefficients, follow by the same affine combination (weights summing to
    one), so the extrapolated residual is the residual of the extrapolated point. It is
    kept only when it lowers the nonconvex model objective
    (``_residual_concave_objective``): every accepted point is still a descent from
    the last, as for :func:`gram_concave_active_sweeps`. Returns the number of sweeps."""
    n, K = R.shape
    feats = group_features(gptr, gidx, ws)
    F = feats.shape[0]
    M = n_anderson if damp == 0.0 else 0
    Bh = np.empty((M + 1, F, K))
    Rh = np.empty((M + 1, n, K))
    b0h = np.empty((M + 1, K))
    hist = np.int64(0)  # not a literal: see test_kernel_specialisations
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = concave_group_sweep(kind, gamma, X, xd, xi, xp, sparse, v, vsum, xm, inv_s,
                                    xv, gptr, gidx, eoff, H, Q, D, ws, l1g, l2g, beta, R, sh,
                                    svR, b0, fit_intercept, thr, damp, anchor, bufs)
        if worst <= thr:
            break
        if M == 0 or F == 0:
            continue
        store_iterate(Bh, Rh, b0h, hist, beta, feats, R, sh, b0)
        hist += 1
        if hist == M + 1:
            hist = np.int64(0)  # not a literal: see test_kernel_specialisations
            _residual_anderson_step(kind, gamma, Bh, Rh, b0h, feats, v, ws, gptr, l1g, l2g,
                                    beta, R, sh, svR, b0)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def _residual_anderson_step(kind, gamma, Bh, Rh, b0h, feats, v, ws, gptr, l1g, l2g, beta, R,
                            sh, svR, b0):
    """Move to the Anderson extrapolation of the stored iterates (coefficients, residual
    and intercept alike) when it lowers the nonconvex model objective."""
    M = Bh.shape[0] - 1
    coef = anderson_weights(Bh)
    if coef.shape[0] == 0:
        return
    Be, Re, b0e = anderson_combination(coef, Bh, Rh, b0h)
    f_new = _residual_concave_objective(kind, gamma, Re, v, Be, ws, gptr, l1g, l2g)
    f_cur = _residual_concave_objective(kind, gamma, Rh[M], v, Bh[M], ws, gptr, l1g, l2g)
    if f_new < f_cur:
        move_to_point(Be, Re, b0e, feats, v, beta, R, sh, svR, b0)


@njit(cache=True, nogil=True, fastmath=False)
def _residual_concave_objective(kind, gamma, Rt, v, B, ws, gptr, l1g, l2g):
    """``1/2 sum_i v_i ||Rt_i||^2 + sum_g rho(||beta_g||) + l2g / 2 ||beta_g||^2`` with the
    coefficients outside ``ws`` at zero (rows of ``B`` follow ``ws``'s features)."""
    n, K = Rt.shape
    f = 0.0
    for i in range(n):
        for k in range(K):
            f += 0.5 * v[i] * Rt[i, k] * Rt[i, k]
    r = 0
    for t in range(ws.shape[0]):
        g = ws[t]
        sq = 0.0
        for _ in range(gptr[g], gptr[g + 1]):
            for k in range(K):
                sq += B[r, k] * B[r, k]
            r += 1
        f += rho(kind, np.sqrt(sq), l1g[g], gamma) + 0.5 * l2g[g] * sq
    return f


@njit(cache=True, nogil=True, fastmath=False)
def gram_concave_sweep(kind, gamma, C, gptr, gidx, eoff, H, D, ws, l1g, l2g, beta, Gt, thr,
                       damp, anchor, bufs):
    """:func:`concave_group_sweep` on the Gram matrix (gaussian, ``n >> p``): the block's
    gradient is read from ``Gt`` (``G`` transposed, kept exact through ``C``), so no pass
    over the rows; the intercept drops out (Z is centred)."""
    c, out, bg, ag, q, u, col, delta, scr = bufs
    K = Gt.shape[0]
    worst = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        L = 0.0
        for s in range(m):
            L = max(L, D[a + s])
        if L <= 0.0:  # constant columns: nothing to move
            continue
        e0 = eoff[g]
        Hg = H[e0:e0 + m * m].reshape((m, m))
        for s in range(m):
            j = gidx[a + s]
            for k in range(K):
                c[s, k] = Gt[k, j]
                bg[s, k] = beta[j, k]
                ag[s, k] = anchor[j, k]
        radial_block(kind, gamma, Hg, c[:m], bg[:m], ag[:m], L, damp, l1g[g], l2g[g],
                     out[:m], q[:m], u[:m], 1e-2 * thr, np.int64(100))
        moved = 0.0
        for s in range(m):
            j = gidx[a + s]
            sq, nz = take_block_row(out, s, beta, j, delta)
            moved += sq
            if nz:
                gram_move(C, Gt, j, delta)
        worst = max(worst, ((1.0 + damp) * L + l2g[g]) * moved)
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def gram_concave_bcd(kind, gamma, C, gptr, gidx, eoff, H, D, ws, l1g, l2g, beta, Gt, c0t,
                     thr, max_sweeps, damp, anchor, n_anderson):
    """:func:`concave_group_bcd` on the Gram matrix (:func:`gram_concave_sweep`): sweeps
    over ``ws``, then over its non-zero groups until they settle
    (:func:`gram_concave_active_sweeps`), until no block moves the model by more than
    ``thr`` or ``max_sweeps``. ``c0t`` is ``Gt`` at ``beta = 0``. Returns the number of
    sweeps."""
    K = Gt.shape[0]
    mmax = largest_group(gptr, ws)
    bufs = (np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)),
            np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)), np.empty(K),
            np.empty(K), np.empty(K))
    act = np.empty(ws.shape[0], dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = gram_concave_sweep(kind, gamma, C, gptr, gidx, eoff, H, D, ws, l1g, l2g,
                                   beta, Gt, thr, damp, anchor, bufs)
        if worst <= thr:
            break
        m = nonzero_groups(beta, gptr, gidx, ws, act)
        if m > 0:
            sweeps += gram_concave_active_sweeps(
                kind, gamma, C, gptr, gidx, eoff, H, D, act[:m].copy(), l1g, l2g, beta, Gt,
                c0t, thr, max_sweeps - sweeps, damp, anchor, n_anderson, bufs)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def gram_concave_active_sweeps(kind, gamma, C, gptr, gidx, eoff, H, D, ws, l1g, l2g, beta,
                               Gt, c0t, thr, max_sweeps, damp, anchor, n_anderson, bufs):
    """Sweeps over the groups ``ws`` until none moves by more than ``thr``; every
    ``n_anderson + 1`` sweeps (0: never; never with a proximal term) the iterates are
    extrapolated by Anderson acceleration (the gradient, affine in the coefficients,
    follows by the same combination), kept only when it lowers the nonconvex objective:
    every accepted point is still a descent from the last. Returns the number of
    sweeps."""
    K, p = Gt.shape
    feats = group_features(gptr, gidx, ws)
    F = feats.shape[0]
    M = n_anderson if damp == 0.0 else 0
    Bh = np.empty((M + 1, F, K))
    Gh = np.empty((M + 1, K, p))
    hist = np.int64(0)  # not a literal: see test_kernel_specialisations
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = gram_concave_sweep(kind, gamma, C, gptr, gidx, eoff, H, D, ws, l1g, l2g,
                                   beta, Gt, thr, damp, anchor, bufs)
        if worst <= thr:
            break
        if M == 0 or F == 0:
            continue
        store_gram_iterate(Bh, Gh, hist, beta, feats, Gt)
        hist += 1
        if hist == M + 1:
            hist = np.int64(0)  # not a literal: see test_kernel_specialisations
            coef = anderson_weights(Bh)
            if coef.shape[0] == 0:
                continue
            Be = np.zeros(Bh.shape[1:])
            Ge = np.zeros(Gh.shape[1:])
            for a in range(M):
                Be += coef[a] * Bh[a + 1]
                Ge += coef[a] * Gh[a + 1]
            f_new = _gram_concave_objective(kind, gamma, Be, Ge, c0t, feats, ws, gptr, l1g,
                                            l2g)
            f_cur = _gram_concave_objective(kind, gamma, Bh[M], Gh[M], c0t, feats, ws, gptr,
                                            l1g, l2g)
            if not f_new < f_cur:
                continue
            for f in range(F):
                for k in range(K):
                    beta[feats[f], k] = Be[f, k]
            for k in range(K):
                for i in range(p):
                    Gt[k, i] = Ge[k, i]
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def _gram_concave_objective(kind, gamma, B, Gt_, c0t, feats, ws, gptr, l1g, l2g):
    """``1/2 beta^T C beta - <c0, beta> + P = -1/2 <beta, c0 + G> + P`` with the
    coefficients outside ``feats`` at zero (rows of ``B`` follow ``feats``) and
    ``P = sum_g rho(||beta_g||) + l2g / 2 ||beta_g||^2``."""
    K = B.shape[1]
    f = 0.0
    for r in range(feats.shape[0]):
        j = feats[r]
        for k in range(K):
            f -= 0.5 * B[r, k] * (c0t[k, j] + Gt_[k, j])
    r = 0
    for t in range(ws.shape[0]):
        g = ws[t]
        sq = 0.0
        for _ in range(gptr[g], gptr[g + 1]):
            for k in range(K):
                sq += B[r, k] * B[r, k]
            r += 1
        f += rho(kind, np.sqrt(sq), l1g[g], gamma) + 0.5 * l2g[g] * sq
    return f
