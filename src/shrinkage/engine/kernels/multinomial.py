"""Block coordinate descent for the multinomial proximal-Newton model.

At the current probabilities ``P`` the multinomial loss is replaced by its exact second
order model in the change ``D`` of the linear predictor (n x K)::

    m(D) = -sum_ik w_i (Y_ik - P_ik) D_ik + 1/2 sum_i w_i D_i^T (diag(P_i) - P_i P_i^T) D_i

with ``D = 1 d0^T + Xc dB``. Its gradient with respect to the linear predictor is kept in
``q`` (n x K)::

    q_ik = w_i [ (Y_ik - P_ik) - P_ik (D_ik - P_i . D_i) ]

A block is the K coefficients of one feature, with gradient ``G_jk = sum_i xc_ij q_ik``
and Hessian ``A_j = sum_i w_i xc_ij^2 (diag P_i - P_i P_i^T)``. With
``M_jk = 2 sum_i w_i xc_ij^2 P_ik (1 - P_ik)`` (twice the diagonal of ``A_j``; ``P (1 - P)``
floored at 1e-10 by the caller) the blocks are updated as follows.

Grouped penalty: against the diagonal majoriser ``diag(p) - p p^T <= 2 diag(p (1 - p))``
(diagonal dominance), with ``U_jk = G_jk + M_jk B_jk`` and ``c_k = M_jk + l2_j``::

    B_j = 0 if ||U_j|| <= l1_j, else B_jk = U_jk s / (c_k s + l1_j) where s > 0
          solves sum_k U_jk^2 / (c_k s + l1_j)^2 = 1   (s = ||B_j||, found by Newton)

then centred across the classes: the model is flat along ``(1, ..., 1)`` (``A_j 1 = 0``
and ``sum_k G_jk = 0``) and the group norm is smallest at the mean-zero point, so the
centring is the exact minimum along that direction (it moves no ``q``).

Ungrouped penalty: exact coordinate steps, class after class, inside the block (two
passes): with the off-diagonal entries ``O_j`` of ``A_j``
(:func:`.multinomial_curvature.block_coupling`) and the diagonal ``h_k = M_jk / 2`` (an
upper bound of ``A_j``'s diagonal, equal to it except at the floor), each step sets::

    u = G_jk + h_k B_jk - sum_{l != k} O_jkl (B'_jl - B_jl)
    B'_jk = clip(S(u, l1_j) / (h_k + l2_j), lo_j, hi_j)

where ``B'`` holds the block's values so far (the coupling sum is kept up to date as
classes move, so classes that stay at zero cost no ``K``-term sum); the data are passed
once per block, as for the grouped update. The majoriser's step is half of this on a
class that dominates a row; on power-law text these steps halved the sweeps of an
ungrouped path.

Each block step decreases the model; the caller's line search on the true objective makes
the outer step safe.
"""

import numpy as np
from numba import njit

from .anderson import anderson_weights


@njit(cache=True, nogil=True, fastmath=False)
def _group_norm_root(u, c, l1, nrm):
    """s > 0 with sum_k u_k^2 / (c_k s + l1)^2 = 1, given ``nrm = ||u|| > l1 > 0``."""
    # start from a point left of the root: with c_k <= c_max, psi((||u|| - l1) / c_max)
    # >= 0, and when the c_k are alike that point is already close to the root
    cmax = 0.0
    for k in range(u.shape[0]):
        cmax = max(cmax, c[k])
    s = max((nrm - l1) / cmax, 0.0) if cmax > 0.0 else 0.0
    for _ in range(100):
        f = -1.0
        df = 0.0
        for k in range(u.shape[0]):
            den = c[k] * s + l1
            q = u[k] * u[k] / (den * den)
            f += q
            df -= 2.0 * q * c[k] / den
        # psi is convex and decreasing: Newton from the left increases s monotonically
        step = -f / df
        s += step
        if step <= 1e-15 * (s + 1e-300):
            break
    return s


@njit(cache=True, nogil=True, inline="always")
def _row_update(w, P, q, qsum, i, xval, delta, K):
    """q_i -= w_i * xval * P_i * (delta - P_i . delta); keeps qsum = column sums of q."""
    s = 0.0
    for k in range(K):
        s += P[i, k] * delta[k]
    f = w[i] * xval
    for k in range(K):
        a = f * P[i, k] * (delta[k] - s)
        q[i, k] -= a
        qsum[k] -= a


@njit(cache=True, nogil=True, fastmath=False)
def _block_sweep(X, xd, xi, xp, sparse, w, P, xm, M, l1, l2, lo, hi, B, q, qsum, b0, M0,
                 idx, m, grouped, intercept, gbuf, cbuf, Wsum, soff, O, slot):
    """One sweep of block updates over ``idx[:m]`` (and the intercept); returns the largest
    move ``sum_k M_jk dB_jk^2``.

    ``O[slot[j]]`` holds the off-diagonal coupling of feature ``j``'s block (ungrouped
    only; :func:`.multinomial_curvature.block_coupling`).

    A sparse column's centring moves every row of ``q`` (by ``c W_i delta``, ``W_i =
    w_i (diag P_i - P_i P_i^T)``), and so does the intercept: those moves are kept lazily
    in the offset ``soff`` (true ``q_i = q_i - W_i soff``, true column sums ``qsum - Wsum
    soff``, ``Wsum = sum_i W_i``), so that a column costs its stored entries, and folded
    into ``q`` once at the end of the sweep (``soff`` is zero on entry and on return).
    """
    n, K = q.shape
    maxch = 0.0
    for t in range(m):
        j = idx[t]
        c = xm[j]
        msum = 0.0
        for k in range(K):
            msum += M[j, k]
        if msum <= 0.0:
            continue
        for k in range(K):
            gbuf[k] = 0.0
        if xd is not None:
            for r in range(xp[j], xp[j + 1]):
                i = xi[r]
                a = xd[r]
                ps = 0.0
                for k in range(K):
                    ps += P[i, k] * soff[k]
                for k in range(K):
                    gbuf[k] += a * (q[i, k] - w[i] * P[i, k] * (soff[k] - ps))
            for k in range(K):
                qs = qsum[k]
                for k2 in range(K):
                    qs -= Wsum[k, k2] * soff[k2]
                gbuf[k] -= c * qs
        if X is not None:
            for i in range(n):
                a = X[i, j] - c
                for k in range(K):
                    gbuf[k] += a * q[i, k]
        if grouped:
            for k in range(K):
                gbuf[k] += M[j, k] * B[j, k]  # U_jk
                cbuf[k] = M[j, k] + l2[j]
            nrm = 0.0
            for k in range(K):
                nrm += gbuf[k] * gbuf[k]
            nrm = np.sqrt(nrm)
            if nrm <= l1[j]:
                for k in range(K):
                    gbuf[k] = -B[j, k]
            else:
                if l1[j] == 0.0:  # (a class without curvature keeps its value)
                    for k in range(K):
                        gbuf[k] = gbuf[k] / cbuf[k] if cbuf[k] > 0.0 else B[j, k]
                else:
                    s = _group_norm_root(gbuf, cbuf, l1[j], nrm)
                    for k in range(K):
                        gbuf[k] = gbuf[k] * s / (cbuf[k] * s + l1[j])
                mean = 0.0
                for k in range(K):
                    mean += gbuf[k]
                mean /= K
                for k in range(K):
                    gbuf[k] -= mean + B[j, k]
        else:
            # cbuf: the moves so far; gbuf: G_j less their coupling (module docstring)
            t0 = slot[j]
            for k in range(K):
                cbuf[k] = 0.0
            for _ in range(2):
                for k in range(K):
                    h = 0.5 * M[j, k]
                    if h + l2[j] <= 0.0:
                        continue
                    u = gbuf[k] + h * B[j, k]
                    z = (u - np.sign(u) * l1[j]) / (h + l2[j]) if abs(u) > l1[j] else 0.0
                    if z < lo[j]:
                        z = lo[j]
                    elif z > hi[j]:
                        z = hi[j]
                    d = z - B[j, k] - cbuf[k]
                    if d != 0.0:
                        cbuf[k] += d
                        for k2 in range(K):  # (O's diagonal is zero)
                            gbuf[k2] -= O[t0, k2, k] * d
            for k in range(K):
                gbuf[k] = cbuf[k]
        ch = 0.0
        for k in range(K):
            d = gbuf[k]
            if d != 0.0:
                B[j, k] += d
                ch += M[j, k] * d * d
        if ch == 0.0:
            continue
        if xd is not None:
            for k in range(K):
                soff[k] -= c * gbuf[k]
            for r in range(xp[j], xp[j + 1]):
                _row_update(w, P, q, qsum, xi[r], xd[r], gbuf, K)
        if X is not None:
            for i in range(n):
                _row_update(w, P, q, qsum, i, X[i, j] - c, gbuf, K)
        if ch > maxch:
            maxch = ch
    if intercept:
        maxch = max(maxch, _intercept_step(X, xd, w, P, q, qsum, b0, M0, Wsum, soff, gbuf))
    if xd is not None:
        _fold_offset(w, P, q, qsum, soff)
    return maxch


@njit(cache=True, nogil=True, fastmath=False)
def _intercept_step(X, xd, w, P, q, qsum, b0, M0, Wsum, soff, gbuf):
    """The class intercepts' block step of :func:`_block_sweep` (majoriser ``M0``);
    returns its move ``sum_k M0_k d_k^2``."""
    n, K = q.shape
    ch = 0.0
    for k in range(K):
        qs = qsum[k]
        for k2 in range(K):
            qs -= Wsum[k, k2] * soff[k2]
        gbuf[k] = qs / M0[k] if M0[k] > 0.0 else 0.0
    for k in range(K):
        b0[k] += gbuf[k]
        ch += M0[k] * gbuf[k] * gbuf[k]
    if ch > 0.0:
        if xd is not None:
            for k in range(K):
                soff[k] += gbuf[k]
        if X is not None:
            for i in range(n):
                _row_update(w, P, q, qsum, i, 1.0, gbuf, K)
    return ch


@njit(cache=True, nogil=True, fastmath=False)
def _fold_offset(w, P, q, qsum, soff):
    """``q_i -= W_i soff`` for every row (keeping ``qsum``), then ``soff = 0``."""
    n, K = q.shape
    moved = False
    for k in range(K):
        if soff[k] != 0.0:
            moved = True
    if not moved:
        return
    for i in range(n):
        _row_update(w, P, q, qsum, i, 1.0, soff, K)
    for k in range(K):
        soff[k] = 0.0


@njit(cache=True, nogil=True, fastmath=False)
def _curvature_sum(w, P, W):
    """``W = sum_i w_i (diag(P_i) - P_i P_i^T)`` (K x K, zero on entry)."""
    n, K = P.shape
    for i in range(n):
        for k in range(K):
            a = w[i] * P[i, k]
            W[k, k] += a
            for k2 in range(K):
                W[k, k2] -= a * P[i, k2]


_ANDERSON_K = 5


@njit(cache=True, nogil=True, fastmath=False)
def _model_state(X, xd, xi, xp, sparse, w, P, xm, q0, B, B0, b0, b00, ws, n_ws, l1, l2, grouped,
                 intercept, D, q):
    """Model value m(B, b0) and, in ``q``, its negative gradient in eta (from scratch).

    ``D = 1 (b0 - b00)^T + Xc (B - B0)`` is the change of the linear predictor since the
    start of the Newton step; ``m = -sum q0 * D + 1/2 sum_i w_i D_i^T (diag P_i - P_i P_i^T)
    D_i + penalty(B)``.
    """
    n, K = D.shape
    for i in range(n):
        for k in range(K):
            D[i, k] = (b0[k] - b00[k]) if intercept else 0.0
    # a sparse column's centring shifts every row alike: summed here, applied once below
    shift = np.zeros(K)
    pen = 0.0
    for t in range(n_ws):
        j = ws[t]
        nrm2 = 0.0
        l1sum = 0.0
        for k in range(K):
            nrm2 += B[j, k] * B[j, k]
            l1sum += abs(B[j, k])
        pen += l1[j] * (np.sqrt(nrm2) if grouped else l1sum) + 0.5 * l2[j] * nrm2
        c = xm[j]
        moved = False
        for k in range(K):
            if B[j, k] != B0[j, k]:
                moved = True
        if not moved:
            continue
        if xd is not None:
            for k in range(K):
                d = B[j, k] - B0[j, k]
                if d != 0.0:
                    shift[k] += c * d
                    for r in range(xp[j], xp[j + 1]):
                        D[xi[r], k] += xd[r] * d
        if X is not None:
            for i in range(n):
                a = X[i, j] - c
                for k in range(K):
                    D[i, k] += a * (B[j, k] - B0[j, k])
    val = 0.0
    for i in range(n):
        for k in range(K):
            D[i, k] -= shift[k]
        s = 0.0
        for k in range(K):
            s += P[i, k] * D[i, k]
        for k in range(K):
            hd = w[i] * P[i, k] * (D[i, k] - s)  # (H_i D_i)_k
            val += -q0[i, k] * D[i, k] + 0.5 * D[i, k] * hd
            q[i, k] = q0[i, k] - hd
    return val + pen


@njit(cache=True, nogil=True, fastmath=False)
def cd_multinomial(X, xd, xi, xp, sparse, w, P, xm, M, l1, l2, lo, hi, B, q, b0, M0,
                   ws, n_ws, grouped, intercept, thr, max_sweeps, O, slot):
    """Block CD over ``ws[:n_ws]`` with active-set cycling; returns the sweeps used.

    ``q`` (n x K) enters as ``w * (Y - P)`` and is updated in place, as are ``B`` and the
    class intercepts ``b0``; ``M0_k = 2 sum_i w_i P_ik (1 - P_ik)`` majorises the intercept
    block. ``O`` and ``slot`` are :func:`.multinomial_curvature.block_coupling`'s for
    ``ws`` at ``P`` (read by the ungrouped steps only). Active-set sweeps are accelerated
    by Anderson extrapolation of the last ``_ANDERSON_K`` iterates of (B, b0), kept only
    when it lowers the model objective.
    """
    n, K = q.shape
    gbuf = np.empty(K)
    cbuf = np.empty(K)
    qsum = np.zeros(K)
    for i in range(n):
        for k in range(K):
            qsum[k] += q[i, k]
    # copies by loops (see _copy): .copy() compiles numba's generic array copy
    q0 = _copy(q)
    B0 = _copy(B)
    b00 = _copy_vector(b0)
    D = np.empty((n, K))
    qc = np.empty((n, K))
    # the lazy centring offset of sparse sweeps (_block_sweep); dense ones leave it at zero
    Wsum = np.zeros((K, K))
    if xd is not None:
        _curvature_sum(w, P, Wsum)
    soff = np.zeros(K)
    act = np.empty(n_ws, dtype=np.int64)
    AK = _ANDERSON_K
    hist = np.empty((n_ws * K + K, AK + 1))
    sweeps = 0
    while sweeps < max_sweeps:
        maxch = _block_sweep(X, xd, xi, xp, sparse, w, P, xm, M, l1, l2, lo, hi, B, q, qsum,
                             b0, M0, ws, n_ws, grouped, intercept, gbuf, cbuf, Wsum, soff, O,
                             slot)
        sweeps += 1
        if maxch < thr:
            return sweeps
        m = np.int64(0)  # typed, not the literal 0: a literal compiles callees twice
        for t in range(n_ws):
            j = ws[t]
            nz = False
            for k in range(K):
                if B[j, k] != 0.0:
                    nz = True
            if nz:
                act[m] = j
                m += 1
        dim = m * K + K
        filled = np.int64(0)
        _store(hist, filled, B, b0, act, m, K)
        while sweeps < max_sweeps:
            maxch = _block_sweep(X, xd, xi, xp, sparse, w, P, xm, M, l1, l2, lo, hi, B, q,
                                 qsum, b0, M0, act, m, grouped, intercept, gbuf, cbuf, Wsum,
                                 soff, O, slot)
            sweeps += 1
            if maxch < thr:
                break
            filled += 1
            _store(hist, filled, B, b0, act, m, K)
            if filled == AK:
                filled = np.int64(0)
                # the count as a run-time value (hist has K + 1 columns): a literal K lets LLVM
                # unroll the K x K products, 300 kB of IR and ~0.5 s of a first fit's compile
                z = anderson_weights(hist, dim, hist.shape[1] - 1)
                if z.shape[0] > 0:
                    f_cur = _model_state(X, xd, xi, xp, sparse, w, P, xm, q0, B, B0, b0, b00,
                                         ws, n_ws, l1, l2, grouped, intercept, D, qc)
                    Bsave = _copy(B)
                    b0save = _copy_vector(b0)
                    for t in range(m):
                        j = act[t]
                        for k in range(K):
                            acc = 0.0
                            for a in range(AK):
                                acc += z[a] * hist[t * K + k, a + 1]
                            if not grouped:
                                acc = min(max(acc, lo[j]), hi[j])
                            B[j, k] = acc
                    if intercept:
                        for k in range(K):
                            acc = 0.0
                            for a in range(AK):
                                acc += z[a] * hist[m * K + k, a + 1]
                            b0[k] = acc
                    f_new = _model_state(X, xd, xi, xp, sparse, w, P, xm, q0, B, B0, b0, b00,
                                         ws, n_ws, l1, l2, grouped, intercept, D, qc)
                    if f_new < f_cur:
                        for i in range(n):
                            for k in range(K):
                                q[i, k] = qc[i, k]
                        for k in range(K):
                            qsum[k] = 0.0
                        for i in range(n):
                            for k in range(K):
                                qsum[k] += q[i, k]
                    else:  # loops: a slice copy would compile numba's string-formatting error path
                        for j in range(B.shape[0]):
                            for k in range(K):
                                B[j, k] = Bsave[j, k]
                        for k in range(K):
                            b0[k] = b0save[k]
                _store(hist, np.int64(0), B, b0, act, m, K)
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def _copy(A):
    """A C-ordered copy of the matrix ``A`` by plain loops: ``A.copy()`` compiles numba's
    generic strided copy (about a second of first-call compilation per use)."""
    n, K = A.shape
    C = np.empty((n, K))
    for i in range(n):
        for k in range(K):
            C[i, k] = A[i, k]
    return C


@njit(cache=True, nogil=True, fastmath=False)
def _copy_vector(a):
    """``a.copy()`` by a plain loop (see :func:`_copy`)."""
    c = np.empty(a.shape[0])
    for i in range(a.shape[0]):
        c[i] = a[i]
    return c


@njit(cache=True, nogil=True, fastmath=False)
def _store(hist, col, B, b0, act, m, K):
    for t in range(m):
        for k in range(K):
            hist[t * K + k, col] = B[act[t], k]
    for k in range(K):
        hist[m * K + k, col] = b0[k]
