"""Optimality certificates on plain arrays: KKT scans and duality-gap pieces.

Written as loops so that a check over p features allocates nothing (p-length NumPy
temporaries dominate the cost of a KKT check when p is large and the working set small).
``l1, l2`` include ``lam``; ``g_j = -d(loss)/d(b_j)``.
"""

import numpy as np
from numba import njit

from .flags import FASTMATH, INNER, KERNEL


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def violation(gj, bj, l1j, l2j, loj, hij):
    """Distance of ``g_j - l2_j b_j`` from ``l1_j d|b_j|`` plus the box's normal cone."""
    z = gj - l2j * bj
    if bj > 0.0:
        dev = z - l1j
    elif bj < 0.0:
        dev = z + l1j
    elif z > l1j:
        dev = z - l1j
    elif z < -l1j:
        dev = z + l1j
    else:
        dev = 0.0
    if bj >= hij and dev > 0.0:
        dev = 0.0
    if bj <= loj and dev < 0.0:
        dev = 0.0
    return abs(dev)


@njit(**KERNEL, fastmath=FASTMATH)
def kkt_scan(g, b, l1, l2, lo, hi, cand, in_ws, scale, out):
    """Largest violation (divided by ``scale_j``) over candidates, and violators outside ws.

    Writes the indices of candidate features outside ``in_ws`` with a positive violation
    into ``out`` and returns ``(max_scaled_violation, n_violators)``.
    """
    vmax = 0.0
    m = 0
    for j in range(g.shape[0]):
        if not cand[j]:
            continue
        v = violation(g[j], b[j], l1[j], l2[j], lo[j], hi[j])
        if v > 0.0:
            s = v / scale[j]
            if s > vmax:
                vmax = s
            if not in_ws[j]:
                out[m] = j
                m += 1
    return vmax, m


@njit(**KERNEL, fastmath=False)
def strong_rule(g, b, l1u, cut, always, cand, in_ws, ws):
    """The strong-rule working set of :func:`~shrinkage.engine.problem.strong_set` in one
    loop (no p-length temporaries, for the per-lam cost of small designs).

    Candidate ``j`` joins when ``|g_j| >= l1u_j * cut`` (``cut = 2 lam - lam_prev``),
    ``b_j != 0`` or ``always_j``. Writes the mask into ``in_ws`` and the indices into
    ``ws``; returns their number.
    """
    m = 0
    for j in range(g.shape[0]):
        keep = cand[j] and (abs(g[j]) >= l1u[j] * cut or b[j] != 0.0 or always[j])
        in_ws[j] = keep
        if keep:
            ws[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def mask_members(mask, out):
    """The indices of ``mask``'s true entries, in feature order, into ``out``; returns how
    many (a working set's indices from its mask, as :func:`strong_rule` writes them)."""
    m = np.int64(0)  # not the literal 0: inlined, it would compile callees twice
    for j in range(mask.shape[0]):
        if mask[j]:
            out[m] = j
            m += 1
    return m


@njit(**KERNEL, fastmath=FASTMATH)
def dual_terms(g, b, l1, l2, lo, hi, keep):
    """Pieces of the duality gap over the features with ``keep``.

    Returns ``(pen, t, conj)``: the penalty value ``sum l1|b| + l2/2 b^2``, the largest
    ``t`` in (0, 1] keeping ``t * g`` in the domain of the conjugate (pure-L1 coordinates
    with an infinite bound need ``|t g_j| <= l1_j``), and
    ``sum_j sup_{lo_j <= s <= hi_j} (t g_j s - l1_j |s| - l2_j / 2 s^2)``.
    """
    p = g.shape[0]
    pen = 0.0
    t = 1.0
    for j in range(p):
        if not keep[j]:
            continue
        bj = b[j]
        pen += l1[j] * abs(bj) + 0.5 * l2[j] * bj * bj
        if l2[j] == 0.0 and l1[j] > 0.0:
            gj = g[j]
            if gj > l1[j] and hi[j] == np.inf:
                t = min(t, l1[j] / gj)
            elif gj < -l1[j] and lo[j] == -np.inf:
                t = min(t, -l1[j] / gj)
    conj = 0.0
    for j in range(p):
        if not keep[j]:
            continue
        c = t * g[j]
        a1 = l1[j]
        a2 = l2[j]
        if a2 > 0.0:
            if c > a1:
                s = (c - a1) / a2
            elif c < -a1:
                s = (c + a1) / a2
            else:
                s = 0.0
            s = min(max(s, lo[j]), hi[j])
            conj += c * s - a1 * abs(s) - 0.5 * a2 * s * s
        else:
            best = -np.inf
            if lo[j] <= 0.0 <= hi[j]:
                best = 0.0
            if hi[j] < np.inf:
                best = max(best, c * hi[j] - a1 * abs(hi[j]))
            elif c - a1 > 1e-12 * (abs(c) + a1):
                return pen, t, np.inf
            if lo[j] > -np.inf:
                best = max(best, c * lo[j] - a1 * abs(lo[j]))
            elif c + a1 < -1e-12 * (abs(c) + a1):
                return pen, t, np.inf
            conj += best
    return pen, t, conj


@njit(**KERNEL, fastmath=False)
def centred_dots(X, xd, xi, xp, sparse, u, su, xm, idx, m, g):
    """g_j = sum_i (x_ij - xm_j) u_i = x_j . u - xm_j * su for j in idx[:m].

    ``su = sum_i u_i``. The one column-by-column pass behind every gradient of the
    engine: dense columns vectorised, sparse ones with scalar gathers (see ``flags``).
    """
    if xd is not None:
        _dots_sparse(xd, xi, xp, u, su, xm, idx, m, g)
    if X is not None:
        _dots_dense(X, u, su, xm, idx, m, g)


@njit(**INNER, fastmath=FASTMATH)
def _dots_dense(X, u, su, xm, idx, m, g):
    # centred element by element: x . u - xm * su would cancel catastrophically for a
    # column whose mean is large next to its spread (1e8 + 1e-4 z)
    for t in range(m):
        j = idx[t]
        c = xm[j]
        s = 0.0
        for i in range(X.shape[0]):
            s += (X[i, j] - c) * u[i]
        g[j] = s


@njit(**INNER, fastmath=FASTMATH)
def _dots_sparse(xd, xi, xp, u, su, xm, idx, m, g):
    for t in range(m):
        j = idx[t]
        s = 0.0
        for k in range(xp[j], xp[j + 1]):
            s += xd[k] * u[xi[k]]
        g[j] = s - xm[j] * su


@njit(**INNER, fastmath=FASTMATH)
def ws_gradient(X, xd, xi, xp, sparse, w, r, xm, idx, m, g):
    """g_j = sum_i w_i (x_ij - xm_j) r_i for j in idx[:m] (the working-set gradient)."""
    u = np.empty(r.shape[0])
    for i in range(r.shape[0]):
        u[i] = w[i] * r[i]
    centred_dots(X, xd, xi, xp, sparse, u, total(u), xm, idx, m, g)


@njit(**KERNEL, fastmath=False)
def centred_gradient(X, xd, xi, xp, sparse, u, xm, excluded, g):
    """g_j = sum_i (x_ij - xm_j) u_i for every column (0 where ``excluded``).

    One single-threaded, vectorised pass over X: a multithreaded BLAS product would
    compete with the threads that run cross-validation folds side by side.
    """
    idx = np.empty(g.shape[0], dtype=np.int64)
    m = np.int64(0)  # typed, not the literal 0: a literal compiles callees twice
    for j in range(g.shape[0]):
        if excluded[j]:
            g[j] = 0.0
        else:
            idx[m] = j
            m += 1
    centred_dots(X, xd, xi, xp, sparse, u, total(u), xm, idx, m, g)


@njit(**KERNEL, fastmath=FASTMATH)
def dot(a, b):
    """sum_i a_i b_i without BLAS thread start-up (cheap for the p-vectors of a KKT check)."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def total(a):
    """``sum_i a_i`` as a plain loop: ``a.sum()`` and array expressions such as ``w * r``
    compile numba's generic reduction and ufunc kernels on first use (seconds in all)."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s
