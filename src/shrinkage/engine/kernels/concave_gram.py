"""MCP/SCAD coordinate descent in Gram space (covariance updates, gaussian, ``n >> p``).

The gaussian model ``1/2 sum_i w_i r_i^2 + sum_j rho(s_j |b_j|) + lam2_j/2 (s_j b_j)^2``
(the notation of :mod:`.concave`) is written through cached centred weighted Gram
columns ``G[:, col[j]] = Xc^T W Xc_j`` of the features ever cached: the gradient
``g = c - G b`` (``c = Xc^T W yc``) of every feature is kept exact by ``g -= G[:, col[j]]
d_j`` after each move, and ``sum w r^2 = yw - b.c - b.g`` gives the objective from inner
products, so no step touches X. Here:

- :func:`gram_sweep`: one sweep of exact univariate minimisers (:func:`.concave.threshold`);
- :func:`gram_objective`: the objective from ``b, c, g``;
- :func:`anderson_try`: an Anderson-extrapolated point (Bertrand & Massias 2021), kept only
  when its support and signs are those of the current point and the (nonconvex)
  objective decreases;
- :func:`piece_newton`: the exact minimiser on the active set with its signs and
  pieces of ``rho`` fixed (a Cholesky factor carried from step to step,
  :mod:`.concave_factor`; LAPACK's LU where the piece is not convex);
- :func:`convexity_margins`: ncvreg's convexity diagnostic along a path, a Cholesky
  factor grown as features enter;
- :func:`shifted_gram_block`, :func:`rayleigh_quotient`: that diagnostic's matrix from
  cached Gram entries, and an upper bound on its smallest eigenvalue.
"""

import numpy as np
from numba import njit

from .active_set import cancelled, cholesky_substitute
from .anderson import anderson_weights
from .concave import MCP, penalty_sum, rho, slope, threshold
from .concave_factor import factor_sync
from .flags import FASTMATH


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def gram_sweep(kind, gamma, G, col, g, h, scale, lam1, lam2, b, ws, m):
    """One sweep over ``ws[:m]`` (cached features); returns ``max_j h_j * (change)^2``.

    ``h_j = Xc_j^T W Xc_j``; ``lam1, lam2`` in standardized units (per feature).
    """
    p = g.shape[0]
    maxch = 0.0
    for k in range(m):
        j = ws[k]
        hj = h[j]
        if hj <= 0.0:
            continue
        s = scale[j]
        vs = hj / (s * s)
        new = threshold(kind, vs * s * b[j] + g[j] / s, vs, lam1[j], lam2[j], gamma) / s
        d = new - b[j]
        if d != 0.0:
            b[j] = new
            cj = col[j]
            for t in range(p):
                g[t] -= d * G[t, cj]
            ch = hj * d * d
            if ch > maxch:
                maxch = ch
    return maxch


@njit(cache=True, nogil=True, fastmath=False)
def gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, m):
    """``1/2 (yw - b.c - b.g) + penalty`` (``b`` zero outside ``ws[:m]``)."""
    q = yw
    for k in range(m):
        j = ws[k]
        q -= b[j] * (c[j] + g[j])
    return 0.5 * q + penalty_sum(kind, gamma, b, scale, lam1, lam2, ws[:m])


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _move_gradient(G, col, g, ws, m, delta):
    """``g -= sum_k G[:, col[ws_k]] delta_k`` over the non-zero ``delta``."""
    p = g.shape[0]
    for k in range(m):
        d = delta[k]
        if d != 0.0:
            cj = col[ws[k]]
            for t in range(p):
                g[t] -= d * G[t, cj]


@njit(cache=True, nogil=True, fastmath=False)
def anderson_try(kind, gamma, G, col, c, g, yw, scale, lam1, lam2, b, ws, m, hist, K,
                 g_try, delta):
    """Replace ``b`` (and ``g``) by the Anderson extrapolation of the iterates in ``hist``.

    ``hist[:m, 0..K]`` holds ``b[ws]`` after K+1 successive sweeps, the last equal to the
    current ``b``. The extrapolated point is kept only if every coordinate keeps its sign
    (zero stays zero: the same local piece, hence the same local solution is followed)
    and the objective strictly decreases -- the objective is nonconvex, so extrapolation
    is not otherwise safe. Returns True if kept. ``g_try`` (p,) and ``delta`` (m,) are
    scratch.
    """
    cw = anderson_weights(hist, m, K)
    if cw.shape[0] == 0:
        return False
    moved = False
    for k in range(m):
        e = 0.0
        for a in range(K):
            e += cw[a] * hist[k, a + 1]
        bj = b[ws[k]]
        if (e > 0.0) != (bj > 0.0) or (e < 0.0) != (bj < 0.0):
            return False
        delta[k] = e - bj
        if delta[k] != 0.0:
            moved = True
    if not moved:
        return False
    f0 = gram_objective(kind, gamma, b, c, g, yw, scale, lam1, lam2, ws, m)
    for t in range(g.shape[0]):
        g_try[t] = g[t]
    _move_gradient(G, col, g_try, ws, m, delta)
    for k in range(m):
        b[ws[k]] += delta[k]
    f1 = gram_objective(kind, gamma, b, c, g_try, yw, scale, lam1, lam2, ws, m)
    if f1 < f0:
        for t in range(g.shape[0]):
            g[t] = g_try[t]
        return True
    for k in range(m):
        b[ws[k]] -= delta[k]
    return False


@njit(cache=True, nogil=True, inline="always")
def _piece(kind, a, lam1, gamma):
    """The quadratic piece of ``rho`` holding ``a = |t| > 0`` and ``rho''`` there."""
    if kind == MCP:
        if a > gamma * lam1:
            return 1, 0.0
        return 0, -1.0 / gamma
    if a <= lam1:
        return 0, 0.0
    if a <= gamma * lam1:
        return 1, -1.0 / (gamma - 1.0)
    return 2, 0.0


#: A step cut before a sign change stops at this share of the way to zero.
CUT_SHARE = 0.9


@njit(cache=True, nogil=True, fastmath=False)
def piece_newton(kind, gamma, G, col, g, b, scale, lam1, lam2, A, na, fact):
    """Exact minimiser of the model on the active set ``A[:na]``, signs and pieces fixed.

    With ``t = s b`` and the pieces of ``rho`` fixed the model is quadratic in ``b_A``::

        (G_AA + diag(s_A^2 (rho''_A + lam2_A))) d = g_A - s_A (rho'(|t_A|) sign(t_A)
                                                             + lam2_A t_A)

    The step is cut where the first coordinate would leave its piece (landing on the
    edge, where ``rho`` is continuously differentiable) or come within ``1 - CUT_SHARE``
    of zero, and kept only if the objective does not increase (on a nonconvex piece the
    stationary point may be a saddle). The solve uses the Cholesky factor ``fact``
    (:func:`.concave_factor.new_factor`) carried from the last step and updated for the
    features that entered, left or changed piece (:func:`.concave_factor.factor_sync`);
    where the matrix is not positive definite, LAPACK's LU. Returns 0 (refused), 1 (the
    full step) or 2 (a cut step).
    """
    p = g.shape[0]
    e, r = np.empty(p), np.empty(p)
    for a in range(na):
        j = A[a]
        s = scale[j]
        t = b[j] * s
        sg = 1.0 if t > 0.0 else -1.0
        e[j] = s * s * (_piece(kind, abs(t), lam1[j], gamma)[1] + lam2[j])
        r[j] = g[j] - s * (slope(kind, abs(t), lam1[j], gamma) * sg + lam2[j] * t)
    L, fac, _, nf = fact
    d = np.empty(na)
    if factor_sync(G, col, A, na, e, L, fac, fact[2], nf):
        x = np.empty(na)
        for i in range(na):
            x[i] = r[fac[i]]
        cholesky_substitute(L, na, x)
        for i in range(na):
            r[fac[i]] = x[i]
        for a in range(na):
            d[a] = r[A[a]]
    else:
        H = np.empty((na, na))
        rhs = np.empty(na)
        for a in range(na):
            cj = col[A[a]]
            for a2 in range(na):
                H[a, a2] = G[A[a2], cj]
            H[a, a] += e[A[a]]
            rhs[a] = r[A[a]]
        try:
            d = np.linalg.solve(H, rhs)
        except Exception:  # singular: leave it to coordinate descent
            return 0
    tau = 1.0
    for a in range(na):
        j = A[a]
        s = scale[j]
        t, tn = b[j] * s, (b[j] + d[a]) * s
        if not np.isfinite(tn):
            return 0
        tau = min(tau, _boundary(kind, t, tn, lam1[j], gamma))
    if tau <= 0.0:
        return 0
    dq = 0.0
    for a in range(na):
        j = A[a]
        s = scale[j]
        d[a] *= tau
        t, tn = b[j] * s, (b[j] + d[a]) * s
        if (tn > 0.0) != (t > 0.0) or tn == 0.0:  # rounding at a cut: stop short
            return 0
        dq += (rho(kind, abs(tn), lam1[j], gamma) - rho(kind, abs(t), lam1[j], gamma)
               + 0.5 * lam2[j] * (tn * tn - t * t) - g[j] * d[a])
    gd = np.zeros(p)  # G[:, A] d, every feature's gradient change
    for a in range(na):
        cj = col[A[a]]
        for t in range(p):
            gd[t] += d[a] * G[t, cj]
    net = 0.0  # d^T (G_AA + diag(s^2 lam2)) d, for the cancellation test
    spread = 0.0
    for a in range(na):
        j = A[a]
        ridge = scale[j] * scale[j] * lam2[j] * d[a] * d[a]
        dq += 0.5 * d[a] * gd[j]
        net += d[a] * gd[j] + ridge
        spread += G[j, col[j]] * d[a] * d[a] + ridge
    if not dq <= 0.0 or cancelled(net, spread):  # (collinear active columns)
        return 0
    for a in range(na):
        b[A[a]] += d[a]
    for t in range(p):
        g[t] -= gd[t]
    return 1 if tau == 1.0 else 2


@njit(cache=True, nogil=True, inline="always")
def _boundary(kind, t, tn, lam1, gamma):
    """The share of the move ``t -> tn`` (standardized, ``t != 0``) taken before it
    leaves the piece of ``rho`` (or the sign) ``t`` lies on; 1 when it never does."""
    if (tn > 0.0) != (t > 0.0) or tn == 0.0:
        return CUT_SHARE * t / (t - tn)  # stop short of zero: the sign stays
    a, an = abs(t), abs(tn)
    tau = 1.0
    for k in range(2):
        edge = gamma * lam1 if (k == 0 or kind == MCP) else lam1
        if (a - edge) * (an - edge) < 0.0:
            tau = min(tau, (edge - a) / (an - a))
    return tau


@njit(cache=True, nogil=True, fastmath=False)
def _grow_factor(L, m, fac, feats, nk, G, col, scale, d):
    """Append the features ``feats[:nk]`` (in order) to the Cholesky factor ``L[:m, :m]``
    of the block of ``fac[:m]`` in ``M = S + diag(d)`` (``S_ij = G[i, col[j]] / (s_i
    s_j)``, the standardized Gram), skipping those that would break it; returns ``(L,
    m_new, bound)`` (``L`` reallocated, doubling, when too small).

    A feature whose pivot ``q = M_jj - y^T y`` (``y = L^-1 M[fac, j]``) is not positive is
    left out: ``x = (-L^-T y, 1)`` is then a direction of curvature ``x^T M x = q <= 0``,
    and ``bound`` the smallest Rayleigh quotient ``q / |x|^2`` over the features left out
    (0 when none was), an upper bound on the smallest eigenvalue of any block holding
    them.
    """
    need = m + nk
    if need > L.shape[0]:
        cap = max(2 * L.shape[0], need)
        big = np.zeros((cap, cap))
        for i in range(m):  # loops, not slices: no shape checks to compile
            for q in range(i + 1):
                big[i, q] = L[i, q]
        L = big
    bound = 0.0
    z = np.empty(need)
    for c in range(nk):
        j = feats[c]
        cj = col[j]
        sj = scale[j]
        for i in range(m):  # the new row: L[m, :m] = L^-1 M[fac, j]
            t = G[fac[i], cj] / (scale[fac[i]] * sj)
            for q in range(i):
                t -= L[m, q] * L[i, q]
            L[m, i] = t / L[i, i]
        piv = G[j, cj] / (sj * sj) + d[j]
        for q in range(m):
            piv -= L[m, q] * L[m, q]
        if piv > 0.0:
            L[m, m] = np.sqrt(piv)
            fac[m] = j
            m += 1
            continue
        nz = 1.0
        for i in range(m - 1, -1, -1):  # z = L^-T y
            t = L[m, i]
            for q in range(i + 1, m):
                t -= L[q, i] * z[q]
            z[i] = t / L[i, i]
            nz += z[i] * z[i]
        bound = min(bound, piv / nz)
    return L, m, bound


@njit(cache=True, nogil=True, fastmath=False)
def convexity_margins(G, col, scale, coefs, lams, shift, l2, pen, n_live, ridge):
    """ncvreg's convexity diagnostic at every path point ``coefs[k]`` (its support ``A``).

    ``M_A = S_A + diag(shift_A + lam_k l2_A)`` (``S`` the standardized centred Gram,
    ``S_ij = G[i, col[j]] / (s_i s_j)``, ``shift`` minus the concavity on penalised
    features) is tested by a Cholesky factor carried along the path (a feature whose
    pivot is not positive is left out of it, its Rayleigh quotient kept as the bound:
    ``_grow_factor``). The same set as the last point gives the same margin (without
    ridge); while the set only grows the entering features are appended (``O(|A|^2)``
    each) and a negative bound stands (a principal block's smallest eigenvalue is at
    least the whole matrix's); when a feature leaves, the survivors of the old factor (a
    principal block of a positive definite matrix) are refactored first and the others
    appended; with a ridge part (the shift moves with ``lam``) the whole set is
    refactored. Returns per point: NaN (positive definite), the negative Rayleigh
    quotient of a direction of negative curvature (an upper bound on
    ``lambda_min(M_A)``), ``min(shift_A + lam l2_A)`` over penalised features when
    ``|A| > n_live`` (rank-deficient ``S_A``), ``inf`` without penalised active features.
    """
    n_l, p = coefs.shape
    out = np.empty(n_l)
    mark = np.zeros(p, dtype=np.bool_)
    A, prev, keep = np.empty(p, np.int64), np.empty(p, np.int64), np.empty(p, np.int64)
    seen, fac = np.empty(p, np.int64), np.empty(p, np.int64)
    d = np.empty(p)
    L = np.zeros((min(p, 16), min(p, 16)))
    n_prev, ns, nf, bound = -1, np.int64(0), np.int64(0), 0.0
    for k in range(n_l):
        na = 0
        for j in range(p):
            if coefs[k, j] != 0.0:
                A[na] = j
                na += 1
        same = not ridge and na == n_prev
        for a in range(na if same else 0):
            same = same and A[a] == prev[a]
        if same:
            out[k] = out[k - 1]
            continue
        for a in range(na):
            prev[a] = A[a]
        n_prev = na
        lowest = np.inf
        for a in range(na):
            j = A[a]
            d[j] = shift[j] + lams[k] * l2[j]
            if pen[j]:
                lowest = min(lowest, d[j])
        if lowest == np.inf or na > n_live:
            out[k] = lowest
            continue
        for a in range(na):
            mark[A[a]] = True
        grown = not ridge
        for i in range(ns if grown else 0):
            grown = grown and mark[seen[i]]
        if grown:  # only grown: the new rows
            for i in range(ns):
                mark[seen[i]] = False
            if bound < 0.0:  # still a bound for the larger set (interlacing)
                for a in range(na):
                    if mark[A[a]]:
                        seen[ns] = A[a]
                        ns += 1
                        mark[A[a]] = False
                out[k] = bound
                continue
        else:  # a feature left (or the shift moved): the old factor's survivors first
            nk = np.int64(0)
            for i in range(na if ridge else nf):
                j = A[i] if ridge else fac[i]
                if mark[j]:
                    keep[nk] = j
                    nk += 1
            nf, ns, bound = np.int64(0), np.int64(0), 0.0
            if nk:
                L, _, bk = _grow_factor(L, np.int64(0), fac, keep, nk, G, col, scale, d)
                if bk == 0.0:  # positive definite: kept whole
                    nf = ns = nk
                    for i in range(nk):
                        seen[i] = keep[i]
                        mark[keep[i]] = False
        nk = np.int64(0)
        for a in range(na):
            if mark[A[a]]:
                keep[nk] = A[a]
                nk += 1
                mark[A[a]] = False
        if nk:
            L, nf, bk = _grow_factor(L, nf, fac, keep, nk, G, col, scale, d)
            for i in range(nk):
                seen[ns + i] = keep[i]
            ns += nk
            bound = min(bound, bk)
        out[k] = np.nan if bound == 0.0 else bound
    return out


@njit(cache=True, nogil=True, fastmath=False)
def shifted_gram_block(buf, pos, w, u, vsum, shift):
    """``M = S - u u^T / vsum + diag(shift)`` with ``S_ij = w_i w_j buf[pos_i, pos_j]`` (a
    standardized Gram block gathered from a cache; ``u`` the columns' weighted sums,
    profiled out with the intercept; ``vsum <= 0``: no intercept term): the matrix of
    ncvreg's convexity diagnostic."""
    m = pos.shape[0]
    M = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            M[i, j] = buf[pos[i], pos[j]] * w[i] * w[j]
            if vsum > 0.0:
                M[i, j] -= u[i] * u[j] / vsum
        M[i, i] += shift[i]
    return M


@njit(cache=True, nogil=True, fastmath=False)
def rayleigh_quotient(buf, pos, w, u, vsum, shift, x):
    """``x^T M x / x^T x`` for :func:`shifted_gram_block`'s ``M`` without forming it: an
    upper bound on its smallest eigenvalue, and on that of any larger principal block
    holding it."""
    m = pos.shape[0]
    num = 0.0
    ux = 0.0
    xx = 0.0
    for i in range(m):
        acc = 0.0
        for j in range(m):
            acc += buf[pos[i], pos[j]] * w[j] * x[j]
        num += x[i] * w[i] * acc + shift[i] * x[i] * x[i]
        ux += u[i] * x[i]
        xx += x[i] * x[i]
    if vsum > 0.0:
        num -= ux * ux / vsum
    return num / xx
