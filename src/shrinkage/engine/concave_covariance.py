"""Gaussian MCP and SCAD paths by covariance updates (``n >> p``).

:class:`ConcaveCovariance` is :class:`~shrinkage.engine.concave.ConcaveSolver`'s method
in Gram space, for the gaussian family where rows far outnumber features (``n >= 2p``,
``p <= 2000``, glmnet's choice for the lasso's covariance mode). It shares the lasso's
Gram cache (:class:`~shrinkage.engine.covariance.GaussianCovariance`: centred weighted
Gram columns read in batches that at least double the cache, or the whole Gram in one
symmetric product on a long path), so a coordinate move costs ``O(p)`` and no step of
the path touches X. Its strategy is the compiled driver :func:`concave_covariance_path`;
per ``lam``, warm-started:

1. sweeps of exact univariate minimisers (:func:`~.kernels.concave.threshold`) over the
   cached features, each followed by the stationarity certificate of every feature (the
   gradient is exact everywhere: ``g = c - G b``);
2. every ``anderson_k`` sweeps an Anderson extrapolation of the last iterates, kept only
   where it keeps every sign and lowers the nonconvex objective
   (:func:`~.kernels.concave_gram.anderson_try`);
3. when the sweeps crawl (correlated features), the exact minimiser on the active piece
   (:func:`~.kernels.concave_gram.piece_newton`: a Cholesky factor carried from step
   to step, LAPACK's LU where the piece is not convex; cut at the first edge
   of a piece), every ``sweeps_before_polish`` sweeps, at doubling intervals after a
   refusal;
4. a violator whose Gram column is not cached sends the driver back to Python for a
   batch of columns (:data:`~shrinkage.engine.covariance.NEED_COLUMNS`).

The certificate is :class:`ConcaveSolver`'s: the largest stationarity violation relative
to the null model's largest standardized gradient (the intercept is profiled out by the
centring, its gradient is zero). The path is the same local solution, reached by warm
starts from ``lam_max``.

ncvreg's convexity diagnostic is decided by a Cholesky test, not an eigenvalue
(:func:`~.kernels.concave_gram.convexity_margins`, one compiled pass over the path after
it): once per change of the active set, by appending the new features' rows to the
factor of the previous set when the set only grew.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .concave_steps import nonconvex_note
from .covariance import NEED_COLUMNS, GaussianCovariance, gram_centring_safe
from .kernels.certify import dot
from .kernels.concave import kkt_scan
from .kernels.concave_factor import new_factor
from .kernels.concave_gram import anderson_try, convexity_margins, gram_sweep, piece_newton
from .kernels.gap import covariance_residual_terms
from .problem import certificate_reference
from .stopping import DEV_MAX, MIN_LAMS, record_point

__all__ = ["ConcaveCovariance", "concave_covariance_path"]

#: Work of one active-piece Newton step allowed, in sweeps.
POLISH_MAX_SWEEPS = 200.0


class ConcaveCovariance(GaussianCovariance):
    """Covariance-update coordinate descent for gaussian MCP/SCAD, certified by
    stationarity."""

    name = "concave_covariance"
    certificate_kind = "kkt_violation"
    covariance_max_p = 2000
    anderson_k = 5  # iterates per extrapolation (skglm's choice)
    sweeps_before_polish = 8  # then after each refusal twice as long
    # as ConcaveSolver: no "deviance explained stops changing" rule on a nonconvex path
    stop_rules = (MIN_LAMS, DEV_MAX, -np.inf)

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        if not (penalty.block == "coordinate" and penalty.shape in ("mcp", "scad")
                and family.quadratic and family.response == "vector" and prob.y.ndim == 1
                and not prob.sparse):
            return False
        if setup.hints.solver == cls.name:
            return True
        tall = prob.n >= 2 * prob.p and prob.p <= cls.covariance_max_p
        return tall and gram_centring_safe(prob.xm, prob.xsq, prob.excluded)

    def __init__(self, prob, setup):
        super().__init__(prob, setup)
        self.pen = prob.penalty
        self.grad_scale = certificate_reference(self.g, prob.cert_scale, prob.candidates)
        self._margins = np.zeros(0)

    def run_path(self, grid, lam_prev, null_dev, early_stop, out):
        prob = self.prob
        self.g = np.ascontiguousarray(self.g)

        def drive(k, k1):
            while True:
                k, code, nv = concave_covariance_path(
                    self.pen.code, float(self.pen.gamma), self.G, self.col, self.n_cols,
                    self.c, self.yw, self.h, prob.l1u, prob.l2u, prob.candidates, prob.scale,
                    prob.cert_unit, grid, k, k1, prob.tol, self.grad_scale, prob.max_iter,
                    self.anderson_k, self.sweeps_before_polish, prob.fit_intercept, self.ybar,
                    prob.xm, float(null_dev), bool(early_stop), *self.stop_rules, self.b,
                    self.g, self._scratch, *out)
                if code != NEED_COLUMNS:
                    return k, code
                in_ws = self.col >= 0
                self._add_columns(self._batch(self._scratch[:nv].copy(), in_ws))

        k, code = self.drive_watched(grid, out, drive)
        self._margins = self._path_margins(out[0][:k], grid[:k])
        return k, code

    def _path_margins(self, coefs, lams):
        """The convexity test along the path (:func:`~.kernels.concave_gram.\
convexity_margins`)."""
        prob = self.prob
        shift = np.where(prob.unpenalized, 0.0, -float(self.pen.concavity))
        l2 = prob.l2u / prob.scale**2
        ridge = bool(np.any(l2[prob.candidates]))
        n_live = int(np.sum(prob.w > 0)) - (1 if prob.fit_intercept else 0)
        return convexity_margins(self.G, self.col, prob.scale, coefs, lams, shift, l2,
                                 ~prob.unpenalized, n_live, ridge)

    def diagnostics(self):
        """``(extra, warning)`` as :meth:`ConcaveSolver.diagnostics
        <shrinkage.engine.concave.ConcaveSolver.diagnostics>`: ``convexity_margin`` per
        path point, from :func:`~.kernels.concave_gram.convexity_margins`: NaN where
        the point is locally convex, where it is not a negative upper bound on the
        smallest eigenvalue, ``inf`` without penalised active features."""
        margins = np.asarray(self._margins, dtype=float)
        return {"convexity_margin": margins}, nonconvex_note(self.pen, margins)


@njit(cache=True, nogil=True, fastmath=False)
def _strengths(lam, l1u, l2u, scale, cand, in_ws, col, ws, l1, l2):
    """Per-feature strengths in standardized units; the cached candidates into ``ws``."""
    m = 0
    for j in range(scale.shape[0]):
        s = scale[j]
        l1[j] = lam * l1u[j] / s
        l2[j] = lam * l2u[j] / (s * s)
        in_ws[j] = cand[j] and col[j] >= 0
        if in_ws[j]:
            ws[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, fastmath=False)
def _active(b, ws, m, A):
    na = 0
    for k in range(m):
        if b[ws[k]] != 0.0:
            A[na] = ws[k]
            na += 1
    return na


@njit(cache=True, nogil=True, fastmath=False)
def concave_covariance_path(kind, gamma, G, col, n_cols, c, yw, h, l1u, l2u, cand, scale,
                            unit, lams, k0, k1, tol, grad_scale, max_iter, anderson_k, polish_every,
                            fit_intercept, ybar, xm, null_dev, early_stop, min_lams,
                            dev_max, dev_change, b, g, need, coefs, intercepts, dev_ratio,
                            cert, n_iter):
    """MCP/SCAD by covariance updates along ``lams[k0:k1]`` over the cached columns.

    ``g`` (kept equal to ``c - G b`` for every feature) and ``b`` are the warm start.
    Returns ``(k, code, n_need)``: ``(n_lams_done, stop_code, 0)``, or ``(k,
    NEED_COLUMNS, m)`` with the ``m`` uncached violators at ``lam_k`` in ``need[:m]``
    (``n_iter[k]`` keeps the sweeps spent so far).
    """
    p = b.shape[0]
    L = lams.shape[0]
    K = anderson_k
    l1, l2 = np.empty(p), np.empty(p)
    in_ws = np.zeros(p, dtype=np.bool_)
    ws = np.empty(p, dtype=np.int64)
    A = np.empty(p, dtype=np.int64)
    hist = np.empty((p, K + 1))
    g_try, delta = np.empty(p), np.empty(p)
    fact = new_factor(p)
    unbounded = (np.full(p, -np.inf), np.full(p, np.inf), l1u, l2u)  # for the early stop
    for k in range(k0, k1):
        m = _strengths(lams[k], l1u, l2u, scale, cand, in_ws, col, ws, l1, l2)
        sweeps = n_iter[k]
        v, nv = kkt_scan(kind, gamma, g, b, scale, unit, l1, l2, cand, in_ws, need)
        if nv > 0:
            return k, NEED_COLUMNS, nv
        n_hist = 0
        wait = polish_every
        polish_in = wait
        while v / grad_scale > tol and sweeps < max_iter:
            moved = gram_sweep(kind, gamma, G, col, g, h, scale, l1, l2, b, ws, m) > 0.0
            sweeps += 1
            if not moved:  # a coordinate-wise minimiser: what is left is rounding
                break
            for q in range(m):
                hist[q, n_hist] = b[ws[q]]
            n_hist += 1
            if n_hist == K + 1:
                anderson_try(kind, gamma, G, col, c, g, yw, scale, l1, l2, b, ws, m, hist,
                             K, g_try, delta)
                n_hist = 0
            polish_in -= 1
            if polish_in <= 0:
                na = _active(b, ws, m, A)
                work = na * na * na / 3.0 + float(p) * na
                if na and work <= POLISH_MAX_SWEEPS * float(p) * (na + 1):
                    kept = piece_newton(kind, gamma, G, col, g, b, scale, l1, l2, A, na,
                                        fact)
                    if kept:
                        n_hist = 0
                    else:  # a saddle or a singular piece: wait longer
                        wait *= 2
                polish_in = wait
            v, nv = kkt_scan(kind, gamma, g, b, scale, unit, l1, l2, cand, in_ws, need)
            if nv > 0:
                n_iter[k] = sweeps
                return k, NEED_COLUMNS, nv
        bq = covariance_residual_terms(b, c, g, yw)[1]
        code = record_point(k, b, ybar - dot(xm, b) if fit_intercept else 0.0, bq, null_dev,
                            v / grad_scale, sweeps, coefs, intercepts, dev_ratio, cert, n_iter,
                            early_stop, L, min_lams, dev_max, dev_change, unbounded)
        if code:
            return k + 1, code, 0
    return k1, 0, 0
