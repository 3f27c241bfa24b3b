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

from .flags import FASTMATH
from .group_blocks import exact_group_update


@njit(cache=True, nogil=True)
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
        for s in range(m):
            D[a + s] = max(d[s], 0.0)
            for u in range(m):
                Q[e0 + s * m + u] = V[s, u]


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
                                  bbuf[:m], og, l1in[g], l1g[g], l2g[g], sgl_tol, ct, ss, e)
        moved = 0.0
        for s in range(m):
            j = gidx[a + s]
            nz = False
            for k in range(K):
                delta[k] = og[s, k] - beta[j, k]
                moved += delta[k] * delta[k]
                nz = nz or delta[k] != 0.0
            if nz:
                gram_move(C, Gt, j, delta)
                for k in range(K):
                    beta[j, k] = og[s, k]
        worst = max(worst, (dmax + l2g[g]) * moved)
    return worst


@njit(cache=True, nogil=True)
def gram_bcd(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt, thr, max_sweeps,
             sgl_tol):
    """Sweeps of exact block updates over the groups ``ws`` until no block moves by more
    than ``thr`` or ``max_sweeps``: after a sweep over ``ws``, sweeps over its non-zero
    groups until they settle (glmnet's active-set cycling), then ``ws`` again. Returns
    the number of sweeps. ``Gt`` is the gradient transposed, (K, p)."""
    K = Gt.shape[0]
    mmax = 1
    for t in range(ws.shape[0]):
        mmax = max(mmax, gptr[ws[t] + 1] - gptr[ws[t]])
    c = np.empty((mmax, K))
    out = np.empty((mmax, K))
    ct = np.empty((mmax, K))
    bbuf = np.empty((mmax, K))
    ss = np.empty(mmax)
    e = np.empty(mmax)
    delta = np.empty(K)
    act = np.empty(ws.shape[0], dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = gram_sweep(C, gptr, gidx, eoff, H, Q, D, ws, l1g, l1in, l2g, beta, Gt,
                           sgl_tol, c, out, ct, ss, e, delta, bbuf)
        if worst <= thr:
            break
        m = 0
        for t in range(ws.shape[0]):
            g = ws[t]
            nz = False
            for q in range(gptr[g], gptr[g + 1]):
                for k in range(K):
                    nz = nz or beta[gidx[q], k] != 0.0
            if nz:
                act[m] = g
                m += 1
        sub = act[:m].copy()
        while m > 0 and sweeps < max_sweeps:
            sweeps += 1
            worst = gram_sweep(C, gptr, gidx, eoff, H, Q, D, sub, l1g, l1in, l2g, beta, Gt,
                               sgl_tol, c, out, ct, ss, e, delta, bbuf)
            if worst <= thr:
                break
    return sweeps
