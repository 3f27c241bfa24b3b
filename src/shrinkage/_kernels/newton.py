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


@njit(cache=True, nogil=True, inline="always")
def _unit_loss(fam, y, eta):
    if fam == BINOMIAL:
        # log(1 + exp(eta)) = max(eta, 0) + log1p(exp(-|eta|))
        return max(eta, 0.0) + math.log1p(math.exp(-abs(eta))) - y * eta
    return math.exp(min(eta, _ETA_MAX)) - y * eta


@njit(cache=True, nogil=True)
def glm_loss(fam, y, eta, w):
    """``sum_i w_i loss(y_i, eta_i)`` (the data term of the objective)."""
    s = 0.0
    for i in range(y.shape[0]):
        s += w[i] * _unit_loss(fam, y[i], eta[i])
    return s


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

    Returns ``(sum_i v_i z_i, sum_i v_i)``, the running sums the coordinate-descent kernel
    keeps for the intercept.
    """
    svz = 0.0
    sv = 0.0
    for i in range(y.shape[0]):
        mu, var = _mean_var(fam, eta[i])
        vi = w[i] * var
        zi = (y[i] - mu) / var
        v[i] = vi
        z[i] = zi
        svz += vi * zi
        sv += vi
    return svz, sv


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


@njit(cache=True, nogil=True)
def armijo(fam, y, w, eta, deta, eta_t, b_old, db, idx, l1, l2, pen_old, f_old, decrease,
           max_halvings):
    """Backtracking line search on ``F(t) = loss(eta + t deta) + penalty(b_old + t db)``.

    Accepts the first ``t`` in 1, 1/2, 1/4, ... with ``F(t) <= F(0) + 1e-4 t min(decrease,
    0)`` (Lee, Sun & Saunders 2014), or ``F(t) <= F(0) + 8 eps |F(0)|`` (near the optimum
    the decrease is below the rounding of F). ``pen_old`` is the whole penalty at
    ``b_old``; only the coordinates ``idx`` move (``b_old, db`` hold their values, in the
    order of ``idx``), so only their terms are recomputed.
    Writes ``eta_t = eta + t deta`` and returns ``(t, F(t))``; ``t = 0`` when no step is
    accepted.
    """
    slack = 8.0 * 2.220446049250313e-16 * abs(f_old)
    pen_idx = 0.0
    for k in range(idx.shape[0]):
        j = idx[k]
        pen_idx += _pen1(b_old[k], l1[j], l2[j])
    base = pen_old - pen_idx  # the penalty of the coordinates that do not move
    n = y.shape[0]
    t = 1.0
    for _ in range(max_halvings):
        f = 0.0
        for i in range(n):
            e = eta[i] + t * deta[i]
            eta_t[i] = e
            f += w[i] * _unit_loss(fam, y[i], e)
        pen = base
        for k in range(idx.shape[0]):
            j = idx[k]
            pen += _pen1(b_old[k] + t * db[k], l1[j], l2[j])
        f_t = f + pen
        if f_t <= f_old + 1e-4 * t * min(decrease, 0.0) or f_t <= f_old + slack:
            return t, f_t
        t *= 0.5
    return 0.0, f_old


@njit(cache=True, nogil=True, inline="always")
def _violation(gj, bj, l1j, l2j, loj, hij):
    """Distance of ``g_j - l2_j b_j`` from ``l1_j d|b_j|`` plus the box's normal cone."""
    zj = gj - l2j * bj
    if bj > 0.0:
        dev = zj - l1j
    elif bj < 0.0:
        dev = zj + l1j
    elif zj > l1j:
        dev = zj - l1j
    elif zj < -l1j:
        dev = zj + l1j
    else:
        dev = 0.0
    if bj >= hij and dev > 0.0:
        dev = 0.0
    if bj <= loj and dev < 0.0:
        dev = 0.0
    return abs(dev)


@njit(cache=True, nogil=True)
def ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi, scale, ws, m,
                    g):
    """Gradient and largest KKT violation over the working set ``ws[:m]``.

    Writes ``g_j = sum_i (x_ij - xm_j) wres_i`` for ``j`` in the working set and returns
    ``max_j violation_j / scale_j`` (standardized units, as the full KKT scan).
    """
    vmax = 0.0
    for t in range(m):
        j = ws[t]
        s = 0.0
        if sparse:
            for k in range(xp[j], xp[j + 1]):
                s += xd[k] * wres[xi[k]]
        else:
            for i in range(X.shape[0]):
                s += X[i, j] * wres[i]
        gj = s - xm[j] * swres
        g[j] = gj
        vj = _violation(gj, b[j], l1[j], l2[j], lo[j], hi[j]) / scale[j]
        if vj > vmax:
            vmax = vj
    return vmax


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
