"""Anderson acceleration of block coordinate descent on groups (numba, plain arrays).

Every few sweeps over a working set's groups, the iterates ``(beta, R, b0)`` are replaced
by the affine combination ``sum_a c_a x_a`` (``sum_a c_a = 1``) of the last ones whose
differences ``x_{a+1} - x_a`` combine to the smallest norm (Bertrand & Massias 2021):
``c = G^{-1} 1 / (1^T G^{-1} 1)`` with ``G`` the Gram matrix of the differences. The
residual is affine in the coefficients, so the same combination of residuals is the
extrapolated point's residual exactly. The extrapolation is kept only when it lowers the
model's objective (see :mod:`shrinkage.engine.kernels.groups` for the model).
"""

import numpy as np
from numba import njit

from .active_set import cholesky_solve


@njit(cache=True, nogil=True, fastmath=False)
def model_objective(Rt, v, B, feats, ws, gptr, l1g, l1in, l2g, pos):
    """``1/2 sum_i v_i ||Rt_i||^2 + pen`` over the working set (``B`` rows follow
    ``feats``; ``pos`` maps a feature to its row)."""
    n, K = Rt.shape
    f = 0.0
    for i in range(n):
        for k in range(K):
            f += 0.5 * v[i] * Rt[i, k] * Rt[i, k]
    for t in range(ws.shape[0]):
        g = ws[t]
        sq = 0.0
        ab = 0.0
        for q in range(gptr[g], gptr[g + 1]):
            for k in range(K):
                x = B[pos[q], k]
                sq += x * x
                ab += abs(x)
        f += l1g[g] * np.sqrt(sq) + l1in[g] * ab + 0.5 * l2g[g] * sq
    return f


@njit(cache=True, nogil=True, fastmath=False)
def anderson_weights(Bh):
    """Anderson's affine weights ``coef`` (summing to one) of the iterates ``Bh[1:]``
    whose differences ``Bh[a + 1] - Bh[a]`` combine to the smallest norm; empty when
    the differences are degenerate."""
    M = Bh.shape[0] - 1
    F, K = Bh.shape[1], Bh.shape[2]
    G = np.zeros((M, M))
    for a in range(M):
        for b in range(a + 1):
            acc = 0.0
            for f in range(F):
                for k in range(K):
                    acc += (Bh[a + 1, f, k] - Bh[a, f, k]) * (Bh[b + 1, f, k] - Bh[b, f, k])
            G[a, b] = acc
            G[b, a] = acc
    tr = 0.0
    for a in range(M):
        tr += G[a, a]
    if not tr > 0.0:
        return np.zeros(0)
    for a in range(M):
        G[a, a] += 1e-10 * tr
    # G is symmetric positive definite: our Cholesky rather than np.linalg.solve, whose
    # shape checks compile numba's string-formatting error path
    z = np.ones(M)
    if not cholesky_solve(G, z, M):
        return np.zeros(0)
    zs = np.sum(z)
    if not np.isfinite(zs) or zs == 0.0:
        return np.zeros(0)
    return z / zs


@njit(cache=True, nogil=True, fastmath=False)
def anderson_step(Bh, Rh, b0h, feats, v, ws, gptr, gidx, l1g, l1in, l2g, beta, R, sh, svR,
                  b0):
    """Replace the current point by the Anderson extrapolation of the stored iterates
    when it lowers the model's objective."""
    M = Bh.shape[0] - 1
    coef = anderson_weights(Bh)
    if coef.shape[0] == 0:
        return
    Be, Re, b0e = anderson_combination(coef, Bh, Rh, b0h)
    # rows of B in group order: feats lists the ws groups' features in order
    pos = np.empty(gidx.shape[0], dtype=np.int64)
    r = 0
    for t in range(ws.shape[0]):
        for q in range(gptr[ws[t]], gptr[ws[t] + 1]):
            pos[q] = r
            r += 1
    f_new = model_objective(Re, v, Be, feats, ws, gptr, l1g, l1in, l2g, pos)
    f_cur = model_objective(Rh[M], v, Bh[M], feats, ws, gptr, l1g, l1in, l2g, pos)
    if f_new < f_cur:
        move_to_point(Be, Re, b0e, feats, v, beta, R, sh, svR, b0)


@njit(cache=True, nogil=True, fastmath=False)
def store_iterate(Bh, Rh, b0h, hist, beta, feats, R, sh, b0):
    """Slot ``hist`` of an Anderson history: ``beta[feats]``, the residual with its lazy
    shift applied, and the intercept."""
    F, K = Bh.shape[1], Bh.shape[2]
    for f in range(F):
        for k in range(K):
            Bh[hist, f, k] = beta[feats[f], k]
    for i in range(R.shape[0]):
        for k in range(K):
            Rh[hist, i, k] = R[i, k] - sh[k]
    for k in range(K):
        b0h[hist, k] = b0[k]


@njit(cache=True, nogil=True, fastmath=False)
def anderson_combination(coef, Bh, Rh, b0h):
    """``sum_a coef_a (B, R, b0)_{a+1}``: the extrapolated coefficients, residual and
    intercept (the residual is linear in the point, so it is that point's residual)."""
    Be = np.zeros(Bh.shape[1:])
    Re = np.zeros(Rh.shape[1:])
    b0e = np.zeros(b0h.shape[1])
    for a in range(coef.shape[0]):
        w = coef[a]
        Be += w * Bh[a + 1]
        Re += w * Rh[a + 1]
        b0e += w * b0h[a + 1]
    return Be, Re, b0e


@njit(cache=True, nogil=True, fastmath=False)
def move_to_point(Be, Re, b0e, feats, v, beta, R, sh, svR, b0):
    """Make ``(Be, Re, b0e)`` the current point: ``beta[feats] = Be``, the residual (its
    lazy shift cleared) and its weighted sums ``svR``, the intercept."""
    n, K = R.shape
    for f in range(feats.shape[0]):
        for k in range(K):
            beta[feats[f], k] = Be[f, k]
    for k in range(K):
        sh[k] = 0.0
        acc = 0.0
        for i in range(n):
            R[i, k] = Re[i, k]
            acc += v[i] * Re[i, k]
        svR[k] = acc
        b0[k] = b0e[k]
