"""One pass comparing the solvers' running predictor with the one recomputed from ``X``."""

import numpy as np
from numba import njit

from .flags import FASTMATH, KERNEL


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


@njit(**KERNEL, fastmath=FASTMATH)
def exact_and_spread(X, xd, xi, xp, sparse, xm, b, b0, offset, running, w, exact):
    """Fill ``exact`` with ``offset + b0 + sum_j (x_j - xm_j) b_j`` (the predictor
    recomputed from ``X``, over the non-zero ``b_j``) and return :func:`predictor_spread`
    ``(exact, running, w)`` for these vectors: in one compiled call per strength, what
    :func:`shrinkage.engine.drift.settle_predictor` reads (on a 50 x 300 logistic path
    the separate calls cost more than the pass). ``offset`` may be None.
    """
    # centred_combination's arithmetic (the same sums in the same order as
    # exact_predictor's) and predictor_spread's loop, written out: a call to the first
    # with b's non-zero part, and the second's reshape to (n, K), compiled 0.4 s more
    # into the first fit of every vector family
    n = exact.shape[0]
    shift = 0.0
    for i in range(n):
        exact[i] = 0.0
    for j in range(b.shape[0]):
        c = b[j]
        if c == 0.0:
            continue
        if xd is not None:
            shift += xm[j] * c
            for k in range(xp[j], xp[j + 1]):
                exact[xi[k]] += xd[k] * c
        if X is not None:
            m = xm[j]
            for i in range(n):
                exact[i] += (X[i, j] - m) * c
    total = 0.0
    top = -np.inf
    for i in range(n):
        e = exact[i] - shift
        e += b0
        if offset is not None:
            e += offset[i]
        exact[i] = e
        r = running[i]
        d = e - r
        if d != 0.0:
            total += w[i] * d * d
        elif d != d:
            total = np.nan
        top = max(top, e, r)
    return np.sqrt(total), top
