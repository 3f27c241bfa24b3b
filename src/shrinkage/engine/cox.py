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

glmnet's diagonal model converges linearly, and slowly where the risk sets' rank-one
terms dominate the Hessian: in the deep end of ``p >> n`` paths (300 x 10,000: 48 of 100
strengths stopped at the 100-step cap). Where it is affordable (``n m^2`` flops for a
working set of ``m`` features), each Newton step therefore uses the exact Hessian on the
working set instead, ``X_ws^T (diag(d) - sum_k beta_k u_k u_k^T - gamma_k f_k f_k^T)
X_ws`` (``shrinkage.model.cox_math.cox_hessian``), built in ``O(n m^2)`` from
risk-set sums over the rows sorted once by time, and solves that quadratic model by
covariance-update coordinate descent with active-set Newton steps. Where even that is
too costly (thousands of active columns of a sparse text design), the diagonal model's
step is corrected with the exact curvature by conjugate gradients
(``engine.cox_cg``), which need only products with the Hessian.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..model.cox_math import cox_hessian, cox_observation_derivatives, cox_terms, new_terms
from .cox_cg import refine_step
from .kernels.active_set import active_subset, covariance_polish
from .kernels.cd import cd_covariance
from .newton import ProximalNewton

__all__ = ["CoxNewton"]

_EPS = float(np.finfo(float).eps)
# the model's weights are floored at this share of a row's weight (an event whose risk is
# ~0 has v ~ 0 and a finite gradient): the line search keeps the steps exact
_MIN_CURVATURE = 1e-10
# the exact-Hessian model is built when its n m^2 flops and n m dense cells (the working
# set's columns) stay below these; otherwise glmnet's diagonal model
_EXACT_MAX_WORK = 2e8
_EXACT_MAX_CELLS = 2e7
# coordinate-descent sweeps between active-set Newton steps on the exact model
_MODEL_CHUNK = 20
# a diagonal step that leaves more than this share of the working set's violation
# switches the path to exact steps (diagonal steps reduce it ~3-5x per step on tall
# designs, by a few percent in the deep end of p >> n paths)
_SLOW_RATE = 0.5
_MAX_DAMPING = 0.1


def curvature_floor(diag, s2):
    """The model's diagonal with every entry at least ``_MIN_CURVATURE`` times the largest,
    compared in standardized units (``diag_j / s_j^2``, ``s2`` the squared scales): in raw
    units a column recorded in tiny units has a tiny curvature, which a floor taken on the
    raw diagonal replaced by one far too large (its steps then crawled, 23 of 30 strengths
    stopping at the Newton cap where the same data in unit columns converged)."""
    hs = diag / s2
    return np.maximum(diag, _MIN_CURVATURE * float(np.max(hs, initial=0.0)) * s2)


def _penalty_change(b_old, db, idx, l1, l2, t):
    new = b_old + t * db
    # a runaway trial step (the line search halves it) may overflow: inf, rejected there
    with np.errstate(over="ignore", invalid="ignore"):
        return (float(np.sum(l1[idx] * (np.abs(new) - np.abs(b_old))))
                + 0.5 * float(np.sum(l2[idx] * (new * new - b_old * b_old))))


class CoxNewton(ProximalNewton):
    """Proximal Newton on the Cox partial likelihood (no intercept; ``eta`` shift-free)."""

    name = "cox"
    # the exact model's sweeps cost m^2, not n m: it is solved more accurately than the
    # diagonal one, so that Newton steps converge fast
    exact_inner_accuracy = 1e-3
    damping = 1.0
    # Newton steps per strength: the corrected diagonal steps (engine.cox_cg) converge
    # linearly at the deep end of p > n text paths, some past 100 steps
    max_newton = 200
    drift_by_mean = False  # risk sets couple the rows' residuals (engine.drift)

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (family.response == "survival" and penalty.block == "coordinate"
                and penalty.shape == "elasticnet")

    def __init__(self, prob, setup):
        self.index = prob.family.index(prob.y)
        self.efron = prob.family.ties == "efron"
        self._terms, self._prefix = new_terms(self.index.sentinel.size)
        self._mu, self._mu_t = np.empty(prob.n), np.empty(prob.n)
        # the tie counts and weights do not change with eta: counted once, for both
        # scratch sums (the line search's and the current point's)
        cox_terms(np.zeros(prob.n), prob.w, *self._args(), self.efron, self._terms, self._mu)
        self._terms_t = self._terms.copy()
        self._vdiag = np.empty(prob.n)
        self._floor = _MIN_CURVATURE * prob.w
        self.loss_value = np.nan
        self._pending = None  # (eta_t, loss) of the last accepted line search
        self.saturated = prob.family.saturated_loss(prob.y, prob.w)
        self._event = np.where(self.index.evk >= 0, prob.w, 0.0)
        self.exact = False  # exact-Hessian steps (switched on by slow diagonal steps)
        self._columns_of = self._last_diagonal = None
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
                                        self._mu, True)[0]
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
        magnitude) or below ``slack`` is accepted as no change; a point whose loss is
        not finite (a risk set underflowed) never is.
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
                                  self._mu_t, True)
            df = f - f0 + _penalty_change(b_old, db, idx, l1, l2, t)
            # (a risk set underflowed: f and its rounding scale mag are both inf, and
            # inf <= inf accepted such a point, whose certificate is then inf)
            if np.isfinite(f) and (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
                                   or df <= 16.0 * _EPS * mag):
                # the accepted point's sums serve residual() when eta moves there
                self._pending = (eta_t, f)
                return t, df
            t *= 0.5
        return 0.0, 0.0

    def _columns(self, ws):
        """The working set's columns as a dense C-ordered (n, m) array."""
        X = self.prob.X
        Z = X[:, ws].toarray() if sp.issparse(X) else X[:, ws]
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        return Z - self.prob.xm[ws] if np.any(self.prob.xm[ws]) else Z

    def hessian(self, Z):
        """The loss's exact Hessian in the coefficients of the columns ``Z`` at ``eta``
        (:func:`~shrinkage.model.cox_math.cox_hessian`)."""
        i = self.index
        return cox_hessian(Z, self._event, self.wres, self._mu, self._terms, i.lo, i.hi,
                           i.evk, i.sentinel, self.efron)

    def _solve_working_set(self, ws, l1, l2, ws_tol, state):
        self._columns_of = None  # the working set's columns, gathered when first needed
        self._last_diagonal = None  # (violation before the last diagonal step, steps)
        return super()._solve_working_set(ws, l1, l2, ws_tol, state)

    def _newton_step(self, ws, l1, l2, ws_cert, state):
        """A diagonal (glmnet) step while those converge fast; once one fails to halve the
        working set's violation, exact-Hessian steps from then on along the path, where
        affordable (see the module's notes)."""
        prob = self.prob
        m = ws.size
        last = self._last_diagonal
        if last is not None and ws_cert > _SLOW_RATE * last:
            self.exact = True
        if not self.exact or m == 0:
            self._last_diagonal = ws_cert
            return super()._newton_step(ws, l1, l2, ws_cert, state)
        if prob.n * m * m > _EXACT_MAX_WORK or prob.n * m > _EXACT_MAX_CELLS:
            # the diagonal step, corrected with the exact curvature (engine.cox_cg)
            b_before = self.b[ws]
            step = super()._newton_step(ws, l1, l2, ws_cert, state)
            if step is None:
                return None
            return refine_step(self, ws, b_before, step, l1, l2,
                               min(self.damping * ws_cert, _MAX_DAMPING))
        self._last_diagonal = None
        if self._columns_of is None or self._columns_of[0] is not ws:
            self._columns_of = (ws, self._columns(ws))
        Z = self._columns_of[1]
        b_ws = self.b[ws]
        step = b_ws.copy()
        G = self.hessian(Z)
        diag = np.diag(G)
        h = curvature_floor(diag, prob.cert_scale[ws] ** 2)
        # Levenberg-Marquardt damping that vanishes with the violation (the steps stay
        # superlinear): where the active set nears the number of events the model is
        # singular, and undamped its coordinate descent crawls and its active-set solves
        # fail
        h = h * (1.0 + min(self.damping * ws_cert, _MAX_DAMPING))
        G[np.diag_indices_from(G)] = h
        # inexact Newton as the base class, with a tighter inner tolerance: the exact
        # model's sweeps cost m^2 against the n m^2 of building it
        thr = max(self.exact_inner_accuracy * (ws_cert * self.grad_scale) ** 2
                  / max(float(np.max(h / prob.cert_scale[ws] ** 2)), 1e-300), 1e-300)
        state[1] += solve_model(G, self.g[ws].copy(), h, step, l1[ws], l2[ws], prob.lo[ws],
                                prob.hi[ws], thr, max(prob.max_iter - state[1], 1))
        nz = np.flatnonzero(step != b_ws)
        if nz.size == 0:
            return None
        self.b[ws] = step
        db = step[nz] - b_ws[nz]
        np.dot(Z[:, nz], db, out=self._deta)
        return ws[nz], b_ws[nz], db, 0.0, 0.0

    def intercept(self):
        return 0.0

    def deviance(self):
        return 2.0 * (self.loss_value - self.saturated)


def solve_model(G, g, h, b, l1, l2, lo, hi, thr, budget):
    """Minimise ``-g.(b' - b) + 1/2 (b' - b)^T G (b' - b) + penalty(b')`` in place of ``b``.

    Covariance-update coordinate descent (``g`` kept equal to minus the model's gradient)
    in chunks, each followed by a Newton step on the active set and signs. Returns the
    sweeps spent (at most ``budget``).
    """
    m = b.size
    loc = np.arange(m, dtype=np.int64)
    A = np.empty(m, dtype=np.int64)
    H = np.empty((m, m))
    rhs = np.empty(m)
    spent = 0
    while budget > 0:
        chunk = min(budget, _MODEL_CHUNK)
        did = cd_covariance(G, loc, g, h, l1, l2, lo, hi, b, loc, m, thr, chunk)
        spent += did
        budget -= did
        if did < chunk:
            break
        na = active_subset(b, lo, hi, loc, m, A)
        if na:
            covariance_polish(G, loc, g, b, A, na, H, rhs, l1, l2, lo, hi)
    return spent
