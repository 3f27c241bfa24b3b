"""Anderson extrapolation weights for coordinate-descent iterates (Bertrand & Massias 2021)."""

import numpy as np
from numba import njit

from .active_set import cholesky_solve
from .flags import INNER


@njit(**INNER)
def anderson_weights(hist, dim, K):
    """Weights ``c`` with ``sum(c) = 1`` minimising ``||U c||``, U the iterate differences.

    ``hist[:dim, 0..K]`` holds K+1 successive iterates as columns; ``U[:, a] =
    hist[:, a+1] - hist[:, a]``. Solves ``(U^T U + eps I) z = 1`` by Cholesky and returns
    ``z / sum(z)`` (extrapolated point: ``sum_a c_a hist[:, a+1]``), or an empty array when
    the system is degenerate.
    """
    C = np.empty((K, K))
    tr = 0.0
    for a in range(K):
        for c in range(a, K):
            s = 0.0
            for t in range(dim):
                s += (hist[t, a + 1] - hist[t, a]) * (hist[t, c + 1] - hist[t, c])
            C[a, c] = s
            C[c, a] = s
        tr += C[a, a]
    if tr <= 0.0:
        return np.empty(0)
    for a in range(K):
        C[a, a] += 1e-10 * tr
    # C is symmetric positive definite: our Cholesky rather than np.linalg.solve, whose
    # shape checks compile numba's string-formatting error path (seconds on first use)
    z = np.empty(K)
    for a in range(K):
        z[a] = 1.0
    if not cholesky_solve(C, z, C.shape[0]):  # (K may be a literal: one specialisation)
        return np.empty(0)
    # scalar loops rather than z.sum() and z / zs: array expressions compile their own
    # ufunc kernels, a second of first-call compilation for five numbers
    zs = 0.0
    for a in range(K):
        zs += z[a]
    if not np.isfinite(zs) or zs == 0.0:
        return np.empty(0)
    for a in range(K):
        z[a] /= zs
    return z
