"""Proximal Newton for binomial and poisson: IRLS outer loop, coordinate descent inside.

A quadratic (IRLS) approximation of the loss is solved by the coordinate-descent kernel
over a working set, then a backtracking line search on the true objective keeps every
step a descent step (it never diverges); certified by the maximum KKT violation over all
features. :func:`line_search` also serves the multinomial solver.
"""

from __future__ import annotations

import numpy as np

from ._kernels.cd import cd_quadratic, weighted_moments
from ._kernels.certify import dot, kkt_scan
from ._kernels.moments import active_normal_equations, centred_combination
from .penalties import penalty_value
from .solvers import strong_set, violators


def line_search(objective, eta, deta, b_old, db, f_old, decrease, max_halvings=40):
    """Backtracking (Armijo) line search on the true objective, proximal-Newton form.

    Accepts the first ``t`` in 1, 1/2, 1/4, ... with
    ``F(b_old + t db) <= F(b_old) + 1e-4 * t * decrease`` where ``decrease`` is
    ``grad . d + penalty(b_old + db) - penalty(b_old)`` (Lee, Sun & Saunders 2014); near the
    optimum, where the decrease is below the rounding of F, a step that does not raise F by
    more than a few ulps is accepted. Returns ``(t, eta_t, b_t, f_t)`` or None.
    """
    slack = 8.0 * np.finfo(float).eps * abs(f_old)
    t = 1.0
    for _ in range(max_halvings):
        eta_t = eta + t * deta
        b_t = b_old + t * db
        f_t = objective(eta_t, b_t)
        if f_t <= f_old + 1e-4 * t * min(decrease, 0.0) or f_t <= f_old + slack:
            return t, eta_t, b_t, f_t
        t *= 0.5
    return None


_POLISH_MAX_WORK = 2e8  # n * |A|^2 flops allowed for one active-set solve


def polish_active_set(prob, v, r, st, b, ws, l1, l2):
    """Exact minimiser of the weighted quadratic model on the current active set and signs.

    With ``A`` the non-zero coordinates of ``b`` strictly inside their bounds and ``s`` their
    signs, the model ``1/2 sum_i v_i r_i^2 + sum_j l1_j |b_j| + l2_j / 2 b_j^2`` is smooth
    on that orthant; one Newton step solves it::

        (Z^T V Z + diag(0, l2_A)) d = Z^T V r - (0, l2_A b_A + l1_A s_A),   Z = [1, Xc_A]

    The step is kept only if no sign flips and no bound is crossed; the residual, its
    weighted sum and the intercept in ``st`` are updated to match. Returns True if kept.
    """
    A = ws[(b[ws] != 0) & (b[ws] > prob.lo[ws]) & (b[ws] < prob.hi[ws])]
    n = prob.n
    m = A.size + 1
    # one CD sweep over ws costs about the entries of its columns; solve only when the
    # exact step is cheaper than ~100 more sweeps
    sweep_cost = float(np.sum(np.diff(prob.kp)[ws])) if prob.sparse else float(n * ws.size)
    work = float(n) * m * m + float(m) ** 3
    if A.size == 0 or work > min(_POLISH_MAX_WORK, 100.0 * sweep_cost) or 2 * m > n:
        return False  # empty, too costly, or (nearly) rank deficient
    off = 1 if prob.fit_intercept else 0
    m = A.size + off
    H = np.empty((m, m))
    rhs = np.empty(m)
    rt = r + st[0]
    X, xd, xi, xp, sparse = prob.kernel_design()
    active_normal_equations(X, xd, xi, xp, sparse, v, prob.xm, rt, A.astype(np.int64),
                            prob.fit_intercept, H, rhs)
    bA = b[A]
    sA = np.sign(bA)
    rhs[off:] -= l2[A] * bA + l1[A] * sA
    H[np.arange(off, m), np.arange(off, m)] += l2[A]
    try:
        d = np.linalg.solve(H, rhs)
    except np.linalg.LinAlgError:
        return False
    if not np.all(np.isfinite(d)):
        return False
    new = bA + d[off:]
    if np.any(np.sign(new) != sA) or np.any(new < prob.lo[A]) or np.any(new > prob.hi[A]):
        return False
    b[A] = new
    step = np.zeros(n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, A.astype(np.int64),
                        np.ascontiguousarray(d[off:]), step)
    r[:] = rt - step - (d[0] if off else 0.0)
    st[0] = 0.0
    st[1] = float(np.dot(v, r))
    if prob.fit_intercept:
        st[3] += d[0]
    return True


class ProximalNewton:
    """Proximal Newton (IRLS outer loop, coordinate descent inside) for binomial/poisson."""

    certificate_kind = "kkt_violation"
    max_newton = 100
    sweeps_before_polish = 10

    def __init__(self, prob, eta0, b00, grad_scale):
        self.prob = prob
        self.b = np.zeros(prob.p)
        self.b0 = b00  # intercept of the centred parametrisation
        self.eta = eta0.copy()
        self.h = np.zeros(prob.p)
        self.xv = np.zeros(prob.p)
        self.resid = prob.family.grad_residual(prob.y, self.eta)
        self.g = prob.gradient(prob.w * self.resid)
        self.grad_scale = grad_scale if grad_scale > 0 else 1.0
        self._scratch = np.empty(prob.p, dtype=np.int64)

    def feature_gradient(self):
        return np.abs(self.g)

    def objective(self, eta, b, l1, l2):
        return self.prob.family.loss(self.prob.y, eta, self.prob.w) + penalty_value(b, l1, l2)

    def certificate(self, lam, mask=None):
        """Largest KKT violation (standardized units) relative to the null model's gradient."""
        prob = self.prob
        cand = prob.candidates if mask is None else prob.candidates & mask
        v, _ = kkt_scan(self.g, self.b, lam * prob.l1u, lam * prob.l2u, prob.lo, prob.hi, cand,
                        cand, prob.scale, self._scratch)
        if prob.fit_intercept:
            v = max(v, abs(dot(prob.w, self.resid)))
        return v / self.grad_scale

    def solve(self, lam, lam_prev, ws_mask=None):
        prob = self.prob
        fam = prob.family
        l1 = lam * prob.l1u
        l2 = lam * prob.l2u
        expand = ws_mask is None
        in_ws = strong_set(prob, self.g, self.b, lam, lam_prev) if expand else ws_mask
        restrict = None if expand else ws_mask
        X, xd, xi, xp, sparse = prob.kernel_design()
        sweeps = 0
        cert = self.certificate(lam, restrict)
        f_old = self.objective(self.eta, self.b, l1, l2)
        for _ in range(self.max_newton):
            if cert <= prob.tol:
                break
            ws = np.flatnonzero(in_ws)
            mu = fam.mean(self.eta)
            var = fam.variance(mu)
            v = prob.w * var
            r = (prob.y - mu) / var
            weighted_moments(X, xd, xi, xp, sparse, v, prob.xm, ws, ws.size, self.xv, self.h)
            b_old = self.b.copy()
            b0_old = self.b0
            st = np.array([0.0, float(np.dot(v, r)), float(v.sum()), self.b0])
            # inexact Newton: the inner tolerance follows the current KKT violation
            hmax = float(self.h[ws].max()) if ws.size else 1.0
            thr = max(1e-3 * (cert * self.grad_scale) ** 2 / max(hmax, 1e-300), 1e-300)
            budget = max(prob.max_iter - sweeps, 1)
            while budget > 0:
                chunk = min(budget, self.sweeps_before_polish)
                done = cd_quadratic(X, xd, xi, xp, sparse, v, 0.0, prob.xm, self.xv, self.h,
                                    l1, l2, prob.lo, prob.hi, self.b, r, st, ws, ws.size,
                                    prob.fit_intercept, thr, chunk)
                sweeps += done
                budget -= done
                if done < chunk:
                    break
                # slow inner convergence (correlated features): solve the model exactly on
                # its active set, then let coordinate descent confirm or correct it
                polish_active_set(prob, v, r, st, self.b, ws, l1, l2)
            db = self.b - b_old
            db0 = st[3] - b0_old
            changed = np.flatnonzero(db)
            deta = prob.centred_matvec(db, changed) + db0
            grad_dot = -float(np.dot(prob.w * self.resid, deta))
            decrease = grad_dot + penalty_value(self.b, l1, l2) - penalty_value(b_old, l1, l2)
            step = line_search(lambda e, b_: self.objective(e, b_, l1, l2), self.eta, deta,
                               b_old, db, f_old, decrease)
            if step is None:
                self.b = b_old
                self.b0 = b0_old
                break
            t, eta_t, b_t, f_t = step
            self.b = b_t
            self.b0 = b0_old + t * db0
            self.eta = eta_t
            f_old = f_t
            self.resid = fam.grad_residual(prob.y, self.eta)
            self.g = prob.gradient(prob.w * self.resid)
            if expand:
                new, _ = violators(prob, self.g, self.b, lam, in_ws)
                in_ws[new] = True
            cert = self.certificate(lam, restrict)
            if sweeps >= prob.max_iter:
                break
        return cert, sweeps

    def intercept(self):
        return self.b0 - dot(self.prob.xm, self.b)

    def deviance(self):
        return self.prob.family.deviance(self.prob.y, self.eta, self.prob.w)
