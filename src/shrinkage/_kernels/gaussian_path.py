"""Whole gaussian paths in one compiled call: the per-``lam`` loop without Python.

Each driver walks the grid as the Python solvers do one ``lam`` at a time
(:class:`~shrinkage.solvers.GaussianNaive` and :class:`~shrinkage.solvers.GaussianCovariance`):
strong-rule working set, coordinate descent, working-set duality gap, a full KKT pass,
the global duality gap, and glmnet's early stop; on top of that they take exact
active-set Newton steps when coordinate descent crawls (below), and skip the working-set
check when the working set is a large share of X. Keeping the loop in numba removes
~0.1 ms of interpreter work per ``lam`` (most of the time on small problems) and holds no
GIL, so cross-validation folds in threads run truly in parallel. The certificate is the
same either way (tests/test_gaussian_path.py compares both routes).

The duality gap is the one of ``GaussianNaive._gap`` without the projection for free
unpenalised features: callers use these drivers only when there are none.

Stop codes: 0 none, 1 deviance explained above ``dev_max``, 2 relative change below
``dev_change``.
"""

import numpy as np
from numba import njit

from ._flags import FASTMATH
from .cd import cd_covariance, cd_quadratic
from .certify import centred_gradient, dot, dual_terms, kkt_scan, ws_gradient
from .moments import active_normal_equations, centred_combination

# Coordinate descent crawls on strongly correlated active features. When a chunk of
# sweeps ends without convergence, or a gap check fails, the quadratic is minimised
# exactly on the current active set and signs (one Newton step, cut at the first sign
# change or bound it would cross), provided that solve costs at most _POLISH_MAX_SWEEPS
# sweeps. A chunk costs about as much as one such step (within the bounds below), so
# neither the sweeps nor the steps dominate.
_POLISH_MAX_SWEEPS = 200.0
# The working-set gap check costs a pass over the working set's columns; when those are
# this large a share of X, the full pass it is meant to save costs little more.
_WS_CHECK_SHARE = 0.25
_CHUNK_MIN = 5
_CHUNK_MAX = 50


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _gap_value(a, bq, g, b, l1, l2, lo, hi, mask, obj_scale):
    """``(P - D) / obj_scale`` from ``a = sum w r yc`` and ``bq = sum w r^2``."""
    pen, t, conj = dual_terms(g, b, l1, l2, lo, hi, mask)
    dual = t * a - 0.5 * t * t * bq - conj
    gap = 0.5 * bq + pen - dual
    return (gap if gap > 0.0 else 0.0) / obj_scale


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def covariance_residual_terms(b, c, g, yw):
    """``(sum w r yc, sum w r^2)`` from cached inner products, without the residual.

    With ``c = Xc^T W yc``, ``g = c - G b`` and ``yw = sum w yc^2``: ``sum w r yc =
    yw - b.c`` and ``sum w r^2 = yw - 2 b.c + b.G b = yw - b.c - b.g`` (clipped at 0
    against rounding).
    """
    bc = dot(b, c)
    bq = yw - bc - dot(b, g)
    return yw - bc, (bq if bq > 0.0 else 0.0)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _naive_gap(w, r, yc, g, b, l1, l2, lo, hi, mask, obj_scale):
    a = 0.0
    bq = 0.0
    for i in range(r.shape[0]):
        wr = w[i] * r[i]
        a += wr * yc[i]
        bq += wr * r[i]
    return _gap_value(a, bq, g, b, l1, l2, lo, hi, mask, obj_scale)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _cholesky_solve(H, rhs, m):
    """Solve ``H x = rhs`` (symmetric positive definite, leading ``m x m``) in place.

    Returns False when a pivot is not clearly positive (singular or nearly so); ``rhs``
    then holds garbage.
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
    for i in range(m):
        t = rhs[i]
        for k in range(i):
            t -= H[i, k] * rhs[k]
        rhs[i] = t / H[i, i]
    for i in range(m - 1, -1, -1):
        t = rhs[i]
        for k in range(i + 1, m):
            t -= H[k, i] * rhs[k]
        rhs[i] = t / H[i, i]
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _orthant_step(H, rhs, b, A, m, l1, l2, lo, hi):
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
    if not _cholesky_solve(H, rhs, m):
        return 0.0
    t = 1.0
    for a in range(m):
        j = A[a]
        d = rhs[a]
        if not np.isfinite(d):
            return 0.0
        new = b[j] + d
        if new * b[j] <= 0.0:
            t = min(t, b[j] / (-d))  # the coefficient reaches zero
        if new > hi[j]:
            t = min(t, (hi[j] - b[j]) / d)
        elif new < lo[j]:
            t = min(t, (lo[j] - b[j]) / d)
    return t if t > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _apply_step(b, A, m, rhs, t, lo, hi):
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


@njit(cache=True, nogil=True)
def _active_subset(b, lo, hi, ws, m_ws, A):
    """Non-zero coordinates of ``ws[:m_ws]`` strictly inside their bounds, into ``A``."""
    m = 0
    for t in range(m_ws):
        j = ws[t]
        if b[j] != 0.0 and lo[j] < b[j] < hi[j]:
            A[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _naive_polish(X, xd, xi, xp, sparse, w, xm, r, st, b, A, na, H, rhs, step, l1, l2, lo,
                  hi):
    """Newton step on the active set ``A[:na]`` (``na < n``) from the residual; True if kept."""
    n = r.shape[0]
    active_normal_equations(X, xd, xi, xp, sparse, w, xm, r, A[:na], False, H[:na, :na],
                            rhs[:na])
    t = _orthant_step(H, rhs, b, A, na, l1, l2, lo, hi)
    if t <= 0.0:
        return False
    _apply_step(b, A, na, rhs, t, lo, hi)
    centred_combination(X, xd, xi, xp, sparse, xm, A[:na], rhs[:na], step)
    for i in range(n):
        r[i] -= step[i]
    st[1] = dot(w, r)
    return True


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _covariance_polish(G, col, g, b, A, na, H, rhs, l1, l2, lo, hi):
    """Newton step on the active set from cached Gram columns; True if kept."""
    p = g.shape[0]
    for a in range(na):
        ja = A[a]
        rhs[a] = g[ja]
        for a2 in range(na):
            H[a, a2] = G[A[a2], col[ja]]
    t = _orthant_step(H, rhs, b, A, na, l1, l2, lo, hi)
    if t <= 0.0:
        return False
    _apply_step(b, A, na, rhs, t, lo, hi)
    for a in range(na):
        ja = A[a]
        cj = col[ja]
        for t in range(p):
            g[t] -= rhs[a] * G[t, cj]
    return True


@njit(cache=True, nogil=True)
def _chunk(polish_cost, sweep_cost):
    c = int(polish_cost / max(sweep_cost, 1.0))
    return min(max(c, _CHUNK_MIN), _CHUNK_MAX)


@njit(cache=True, nogil=True)
def early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change):
    """glmnet's early stop after ``lam`` index ``k``: 0 go on, 1 or 2 (module docstring).

    Never before ``min_lams`` points nor at the last one.
    """
    if k + 1 < min_lams or k + 1 >= n_lams:
        return 0
    if dev_ratio[k] > dev_max:
        return 1
    if dev_ratio[k] - dev_ratio[k - 1] < dev_change * dev_ratio[k]:
        return 2
    return 0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def naive_path(X, xd, xi, xp, sparse, w, uv, xm, xw, h, l1u, l2u, lo, hi, cand, unpen,
               excluded, scale, yc, lams, lam_prev, tol, obj_scale, max_iter, thr_start,
               thr_shrink, fit_intercept, ybar, null_dev, early_stop, min_lams, dev_max,
               dev_change, b, r, st, g, coefs, intercepts, dev_ratio, cert, n_iter):
    """Residual-updating coordinate descent along ``lams``; fills the output rows.

    ``b, r, st, g`` (coefficients, residual, CD state, full gradient) are the warm start
    and are left at the last solution. Returns ``(n_lams_done, stop_code)``.
    """
    p = b.shape[0]
    n = r.shape[0]
    L = lams.shape[0]
    in_ws = np.zeros(p, dtype=np.bool_)
    ws = np.empty(p, dtype=np.int64)
    out = np.empty(p, dtype=np.int64)
    gws = np.zeros(p)
    u = np.empty(n)
    step = np.empty(n)
    l1 = np.empty(p)
    l2 = np.empty(p)
    A = np.empty(p, dtype=np.int64)
    mmax = min(p, n)
    H = np.empty((mmax, mmax))
    rhs = np.empty(mmax)
    floor = 1e-30 * obj_scale
    # cost of a pass over all of X, in the units of sweep_cost below
    x_cost = float(xp[p] - xp[0]) if sparse else float(n) * p
    for k in range(L):
        lam = lams[k]
        strong = 2.0 * lam - lam_prev
        for j in range(p):
            l1[j] = lam * l1u[j]
            l2[j] = lam * l2u[j]
            in_ws[j] = cand[j] and (abs(g[j]) >= l1u[j] * strong or b[j] != 0.0 or unpen[j])
        thr = thr_start * tol * obj_scale
        sweeps = 0
        gap = np.inf
        want_polish = False
        while True:
            m = 0
            for j in range(p):
                if in_ws[j]:
                    ws[m] = j
                    m += 1
            budget = max_iter - sweeps
            if budget <= 0:
                break
            na = _active_subset(b, lo, hi, ws, m, A)
            if sparse:
                sweep_cost = 0.0
                for t in range(m):
                    sweep_cost += xp[ws[t] + 1] - xp[ws[t]]
            else:
                sweep_cost = float(n) * m
            polish_cost = float(n) * na * na + na * na * na / 3.0
            polish = polish_cost <= _POLISH_MAX_SWEEPS * sweep_cost and na < n
            if polish and want_polish and na > 0:
                # exact step on the active set; coordinate descent then confirms or
                # corrects it
                _naive_polish(X, xd, xi, xp, sparse, w, xm, r, st, b, A, na, H, rhs, step,
                              l1, l2, lo, hi)
            want_polish = False
            chunk = min(budget, _chunk(polish_cost, sweep_cost)) if polish else budget
            did = cd_quadratic(X, xd, xi, xp, sparse, w, uv, xm, xw, h, l1, l2, lo, hi,
                               b, r, st, ws, m, False, thr, chunk)
            sweeps += did
            if sparse and st[0] != 0.0:
                for i in range(n):
                    r[i] += st[0]
                st[0] = 0.0
            st[1] = dot(w, r)
            if did == chunk and chunk < budget:
                want_polish = True  # coordinate descent crawls
                continue
            # certify the working-set subproblem first; only a solution good there earns
            # a full pass over X (unless the working set is a large part of X anyway)
            if sweep_cost < _WS_CHECK_SHARE * x_cost:
                ws_gradient(X, xd, xi, xp, sparse, w, r, xm, ws, m, gws)
                if _naive_gap(w, r, yc, gws, b, l1, l2, lo, hi, in_ws, obj_scale) \
                        > 0.5 * tol and thr > floor:
                    thr *= thr_shrink
                    want_polish = True
                    continue
            for i in range(n):
                u[i] = w[i] * r[i]
            centred_gradient(X, xd, xi, xp, sparse, u, xm, excluded, g)
            _, nv = kkt_scan(g, b, l1, l2, lo, hi, cand, in_ws, scale, out)
            if nv > 0:
                for t in range(nv):
                    in_ws[out[t]] = True
                continue
            gap = _naive_gap(w, r, yc, g, b, l1, l2, lo, hi, cand, obj_scale)
            if gap <= tol:
                break
            thr *= thr_shrink
            want_polish = True
            if thr < floor:
                break
        coefs[k, :] = b
        intercepts[k] = ybar - dot(xm, b) if fit_intercept else 0.0
        dev = 0.0
        for i in range(n):
            dev += w[i] * r[i] * r[i]
        dev_ratio[k] = 1.0 - dev / null_dev if null_dev > 0.0 else 0.0
        cert[k] = gap
        n_iter[k] = sweeps
        lam_prev = lam
        if early_stop:
            code = early_stop_code(dev_ratio, k, L, min_lams, dev_max, dev_change)
            if code:
                return k + 1, code
    return L, 0


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def covariance_path(G, col, c, yw, h, l1u, l2u, lo, hi, cand, lams, tol, obj_scale,
                    max_iter, thr_start, thr_shrink, fit_intercept, ybar, xm, null_dev,
                    early_stop, min_lams, dev_max, dev_change, b, g, coefs, intercepts,
                    dev_ratio, cert, n_iter):
    """Covariance-update coordinate descent along ``lams`` with every Gram column cached.

    ``g`` (kept equal to ``c - G b``) and ``b`` are the warm start. The residual terms of
    the gap come from inner products: ``sum w r yc = yw - b.c`` and
    ``sum w r^2 = yw - b.c - b.g``. Returns ``(n_lams_done, stop_code)``.
    """
    p = b.shape[0]
    L = lams.shape[0]
    ws = np.arange(p)
    l1 = np.empty(p)
    l2 = np.empty(p)
    A = np.empty(p, dtype=np.int64)
    H = np.empty((p, p))
    rhs = np.empty(p)
    floor = 1e-30 * obj_scale
    for k in range(L):
        lam = lams[k]
        for j in range(p):
            l1[j] = lam * l1u[j]
            l2[j] = lam * l2u[j]
        thr = thr_start * tol * obj_scale
        sweeps = 0
        gap = np.inf
        bq = 0.0
        want_polish = False
        while True:
            budget = max_iter - sweeps
            if budget <= 0:
                break
            na = _active_subset(b, lo, hi, ws, p, A)
            # a sweep moves about every active coordinate, each move costing p
            sweep_cost = float(p) * (na + 1)
            polish_cost = na * na * na / 3.0 + float(na) * na
            polish = polish_cost <= _POLISH_MAX_SWEEPS * sweep_cost
            if polish and want_polish and na > 0:
                _covariance_polish(G, col, g, b, A, na, H, rhs, l1, l2, lo, hi)
            want_polish = False
            chunk = min(budget, _chunk(polish_cost, sweep_cost)) if polish else budget
            did = cd_covariance(G, col, g, h, l1, l2, lo, hi, b, ws, p, thr, chunk)
            sweeps += did
            if did == chunk and chunk < budget:
                want_polish = True
                continue
            a, bq = covariance_residual_terms(b, c, g, yw)
            gap = _gap_value(a, bq, g, b, l1, l2, lo, hi, cand, obj_scale)
            if gap <= tol:
                break
            thr *= thr_shrink
            want_polish = True
            if thr < floor:
                break
        if gap == np.inf:
            bq = covariance_residual_terms(b, c, g, yw)[1]
        coefs[k, :] = b
        intercepts[k] = ybar - dot(xm, b) if fit_intercept else 0.0
        dev_ratio[k] = 1.0 - bq / null_dev if null_dev > 0.0 else 0.0
        cert[k] = gap
        n_iter[k] = sweeps
        if early_stop:
            code = early_stop_code(dev_ratio, k, L, min_lams, dev_max, dev_change)
            if code:
                return k + 1, code
    return L, 0
