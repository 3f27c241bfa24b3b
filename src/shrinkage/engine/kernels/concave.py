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

from numba import njit

from .cd import (
    far_column,
    far_gradient,
    far_move,
    intercept_step_dense,
    intercept_step_sparse,
)
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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


@njit(cache=True, nogil=True, fastmath=False)
def kkt_scan(kind, gamma, g, b, scale, unit, lam1, lam2, cand, in_ws, out):
    """Largest violation over candidates; violators outside ``in_ws`` written to ``out``.

    Returns ``(max_violation, n_violators)`` in standardized-gradient units, each
    feature's times ``unit_j`` (the penalty's scale over the certificate's,
    ``engine.problem.Problem``).
    """
    vmax = 0.0
    m = 0
    for j in range(g.shape[0]):
        if not cand[j]:
            continue
        s = scale[j]
        vj = violation(kind, g[j] / s, b[j] * s, lam1[j], lam2[j], gamma) * unit[j]
        if vj > 0.0:
            if vj > vmax:
                vmax = vj
            if not in_ws[j]:
                out[m] = j
                m += 1
    return vmax, m


@njit(cache=True, nogil=True, fastmath=False)
def ws_kkt(kind, gamma, g, b, scale, unit, lam1, lam2, ws, m):
    """Largest violation over ``ws[:m]`` (units as :func:`kkt_scan`)."""
    vmax = 0.0
    for k in range(m):
        j = ws[k]
        s = scale[j]
        vj = violation(kind, g[j] / s, b[j] * s, lam1[j], lam2[j], gamma) * unit[j]
        if vj > vmax:
            vmax = vj
    return vmax


@njit(cache=True, nogil=True, fastmath=False)
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
        # written out, not called (kernels.flags: a call passing arrays costs reference
        # counting in the loop)
        gj = 0.0
        if uv > 0.0:
            for i in range(n):
                gj += (X[i, j] - c) * r[i]
            gj *= uv
        else:
            for i in range(n):
                gj += (X[i, j] - c) * v[i] * r[i]
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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
        # g_j = sum_i v_i (x_ij - xm_j) (r_i + roff), from the stored non-zeros only;
        # written out, not called (kernels.flags)
        gj = 0.0
        if uv > 0.0:
            for q in range(xp[j], xp[j + 1]):
                gj += xd[q] * r[xi[q]]
            gj *= uv
        else:
            for q in range(xp[j], xp[j + 1]):
                i = xi[q]
                gj += xd[q] * v[i] * r[i]
        gj = gj + roff * xv[j] - c * (svr + roff * V)
        far = far_column(c, V, hj, xp[j + 1] - xp[j], r.shape[0])
        if far:
            gj = far_gradient(xd, xi, xp, j, v, uv, r, roff, c)
        s = scale[j]
        vs = hj / (s * s)
        u = vs * s * (b[j] + damp * anchor[j]) + gj / s
        new = threshold(kind, u, (1.0 + damp) * vs, lam1[j], lam2[j], gamma) / s
        d = new - b[j]
        if d != 0.0:
            b[j] = new
            if far:
                svr -= far_move(xd, xi, xp, j, d, c, r, xv[j], V)
            else:
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


@njit(cache=True, nogil=True, fastmath=FASTMATH)
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
        ch = 0.0
        if xd is not None:
            ch = _sweep_sparse(kind, gamma, xd, xi, xp, v, uv, xm, xv, h, scale, lam1, lam2,
                               b, r, st, idx, m, intercept, damp, anchor)
        if X is not None:
            ch = _sweep_dense(kind, gamma, X, v, uv, xm, xv, h, scale, lam1, lam2, b, r, st,
                              idx, m, intercept, damp, anchor)
        if ch < thr:
            return it + 1
    return max_sweeps


@njit(cache=True, nogil=True, fastmath=False)
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
