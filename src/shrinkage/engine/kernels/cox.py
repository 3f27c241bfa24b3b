"""Risk-set sums of the columns of a block of the design, for the Cox model's exact Hessian.

With ``mu_j = w_j exp(eta_j - m)`` and the slots of :mod:`shrinkage.model.cox_math`,
:func:`risk_set_moments` gives, for every slot ``k`` and column ``c`` of the block ``Z``::

    MR[k, c] = sum_{j at risk at t_k} mu_j Z[j, c]      MD[k, c] = sum_{j dies at t_k} mu_j Z[j, c]

in one pass over the rows (bins at each row's last and first risk slot, then reverse
cumulative sums within each stratum), so that the Hessian of the partial likelihood in
the block's coefficients costs ``O(n a + T a^2)`` for ``a`` columns and ``T`` slots.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def risk_set_moments(Z, w, eta, m, lo, hi, evk, sentinel, MR, MD, tmp):
    """Fill ``MR`` and ``MD`` (shape (T, a)); ``tmp`` is scratch of the same shape."""
    n, a = Z.shape
    T = sentinel.shape[0]
    MR[:] = 0.0
    MD[:] = 0.0
    tmp[:] = 0.0
    for j in range(n):
        if w[j] <= 0.0 or hi[j] <= lo[j]:
            continue
        mu = w[j] * np.exp(eta[j] - m)
        kh = hi[j] - 1
        kl = lo[j] - 1
        enter = kl >= 0 and not sentinel[kl]
        k = evk[j]
        for c in range(a):
            z = mu * Z[j, c]
            MR[kh, c] += z
            if enter:
                tmp[kl, c] += z
            if k >= 0:
                MD[k, c] += z
    acc = np.zeros(a)
    acc_lo = np.zeros(a)
    for k in range(T - 1, -1, -1):
        if sentinel[k]:
            acc[:] = 0.0
            acc_lo[:] = 0.0
            continue
        for c in range(a):
            acc[c] += MR[k, c]
            acc_lo[c] += tmp[k, c]
            MR[k, c] = acc[c] - acc_lo[c]
