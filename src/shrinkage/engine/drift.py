"""The certificate belongs to the returned coefficients, not to the solver's running sums.

Solvers keep the linear predictor ``eta`` up to date by adding each step's change
(``eta += deta``) instead of recomputing ``offset + b0 + X_c b`` from ``X``: that is what
makes a step cost ``O(n |ws|)``. Rounding makes the two drift apart, by little on most
data but by far where columns and coefficients are large and cancel (a column of
standard deviation ``1e-7`` carrying a coefficient of ``2e7`` beside columns of mean
``1e6``): a certificate read at the running ``eta`` then says "converged" for
coefficients whose own KKT violation is thousands of times the tolerance.

:func:`settle_predictor` closes the gap at the end of each strength. It recomputes
``eta`` from ``(b0, b)`` and bounds how far any standardized gradient can move between
the two predictors: with the weights summing to 1 and ``s_j^2 = sum_i w_i (x_ij -
xm_j)^2``, Cauchy-Schwarz gives, for every feature and for the intercept::

    |g_j(exact) - g_j(running)| / s_j  <=  sqrt(sum_i w_i (mu_i(exact) - mu_i(running))^2)

Recomputing ``eta`` costs a pass over the active columns, as much as a sweep, once per
strength. The bound itself is first taken without evaluating a mean: with ``L`` a bound
of the mean's slope up to the larger predictor (1/4 for the binomial, ``exp(max eta)``
for the poisson), ``L sqrt(sum_i w_i (eta_i(exact) - eta_i(running))^2)`` bounds the sum
above; on ordinary data the two predictors differ by rounding and that bound is
negligible. Only when it is not are the means evaluated.

The case that motivated this module (a sparse poisson design without intercept whose
running predictor drifted from ``X b`` by 0.26) was an exact active-set Newton step on
collinear columns: a solve of a singular system moved a negated pair of coefficients by
``1e15`` each, so that their contributions cancelled in ``X b`` to rounding noise. Such
steps are now refused (:func:`~shrinkage.engine.kernels.active_set.step_cancels`); the
check here guards the certificate against any other cause.

The certificate becomes the running one plus the measured bound (an upper bound on the
violation at the returned point). When the sum exceeds the tolerance, the
solver adopts the exact ``eta`` and certifies again from there. A family whose residual
is not ``w (y - mu)`` row by row (Cox's couples rows through the risk sets;
``drift_by_mean`` false) adopts the exact ``eta`` whenever it differs at all.
"""

from __future__ import annotations

import numpy as np

from .kernels.multinomial_round import class_predictor
from .kernels.predictor import exact_and_spread, predictor_spread

__all__ = ["certify_settled", "exact_predictor", "predictor_drift", "settle_predictor",
           "uncertify_nonfinite"]

_ROWS = 4096  # rows per block of the drift's means


def exact_predictor(prob, b, b0):
    """``offset + b0 + sum_j (x_j - xm_j) b_j``, recomputed from ``X`` (centred columns,
    the solvers' parametrisation); for class coefficients ``b`` of shape (p, K), the (n, K)
    predictor."""
    if b.ndim == 2:
        b = np.ascontiguousarray(b, dtype=np.float64)
        eta = np.empty((prob.n, b.shape[1]))
        class_predictor(*prob.kernel_design(), prob.xm, b, np.zeros(b.shape[1]), eta)
    else:
        eta = prob.centred_matvec(b, np.flatnonzero(b))
    eta += b0
    if prob.offset is not None:
        eta += prob.offset if prob.offset.ndim == eta.ndim else prob.offset[:, None]
    return eta


def predictor_drift(prob, running, exact):
    """``sqrt(sum_i w_i (mu_i(exact) - mu_i(running))^2)``: the largest change of a
    standardized gradient (and of the intercept's) between the two predictors; inf when
    either mean overflows. For class probabilities the square is ``||mu_i(exact) -
    mu_i(running)||^2`` over the classes, which bounds the change of a feature's class
    vector of gradients as well (the grouped multinomial's certificate)."""
    fam = prob.family
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for a in range(0, exact.size, _ROWS):  # blocks of rows: no n-sized temporaries
            s = slice(a, a + _ROWS)
            diff = fam.mean(exact[s]) - fam.mean(running[s])
            sq = diff * diff
            total += float(prob.w[s] @ (sq.sum(axis=1) if sq.ndim == 2 else sq))
    bound = float(np.sqrt(total))
    return bound if np.isfinite(bound) else np.inf


def settle_predictor(solver, cert, tol=None):
    """``(certificate, adopted)`` at the end of a strength whose running certificate is
    ``cert`` (already relative to ``solver.grad_scale``).

    When ``cert`` plus the drift bound measured from the exact predictor is within
    ``tol`` (default ``solver.prob.tol``), returns their sum and False. Otherwise the
    exact predictor becomes ``solver.eta``, in the shape the solver keeps it (the caller
    recomputes the residual and the gradient there, and solves on:
    :func:`certify_settled`), and ``(cert, True)``
    is returned.
    """
    prob = solver.prob
    tol = prob.tol if tol is None else tol
    b = solver.b
    if b.ndim == 1 and np.ndim(solver.eta) == 1 and (prob.offset is None
                                                     or prob.offset.ndim == 1):
        exact = np.empty(prob.n)
        spread, top = exact_and_spread(*prob.kernel_design(), prob.xm, b, float(solver.b0),
                                       prob.offset, solver.eta, prob.w, exact)
        running = solver.eta
    else:
        exact = exact_predictor(prob, b, solver.b0)
        # (a solver may keep a vector predictor as a column: the group solver's (n, 1))
        running = np.ascontiguousarray(solver.eta).reshape(exact.shape)
        spread, top = predictor_spread(exact, running, prob.w)
    if spread == 0.0:  # (rows of zero weight move no gradient)
        return cert, False
    if solver.drift_by_mean:
        slope = prob.family.mean_slope_bound(top)
        if slope is not None:  # a bound without evaluating a mean
            bound = slope * spread / solver.grad_scale
            if cert + bound <= tol:
                return cert + bound, False
        bound = predictor_drift(prob, running, exact) / solver.grad_scale
        if cert + bound <= tol:
            return cert + bound, False
    # a new array: every cache keyed on the identity of the old eta is then stale
    solver.eta = exact.reshape(np.shape(solver.eta))
    return cert, True


def certify_settled(solver, descend, refresh, measure, attempts=3, tol=None):
    """A strength's certificate at the returned coefficients, for a solver that keeps its
    predictor by adding steps.

    ``descend(first)`` solves on from the current point (``first``: the strength's first
    call) and returns the certificate at the running predictor. Once that is within
    ``tol``, :func:`settle_predictor` checks the predictor; each time it adopts the
    exact one, ``refresh()`` recomputes what the solver derives from it (residual,
    gradient) and the strength is solved on, at most ``attempts`` times. If the last
    attempt also ended in an adoption, the certificate is ``measure()``'s at the adopted
    point: the one read before adopting belonged to the old predictor. ``tol``: the
    tolerance the descent works to (default ``solver.prob.tol``).
    """
    tol = solver.prob.tol if tol is None else tol
    for k in range(attempts):
        cert = descend(k == 0)
        if cert > tol:
            return cert
        cert, adopted = settle_predictor(solver, cert, tol)
        if not adopted:
            return cert
        refresh()
    return measure()


def uncertify_nonfinite(coefs, intercepts, dev_ratio, cert):
    """Set ``cert`` to inf (unconverged) at every path point whose coefficients, intercept,
    deviance ratio or certificate is not finite, whatever its solver read there: a NaN gap
    or violation compares false with every bound, and clipped at zero it read "converged"
    (a sparse gaussian fit whose residual diverged reported certificates of 0)."""
    done = cert.shape[0]
    finite = np.isfinite(dev_ratio) & ~np.isnan(cert)
    finite &= np.isfinite(coefs.reshape(done, -1)).all(axis=1)
    finite &= np.isfinite(intercepts.reshape(done, -1)).all(axis=1)
    cert[~finite] = np.inf
