"""Exact-curvature corrections of the Cox solver's diagonal Newton steps, by conjugate
gradients, for working sets too large for the exact Hessian.

glmnet's diagonal model of the partial likelihood converges linearly, and slowly where
the risk sets' rank-one terms dominate the Hessian (the deep end of ``p > n`` paths).
:class:`~shrinkage.engine.cox.CoxNewton` then builds the exact Hessian of the working
set, ``n m^2`` flops: out of reach for the thousands of columns a sparse text design
keeps active (5,000 x 11,000 power-law text: a third of the strengths stopped at the cap
of 100 Newton steps). :func:`refine_step` corrects the diagonal model's step instead:
on the active set and signs it found, the model with the exact curvature,

    Q(delta) = -g . delta + 1/2 delta^T H delta + penalty(b + delta) - penalty(b),

is minimised by preconditioned conjugate gradients started from that step, each
iteration one product ``X_A^T H_eta X_A c`` (two passes over the active columns and an
``O(n)`` pass over the risk sets,
:class:`~shrinkage.model.cox_curvature.CoxCurvature`). The corrected step is projected
on the orthant (coordinates that would change sign stop at zero) and taken only where
it lowers ``Q`` below the diagonal step's; the line search on the partial likelihood
then judges it as any other step.
"""

from __future__ import annotations

import numpy as np

from ..model.cox_curvature import CoxCurvature
from .kernels.certify import centred_dots
from .kernels.moments import centred_combination
from .newton_cg import CG_RTOL

__all__ = ["refine_step"]

#: conjugate-gradient iterations per correction. 20 (the GLM polish's) left the deepest
#: strengths of 90 % subsamples of the 5,000 x 11,000 text design at the Newton cap (3
#: and 6 of 100, violations up to 1e-2); 50, with the solver's cap of 200 steps, none
#: (29.7 and 36.9 CPU seconds against 31.8 and 33.7)
REFINE_CG_MAX_ITER = 50


def refine_step(solver, ws, b_before, step, l1, l2, damping):
    """The diagonal model's ``step`` on ``ws`` (``(idx, b_old, db, db0, slack)`` from
    ``StepRounds._newton_step``, which left ``solver.b`` at its point and its
    ``X d`` in ``solver._deta``), corrected with the exact curvature at ``solver.eta``
    where that lowers ``Q``; returns the step to take, in the same form, with
    ``solver.b`` and ``solver._deta`` at its point. ``b_before``: ``b[ws]`` before the
    diagonal step; ``damping`` adds ``damping * h_j`` to the curvature of each active
    coordinate (``h`` the diagonal model's, as the exact steps' Levenberg-Marquardt
    term)."""
    prob = solver.prob
    b = solver.b
    b_diag = b[ws]
    inside = (b_diag != 0.0) & (b_diag > prob.lo[ws]) & (b_diag < prob.hi[ws])
    A = ws[inside].astype(np.int64)
    if A.size == 0:
        return step
    op = _ActiveCurvature(solver, A, l2[A] + damping * solver.h[A])
    delta = b_diag - b_before  # the diagonal step on ws
    u0 = solver._deta
    q0 = op.curvature.apply(u0, np.empty(prob.n))
    h_delta = op.columns_dot(q0)  # (H delta)_A
    s = np.sign(b_diag[inside])
    rhs = solver.g[A] - h_delta - l1[A] * s - l2[A] * b_diag[inside]
    diag = solver.h[A] * (1.0 + damping) + l2[A]
    if not (np.all(diag > 0.0) and np.all(np.isfinite(rhs))):
        return step
    x = _pcg(op, rhs, diag)
    if x is None:
        return step
    new = b_diag.copy()
    cand = b_diag[inside] + x
    cand = np.where(np.sign(cand) != s, 0.0, cand)  # the orthant: no sign change
    new[inside] = np.clip(cand, prob.lo[A], prob.hi[A])
    moved = new != b_before
    if not np.any(moved):
        return step
    idx = ws[moved].astype(np.int64)
    d_new = new[moved] - b_before[moved]
    u = np.empty(prob.n)
    X, xd, xi, xp, sparse = prob.kernel_design()
    centred_combination(X, xd, xi, xp, sparse, prob.xm, idx, d_new, u)
    q = op.curvature.apply(u, np.empty(prob.n))
    g = solver.g[ws]
    q_diag = _model_value(g, delta, u0 @ q0, b_before, b_diag, l1[ws], l2[ws])
    q_new = _model_value(g, new - b_before, u @ q, b_before, new, l1[ws], l2[ws])
    if not q_new < q_diag:
        return step
    b[ws] = new
    solver._deta[:] = u
    return idx, b_before[moved], d_new, 0.0, step[4]


def _model_value(g, delta, curvature, b_old, b_new, l1, l2):
    """``Q(delta)`` of the module's notes, ``curvature = delta^T H delta``."""
    pen = l1 * (np.abs(b_new) - np.abs(b_old)) + 0.5 * l2 * (b_new * b_new - b_old * b_old)
    return float(-(g @ delta) + 0.5 * curvature + pen.sum())


class _ActiveCurvature:
    """``c -> X_A^T H_eta X_A c + extra * c`` on the active columns ``A``."""

    def __init__(self, solver, A, extra):
        prob = solver.prob
        self.prob, self.A, self.extra = prob, A, extra
        self.curvature = CoxCurvature(solver._event, solver.wres, solver._mu, solver._terms,
                                      *solver._args(), solver.efron)
        self._u = np.empty(prob.n)
        self._q = np.empty(prob.n)
        self._g = np.empty(prob.p)

    def columns_dot(self, q):
        """``X_A^T q`` (centred columns)."""
        X, xd, xi, xp, sparse = self.prob.kernel_design()
        centred_dots(X, xd, xi, xp, sparse, q, float(q.sum()), self.prob.xm, self.A,
                     self.A.size, self._g)
        return self._g[self.A]

    def __call__(self, c):
        X, xd, xi, xp, sparse = self.prob.kernel_design()
        centred_combination(X, xd, xi, xp, sparse, self.prob.xm, self.A, c, self._u)
        self.curvature.apply(self._u, self._q)
        return self.columns_dot(self._q) + self.extra * c


def _pcg(op, rhs, diag):
    """Jacobi-preconditioned conjugate gradients from 0 for ``op(x) = rhs``, at most
    ``REFINE_CG_MAX_ITER`` products, until the preconditioned residual norm falls below
    ``CG_RTOL`` of its start; stops at a direction of no positive curvature (None when
    that is the first) and returns None for an iterate that is not finite."""
    x = np.zeros(rhs.size)
    res = rhs.copy()
    z = res / diag
    p = z.copy()
    rz = float(res @ z)
    stop = CG_RTOL * CG_RTOL * rz
    for _ in range(REFINE_CG_MAX_ITER):
        if rz <= stop:
            break
        hp = op(p)
        php = float(p @ hp)
        if not php > 0.0:
            break
        alpha = rz / php
        x += alpha * p
        res -= alpha * hp
        z = res / diag
        rz_new = float(res @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x if np.any(x) and np.all(np.isfinite(x)) else None
