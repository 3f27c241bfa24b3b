"""One pass comparing the solvers' running predictor with the one recomputed from ``X``."""

import numpy as np
from numba import njit

from .flags import FASTMATH, KERNEL
from .moments import centred_combination


@njit(cache=True, nogil=True, fastmath=False)
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
            total, top = _spread_term(E[i, k], R[i, k], w[i], total, top)
    return np.sqrt(total), top


@njit(cache=True, nogil=True, inline="always")
def _spread_term(e, r, wi, total, top):
    """One entry's share of :func:`predictor_spread`: ``(total, top)`` updated."""
    d = e - r
    if d != 0.0:
        total += wi * d * d
    elif d != d:  # NaN (equal infinities give NaN too)
        total = np.nan
    return total, max(top, e, r)


@njit(**KERNEL, fastmath=FASTMATH)
def exact_and_spread(X, xd, xi, xp, sparse, xm, b, b0, offset, running, w, exact):
    """Fill ``exact`` with ``offset + b0 + sum_j (x_j - xm_j) b_j`` (the predictor
    recomputed from ``X``, over the non-zero ``b_j``) and return :func:`predictor_spread`
    ``(exact, running, w)`` for these vectors: in one compiled call per strength, what
    :func:`shrinkage.engine.drift.settle_predictor` reads (on a 50 x 300 logistic path
    the separate calls cost more than the pass). ``offset`` may be None.
    """
    # the non-zero b_j gathered by loops and predictor_spread's loop over vectors: its
    # reshape to (n, K), numba's flatnonzero and fancy indexing compiled 0.4 s more into
    # the first fit of every vector family
    n = exact.shape[0]
    m = 0
    for j in range(b.shape[0]):
        m += b[j] != 0.0
    idx = np.empty(m, dtype=np.int64)
    coef = np.empty(m)
    m = 0
    for j in range(b.shape[0]):
        if b[j] != 0.0:
            idx[m] = j
            coef[m] = b[j]
            m += 1
    centred_combination(X, xd, xi, xp, sparse, xm, idx, coef, exact)
    total = 0.0
    top = -np.inf
    for i in range(n):
        e = exact[i] + b0
        if offset is not None:
            e += offset[i]
        exact[i] = e
        total, top = _spread_term(e, running[i], w[i], total, top)
    return np.sqrt(total), top
