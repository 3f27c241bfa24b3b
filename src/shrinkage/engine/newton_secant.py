"""The secant warm start of the proximal Newton path (``ProximalNewton``, at each
strength's first descent)."""

from __future__ import annotations

from .kernels.glm import secant_prediction, ws_gradient_kkt
from .kernels.moments import centred_combination

__all__ = ["secant_warm_start"]


def secant_warm_start(solver, lam, ws, l1, l2):
    """Warm start from the secant through the last two solutions of the path.

    With ``b(lam_1), b(lam_2)`` the solutions at the last two strengths, the point
    ``b(lam_2) + rho (b(lam_2) - b(lam_1))``, ``rho = (lam_2 - lam) / (lam_1 - lam_2)``,
    is a second-order prediction of ``b(lam)`` where the active set does not change.
    Only non-zero coordinates move, and none across zero or a bound (the prediction
    keeps the current signs); ``eta`` moves by the same linear map. The prediction is
    kept only if it lowers the objective at ``lam`` (an Armijo test at ``t = 1``), and
    ``g`` is then refreshed on the working set.
    """
    if solver._before is None or solver._last is None:
        return
    lam2 = solver._last[0]
    lam1, b1, b01 = solver._before
    if not lam1 > lam2 > lam:
        return
    rho = (lam2 - lam) / (lam1 - lam2)
    prob = solver.prob
    b = solver.b
    idx, cur, db = solver._moved
    if solver.compiled_rounds and solver._plain:  # descend_strength starts with it
        solver._secant = (b1, rho, rho * (solver.b0 - b01) if prob.fit_intercept else 0.0)
        return
    k = secant_prediction(b, b1, ws, ws.size, rho, prob.lo, prob.hi, idx, cur, db)
    if k == 0:
        return
    idx, cur, db = idx[:k], cur[:k], db[:k]
    db0 = rho * (solver.b0 - b01) if prob.fit_intercept else 0.0
    X, xd, xi, xp, sparse = prob.kernel_design()
    deta = solver._deta
    centred_combination(X, xd, xi, xp, sparse, prob.xm, idx, db, deta)
    if db0 != 0.0:
        deta += db0
    t, _ = solver.line_search(deta, cur, db, idx, l1, l2, 0.0, 0.0, 1)
    if t != 1.0:
        return
    b[idx] = cur + db
    solver.b0 += db0
    solver.eta, solver._eta_t = solver._eta_t, solver.eta
    solver._loss += solver._trial_loss
    solver.swres = solver.residual()
    ws_gradient_kkt(X, xd, xi, xp, sparse, solver.wres, solver.swres, prob.xm, b, l1, l2,
                    prob.lo, prob.hi, prob.cert_scale, ws, ws.size, solver.g)
