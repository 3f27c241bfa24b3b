"""Newton rounds step by step in Python, for solvers that replace a step's pieces.

:class:`~shrinkage.engine.newton.ProximalNewton` runs its rounds compiled
(:func:`~shrinkage.engine.kernels.glm_descend.descend_strength`). A subclass whose loss
couples rows (Cox) replaces the residual, the IRLS model or the line search; its rounds
run here instead, through the same kernels one step at a time.
"""

from __future__ import annotations

import numpy as np

from .kernels.cd import cd_quadratic, weighted_moments
from .kernels.glm import (
    MAX_HALVINGS,
    inner_violation,
    moved_coordinates,
    step_decrease,
    ws_gradient_kkt,
    ws_kkt,
    ws_max_curvature,
)
from .kernels.glm_polish import gram_applies, gram_model_step
from .kernels.moments import centred_combination

__all__ = ["StepRounds"]

_EPS = float(np.finfo(float).eps)


class StepRounds:
    """The working-set loop of proximal Newton (:meth:`_solve_working_set`) and its model
    step (:meth:`_newton_step`), on the attributes of
    :class:`~shrinkage.engine.newton.ProximalNewton`."""

    def _solve_working_set(self, ws, l1, l2, ws_tol, state):
        """Newton steps on the working set until its KKT violation is below ``ws_tol``.

        ``self.g`` must hold the exact gradient on ``ws`` at entry; it is kept exact on
        ``ws`` (only) after every step. ``state = [objective change, sweeps, newton steps]`` is
        updated in place. Returns True if any step was taken.

        This is the loop that the compiled descent runs (``ProximalNewton._descend``);
        it runs here, step by step, where a subclass replaces a step's pieces
        (:meth:`residual`, :meth:`irls`, :meth:`line_search`, :meth:`_newton_step`).
        """
        prob = self.prob
        X, xd, xi, xp, sparse = prob.kernel_design()
        m = ws.size
        ws_cert = ws_kkt(self.g, self.b, l1, l2, prob.lo, prob.hi, prob.cert_scale, ws, m)
        if prob.fit_intercept:
            ws_cert = max(ws_cert, abs(self.swres))
        ws_cert /= self.grad_scale
        moved_any = False
        while ws_cert > ws_tol:
            if state[1] >= prob.max_iter or state[2] >= self.max_newton:
                break
            state[2] += 1
            # the plain loop solves the model against descend_strength's level (a subclass
            # replacing a step's pieces keeps the plain inexact-Newton rule)
            level = inner_violation(ws_cert, self._rate, ws_tol) if self._plain else ws_cert
            v_step = ws_cert
            step = self._newton_step(ws, l1, l2, level, state)
            if step is None:
                break  # the model's minimiser is the current point
            idx, b_old, db, db0, slack = step
            deta = self._deta
            decrease = step_decrease(self.wres, deta, b_old, db, idx, l1, l2)
            t, df = self.line_search(deta, b_old, db, idx, l1, l2, decrease, slack,
                                     MAX_HALVINGS)
            if t == 0.0:
                self.b[idx] = b_old
                break
            if t != 1.0:  # at t = 1 keep the model's minimiser exactly (zeros, bounds)
                self.b[idx] = b_old + t * db
            self.b0 += t * db0
            self.eta, self._eta_t = self._eta_t, self.eta
            self._loss += self._trial_loss
            state[0] += df
            moved_any = True
            self.swres = self.residual()
            ws_cert = ws_gradient_kkt(X, xd, xi, xp, sparse, self.wres, self.swres, prob.xm,
                                      self.b, l1, l2, prob.lo, prob.hi, prob.cert_scale, ws, m,
                                      self.g)
            if prob.fit_intercept:
                ws_cert = max(ws_cert, abs(self.swres))
            ws_cert /= self.grad_scale
            if t == 1.0 and prob.sparse:  # as descend_strength (see inner_violation)
                self._rate = ws_cert / (v_step * v_step)
        return moved_any

    def _newton_step(self, ws, l1, l2, ws_cert, state):
        """Minimise the quadratic (IRLS) model around ``eta`` on the working set.

        Moves ``self.b[ws]`` to the model's minimiser (solved to an accuracy that follows
        ``ws_cert``, the current violation), adds its sweeps to ``state[1]`` and writes the
        step's ``deta`` into ``self._deta``. Returns ``(idx, b_old, db, db0, slack)``: the
        coordinates that moved, their old values and moves, the intercept's move, and the
        rounding level of the model's value (changes of the objective below it are noise);
        None when nothing moved.
        """
        prob = self.prob
        X, xd, xi, xp, sparse = prob.kernel_design()
        m = ws.size
        v, z = self._v, self._z
        svz, sv, q0 = self.irls(v, z)
        weighted_moments(X, xd, xi, xp, sparse, v, prob.xm, ws, m, self.xv, self.h)
        b_ws = self.b[ws]
        st = self._st
        st[0], st[1], st[2], st[3] = 0.0, svz, sv, self.b0
        # inexact Newton: the inner tolerance follows the current KKT violation
        # the inner threshold compares h_j d_j^2 with the squared violation: both in
        # standardized units (h_j / s_j^2), so that rescaling X changes nothing
        hmax = ws_max_curvature(self.h, self._s2, ws, m)
        thr = max(self.inner_accuracy * (ws_cert * self.grad_scale) ** 2 / max(hmax, 1e-300),
                  1e-300)
        budget = max(prob.max_iter - state[1], 1)
        polishes = 0  # of this model (see _polish)
        if gram_applies(X, prob.n, m, prob.fit_intercept):  # as descend_strength does
            state[1] += gram_model_step(X, v, prob.xm, z, st, self.b, ws, m,
                                        prob.fit_intercept, l1, l2, prob.lo, prob.hi, thr,
                                        budget, self.sweeps_before_polish)
            budget = 0
        while budget > 0:
            chunk = min(budget, self.sweeps_before_polish)
            done = cd_quadratic(X, xd, xi, xp, sparse, v, 0.0, prob.xm, self.xv, self.h,
                                l1, l2, prob.lo, prob.hi, self.b, z, st, ws, m,
                                prob.fit_intercept, thr, chunk)
            state[1] += done
            budget -= done
            if done < chunk:
                break
            polishes += 1
            self._polish(v, z, st, ws, l1, l2, polishes)
        idx, b_old, db = self._moved
        k = moved_coordinates(self.b, b_ws, ws, m, idx, b_old, db)
        idx, b_old, db = idx[:k], b_old[:k], db[:k]
        db0 = st[3] - self.b0
        if k == 0 and db0 == 0.0:
            return None
        centred_combination(X, xd, xi, xp, sparse, prob.xm, idx, db, self._deta)
        if db0 != 0.0:
            self._deta += db0
        # coordinate descent (its Anderson test included) resolves the model only to
        # the rounding of its value q0: a change of F below that is noise, not ascent
        return idx, b_old, db, db0, 8.0 * _EPS * q0
