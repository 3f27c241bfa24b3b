"""Exact Newton steps on the active set, for coordinate descent that crawls.

Coordinate descent crawls on strongly correlated active features. When a chunk of sweeps
ends without convergence, or a gap check fails, the gaussian drivers minimise the
quadratic exactly on the current active set and signs (a Newton step, cut at the first
sign change or bound it would cross; the naive driver's steps then go on without the
features that reached it), provided that solve costs at most
``POLISH_MAX_SWEEPS`` sweeps (the naive driver's from a factor it keeps along the path,
:mod:`.active_factor`; the covariance driver's from cached Gram columns). A chunk costs
about as much as one such step (within ``CHUNK_MIN`` and ``CHUNK_MAX`` sweeps), so
neither the sweeps nor the steps dominate.
"""

import numpy as np
from numba import njit

from .flags import FASTMATH, KERNEL

POLISH_MAX_SWEEPS = 200.0
# The working-set gap check costs a pass over the working set's columns; when those are
# this large a share of X, the full pass it is meant to save costs little more.
WS_CHECK_SHARE = 0.25
CHUNK_MIN = 5
CHUNK_MAX = 50
# chunks of a strength that may run out before the next ones hold a whole cycle of the
# sweeps' Anderson extrapolation (a whole sweep, kernels.cd._ANDERSON_K = 5 active ones,
# one from the extrapolated point), doubling with every further one (stalled_chunk)
STALL_CHUNKS = 4
CHUNK_ANDERSON = 7


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def cholesky_factor(H, m):
    """Lower Cholesky factor ``L`` (``H = L L^T``) of ``H[:m, :m]``, in place.

    Returns False when a pivot is not clearly positive: ``s <= 1e-12 max_j H_jj``
    (singular or nearly so); ``H`` then holds garbage.
    """
    dmax = 0.0
    for j in range(m):
        if H[j, j] > dmax:
            dmax = H[j, j]
    if dmax <= 0.0:
        return False
    for j in range(m):
        s = H[j, j]
        for k in range(j):
            s -= H[j, k] * H[j, k]
        if s <= 1e-12 * dmax:
            return False
        d = np.sqrt(s)
        H[j, j] = d
        for i in range(j + 1, m):
            t = H[i, j]
            for k in range(j):
                t -= H[i, k] * H[j, k]
            H[i, j] = t / d
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def cholesky_substitute(L, m, x):
    """``x <- (L L^T)^-1 x`` on the leading ``m`` rows, ``L`` lower triangular, read by
    rows only: the forward pass as dot products, the backward one as row updates, so both
    vectorise and stream (a column read of ``L^T x = y`` strides through memory)."""
    for i in range(m):
        t = x[i]
        for k in range(i):
            t -= L[i, k] * x[k]
        x[i] = t / L[i, i]
    for i in range(m - 1, -1, -1):
        xi = x[i] / L[i, i]
        x[i] = xi
        for k in range(i):
            x[k] -= L[i, k] * xi


@njit(**KERNEL, fastmath=FASTMATH)
def cholesky_solve(H, rhs, m):
    """Solve ``H x = rhs`` (symmetric positive definite, leading ``m x m``) in place.

    Returns False when a pivot is not clearly positive (singular or nearly so); ``rhs``
    then holds garbage.
    """
    if not cholesky_factor(H, m):
        return False
    cholesky_substitute(H, m, rhs)
    return True


#: eigenvalues of a unit-diagonal (standardized) system below this share of the largest
#: are rounding, not curvature: a direction they belong to is not determined by the data
RCOND = 1e-10
_EPS = np.finfo(np.float64).eps


@njit(cache=True, nogil=True, fastmath=False)
def clip_spectrum(d, V, H, floor):
    """Eigenvalues ``d`` (eigenvectors ``V``'s columns) of a block Hessian ``H`` set to 0
    in place where they are rounding, not curvature: at or below ``RCOND`` of their
    eigenvector's diagonal mass ``sum_u V_us^2 H_uu`` (how collinear its columns are,
    whatever their scales: a block of columns 1e6 apart in scale keeps its genuine small
    eigenvalue), below ``eigh``'s rounding (``1e3 eps`` of the largest) or below
    ``floor`` (a bound on the error of the computed matrix: no eigenvalue moves by more,
    Weyl); negative ones (rounding of a semidefinite matrix) too. A solve then leaves
    the null directions of collinear columns alone (a ridge part added later still pins
    them) instead of dividing by rounding."""
    m = d.shape[0]
    top = 0.0
    for s in range(m):
        top = max(top, d[s])
    base = max(1e3 * _EPS * top, floor)
    for s in range(m):
        mass = 0.0
        for u in range(m):
            mass += V[u, s] * V[u, s] * H[u, u]
        if not d[s] > max(RCOND * mass, base):
            d[s] = 0.0


#: A step ``d`` whose columns' contributions cancel, ``||Z d||^2 < CANCEL_FLOOR sum_a
#: ||z_a d_a||^2``, moves along a near-null direction of the active columns (duplicated,
#: negated or summed features): its size is set by rounding, not by the model, and
#: adding it to a running predictor or gradient buries both in rounding noise.
CANCEL_FLOOR = 1e-10


@njit(cache=True, nogil=True, inline="always")
def cancelled(net, spread):
    """The test of :func:`step_cancels` on ``net = d^T C d`` and ``spread = sum_a C_aa
    d_a^2``, for a caller that has them from its own products."""
    if not (np.isfinite(net) and np.isfinite(spread)):
        return True
    return not net >= CANCEL_FLOOR * spread


@njit(cache=True, nogil=True, fastmath=False)
def step_cancels(H, d, m, shift):
    """True when the step ``d[:m]`` cancels (see ``CANCEL_FLOOR``) or is not finite.

    ``C = H[:m, :m] - diag(shift[:m])`` is the model's positive semidefinite curvature
    ``Z^T V Z`` (ridge included, a concave penalty's negative curvature left out, hence
    ``shift``); the test is ``d^T C d < CANCEL_FLOOR sum_a C_aa d_a^2``, which is
    invariant to the columns' scales. On a well-posed system the ratio is at least the
    smallest eigenvalue of ``C`` with unit diagonal; a step from an exactly singular
    system solved in floating point has a ratio near ``1e-16``.
    """
    net = 0.0
    spread = 0.0
    for a in range(m):
        da = d[a]
        row = 0.0
        for c in range(m):
            row += H[a, c] * d[c]
        net += da * (row - shift[a] * da)
        spread += (H[a, a] - shift[a]) * da * da
    return cancelled(net, spread)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def orthant_step(H, rhs, b, A, m, l1, l2, lo, hi):
    """Newton step on the active set ``A[:m]`` with signs fixed, cut at the first kink.

    On entry ``H`` holds the data term's Hessian on ``A`` and ``rhs`` its negative
    gradient; the penalty's smooth part on that orthant is added here, and ``rhs[:m]``
    returns the full step ``d``. The returned fraction ``t`` in (0, 1] is the longest
    step ``t d`` that keeps every sign and bound (0: no step; the Cholesky refused).
    Along the segment the objective is the orthant's quadratic, whose minimum is at
    ``t = 1``, so any ``t`` in (0, 1] decreases it (the homotopy / active-set step).
    """
    for a in range(m):
        j = A[a]
        sj = 1.0 if b[j] > 0.0 else -1.0
        H[a, a] += l2[j]
        rhs[a] -= l2[j] * b[j] + l1[j] * sj
    if not cholesky_solve(H, rhs, m):
        return 0.0
    return kink_fraction(rhs, b, A, m, lo, hi)


@njit(cache=True, nogil=True, inline="always")
def kink_fraction(d, b, A, m, lo, hi):
    """The longest fraction ``t`` in [0, 1] of the step ``d[:m]`` on ``A[:m]`` that keeps
    every sign of ``b`` and every bound (0 when a move is not finite)."""
    t = 1.0
    for a in range(m):
        j = A[a]
        da = d[a]
        if not np.isfinite(da):
            return 0.0
        new = b[j] + da
        if new * b[j] <= 0.0:
            t = min(t, b[j] / (-da))  # the coefficient reaches zero
        if new > hi[j]:
            t = min(t, (hi[j] - b[j]) / da)
        elif new < lo[j]:
            t = min(t, (lo[j] - b[j]) / da)
    return t if t > 0.0 else 0.0


@njit(**KERNEL, fastmath=FASTMATH)
def apply_step(b, A, m, rhs, t, lo, hi):
    """``b[A] += t * d`` (``d`` in ``rhs``), landing exactly on the zero or bound hit."""
    for a in range(m):
        j = A[a]
        d = t * rhs[a]
        new = b[j] + d
        if t < 1.0:
            # the coordinate(s) that set t land exactly on their kink (up to rounding)
            if new * b[j] <= 0.0 or abs(new) <= 1e-12 * abs(b[j]):
                new = 0.0
            elif np.isfinite(hi[j]) and new >= hi[j] - 1e-12 * abs(hi[j]):
                new = hi[j]
            elif np.isfinite(lo[j]) and new <= lo[j] + 1e-12 * abs(lo[j]):
                new = lo[j]
        rhs[a] = new - b[j]  # the move actually made
        b[j] = new


@njit(cache=True, nogil=True, inline="always")
def active_subset(b, lo, hi, ws, m_ws, A):
    """Non-zero coordinates of ``ws[:m_ws]`` strictly inside their bounds, into ``A``."""
    m = np.int64(0)  # not the literal 0: inlined, it would compile callees twice
    for t in range(m_ws):
        j = ws[t]
        if b[j] != 0.0 and lo[j] < b[j] < hi[j]:
            A[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def covariance_polish(G, col, g, b, A, na, H, rhs, l1, l2, lo, hi):
    """Newton step on the active set from cached Gram columns; True if kept."""
    p = g.shape[0]
    for a in range(na):
        ja = A[a]
        rhs[a] = g[ja]
        for a2 in range(na):
            H[a, a2] = G[A[a2], col[ja]]
    t = orthant_step(H, rhs, b, A, na, l1, l2, lo, hi)
    if t <= 0.0:
        return False
    apply_step(b, A, na, rhs, t, lo, hi)
    for a in range(na):
        ja = A[a]
        cj = col[ja]
        for t in range(p):
            g[t] -= rhs[a] * G[t, cj]
    return True


@njit(cache=True, nogil=True, inline="always")
def chunk_size(polish_cost, sweep_cost):
    c = int(polish_cost / max(sweep_cost, 1.0))
    return min(max(c, CHUNK_MIN), CHUNK_MAX)


#: a driver without an exact step reads the working-set gap after this many sweeps of a
#: strength, then each time its sweeps have doubled (gap_chunk)
GAP_CHUNK = 64


@njit(cache=True, nogil=True, inline="always")
def gap_chunk(sweeps):
    """Sweeps before the next gap reading of a strength that has run ``sweeps``: at
    least :data:`GAP_CHUNK`, then as many as it has run (the readings, about two sweeps'
    work each, cost a share that halves with each). Coordinate descent stops where its
    largest move is below ``thr``, a proxy for the gap that is loose on ill-conditioned
    fits: one strength of a weighted tf-idf path (5,000 x 20,000, weights 10^U(-3, 3))
    swept 1,648 times to a gap 4x below the one it needed."""
    return max(GAP_CHUNK, sweeps)


@njit(cache=True, nogil=True, inline="always")
def stalled_chunk(chunk, stalls):
    """The chunk after ``stalls`` chunks of a strength ran out: unchanged up to
    ``STALL_CHUNKS``, then at least ``CHUNK_ANDERSON``, doubling with each stall (at most
    2^8 times). Where the exact steps cannot settle the active set (a factor that refuses
    one column of a pair at correlation 0.9999), chunks of 5 sweeps never let Anderson
    extrapolate and the sweeps crawled: 6,287 at one strength of a 300 x 2,000 path."""
    if stalls < STALL_CHUNKS:
        return chunk
    return max(chunk, CHUNK_ANDERSON) << min(stalls - STALL_CHUNKS, 8)
