"""Solvers: one strength ``lam`` at a time, warm-started along a path.

The gaussian solvers share one problem description (:class:`Problem`) with the
proximal-Newton solver of :mod:`shrinkage.newton` (binomial, poisson) and the multinomial
solver:

* :class:`GaussianNaive` -- coordinate descent on the residual over a working set (strong
  rule candidates plus the ever-active set), one pass over all features per KKT check, and
  a duality-gap certificate. The choice for wide or sparse problems.
* :class:`GaussianCovariance` -- glmnet's covariance updates for ``n >> p``: the gradient
  of every feature is kept up to date through cached Gram columns of the features that
  ever entered, so sweeps cost O(p) per move and never touch X.

Only solvers touch X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._kernels.cd import cd_covariance, cd_quadratic
from ._kernels.certify import centred_gradient, dot, dual_terms, kkt_scan, ws_gradient
from ._kernels.gaussian_path import (
    covariance_path,
    covariance_residual_terms,
    naive_path,
)
from ._kernels.moments import centred_combination
from .gram import dense_gram, dense_gram_columns, sparse_gram_columns

_EMPTY_F = np.zeros(1)
_EMPTY_I = np.zeros(1, dtype=np.int32)
_DUMMY_X = np.zeros((1, 1), order="F")


@dataclass
class Problem:
    """Everything a solver needs, as plain arrays.

    ``w`` are sample weights normalised to sum to one; ``xm`` the weighted column means
    (zeros without an intercept); ``l1u, l2u`` the penalty weights per unit ``lam``;
    ``excluded`` marks constant columns, whose coefficients stay at zero.
    """

    X: object
    y: np.ndarray
    w: np.ndarray
    uniform_w: float
    offset: np.ndarray | None
    family: object
    xm: np.ndarray
    xw: np.ndarray
    l1u: np.ndarray
    l2u: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    excluded: np.ndarray
    fit_intercept: bool
    tol: float
    max_iter: int
    scale: np.ndarray = None

    def __post_init__(self):
        if self.scale is None:
            self.scale = np.ones(self.X.shape[1])
        X = self.X
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.kX = _DUMMY_X
            self.kd = X.data
            self.ki = X.indices
            self.kp = X.indptr
        else:
            self.kX = X
            self.kd, self.ki, self.kp = _EMPTY_F, _EMPTY_I, _EMPTY_I
        self.n, self.p = X.shape
        self.candidates = ~self.excluded
        self.unpenalized = (self.l1u == 0) & (self.l2u == 0) & self.candidates

    def kernel_design(self):
        return self.kX, self.kd, self.ki, self.kp, self.sparse

    def gradient(self, resid_w):
        """``g_j = sum_i (x_ij - xm_j) * resid_w_i`` for all j (one pass over X).

        ``resid_w`` may be a matrix (n, K); the result is then (p, K).
        """
        if resid_w.ndim == 1:
            g = np.empty(self.p)
            centred_gradient(self.kX, self.kd, self.ki, self.kp, self.sparse,
                             np.ascontiguousarray(resid_w), self.xm, self.excluded, g)
            return g
        g = np.asarray(self.X.T @ resid_w)
        if self.fit_intercept:
            g -= np.multiply.outer(self.xm, resid_w.sum(axis=0))
        g[self.excluded] = 0.0
        return g

    def centred_matvec(self, b, idx):
        """``sum_{j in idx} (x_j - xm_j) b_j`` as a dense vector (no column copies)."""
        out = np.zeros(self.n)
        if idx.size:
            idx = np.asarray(idx, dtype=np.int64)
            centred_combination(self.kX, self.kd, self.ki, self.kp, self.sparse, self.xm, idx,
                                np.ascontiguousarray(b[idx]), out)
        return out


def strong_set(prob, g, b, lam, lam_prev):
    """Strong-rule candidates (Tibshirani et al. 2012) plus the ever-active features.

    Discards j when ``|g_j| < l1_j * (2 lam - lam_prev)``; the KKT check afterwards
    catches any violation of the rule.
    """
    keep = (np.abs(g) >= prob.l1u * (2.0 * lam - lam_prev)) | (b != 0) | prob.unpenalized
    keep &= prob.candidates
    return keep


def violators(prob, g, b, lam, in_ws):
    """Features outside the working set whose KKT condition fails at the current point.

    Returns ``(indices, max_violation)`` with the violation in standardized-gradient units
    (divided by the penalty scale ``s_j``) over all candidate features.
    """
    out = np.empty(prob.p, dtype=np.int64)
    vmax, m = kkt_scan(g, b, lam * prob.l1u, lam * prob.l2u, prob.lo, prob.hi,
                       prob.candidates, in_ws, prob.scale, out)
    return out[:m], vmax


class GaussianNaive:
    """Residual-updating coordinate descent with a duality-gap certificate."""

    certificate_kind = "duality_gap"
    # Inner sweeps stop when max_j h_j * delta_j^2 < thr; thr starts at thr_start * tol *
    # null objective and shrinks by thr_shrink while the gap is above tol. Sweeps are cheap
    # next to a certificate round trip, so start tight and shrink fast.
    thr_start = 1e-3
    thr_shrink = 1e-2

    def __init__(self, prob, h, g0=None):
        self.prob = prob
        self.h = h
        n = prob.n
        self.b = np.zeros(prob.p)
        yc = prob.y if prob.offset is None else prob.y - prob.offset
        if prob.fit_intercept:
            self.ybar = float(np.dot(prob.w, yc))
            yc = yc - self.ybar
        else:
            self.ybar = 0.0
        self.yc = yc
        self.r = yc.copy()
        self.st = np.array([0.0, float(np.dot(prob.w, self.r)), 1.0, 0.0])
        self.null_obj = 0.5 * float(np.dot(prob.w, yc * yc))
        self.obj_scale = self.null_obj if self.null_obj > 0 else 1.0
        if g0 is None:
            self.g = prob.gradient(prob.w * self.r)
        else:  # Xc^T W yc from the caller (a fold's shared moments)
            self.g = np.where(prob.excluded, 0.0, g0)
        self.proj = _UnpenalizedProjector(prob)
        self.n = n

    def feature_gradient(self):
        return np.abs(self.g)

    def _true_residual(self):
        if self.prob.sparse and self.st[0] != 0.0:
            self.r += self.st[0]
            self.st[0] = 0.0
        return self.r

    def solve(self, lam, lam_prev, ws_mask=None):
        """Solve at ``lam``; ``ws_mask`` fixes the working set (no KKT expansion, no gap).

        Returns ``(certificate, sweeps)``.
        """
        prob = self.prob
        expand = ws_mask is None
        in_ws = strong_set(prob, self.g, self.b, lam, lam_prev) if expand else ws_mask
        l1 = lam * prob.l1u
        l2 = lam * prob.l2u
        thr = self.thr_start * prob.tol * self.obj_scale
        if not expand:
            thr *= 1e-6
        X, xd, xi, xp, sparse = prob.kernel_design()
        uv = prob.uniform_w
        sweeps = 0
        gap = np.inf
        gws = np.zeros(prob.p)
        while True:
            ws = np.flatnonzero(in_ws)
            budget = prob.max_iter - sweeps
            if budget <= 0:
                break
            sweeps += cd_quadratic(X, xd, xi, xp, sparse, prob.w, uv, prob.xm, prob.xw, self.h,
                                   l1, l2, prob.lo, prob.hi, self.b, self.r, self.st, ws, ws.size,
                                   False, thr, budget)
            r = self._true_residual()
            self.st[1] = dot(prob.w, r)
            if expand:
                # certify the working-set subproblem first (O(n |ws|)); only a solution
                # good on the working set earns a full pass over X
                ws_gradient(X, xd, xi, xp, sparse, prob.w, r, prob.xm, ws, ws.size, gws)
                if self._gap(gws, in_ws, l1, l2) > 0.5 * prob.tol and thr > self._thr_floor:
                    thr *= self.thr_shrink
                    continue
            self.g = prob.gradient(prob.w * r)
            if not expand:
                return np.nan, sweeps
            new, _ = violators(prob, self.g, self.b, lam, in_ws)
            if new.size:
                in_ws[new] = True
                continue
            gap = self._gap(self.g, prob.candidates, l1, l2)
            if gap <= prob.tol:
                break
            thr *= self.thr_shrink
            if thr < self._thr_floor:
                break
        return gap, sweeps

    def run_path(self, lams, lam_prev, null_dev, early_stop, out, rules):
        """The whole grid in one compiled call (see :mod:`._kernels.gaussian_path`).

        ``out = (coefs, intercepts, dev_ratio, cert, n_iter)`` are filled in place;
        ``rules = (min_lams, dev_max, dev_change)`` is glmnet's early stop. Returns
        ``(n_done, stop_code)``, or None when the problem needs the Python loop (free
        unpenalised features, whose dual projection lives here).
        """
        if self.proj.idx.size:
            return None
        prob = self.prob
        X, xd, xi, xp, sparse = prob.kernel_design()
        self.g = np.ascontiguousarray(self.g)
        return naive_path(
            X, xd, xi, xp, sparse, prob.w, prob.uniform_w, prob.xm, prob.xw, self.h,
            prob.l1u, prob.l2u, prob.lo, prob.hi, prob.candidates, prob.unpenalized,
            prob.excluded, prob.scale, self.yc, lams, float(lam_prev), prob.tol,
            self.obj_scale, prob.max_iter, self.thr_start, self.thr_shrink,
            prob.fit_intercept, self.ybar, float(null_dev), bool(early_stop), *rules,
            self.b, self.r, self.st, self.g, *out,
        )

    @property
    def _thr_floor(self):
        return 1e-30 * self.obj_scale

    def _residual_terms(self):
        """``(sum_i w_i r_i y_i, sum_i w_i r_i^2)`` for the dual objective."""
        r = self.r
        wr = self.prob.w * r
        return dot(wr, self.yc), dot(wr, r)

    def _gap(self, g, mask, l1, l2):
        """Relative duality gap ``(P(b) - D(u)) / null_objective``.

        The dual point is ``u = t * w * r`` (projected off the unpenalised features), with
        ``t`` the largest scale keeping it feasible::

            P(b) = 1/2 sum_i w_i r_i^2 + sum_j (l1_j |b_j| + l2_j / 2 b_j^2)
            D(u) = sum_i u_i yc_i - 1/2 sum_i u_i^2 / w_i - sum_j conj_j(Xc_j^T u)

        Over the features in ``mask`` (all candidates, or the working set, whose gap is
        the gap of the working-set subproblem).
        """
        prob = self.prob
        a, bq = self._residual_terms()
        primal_loss = 0.5 * bq
        a, bq, g = self.proj.project(a, bq, g)
        keep = mask & ~self.proj.mask  # projected features have g_j = 0 exactly
        pen, t, conj = dual_terms(g, self.b, l1, l2, prob.lo, prob.hi, keep)
        pen += self.proj.penalty_free  # unpenalised features add nothing
        dual = t * a - 0.5 * t * t * bq - conj
        return max(primal_loss + pen - dual, 0.0) / self.obj_scale

    def intercept(self):
        return self.ybar - dot(self.prob.xm, self.b) if self.prob.fit_intercept else 0.0

    def deviance(self):
        r = self._true_residual()
        return dot(self.prob.w * r, r)


class GaussianCovariance(GaussianNaive):
    """glmnet's covariance-update mode for ``n >> p``.

    Gram columns are cached lazily, in growing batches, as features enter; with
    ``full_gram`` (a long path, where nearly every feature enters) the first batch is the
    whole Gram, one symmetric product (``n p^2`` flops instead of ``2 n p`` per column).
    ``shared`` (a :class:`~shrinkage.gram.SharedGram`) reuses ``X^T X`` across fits on the
    same dense X, such as cross-validation folds; ``held_block`` is a fold's ``X[w == 0]``
    when already gathered, and ``g0`` its starting gradient ``Xc^T W yc``.
    """

    thr_start = 1e-4  # a sweep costs O(p |active|): even cheaper next to a certificate

    def __init__(self, prob, h, full_gram=False, shared=None, g0=None, held_block=None):
        super().__init__(prob, h, g0)
        p = prob.p
        self.shared = shared
        self.held_block = held_block
        self.c = self.g.copy()  # Xc^T W yc
        self.yw = float(np.dot(prob.w, self.yc * self.yc))
        self.col = np.full(p, -1, dtype=np.int64)
        self.G = np.zeros((p, 0), order="F")
        self.n_cols = 0
        self.r = None  # the residual is never formed in this mode
        if full_gram and not prob.sparse:
            self._add_columns(np.arange(p))
        else:
            unpen = np.flatnonzero(prob.unpenalized)
            if unpen.size:
                self._add_columns(unpen)

    def _batch(self, new, in_ws, lam):
        """Violators plus the next most likely entrants, so X is read O(log p) times.

        Each call of :meth:`_add_columns` reads all of X once; adding columns one violator
        at a time would read it once per feature. The batch is topped up to at least half
        the current Gram size (32 at first) with the features closest to entering, ranked
        by ``|g_j| / l1_j``.
        """
        prob = self.prob
        want = min(max(new.size, 32, self.n_cols), prob.p - self.n_cols)
        if self.n_cols + want > prob.p // 2:
            want = prob.p - self.n_cols  # the rest costs about the same as its half
        if want <= new.size:
            return new
        rest = prob.candidates & ~in_ws
        rest[new] = False
        idx = np.flatnonzero(rest)
        if idx.size == 0:
            return new
        with np.errstate(divide="ignore"):
            score = np.abs(self.g[idx]) / np.where(prob.l1u[idx] > 0, prob.l1u[idx], np.inf)
        score = np.where(prob.l1u[idx] > 0, score, np.abs(self.g[idx]))
        k = min(want - new.size, idx.size)
        top = idx[np.argpartition(-score, k - 1)[:k]]
        return np.concatenate([new, top])

    def _add_columns(self, idx):
        """Append the weighted, centred Gram columns ``Xc^T W Xc[:, idx]`` to the cache."""
        prob = self.prob
        idx = np.asarray(idx)
        needed = self.n_cols + idx.size
        if self.n_cols == 0 and idx.size == prob.p and not prob.sparse:
            # every feature at once (in whatever order asked): one symmetric product,
            # used as the cache itself, columns in feature order (symmetric, so its
            # transpose is the Fortran-ordered G we need)
            every = np.arange(prob.p)
            self.G = dense_gram(prob.X, prob.w, prob.uniform_w, self.shared,
                                self.held_block).T
            self._finish_columns(self.G, every)
            self.col[:] = every
            self.n_cols = prob.p
            return
        if needed > self.G.shape[1]:
            cap = max(needed, 2 * self.G.shape[1], 16)
            cap = min(cap, prob.p)
            G = np.zeros((prob.p, cap), order="F")
            G[:, : self.n_cols] = self.G[:, : self.n_cols]
            self.G = G
        if prob.sparse:
            block = sparse_gram_columns(prob.X, prob.w, idx)
        else:
            block = dense_gram_columns(prob.X, prob.w, prob.uniform_w, idx)
        self._finish_columns(block, idx)
        self.G[:, self.n_cols: needed] = block
        self.col[idx] = np.arange(self.n_cols, needed)
        self.n_cols = needed

    def _finish_columns(self, block, idx):
        """Centre (in place, a few columns at a time) and zero the excluded rows."""
        prob = self.prob
        if prob.fit_intercept:
            for s0 in range(0, idx.size, 256):
                part = slice(s0, s0 + 256)
                block[:, part] -= np.outer(prob.xm, prob.xm[idx[part]])
        block[prob.excluded, :] = 0.0

    def solve(self, lam, lam_prev, ws_mask=None):
        prob = self.prob
        l1 = lam * prob.l1u
        l2 = lam * prob.l2u
        thr = self.thr_start * prob.tol * self.obj_scale
        sweeps = 0
        gap = np.inf
        if ws_mask is not None:
            ws = np.flatnonzero(ws_mask & (self.col >= 0))
            sweeps = cd_covariance(self.G, self.col, self.g, self.h, l1, l2, prob.lo, prob.hi,
                                   self.b, ws, ws.size, thr * 1e-6, prob.max_iter)
            return np.nan, sweeps
        while True:
            in_ws = self.col >= 0
            new, _ = violators(prob, self.g, self.b, lam, in_ws)
            if new.size:
                self._add_columns(self._batch(new, in_ws, lam))
                continue
            ws = np.flatnonzero(self.col >= 0)
            budget = prob.max_iter - sweeps
            if budget <= 0:
                break
            sweeps += cd_covariance(self.G, self.col, self.g, self.h, l1, l2, prob.lo, prob.hi,
                                    self.b, ws, ws.size, thr, budget)
            new, _ = violators(prob, self.g, self.b, lam, self.col >= 0)
            if new.size:
                continue
            gap = self._gap(self.g, prob.candidates, l1, l2)
            if gap <= prob.tol:
                break
            thr *= self.thr_shrink
            if thr < self._thr_floor:
                break
        return gap, sweeps

    def run_path(self, lams, lam_prev, null_dev, early_stop, out, rules):
        """As :meth:`GaussianNaive.run_path`; needs every Gram column cached."""
        if self.proj.idx.size or self.n_cols < self.prob.p:
            return None
        prob = self.prob
        return covariance_path(
            self.G, self.col, self.c, self.yw, self.h, prob.l1u, prob.l2u, prob.lo, prob.hi,
            prob.candidates, lams, prob.tol, self.obj_scale, prob.max_iter, self.thr_start,
            self.thr_shrink, prob.fit_intercept, self.ybar, prob.xm, float(null_dev),
            bool(early_stop), *rules, self.b, self.g, *out,
        )

    def _residual_terms(self):
        return covariance_residual_terms(self.b, self.c, self.g, self.yw)

    def deviance(self):
        return self._residual_terms()[1]


class _UnpenalizedProjector:
    """Makes the dual point orthogonal to unpenalised, unbounded features.

    Their conjugate is the indicator of ``X_j^T u = 0``; projecting ``u = w * r`` in the
    metric ``sum_i u_i^2 / w_i`` gives a feasible dual point whose value is available from
    inner products alone.
    """

    penalty_free = 0.0

    def __init__(self, prob):
        self.prob = prob
        free = prob.unpenalized & (np.isinf(prob.lo) | np.isinf(prob.hi))
        self.mask = free
        self.idx = np.flatnonzero(free)
        if self.idx.size:
            Xu = prob.X[:, self.idx]
            Xu = Xu.toarray() if sp.issparse(Xu) else np.asarray(Xu)
            if prob.fit_intercept:
                Xu = Xu - prob.xm[self.idx]
            self.Xu = Xu
            self.Guu = Xu.T @ (prob.w[:, None] * Xu)
            self.Gall = np.asarray(prob.X.T @ (prob.w[:, None] * Xu))
            if prob.fit_intercept:
                self.Gall -= np.outer(prob.xm, (prob.w @ Xu))
            self.Gall[prob.excluded] = 0.0
            yc = prob.y if prob.offset is None else prob.y - prob.offset
            if prob.fit_intercept:
                yc = yc - float(np.dot(prob.w, yc))
            self.cu = Xu.T @ (prob.w * yc)

    def project(self, a, bq, g):
        if self.idx.size == 0:
            return a, bq, g
        gu = g[self.idx]
        z = np.linalg.lstsq(self.Guu, gu, rcond=None)[0]
        return a - float(np.dot(z, self.cu)), bq - float(np.dot(z, gu)), g - self.Gall @ z
