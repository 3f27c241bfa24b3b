"""Block coordinate descent on the Gram matrix for group penalties (gaussian, ``n >> p``).

The model is that of :mod:`shrinkage.engine.kernels.groups`, written through the weighted,
centred, standardized Gram ``C = Z^T W Z`` (p x p) instead of the residual::

    q(beta) = 1/2 beta^T C beta - <c0, beta> + pen(beta)

``G = c0 - C beta`` is the gradient of every feature, kept exact after each block move by
``G -= C[:, j] delta_j`` (O(p) per coordinate instead of O(n)); the kernels hold it
transposed, ``Gt = G^T`` of shape (K, p), so that each response's update is one
contiguous, vectorised row operation (``Gt[k] -= delta_jk C[j]``); the
intercept drops out (Z is centred). The block update is the exact one of
:mod:`shrinkage.engine.kernels.group_blocks`, with the block Hessian ``C_gg``.
"""

import numpy as np
from numba import njit

from .active_set import clip_spectrum
from .flags import FASTMATH
from .group_anderson import anderson_weights
from .group_blocks import (
    exact_group_update,
    group_features,
    largest_group,
    nonzero_groups,
    take_block_row,
)


@njit(cache=True, nogil=True, fastmath=False)
def store_gram_iterate(Bh, Gh, hist, beta, feats, Gt):
    """Slot ``hist`` of a Gram-mode Anderson history: ``beta[feats]`` and ``Gt``."""
    F, K = Bh.shape[1], Bh.shape[2]
    for f in range(F):
        for k in range(K):
            Bh[hist, f, k] = beta[feats[f], k]
    for k in range(Gt.shape[0]):
        for i in range(Gt.shape[1]):
            Gh[hist, k, i] = Gt[k, i]


@njit(cache=True, nogil=True, fastmath=False)
def gram_blocks(C, gptr, gidx, eoff, todo, H, Q, D):
    """Copy ``H_g = C_gg`` for the groups in ``todo`` and cache its eigenvectors ``Q_g``
    and (non-negative) eigenvalues ``D_g``."""
    for t in range(todo.shape[0]):
        g = todo[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        Hm = np.empty((m, m))
        for s in range(m):
            for u in range(m):
                Hm[s, u] = C[gidx[a + s], gidx[a + u]]
                H[e0 + s * m + u] = Hm[s, u]
        d, V = np.linalg.eigh(Hm)
        clip_spectrum(d, V, Hm, 0.0)
        for s in range(m):
            D[a + s] = d[s]
            for u in range(m):
                Q[e0 + s * m + u] = V[s, u]


@njit(cache=True, nogil=True, fastmath=False)
def gram_move(C, Gt, j, delta):
    """``Gt[k] -= delta_k C[j]`` for every response (C is symmetric: its row ``j``)."""
    for k in range(Gt.shape[0]):
        if delta[k] != 0.0:
            row_axpy(C, Gt, j, k, delta[k])


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def row_axpy(C, Gt, j, k, dk):
    """``Gt[k, :] -= dk * C[j, :]`` (vectorised: see ``flags``)."""
    for i in range(Gt.shape[1]):
        Gt[k, i] -= C[j, i] * dk


@njit(cache=True, nogil=True, fastmath=False)
def gram_sweep(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt, sgl_tol, c, out,
               ct, ss, e, delta, bbuf):
    """One sweep of exact block updates over ``ws``; returns the largest move
    ``(d_max + l2) ||delta_g||^2`` (the objective's scale)."""
    K = Gt.shape[0]
    worst = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        Hg = H[e0:e0 + m * m].reshape((m, m))
        cg = c[:m]
        og = out[:m]
        for s in range(m):  # the gradient at the current point, kept exact in Gt
            for k in range(K):
                cg[s, k] = Gt[k, gidx[a + s]]
        dmax = exact_group_update(Hg, Q[e0:e0 + m * m].reshape((m, m)), D, a, gidx, beta, cg,
                                  bbuf[:m], og, l1in[g], l1g[g], l2g[g], sgl_tol[g], ct, ss,
                                  e)
        moved = 0.0
        for s in range(m):
            j = gidx[a + s]
            sq, nz = take_block_row(og, s, beta, j, delta)
            moved += sq
            if nz:
                gram_move(C, Gt, j, delta)
        worst = max(worst, (dmax + l2g[g]) * moved)
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def gram_bcd(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt, c0t, thr,
             max_sweeps, sgl_tol, n_anderson):
    """Sweeps of exact block updates over the groups ``ws`` until no block moves by more
    than ``thr`` or ``max_sweeps``: after a sweep over ``ws``, sweeps over its non-zero
    groups until they settle (glmnet's active-set cycling, with Anderson acceleration:
    :func:`gram_active_sweeps`), then ``ws`` again. Returns the number of sweeps.
    ``Gt`` is the gradient transposed, (K, p); ``c0t`` its value at ``beta = 0``."""
    K = Gt.shape[0]
    mmax = largest_group(gptr, ws)
    bufs = (np.empty((mmax, K)), np.empty((mmax, K)), np.empty((mmax, K)), np.empty(mmax),
            np.empty(mmax), np.empty(K), np.empty((mmax, K)))
    c, out, ct, ss, e, delta, bbuf = bufs
    act = np.empty(ws.shape[0], dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = gram_sweep(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt,
                           sgl_tol, c, out, ct, ss, e, delta, bbuf)
        if worst <= thr:
            break
        m = nonzero_groups(beta, gptr, gidx, ws, act)
        if m > 0:
            sweeps += gram_active_sweeps(C, gptr, gidx, eoff, H, Q, D, act[:m].copy(), l1g,
                                         l1in, l2g, beta, Gt, c0t, thr, max_sweeps - sweeps,
                                         sgl_tol, n_anderson, bufs)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def gram_active_sweeps(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt, c0t, thr,
                       max_sweeps, sgl_tol, n_anderson, bufs):
    """Sweeps over the groups ``ws`` until none moves by more than ``thr``; every
    ``n_anderson + 1`` sweeps (0: never) the iterates are extrapolated by Anderson
    acceleration (as in :func:`shrinkage.engine.kernels.groups.active_sweeps`; the
    gradient, affine in the coefficients, follows by the same combination), kept only
    when it lowers the objective. Returns the number of sweeps."""
    c, out, ct, ss, e, delta, bbuf = bufs
    K, p = Gt.shape
    feats = group_features(gptr, gidx, ws)
    F = feats.shape[0]
    M = n_anderson
    Bh = np.empty((M + 1, F, K))
    Gh = np.empty((M + 1, K, p))
    hist = np.int64(0)  # not a literal: see test_kernel_specialisations
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = gram_sweep(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt,
                           sgl_tol, c, out, ct, ss, e, delta, bbuf)
        if worst <= thr:
            break
        if M == 0 or F == 0:
            continue
        store_gram_iterate(Bh, Gh, hist, beta, feats, Gt)
        hist += 1
        if hist == M + 1:
            hist = np.int64(0)  # not a literal: see test_kernel_specialisations
            gram_anderson_step(Bh, Gh, feats, ws, gptr, l1g, l1in, l2g, beta, Gt, c0t)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def gram_objective(B, Gt_, c0t, feats, ws, gptr, l1g, l1in, l2g):
    """``1/2 beta^T C beta - <c0, beta> + pen = -1/2 <beta, c0 + G> + pen`` with the
    coefficients outside ``feats`` at zero (rows of ``B`` follow ``feats``; ``ws``'s
    groups list ``feats`` in order)."""
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
        ab = 0.0
        for _ in range(gptr[g], gptr[g + 1]):
            for k in range(K):
                sq += B[r, k] * B[r, k]
                ab += abs(B[r, k])
            r += 1
        f += l1g[g] * np.sqrt(sq) + l1in[g] * ab + 0.5 * l2g[g] * sq
    return f


@njit(cache=True, nogil=True, fastmath=False)
def gram_anderson_step(Bh, Gh, feats, ws, gptr, l1g, l1in, l2g, beta, Gt, c0t):
    """Replace the current point by the Anderson extrapolation of the stored iterates
    when it lowers the objective."""
    M = Bh.shape[0] - 1
    coef = anderson_weights(Bh)
    if coef.shape[0] == 0:
        return
    Be = np.zeros(Bh.shape[1:])
    Ge = np.zeros(Gh.shape[1:])
    for a in range(M):
        Be += coef[a] * Bh[a + 1]
        Ge += coef[a] * Gh[a + 1]
    f_new = gram_objective(Be, Ge, c0t, feats, ws, gptr, l1g, l1in, l2g)
    f_cur = gram_objective(Bh[M], Gh[M], c0t, feats, ws, gptr, l1g, l1in, l2g)
    if not f_new < f_cur:
        return
    for f in range(feats.shape[0]):
        for k in range(Be.shape[1]):
            beta[feats[f], k] = Be[f, k]
    for k in range(Ge.shape[0]):
        for i in range(Ge.shape[1]):
            Gt[k, i] = Ge[k, i]
