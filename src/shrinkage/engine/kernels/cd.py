"""Coordinate descent on a penalised weighted least-squares model.

The model solved by :func:`cd_quadratic` is::

    minimise  1/2 * sum_i v_i * (r_i)^2  +  sum_j ( l1_j |b_j| + l2_j / 2 * b_j^2 )
    subject to lo_j <= b_j <= hi_j

where ``r = z - b0 - sum_j (x_j - xm_j) b_j`` is the residual of a working response ``z``.
For the gaussian family ``v`` are the normalised sample weights and ``z`` is the response;
for GLMs ``v`` and ``z`` come from the quadratic (IRLS) approximation of the loss at the
current linear predictor. Centring by ``xm`` is implicit: a dense residual is updated with
the centred column, a sparse one with the raw column plus a scalar offset ``roff`` (the
true residual is ``r + roff``), so sparse columns are never densified.

The coordinate update is the exact minimiser along ``b_j``::

    g_j   = sum_i v_i (x_ij - xm_j) r_i                  # np.dot(v * r, X[:, j] - xm[j])
    b_j  <- clip( S(g_j + h_j b_j, l1_j) / (h_j + l2_j), lo_j, hi_j )

with ``S`` the soft-threshold and ``h_j = sum_i v_i (x_ij - xm_j)^2``. The intercept, when
fitted, is updated exactly in the same sweep: at its end on a dense design, after every
coordinate move on a sparse one (where the step is a scalar shift). A sweep stops the
loop when the largest ``h_j * (change in b_j)^2`` falls below ``thr`` (glmnet's
criterion; the intercept's ``V d0^2`` counts its whole move in the sweep); the caller
then checks optimality over all features and certifies the solution (duality gap or
KKT).
"""

import numpy as np
from numba import njit

from .anderson import anderson_step
from .flags import FASTMATH, INNER, KERNEL


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _soft_clip(u, l1, denom, lo, hi):
    if u > l1:
        z = (u - l1) / denom
    elif u < -l1:
        z = (u + l1) / denom
    else:
        z = 0.0
    if z < lo:
        z = lo
    elif z > hi:
        z = hi
    return z


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def intercept_step_dense(v, r, st, V):
    """Exact update of the unpenalised intercept after a dense sweep: ``d0 = sum_i v_i r_i
    / V``, the sum taken afresh (the running one loses digits on large-mean columns).
    ``r`` and ``st[3]`` move by ``d0``; returns ``(sum_i v_i r_i after it, V d0^2)``."""
    n = r.shape[0]
    svr = 0.0
    for i in range(n):
        svr += v[i] * r[i]
    d0 = svr / V
    if d0 == 0.0:
        return svr, 0.0
    st[3] += d0
    for i in range(n):
        r[i] -= d0
    return svr - d0 * V, V * d0 * d0


@njit(cache=True, nogil=True, inline="always")
def intercept_step_sparse(svr, roff, V, st):
    """The same for a sparse sweep, whose residual carries the shift ``roff``: returns
    ``(roff after it, V d0^2)`` with ``d0 = (svr + roff V) / V``."""
    d0 = (svr + roff * V) / V
    if d0 == 0.0:
        return roff, 0.0
    st[3] += d0
    return roff - d0, V * d0 * d0


@njit(**INNER, fastmath=FASTMATH)
def _sweep_dense(X, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st, idx, m, intercept):
    """One pass over the coordinates idx[:m]; returns max h_j * delta_j^2.

    Dense and sparse sweeps are separate functions, each compiled with reassociation
    (vectorised column loops and gathers ``r[indices[k]]``; see kernels.flags for the
    sparse one's measurement).
    """
    n = r.shape[0]
    svr = st[1]
    V = st[2]
    maxch = 0.0
    for t in range(m):
        j = idx[t]
        hj = h[j]
        if hj <= 0.0:
            continue
        c = xm[j]
        # g_j = sum_i v_i (x_ij - xm_j) r_i, written out, not called (kernels.flags)
        gj = 0.0
        if uv > 0.0:
            for i in range(n):
                gj += (X[i, j] - c) * r[i]
            gj *= uv
        else:
            for i in range(n):
                gj += (X[i, j] - c) * v[i] * r[i]
        bj = b[j]
        new = _soft_clip(gj + hj * bj, l1[j], hj + l2[j], lo[j], hi[j])
        d = new - bj
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


#: ``(mean / sd)^2`` of a sparse column past which its sweeps centre it entry by entry.
_FAR_MEAN2 = 1e8


@njit(cache=True, nogil=True, inline="always")
def far_column(c, V, hj, stored, n):
    """Whether a sparse column (mean ``c``, weighted centred sum of squares ``hj``,
    ``stored`` entries of ``n``) is far from zero: past 1e4 sds, with every entry stored
    (as such a small spread demands). The implicit centring ``c * (svr + roff V)`` would
    multiply the rounding of the running sums by ``c`` (a mean of 1e8 diverged); such a
    column is centred entry by entry. Scalars only: it is asked once per column update
    (kernels.flags: arrays passed to a call cost reference counting in the loop)."""
    return c * c * V > _FAR_MEAN2 * hj and stored == n


# far_gradient and far_move take arrays and loop, but run only for far columns (rare):
# inlined, they add no compilation unit of their own to the two sweeps that use them
@njit(cache=True, nogil=True, inline="always")
def far_gradient(xd, xi, xp, j, v, uv, r, roff, c):
    """``sum_i v_i (x_ij - c) (r_i + roff)`` of a far column, centred entry by entry."""
    gj = 0.0
    for k in range(xp[j], xp[j + 1]):
        i = xi[k]
        gj += (uv if uv > 0.0 else v[i]) * (xd[k] - c) * (r[i] + roff)
    return gj


@njit(cache=True, nogil=True, inline="always")
def far_move(xd, xi, xp, j, d, c, r, xvj, V):
    """Move the residual by ``-d (x_j - c)`` entry by entry; returns the change of
    ``sum v r`` to subtract (``d (xv_j - c V)``)."""
    for k in range(xp[j], xp[j + 1]):
        r[xi[k]] -= d * (xd[k] - c)
    return d * (xvj - c * V)


@njit(**INNER, fastmath=FASTMATH)
def _sweep_sparse(xd, xi, xp, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st, idx, m,
                  intercept):
    roff = st[0]
    svr = st[1]
    V = st[2]
    maxch = 0.0
    d0sum = 0.0
    for t in range(m):
        j = idx[t]
        hj = h[j]
        if hj <= 0.0:
            continue
        c = xm[j]
        # g_j = sum_i v_i (x_ij - xm_j) (r_i + roff), from the stored non-zeros only;
        # written out, not called (kernels.flags: a call passing arrays costs reference
        # counting in the loop)
        gj = 0.0
        if uv > 0.0:
            for k in range(xp[j], xp[j + 1]):
                gj += xd[k] * r[xi[k]]
            gj *= uv
        else:
            for k in range(xp[j], xp[j + 1]):
                i = xi[k]
                gj += xd[k] * v[i] * r[i]
        gj = gj + roff * xv[j] - c * (svr + roff * V)
        far = far_column(c, V, hj, xp[j + 1] - xp[j], r.shape[0])
        if far:
            gj = far_gradient(xd, xi, xp, j, v, uv, r, roff, c)
        bj = b[j]
        new = _soft_clip(gj + hj * bj, l1[j], hj + l2[j], lo[j], hi[j])
        d = new - bj
        if d != 0.0:
            b[j] = new
            if far:
                svr -= far_move(xd, xi, xp, j, d, c, r, xv[j], V)
            else:
                for k in range(xp[j], xp[j + 1]):
                    r[xi[k]] -= d * xd[k]
                roff += d * c
                svr -= d * xv[j]
            ch = hj * d * d
            if ch > maxch:
                maxch = ch
            if intercept:
                # the intercept's exact step after every move: O(1) here (a shift of
                # roff), and columns whose v-weighted mean is not xm (a GLM's IRLS
                # weights; one-hot levels above all) pull on it within the sweep (with
                # anderson_step's intercept step, the quick one-hot factors binomial
                # path 2,540 -> 1,938 sweeps, 150 fuzzed sparse GLM paths 17 % fewer)
                d0 = (svr + roff * V) / V
                st[3] += d0
                roff -= d0
                d0sum += d0
    if intercept:
        roff, ch = intercept_step_sparse(svr, roff, V, st)
        maxch = max(maxch, ch, V * d0sum * d0sum)  # (its whole move in the sweep)
    st[0] = roff
    st[1] = svr
    return maxch


_ANDERSON_K = 5  # iterates per Anderson extrapolation (skglm uses 5)
# Focused sweeps. Deep in a text path (binomial, 15,000 active terms on 20,000 documents)
# a Newton model's last sweeps move one to three coordinates past thr: rare terms of a
# few well-fitted documents, of tiny curvature, whose moves shrink by only 3 % a sweep,
# while each sweep costs a pass over every active column. After an active-set
# sweep in which at most 1/_FOCUS_SHARE of the active coordinates moved the model by more
# than _FOCUS_LEVEL * thr, those are swept alone (until none moves by thr / 10, at most
# _FOCUS_SWEEPS times) before the next whole sweep. The movers are looked for only in
# active sets of _FOCUS_MIN_ACTIVE or more (below, the scan cost the quick gaussian text
# 4 % and found nothing to focus on). Full-size power-law text, default paths: binomial
# 12.0 s -> 9.6 s, gaussian 0.52 -> 0.46 s; the quick cases and dense designs unchanged
# within noise (level 1e-2 or share 8 slowed the quick binomial text by up to 48 %)
_FOCUS_LEVEL = 1e-1
_FOCUS_SHARE = 64
_FOCUS_SWEEPS = 20
_FOCUS_MIN_ACTIVE = 1000


# inlined: a compilation unit of its own cost 0.12 s of a first fit
@njit(cache=True, nogil=True, inline="always")
def _movers(h, act, m, hist, k, level, mov):
    """Write the active coordinates whose last move (``hist[:, k] - hist[:, k-1]``)
    changed the model by more than ``level`` into ``mov``; return how many."""
    q = np.int64(0)  # not the literal 0 (see _nonzero_subset)
    for t in range(m):
        d = hist[t, k] - hist[t, k - 1]
        if h[act[t]] * d * d > level:
            mov[q] = act[t]
            q += 1
    return q


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _nonzero_subset(b, ws, n_ws, act):
    """Write the j in ws[:n_ws] with b_j != 0 into act; return how many (the active set)."""
    m = np.int64(0)  # not the literal 0: inlined, it would compile callees twice
    for t in range(n_ws):
        if b[ws[t]] != 0.0:
            act[m] = ws[t]
            m += 1
    return m


@njit(**KERNEL, fastmath=FASTMATH)
def cd_quadratic(X, xd, xi, xp, sparse, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st,
                 ws, n_ws, intercept, thr, max_sweeps):
    """Coordinate descent over the working set ``ws[:n_ws]``.

    Alternates one sweep over the whole working set with sweeps over its non-zero
    coordinates only (the active set), until a whole-set sweep moves nothing by more than
    ``thr``. Active-set sweeps are accelerated by Anderson extrapolation every
    ``_ANDERSON_K`` sweeps (kept only when it lowers the objective), and where only a few
    coordinates still move, by sweeps over those alone (``_FOCUS_LEVEL``; counted as one
    sweep).
    ``st = [roff, sum_i v_i r_i (stored part), sum_i v_i, b0]`` is updated in place.

    Returns the number of sweeps performed (``max_sweeps`` when not converged).
    """
    K = _ANDERSON_K
    act = np.empty(n_ws, dtype=np.int64)
    mov = np.empty(n_ws, dtype=np.int64)
    hist = np.empty((n_ws, K + 1))
    rtmp = np.empty(r.shape[0])
    sweeps = 0
    while sweeps < max_sweeps:
        # dense or sparse sweep: a None-typed X or xd prunes the other (package docstring)
        if xd is not None:
            maxch = _sweep_sparse(xd, xi, xp, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st, ws,
                                  n_ws, intercept)
        if X is not None:
            maxch = _sweep_dense(X, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st, ws, n_ws,
                                 intercept)
        sweeps += 1
        if maxch < thr:
            return sweeps
        m = _nonzero_subset(b, ws, n_ws, act)
        for t in range(m):
            hist[t, 0] = b[act[t]]
        filled = 0
        while sweeps < max_sweeps:
            if xd is not None:
                maxch = _sweep_sparse(xd, xi, xp, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st,
                                      act, m, intercept)
            if X is not None:
                maxch = _sweep_dense(X, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st, act, m,
                                     intercept)
            sweeps += 1
            if maxch < thr:
                break
            # the intercept is excluded from extrapolation: it is refitted at every sweep
            filled += 1
            for t in range(m):
                hist[t, filled] = b[act[t]]
            q = 0
            if m >= _FOCUS_MIN_ACTIVE:
                q = _movers(h, act, m, hist, filled, thr * _FOCUS_LEVEL, mov)
            if 0 < q and q * _FOCUS_SHARE <= m:
                # the movers alone until they settle (written here, not in a helper: a
                # kernel calling the sweeps would compile them once more); at most
                # _FOCUS_SWEEPS * q <= m / 3 updates, counted as one sweep
                for _ in range(_FOCUS_SWEEPS):
                    if xd is not None:
                        maxch = _sweep_sparse(xd, xi, xp, v, uv, xm, xv, h, l1, l2, lo, hi, b,
                                              r, st, mov, q, intercept)
                    if X is not None:
                        maxch = _sweep_dense(X, v, uv, xm, xv, h, l1, l2, lo, hi, b, r, st,
                                             mov, q, intercept)
                    if maxch < 0.1 * thr:
                        break
                sweeps = min(sweeps + 1, max_sweeps)
                # Anderson then extrapolates the iterates of sweep-and-focus (restarting
                # its history instead left a drifting pair to crawl: 2,455 sweeps against
                # 18, tests/test_cd_focus.py)
                for t in range(m):
                    hist[t, filled] = b[act[t]]
            if filled == K:
                if m > 0:
                    anderson_step(X, xd, xi, xp, sparse, v, uv, xm, xv, l1, l2, lo, hi, b, r,
                                  st, act, m, hist, rtmp, intercept)
                for t in range(m):
                    hist[t, 0] = b[act[t]]
                filled = 0
    return sweeps


@njit(**KERNEL, fastmath=False)
def weighted_moments(X, xd, xi, xp, sparse, v, xm, idx, m, xv, h):
    """For j in idx[:m]: xv_j = sum_i v_i x_ij and h_j = sum_i v_i (x_ij - xm_j)^2."""
    if xd is not None:
        _weighted_moments_sparse(xd, xi, xp, v, xm, idx, m, xv, h)
    if X is not None:
        _weighted_moments_dense(X, v, xm, idx, m, xv, h)


@njit(**INNER, fastmath=FASTMATH)
def _weighted_moments_sparse(xd, xi, xp, v, xm, idx, m, xv, h):
    V = 0.0
    for i in range(v.shape[0]):
        V += v[i]
    for t in range(m):
        j = idx[t]
        c = xm[j]
        s1 = 0.0
        s2 = 0.0
        for k in range(xp[j], xp[j + 1]):
            u = v[xi[k]] * xd[k]
            s1 += u
            s2 += u * xd[k]
        xv[j] = s1
        hj = s2 - 2.0 * c * s1 + c * c * V
        h[j] = hj if hj > 0.0 else 0.0


@njit(**INNER, fastmath=FASTMATH)
def _weighted_moments_dense(X, v, xm, idx, m, xv, h):
    for t in range(m):
        j = idx[t]
        c = xm[j]
        s1 = 0.0
        s2 = 0.0
        for i in range(X.shape[0]):
            t1 = X[i, j]
            s1 += v[i] * t1
            t2 = t1 - c
            s2 += v[i] * t2 * t2
        xv[j] = s1
        h[j] = s2


@njit(**KERNEL, fastmath=FASTMATH)
def cd_covariance(G, col, g, h, l1, l2, lo, hi, b, ws, n_ws, thr, max_sweeps):
    """Covariance-update coordinate descent (glmnet's mode for n >> p), gaussian only.

    ``g_k = sum_i w_i (x_ik - xm_k) r_i`` is kept for every feature k; the Gram column of
    feature j, ``G[:, col[j]] = Xc^T W Xc[:, j]``, updates it after a move of ``b_j``::

        g -= d * G[:, col[j]]

    so a sweep costs O(|ws| * p) and never touches X.
    Returns the number of sweeps performed.
    """
    p = g.shape[0]
    act = np.empty(n_ws, dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        maxch = _cov_sweep(G, col, g, h, l1, l2, lo, hi, b, ws, n_ws, p)
        sweeps += 1
        if maxch < thr:
            return sweeps
        m = _nonzero_subset(b, ws, n_ws, act)
        while sweeps < max_sweeps:
            maxch = _cov_sweep(G, col, g, h, l1, l2, lo, hi, b, act, m, p)
            sweeps += 1
            if maxch < thr:
                break
    return sweeps


@njit(**INNER, fastmath=FASTMATH)
def _cov_sweep(G, col, g, h, l1, l2, lo, hi, b, idx, m, p):
    maxch = 0.0
    for t in range(m):
        j = idx[t]
        hj = h[j]
        if hj <= 0.0:
            continue
        bj = b[j]
        new = _soft_clip(g[j] + hj * bj, l1[j], hj + l2[j], lo[j], hi[j])
        d = new - bj
        if d != 0.0:
            b[j] = new
            cj = col[j]
            for k in range(p):
                g[k] -= d * G[k, cj]
            ch = hj * d * d
            if ch > maxch:
                maxch = ch
    return maxch
