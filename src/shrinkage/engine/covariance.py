"""Gaussian paths by covariance updates (glmnet's method for ``n >> p``).

:class:`GaussianCovariance` keeps the gradient of every feature up to date through cached
Gram columns ``Xc^T W Xc[:, j]`` of the features that ever entered, so a coordinate move
costs O(p) and sweeps never touch X. Its strategy is written once, in the compiled driver
:func:`covariance_path`: per ``lam``, coordinate descent over the cached features in
chunks with exact active-set Newton steps, the duality gap from inner products only, and
glmnet's early stop. When a feature outside the cache violates its KKT condition the
driver returns to Python with the violators (code :data:`NEED_COLUMNS`); the solver reads
their Gram columns (and the next likeliest entrants, so X is read O(log p) times) and the
driver resumes at the same ``lam``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .gram import dense_gram, dense_gram_columns, sparse_gram_columns
from .kernels.active_set import POLISH_MAX_SWEEPS, active_subset, chunk_size, covariance_polish
from .kernels.cd import cd_covariance
from .kernels.certify import dot, kkt_scan
from .kernels.flags import FASTMATH
from .kernels.gap import covariance_residual_terms, relative_gap
from .naive import GaussianNaive
from .stopping import RULES, record_point

__all__ = ["GaussianCovariance", "covariance_path", "NEED_COLUMNS"]

NEED_COLUMNS = 3  # stop code: cached Gram columns are missing for KKT violators

# the covariance solver centres X^T W X by subtracting xm xm^T, losing digits in the ratio
# (xm^2 + var) / var: past this ratio (6 of 16 digits) a column makes the naive solver safer
_GRAM_CANCELLATION_MAX = 1e6


def gram_centring_safe(xm, xsq, excluded):
    """Whether centring the uncentred Gram keeps every live column's digits.

    A feature whose mean is huge next to its spread (a year coded as 2024.001, 2024.002,
    ...) would leave its centred Gram entries with a relative error of about
    ``1e-16 * (xm^2 + var) / var``, which the Gram-based certificate cannot see.
    """
    live = ~excluded
    if not np.any(live):
        return True
    ratio = (xm[live] ** 2 + xsq[live]) / xsq[live]
    return bool(np.max(ratio) <= _GRAM_CANCELLATION_MAX)


def gram_dense_enough(prob):
    """Whether covariance updates beat residual updates on this design's columns.

    A covariance move of ``b_j`` costs ``p`` (the gradient of every feature); a residual
    move costs about ``2 nnz_j`` (the gradient of ``j`` from its stored entries, then the
    residual update). A dense column has ``nnz_j = n >= 2p``; a sparse design takes
    covariance updates only when its mean column has ``2 nnz_j >= p`` stored entries.
    """
    if not prob.sparse:
        return True
    return 2.0 * prob.X.nnz >= float(prob.p) * prob.p


class GaussianCovariance(GaussianNaive):
    """glmnet's covariance-update mode for ``n >> p``.

    Gram columns are cached lazily, in growing batches, as features enter; on a long path
    (where nearly every feature enters) of a dense design the first batch is the whole
    Gram, one symmetric product (``n p^2`` flops instead of ``2 n p`` per column). A
    :class:`~shrinkage.engine.gram.SharedGram` in the hints reuses ``X^T X`` across fits
    on the same X (cross-validation folds), with a fold's held-out block when gathered.
    """

    name = "covariance"
    thr_start = 1e-4  # a sweep costs O(p |active|): even cheaper next to a certificate

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        if not GaussianNaive.accepts(family, penalty, prob, setup):
            return False
        if setup.hints.solver == cls.name:
            return True
        tall = prob.n >= 2 * prob.p and prob.p <= 2000
        return (tall and gram_dense_enough(prob)
                and gram_centring_safe(prob.xm, prob.xsq, prob.excluded))

    def __init__(self, prob, setup):
        super().__init__(prob, setup)
        p = prob.p
        self.shared = setup.hints.shared_gram
        self.held_block = setup.held_block
        self.c = self.g.copy()  # Xc^T W yc
        self.yw = float(np.dot(prob.w, self.yc * self.yc))
        self.col = np.full(p, -1, dtype=np.int64)
        # room for a few columns from the start: an empty (p, 0) array counts as C-ordered
        # and would compile every covariance kernel a second time for that layout
        self.G = np.zeros((p, min(16, p)), order="F")
        self.n_cols = 0
        self.r = None  # the residual is never formed in this mode
        self._scratch = np.empty(p, dtype=np.int64)
        if setup.n_lams >= 10 and 8 * p <= prob.n and not prob.sparse:
            self._add_columns(np.arange(p))
        else:
            unpen = np.flatnonzero(prob.unpenalized)
            if unpen.size:
                self._add_columns(unpen)

    def fit_unpenalized(self):
        prob = self.prob
        ws = np.flatnonzero(prob.unpenalized & (self.col >= 0))
        thr = self.thr_start * prob.tol * self.obj_scale * 1e-6
        zeros = np.zeros(prob.p)
        cd_covariance(self.G, self.col, self.g, self.h, zeros, zeros, prob.lo, prob.hi, self.b,
                      ws, ws.size, thr, prob.max_iter)

    def _batch(self, new, in_ws):
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
            # every feature at once: one symmetric product, used as the cache itself,
            # columns in feature order (symmetric, so its transpose is the Fortran-ordered
            # G we need)
            every = np.arange(prob.p)
            # (asfortranarray copies only when a weighted product came back in C order:
            # one memory layout means one compiled specialisation of the kernels)
            self.G = np.asfortranarray(dense_gram(prob.X, prob.w, prob.uniform_w, self.shared,
                                                  self.held_block).T)
            self._finish_columns(self.G, every)
            self.col[:] = every
            self.n_cols = prob.p
            return
        if needed > self.G.shape[1]:
            cap = min(max(needed, 2 * self.G.shape[1], 16), prob.p)
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

    def run_path(self, grid, lam_prev, null_dev, early_stop, out):
        prob = self.prob

        def drive(k, k1):
            while True:
                k, code, nv = covariance_path(
                    self.G, self.col, self.n_cols, self.c, self.yw, self.h, prob.l1u,
                    prob.l2u, prob.lo, prob.hi, prob.candidates, prob.scale, grid, k, k1,
                    prob.tol, self.obj_scale, prob.max_iter, self.thr_start, self.thr_shrink,
                    prob.fit_intercept, self.ybar, prob.xm, float(null_dev), bool(early_stop),
                    *RULES, *self.free.arrays(), self.b, self.g, self._scratch, *out,
                )
                if code != NEED_COLUMNS:
                    return k, code
                in_ws = self.col >= 0
                self._add_columns(self._batch(self._scratch[:nv].copy(), in_ws))

        done, code = self.drive_watched(grid, out, drive)
        self.certify_zero_lam(grid, done, out)
        return done, code

    def deviance(self):
        return covariance_residual_terms(self.b, self.c, self.g, self.yw)[1]


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _cached(col, cand, in_ws, ws):
    """Cached candidates into ``in_ws``/``ws`` (feature order); returns how many."""
    m = 0
    for j in range(col.shape[0]):
        in_ws[j] = col[j] >= 0 and cand[j]
        if in_ws[j]:
            ws[m] = j
            m += 1
    return m


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def covariance_path(G, col, n_cols, c, yw, h, l1u, l2u, lo, hi, cand, scale, lams, k0, k1,
                    tol, obj_scale, max_iter, thr_start, thr_shrink, fit_intercept, ybar, xm,
                    null_dev, early_stop, min_lams, dev_max, dev_change, free, free_idx,
                    pinv, gall, cu, bounded, b, g, need, coefs, intercepts, dev_ratio, cert,
                    n_iter):
    """Covariance-update coordinate descent along ``lams[k0:k1]`` over the cached columns.

    ``g`` (kept equal to ``c - G b`` for every feature) and ``b`` are the warm start. The
    residual terms of the gap come from inner products: ``sum w r yc = yw - b.c`` and
    ``sum w r^2 = yw - b.c - b.g``. Returns ``(k, code, n_need)``: ``(n_lams_done,
    stop_code, 0)``, or ``(k, NEED_COLUMNS, m)`` with the ``m`` uncached violators at
    ``lam_k`` in ``need[:m]`` (``n_iter[k]`` keeps the sweeps spent so far).
    """
    p = b.shape[0]
    L = lams.shape[0]
    every = n_cols == p
    in_ws = np.zeros(p, dtype=np.bool_)
    ws = np.empty(p, dtype=np.int64)
    m = _cached(col, cand, in_ws, ws)
    l1 = np.empty(p)
    l2 = np.empty(p)
    A = np.empty(p, dtype=np.int64)
    H = np.empty((m, m))  # active-set steps act on cached features only
    rhs = np.empty(m)
    floor = 1e-30 * obj_scale
    for k in range(k0, k1):
        lam = lams[k]
        for j in range(p):
            l1[j] = lam * l1u[j]
            l2[j] = lam * l2u[j]
        thr = thr_start * tol * obj_scale
        sweeps = n_iter[k]
        gap = np.inf
        bq = 0.0
        want_polish = False
        while True:
            if not every:
                _, nv = kkt_scan(g, b, l1, l2, lo, hi, cand, in_ws, scale, need)
                if nv > 0:
                    n_iter[k] = sweeps
                    return k, 3, nv
            budget = max_iter - sweeps
            if budget <= 0:
                break
            na = active_subset(b, lo, hi, ws, m, A)
            # a sweep moves about every active coordinate, each move costing p
            sweep_cost = float(p) * (na + 1)
            polish_cost = na * na * na / 3.0 + float(na) * na
            polish = polish_cost <= POLISH_MAX_SWEEPS * sweep_cost
            if polish and want_polish and na > 0:
                covariance_polish(G, col, g, b, A, na, H, rhs, l1, l2, lo, hi)
            want_polish = False
            chunk = min(budget, chunk_size(polish_cost, sweep_cost)) if polish else budget
            did = cd_covariance(G, col, g, h, l1, l2, lo, hi, b, ws, m, thr, chunk)
            sweeps += did
            if did == chunk and chunk < budget:
                want_polish = True
                continue
            if not every:
                _, nv = kkt_scan(g, b, l1, l2, lo, hi, cand, in_ws, scale, need)
                if nv > 0:
                    n_iter[k] = sweeps
                    return k, 3, nv
            a, bq = covariance_residual_terms(b, c, g, yw)
            gap = relative_gap(a, bq, g, b, l1, l2, lo, hi, cand, obj_scale, free, free_idx,
                               pinv, gall, cu, bounded)
            if gap <= tol:
                break
            thr *= thr_shrink
            want_polish = True
            if thr < floor:
                break
        if gap == np.inf:
            bq = covariance_residual_terms(b, c, g, yw)[1]
        code = record_point(k, b, ybar - dot(xm, b) if fit_intercept else 0.0, bq, null_dev,
                            gap, sweeps, coefs, intercepts, dev_ratio, cert, n_iter,
                            early_stop, L, min_lams, dev_max, dev_change, (lo, hi, l1u, l2u))
        if code:
            return k + 1, code, 0
    return k1, 0, 0
