"""MCP and SCAD paths: coordinate descent with exact univariate thresholds.

:class:`ConcaveSolver` accepts a folded-concave penalty (``penalty.shape`` ``"mcp"`` or
``"scad"``, see :mod:`shrinkage.model.concave`) with the gaussian family or a compiled GLM
(binomial, poisson). Per ``lam``, warm-started from the previous solution:

1. the working set: strong-rule candidates (as the lasso's: near zero both penalties have
   the lasso's slope) plus the ever-active and unpenalised features;
2. on the working set, a quadratic model of the loss (the loss itself for the gaussian
   family; the IRLS model for GLMs) is minimised by coordinate descent whose every step is
   the exact global minimiser along the coordinate
   (:func:`~shrinkage.engine.kernels.concave.threshold`), so the model never increases;
   for GLMs a backtracking search on the true objective keeps every step a descent step;
3. one full pass over X: features outside the working set that violate their first-order
   condition join it and step 2 resumes; otherwise the certificate is the largest
   violation of the first-order (stationarity) conditions over all features and the
   intercept, relative to the null model's largest standardized gradient.

The objective is nonconvex, so the point found depends on the start: the path follows the
stationary point reached continuously from ``b = 0`` at ``lam_max`` by warm starts
(ncvreg's convention). :class:`MarginTracker` gives ncvreg's local diagnostic.
"""

from __future__ import annotations

import numpy as np

from .concave_steps import (
    ActiveGram,
    MarginTracker,
    gram_polish,
    polish_piece,
)
from .contract import Solver
from .covariance import gram_centring_safe
from .drift import certify_settled
from .kernels.cd import weighted_moments
from .kernels.certify import centred_dots, dot
from .kernels.concave import concave_cd, gram_cd, kkt_scan, line_search, ws_kkt
from .kernels.glm import irls_model, weighted_residual
from .kernels.moments import centred_combination
from .problem import certificate_reference, strong_set
from .recession import RayWatch, ray_diagnostics, recession_direction
from .stopping import DEV_MAX, MIN_LAMS

__all__ = ["ConcaveSolver"]

_EPS = float(np.finfo(float).eps)
_MAX_HALVINGS = 12  # beyond, a damped step (smaller, certain to descend) does better
_MAX_DAMP = 1e12  # a proximal weight this large moves no coordinate measurably


class ConcaveSolver(Solver):
    """Working-set coordinate descent for MCP/SCAD, certified by stationarity."""

    name = "concave"
    certificate_kind = "kkt_violation"
    max_newton = 200
    ws_tol_ratio = 0.5
    inner_accuracy = 1e-3
    chunk = 200  # sweeps between working-set certificates
    sweeps_before_polish = 10
    covariance_max_p = 2000
    # glmnet's "deviance explained stops changing" rule would end a nonconvex path on the
    # plateaus between entries (a coefficient past gamma * lam is no longer shrunk)
    stop_rules = (MIN_LAMS, DEV_MAX, -np.inf)
    drift_by_mean = True  # the residual is w (y - mu) row by row (engine.drift)
    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (penalty.block == "coordinate" and penalty.shape in ("mcp", "scad")
                and family.response == "vector" and prob.y.ndim == 1
                and (family.quadratic or family.kernel_code is not None))

    def __init__(self, prob, setup):
        self.prob = prob
        self.pen = prob.penalty
        self.kind = self.pen.code
        self.gamma = float(self.pen.gamma)
        self.quadratic = bool(prob.family.quadratic)
        self.fam = -1 if self.quadratic else prob.family.kernel_code
        n, p = prob.n, prob.p
        self.b = np.zeros(p)
        self.b0 = float(np.asarray(setup.b0))
        self.eta = np.array(setup.eta, dtype=np.float64)
        self.wres = np.empty(n)
        self.swres = self._residual()
        self.g = prob.gradient(self.wres)
        self.grad_scale = certificate_reference(self.g, prob.cert_scale, prob.candidates)
        self.h = prob.xsq.copy() if self.quadratic else np.zeros(p)
        self.xv = prob.xw.copy() if self.quadratic else np.zeros(p)
        self._scratch = np.empty(p, dtype=np.int64)
        self._v = prob.w.copy() if self.quadratic else np.empty(n)
        self._z = np.empty(n)
        self._r = np.empty(n)
        self._deta = np.empty(n)
        self._eta_t = np.empty(n)
        self._margins = []
        self._gram = ActiveGram(prob) if self.quadratic else None
        # covariance updates pay where rows far outnumber features (as glmnet's choice)
        # (and only where centring the Gram keeps the columns' digits: a column of mean
        # 1e8 and sd 1 left a dense path 16 strengths unconverged)
        self._covariance = (self.quadratic and not prob.sparse and n >= 2 * p
                            and p <= self.covariance_max_p
                            and gram_centring_safe(prob.xm, prob.xsq, prob.excluded))
        self._margin_tracker = MarginTracker(self.quadratic)
        self._watch = RayWatch(not self.quadratic, int(np.count_nonzero(prob.w)))

    def _residual(self):
        """``wres = w (y - mu)``; returns its sum (the intercept's gradient)."""
        prob = self.prob
        if self.quadratic:
            np.subtract(prob.y, self.eta, out=self.wres)
            self.wres *= prob.w
            return float(self.wres.sum())
        return weighted_residual(self.fam, prob.y, self.eta, prob.w, self.wres)

    def feature_gradient(self):
        return np.abs(self.g)

    def _strengths(self, lam):
        prob = self.prob
        return lam * prob.l1u / prob.scale, lam * prob.l2u / (prob.scale * prob.scale)

    def _kkt(self, lam1, lam2, cand, in_ws):
        prob = self.prob
        v, m = kkt_scan(self.kind, self.gamma, self.g, self.b, prob.scale, prob.cert_unit, lam1,
                        lam2, cand, in_ws, self._scratch)
        if prob.fit_intercept:
            v = max(v, abs(self.swres))
        return v / self.grad_scale, m

    def fit_unpenalized(self):
        self._solve(1.0, 1.0, self.prob.unpenalized.copy())

    def solve(self, lam, lam_prev):
        self._watch.start()
        out = self._solve(lam, lam_prev, None)
        self._margins.append(self._margin(lam))
        return out

    def _follow_ray(self, lam1, lam2, state):
        """At a slow strength, move along a ray of descent where there is one
        (:meth:`~shrinkage.engine.recession.RayWatch.step`). Returns True if it moved."""
        move = self._watch.step(
            self, state[0], state[1],
            lambda: recession_direction(self.prob, self.b, lam1, lam2, self.gamma), self.eta)
        if move is None:
            return False
        ray, t, d, a, db0 = move
        self.b[ray.features] += t * d
        self.b0 += t * db0
        self.eta += t * a
        self.swres = self._residual()
        return True

    def _margin(self, lam):
        """:func:`convexity_margin` at the current point, through :class:`MarginTracker`
        (the same while the gaussian active set and a zero ridge part stay the same; a
        bound where one decides the sign)."""
        prob = self.prob
        _, lam2 = self._strengths(lam)
        weights = prob.w if self.quadratic else self.curvature_weights()
        return self._margin_tracker.margin(prob, weights, self.b, lam2, self.pen.concavity,
                                           self._gram)

    def diagnostics(self):
        """``(extra, warning)``: the margins per path point for ``Path.extra`` and, where
        the objective is not locally convex, the sentence the path driver warns with."""
        margins = np.asarray(self._margins, dtype=float)
        return ray_diagnostics(self.pen, self.prob.family.name, margins, self._watch)

    def _solve(self, lam, lam_prev, ws_mask):
        prob = self.prob
        lam1, lam2 = self._strengths(lam)
        expand = ws_mask is None
        in_ws = strong_set(prob, self.g, self.b, lam, lam_prev) if expand else ws_mask
        cand = prob.candidates if expand else prob.candidates & ws_mask
        state = [0, 0]  # sweeps, model steps
        cert = certify_settled(  # at the predictor X b itself (engine.drift)
            self, lambda first: self._rounds(lam1, lam2, cand, in_ws, expand, state),
            self._at_adopted_eta, lambda: self._kkt(lam1, lam2, cand, in_ws)[0])
        return cert, state[0]

    def _rounds(self, lam1, lam2, cand, in_ws, expand, state):
        """Working-set rounds (model steps, then one pass over X) until certified at the
        running ``eta`` or a cap; ``in_ws`` grows by the violators when ``expand``.
        Returns the certificate."""
        prob = self.prob
        cert, m_new = self._kkt(lam1, lam2, cand, in_ws)
        while cert > prob.tol:
            if expand:
                in_ws[self._scratch[:m_new]] = True
            ws = np.flatnonzero(in_ws)
            moved = self._solve_working_set(ws, lam1, lam2, state)
            self.g = prob.gradient(self.wres)  # the one pass over X of this round
            cert, m_new = self._kkt(lam1, lam2, cand, in_ws)
            if (m_new == 0 or not expand) and not moved:
                break
            if state[0] >= prob.max_iter or state[1] >= self.max_newton:
                break
        return cert

    def _at_adopted_eta(self):
        """Residual and gradient at ``eta`` after ``settle_predictor`` replaced it."""
        self.swres = self._residual()
        self.g = self.prob.gradient(self.wres)

    def _solve_working_set(self, ws, lam1, lam2, state):
        """Model steps on ``ws`` until its stationarity violation is below
        ``ws_tol_ratio * tol``; ``self.g`` exact on ``ws`` at entry and exit."""
        prob = self.prob
        X, xd, xi, xp, sparse = prob.kernel_design()
        m = ws.size
        ws_tol = self.ws_tol_ratio * prob.tol
        ws_cert = self._ws_cert(ws, lam1, lam2)
        moved = False
        v, z, r = self._v, self._z, self._r
        uv = prob.uniform_w if self.quadratic else 0.0
        damp = 0.0
        polish_wait = polish_in = 0
        while ws_cert > ws_tol:
            if state[0] >= prob.max_iter or state[1] >= self.max_newton:
                break
            state[1] += 1
            if self.quadratic:
                np.subtract(prob.y, self.eta, out=z)
                svz, sv = float(np.dot(v, z)), float(v.sum())
                q0 = 0.5 * float(np.dot(v, z * z))
            else:
                svz, sv, q0 = irls_model(self.fam, prob.y, self.eta, prob.w, v, z)
                weighted_moments(X, xd, xi, xp, sparse, v, prob.xm, ws, m, self.xv, self.h)
            if self._covariance and self._gram_step(ws, lam1, lam2, ws_cert, state):
                moved = True
                ws_cert = self._ws_cert(ws, lam1, lam2)
                continue
            r[:] = z
            st = np.array([0.0, svz, sv, self.b0])
            b_ws = self.b[ws].copy()
            anchor = self.b.copy()
            hs = self.h[ws] / prob.scale[ws] ** 2
            hmax = float(hs.max()) if m else 1.0
            thr = max(self.inner_accuracy * (ws_cert * self.grad_scale) ** 2
                      / max(hmax, 1e-300), 1e-300)
            budget = max(min(prob.max_iter - state[0], self.chunk), 1)
            while budget > 0:
                step = min(budget, self.sweeps_before_polish)
                done = concave_cd(self.kind, self.gamma, X, xd, xi, xp, sparse, v, uv,
                                  prob.xm, self.xv, self.h, prob.scale, lam1, lam2, self.b,
                                  r, st, ws, m, prob.fit_intercept, thr, step, damp, anchor)
                state[0] += done
                budget -= done
                if done < step:
                    break
                if damp == 0.0 and polish_in <= 0:
                    # slow (correlated features): solve the current piece exactly; after a
                    # refusal (a sign or piece still changing) wait twice as long
                    if not polish_piece(prob, v, r, st, self.b, ws, lam1, lam2, self._gram):
                        polish_wait = max(2 * polish_wait, step)
                    polish_in = polish_wait
                polish_in -= done
            db0 = st[3] - self.b0
            nz = np.flatnonzero(self.b[ws] != b_ws)
            if nz.size == 0 and db0 == 0.0:
                break
            # the step of eta from the coefficients' moves, not as z - r: a row whose mean
            # is tiny has a huge working response z, and the difference of the running
            # residual loses its digits (eta then drifts from X b + b0, and the certificate
            # read at eta is not the returned point's)
            deta = self._deta
            centred_combination(X, xd, xi, xp, sparse, prob.xm, ws[nz],
                                self.b[ws[nz]] - b_ws[nz], deta)
            deta += db0
            if self.quadratic:  # the model is the objective: coordinate descent descends
                np.add(self.eta, deta, out=self.eta)
                t = 1.0
            else:
                t, _ = line_search(self.fam, self.kind, self.gamma, prob.y, prob.w, self.eta,
                                   deta, self._eta_t, self.b, b_ws[nz], ws[nz], prob.scale,
                                   lam1, lam2, 8.0 * _EPS * q0, _MAX_HALVINGS)
                if t == 0.0:  # not a descent step of the nonconvex objective: damp it
                    self.b[ws] = b_ws
                    if damp > _MAX_DAMP:
                        break
                    damp = max(1.0, 4.0 * damp)
                    continue
                damp = damp / 4.0 if damp > 1e-3 else 0.0
                self.eta, self._eta_t = self._eta_t, self.eta
            self.b0 += t * db0
            moved = True
            self.swres = self._residual()
            ws_cert = self._ws_cert(ws, lam1, lam2)
            if self._follow_ray(lam1, lam2, state):
                ws_cert = self._ws_cert(ws, lam1, lam2)
        return moved

    def _gram_step(self, ws, lam1, lam2, ws_cert, state):
        """Gaussian, n >> p: coordinate descent on ``ws`` by covariance updates, then one
        update of the residual. ``self.g`` must be exact on ``ws``. False when the Gram
        block is unavailable (cache full) or nothing moved."""
        prob = self.prob
        G = self._gram.block(ws)
        if G is None:
            return False
        s = prob.scale[ws]
        b_old = self.b[ws]
        b = b_old.copy()
        g = self.g[ws].copy()
        hmax = float((np.diag(G) / s**2).max())
        thr = max(self.inner_accuracy * (ws_cert * self.grad_scale) ** 2 / max(hmax, 1e-300),
                  1e-300)
        budget = max(min(prob.max_iter - state[0], 50 * self.chunk), 1)
        l1, l2 = lam1[ws], lam2[ws]
        wait = self.sweeps_before_polish
        while budget > 0:
            chunk = min(budget, wait)
            done = gram_cd(self.kind, self.gamma, G, g, b, s, l1, l2, thr, chunk)
            state[0] += done
            budget -= done
            if done < chunk:
                break
            if not gram_polish(self.pen, G, g, b, s, l1, l2):
                wait *= 2
        nz = np.flatnonzero(b != b_old)
        if nz.size == 0:
            return False
        X, xd, xi, xp, sparse = prob.kernel_design()
        step = np.zeros(prob.n)
        centred_combination(X, xd, xi, xp, sparse, prob.xm, ws[nz].astype(np.int64),
                            np.ascontiguousarray(b[nz] - b_old[nz]), step)
        self.eta += step
        self.b[ws] = b
        self.swres = self._residual()
        return True

    def _ws_cert(self, ws, lam1, lam2):
        """Gradient on ``ws`` (written into ``self.g``) and its largest violation."""
        prob = self.prob
        X, xd, xi, xp, sparse = prob.kernel_design()
        centred_dots(X, xd, xi, xp, sparse, self.wres, self.swres, prob.xm, ws, ws.size,
                     self.g)
        c = ws_kkt(self.kind, self.gamma, self.g, self.b, prob.scale, prob.cert_unit, lam1, lam2,
                   ws, ws.size)
        if prob.fit_intercept:
            c = max(c, abs(self.swres))
        return c / self.grad_scale

    def intercept(self):
        return self.b0 - dot(self.prob.xm, self.b)

    def deviance(self):
        return self.prob.family.deviance(self.prob.y, self.eta, self.prob.w)

    def curvature_weights(self):
        """``w_i * loss''(eta_i)`` at the current point."""
        return self.prob.w * self.prob.family.curvature(self.eta)
