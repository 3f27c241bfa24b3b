"""Solvers of the IRLS model of a Newton step, other than coordinate descent on X.

The model is the one :func:`~shrinkage.engine.kernels.cd.cd_quadratic` minimises over a
working set: ``1/2 sum_i v_i rt_i^2 + sum_j l1_j |b_j| + l2_j / 2 b_j^2`` with
``rt = r + st[0]`` the working residual and ``st = [roff, sum v r, sum v, b0]``. On the
orthant of the current signs of its active set ``A`` (non-zero coordinates strictly inside
their bounds) it is smooth, and one Newton step minimises it::

    (Z^T V Z + diag(0, l2_A)) d = Z^T V rt - (0, l2_A b_A + l1_A s_A),  Z = [1, Xc_A]

:func:`gram_model_step` minimises the model on a small dense working set from its weighted
Gram matrix (coordinate moves in ``O(m)``, the orthant's step solved exactly);
:func:`active_pcg` runs conjugate gradients on the orthant's system where the active set
is too large for a direct solve (products with ``Z`` and ``Z^T`` only).
"""

import numpy as np
from numba import njit

from .active_set import cholesky_factor, cholesky_substitute
from .certify import centred_dots
from .flags import FASTMATH, INNER, KERNEL
from .moments import centred_combination

#: the IRLS model is minimised on the weighted Gram matrix of the working set
#: (:func:`gram_model_step`) where X is dense and the working set holds at most this many
#: columns (with the intercept) ...
GRAM_MAX_COLUMNS = 64
#: ... and at most this share of the rows (``n m^2 / 2`` to build it, against the
#: ``2 n m`` of each sweep it saves)
GRAM_MAX_SHARE = 0.25


@njit(**KERNEL, fastmath=FASTMATH)
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


@njit(**INNER, fastmath=False)
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


@njit(**KERNEL, fastmath=False)
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


@njit(**KERNEL, fastmath=False)
def gram_applies(X, n, m, intercept):
    """Whether :func:`gram_model_step` minimises the model on ``m`` working-set columns:
    X dense, ``m + intercept <= GRAM_MAX_COLUMNS`` and ``<= GRAM_MAX_SHARE n``."""
    if X is None:
        return False
    mm = m + (1 if intercept else 0)
    return mm <= GRAM_MAX_COLUMNS and mm <= GRAM_MAX_SHARE * n


@njit(**INNER, inline="always")
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


@njit(**INNER, inline="always")
def _gram_polish(G, c, q, b, ws, m, off, l1, l2, lo, hi, st, A, pos):
    """The orthant's exact Newton step from the Gram matrix: on ``[intercept (if off),
    A]`` (the active set), ``(G_AA + diag(0, l2_A)) d = (c - q)_A - (0, l2_A b_A + l1_A
    s_A)`` by Cholesky, cut at the first sign change or bound along ``t d`` (the
    coordinate that sets the cut lands on its kink; the model decreases all along the
    segment, a convex quadratic minimised at its end); ``q`` and the intercept ``st[3]``
    follow it. Nothing moves when the system is singular or nearly so."""
    na = np.int64(0)
    for a in range(m):
        j = ws[a]
        if b[j] != 0.0 and lo[j] < b[j] < hi[j]:
            A[na] = j
            pos[off + na] = a + off
            na += 1
    if na == 0:
        return
    if off:
        pos[0] = 0  # the intercept's row
    k = na + off
    H = np.empty((k, k))
    d = np.empty(k)
    for s1 in range(k):
        d[s1] = c[pos[s1]] - q[pos[s1]]
        for s2 in range(k):
            H[s1, s2] = G[pos[s1], pos[s2]]
    for a in range(na):
        j = A[a]
        H[off + a, off + a] += l2[j]
        d[off + a] -= l2[j] * b[j] + (l1[j] if b[j] > 0.0 else -l1[j])
    if not cholesky_factor(H, k):
        return
    cholesky_substitute(H, k, d)
    t = 1.0
    cut = -1
    kink = 0.0
    for a in range(na):
        j = A[a]
        new = b[j] + d[off + a]
        if not np.isfinite(new):
            return
        if new * b[j] <= 0.0 and b[j] / (b[j] - new) < t:
            t, cut, kink = b[j] / (b[j] - new), a, 0.0
        if new > hi[j] and (hi[j] - b[j]) / d[off + a] < t:
            t, cut, kink = (hi[j] - b[j]) / d[off + a], a, hi[j]
        elif new < lo[j] and (lo[j] - b[j]) / d[off + a] < t:
            t, cut, kink = (lo[j] - b[j]) / d[off + a], a, lo[j]
    if not t > 0.0:
        return
    for s1 in range(k):
        if s1 < off:
            move = t * d[0]
            st[3] += move
        else:
            j = A[s1 - off]
            new = kink if s1 - off == cut else b[j] + t * d[s1]
            move = new - b[j]
            b[j] = new
        for r in range(m + off):
            q[r] += move * G[r, pos[s1]]


@njit(**KERNEL, fastmath=False)
def gram_model_step(X, v, xm, z, st, b, ws, m, intercept, l1, l2, lo, hi, thr, max_sweeps,
                    chunk):
    """Minimise the IRLS model on ``ws[:m]`` from its weighted Gram matrix.

    With ``Z = [1 (if intercept), X[:, ws] - xm[ws]]``, ``G = Z^T V Z`` and ``c = Z^T V z``
    (``z`` the working residual at the model's centre, ``st[0] = 0``), the model is
    ``1/2 d^T G d - c^T d + penalty`` in the moves ``d``; coordinate descent on it costs
    ``O(m)`` per coordinate instead of ``O(n)``, and every ``chunk`` sweeps without
    convergence the orthant's exact Newton step is taken from ``G``.
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
