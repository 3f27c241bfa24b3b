"""A Cholesky factor of the active-piece Newton matrix, carried from one step to the next.

:func:`~.concave_gram.piece_newton` solves ``H d = r`` with ``H = G_AA + diag(e_A)``
(``G`` the cached Gram, ``e_j = s_j^2 (rho''_j + lam2_j)`` fixed by feature ``j``'s piece
of ``rho``). Along a tall path consecutive steps see nearly the same ``H``: a few features
enter, leave or change piece. The factor ``L L^T`` of ``H`` on the features ``fac[:nf]``
(in that order, with the diagonal terms ``fd`` they were factored with) is therefore kept
and brought to the next ``(A, e)`` in ``O(nf^2)`` per change instead of ``O(|A|^3)``:

- a feature that left ``A`` or changed ``e`` is deleted: the rows below it take the
  rank-one update ``L_33 L_33^T + l l^T`` (``l`` its column below the diagonal, Givens
  rotations; an update, so it never fails);
- the features of ``A`` not in the factor are appended by bordering, each a triangular
  solve against the factor.

A pivot that is not clearly positive (``H`` indefinite or nearly singular: a nonconvex
piece) stops the appending; the caller then solves with LU as before. The state is the
tuple made by :func:`new_factor`.
"""

import numpy as np
from numba import njit

from .flags import FASTMATH


@njit(cache=True, nogil=True, inline="always")
def new_factor(p):
    """An empty factor for ``p`` features: ``(L, fac, fd, n)``, ``n[0]`` its size."""
    return (np.empty((p, p)), np.empty(p, dtype=np.int64), np.empty(p),
            np.zeros(1, dtype=np.int64))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def factor_drop(L, fac, fd, nf, i, x):
    """Delete position ``i`` of the factor of size ``nf``; returns the new size.

    The rows below ``i`` take the rank-one update ``L_33 L_33^T + l l^T`` (``l`` the
    deleted column below the diagonal) by Givens rotations, so the deletion never fails
    and costs ``O((nf - i)^2)``. ``x`` is scratch of length >= ``nf``.
    """
    for r in range(i + 1, nf):
        x[r] = L[r, i]
    for k in range(i + 1, nf):
        lkk = L[k, k]
        rk = np.sqrt(lkk * lkk + x[k] * x[k])
        c, s = rk / lkk, x[k] / lkk
        L[k, k] = rk
        for r in range(k + 1, nf):
            L[r, k] = (L[r, k] + s * x[r]) / c
            x[r] = c * x[r] - s * L[r, k]
    for r in range(i + 1, nf):  # close the gap: row r -> r - 1, column c > i -> c - 1
        for q in range(r + 1):
            if q != i:
                L[r - 1, q - (q > i)] = L[r, q]
        fac[r - 1] = fac[r]
        fd[r - 1] = fd[r]
    return nf - 1


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def factor_border(L, nf, hcol, hjj, floor):
    """Append a row by bordering: ``L[nf, :nf] = L^-1 hcol``, ``L[nf, nf] = sqrt(hjj -
    |L[nf, :nf]|^2)``; ``hcol`` (>= ``nf``; it may be the row ``L[nf]`` itself) holds the
    new column's entries against the factored features, ``hjj`` its diagonal. Returns
    False (the row is garbage) when the pivot is not above ``floor`` (the matrix is
    singular or nearly so)."""
    for i in range(nf):
        t = hcol[i]
        for q in range(i):
            t -= L[nf, q] * L[i, q]
        L[nf, i] = t / L[i, i]
    d = hjj
    for q in range(nf):
        d -= L[nf, q] * L[nf, q]
    if not d > floor:
        return False
    L[nf, nf] = np.sqrt(d)
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def factor_sync(G, col, A, na, e, L, fac, fd, n):
    """Bring the factor to ``H = G_AA + diag(e[A])`` (``e`` indexed by feature); returns
    True when every feature of ``A[:na]`` is in it (``H`` positive definite)."""
    p = G.shape[0]
    want = np.full(p, np.nan)  # NaN: not in A; inf: in A and kept in the factor
    dmax = 0.0
    for a in range(na):
        j = A[a]
        want[j] = e[j]
        dmax = max(dmax, G[j, col[j]] + e[j])
    nf = n[0]
    x = np.empty(p)
    for i in range(nf - 1, -1, -1):  # deletions from the end: the updates stay short
        if want[fac[i]] == fd[i]:
            want[fac[i]] = np.inf  # kept: not appended again
            continue
        nf = factor_drop(L, fac, fd, nf, i, x)
    for a in range(na):
        j = A[a]
        if want[j] == np.inf:
            continue
        cj = col[j]
        for i in range(nf):
            x[i] = G[fac[i], cj]
        if not factor_border(L, nf, x, G[j, cj] + e[j], 1e-12 * dmax):
            n[0] = nf
            return False
        fac[nf] = j
        fd[nf] = e[j]
        nf += 1
    n[0] = nf
    return True
