"""An exact Newton step of the multinomial model on its active set.

Block coordinate descent on the multinomial quadratic model (``kernels/multinomial.py``)
crawls when a class is driven by a few rows (its weighted design is nearly rank one, so
the coordinates of that class move together). On the active set (features with a
non-zero row of coefficients, plus the class intercepts) the penalised model is smooth
(the group norm is differentiable away from zero; the ungrouped L1 norm on the orthant of
the current signs), so one Newton step solves it. With ``D = 1 db0^T + Xc dB`` the change
of the linear predictor since the Newton expansion point and ``H_i = w_i (diag P_i -
P_i P_i^T)``::

    m(B, b0) = -sum_ik q0_ik D_ik + 1/2 sum_i D_i^T H_i D_i + penalty(B)

The step is cut at the first sign change (ungrouped) and kept only if it lowers ``m``.
"""

from __future__ import annotations

import numpy as np

from ..model.penalties import penalty_value

__all__ = ["active_set_step"]

_MAX_VARIABLES = 400  # unknowns of the linear system (active features x classes + K)
_MAX_WORK = 2e8  # n * unknowns^2 flops to build it


def _design(prob, A):
    """Centred active columns (n x |A|), with a column of ones first for the intercepts."""
    cols = prob.X[:, A]
    cols = cols.toarray() if hasattr(cols, "toarray") else np.array(cols, dtype=float)
    cols -= prob.xm[A]
    if prob.fit_intercept:
        cols = np.column_stack([np.ones(prob.n), cols])
    return cols


def _model(solver, Z, theta0, theta, B, l1, l2, A):
    """Model value (quadratic part from the expansion point plus the active penalty) and
    the negative model gradient in eta, ``q``."""
    prob = solver.prob
    w, P = prob.w, solver.P
    D = Z @ (theta - theta0)
    s = np.sum(P * D, axis=1, keepdims=True)
    HD = w[:, None] * P * (D - s)
    q0 = w[:, None] * solver.resid
    value = -np.sum(q0 * D) + 0.5 * np.sum(D * HD)
    return value + penalty_value(B[A], l1[A], l2[A], solver.grouped), q0 - HD


def active_set_step(solver, q, b0, B_old, b0_old, l1, l2, ws):
    """Replace ``(solver.b, b0)`` by the active-set Newton solution if it lowers the
    model; ``q`` (the model's negative gradient in eta) is updated to match. Returns
    whether the step was kept."""
    prob = solver.prob
    B = solver.b
    K = solver.K
    A = ws[np.any(B[ws] != 0, axis=1)]
    off = 1 if prob.fit_intercept else 0
    m = (A.size + off) * K
    if A.size == 0 or m > _MAX_VARIABLES or prob.n * m * m > _MAX_WORK:
        return False
    Z = _design(prob, A)
    theta0 = np.vstack([b0_old[None, :], B_old[A]]) if off else B_old[A].copy()
    theta = np.vstack([b0[None, :], B[A]]) if off else B[A].copy()
    f0, _ = _model(solver, Z, theta0, theta, B, l1, l2, A)
    # gradient and Hessian of the quadratic part in theta (rows: columns of Z, then class)
    grad = -(Z.T @ q)
    w, P = prob.w, solver.P
    H = np.empty((Z.shape[1], K, Z.shape[1], K))
    for k in range(K):
        for c in range(K):
            h = w * P[:, k] * ((k == c) - P[:, c])
            H[:, k, :, c] = Z.T @ (Z * h[:, None])
    H = H.reshape(m, m)
    grad = grad.reshape(m)
    keep = np.ones(m, dtype=bool)
    for a, j in enumerate(A):  # the penalty's smooth part on the active set
        rows = slice((a + off) * K, (a + off + 1) * K)
        bj = B[j]
        if solver.grouped:
            nb = float(np.sqrt(bj @ bj))
            grad[rows] += l1[j] * bj / nb + l2[j] * bj
            H[rows, rows] += l1[j] * (np.eye(K) / nb - np.outer(bj, bj) / nb**3) + l2[j] * np.eye(K)
        else:
            grad[rows] += l1[j] * np.sign(bj) + l2[j] * bj
            H[rows, rows] += l2[j] * np.eye(K)
            # zeros of an active row stay zero (the orthant), and entries at a bound stay
            keep[rows] = (bj != 0) & (bj > prob.lo[j]) & (bj < prob.hi[j])
    step = np.zeros(m)
    sub = np.ix_(keep, keep)
    step[keep] = np.linalg.lstsq(H[sub], -grad[keep], rcond=None)[0]
    if not np.all(np.isfinite(step)):
        return False
    step = step.reshape(-1, K)
    t = 1.0
    if not solver.grouped:  # cut at the first coefficient that would change sign or
        cur = theta[off:]   # leave its bounds
        d = step[off:]
        cross = (cur != 0) & (np.sign(cur + d) != np.sign(cur))
        if np.any(cross):
            t = float(np.min(-cur[cross] / d[cross]))
        lo, hi = prob.lo[A][:, None], prob.hi[A][:, None]
        up, down = d > 0, d < 0
        with np.errstate(invalid="ignore"):
            to_hi = np.where(up & np.isfinite(hi), (hi - cur) / np.where(up, d, 1.0), np.inf)
            to_lo = np.where(down & np.isfinite(lo), (lo - cur) / np.where(down, d, 1.0),
                             np.inf)
        t = min(t, float(np.min(to_hi, initial=np.inf)), float(np.min(to_lo, initial=np.inf)))
        if not t > 0.0:  # an entry already on (or past, by rounding) the bound it would cross
            return False
    new = theta + t * step
    B_try = B.copy()
    B_try[A] = new[off:]
    f1, q_new = _model(solver, Z, theta0, new, B_try, l1, l2, A)
    if not f1 < f0:
        return False
    solver.b = B_try
    if off:
        b0[:] = new[0]
    q[:] = q_new
    return True
