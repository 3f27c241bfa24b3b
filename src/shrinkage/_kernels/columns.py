"""Column operations on a design matrix that is either dense or CSC sparse.

Every kernel receives the design as ``(X, xd, xi, xp, sparse)``: a Fortran-ordered dense
array ``X`` (a 1 x 1 placeholder when sparse) and the CSC arrays ``data, indices, indptr``
(length-1 placeholders when dense). The ``sparse`` branch is taken once per column
operation, outside the loop over rows, so one compiled kernel serves both layouts.

Centring is never applied here: callers subtract ``xm_j`` through scalar bookkeeping so
that sparse columns stay sparse.
"""

from numba import njit

from ._flags import FASTMATH


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def col_dot(X, xd, xi, xp, sparse, j, v):
    """sum_i x_ij * v_i"""
    s = 0.0
    if sparse:
        for k in range(xp[j], xp[j + 1]):
            s += xd[k] * v[xi[k]]
    else:
        for i in range(X.shape[0]):
            s += X[i, j] * v[i]
    return s


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def col_dot2(X, xd, xi, xp, sparse, j, w, v):
    """sum_i x_ij * w_i * v_i"""
    s = 0.0
    if sparse:
        for k in range(xp[j], xp[j + 1]):
            i = xi[k]
            s += xd[k] * w[i] * v[i]
    else:
        for i in range(X.shape[0]):
            s += X[i, j] * w[i] * v[i]
    return s


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def col_axpy(X, xd, xi, xp, sparse, j, a, v):
    """v_i += a * x_ij"""
    if sparse:
        for k in range(xp[j], xp[j + 1]):
            v[xi[k]] += a * xd[k]
    else:
        for i in range(X.shape[0]):
            v[i] += a * X[i, j]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def col_moments(X, xd, xi, xp, sparse, j, w):
    """(sum_i w_i x_ij, sum_i w_i x_ij^2)"""
    s1 = 0.0
    s2 = 0.0
    if sparse:
        for k in range(xp[j], xp[j + 1]):
            t = w[xi[k]] * xd[k]
            s1 += t
            s2 += t * xd[k]
    else:
        for i in range(X.shape[0]):
            t = w[i] * X[i, j]
            s1 += t
            s2 += t * X[i, j]
    return s1, s2
