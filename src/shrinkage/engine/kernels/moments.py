"""Column statistics of a dense design, without n x p temporaries."""

import numpy as np
from numba import njit

from .flags import FASTMATH, KERNEL


@njit(**KERNEL, fastmath={"reassoc", "contract"})
def column_variances(X, w, center):
    """out_j = sum_i w_i (x_ij - center_j)^2  (np.average((X - center)**2, 0, w) * sum(w)).

    Reassociation lets the sum vectorise (a memory-bound pass instead of a latency-bound
    one); it changes the rounding of a sum of non-negative terms only.
    """
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


@njit(**KERNEL, fastmath=False)
def column_range(X, w, lo, hi):
    """Smallest and largest value of every column over the rows with ``w_i > 0``.

    (``lo_j = hi_j`` exactly is the definition of a constant column; no rounding enters.)
    """
    n, p = X.shape
    for j in range(p):
        a = np.inf
        b = -np.inf
        for i in range(n):
            if w[i] > 0.0:
                v = X[i, j]
                if v < a:
                    a = v
                if v > b:
                    b = v
        lo[j] = a
        hi[j] = b


@njit(**KERNEL, fastmath=False)
def sparse_column_range(data, indptr, indices, w, lo, hi):
    """:func:`column_range` of a CSC matrix: stored entries, and 0 when a row with
    positive weight has no stored entry in the column."""
    n_live = 0
    for i in range(w.shape[0]):
        if w[i] > 0.0:
            n_live += 1
    for j in range(indptr.shape[0] - 1):
        a = np.inf
        b = -np.inf
        stored = 0
        for k in range(indptr[j], indptr[j + 1]):
            if w[indices[k]] > 0.0:
                stored += 1
                v = data[k]
                if v < a:
                    a = v
                if v > b:
                    b = v
        if stored < n_live:
            a = min(a, 0.0)
            b = max(b, 0.0)
        lo[j] = a
        hi[j] = b


@njit(**KERNEL, fastmath=False)
def take_rows_fortran(X, rows, out):
    """out[t, j] = X[rows[t], j] for Fortran-ordered X and out, one column at a time.

    (NumPy's ``X[rows]`` on a Fortran array walks it row by row into a C-ordered result,
    holding the GIL; column by column reads each column's cache lines once.)
    """
    for j in range(X.shape[1]):
        for t in range(rows.shape[0]):
            out[t, j] = X[rows[t], j]


@njit(**KERNEL, fastmath={"reassoc", "contract"})
def shifted_sums_by_column(X, y, m, ybar, s1, s2, sxy):
    """Sums about the shifts ``m`` (per column) and ``ybar``, for a Fortran-ordered X::

        s1_j = sum_i (x_ij - m_j)    s2_j = sum_i (x_ij - m_j)^2
        sxy_j = sum_i (x_ij - m_j) (y_i - ybar)
    """
    n, p = X.shape
    for j in range(p):
        c = m[j]
        a = 0.0
        b = 0.0
        e = 0.0
        for i in range(n):
            d = X[i, j] - c
            a += d
            b += d * d
            e += d * (y[i] - ybar)
        s1[j] = a
        s2[j] = b
        sxy[j] = e


@njit(**KERNEL, fastmath=False)
def sparse_column_moments(data, indptr, indices, w, center, out):
    """out_j = sum_i w_i (x_ij - center_j)^2 for a CSC matrix (zeros included)."""
    p = indptr.shape[0] - 1
    wsum = 0.0
    for i in range(w.shape[0]):
        wsum += w[i]
    for j in range(p):
        c = center[j]
        s = 0.0
        wz = wsum  # weight of the rows where x_ij = 0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            d = data[k] - c
            s += w[i] * d * d
            wz -= w[i]
        if indptr[j + 1] - indptr[j] == w.shape[0] or wz < 1e-12 * wsum:
            wz = 0.0  # no zero rows (rounding would leave ~1e-16 of weight)
        out[j] = s + wz * c * c


@njit(**KERNEL, fastmath=FASTMATH)
def centred_combination(X, xd, xi, xp, sparse, xm, idx, coef, out):
    """out = sum_{t} (X[:, idx_t] - xm[idx_t]) * coef_t, without copying columns."""
    n = out.shape[0]
    shift = 0.0
    for i in range(n):
        out[i] = 0.0
    for t in range(idx.shape[0]):
        j = idx[t]
        c = coef[t]
        if xd is not None:
            shift += xm[j] * c
            for k in range(xp[j], xp[j + 1]):
                out[xi[k]] += xd[k] * c
        if X is not None:  # centred element by element (no cancellation, large means)
            m = xm[j]
            for i in range(n):
                out[i] += (X[i, j] - m) * c
    for i in range(n):
        out[i] -= shift


@njit(**KERNEL, fastmath=False)
def active_normal_equations(X, xd, xi, xp, sparse, v, xm, r, idx, intercept, H, rhs):
    """H = Z^T V Z and rhs = Z^T V r for Z = [1 (if intercept), X[:, idx] - xm[idx]].

    Column pairs are accumulated directly from X, so no n x |idx| copy is made.
    """
    n = r.shape[0]
    m = idx.shape[0]
    off = 1 if intercept else 0
    col = np.empty(n)
    for a in range(m + off):
        # materialise one centred column at a time (O(n) scratch)
        if intercept and a == 0:
            for i in range(n):
                col[i] = 1.0
        else:
            j = idx[a - off]
            c = xm[j]
            for i in range(n):
                col[i] = -c
            if xd is not None:
                for k in range(xp[j], xp[j + 1]):
                    col[xi[k]] += xd[k]
            if X is not None:
                for i in range(n):
                    col[i] += X[i, j]
        s = 0.0
        for i in range(n):
            s += v[i] * col[i] * r[i]
        rhs[a] = s
        # sum_i v_i col_i, the same for every partner column (the intercept's entry, and
        # the centring term of a sparse one): once per column, not per pair
        t = 0.0
        if xd is not None or intercept:
            for i in range(n):
                t += v[i] * col[i]
        for b2 in range(a + 1):
            s = 0.0
            if intercept and b2 == 0:
                s = t
            else:
                j = idx[b2 - off]
                c = xm[j]
                if xd is not None:
                    # sum_i v_i col_i (x_ij - c) = sum_nnz v x col - c sum_i v col
                    s = -c * t
                    for k in range(xp[j], xp[j + 1]):
                        i = xi[k]
                        s += v[i] * col[i] * xd[k]
                if X is not None:
                    for i in range(n):
                        s += v[i] * col[i] * (X[i, j] - c)
            H[a, b2] = s
            H[b2, a] = s
