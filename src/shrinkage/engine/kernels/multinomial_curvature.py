"""The curvature of the multinomial model's blocks, formed once per Newton step.

At the probabilities ``P`` of a Newton step, feature ``j``'s block of the model Hessian is
``A_j = sum_i w_i xc_ij^2 (diag P_i - P_i P_i^T)`` (``xc`` the centred column):
:func:`class_curvature` gives twice its diagonal (the majoriser of the block updates in
:mod:`.multinomial`), :func:`block_coupling` its off-diagonal entries (the coupling of the
ungrouped steps). Both work on a sparse column's stored entries only, with the centring's
terms summed over all rows once.
"""

import numpy as np
from numba import njit

from .flags import KERNEL


@njit(**KERNEL, fastmath=False)
def class_curvature(X, xd, xi, xp, sparse, v, xm, idx, m, M):
    """For j in idx[:m]: M_jk = 2 sum_i v_ik (x_ij - xm_j)^2."""
    n, K = v.shape
    V = np.zeros(K)
    for i in range(n):
        for k in range(K):
            V[k] += v[i, k]
    for t in range(m):
        j = idx[t]
        c = xm[j]
        for k in range(K):
            M[j, k] = 0.0
        if xd is not None:
            s1 = np.zeros(K)
            for r in range(xp[j], xp[j + 1]):
                i = xi[r]
                a = xd[r]
                for k in range(K):
                    s1[k] += v[i, k] * a
                    M[j, k] += v[i, k] * a * a
            for k in range(K):
                hk = M[j, k] - 2.0 * c * s1[k] + c * c * V[k]
                M[j, k] = 2.0 * hk if hk > 0.0 else 0.0
        if X is not None:
            for i in range(n):
                e = X[i, j] - c
                for k in range(K):
                    M[j, k] += v[i, k] * e * e
            for k in range(K):
                M[j, k] *= 2.0


@njit(**KERNEL, fastmath=False)
def block_coupling(X, xd, xi, xp, w, P, xm, ws, n_ws, O, slot):
    """``O[t, k, l] = -sum_i w_i xc_ij^2 P_ik P_il`` (``k != l``) for ``j = ws[t]``, and
    ``slot[j] = t``: the off-diagonal entries of the block Hessians (zero on entry).

    On a sparse design the centred sum is taken over the stored rows, ``sum (x^2 - 2 c x)
    w P_k P_l``, plus ``c^2 sum_i w_i P_ik P_il`` over all rows.
    """
    n, K = P.shape
    for t in range(n_ws):
        slot[ws[t]] = t
    if xd is not None:
        pp = np.zeros((K, K))
        for i in range(n):
            for k in range(K):
                a = w[i] * P[i, k]
                for k2 in range(k + 1, K):
                    pp[k, k2] += a * P[i, k2]
        for t in range(n_ws):
            j = ws[t]
            c = xm[j]
            for r in range(xp[j], xp[j + 1]):
                i = xi[r]
                f = w[i] * xd[r] * (xd[r] - 2.0 * c)
                for k in range(K):
                    a = f * P[i, k]
                    for k2 in range(k + 1, K):
                        O[t, k, k2] -= a * P[i, k2]
            for k in range(K):
                for k2 in range(k + 1, K):
                    O[t, k, k2] -= c * c * pp[k, k2]
                    O[t, k2, k] = O[t, k, k2]
    if X is not None:
        for t in range(n_ws):
            j = ws[t]
            c = xm[j]
            for i in range(n):
                e = X[i, j] - c
                f = w[i] * e * e
                for k in range(K):
                    a = f * P[i, k]
                    for k2 in range(k + 1, K):
                        O[t, k, k2] -= a * P[i, k2]
            for k in range(K):
                for k2 in range(k + 1, K):
                    O[t, k2, k] = O[t, k, k2]
