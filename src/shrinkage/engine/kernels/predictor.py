"""One pass comparing the solvers' running predictor with the one recomputed from ``X``."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def predictor_spread(exact, running, w):
    """``(sqrt(sum_i w_i (exact_i - running_i)^2), max_i max(exact_i, running_i))``;
    for predictors of shape (n, K) (the multinomial's) the square is summed over a row.

    The first is 0 when the two agree on every row of positive weight and NaN when
    either holds a NaN; with a bound ``L`` of the mean's slope below the second, ``L``
    times the first bounds ``sqrt(sum_i w_i (mu_i(exact) - mu_i(running))^2)`` without
    evaluating a mean (:mod:`shrinkage.engine.drift`).
    """
    n = w.shape[0]
    E = exact.reshape((n, -1))
    R = running.reshape((n, -1))
    total = 0.0
    top = -np.inf
    for i in range(n):
        for k in range(E.shape[1]):
            e = E[i, k]
            r = R[i, k]
            d = e - r
            if d != 0.0:
                total += w[i] * d * d
            elif d != d:  # NaN (equal infinities give NaN too)
                total = np.nan
            top = max(top, e, r)
    return np.sqrt(total), top
