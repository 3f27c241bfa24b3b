"""The Cholesky factor of the active Gram, kept along a residual-updating gaussian path.

The naive driver's exact step on the active set (:mod:`.active_set`) solves

    (Xc_A^T W Xc_A + diag(l2_A)) d = Xc_A^T W r - l2_A b_A - l1_A sign(b_A)

(``Xc`` the centred design). Formed and factored afresh, that costs ``n |A|^2 + |A|^3 / 3``
and is rarely affordable where it is most needed: near saturation, with as many
correlated features active as there are rows, where coordinate descent crawls.
Along a lasso path the active set changes by a few features per ``lam``, so the factor
``L L^T`` of that matrix on the features ``fac[:nf]`` is kept from one step to the next
(:mod:`.concave_factor`'s deletion by Givens rotations and appending by bordering):
appending a feature costs one Gram column (a pass over the factored columns) and one
forward substitution, ``O(|A|^2)``; the solve is two substitutions, ``O(|A|^2)``. An
elastic net's ``l2_A`` moves with ``lam``, so there the factor is rebuilt each step and
the cost model (:func:`sync_cost`) decides as for a fresh factorisation.

The naive driver takes the step on dense designs only: on sparse ones (text) it did not
pay, because there the active columns are rank-deficient (on the quick power-law text
case 15 to 26 of 350 to 865 active features are exact linear combinations of the
others), so the lasso solution is not unique and coordinate descent crawls along the
null directions, which a step over a full-rank subset cannot remove.

A feature whose pivot is not clearly positive (collinear with the factored ones:
duplicates, ``|A|`` reaching the rank of ``Xc``) is left out of the factor; the step then
minimises over the factored features with the others held, which coordinate descent
completes. A step that does not lower the objective (rounding on an ill-conditioned
factor) is undone, so the step never harms: the certificate is computed by the caller
from the residual as always.
"""

import numpy as np
from numba import njit

from .active_set import apply_step, cholesky_substitute, kink_fraction
from .certify import centred_dots, dot, total, ws_gradient
from .concave_factor import factor_border, factor_drop
from .flags import FASTMATH, INNER
from .moments import centred_combination

#: Largest number of features the kept factor holds (its ``8 * FACTOR_MAX^2`` bytes
#: bound the memory); beyond it the driver sweeps.
FACTOR_MAX = 4096
#: A pivot below ``PIVOT_FLOOR * max_j H_jj`` leaves its feature out of the factor.
PIVOT_FLOOR = 1e-10
#: Exact steps per call of :func:`factor_polish`: a step cut at a kink drops the features
#: that reached it and is taken again on the rest, up to this many times.
FACTOR_PIVOTS = 16


def new_factor(p, cap):
    """An empty factor for ``p`` features with room for ``cap``: ``(L, fac, fd, pos,
    refused)``, ``L`` (cap, cap) lower triangular on ``fac[:nf]`` (the size is the
    caller's), ``fd`` the ``l2`` each feature was factored with, ``pos[j]`` feature ``j``'s
    position in ``fac`` (-1: not factored; -3: refused, its pivot too small, and not
    retried while it stays active), ``refused[0]`` the count of refused features listed
    after it. ``L`` is allocated whole but written by rows as the factor grows, so memory
    is touched only as far as it is used.
    """
    return (np.empty((cap, cap)), np.empty(cap, dtype=np.int64), np.empty(cap),
            np.full(p, -1, dtype=np.int64), np.zeros(p + 1, dtype=np.int64))


@njit(cache=True, nogil=True, inline="always")
def factor_kept(A, na, l2, pos, fd):
    """How many features of ``A[:na]`` need no work: held by the factor with their
    current ``l2``, or refused."""
    kept = 0
    for a in range(na):
        j = A[a]
        if (pos[j] >= 0 and fd[pos[j]] == l2[j]) or pos[j] == -3:
            kept += 1
    return kept


@njit(cache=True, nogil=True, inline="always")
def sync_cost(n, na, nf, kept, col_cost):
    """Flops to bring a factor of ``nf`` features (``kept`` of them staying) to ``A``
    (``na`` features) and take the step: ``(na - kept) (col_cost + na^2 / 2)`` to
    append, ``(nf - kept) nf^2`` to delete, ``3 na^2 + col_cost + n`` to solve and move;
    ``col_cost`` is one pass over the active columns."""
    add = na - kept
    drop = nf - kept
    return (add * (col_cost + n + 0.5 * na * na) + drop * float(nf) * nf
            + 3.0 * na * na + col_cost + n)


@njit(cache=True, nogil=True, inline="always")
def factor_update(X, xd, xi, xp, sparse, w, xm, h, A, na, l2, L, fac, fd, pos, refused,
                  nf, gcol, u):
    """Bring the factor (size ``nf``; see :func:`new_factor`) to the features of ``A[:na]``.

    Deletes the factored features not in ``A`` (or factored with another ``l2``),
    appends those of ``A`` not factored while there is room, leaving out any whose pivot
    is below ``PIVOT_FLOOR * max_A (h + l2)``. Returns the new size. ``gcol`` (p) and
    ``u`` (n) are scratch.
    """
    dmax = 0.0
    for a in range(na):
        j = A[a]
        if pos[j] == -3:
            pos[j] = -4  # refused and still active (restored below)
        elif pos[j] >= 0 and fd[pos[j]] == l2[j]:
            pos[j] = -5 - pos[j]  # marked kept (restored below)
        dmax = max(dmax, h[j] + l2[j])
    nr = 0
    for t in range(refused[0]):  # a refused feature that left A may be tried again
        j = refused[1 + t]
        if pos[j] == -4:
            pos[j] = -3
            refused[1 + nr] = j
            nr += 1
        else:
            pos[j] = -1
    refused[0] = nr
    for i in range(nf - 1, -1, -1):  # deletions from the end: the updates stay short
        j = fac[i]
        if pos[j] <= -5:
            continue
        pos[j] = -1
        nf = factor_drop(L, fac, fd, nf, i, u)
    for i in range(nf):
        pos[fac[i]] = i
    for a in range(na):
        j = A[a]
        if pos[j] != -1 or nf >= fac.shape[0]:  # in, refused, or no room
            continue
        # the Gram column of j against the factored features: one centred pass
        c = xm[j]
        if xd is not None:  # (a None-typed X or xd prunes the other branch)
            for i in range(u.shape[0]):
                u[i] = -c * w[i]
            for k in range(xp[j], xp[j + 1]):
                u[xi[k]] += w[xi[k]] * xd[k]
        if X is not None:
            for i in range(u.shape[0]):
                u[i] = w[i] * (X[i, j] - c)
        fac[nf] = j
        centred_dots(X, xd, xi, xp, sparse, u, total(u), xm, fac, nf + 1, gcol)
        row = L[nf]  # bordering reads each entry of the column before writing it
        for i in range(nf):
            row[i] = gcol[fac[i]]
        if factor_border(L, nf, row, gcol[j] + l2[j], PIVOT_FLOOR * dmax):
            pos[j] = nf
            fd[nf] = l2[j]
            nf += 1
        else:
            pos[j] = -3
            refused[0] += 1
            refused[refused[0]] = j
    return nf


# only the naive driver calls it (the tests through a compiled caller): without a Python
# wrapper, a first dense fit compiles about 0.1 s less
@njit(**INNER, fastmath=FASTMATH)
def factor_polish(X, xd, xi, xp, sparse, w, xm, h, r, st, b, A, na, l1, l2, lo, hi, L, fac,
                  fd, pos, refused, nf, gcol, step):
    """Exact step on the active set ``A[:na]`` with signs fixed, from the kept factor.

    Updates the factor (:func:`factor_update`), solves for the step ``d`` on the factored
    features, cuts it at the first sign change or bound (:func:`.active_set.kink_fraction`)
    and applies it to ``b`` and the residual ``r`` when
    ``1/2 sum w r^2 + sum (l1 |b| + l2 / 2 b^2)`` decreases. A cut step is a pivot of the
    homotopy: the features that reached their kink leave ``A`` (and the factor) and the
    step is taken again on the rest, up to :data:`FACTOR_PIVOTS` times. One step per call
    had left the active set to coordinate descent after every kink: on near-duplicate
    column pairs (correlation 0.9999, 300 x 2,000), where the exact solution keeps one
    column of most pairs, the default path took 4,321 sweeps (939 at one strength), now
    385 (11), 0.17 -> 0.046 s. Returns the factor's new size. ``gcol`` (p) and ``step``
    (n) are scratch.
    """
    n = r.shape[0]
    for _ in range(FACTOR_PIVOTS):
        nf = factor_update(X, xd, xi, xp, sparse, w, xm, h, A, na, l2, L, fac, fd, pos,
                           refused, nf, gcol, step)
        if nf == 0:
            return nf
        ws_gradient(X, xd, xi, xp, sparse, w, r, xm, fac, nf, gcol)
        d = np.empty(nf)
        for i in range(nf):
            j = fac[i]
            sj = 1.0 if b[j] > 0.0 else -1.0
            d[i] = gcol[j] - l2[j] * b[j] - l1[j] * sj
        cholesky_substitute(L, nf, d)
        t = kink_fraction(d, b, fac, nf, lo, hi)
        if t <= 0.0:
            return nf
        before = np.empty(nf)
        pen = 0.0
        for i in range(nf):
            j = fac[i]
            before[i] = b[j]
            pen -= l1[j] * abs(b[j]) + 0.5 * l2[j] * b[j] * b[j]
        apply_step(b, fac, nf, d, t, lo, hi)
        for i in range(nf):
            j = fac[i]
            pen += l1[j] * abs(b[j]) + 0.5 * l2[j] * b[j] * b[j]
        centred_combination(X, xd, xi, xp, sparse, xm, fac[:nf], d, step)
        # objective change: 1/2 |r - step|_W^2 - 1/2 |r|_W^2 + penalty change
        change = pen
        for i in range(n):
            change += w[i] * step[i] * (0.5 * step[i] - r[i])
        if not change < 0.0:  # rounding on an ill-conditioned factor: undo
            for i in range(nf):
                b[fac[i]] = before[i]
            return nf
        for i in range(n):
            r[i] -= step[i]
        st[1] = dot(w, r)
        if t >= 1.0:
            return nf
        # cut at a kink: the features that reached zero or a bound leave the active set
        # and the step is taken again on the rest (a homotopy pivot)
        m = np.int64(0)
        for a in range(na):
            j = A[a]
            if b[j] != 0.0 and lo[j] < b[j] < hi[j]:
                A[m] = j
                m += 1
        na = m
        if na == 0:
            return nf
    return nf
