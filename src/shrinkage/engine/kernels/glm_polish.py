"""Newton steps on the active set of an IRLS model whose coordinate descent crawls.

The model is the one :func:`~shrinkage.engine.kernels.cd.cd_quadratic` minimises over a
working set: ``1/2 sum_i v_i rt_i^2 + sum_j l1_j |b_j| + l2_j / 2 b_j^2`` with
``rt = r + st[0]`` the working residual and ``st = [roff, sum v r, sum v, b0]``. On the
orthant of the current signs of its active set ``A`` (non-zero coordinates strictly inside
their bounds) it is smooth, and one Newton step minimises it::

    (Z^T V Z + diag(0, l2_A)) d = Z^T V rt - (0, l2_A b_A + l1_A s_A),  Z = [1, Xc_A]

:func:`active_polish` solves that system exactly (Cholesky) where it costs little next to
the sweeps it replaces; :func:`active_pcg` runs conjugate gradients on it where it does
not (products with ``Z`` and ``Z^T`` only).
"""

import numpy as np
from numba import njit

from .active_set import active_subset, apply_step, cholesky_solve
from .certify import centred_dots, dot
from .flags import FASTMATH
from .moments import active_normal_equations, centred_combination

#: ``n m^2 + m^3`` flops (``m``: active features plus one) allowed for one exact
#: active-set solve
POLISH_MAX_WORK = 2e8
#: ... and at most this many sweeps' worth of the working set's entries
POLISH_MAX_SWEEPS = 100.0
#: the IRLS model is minimised on the weighted Gram matrix of the working set
#: (:func:`gram_model_step`) where X is dense and the working set holds at most this many
#: columns (with the intercept) ...
GRAM_MAX_COLUMNS = 64
#: ... and at most this share of the rows (``n m^2 / 2`` to build it, against the
#: ``2 n m`` of each sweep it saves)
GRAM_MAX_SHARE = 0.25
#: :func:`active_polish`'s answer when the exact solve costs too much (or the active set
#: holds more than ``n / 2`` features): conjugate gradients are the caller's route
TOO_COSTLY = -1


@njit(cache=True, nogil=True)
def polish_cost(xp, n, ws, m_ws, na):
    """Whether the exact active-set solve of :func:`exact_polish` is affordable for ``na``
    active features: ``n m^2 + m^3`` flops (``m = na + 1``) within
    :data:`POLISH_MAX_WORK` and :data:`POLISH_MAX_SWEEPS` sweeps over ``ws[:m_ws]``, and
    ``2 (na + 1) <= n`` (far fewer unknowns than rows: a system of full rank)."""
    sweep = float(n) * m_ws
    if xp is not None:  # sparse (a None-typed xp prunes this branch)
        sweep = 0.0
        for t in range(m_ws):
            sweep += xp[ws[t] + 1] - xp[ws[t]]
    mm = float(na + 1)
    work = float(n) * mm * mm + mm * mm * mm
    return work <= min(POLISH_MAX_WORK, POLISH_MAX_SWEEPS * sweep) and 2 * (na + 1) <= n


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def dense_normal_equations(X, v, xm, r, A, na, off, H, rhs):
    """``H = Z^T V Z``, ``rhs = Z^T V r`` for ``Z = [1 (if off), X[:, A] - xm[A]]`` (dense).

    The centred columns (centred element by element: large means lose nothing to
    cancellation) and their weighted copies are laid out contiguously, so that each entry
    of ``H`` is one contiguous dot product (the ``n m^2 / 2`` multiply-adds vectorise).
    """
    n = r.shape[0]
    m = na + off
    Z = np.empty((m, n))
    VZ = np.empty((m, n))
    for a in range(m):
        if off and a == 0:
            for i in range(n):
                Z[a, i] = 1.0
        else:
            j = A[a - off]
            c = xm[j]
            for i in range(n):
                Z[a, i] = X[i, j] - c
        s = 0.0
        for i in range(n):
            u = v[i] * Z[a, i]
            VZ[a, i] = u
            s += u * r[i]
        rhs[a] = s
    for a in range(m):
        for a2 in range(a + 1):
            s = 0.0
            for i in range(n):
                s += Z[a, i] * VZ[a2, i]
            H[a, a2] = s
            H[a2, a] = s


@njit(cache=True, nogil=True)
def orthant_solve(H, rhs, b, A, na, off, l1, l2, lo, hi):
    """The orthant's Newton step from the data term's ``H`` and ``rhs`` (``Z^T V Z`` and
    ``Z^T V rt`` on ``[intercept (if off), A[:na]]``): adds the penalty's smooth part on
    the orthant of the signs of ``b[A]``, solves in place (``rhs`` returns the step ``d``)
    and returns the largest ``t`` in (0, 1] keeping every sign and bound along ``t d``;
    0 when the system is singular or nearly so."""
    m = na + off
    for a in range(na):
        j = A[a]
        sj = 1.0 if b[j] > 0.0 else -1.0
        H[off + a, off + a] += l2[j]
        rhs[off + a] -= l2[j] * b[j] + l1[j] * sj
    if not cholesky_solve(H, rhs, np.int64(m)):
        return 0.0
    t = 1.0
    for a in range(m):
        if not np.isfinite(rhs[a]):
            return 0.0
    for a in range(na):
        j = A[a]
        d = rhs[off + a]
        new = b[j] + d
        if new * b[j] <= 0.0:
            t = min(t, b[j] / (-d))
        if new > hi[j]:
            t = min(t, (hi[j] - b[j]) / d)
        elif new < lo[j]:
            t = min(t, (lo[j] - b[j]) / d)
    return t if t > 0.0 else 0.0


@njit(cache=True, nogil=True)
def exact_polish(X, xd, xi, xp, sparse, v, xm, r, st, b, A, na, intercept, l1, l2, lo, hi):
    """Exact minimiser of the IRLS model on the active set ``A[:na]`` and its signs.

    The model ``1/2 sum_i v_i rt_i^2 + sum_{j in A} l1_j |b_j| + l2_j / 2 b_j^2``, with
    ``rt = r + st[0]`` the working residual and ``st = [roff, sum v r, sum v, b0]`` as
    :func:`~shrinkage.engine.kernels.cd.cd_quadratic` keeps them, is smooth on that
    orthant; one Newton step solves it::

        (Z^T V Z + diag(0, l2_A)) d = Z^T V rt - (0, l2_A b_A + l1_A s_A),  Z = [1, Xc_A]

    (Cholesky). The step is cut at the first sign change or bound (the model decreases all
    along the segment: a convex quadratic minimised at its end), the coordinate that sets
    the cut landing on its kink. Updates ``b``, ``r`` and ``st``; returns False (nothing
    changed) when the system is singular or nearly so.
    """
    n = r.shape[0]
    off = 1 if intercept else 0
    m = na + off
    for i in range(n):
        r[i] += st[0]
    H = np.empty((m, m))
    rhs = np.empty(m)
    if X is not None:
        dense_normal_equations(X, v, xm, r, A, na, off, H, rhs)
    else:
        active_normal_equations(X, xd, xi, xp, sparse, v, xm, r, A[:na],
                                np.bool_(intercept), H, rhs)
    t = orthant_solve(H, rhs, b, A, na, off, l1, l2, lo, hi)
    if not t > 0.0:
        for i in range(n):
            r[i] -= st[0]
        return False
    moves = rhs[off:]
    apply_step(b, A, na, moves, t, lo, hi)  # moves: the moves actually made
    step = np.empty(n)
    centred_combination(X, xd, xi, xp, sparse, xm, A[:na], moves, step)
    d0 = t * rhs[0] if off else 0.0
    for i in range(n):
        r[i] -= step[i] + d0
    st[0] = 0.0
    st[1] = dot(v, r)
    st[3] += d0
    return True


@njit(cache=True, nogil=True)
def active_polish(X, xd, xi, xp, sparse, v, xm, r, st, b, ws, m_ws, intercept, l1, l2, lo, hi,
                  A):
    """The exact Newton step of the model on the active set of ``ws[:m_ws]`` (scratch
    ``A``, ``p`` entries), where :func:`polish_cost` allows it.

    Returns 1 when the step was taken (``b``, ``r``, ``st`` updated), 0 when not (empty
    active set, or a singular system), :data:`TOO_COSTLY` when the solve is out of reach.
    """
    na = active_subset(b, lo, hi, ws, m_ws, A)
    if na == 0:
        return 0
    if not polish_cost(xp, r.shape[0], ws, m_ws, na):
        return TOO_COSTLY
    if exact_polish(X, xd, xi, xp, sparse, v, xm, r, st, b, A, na, intercept, l1, l2, lo, hi):
        return 1
    return 0


@njit(cache=True, nogil=True)
def _hessian_product(X, xd, xi, xp, sparse, xm, v, A, l2A, off, d, out, u, g):
    """``out = H d`` for ``H = Z^T V Z + diag(0, l2_A)``, ``Z = [1 (if off), Xc_A]``
    (``u``: n scratch, ``g``: p scratch)."""
    centred_combination(X, xd, xi, xp, sparse, xm, A, d[off:], u)
    su = 0.0
    for i in range(u.shape[0]):
        t = v[i] * (u[i] + d[0]) if off else v[i] * u[i]
        u[i] = t
        su += t
    centred_dots(X, xd, xi, xp, sparse, u, su, xm, A, A.shape[0], g)
    for a in range(A.shape[0]):
        out[off + a] = g[A[a]] + l2A[a] * d[off + a]
    if off:
        out[0] = su


@njit(cache=True, nogil=True)
def active_pcg(X, xd, xi, xp, sparse, xm, v, A, l2A, off, rhs, diag, max_iter, rtol, g):
    """Jacobi-preconditioned conjugate gradients from 0 for ``H x = rhs`` (``H`` as in
    :func:`_hessian_product`, preconditioner ``diag``), at most ``max_iter`` products,
    stopping once the preconditioned residual norm falls below ``rtol`` of its start;
    returns ``x``."""
    m = rhs.shape[0]
    x = np.zeros(m)
    res = rhs.copy()
    z = res / diag
    p = z.copy()
    hp = np.empty(m)
    u = np.empty(v.shape[0])
    rz = np.sum(res * z)
    stop = rtol * rtol * rz
    for _ in range(max_iter):
        if rz <= stop:
            break
        _hessian_product(X, xd, xi, xp, sparse, xm, v, A, l2A, off, p, hp, u, g)
        php = np.sum(p * hp)
        if not php > 0.0:
            break
        alpha = rz / php
        x += alpha * p
        res -= alpha * hp
        z = res / diag
        rz_new = np.sum(res * z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


@njit(cache=True, nogil=True)
def gram_applies(X, n, m, intercept):
    """Whether :func:`gram_model_step` minimises the model on ``m`` working-set columns:
    X dense, ``m + intercept <= GRAM_MAX_COLUMNS`` and ``<= GRAM_MAX_SHARE n``."""
    if X is None:
        return False
    mm = m + (1 if intercept else 0)
    return mm <= GRAM_MAX_COLUMNS and mm <= GRAM_MAX_SHARE * n


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gram_sweep(G, c, q, b, ws, m, off, l1, l2, lo, hi, st):
    """One coordinate-descent sweep over the model ``1/2 d^T G d - c^T d + penalty(b)``
    (``d``: the moves since the model's centre, ``q = G d`` kept up to date), then the
    intercept's exact step; returns ``max_a G_aa delta_a^2``."""
    ma = m + off
    maxch = 0.0
    for a in range(off, ma):
        gaa = G[a, a]
        if gaa <= 0.0:
            continue
        j = ws[a - off]
        bj = b[j]
        u = c[a] - q[a] + gaa * bj
        al = abs(u) - l1[j]
        new = 0.0
        if al > 0.0:
            new = (al if u > 0.0 else -al) / (gaa + l2[j])
        new = min(max(new, lo[j]), hi[j])
        delta = new - bj
        if delta != 0.0:
            b[j] = new
            for k in range(ma):
                q[k] += delta * G[k, a]
            ch = gaa * delta * delta
            if ch > maxch:
                maxch = ch
    if off and G[0, 0] > 0.0:
        d0 = (c[0] - q[0]) / G[0, 0]
        if d0 != 0.0:
            st[3] += d0
            for k in range(ma):
                q[k] += d0 * G[k, 0]
            maxch = max(maxch, G[0, 0] * d0 * d0)
    return maxch


@njit(cache=True, nogil=True)
def _gram_polish(G, c, q, b, ws, m, off, l1, l2, lo, hi, st, A, pos):
    """The orthant's exact Newton step (:func:`orthant_solve`) from the Gram matrix, cut
    at the first sign change or bound; ``q`` and the intercept ``st[3]`` follow it."""
    na = np.int64(0)
    for a in range(m):
        j = ws[a]
        if b[j] != 0.0 and lo[j] < b[j] < hi[j]:
            A[na] = j
            pos[na] = a + off
            na += 1
    if na == 0:
        return
    k = na + off
    H = np.empty((k, k))
    rhs = np.empty(k)
    if off:
        pos[na] = 0
    for s1 in range(k):
        p1 = pos[s1 - off] if s1 >= off else 0
        rhs[s1] = c[p1] - q[p1]
        for s2 in range(k):
            H[s1, s2] = G[p1, pos[s2 - off] if s2 >= off else 0]
    t = orthant_solve(H, rhs, b, A, na, off, l1, l2, lo, hi)
    if not t > 0.0:
        return
    apply_step(b, A, na, rhs[off:], t, lo, hi)  # rhs[off:]: the moves actually made
    ma = m + off
    for s1 in range(k):
        p1 = pos[s1 - off] if s1 >= off else 0
        d = rhs[s1] if s1 >= off else t * rhs[0]
        for r in range(ma):
            q[r] += d * G[r, p1]
    if off:
        st[3] += t * rhs[0]


@njit(cache=True, nogil=True)
def gram_model_step(X, v, xm, z, st, b, ws, m, intercept, l1, l2, lo, hi, thr, max_sweeps,
                    chunk):
    """Minimise the IRLS model on ``ws[:m]`` from its weighted Gram matrix.

    With ``Z = [1 (if intercept), X[:, ws] - xm[ws]]``, ``G = Z^T V Z`` and ``c = Z^T V z``
    (``z`` the working residual at the model's centre, ``st[0] = 0``), the model is
    ``1/2 d^T G d - c^T d + penalty`` in the moves ``d``; coordinate descent on it costs
    ``O(m)`` per coordinate instead of ``O(n)``, and every ``chunk`` sweeps without
    convergence the orthant's exact step (:func:`orthant_solve`) is taken from ``G``.
    Stops when a sweep moves no coordinate by more than ``thr`` (``G_aa delta^2``, as
    :func:`~shrinkage.engine.kernels.cd.cd_quadratic`) or after ``max_sweeps``; updates
    ``b`` and the intercept ``st[3]`` (not ``z``: the caller takes the step from the
    moves) and returns the sweeps made.
    """
    if X is None:  # sparse: never called (gram_applies); prunes the dense code for numba
        return 0
    off = 1 if intercept else 0
    ma = m + off
    G = np.empty((ma, ma))
    c = np.empty(ma)
    dense_normal_equations(X, v, xm, z, ws, m, off, G, c)
    q = np.zeros(ma)
    A = np.empty(m, dtype=np.int64)
    pos = np.empty(m + 1, dtype=np.int64)
    sweeps = 0
    polished = False
    while sweeps < max_sweeps:
        sweeps += 1
        if _gram_sweep(G, c, q, b, ws, m, off, l1, l2, lo, hi, st) < thr:
            if polished:
                break
            # converged sweeps stop short of the minimiser by about a sweep's change over
            # (1 - rate): the exact step on the support they found removes that, and a
            # sweep confirms it
            polished = True
        else:
            polished = sweeps % chunk == 0
        if polished:
            _gram_polish(G, c, q, b, ws, m, off, l1, l2, lo, hi, st, A, pos)
    return sweeps
