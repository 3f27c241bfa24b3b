"""Anderson extrapolation of coordinate-descent iterates (Bertrand & Massias 2021): the
weights, and the step on the weighted least-squares model of :mod:`.cd`."""

import numpy as np
from numba import njit

from .active_set import cholesky_solve
from .flags import FASTMATH, INNER


@njit(**INNER, fastmath=FASTMATH)
def anderson_weights(hist, dim, K):
    """Weights ``c`` with ``sum(c) = 1`` minimising ``||U c||``, U the iterate differences.

    ``hist[:dim, 0..K]`` holds K+1 successive iterates as columns; ``U[:, a] =
    hist[:, a+1] - hist[:, a]``. Solves ``(U^T U + eps I) z = 1`` by Cholesky and returns
    ``z / sum(z)`` (extrapolated point: ``sum_a c_a hist[:, a+1]``), or an empty array when
    the system is degenerate.
    """
    # the differences once, into rows of their own: the products then run over contiguous
    # memory (over hist's strided columns, each difference formed K times, the products
    # took 6 % of the quick text gaussian path; 6x slower at 800 rows)
    U = np.empty((K, dim))
    for t in range(dim):
        for a in range(K):
            U[a, t] = hist[t, a + 1] - hist[t, a]
    C = np.empty((K, K))
    tr = 0.0
    for a in range(K):
        for c in range(a, K):
            s = 0.0
            for t in range(dim):
                s += U[a, t] * U[c, t]
            C[a, c] = s
            C[c, a] = s
        tr += C[a, a]
    if tr <= 0.0:
        return np.empty(0)
    for a in range(K):
        C[a, a] += 1e-10 * tr
    # C is symmetric positive definite: our Cholesky rather than np.linalg.solve, whose
    # shape checks compile numba's string-formatting error path (seconds on first use)
    z = np.empty(K)
    for a in range(K):
        z[a] = 1.0
    if not cholesky_solve(C, z, C.shape[0]):  # (K may be a literal: one specialisation)
        return np.empty(0)
    # scalar loops rather than z.sum() and z / zs: array expressions compile their own
    # ufunc kernels, a second of first-call compilation for five numbers
    zs = 0.0
    for a in range(K):
        zs += z[a]
    if not np.isfinite(zs) or zs == 0.0:
        return np.empty(0)
    for a in range(K):
        z[a] /= zs
    return z


# not inlined: each caller calls it twice, and the inlined copies of its vectorised loops
# cost about 0.4 s of a first sparse fit's compilation
@njit(**INNER, fastmath=FASTMATH)
def quad_objective(v, uv, r, roff, b, l1, l2, idx, m):
    """1/2 sum_i v_i (r_i + roff)^2 + sum_{j in idx} l1_j |b_j| + l2_j / 2 b_j^2."""
    s = 0.0
    if uv > 0.0:
        for i in range(r.shape[0]):
            t = r[i] + roff
            s += t * t
        s *= uv
    else:
        for i in range(r.shape[0]):
            t = r[i] + roff
            s += v[i] * t * t
    s *= 0.5
    for t in range(m):
        j = idx[t]
        s += l1[j] * abs(b[j]) + 0.5 * l2[j] * b[j] * b[j]
    return s


@njit(**INNER, fastmath=FASTMATH)
def anderson_step(X, xd, xi, xp, sparse, v, uv, xm, xv, l1, l2, lo, hi, b, r, st, act, m,
                  hist, rtmp, intercept):
    """Anderson extrapolation of the last K+1 iterates of ``b[act]`` (Bertrand & Massias).

    Solves ``min ||U c|| s.t. sum c = 1`` with ``U`` the iterate differences, proposes
    ``sum_k c_k b^(k)`` (projected on the box) and keeps it only if it lowers the
    quadratic objective. On a sparse design with an ``intercept``, the proposal carries
    the intercept's exact step (a scalar shift there), as every coordinate move of a
    sparse sweep does: judged at the old intercept, good proposals were refused (a
    weighted 53 x 12 binomial path took 2.3 times the sweeps once its sweeps moved the
    intercept after every coordinate). Returns True when accepted.
    """
    # the count as a run-time value (hist has K + 1 columns): a literal K lets LLVM
    # unroll the K x K products, 300 kB of IR and ~0.5 s of a first fit's compile
    K = hist.shape[1] - 1
    z = anderson_weights(hist, m, K)
    if z.shape[0] == 0:
        return False
    roff = st[0]
    f_old = quad_objective(v, uv, r, roff, b, l1, l2, act, m)
    for i in range(r.shape[0]):
        rtmp[i] = r[i]
    roff_new = roff
    svr_new = st[1]
    V = st[2]
    # candidate b_acc = sum_k z_k hist[:, k+1]; apply the change to a copy of the residual
    dsave = np.empty(m)
    for t in range(m):
        j = act[t]
        acc = 0.0
        for k in range(K):
            acc += z[k] * hist[t, k + 1]
        acc = min(max(acc, lo[j]), hi[j])
        d = acc - b[j]
        dsave[t] = d
        if d != 0.0:
            c = xm[j]
            if xd is not None:
                roff_new += d * c
                svr_new -= d * xv[j]
            if X is not None:
                for i in range(X.shape[0]):
                    rtmp[i] -= d * (X[i, j] - c)
                svr_new -= d * (xv[j] - c * V)
            b[j] += d
    d0 = 0.0
    if xd is not None:
        sparse_apply(xd, xi, xp, act, m, dsave, rtmp)
        if intercept:
            d0 = (svr_new + roff_new * V) / V
            roff_new -= d0
    f_new = quad_objective(v, uv, rtmp, roff_new, b, l1, l2, act, m)
    if f_new < f_old:
        for i in range(r.shape[0]):
            r[i] = rtmp[i]
        st[0] = roff_new
        st[1] = svr_new
        st[3] += d0
        return True
    for t in range(m):
        b[act[t]] -= dsave[t]
    return False


@njit(**INNER, fastmath=FASTMATH)
def sparse_apply(xd, xi, xp, act, m, d, r):
    """r -= sum_t d_t * x_{act_t} over CSC columns (scalar gathers, as the sweeps of
    :mod:`.cd`)."""
    for t in range(m):
        dt = d[t]
        if dt != 0.0:
            j = act[t]
            for k in range(xp[j], xp[j + 1]):
                r[xi[k]] -= dt * xd[k]
