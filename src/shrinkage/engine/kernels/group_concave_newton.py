"""Newton steps of a gaussian group MCP/SCAD model on its active groups (numba).

On the ``m`` features of the non-zero groups (local indexing, group ``h`` on
``off[h]:off[h + 1]``) with ``C`` the loss's curvature in the standardized coefficients
``b`` and ``g`` minus its gradient, the model change along a step ``d`` is::

    phi(d) = -g.d + d^T C d / 2 + sum_h [P_h(b_h + d_h) - P_h(b_h)],
    P_h(x) = rho(||x||; l1_h, gamma) + l2_h / 2 ||x||^2

(:mod:`~shrinkage.engine.kernels.concave` for ``rho``). While no group is at zero it is
smooth (``rho`` is continuously differentiable, piecewise twice), with gradient
``-g_h + a_h b_h`` and Hessian ``C + diag_h(a_h I + (c_h - a_h) u_h u_h^T)``, where
``r_h = ||b_h||``, ``u_h = b_h / r_h``, ``a_h = rho'(r_h) / r_h + l2_h`` (the curvature
across the radius) and ``c_h = rho''(r_h) + l2_h`` (along it, negative on a concave
piece). :func:`group_newton` takes damped Newton steps on it where the Hessian is
positive definite (a Cholesky factor), each cut where a group's norm reaches an edge of
its piece of ``rho`` or ``1 - _CUT_SHARE`` of the way to zero (the steps end there), with
a backtracking search on the exact ``phi`` that keeps a step only where it lowers the
model by Armijo's fraction of its slope. Groups stay non-zero (block descent decides
which leave).

``C`` is read from a cache as ``C_ij = w_i w_j buf[pos_i, pos_j]`` (``w`` the inverse
column scales for a raw centred Gram, ones for a standardized one).
"""

import numpy as np
from numba import njit

from .active_set import cancelled, cholesky_solve
from .concave import MCP, rho, slope

_ARMIJO = 1e-4  # the share of the slope a kept step must gain
_MAX_HALVINGS = 30
_CUT_SHARE = 0.9  # a group heading for zero goes this share of the way in one step
_EDGE = 1e-12  # a norm this close (relatively) to an edge of its piece is on the edge


@njit(cache=True, nogil=True, inline="always")
def _curvature(kind, r, lam1, gamma):
    """``rho''(r)`` on the piece holding ``r > 0`` (its left edge's piece at an edge)."""
    if kind == MCP:
        return -1.0 / gamma if r <= gamma * lam1 else 0.0
    if lam1 < r <= gamma * lam1:
        return -1.0 / (gamma - 1.0)
    return 0.0


@njit(cache=True, nogil=True, fastmath=False)
def _gram_block(buf, pos, w):
    m = pos.shape[0]
    C = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            C[i, j] = buf[pos[i], pos[j]] * w[i] * w[j]
    return C


@njit(cache=True, nogil=True, fastmath=False)
def _system(kind, gamma, C, g, b, off, l1, l2, H, grad):
    """The Hessian ``H`` and gradient ``grad`` of the model at ``b`` (module docstring)."""
    for i in range(C.shape[0]):
        for j in range(C.shape[0]):
            H[i, j] = C[i, j]
    for h in range(off.shape[0] - 1):
        a0, a1 = off[h], off[h + 1]
        r = 0.0
        for i in range(a0, a1):
            r += b[i] * b[i]
        r = np.sqrt(r)
        a = slope(kind, r, l1[h], gamma) / r + l2[h]
        c = _curvature(kind, r, l1[h], gamma) + l2[h]
        for i in range(a0, a1):
            grad[i] = a * b[i] - g[i]
            H[i, i] += a
            for j in range(a0, a1):
                H[i, j] += (c - a) * b[i] * b[j] / (r * r)


@njit(cache=True, nogil=True, fastmath=False)
def _descent(H, grad, d):
    """``d = -H^-1 grad`` through the Cholesky factor of ``H`` (``H`` is overwritten);
    False where ``H`` is not clearly positive definite (the model is not locally convex:
    its stationary point there could be a saddle, and a shifted step crawls; the sweeps
    go on instead)."""
    m = H.shape[0]
    for i in range(m):
        d[i] = -grad[i]
    if not cholesky_solve(H, d, m):
        return False
    for i in range(m):
        if not np.isfinite(d[i]):
            return False
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _cancels(C, d, dCd, off, l2):
    """:func:`~.active_set.cancelled` for the step ``d`` (``dCd = d^T C d``) with the
    groups' ridge parts: a step along a near-null direction of collinear columns."""
    ridge = 0.0
    spread = 0.0
    for h in range(off.shape[0] - 1):
        for i in range(off[h], off[h + 1]):
            ridge += l2[h] * d[i] * d[i]
            spread += C[i, i] * d[i] * d[i]
    return cancelled(dCd + ridge, spread + ridge)


@njit(cache=True, nogil=True, inline="always")
def _edges(kind, r, lam1, gamma):
    """The edges ``(lo, hi)`` of the piece of ``rho`` holding ``r > 0``."""
    if kind == MCP:
        return (0.0, gamma * lam1) if r <= gamma * lam1 else (gamma * lam1, np.inf)
    if r <= lam1:
        return 0.0, lam1
    if r <= gamma * lam1:
        return lam1, gamma * lam1
    return gamma * lam1, np.inf


@njit(cache=True, nogil=True, inline="always")
def _first_root(dd, bd, c):
    """The smallest ``tau > 0`` with ``dd tau^2 + 2 bd tau + c = 0`` (inf if none)."""
    disc = bd * bd - dd * c
    if dd <= 0.0 or disc < 0.0:
        return np.inf
    q = np.sqrt(disc)
    lo = (-bd - q) / dd
    if lo > 0.0:
        return lo
    hi = (-bd + q) / dd
    return hi if hi > 0.0 else np.inf


@njit(cache=True, nogil=True, fastmath=False)
def _edge_cut(kind, gamma, b, d, off, l1):
    """The largest ``tau <= 1`` for which every group's norm ``||b_h + tau d_h||``
    stays on its piece of ``rho`` and above ``1 - _CUT_SHARE`` of its norm now. A group
    on an edge (to rounding) belongs to the piece it moves into."""
    tau = 1.0
    for h in range(off.shape[0] - 1):
        bb = 0.0
        bd = 0.0
        dd = 0.0
        for i in range(off[h], off[h + 1]):
            bb += b[i] * b[i]
            bd += b[i] * d[i]
            dd += d[i] * d[i]
        r = np.sqrt(bb)
        lo, hi = _edges(kind, r * (1.0 + (_EDGE if bd > 0.0 else -_EDGE)), l1[h], gamma)
        lo = max(lo, (1.0 - _CUT_SHARE) * r)
        if bb < hi * hi:  # (not on the edge it leaves by)
            tau = min(tau, _first_root(dd, bd, bb - hi * hi))
        if bb > lo * lo:
            tau = min(tau, _first_root(dd, bd, bb - lo * lo))
    return tau


@njit(cache=True, nogil=True, fastmath=False)
def _penalty_change(kind, gamma, b, d, t, off, l1, l2):
    """``sum_h P_h(b_h + t d_h) - P_h(b_h)``."""
    out = 0.0
    for h in range(off.shape[0] - 1):
        r0 = 0.0
        r1 = 0.0
        for i in range(off[h], off[h + 1]):
            x = b[i] + t * d[i]
            r0 += b[i] * b[i]
            r1 += x * x
        out += (rho(kind, np.sqrt(r1), l1[h], gamma) + 0.5 * l2[h] * r1
                - rho(kind, np.sqrt(r0), l1[h], gamma) - 0.5 * l2[h] * r0)
    return out


@njit(cache=True, nogil=True, fastmath=False)
def group_newton(kind, gamma, buf, pos, w, g, b, off, l1, l2, tol, max_steps):
    """Damped Newton steps on the active groups' model (module docstring).

    ``b`` (no group at zero) and ``g`` (minus the loss's gradient at ``b``) are updated
    in place, ``g`` kept exact through ``C``. Stops when the Newton decrement
    ``-grad . d`` falls to ``tol`` (the model's own scale), where the Hessian is not
    positive definite, when no backtracked step gains Armijo's share of the slope (that
    step is not taken), after a step cut at an edge, or after ``max_steps``. Returns the
    number of steps taken; every one lowered the model.
    """
    m = b.shape[0]
    C = _gram_block(buf, pos, w)
    H = np.empty((m, m))
    grad = np.empty(m)
    d = np.empty(m)
    Cd = np.empty(m)
    steps = 0
    for _ in range(max_steps):
        _system(kind, gamma, C, g, b, off, l1, l2, H, grad)
        if not _descent(H, grad, d):
            return steps
        dec = 0.0  # -grad . d = d^T H d > 0
        gd = 0.0
        dCd = 0.0
        for i in range(m):
            acc = 0.0
            for j in range(m):
                acc += C[i, j] * d[j]
            Cd[i] = acc
            dec -= grad[i] * d[i]
            gd += g[i] * d[i]
            dCd += d[i] * acc
        if not dec > tol or _cancels(C, d, dCd, off, l2):
            return steps
        cut = _edge_cut(kind, gamma, b, d, off, l1)
        t = cut
        kept = False
        for _ in range(_MAX_HALVINGS):
            phi = -t * gd + 0.5 * t * t * dCd + _penalty_change(kind, gamma, b, d, t, off, l1,
                                                                 l2)
            if phi < 0.0 and phi <= -_ARMIJO * t * dec:
                kept = True
                break
            t *= 0.5
        if not kept:
            return steps
        for i in range(m):
            b[i] += t * d[i]
            g[i] -= t * Cd[i]
        steps += 1
        if cut < 1.0:  # a group reached an edge of its piece: sweeps go on from there
            return steps
    return steps
