"""Proximal Newton for the Cox family: the GLM Newton solver with the partial likelihood.

The partial likelihood couples rows through its risk sets, so its derivatives are not a
function of each ``eta_i`` alone; everything else is the GLM solver's
(``ProximalNewton``): working sets, strong rules, the
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

from ..model.cox_math import cox_observation_derivatives, cox_terms, new_terms
from .newton import ProximalNewton

__all__ = ["CoxNewton"]

_EPS = float(np.finfo(float).eps)
# the model's weights are floored at this share of a row's weight (an event whose risk is
# ~0 has v ~ 0 and a finite gradient): the line search keeps the steps exact
_MIN_CURVATURE = 1e-10


def _penalty_change(b_old, db, idx, l1, l2, t):
    new = b_old + t * db
    return (float(np.sum(l1[idx] * (np.abs(new) - np.abs(b_old))))
            + 0.5 * float(np.sum(l2[idx] * (new * new - b_old * b_old))))


class CoxNewton(ProximalNewton):
    """Proximal Newton on the Cox partial likelihood (no intercept; ``eta`` shift-free)."""

    name = "cox"
    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (family.response == "survival" and penalty.block == "coordinate"
                and penalty.shape == "elasticnet")

    def __init__(self, prob, setup):
        self.index = prob.family.index(prob.y)
        self.efron = prob.family.ties == "efron"
        self._terms, self._prefix = new_terms(self.index.sentinel.size)
        self._terms_t = np.zeros_like(self._terms)
        self._mu, self._mu_t = np.empty(prob.n), np.empty(prob.n)
        self._vdiag = np.empty(prob.n)
        self._floor = _MIN_CURVATURE * prob.w
        self.loss_value = np.nan
        self._pending = None  # (eta_t, loss) of the last accepted line search
        self.saturated = prob.family.saturated_loss(prob.y, prob.w)
        super().__init__(prob, setup)

    def _args(self):
        i = self.index
        return i.lo, i.hi, i.evk, i.sentinel

    def residual(self):
        """``wres = -dL/deta`` and the diagonal curvature at ``self.eta`` (one pass)."""
        prob = self.prob
        eta = self.eta
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] is eta:  # the line search's accepted point
            self._terms, self._terms_t = self._terms_t, self._terms
            self._mu, self._mu_t = self._mu_t, self._mu
            self.loss_value = pending[1]
        else:
            self.loss_value = cox_terms(eta, prob.w, *self._args(), self.efron, self._terms,
                                        self._mu)[0]
        total = cox_observation_derivatives(prob.w, *self._args(), self._terms, self._mu,
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
        self._pending = None
        for _ in range(max_halvings):
            np.multiply(deta, t, out=eta_t)
            eta_t += self.eta
            f, mag, _ = cox_terms(eta_t, prob.w, *self._args(), self.efron, self._terms_t,
                                  self._mu_t)
            df = f - f0 + _penalty_change(b_old, db, idx, l1, l2, t)
            if (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
                    or df <= 16.0 * _EPS * mag):
                # the accepted point's sums serve residual() when eta moves there
                self._pending = (eta_t, f)
                return t, df
            t *= 0.5
        return 0.0, 0.0

    def intercept(self):
        return 0.0

    def deviance(self):
        return 2.0 * (self.loss_value - self.saturated)
