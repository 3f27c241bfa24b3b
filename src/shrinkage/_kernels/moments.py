"""Column statistics of a dense design, without n x p temporaries."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def column_variances(X, w, center):
    """out_j = sum_i w_i (x_ij - center_j)^2  (np.average((X - center)**2, 0, w) * sum(w))."""
    n, p = X.shape
    out = np.empty(p)
    for j in range(p):
        c = center[j]
        s = 0.0
        for i in range(n):
            d = X[i, j] - c
            s += w[i] * d * d
        out[j] = s
    return out
