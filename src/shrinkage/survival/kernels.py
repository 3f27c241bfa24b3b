"""Compiled concordance sums: one pass over time-sorted samples with a Fenwick tree.

Samples are visited from the latest time to the earliest, stratum by stratum. Before the
events at a time ``t`` are scored, the tree holds (by the rank of their risk score) the
weights of every sample comparable with them: samples with a later time, and samples
censored at ``t`` itself (scikit-survival's convention). Each event costs two prefix
sums, so a column of ``n`` scores costs ``O(n log n)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["concordance_sums"]


@njit(cache=True, nogil=True, fastmath=False)
def fenwick_add(tree, pos, value):
    """Add ``value`` at 0-based position ``pos`` of the Fenwick tree ``tree``."""
    i = pos + 1
    m = tree.shape[0]
    while i < m:
        tree[i] += value
        i += i & (-i)


@njit(cache=True, nogil=True, fastmath=False)
def fenwick_clear(tree, pos):
    """Zero every node that an add at ``pos`` touched (exact reset, no rounding residue)."""
    i = pos + 1
    m = tree.shape[0]
    while i < m:
        tree[i] = 0.0
        i += i & (-i)


@njit(cache=True, nogil=True, fastmath=False)
def fenwick_prefix(tree, count):
    """Sum of the first ``count`` positions of the Fenwick tree ``tree``."""
    s = 0.0
    i = count
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@njit(cache=True, nogil=True, fastmath=False)
def concordance_column(order, time, event, bounds, risk, wi, vj, tol, tree, pos):
    """Numerator and denominator of the concordance of one column of risk scores.

    ``numerator = sum_i wi_i sum_j vj_j ([r_j < r_i - tol] + [|r_j - r_i| <= tol] / 2)``
    and ``denominator = sum_i wi_i sum_j vj_j`` over comparable pairs ``(i, j)`` within
    a stratum: ``i`` an event, ``j`` later, or censored at the same time.
    """
    n = order.shape[0]
    vals = np.sort(risk)
    for k in range(n):
        pos[k] = np.searchsorted(vals, risk[k])
    num = 0.0
    den = 0.0
    for s in range(bounds.shape[0] - 1):
        a = bounds[s]
        k = bounds[s + 1] - 1
        total = 0.0
        while k >= a:
            t = time[order[k]]
            g = k
            while g > a and time[order[g - 1]] == t:
                g -= 1
            for m in range(g, k + 1):
                idx = order[m]
                if not event[idx] and vj[idx] != 0.0:
                    fenwick_add(tree, pos[idx], vj[idx])
                    total += vj[idx]
            for m in range(g, k + 1):
                idx = order[m]
                if event[idx] and wi[idx] != 0.0 and total > 0.0:
                    r = risk[idx]
                    lo = np.searchsorted(vals, r - tol)
                    hi = np.searchsorted(vals, r + tol, side="right")
                    conc = fenwick_prefix(tree, lo)
                    tied = fenwick_prefix(tree, hi) - conc
                    num += wi[idx] * (conc + 0.5 * tied)
                    den += wi[idx] * total
            for m in range(g, k + 1):
                idx = order[m]
                if event[idx] and vj[idx] != 0.0:
                    fenwick_add(tree, pos[idx], vj[idx])
                    total += vj[idx]
            k = g - 1
        for m in range(a, bounds[s + 1]):
            fenwick_clear(tree, pos[order[m]])
    return num, den


@njit(cache=True, nogil=True, fastmath=False)
def concordance_sums(order, time, event, bounds, risk, wi, vj, tol):
    """Concordance numerators and denominators of every column of ``risk`` (n, L).

    ``order`` sorts the samples by stratum, then time; ``bounds`` (S + 1) delimits the
    strata in that order. Returns two arrays of length ``L``.
    """
    n, n_cols = risk.shape
    num = np.zeros(n_cols)
    den = np.zeros(n_cols)
    tree = np.zeros(n + 1)
    pos = np.empty(n, dtype=np.int64)
    col = np.empty(n)
    for c in range(n_cols):
        for k in range(n):
            col[k] = risk[k, c]
        num[c], den[c] = concordance_column(order, time, event, bounds, col, wi, vj, tol,
                                            tree, pos)
    return num, den
