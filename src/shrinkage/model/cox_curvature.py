"""The Cox loss's Hessian in the linear predictor, applied as an operator in ``O(n)``.

:func:`~shrinkage.model.cox_math.cox_hessian` builds the Hessian in the coefficients of a
set of columns, ``n m^2`` flops; the Cox solver's conjugate-gradient corrections
(:mod:`shrinkage.engine.cox_cg`) need only its products with vectors, which the same
risk-set sums give without forming it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cox_math import cox_risk_sums, cox_slot_curvature

__all__ = ["CoxCurvature"]


class CoxCurvature:
    """The loss's exact Hessian in ``eta`` at one point, as an operator:
    ``diag(d) - sum_k beta_k U_k U_k^T - gamma_k F_k F_k^T`` (:func:`cox_hessian`'s
    terms before the columns enter), applied to a vector in ``O(n + n_slots)`` by
    :meth:`apply`. ``Z^T (H u)`` for ``u = Z c`` is then the coefficients' Hessian times
    ``c`` for any columns ``Z``, without forming it (``n m^2`` flops that a working set of
    thousands of sparse columns cannot afford). Arguments as :func:`cox_hessian`'s."""

    def __init__(self, event_w, wres, mu, terms, lo, hi, evk, sentinel, efron):
        T = sentinel.shape[0]
        self.d = np.where(mu > 0, event_w - wres, 0.0)
        self.mu, self.lo, self.hi, self.evk, self.sentinel = mu, lo, hi, evk, sentinel
        self.beta, self.ratio, self.gamma = np.empty(T), np.empty(T), np.empty(T)
        cox_slot_curvature(terms, efron, self.beta, self.ratio, self.gamma)
        self._M, self._F = np.empty((T, 1)), np.empty((T, 1))
        self._prefix = np.empty(T + 1)

    def apply(self, u, out):
        """``out = H u`` (``u``: a change of ``eta``)."""
        M, F = self._M, self._F
        cox_risk_sums(u.reshape(-1, 1), self.mu, self.lo, self.hi, self.evk, self.sentinel,
                      M, F)
        _curvature_rows(u, self.d, self.mu, self.lo, self.hi, self.evk, self.sentinel,
                        self.beta, self.ratio, self.gamma, M[:, 0], F[:, 0], self._prefix,
                        out)
        return out


@njit(cache=True, nogil=True, fastmath=False)
def _curvature_rows(u, d, mu, lo, hi, evk, sentinel, beta, ratio, gamma, Mu, Fu, prefix,
                    out):
    """``out_j = d_j u_j - mu_j (sum_{lo_j <= k < hi_j} y_k + e_{k_j})`` with ``y = beta
    (Mu - ratio Fu)`` and ``e = gamma Fu - ratio y`` (``k_j`` an event's slot): the rows'
    side of ``-U^T diag(beta) U u - F^T diag(gamma) F u`` (``U = M - diag(ratio) F``),
    from the risk-set and tied-event sums ``Mu, Fu`` of ``mu u``; the sums over a row's
    slots are differences of prefix sums, restarted at each stratum's sentinel."""
    T = sentinel.shape[0]
    s = 0.0
    for k in range(T):
        prefix[k] = s
        if sentinel[k]:
            s = 0.0
        else:
            y = beta[k] * (Mu[k] - ratio[k] * Fu[k])
            s += y
            Mu[k] = y  # y in place of Mu: read below for the tied events
    prefix[T] = s
    for j in range(u.shape[0]):
        if mu[j] == 0.0 or hi[j] <= lo[j]:
            out[j] = 0.0
            continue
        r = prefix[hi[j]] - prefix[lo[j]]
        k = evk[j]
        if k >= 0:
            r += gamma[k] * Fu[k] - ratio[k] * Mu[k]
        out[j] = d[j] * u[j] - mu[j] * r
