"""Gaussian paths by residual-updating coordinate descent (the "naive" method).

:class:`GaussianNaive` is the choice for wide or sparse problems. Its strategy is written
once, in the compiled driver :func:`naive_path`, which walks the whole grid without the
GIL (cross-validation folds in threads run truly in parallel, and no interpreter work is
spent per ``lam``; a path under a monitor is driven a strength at a time,
:meth:`.contract.Solver.drive_watched`). Per ``lam``:

0. the warm start: the previous solution moved along the secant of the last two
   (:func:`path_prediction`), when that lowers the objective;
1. the working set: strong-rule candidates (Tibshirani et al. 2012) plus the ever-active
   and the unpenalised features;
2. coordinate descent over it (:func:`~.kernels.cd.cd_quadratic`), in chunks, with an
   exact Newton step on the active set first (once a factor is held) and whenever a chunk
   ends unconverged, solved with a Cholesky factor of the active Gram kept and updated
   along the path (:mod:`.kernels.active_factor`); where no such step is taken (sparse
   designs, or an active set too costly to factor) a run that has not met its threshold
   after :func:`~.kernels.active_set.gap_chunk` sweeps ends on a whole sweep and reads the
   gap (steps 3 and 4), which may be below ``tol`` already;
3. the working-set duality gap (a pass over the working set's columns only), skipped when
   those columns are a large share of X;
4. one full pass over X: features violating their KKT condition join the working set and
   the loop resumes; otherwise the global duality gap is the certificate, and the inner
   threshold shrinks until it is below ``tol``;
5. glmnet's early stop (:mod:`.stopping`).

The gap (:mod:`.kernels.gap`) is relative to the null objective; free unpenalised
features are projected out of the dual point (:class:`.free.FreeFeatures`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .contract import Solver
from .free import FreeFeatures
from .kernels.active_factor import FACTOR_MAX, factor_kept, factor_polish, new_factor, sync_cost
from .kernels.active_set import (
    POLISH_MAX_SWEEPS,
    WS_CHECK_SHARE,
    active_subset,
    chunk_size,
    gap_chunk,
    stalled_chunk,
)
from .kernels.cd import cd_quadratic
from .kernels.certify import centred_gradient, dot, kkt_scan, mask_members, ws_gradient
from .kernels.flags import FASTMATH, KERNEL
from .kernels.gap import relative_gap, residual_terms
from .kernels.moments import centred_combination
from .stopping import RULES, record_point

__all__ = ["GaussianNaive", "naive_path", "path_prediction", "secant_moves", "shrink_factor"]


class GaussianNaive(Solver):
    """Residual-updating coordinate descent with a duality-gap certificate."""

    name = "naive"
    certificate_kind = "duality_gap"
    # Inner sweeps stop when max_j h_j * delta_j^2 < thr; thr starts at thr_start * tol *
    # null objective and shrinks while the gap is above tol (here by a factor aimed at tol,
    # shrink_factor, within [thr_shrink^2, 1/2]; the covariance driver by thr_shrink).
    # Sweeps are cheap next to a certificate round trip, so start tight and shrink fast.
    thr_start = 1e-3
    thr_shrink = 1e-2

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (family.quadratic and penalty.block == "coordinate" and prob.y.ndim == 1
                and penalty.shape == "elasticnet")

    def __init__(self, prob, setup):
        self.prob = prob
        self.h = prob.xsq
        self.b = np.zeros(prob.p)
        self.yc, self.ybar = prob.centred_response()
        self.r = self.yc.copy()
        self.st = np.array([0.0, float(np.dot(prob.w, self.r)), 1.0, 0.0])
        null_obj = 0.5 * float(np.dot(prob.w, self.yc * self.yc))
        self.obj_scale = null_obj if null_obj > 0 else 1.0
        if setup.g0 is None:
            self.g = prob.gradient(prob.w * self.r)
        else:  # Xc^T W yc from the caller (a fold's shared moments)
            self.g = np.where(prob.excluded, 0.0, setup.g0)
        self.free = FreeFeatures(prob, self.yc)

    def feature_gradient(self):
        return np.abs(self.g)

    def fit_unpenalized(self):
        prob = self.prob
        ws = np.flatnonzero(prob.unpenalized)
        thr = self.thr_start * prob.tol * self.obj_scale * 1e-6
        zeros = np.zeros(prob.p)
        cd_quadratic(*prob.kernel_design(), prob.w, prob.uniform_w, prob.xm, prob.xw, self.h,
                     zeros, zeros, prob.lo, prob.hi, self.b, self.r, self.st, ws, ws.size,
                     False, thr, prob.max_iter)
        _fold_offset(prob.sparse, prob.w, self.r, self.st)
        self.g = prob.gradient(prob.w * self.r)

    def run_path(self, grid, lam_prev, null_dev, early_stop, out):
        prob = self.prob
        self.g = np.ascontiguousarray(self.g)
        factor = new_factor(prob.p, min(prob.p, prob.n - 1, FACTOR_MAX))
        nf = 0  # the factor's size, carried from call to call

        def drive(k0, k1):
            nonlocal nf
            done, code, nf = naive_path(
                *prob.kernel_design(), prob.w, prob.uniform_w, prob.xm, prob.xw, self.h,
                prob.l1u, prob.l2u, prob.lo, prob.hi, prob.candidates, prob.unpenalized,
                prob.excluded, prob.scale, self.yc, grid, k0, k1,
                float(grid[k0 - 1] if k0 else lam_prev), prob.tol,
                self.obj_scale, prob.max_iter, self.thr_start, self.thr_shrink,
                prob.fit_intercept, self.ybar, float(null_dev), bool(early_stop), *RULES,
                *self.free.arrays(), *factor, nf, self.b, self.r, self.st, self.g, *out,
            )
            return done, code

        done, code = self.drive_watched(grid, out, drive)
        self.certify_zero_lam(grid, done, out)
        return done, code

    def certify_zero_lam(self, grid, done, out):
        """At ``lam = 0`` (least squares) the drivers' gap is infinite: every feature is
        free, and the driver projects only the always-unpenalised ones. The certificate of
        that point is the gap with the dual point projected off every free feature."""
        if done and grid[done - 1] == 0.0:
            out[3][done - 1] = least_squares_gap(self.prob, out[0][done - 1], self.yc,
                                                 self.obj_scale)

    def intercept(self):
        return self.ybar - dot(self.prob.xm, self.b) if self.prob.fit_intercept else 0.0

    def deviance(self):
        return dot(self.prob.w * self.r, self.r)


# the least-squares certificate decomposes the free columns densely: beyond this many
# entries it is not computed (NaN, so the point reads unconverged, with the reason)
_LS_MAX_ENTRIES = 5e7


def least_squares_gap(prob, b, yc, obj_scale):
    """Relative duality gap of the unpenalised fit ``b`` (``lam = 0``).

    With ``F`` the free candidates (an unbounded side, strictly inside their box: a
    coefficient resting on a bound keeps that bound's conjugate), ``A = W^(1/2) Xc_F`` and
    its thin SVD
    ``V diag(d) U^T``, the dual point ``u = W r - W Xc_F z``, ``z = (A^T A)^+ g_F``, is
    feasible for the free features; for an unbounded fit the gap reduces to the exact
    suboptimality ``1/2 g_F^T (A^T A)^+ g_F``. Bounded features keep their box conjugate.
    """
    from .kernels.certify import dual_terms
    from .kernels.moments import centred_combination
    from .ridge import decompose

    free = (prob.candidates & (np.isinf(prob.lo) | np.isinf(prob.hi))
            & (b > prob.lo) & (b < prob.hi))
    idx = np.flatnonzero(free)
    if prob.n * idx.size > _LS_MAX_ENTRIES:
        return np.nan
    X, xd, xi, xp, sparse = prob.kernel_design()
    act = np.flatnonzero(b != 0).astype(np.int64)
    fit = np.zeros(prob.n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, act, np.ascontiguousarray(b[act]), fit)
    r = yc - fit
    g = prob.gradient(prob.w * r)
    a, bq = float(prob.w @ (r * yc)), float(prob.w @ (r * r))
    keep = prob.candidates & ~free
    zeros = np.zeros(prob.p)
    if idx.size:
        cols = prob.X[:, idx]
        cols = cols.toarray() if hasattr(cols, "toarray") else np.array(cols, dtype=float)
        cols -= prob.xm[idx]
        sw = np.sqrt(prob.w)
        _, d, V = decompose(cols * sw[:, None])
        z = V @ ((V.T @ g[idx]) / (d * d))
        a -= float(z @ (cols.T @ (prob.w * yc)))
        bq_dual = bq - float(z @ g[idx])
        g = g - prob.gradient(prob.w * (cols @ z))
    else:
        bq_dual = bq
    pen, t, conj = dual_terms(g, b, zeros, zeros, prob.lo, prob.hi, keep)
    gap = 0.5 * bq + pen - (t * a - 0.5 * t * t * bq_dual - conj)
    return (max(gap, 0.0) if gap == gap else np.inf) / obj_scale


@njit(cache=True, nogil=True, inline="always")
def _fold_offset(sparse, w, r, st):
    """Fold the sparse sweeps' scalar residual offset ``st[0]`` into ``r``; refresh
    ``st[1] = sum w r``."""
    if sparse and st[0] != 0.0:
        for i in range(r.shape[0]):
            r[i] += st[0]
        st[0] = 0.0
    st[1] = dot(w, r)


@njit(cache=True, nogil=True, inline="always")
def _weighted_squares(w, r):
    """``sum_i w_i r_i^2``."""
    dev = 0.0
    for i in range(r.shape[0]):
        dev += w[i] * r[i] * r[i]
    return dev


# share of the secant step taken (see path_prediction): the full step overshoots where the
# path bends (an elastic net's is curved, a lasso's has kinks between grid points)
_PREDICT_DAMPING = 0.8


@njit(cache=True, nogil=True, inline="always")
def shrink_factor(gap, target, shrink):
    """The factor of the inner threshold after a gap above ``target``.

    A lasso's gap from the rescaled residual falls like the square root of the sweeps'
    threshold (the scale ``t`` of the dual point is off by the gradient error, of the
    order of the residual error), so ``1/2 (target / gap)^2`` aims at the target in one
    round; an elastic net's gap falls faster, so that overshoots only a little. Kept
    within ``[shrink^2, 1/2]`` (NaN: ``shrink^2``).
    """
    lo = shrink * shrink
    f = 0.5 * (target / gap) * (target / gap)
    if not f > lo:
        f = lo
    return f if f < 0.5 else 0.5


@njit(cache=True, nogil=True, inline="always")
def secant_moves(b, b1, b2, ratio, lo, hi, idx, d):
    """The moves ``d[:m]`` of coordinates ``idx[:m]`` that :func:`path_prediction`
    proposes (non-zero coordinates only, stopping at zero, clipped to the box); returns m."""
    m = np.int64(0)  # not the literal 0: inlined, it would compile callees twice
    for j in range(b.shape[0]):
        if b[j] != 0.0:
            nb = b[j] + _PREDICT_DAMPING * ratio * (b1[j] - b2[j])
            if nb * b[j] < 0.0:
                nb = 0.0
            nb = min(max(nb, lo[j]), hi[j])
            if nb != b[j]:
                idx[m] = j
                d[m] = nb - b[j]
                m += 1
    return m


@njit(**KERNEL, fastmath=FASTMATH)
def path_prediction(X, xd, xi, xp, sparse, w, xm, l1, l2, lo, hi, b, r, st, b1, b2, ratio,
                    idx, d, step):
    """Warm start from the secant of the path; kept only when it lowers the objective.

    The lasso path is linear in ``lam`` between the points where a feature enters or
    leaves, so from the last two solutions ``b1 = b(lam_{k-1})`` (the current ``b``) and
    ``b2 = b(lam_{k-2})`` the next one is predicted as ``b + c (b1 - b2) ratio`` with
    ``ratio = (lam_k - lam_{k-1}) / (lam_{k-1} - lam_{k-2})`` and ``c =
    _PREDICT_DAMPING``, for the non-zero coordinates only, a coefficient that would change
    sign stopping at zero, clipped to its box. The prediction replaces ``b`` (and the
    residual ``r``, ``st``) when ``1/2 sum w r^2 + sum l1 |b| + l2/2 b^2`` at ``lam_k`` (``l1,
    l2``) decreases; returns whether it did. ``idx``, ``d`` (p) and ``step`` (n) are scratch.
    """
    n = r.shape[0]
    m = secant_moves(b, b1, b2, ratio, lo, hi, idx, d)
    if m == 0:
        return False
    centred_combination(X, xd, xi, xp, sparse, xm, idx[:m], d[:m], step)
    f0 = 0.0
    f1 = 0.0
    for i in range(n):
        t = r[i] - step[i]
        f0 += w[i] * r[i] * r[i]
        f1 += w[i] * t * t
    f0 *= 0.5
    f1 *= 0.5
    for t in range(m):
        j = idx[t]
        nb = b[j] + d[t]
        f0 += l1[j] * abs(b[j]) + 0.5 * l2[j] * b[j] * b[j]
        f1 += l1[j] * abs(nb) + 0.5 * l2[j] * nb * nb
    if not f1 < f0:
        return False
    for t in range(m):
        b[idx[t]] += d[t]
    for i in range(n):
        r[i] -= step[i]
    st[1] = dot(w, r)
    return True


@njit(**KERNEL, fastmath=FASTMATH)
def naive_path(X, xd, xi, xp, sparse, w, uv, xm, xw, h, l1u, l2u, lo, hi, cand, unpen,
               excluded, scale, yc, lams, k0, k1, lam_prev, tol, obj_scale, max_iter, thr_start,
               thr_shrink, fit_intercept, ybar, null_dev, early_stop, min_lams, dev_max,
               dev_change, free, free_idx, pinv, gall, cu, bounded, Lf, fac, fd, pos, refused,
               nf, b, r, st, g, coefs, intercepts, dev_ratio, cert, n_iter):
    """Residual-updating coordinate descent along ``lams[k0:k1]``; fills those output rows.

    ``b, r, st, g`` (coefficients, residual, CD state, full gradient) are the warm start,
    left at the last solution, ``lam_prev`` the strength before ``lams[k0]``, and the rows
    before ``k0`` the points already fitted; ``Lf, fac, fd, pos, refused`` an active factor
    (:func:`.kernels.active_factor.new_factor`) of ``nf`` columns. Returns
    ``(n_lams_done, stop_code, nf)``, ``nf`` to pass to the next call.
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
    floor = 1e-30 * obj_scale
    # cost of a pass over all of X, in the units of sweep_cost below
    x_cost = float(n) * p
    if xp is not None:  # sparse (a None-typed xp prunes this branch when dense)
        x_cost = float(xp[p] - xp[0])
    for k in range(k0, k1):
        lam = lams[k]
        strong = 2.0 * lam - lam_prev
        for j in range(p):
            l1[j] = lam * l1u[j]
            l2[j] = lam * l2u[j]
            in_ws[j] = cand[j] and (abs(g[j]) >= l1u[j] * strong or b[j] != 0.0 or unpen[j])
        if k >= 2 and lams[k - 1] != lams[k - 2]:
            path_prediction(X, xd, xi, xp, sparse, w, xm, l1, l2, lo, hi, b, r, st,
                            coefs[k - 1], coefs[k - 2],
                            (lam - lams[k - 1]) / (lams[k - 1] - lams[k - 2]), out, gws, step)
        thr = thr_start * tol * obj_scale
        sweeps = stalls = 0
        gap = np.inf
        # with a factor carried from the last lam, start with the exact step (the
        # homotopy step: the new lam's problem on the old active set and signs)
        want_polish = nf > 0
        while True:
            m = mask_members(in_ws, ws)
            budget = max_iter - sweeps
            if budget <= 0:
                break
            na = active_subset(b, lo, hi, ws, m, A)
            sweep_cost = float(n) * m
            if xp is not None:
                sweep_cost = 0.0
                for t in range(m):
                    sweep_cost += xp[ws[t] + 1] - xp[ws[t]]
            polish_cost, polish = 0.0, False
            if X is not None:  # dense only: a None-typed X prunes the step and its compile
                polish_cost = sync_cost(n, na, nf, factor_kept(A, na, l2, pos, fd), sweep_cost)
                polish = polish_cost <= POLISH_MAX_SWEEPS * sweep_cost and na <= fac.shape[0]
                if polish and want_polish and na > 0:  # exact step; CD confirms or corrects
                    nf = factor_polish(X, xd, xi, xp, sparse, w, xm, h, r, st, b, A, na, l1,
                                       l2, lo, hi, Lf, fac, fd, pos, refused, nf, gws, step)
            want_polish = False
            # without an exact step to take, stop now and then to read the gap instead
            chunk = min(budget, stalled_chunk(chunk_size(polish_cost, sweep_cost), stalls)
                        if polish else gap_chunk(sweeps))
            # np.bool_: a literal False would compile cd_quadratic once more, apart from
            # the specialisation the Python callers and the Newton rounds share
            did = cd_quadratic(X, xd, xi, xp, sparse, w, uv, xm, xw, h, l1, l2, lo, hi,
                               b, r, st, ws, m, np.bool_(False), thr, chunk)
            crawled = did == chunk and chunk < budget  # coordinate descent crawls
            if crawled and not polish:  # end on a whole sweep, as a converged run does
                did += cd_quadratic(X, xd, xi, xp, sparse, w, uv, xm, xw, h, l1, l2, lo, hi,
                                    b, r, st, ws, m, np.bool_(False), thr, np.int64(1))
            sweeps += did
            _fold_offset(sparse, w, r, st)
            if crawled and polish:
                want_polish, stalls = True, stalls + 1
                continue
            # certify the working-set subproblem first; only a solution good there earns
            # a full pass over X (unless the working set is a large part of X anyway)
            if sweep_cost < WS_CHECK_SHARE * x_cost:
                ws_gradient(X, xd, xi, xp, sparse, w, r, xm, ws, m, gws)
                a, bq = residual_terms(w, r, yc)
                wgap = relative_gap(a, bq, gws, b, l1, l2, lo, hi, in_ws, obj_scale, free,
                                    free_idx, pinv, gall, cu, bounded)
                if wgap > 0.5 * tol and thr > floor:  # (a crawl keeps its thr)
                    thr *= 1.0 if crawled else shrink_factor(wgap, 0.5 * tol, thr_shrink)
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
            a, bq = residual_terms(w, r, yc)
            gap = relative_gap(a, bq, g, b, l1, l2, lo, hi, cand, obj_scale, free, free_idx,
                               pinv, gall, cu, bounded)
            if gap <= tol:
                break
            thr *= 1.0 if crawled else shrink_factor(gap, tol, thr_shrink)
            want_polish = True
            if thr < floor:
                break
        dev = _weighted_squares(w, r)
        lam_prev = lam
        code = record_point(k, b, ybar - dot(xm, b) if fit_intercept else 0.0, dev, null_dev,
                            gap, sweeps, coefs, intercepts, dev_ratio, cert, n_iter,
                            early_stop, L, min_lams, dev_max, dev_change, (lo, hi, l1u, l2u))
        if code:
            return k + 1, code, nf
    return k1, 0, nf
