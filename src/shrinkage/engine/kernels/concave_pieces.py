"""Exact steps of a gaussian MCP/SCAD model on fixed quadratic pieces of ``rho`` (numba).

On the ``m`` active coordinates (non-zero ``b``; local indexing) with ``G`` the loss's
curvature in ``b``'s units and ``g`` its negative gradient, and with each coordinate's
sign and piece of ``rho`` held, the model ``-g.d + d^T G d / 2 + P(b + d)`` is a
quadratic in ``d`` (:mod:`~shrinkage.engine.kernels.concave` for ``rho``; ``t = s b``)::

    (G + diag(s^2 (rho'' + lam2)))_FF d_F = (g - s (rho'(|t|) sign(t) + lam2 t))_F

over the coordinates ``F`` still non-zero. :func:`piece_steps` solves it, cuts the step
where the first coordinate reaches an edge of its piece and goes on from there: the
coordinate changes piece (``rho`` is continuously differentiable at the edge), a
rank-one change of the system, or, reaching zero, stays there and leaves ``F``.
"""

import numpy as np
from numba import njit

from .active_set import step_cancels
from .concave import MCP, rho, slope


@njit(cache=True, nogil=True, inline="always")
def _piece_edges(kind, piece, lam1, gamma):
    """The edges ``(lo, hi)`` of quadratic piece ``piece`` of ``rho`` (magnitudes)."""
    if kind == MCP:
        if piece == 0:
            return 0.0, gamma * lam1
        return gamma * lam1, np.inf
    if piece == 0:
        return 0.0, lam1
    if piece == 1:
        return lam1, gamma * lam1
    return gamma * lam1, np.inf


@njit(cache=True, nogil=True, inline="always")
def _piece_curvature(kind, piece, gamma):
    """``rho''`` on quadratic piece ``piece``."""
    if kind == MCP:
        return -1.0 / gamma if piece == 0 else 0.0
    return -1.0 / (gamma - 1.0) if piece == 1 else 0.0


@njit(cache=True, nogil=True, fastmath=False)
def _system(kind, gamma, buf, pos, b, s, lam1, lam2):
    """``G = buf[pos][:, pos]``, each coordinate's piece and sign, and the system matrix
    ``H = G + diag(s^2 (rho'' + lam2))`` of the pieces held."""
    m = pos.shape[0]
    G = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            G[i, j] = buf[pos[i], pos[j]]
    piece = np.empty(m, dtype=np.int64)
    sign = np.empty(m)
    H = G.copy()
    for k in range(m):
        a = abs(b[k] * s[k])
        sign[k] = 1.0 if b[k] > 0.0 else -1.0
        if kind == MCP:
            piece[k] = 0 if a <= gamma * lam1[k] else 1
        else:
            piece[k] = 0 if a <= lam1[k] else (1 if a <= gamma * lam1[k] else 2)
        H[k, k] += s[k] * s[k] * (_piece_curvature(kind, piece[k], gamma) + lam2[k])
    return G, H, piece, sign


@njit(cache=True, nogil=True, fastmath=False)
def _rhs(kind, gamma, g, b, s, sign, lam1, lam2, rhs):
    """The right-hand side for the pieces held (zero on coordinates at zero)."""
    for k in range(b.shape[0]):
        t = b[k] * s[k]
        rhs[k] = 0.0 if t == 0.0 else g[k] - s[k] * (
            slope(kind, abs(t), lam1[k], gamma) * sign[k] + lam2[k] * t)


@njit(cache=True, nogil=True, fastmath=False)
def _apply_inverse(Hi, rhs, d):
    """``d = Hi rhs``; returns ``d . rhs`` (= ``d^T H d``: negative along a direction of
    negative curvature)."""
    m = rhs.shape[0]
    dr = 0.0
    for j in range(m):
        acc = 0.0
        for k in range(m):
            acc += Hi[j, k] * rhs[k]
        d[j] = acc
        dr += acc * rhs[j]
    return dr


@njit(cache=True, nogil=True, fastmath=False)
def _first_edge(kind, gamma, b, s, d, sign, piece, lam1, full):
    """The step length ``tau <= full`` at which the first coordinate reaches an edge of
    its piece, and that coordinate (-1: none before ``full``)."""
    tau = full
    kk = -1
    for k in range(b.shape[0]):
        a = abs(b[k] * s[k])
        da = sign[k] * d[k] * s[k]
        if a == 0.0 or da == 0.0:
            continue
        lo, hi = _piece_edges(kind, piece[k], lam1[k], gamma)
        tk = (hi - a) / da if da > 0.0 else (lo - a) / da
        tk = max(tk, 0.0)  # a coordinate a rounding error past its edge
        if tk < tau:
            tau = tk
            kk = k
    return tau, kk


@njit(cache=True, nogil=True, fastmath=False)
def _take(kind, gamma, G, g, b, s, lam1, lam2, dd, Gd):
    """Moves ``b`` by ``dd`` (and ``g`` by ``-G dd``) if the model does not increase;
    True if moved."""
    m = b.shape[0]
    dq = 0.0
    for j in range(m):
        acc = 0.0
        for k in range(m):
            acc += G[j, k] * dd[k]
        Gd[j] = acc
    for k in range(m):
        t0 = abs(b[k] * s[k])
        t1 = abs((b[k] + dd[k]) * s[k])
        dq += (-g[k] + 0.5 * Gd[k]) * dd[k]
        dq += (rho(kind, t1, lam1[k], gamma) + 0.5 * lam2[k] * t1 * t1
               - rho(kind, t0, lam1[k], gamma) - 0.5 * lam2[k] * t0 * t0)
    if not dq <= 0.0:
        return False
    for k in range(m):
        b[k] += dd[k]
        g[k] -= Gd[k]
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _drop(Hi, H, kk):
    """``H^-1`` with coordinate ``kk`` held at zero (its row and column of ``H`` replaced
    by the identity's): the Schur complement of its pivot. False on a pivot near zero."""
    piv = Hi[kk, kk]
    if not abs(piv) > 1e-12 * abs(H[kk, kk]):
        return False
    m = Hi.shape[0]
    for i in range(m):
        for j in range(m):
            if i != kk and j != kk:
                Hi[i, j] -= Hi[i, kk] * Hi[kk, j] / piv
    for i in range(m):
        Hi[i, kk] = 0.0
        Hi[kk, i] = 0.0
    Hi[kk, kk] = 1.0
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _shift(Hi, H, kk, delta):
    """``H^-1`` after ``H[kk, kk] += delta`` (Sherman-Morrison). False on a denominator
    near zero."""
    if delta == 0.0:
        return True
    den = 1.0 + delta * Hi[kk, kk]
    if not abs(den) > 1e-10:
        return False
    H[kk, kk] += delta
    col = Hi[:, kk].copy()
    m = Hi.shape[0]
    for i in range(m):
        for j in range(m):
            Hi[i, j] -= delta * col[i] * col[j] / den
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _change(kind, gamma, H, Hi, inverted, kk, to_zero, up, piece, s):
    """Coordinate ``kk`` leaves the system (``to_zero``) or moves one piece up or down:
    ``H`` changed and, once ``inverted``, ``Hi`` updated in ``O(m^2)``. False where an
    update would divide by a pivot near zero."""
    if to_zero:
        if inverted:
            return _drop(Hi, H, kk)
        for i in range(H.shape[0]):
            H[kk, i] = 0.0
            H[i, kk] = 0.0
        H[kk, kk] = 1.0
        return True
    new = piece[kk] + (1 if up else -1)
    delta = s[kk] * s[kk] * (_piece_curvature(kind, new, gamma)
                             - _piece_curvature(kind, piece[kk], gamma))
    piece[kk] = new
    if inverted:
        return _shift(Hi, H, kk, delta)
    H[kk, kk] += delta
    return True


@njit(cache=True, nogil=True, fastmath=False)
def piece_steps(kind, gamma, buf, pos, g, b, s, lam1, lam2, max_steps):
    """Exact steps on the held pieces, followed through piece changes (module docstring).

    ``G = buf[pos][:, pos]``; ``g``, ``b``, ``s``, ``lam1``, ``lam2`` on the ``m`` active
    coordinates, ``g`` and ``b`` updated in place (``g`` kept exact). Each step solves the
    held pieces' system; where its solution ``d`` has negative curvature (a saddle of a
    nonconvex piece) ``-d`` descends without bound on the pieces and is followed instead.
    The step is cut where the first coordinate reaches an edge of its piece (it changes
    piece, or at zero stays there and leaves the system; coordinate descent decides
    later whether it re-enters) and taken only if the model does not increase. The first
    step is one LU solve (``O(m^3 / 3)``, often the only one); from the second on, the
    system's inverse, formed once, is updated in ``O(m^2)`` per change. The steps end on
    a full step (the pieces' stationary point), a refused one, a singular system or a
    pivot near zero, a step along a near-null direction of the active columns
    (:func:`~.active_set.step_cancels`), or after ``max_steps``. Returns the number of steps taken.
    """
    m = pos.shape[0]
    G, H, piece, sign = _system(kind, gamma, buf, pos, b, s, lam1, lam2)
    unridge = -(s * s * lam2)  # step_cancels tests G + diag(s^2 lam2)
    Hi = np.empty((m, m))
    inverted = False
    rhs = np.empty(m)
    d = np.empty(m)
    dd = np.empty(m)
    Gd = np.empty(m)
    last = -1
    steps = 0
    for it in range(max_steps):
        _rhs(kind, gamma, g, b, s, sign, lam1, lam2, rhs)
        try:
            if it == 0:
                d = np.linalg.solve(H, rhs)
            elif not inverted:
                Hi = np.linalg.inv(H)
                inverted = True
        except Exception:  # singular: leave it to coordinate descent
            return steps
        if inverted:
            dr = _apply_inverse(Hi, rhs, d)
        else:
            dr = np.dot(d, rhs)
        if not np.isfinite(dr):
            return steps
        full = 1.0
        if dr < 0.0:  # negative curvature along d: -d descends until an edge
            d = -d
            full = np.inf
        tau, kk = _first_edge(kind, gamma, b, s, d, sign, piece, lam1, full)
        if not np.isfinite(tau):
            return steps
        to_zero = kk >= 0 and sign[kk] * d[kk] < 0.0 and piece[kk] == 0
        if tau > 0.0 or to_zero:
            for k in range(m):
                dd[k] = tau * d[k] if b[k] != 0.0 else 0.0
            if to_zero:
                dd[kk] = -b[kk]  # exactly to zero
            if step_cancels(G, dd, m, unridge):  # collinear active columns
                return steps
            if not _take(kind, gamma, G, g, b, s, lam1, lam2, dd, Gd):
                return steps
            if to_zero:
                b[kk] = 0.0
            steps += 1
        if kk < 0:  # the full step: the pieces' stationary point
            return steps
        if not _change(kind, gamma, H, Hi, inverted, kk, to_zero, sign[kk] * d[kk] > 0.0,
                       piece, s):
            return steps
        if not to_zero and tau == 0.0 and kk == last:  # back and forth: stop
            return steps
        last = kk
    return steps
