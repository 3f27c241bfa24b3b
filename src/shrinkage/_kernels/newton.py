"""Per-step pieces of proximal Newton for the binomial and poisson families.

The family is an integer code (:data:`BINOMIAL`, :data:`POISSON`), never a string. With
``mu = mean(eta)`` (logistic or ``exp(min(eta, 700))``) and ``var`` the variance function
floored at ``1e-10`` (as :mod:`shrinkage.losses`), the kernels compute::

    loss(eta)  = sum_i w_i * (log(1 + exp(eta_i)) - y_i eta_i)           # binomial
               = sum_i w_i * (exp(min(eta_i, 700)) - y_i eta_i)          # poisson
    wres_i     = w_i * (y_i - mu_i)          # minus the weighted derivative of the loss
    v_i        = w_i * var_i,   z_i = (y_i - mu_i) / var_i   # IRLS model around eta

so that one Newton step minimises ``1/2 sum_i v_i (z_i - deta_i)^2 + penalty``. Every
kernel is one pass over the ``n`` rows (or the working set's columns) and allocates
nothing.
"""

import math

from numba import njit

from .certify import _violation, centred_dots

BINOMIAL = 0
POISSON = 1

_MIN_VAR = 1e-10  # shrinkage.losses._MIN_VAR
_ETA_MAX = 700.0  # shrinkage.losses._ETA_MAX


@njit(cache=True, nogil=True, inline="always")
def _mean_var(fam, eta):
    """``(mu, var)`` at one linear predictor; var is floored at 1e-10."""
    if fam == BINOMIAL:
        # mu = expit(eta); var = mu (1 - mu) = e / (1 + e)^2 with e = exp(-|eta|),
        # which keeps its relative precision when mu is near 0 or 1
        if eta >= 0.0:
            e = math.exp(-eta)
            mu = 1.0 / (1.0 + e)
        else:
            e = math.exp(eta)
            mu = e / (1.0 + e)
        var = e / ((1.0 + e) * (1.0 + e))
    else:
        mu = math.exp(min(eta, _ETA_MAX))
        var = mu
    if var < _MIN_VAR:
        var = _MIN_VAR
    return mu, var


@njit(cache=True, nogil=True)
def weighted_residual(fam, y, eta, w, wres):
    """``wres_i = w_i (y_i - mu_i)``; returns ``sum_i wres_i`` (the intercept gradient)."""
    s = 0.0
    for i in range(y.shape[0]):
        mu, _ = _mean_var(fam, eta[i])
        t = w[i] * (y[i] - mu)
        wres[i] = t
        s += t
    return s


@njit(cache=True, nogil=True)
def irls_model(fam, y, eta, w, v, z):
    """IRLS weights ``v_i = w_i var_i`` and working residual ``z_i = (y_i - mu_i) / var_i``.

    Returns ``(sum_i v_i z_i, sum_i v_i, 1/2 sum_i v_i z_i^2)``: the running sums the
    coordinate-descent kernel keeps for the intercept, and the model's value at the current
    point (coordinate descent resolves the model only to the rounding of that value).
    """
    svz = 0.0
    sv = 0.0
    q0 = 0.0
    for i in range(y.shape[0]):
        mu, var = _mean_var(fam, eta[i])
        vi = w[i] * var
        zi = (y[i] - mu) / var
        v[i] = vi
        z[i] = zi
        svz += vi * zi
        sv += vi
        q0 += vi * zi * zi
    return svz, sv, 0.5 * q0


@njit(cache=True, nogil=True, inline="always")
def _pen1(bj, l1j, l2j):
    return l1j * abs(bj) + 0.5 * l2j * bj * bj


@njit(cache=True, nogil=True)
def step_decrease(wres, deta, b_old, db, idx, l1, l2):
    """Predicted decrease of the Armijo test for the step ``(db, deta)``.

    Returns ``grad . d + penalty(b_old + db) - penalty(b_old)`` with
    ``grad . d = -sum_i wres_i deta_i``; ``b_old, db`` hold the coordinates ``idx`` (those
    that moved), the only ones whose penalty changes.
    """
    gd = 0.0
    for i in range(wres.shape[0]):
        gd -= wres[i] * deta[i]
    for k in range(idx.shape[0]):
        j = idx[k]
        gd += _pen1(b_old[k] + db[k], l1[j], l2[j]) - _pen1(b_old[k], l1[j], l2[j])
    return gd


@njit(cache=True, nogil=True, inline="always")
def _loss_change(fam, y, eta, d):
    """``loss(y, eta + d) - loss(y, eta)``, accurate to the size of the change itself.

    The direct difference loses everything below ``eps * loss`` (about 1e-16), while near
    the optimum a Newton step changes the objective by far less. With ``mu = mean(eta)``,
    ``softplus(x) = log(1 + exp(x))`` and the binomial loss written as
    ``y softplus(-eta) + (1 - y) softplus(eta)``::

        softplus(eta + d) - softplus(eta)   = log1p(mu * expm1(d))
        softplus(-eta - d) - softplus(-eta) = log1p((1 - mu) * expm1(-d))
        exp(eta + d) - exp(eta)             = mu * expm1(d)            # poisson

    Each term is accurate relative to itself, so for 0/1 labels (one term) the change is
    exact to rounding. Plain differences are used only where these forms could overflow
    (``|d| >= 30`` binomial; poisson predictors outside ``[-700, 700]``).
    """
    if fam == BINOMIAL:
        if abs(d) < 30.0:
            # mu = expit(eta) and 1 - mu = expit(-eta), both to full relative precision
            if eta >= 0.0:
                e = math.exp(-eta)
                mu = 1.0 / (1.0 + e)
                mc = e / (1.0 + e)
            else:
                e = math.exp(eta)
                mu = e / (1.0 + e)
                mc = 1.0 / (1.0 + e)
            out = 0.0
            if y != 1.0:
                out += (1.0 - y) * math.log1p(mu * math.expm1(d))
            if y != 0.0:
                out += y * math.log1p(mc * math.expm1(-d))
            return out
        e1 = eta + d
        sp1 = max(e1, 0.0) + math.log1p(math.exp(-abs(e1)))
        sp0 = max(eta, 0.0) + math.log1p(math.exp(-abs(eta)))
        return sp1 - sp0 - y * d
    if -_ETA_MAX <= eta <= _ETA_MAX and eta + d <= _ETA_MAX:
        return math.exp(eta) * math.expm1(d) - y * d
    return math.exp(min(eta + d, _ETA_MAX)) - math.exp(min(eta, _ETA_MAX)) - y * d


@njit(cache=True, nogil=True)
def armijo(fam, y, w, eta, deta, eta_t, b_old, db, idx, l1, l2, decrease, slack,
           max_halvings):
    """Backtracking line search on ``F(t) = loss(eta + t deta) + penalty(b_old + t db)``.

    Accepts the first ``t`` in 1, 1/2, 1/4, ... with ``F(t) - F(0) <= 1e-4 t min(decrease,
    0)`` (Lee, Sun & Saunders 2014), where ``F(t) - F(0)`` is summed from accurate
    per-sample changes (:func:`_loss_change`) and per-coordinate penalty changes, so the
    test stays meaningful when the change is far below the rounding of ``F`` itself. A
    change below ``slack`` (the rounding level of the step's own computation, see the
    caller) or within the rounding of its own terms (``4 eps sum |terms|``) is accepted
    too.
    Only the coordinates ``idx`` move (``b_old, db`` hold their values, in the order of
    ``idx``). Writes ``eta_t = eta + t deta`` and returns ``(t, F(t) - F(0))``; ``t = 0``
    when no step is accepted.
    """
    n = y.shape[0]
    t = 1.0
    for _ in range(max_halvings):
        df = 0.0
        mag = 0.0
        for i in range(n):
            d = t * deta[i]
            eta_t[i] = eta[i] + d
            c = w[i] * _loss_change(fam, y[i], eta[i], d)
            df += c
            mag += abs(c)
        for k in range(idx.shape[0]):
            j = idx[k]
            c = _pen1(b_old[k] + t * db[k], l1[j], l2[j]) - _pen1(b_old[k], l1[j], l2[j])
            df += c
            mag += abs(c)
        if (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
                or df <= 4.0 * 2.220446049250313e-16 * mag):
            return t, df
        t *= 0.5
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi, scale, ws, m,
                    g):
    """Gradient and largest KKT violation over the working set ``ws[:m]``.

    Writes ``g_j = sum_i (x_ij - xm_j) wres_i`` for ``j`` in the working set and returns
    ``max_j violation_j / scale_j`` (standardized units, as the full KKT scan).
    """
    centred_dots(X, xd, xi, xp, sparse, wres, swres, xm, ws, m, g)
    return ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m)


@njit(cache=True, nogil=True)
def ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m):
    """Largest KKT violation over ``ws[:m]`` from a gradient ``g`` already at hand."""
    vmax = 0.0
    for t in range(m):
        j = ws[t]
        vj = _violation(g[j], b[j], l1[j], l2[j], lo[j], hi[j]) / scale[j]
        if vj > vmax:
            vmax = vj
    return vmax
