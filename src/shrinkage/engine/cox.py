"""Proximal Newton for the Cox family: the GLM Newton solver with the partial likelihood.

The partial likelihood couples rows through its risk sets, so its derivatives are not a
function of each ``eta_i`` alone; everything else is the GLM solver's
(:class:`~shrinkage.engine.newton.ProximalNewton`): working sets, strong rules, the
coordinate-descent kernel on a quadratic model, the active-set polish, the secant warm
start and the KKT certificate over all features. Only the three places where the loss
enters change:

* the residual ``wres = -dL/deta`` and the model's weights ``v = diag d2L/deta2``
  (glmnet's diagonal approximation of the Hessian; the line search and the exact-gradient
  certificate keep the answer exact), from one ``O(n)`` pass over the rows sorted once by
  time (:mod:`shrinkage.model.cox_math`);
* the line search, on the partial likelihood itself.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..model.cox import cox_index
from ..model.cox_math import cox_loss, cox_observation_derivatives, cox_terms, new_terms
from .kernels.cox import risk_set_moments
from .kernels.glm import step_decrease, ws_gradient_kkt
from .newton import ProximalNewton

__all__ = ["CoxNewton"]

_EPS = float(np.finfo(float).eps)
# the model's weights are floored at this share of a row's weight (an event whose risk is
# ~0 has v ~ 0 and a finite gradient): the line search keeps the steps exact
_MIN_CURVATURE = 1e-10
# the exact active-set step gathers the active columns densely: at most this many entries
_MAX_BLOCK = 2e7


def _penalty_change(b_old, db, idx, l1, l2, t):
    new = b_old + t * db
    return (float(np.sum(l1[idx] * (np.abs(new) - np.abs(b_old))))
            + 0.5 * float(np.sum(l2[idx] * (new * new - b_old * b_old))))


class CoxNewton(ProximalNewton):
    """Proximal Newton on the Cox partial likelihood (no intercept; ``eta`` shift-free)."""

    name = "cox"
    # the diagonal model is a loose upper bound of the Hessian where many coefficients are
    # active (p >> n): after two of its steps on a working set, an exact Newton step on the
    # active set (:meth:`refine`) restores fast local convergence
    refine_after = 2

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (family.response == "survival" and penalty.block == "coordinate"
                and penalty.shape == "elasticnet")

    def __init__(self, prob, setup):
        self.index = cox_index(prob.y)
        self.efron = prob.family.ties == "efron"
        self._terms, self._prefix = new_terms(self.index.sentinel.size)
        self._terms_t = np.zeros_like(self._terms)
        self._vdiag = np.empty(prob.n)
        self._floor = _MIN_CURVATURE * prob.w
        self.loss_value = np.nan
        self.saturated = prob.family.saturated_loss(prob.y, prob.w)
        super().__init__(prob, setup)

    def _args(self):
        i = self.index
        return i.lo, i.hi, i.evk, i.sentinel

    def residual(self):
        """``wres = -dL/deta`` and the diagonal curvature at ``self.eta`` (one pass)."""
        prob = self.prob
        eta = self.eta
        self.loss_value, _, m = cox_terms(eta, prob.w, *self._args(), self.efron, self._terms)
        self._shift = m
        total = cox_observation_derivatives(eta, prob.w, *self._args(), self._terms, m,
                                            self._prefix, self.wres, self._vdiag)
        np.maximum(self._vdiag, self._floor, out=self._vdiag)
        return total

    def irls(self, v, z):
        v[:] = self._vdiag
        np.divide(self.wres, v, out=z, where=v > 0)
        z[v <= 0] = 0.0
        vz = v * z
        return float(np.sum(vz)), float(np.sum(v)), 0.5 * float(np.dot(vz, z))

    def line_search(self, deta, b_old, db, idx, l1, l2, decrease, slack, max_halvings):
        """Backtracking on the penalised partial likelihood (Armijo, as the GLM solver's).

        A change within the rounding of the loss's own terms (``16 eps`` times their
        magnitude) or below ``slack`` is accepted as no change.
        """
        prob = self.prob
        eta_t = self._eta_t
        f0 = self.loss_value
        t = 1.0
        for _ in range(max_halvings):
            np.multiply(deta, t, out=eta_t)
            eta_t += self.eta
            f, mag = cox_loss(eta_t, prob.w, *self._args(), self.efron, self._terms_t)
            df = f - f0 + _penalty_change(b_old, db, idx, l1, l2, t)
            if (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
                    or df <= 16.0 * _EPS * mag):
                return t, df
            t *= 0.5
        return 0.0, 0.0

    def hessian_block(self, A):
        """``(Z, Q)``: the centred active columns and ``Z^T H Z``, ``H`` the partial
        likelihood's Hessian in ``eta``::

            Z^T H Z = Z^T diag(g) Z - sum_k [B2_k MN_k MN_k^T + E_k (MN_k MD_k^T + MD_k MN_k^T)
                                             + A3_k MD_k MD_k^T]

        with ``g`` the first-derivative part of each row, ``MD`` the risk-weighted sums of
        ``Z`` over each slot's events and ``MN`` those over the rest of its risk set
        (:func:`~shrinkage.engine.kernels.cox.risk_set_moments`).
        """
        prob = self.prob
        X = prob.X
        cols = X[:, A]
        Z = np.asarray(cols.toarray() if sp.issparse(cols) else cols, dtype=np.float64)
        Z = np.ascontiguousarray(Z - prob.xm[A])
        T = self.index.sentinel.size
        MR, MD, tmp = np.empty((T, A.size)), np.empty((T, A.size)), np.empty((T, A.size))
        risk_set_moments(Z, prob.w, self.eta, self._shift, *self._args(), MR, MD, tmp)
        ev = np.zeros(prob.n)
        live = self.index.evk >= 0
        ev[live] = prob.w[live]
        g = ev - self.wres
        B2, A3, E = self._terms[2], self._terms[3], self._terms[6]
        MN = MR - MD
        Q = (Z.T * g) @ Z - (MN.T * B2) @ MN - (MD.T * A3) @ MD
        cross = (MN.T * E) @ MD
        Q -= cross + cross.T
        return Z, Q

    def refine(self, ws, l1, l2, ws_cert, state):
        """One exact Newton step of the penalised partial likelihood on the active set.

        With ``A`` the non-zero coefficients strictly inside their bounds and ``s`` their
        signs, the objective is smooth on that orthant; the step solves
        ``(Z^T H Z + diag(l2_A)) d = g_A - l2_A b_A - l1_A s_A`` (``g = Z^T wres``) and is
        taken with the line search, kept only if no sign flips and no bound is crossed.
        """
        prob = self.prob
        b = self.b
        A = ws[(b[ws] != 0) & (b[ws] > prob.lo[ws]) & (b[ws] < prob.hi[ws])]
        if A.size == 0 or A.size * prob.n > _MAX_BLOCK or 2 * A.size > prob.n:
            return ws_cert
        Z, Q = self.hessian_block(A)
        Q[np.diag_indices_from(Q)] += l2[A]
        bA = b[A]
        rhs = self.g[A] - l2[A] * bA - l1[A] * np.sign(bA)
        try:
            d = np.linalg.solve(Q, rhs)
        except np.linalg.LinAlgError:
            return ws_cert
        if not np.all(np.isfinite(d)):
            return ws_cert
        deta = self._deta
        deta[:] = Z @ d
        decrease = step_decrease(self.wres, deta, bA, d, A, l1, l2)
        # a step the line search must cut below 1/16 comes from a nearly flat direction
        # (the active set close to saturating the events): leave it to the diagonal model
        t, df = self.line_search(deta, bA, d, A, l1, l2, decrease, 0.0, 5)
        new = bA + t * d
        if (t == 0.0 or np.any(np.sign(new) != np.sign(bA)) or np.any(new < prob.lo[A])
                or np.any(new > prob.hi[A])):
            return ws_cert
        b[A] = new
        self.eta, self._eta_t = self._eta_t, self.eta
        state[0] += df
        self.swres = self.residual()
        X, xd, xi, xp, sparse = prob.kernel_design()
        cert = ws_gradient_kkt(X, xd, xi, xp, sparse, self.wres, self.swres, prob.xm, b, l1,
                               l2, prob.lo, prob.hi, prob.scale, ws, ws.size, self.g)
        return cert / self.grad_scale

    def intercept(self):
        return 0.0

    def deviance(self):
        return 2.0 * (self.loss_value - self.saturated)
