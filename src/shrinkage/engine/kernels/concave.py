"""Folded-concave penalties (MCP, SCAD) one coordinate at a time: exact thresholds, CD, KKT.

In standardized units ``t = s_j b_j`` a feature carries (ncvreg's parameterisation, with
``lam1 = lam * l1_ratio * pf_j`` and ``lam2 = lam * (1 - l1_ratio) * pf_j``)::

    rho(|t|) + lam2 / 2 * t^2
    MCP:  rho(t) = lam1 t - t^2 / (2 gamma)                    t <= gamma lam1
                   gamma lam1^2 / 2                            t >  gamma lam1
    SCAD: rho(t) = lam1 t                                      t <= lam1
                   (2 gamma lam1 t - t^2 - lam1^2) / (2 (gamma - 1))   lam1 < t <= gamma lam1
                   lam1^2 (gamma + 1) / 2                      t >  gamma lam1

The kind is an integer (``MCP``, ``SCAD``), never a string. :func:`threshold` is the exact
global minimiser of the univariate problem ``v/2 t^2 - u t + rho(|t|) + lam2/2 t^2``
(``v > 0`` the loss's curvature in standardized units, ``u = v t_now + g_j / s_j``): the
closed forms of Breheny & Huang (2011) where that problem is convex (``v + lam2`` above
the penalty's concavity, ``1/gamma`` for MCP and ``1/(gamma - 1)`` for SCAD), and the best
of its piecewise candidates where it is not.
"""

import numpy as np
from numba import njit

from .cd import dense_gradient, intercept_step_dense, intercept_step_sparse, sparse_dot
from .flags import FASTMATH
from .glm import loss_step

MCP = 1
SCAD = 2


@njit(cache=True, nogil=True, inline="always")
def rho(kind, t, lam1, gamma):
    """The penalty at ``t >= 0`` (standardized units)."""
    if kind == MCP:
        if t <= gamma * lam1:
            return lam1 * t - t * t / (2.0 * gamma)
        return 0.5 * gamma * lam1 * lam1
    if t <= lam1:
        return lam1 * t
    if t <= gamma * lam1:
        return (2.0 * gamma * lam1 * t - t * t - lam1 * lam1) / (2.0 * (gamma - 1.0))
    return 0.5 * lam1 * lam1 * (gamma + 1.0)


@njit(cache=True, nogil=True, inline="always")
def slope(kind, t, lam1, gamma):
    """``rho'(t)`` at ``t > 0`` (``lam1`` at ``t = 0+``)."""
    if kind == MCP:
        return lam1 - t / gamma if t <= gamma * lam1 else 0.0
    if t <= lam1:
        return lam1
    if t <= gamma * lam1:
        return (gamma * lam1 - t) / (gamma - 1.0)
    return 0.0


@njit(cache=True, nogil=True, inline="always")
def _soft(u, lam):
    if u > lam:
        return u - lam
    if u < -lam:
        return u + lam
    return 0.0


@njit(cache=True, nogil=True, inline="always")
def _value(kind, t, u, c, lam1, gamma):
    """``c/2 t^2 - u t + rho(|t|)`` with ``c = v + lam2``."""
    return 0.5 * c * t * t - u * t + rho(kind, abs(t), lam1, gamma)


@njit(cache=True, nogil=True)
def threshold(kind, u, v, lam1, lam2, gamma):
    """``argmin_t  (v + lam2)/2 t^2 - u t + rho(|t|)`` exactly (``v + lam2 > 0``)."""
    c = v + lam2
    au = abs(u)
    sgn = 1.0 if u >= 0.0 else -1.0
    if kind == MCP:
        if c > 1.0 / gamma:  # convex: the closed form (firm thresholding)
            if au <= gamma * lam1 * c:
                return _soft(u, lam1) / (c - 1.0 / gamma)
            return u / c
        # concave on [0, gamma lam1]: the minimum is at 0 or beyond gamma lam1
        t2 = sgn * max(gamma * lam1, au / c)
        return t2 if _value(kind, t2, u, c, lam1, gamma) < 0.0 else 0.0
    if c > 1.0 / (gamma - 1.0):
        if au <= lam1 * (c + 1.0):
            return _soft(u, lam1) / c
        if au <= gamma * lam1 * c:
            return sgn * (au - gamma * lam1 / (gamma - 1.0)) / (c - 1.0 / (gamma - 1.0))
        return u / c
    # concave on [lam1, gamma lam1]: compare the best points of the two convex pieces
    ta = sgn * min(max(au - lam1, 0.0) / c, lam1)
    tc = sgn * max(gamma * lam1, au / c)
    if _value(kind, tc, u, c, lam1, gamma) < _value(kind, ta, u, c, lam1, gamma):
        return tc
    return ta


@njit(cache=True, nogil=True, inline="always")
def violation(kind, gs, t, lam1, lam2, gamma):
    """Distance of standardized coordinate ``t`` from stationarity, ``gs = g_j / s_j``.

    ``t != 0``: ``|gs - lam2 t - rho'(|t|) sign(t)|``; ``t = 0``: ``max(|gs| - lam1, 0)``
    (the Clarke subdifferential of ``rho(|t|)`` at 0 is ``[-lam1, lam1]``).
    """
    if t > 0.0:
        return abs(gs - lam2 * t - slope(kind, t, lam1, gamma))
    if t < 0.0:
        return abs(gs - lam2 * t + slope(kind, -t, lam1, gamma))
    d = abs(gs) - lam1
    return d if d > 0.0 else 0.0


@njit(cache=True, nogil=True)
def kkt_scan(kind, gamma, g, b, scale, lam1, lam2, cand, in_ws, out):
    """Largest violation over candidates; violators outside ``in_ws`` written to ``out``.

    Returns ``(max_violation, n_violators)`` in standardized-gradient units.
    """
    vmax = 0.0
    m = 0
    for j in range(g.shape[0]):
        if not cand[j]:
            continue
        s = scale[j]
        vj = violation(kind, g[j] / s, b[j] * s, lam1[j], lam2[j], gamma)
        if vj > 0.0:
            if vj > vmax:
                vmax = vj
            if not in_ws[j]:
                out[m] = j
                m += 1
    return vmax, m


@njit(cache=True, nogil=True)
def ws_kkt(kind, gamma, g, b, scale, lam1, lam2, ws, m):
    """Largest violation over ``ws[:m]``."""
    vmax = 0.0
    for k in range(m):
        j = ws[k]
        s = scale[j]
        vj = violation(kind, g[j] / s, b[j] * s, lam1[j], lam2[j], gamma)
        if vj > vmax:
            vmax = vj
    return vmax


@njit(cache=True, nogil=True)
def penalty_sum(kind, gamma, b, scale, lam1, lam2, idx):
    """``sum_{j in idx} rho(s_j |b_j|) + lam2_j / 2 (s_j b_j)^2``."""
    s = 0.0
    for k in range(idx.shape[0]):
        j = idx[k]
        t = abs(b[j] * scale[j])
        s += rho(kind, t, lam1[j], gamma) + 0.5 * lam2[j] * t * t
    return s


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _sweep_dense(kind, gamma, X, v, uv, xm, xv, h, scale, lam1, lam2, b, r, st, idx, m,
                 intercept, damp, anchor):
    n = r.shape[0]
    svr = st[1]
    V = st[2]
    maxch = 0.0
    for k in range(m):
        j = idx[k]
        hj = h[j]
        if hj <= 0.0:
            continue
        c = xm[j]
        gj = dense_gradient(X, j, c, v, uv, r)
        s = scale[j]
        vs = hj / (s * s)
        u = vs * s * (b[j] + damp * anchor[j]) + gj / s
        new = threshold(kind, u, (1.0 + damp) * vs, lam1[j], lam2[j], gamma) / s
        d = new - b[j]
        if d != 0.0:
            b[j] = new
            for i in range(n):
                r[i] -= d * (X[i, j] - c)
            svr -= d * (xv[j] - c * V)
            ch = hj * d * d
            if ch > maxch:
                maxch = ch
    if intercept:
        svr, ch = intercept_step_dense(v, r, st, V)
        maxch = max(maxch, ch)
    st[1] = svr
    return maxch


@njit(cache=True, nogil=True)
def _sweep_sparse(kind, gamma, xd, xi, xp, v, uv, xm, xv, h, scale, lam1, lam2, b, r, st,
                  idx, m, intercept, damp, anchor):
    roff = st[0]
    svr = st[1]
    V = st[2]
    maxch = 0.0
    for k in range(m):
        j = idx[k]
        hj = h[j]
        if hj <= 0.0:
            continue
        c = xm[j]
        # g_j = sum_i v_i (x_ij - xm_j) (r_i + roff), from the stored non-zeros only
        gj = sparse_dot(xd, xi, xp, j, v, uv, r) + roff * xv[j] - c * (svr + roff * V)
        s = scale[j]
        vs = hj / (s * s)
        u = vs * s * (b[j] + damp * anchor[j]) + gj / s
        new = threshold(kind, u, (1.0 + damp) * vs, lam1[j], lam2[j], gamma) / s
        d = new - b[j]
        if d != 0.0:
            b[j] = new
            for q in range(xp[j], xp[j + 1]):
                r[xi[q]] -= d * xd[q]
            roff += d * c
            svr -= d * xv[j]
            ch = hj * d * d
            if ch > maxch:
                maxch = ch
    if intercept:
        roff, ch = intercept_step_sparse(svr, roff, V, st)
        maxch = max(maxch, ch)
    st[0] = roff
    st[1] = svr
    return maxch


@njit(cache=True, nogil=True)
def concave_cd(kind, gamma, X, xd, xi, xp, sparse, v, uv, xm, xv, h, scale, lam1, lam2, b,
               r, st, idx, m, intercept, thr, max_sweeps, damp, anchor):
    """Coordinate descent on ``1/2 sum_i v_i r_i^2 + sum_j rho(s_j |b_j|) + lam2_j/2 ...``.

    ``r`` is the model's residual (sparse: ``r + st[0]``), ``st = [roff, sum_i v_i r_i,
    sum_i v_i, b0]`` as in :func:`~.cd.cd_quadratic`; each coordinate moves to the exact
    minimiser of the model along it (:func:`threshold`), so the model never increases.
    Stops after the first sweep whose largest ``h_j * (change of b_j)^2`` is below
    ``thr``; returns the number of sweeps. ``damp > 0`` adds the proximal term
    ``damp * h_j / 2 * (b_j - anchor_j)^2`` to the model (a damped step, for when the
    undamped one does not lower the true objective).
    """
    for it in range(max_sweeps):
        if sparse:
            ch = _sweep_sparse(kind, gamma, xd, xi, xp, v, uv, xm, xv, h, scale, lam1, lam2,
                               b, r, st, idx, m, intercept, damp, anchor)
        else:
            ch = _sweep_dense(kind, gamma, X, v, uv, xm, xv, h, scale, lam1, lam2, b, r, st,
                              idx, m, intercept, damp, anchor)
        if ch < thr:
            return it + 1
    return max_sweeps


@njit(cache=True, nogil=True)
def line_search(fam, kind, gamma, y, w, eta, deta, eta_t, b, b_old, idx, scale, lam1, lam2,
                slack, max_halvings):
    """Backtracking on ``F(t) = loss(eta + t deta) + penalty(b_old + t (b - b_old))``.

    ``b`` holds the model's minimiser on the coordinates ``idx`` at entry and the accepted
    point at exit. Accepts the first ``t`` in 1, 1/2, ... with ``F(t) < F(0)``, or ``t = 1``
    with a change within ``slack`` (the rounding level of the step's own computation) or
    the rounding of its own terms (the model is solved: the step is rounding noise).
    Writes ``eta_t = eta + t deta``; returns ``(t, F(t) - F(0))``, ``t = 0`` (and
    ``b`` restored) when no step lowers ``F``.
    """
    target = b.copy()
    p0 = 0.0
    for k in range(idx.shape[0]):
        j = idx[k]
        a = abs(b_old[k] * scale[j])
        p0 += rho(kind, a, lam1[j], gamma) + 0.5 * lam2[j] * a * a
    t = 1.0
    for _ in range(max_halvings):
        df, mag = loss_step(fam, y, w, eta, deta, t, eta_t)
        p1 = 0.0
        for k in range(idx.shape[0]):
            j = idx[k]
            bj = b_old[k] + t * (target[j] - b_old[k])
            b[j] = bj
            a = abs(bj * scale[j])
            p1 += rho(kind, a, lam1[j], gamma) + 0.5 * lam2[j] * a * a
        df += p1 - p0
        mag += p1 + p0
        if df < 0.0 or (t == 1.0 and (df <= slack
                                      or df <= 4.0 * 2.220446049250313e-16 * mag)):
            return t, df
        t *= 0.5
    for k in range(idx.shape[0]):
        b[idx[k]] = b_old[k]
    return 0.0, 0.0



@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gram_cd(kind, gamma, G, g, b, scale, lam1, lam2, thr, max_sweeps):
    """Coordinate descent of a gaussian model in Gram space (covariance updates, n >> p).

    On a working set of ``m`` features (local indexing): ``G`` their centred weighted Gram
    matrix, ``g`` the gradient ``Xc^T W r`` at ``b`` (kept exact: ``g -= G[:, j] d_j``),
    ``b, scale, lam1, lam2`` theirs. The same exact coordinate minimiser and stopping test
    as :func:`concave_cd`; the unpenalised intercept is orthogonal to centred columns and
    does not move. Returns the number of sweeps.
    """
    m = g.shape[0]
    for it in range(max_sweeps):
        maxch = 0.0
        for j in range(m):
            hj = G[j, j]
            if hj <= 0.0:
                continue
            s = scale[j]
            vs = hj / (s * s)
            new = threshold(kind, vs * s * b[j] + g[j] / s, vs, lam1[j], lam2[j], gamma) / s
            d = new - b[j]
            if d != 0.0:
                b[j] = new
                for k in range(m):
                    g[k] -= G[k, j] * d
                ch = hj * d * d
                if ch > maxch:
                    maxch = ch
        if maxch < thr:
            return it + 1
    return max_sweeps


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


@njit(cache=True, nogil=True)
def piece_steps(kind, gamma, buf, pos, g, b, s, lam1, lam2, max_steps):
    """Exact steps on fixed quadratic pieces of ``rho``, followed through piece changes.

    On ``m`` coordinates with non-zero ``b`` (local indexing; ``G = buf[pos][:, pos]``
    the loss's curvature in ``b``'s units, ``g`` its negative gradient, both kept exact
    as ``b`` moves), each step solves, for the pieces held (``rho''`` their curvature)
    and the coordinates still non-zero (``F``)::

        (G + diag(s^2 (rho'' + lam2)))_FF d_F = (g - s (rho'(|t|) sign(t) + lam2 t))_F

    with ``t = s b``. Where ``d`` has negative curvature (a saddle of a nonconvex piece)
    ``-d`` descends without bound on the pieces and is followed instead. The step is cut
    where the first coordinate reaches an edge of its piece: it changes piece there
    (``rho`` is continuously differentiable), or, at zero, stays there and leaves ``F``
    (coordinate descent decides later whether it re-enters); the next step starts. A
    step is taken only if the model ``-g.d + d^T G d / 2 + P`` does not increase.

    The system's inverse is formed once (``O(m^3)``) and then updated in ``O(m^2)`` per
    piece change (Sherman-Morrison on a diagonal entry) or drop (the Schur complement);
    the steps end where such an update would divide by a pivot near zero. Returns the
    number of steps taken (``np.linalg.inv`` raises on a singular system).
    """
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
    Hi = np.linalg.inv(H)
    rhs = np.empty(m)
    d = np.empty(m)
    dd = np.empty(m)
    Gd = np.empty(m)
    last = -1
    steps = 0
    for _ in range(max_steps):
        for k in range(m):
            t = b[k] * s[k]
            rhs[k] = 0.0 if t == 0.0 else g[k] - s[k] * (
                slope(kind, abs(t), lam1[k], gamma) * sign[k] + lam2[k] * t)
        dr = 0.0
        for j in range(m):
            acc = 0.0
            for k in range(m):
                acc += Hi[j, k] * rhs[k]
            d[j] = acc
            dr += acc * rhs[j]
        if not np.isfinite(dr):
            return steps
        full = 1.0
        if dr < 0.0:  # negative curvature along d: -d descends until an edge
            for k in range(m):
                d[k] = -d[k]
            full = np.inf
        tau = full
        kk = -1
        for k in range(m):
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
        if not np.isfinite(tau):
            return steps
        to_zero = kk >= 0 and sign[kk] * d[kk] < 0.0 and piece[kk] == 0
        if tau > 0.0 or to_zero:
            for k in range(m):
                dd[k] = tau * d[k] if b[k] != 0.0 else 0.0
            if to_zero:
                dd[kk] = -b[kk]  # exactly to zero
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
                return steps
            for k in range(m):
                b[k] += dd[k]
                g[k] -= Gd[k]
            if to_zero:
                b[kk] = 0.0
            steps += 1
        if kk < 0:  # the full step: the pieces' stationary point
            return steps
        if to_zero:  # kk leaves F: the Schur complement of its pivot
            piv = Hi[kk, kk]
            if not abs(piv) > 1e-12 * abs(H[kk, kk]):
                return steps
            for i in range(m):
                for j in range(m):
                    if i != kk and j != kk:
                        Hi[i, j] -= Hi[i, kk] * Hi[kk, j] / piv
            for i in range(m):
                Hi[i, kk] = 0.0
                Hi[kk, i] = 0.0
            Hi[kk, kk] = 1.0
        else:  # kk changes piece: its diagonal entry changes by delta
            new = piece[kk] + (1 if sign[kk] * d[kk] > 0.0 else -1)
            delta = s[kk] * s[kk] * (_piece_curvature(kind, new, gamma)
                                     - _piece_curvature(kind, piece[kk], gamma))
            piece[kk] = new
            if delta != 0.0:
                den = 1.0 + delta * Hi[kk, kk]
                if not abs(den) > 1e-10:
                    return steps
                H[kk, kk] += delta
                col = Hi[:, kk].copy()
                for i in range(m):
                    for j in range(m):
                        Hi[i, j] -= delta * col[i] * col[j] / den
            if tau == 0.0 and kk == last:  # the same coordinate back and forth: stop
                return steps
        last = kk
    return steps
