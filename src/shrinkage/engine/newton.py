"""Proximal Newton for the compiled GLM families: IRLS outer loop, coordinate descent inside.

A quadratic (IRLS) approximation of the loss is solved by the coordinate-descent kernel
over a working set, then a backtracking line search on the true objective keeps every
step a descent step (it never diverges). Newton steps are certified on the working set
(``O(n |ws|)`` per step); one pass over all of X per KKT round adds violators and yields
the certificate: the maximum KKT violation over all features. The per-step arithmetic
(IRLS weights, residuals, accurate objective changes, the line search) lives in the nogil
kernels of :mod:`shrinkage.engine.kernels.glm`.
"""

from __future__ import annotations

import numpy as np

from ..model.glm_math import loss_and_deviance
from .contract import Solver
from .drift import certify_settled
from .kernels.certify import dot, kkt_scan, strong_rule
from .kernels.curvature_kkt import MAX_WEIGHT, curvature_weighted_kkt
from .kernels.glm import (
    NEEDS_POLISH,
    armijo_irls,
    fill_mean_parts,
    irls_model,
    penalty_change,
    weighted_residual,
)
from .kernels.glm_descend import PASSES, ROUNDS_PHASE, WS_SIZE, descend_strength
from .newton_cg import (
    CG_MAX_ITER,
    STALL_POLISHES,
    STALLED_CG_MAX_ITER,
    cg_active_step,
    polish_active_set,
)
from .newton_secant import secant_warm_start
from .newton_steps import StepRounds
from .problem import certificate_reference

# the methods a subclass may replace; the compiled loop runs only where none is replaced
_STEP_PIECES = ("residual", "irls", "line_search", "_newton_step")


class ProximalNewton(StepRounds, Solver):
    """Proximal Newton (IRLS outer loop, coordinate descent inside) for the compiled GLMs.

    Each ``solve`` alternates two levels, as glmnet does:

    * Newton steps restricted to the working set, each certified on the working set only
      (its gradient costs ``O(n |ws|)``), until the working-set KKT violation (and the
      intercept's gradient) is below ``ws_tol_ratio * tol``;
    * one full gradient pass (``X^T``, all features): features outside the working set that
      violate their KKT condition join it and the first level resumes; otherwise the full
      certificate, over all candidate features, is returned.

    So a ``lam`` typically costs one pass over X, and the certificate is always computed from
    the exact gradient at the returned point.

    Where ``prob.weighted`` (the binomial default, ``Family.weighted_tol``) the
    certificate weighs each feature's violation by how far its curvature fell below the
    path start's (:mod:`~shrinkage.engine.kernels.curvature_kkt`): a strength certified on
    the plain violations whose weighted certificate exceeds ``tol`` is solved on to a
    proportionally tighter tolerance (:meth:`_weighted_certify`).
    """

    name = "newton"
    certificate_kind = "kkt_violation"
    weighted_certificate = True  # (where the loss is this module's own: _weighted)
    max_newton = 100
    # sweeps of a Newton model before its polish (_polish). On a sparse design the polish
    # is a conjugate-gradient step (two passes over the active columns per iteration),
    # dear against a sweep: 20 against 10 made the quick power-law text binomial path
    # 7.5 % faster. Dense designs took 10 until 2026-12-07, when 20 made the quick
    # near-copied columns (pairs) 1.27x faster (0.180 -> 0.141 s; full size 0.404 ->
    # 0.375 s) and left the other dense binomial, poisson and Cox paths within 1-2 %
    # (breast cancer 1 % slower; 40: pairs 0.134 s, breast cancer 4 % slower)
    sweeps_before_polish = 20
    # the working-set subproblem is solved below this fraction of tol, so that the full
    # certificate (the same violations, summed in another order, plus those outside the
    # set) passes at the first try; 0.9 against 0.5 saves 3-12% of a default binomial path
    # (bench_path.py --quick --defaults, CPU) for certificates up to 0.9 tol
    ws_tol_ratio = 0.9
    extrapolate = True  # secant warm start along the path (engine.newton_secant)
    # inexact Newton: the model is solved until coordinate moves change it by less than
    # inner_accuracy * (current KKT violation)^2 / curvature. 0.1 measured fastest to the
    # same certificates: 1.6x fewer seconds than 1e-3 on a 3,000-row power-law text slice
    # (binomial, 70 lams: 11.6 s against 18.2 s), 1.1-1.2x on dense binomial paths, equal
    # on poisson; 10 stalls (Newton steps too inexact to reach tol)
    inner_accuracy = 0.1
    compiled_rounds = True  # a strength's rounds in one compiled call (descend_strength)
    # a strength whose curvature-weighted certificate exceeds tol is solved on at most this
    # many times, each to tol * 0.5 * tol / (weighted certificate), never below
    # tol / TIGHTEST (the weights are at most MAX_WEIGHT = 100)
    weighted_rounds = 4
    TIGHTEST = 1e3
    drift_by_mean = True  # the residual is w (y - mu) row by row (engine.drift)
    _capped = 0  # solves stopped unconverged by max_newton (see cap_note)

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (family.kernel_code is not None and family.response == "vector"
                and penalty.block == "coordinate" and penalty.shape == "elasticnet")

    def __init__(self, prob, setup):
        self.prob = prob
        self.fam = prob.family.kernel_code  # integer code: no string dispatch in kernels
        n, p = prob.n, prob.p
        self.b = np.zeros(p)
        self.b0 = setup.b0  # intercept of the centred parametrisation
        self.eta = np.array(setup.eta, dtype=np.float64)
        self.h = np.zeros(p)
        self.xv = np.zeros(p)
        self.wres = np.empty(n)  # w_i (y_i - mu_i)
        # the line search evaluates wres and the IRLS model at its accepted point, in its
        # own pass; residual() and irls() take them from there once eta moves to it
        self._wres_t = np.empty(n)
        self._v_t = np.empty(n)
        self._z_t = np.empty(n)
        self._sums_t = np.empty(4)
        # mean and 1 - mean at self._mean_of (the eta they belong to), and a trial's
        self._mean = (np.empty(n), np.empty(n))
        self._mean_t = (np.empty(n), np.empty(n))
        self._mean_of = None
        self._pending_res = self._pending_irls = None  # the eta those were computed at
        self.swres = self.residual()
        self.g = prob.gradient(self.wres)
        # the loss sum_i w_i loss_i at eta, kept by adding each accepted step's accurate
        # change (no pass over the rows per lam for the deviance), and the saturated sum;
        # only where the loss is this module's own (a subclass replacing the step's pieces
        # keeps its deviance)
        self._plain = all(getattr(type(self), f) is getattr(ProximalNewton, f)
                          for f in _STEP_PIECES)
        self._loss = self._saturated = self._trial_loss = 0.0
        if self._plain:
            self._loss, dev = loss_and_deviance(self.fam, prob.y, self.eta, prob.w)
            self._saturated = self._loss - 0.5 * dev
        # certificates are relative to the null model's largest standardized gradient
        self.grad_scale = certificate_reference(self.g, prob.cert_scale, prob.candidates)
        self._scratch = np.empty(p, dtype=np.int64)
        self._l1, self._l2 = np.empty(p), np.empty(p)  # lam * l1u, lam * l2u (_solve)
        self._in_ws = np.empty(p, dtype=bool)  # the working set of a path point: mask
        self._ws = np.empty(p, dtype=np.int64)  # and indices
        # the coordinates a Newton step moved, their old values and moves
        self._moved = (np.empty(p, dtype=np.int64), np.empty(p), np.empty(p))
        self._v = np.empty(n)
        self._z = np.empty(n)
        self._deta = np.empty(n)
        self._eta_t = np.empty(n)
        self._last = None  # (lam, b, b0) of the last two path solutions
        self._before = None
        self._st = np.empty(4)  # the model's running sums (see cd_quadratic)
        self._s2 = prob.cert_scale ** 2  # curvatures h_j / s_j^2 are in standardized units
        self._b_ws = np.empty(p)  # b on the working set before a step (descend_strength)
        self._secant = None  # (b_before, rho, db0): the secant descend_strength starts with
        self._fl = np.zeros(11)  # descend_strength's state (fl, it), kept for the path
        # the latest full Newton step's v_new / v^2 (0: unknown; see inner_violation)
        self._rate = 0.0
        self._it = np.zeros(12, dtype=np.int64)  # (and descend_strength's three)
        self._b_before = None  # the secant's base point while a loop runs
        self._tol = prob.tol  # the tolerance a strength's descent works to
        self._weight_ratio = 1.0  # the last strength's weighted / plain certificate
        # curvature_weighted_kkt's scratch: w_i var_i, and columns, violations, moments
        self._var = np.empty(n)
        self._weighing = (np.empty(p, dtype=np.int64), np.empty(p), np.empty(p), np.empty(p))
        # the null model's mean curvature, the reference of the weighted certificate
        self._weighted = self._plain and prob.weighted
        self._h_null = 0.0
        if self._weighted:
            self.certificate_kind = "weighted_kkt_violation"
            self._h_null = self._mean_curvature()

    def rebase_reference(self):
        super().rebase_reference()
        if self._weighted:  # the weights' reference too: the path's start
            self._h_null = self._mean_curvature()

    def _mean_curvature(self):
        """``sum_i w_i var(eta_i) / sum_i w_i`` at the current point."""
        prob = self.prob
        return float(np.sum(prob.family.irls_weights(prob.y, self.eta, prob.w)) / np.sum(prob.w))

    def feature_gradient(self):
        return np.abs(self.g)

    # the three places the loss enters; a family whose loss couples rows replaces them
    def residual(self):
        """Fill ``self.wres`` with minus the loss's derivative in ``eta`` (``w_i (y_i -
        mu_i)``); returns its sum (the intercept's gradient)."""
        prob = self.prob
        if self._pending_res is self.eta:
            self._pending_res = None
            self.wres, self._wres_t = self._wres_t, self.wres
            return float(self._sums_t[0])
        return weighted_residual(self.fam, prob.y, self.eta, prob.w, self.wres)

    def irls(self, v, z):
        """Fill the quadratic model's weights ``v`` and working residual ``z`` around
        ``self.eta``; returns ``(sum v z, sum v, 1/2 sum v z^2)``."""
        prob = self.prob
        if self._pending_irls is self.eta:
            self._pending_irls = None
            v[:] = self._v_t
            z[:] = self._z_t
            st = self._sums_t
            return float(st[1]), float(st[2]), float(st[3])
        return irls_model(self.fam, prob.y, self.eta, prob.w, v, z)

    def line_search(self, deta, b_old, db, idx, l1, l2, decrease, slack, max_halvings):
        """Backtracking on the true objective along ``(db, deta)``; writes
        ``self._eta_t`` and returns ``(t, F(t) - F(0))`` (``t = 0``: no step)."""
        prob = self.prob
        mu, mc = self._mean
        if self._mean_of is not self.eta:
            fill_mean_parts(self.fam, self.eta, mu, mc)
            self._mean_of = self.eta
        t, df = armijo_irls(self.fam, prob.y, prob.w, self.eta, mu, mc, deta, self._eta_t,
                            b_old, db, idx, l1, l2, decrease, slack, max_halvings,
                            self._wres_t, self._v_t, self._z_t, *self._mean_t, self._sums_t)
        pending = None
        if t > 0.0:  # all of these now describe the point eta moves to
            self._trial_loss = df - penalty_change(b_old, db, idx, l1, l2, t)
            pending = self._eta_t
            self._mean, self._mean_t = self._mean_t, self._mean
            self._mean_of = pending
        self._pending_res = self._pending_irls = pending
        return t, df

    def certificate(self, lam, mask=None):
        """Largest KKT violation (standardized units) relative to the null model's gradient."""
        prob = self.prob
        cand = prob.candidates if mask is None else prob.candidates & mask
        return self._kkt(lam * prob.l1u, lam * prob.l2u, cand, cand)[0]

    def _kkt(self, l1, l2, cand, in_ws):
        """``(certificate, m)`` over ``cand``: the violators outside ``in_ws`` are left in
        ``self._scratch[:m]`` (one scan serves the certificate and the working set)."""
        prob = self.prob
        v, m = kkt_scan(self.g, self.b, l1, l2, prob.lo, prob.hi, cand, in_ws, prob.cert_scale,
                        self._scratch)
        if prob.fit_intercept:
            v = max(v, abs(self.swres))
        return v / self.grad_scale, m

    def fit_unpenalized(self):
        self._solve(1.0, 1.0, self.prob.unpenalized.copy())

    def solve(self, lam, lam_prev):
        return self._solve(lam, lam_prev, None)

    def _solve(self, lam, lam_prev, ws_mask):
        """Solve at ``lam`` from the current point; returns ``(certificate, sweeps)``.

        ``ws_mask`` fixes the working set (no expansion) and restricts the certificate to it.
        """
        prob = self.prob
        # (kept arrays: a strength's penalties live only within its solve)
        l1 = np.multiply(prob.l1u, lam, out=self._l1)
        l2 = np.multiply(prob.l2u, lam, out=self._l2)
        expand = ws_mask is None
        cand = prob.candidates if expand else prob.candidates & ws_mask
        state = [0.0, 0, 0]  # objective change, sweeps, Newton steps
        # the weights change slowly along a path: the last strength's ratio of weighted to
        # plain certificate sets the tolerance this one starts to (one descent, not two)
        self._tol = prob.tol / self._weight_ratio

        def settled(first):  # certified at the predictor X b itself (engine.drift)
            return certify_settled(
                self, lambda once: self._descend(lam, lam_prev, l1, l2, expand, cand, ws_mask,
                                                 state, once and first),
                self._at_adopted_eta, lambda: self._kkt(l1, l2, cand, cand)[0], tol=self._tol)

        cert = settled(True)
        if self._weighted:
            cert = self._weighted_certify(settled, l1, l2, cand, cert)
        self._tol = prob.tol
        if cert > prob.tol and state[2] >= self.max_newton:
            self._capped += 1
        if expand:
            self._before = self._last
            self._last = (lam, self.b.copy(), self.b0)
        else:  # not a path point: the secant through earlier points no longer applies
            self._before = self._last = None
        return cert, state[1]

    def _weighted_certify(self, settled, l1, l2, cand, plain):
        """The curvature-weighted certificate at the strength's point, whose descent returned
        the plain certificate ``plain``; while it exceeds ``tol`` and the descent reached
        its own tolerance, solving on (``settled(False)``) to tighter ones."""
        tol = self.prob.tol
        weighted = self._weighted_kkt(l1, l2, cand, plain)
        for _ in range(self.weighted_rounds):
            if plain > 0.0:
                self._weight_ratio = weighted / plain
            if weighted <= tol or plain > self._tol:  # (the descent stopped short: a cap)
                break
            self._tol = max(min(self._tol, plain) * 0.5 * tol / weighted, tol / self.TIGHTEST)
            plain = settled(False)
            weighted = self._weighted_kkt(l1, l2, cand, plain)
        return weighted

    def _weighted_kkt(self, l1, l2, cand, plain):
        """:func:`~shrinkage.engine.kernels.curvature_kkt.curvature_weighted_kkt` at the
        current point (and the intercept's gradient), relative to ``grad_scale``.

        ``plain`` is the certificate the descent returned: where it exceeds the plain
        violations read here, the excess (the drift bound of ``engine.drift``, a bound on
        the gradient's change between the running and the exact predictor) is added
        with the largest weight."""
        prob = self.prob
        have = self._pending_irls is self.eta  # (the line search's model: w_i var_i there)
        v, v_plain = curvature_weighted_kkt(
            self.fam, *prob.kernel_design(), self.eta, prob.w, prob.xm, self._s2, self.g,
            self.b, l1, l2, prob.lo, prob.hi, cand, prob.cert_scale, self._h_null,
            self._v_t if have else self._var, have, *self._weighing)
        if prob.fit_intercept:
            v = max(v, abs(self.swres))
            v_plain = max(v_plain, abs(self.swres))
        v, v_plain = v / self.grad_scale, v_plain / self.grad_scale
        return v + max(plain - v_plain, 0.0) * MAX_WEIGHT

    def _at_adopted_eta(self):
        """Residual, loss and gradient at ``eta`` after ``settle_predictor`` replaced it (a
        new array: the caches keyed on the old one's identity are stale)."""
        prob = self.prob
        self.swres = self.residual()
        if self._plain:
            self._loss = loss_and_deviance(self.fam, prob.y, self.eta, prob.w)[0]
        prob.gradient(self.wres, out=self.g)

    def _descend(self, lam, lam_prev, l1, l2, expand, cand, ws_mask, state, first):
        """Newton rounds and KKT passes at ``lam`` until certified at the running ``eta``
        (or a cap); returns the certificate there. ``first``: the strength's first descent
        (the only one that starts from the secant warm start)."""
        prob = self.prob
        if self.compiled_rounds and self._plain:
            return self._descend_compiled(lam, lam_prev, l1, l2, cand, ws_mask, state, first)
        cert = self._kkt(l1, l2, cand, cand)[0]
        if cert > self._tol:  # (the strong set is not needed at a point already certified)
            if expand:  # strong_set's rule, into arrays kept for the path
                in_ws = self._in_ws
                ws = self._ws[:strong_rule(self.g, self.b, prob.l1u, 2.0 * lam - lam_prev,
                                           prob.unpenalized, prob.candidates, in_ws,
                                           self._ws)]
            else:
                in_ws = ws_mask
                ws = np.flatnonzero(in_ws)
            if expand and self.extrapolate and first:
                secant_warm_start(self, lam, ws, l1, l2)
            while True:
                moved = self._solve_working_set(ws, l1, l2, self.ws_tol_ratio * self._tol, state)
                # the one pass over X of this round: exact gradient of every feature
                prob.gradient(self.wres, out=self.g)  # in place: no array per round
                m_new = 0
                if expand:
                    cert, m_new = self._kkt(l1, l2, prob.candidates, in_ws)
                    if m_new:
                        in_ws[self._scratch[:m_new]] = True
                        ws = np.flatnonzero(in_ws)
                else:
                    cert = self._kkt(l1, l2, cand, cand)[0]
                if cert <= self._tol or (m_new == 0 and not moved):
                    break
                if state[1] >= prob.max_iter or state[2] >= self.max_newton:
                    break
        return cert

    def cap_note(self):
        if not self._capped:
            return ""
        return (f"{self._capped} of them stopped first at the cap of {self.max_newton} "
                "Newton steps per strength")

    def _descend_compiled(self, lam, lam_prev, l1, l2, cand, ws_mask, state, first):
        """:meth:`_descend` through the compiled loop
        (:func:`~shrinkage.engine.kernels.glm_descend.descend_strength`): the same rounds,
        returning here only to polish a slow model."""
        prob = self.prob
        expand = ws_mask is None
        if expand and first and self.extrapolate:
            secant_warm_start(self, lam, None, l1, l2)  # (the compiled loop needs no ws)
        fl, it = self._prepare_rounds(state)
        it[ROUNDS_PHASE] = 0
        v, z, st = self._v, self._z, self._st
        ws_tol = self.ws_tol_ratio * self._tol
        cut = 2.0 * lam - lam_prev
        step = -1  # the Newton step whose model was last polished
        polishes = 0  # and how often
        while True:
            code, cert = descend_strength(
                self.fam, *prob.kernel_design(), prob.y, prob.w, prob.xm, prob.cert_scale,
                self._s2, prob.lo, prob.hi, l1, l2, prob.l1u, cut, prob.unpenalized, cand,
                prob.excluded, expand, self._in_ws if expand else ws_mask, self._ws,
                self._scratch,
                prob.fit_intercept, self.b, self.eta, self._eta_t, self.wres, self._wres_t,
                self.g, v, z, self._v_t, self._z_t, *self._mean, *self._mean_t,
                self._sums_t, self.xv, self.h, self._deta, st, *self._moved, self._b_ws,
                self._b_before, fl, it, self._tol, ws_tol, self.grad_scale,
                self.inner_accuracy)
            if code != NEEDS_POLISH:
                break
            polishes = polishes + 1 if it[1] == step else 1
            self._polish(v, z, st, self._ws[:it[WS_SIZE]], l1, l2, polishes)
            step = it[1]
            it[7] = 1
        self._finish_rounds(state)
        return cert

    def _prepare_rounds(self, state):
        """``(fl, it)``: the compiled loop's state, from the solver's and ``state``'s."""
        if self._mean_of is not self.eta:
            fill_mean_parts(self.fam, self.eta, *self._mean)
        self._mean_of = self.eta
        self._b_before, rho, db0 = self.b, 0.0, 0.0
        if self._secant is not None:
            (self._b_before, rho, db0), self._secant = self._secant, None
        fl, it = self._fl, self._it
        fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6], fl[7], fl[8] = (
            self.b0, self.swres, 0.0, state[0], 0.0, 0.0, self._loss, rho, db0)
        it[0], it[1], it[2], it[3], it[4], it[5], it[6], it[7], it[8] = (
            state[1], state[2], self.prob.max_iter, self.max_newton, self.sweeps_before_polish,
            self._pending_irls is self.eta, 0, 0, self._b_before is not self.b)
        return fl, it

    def _finish_rounds(self, state):
        """Take the compiled loop's state back (see :meth:`_prepare_rounds`)."""
        fl, it = self._fl, self._it
        self.b0, self.swres, self._loss = float(fl[0]), float(fl[1]), float(fl[6])
        state[0], state[1], state[2] = float(fl[3]), int(it[0]), int(it[1])
        self._pending_res = None
        self._pending_irls = self.eta if it[5] else None
        self._b_before = None

    @property
    def compiled_passes(self):
        """Full gradient passes over X taken by the compiled rounds so far (one per round
        of :func:`~shrinkage.engine.kernels.glm_descend.descend_strength`, over the
        columns outside the working set, whose gradient the round has at hand; the
        passes taken in Python, through ``Problem.gradient``, are not counted here)."""
        return int(self._it[PASSES])

    def _polish(self, v, z, st, ws, l1, l2, polishes=1):
        """Slow inner convergence (correlated features): solve the model exactly on its
        active set (by conjugate gradients where a direct solve is too costly); coordinate
        descent then confirms or corrects it.

        On a sparse design whose active set holds at most ``n / 2`` features, the
        conjugate-gradient step is skipped at a model's first polish (``again`` false) and
        coordinate descent simply goes on: such a model is usually well conditioned
        (Jacobi-scaled condition 50-100 on the quick uniform sparse case, where 20 CG
        iterations, each two passes over the active columns, cost about 20 sweeps and
        reduce the error as much as about 8). Quick sparse binomial path 17% less CPU;
        power-law text, quick to 20,000 x 45,000, unchanged or faster. A model still
        unsolved at its next polish takes the CG step: a small active set is no proof of
        good conditioning (unpenalised or near-separating columns with ``p > n``, where
        coordinate descent alone crawled to ``max_iter``).

        From a model's :data:`~shrinkage.engine.newton_cg.STALL_POLISHES`-th polish
        (``polishes`` counts them), where the active set holds at most ``n / 2`` features,
        the conjugate-gradient step runs up to
        :data:`~shrinkage.engine.newton_cg.STALLED_CG_MAX_ITER` iterations instead of
        :data:`~shrinkage.engine.newton_cg.CG_MAX_ITER`: the quick one-hot factors binomial
        path (2,000 x 632) took 3,612 sweeps (1,002 at one strength) and 0.155 s, now
        2,540 and 0.105 s. Nearly interpolating active sets keep the short step: on the
        full-size power-law text binomial path the long one saved 46 of 4,978 sweeps and
        cost 4-15 % more time.
        """
        prob = self.prob
        if polish_active_set(prob, v, z, st, self.b, ws, l1, l2) is not None:
            return
        small = 2 * np.count_nonzero(self.b[ws]) <= prob.n
        if polishes == 1 and prob.sparse and small:
            return
        stalled = polishes >= STALL_POLISHES and small
        cg_active_step(prob, v, z, st, self.b, ws, l1, l2, self.h,
                       STALLED_CG_MAX_ITER if stalled else CG_MAX_ITER)

    def intercept(self):
        return self.b0 - dot(self.prob.xm, self.b)

    def deviance(self):
        """``2 sum_i w_i (loss_i - saturated_i)`` at ``eta``, from the running loss."""
        if not self._plain:
            return self.prob.family.deviance(self.prob.y, self.eta, self.prob.w)
        return max(2.0 * (self._loss - self._saturated), 0.0)
