"""The binomial and poisson family math, one observation at a time, compiled once.

These numba functions are the only definition of the two families' mean, variance and
loss: the Python family objects (:mod:`shrinkage.model.families`) call the array
functions below, and the engine's Newton kernels inline the scalar ones. A family is an
integer code (:data:`BINOMIAL`, :data:`POISSON`), never a string. With ``eta`` the linear
predictor::

    binomial  mu = expit(eta)              var = mu (1 - mu)   loss = log(1 + e^eta) - y eta
    poisson   mu = exp(min(eta, 700))      var = mu            loss = mu - y eta

The variance is floored at :data:`MIN_VAR` so that IRLS never divides by zero; the line
search and the exact-gradient KKT check keep the solution exact. Unit deviance is twice
the loss minus that of the saturated model (``y log y`` terms, 0 at ``y = 0``).
"""

import math

import numpy as np
from numba import njit

BINOMIAL = 0
POISSON = 1

MIN_VAR = 1e-10
ETA_MAX = 700.0


@njit(cache=True, nogil=True, inline="always")
def mean_parts(fam, eta):
    """``(mu, 1 - mu, var)`` at one linear predictor, each to full relative precision;
    var is floored at ``MIN_VAR`` (``1 - mu`` is 0 for the poisson, which has no use
    for it)."""
    if fam == BINOMIAL:
        # mu = expit(eta), 1 - mu = expit(-eta); var = mu (1 - mu) = e / (1 + e)^2 with
        # e = exp(-|eta|), which keeps its relative precision when mu is near 0 or 1
        if eta >= 0.0:
            e = math.exp(-eta)
            mu = 1.0 / (1.0 + e)
            mc = e / (1.0 + e)
        else:
            e = math.exp(eta)
            mu = e / (1.0 + e)
            mc = 1.0 / (1.0 + e)
        var = e / ((1.0 + e) * (1.0 + e))
    else:
        mu = math.exp(min(eta, ETA_MAX))
        mc = 0.0
        var = mu
    if var < MIN_VAR:
        var = MIN_VAR
    return mu, mc, var


@njit(cache=True, nogil=True, inline="always")
def mean_var(fam, eta):
    """``(mu, var)`` at one linear predictor; var is floored at ``MIN_VAR``."""
    mu, _, var = mean_parts(fam, eta)
    return mu, var


def mean_slope_bound(fam, eta_max):
    """An upper bound of ``d mu / d eta`` over every ``eta <= eta_max``: ``1/4`` for the
    binomial (the logistic density's peak), ``exp(min(eta_max, 700))`` for the poisson
    (its mean is increasing and flat past 700)."""
    if fam == BINOMIAL:
        return 0.25
    return math.exp(min(eta_max, ETA_MAX))


@njit(cache=True, nogil=True, inline="always")
def _xlogx(x):
    return x * math.log(x) if x > 0.0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def unit_loss(fam, y, eta):
    """``loss(y, eta)``: the negative log-likelihood of one observation, up to a constant."""
    if fam == BINOMIAL:
        # softplus(eta) = max(eta, 0) + log1p(exp(-|eta|)), without overflow
        return max(eta, 0.0) + math.log1p(math.exp(-abs(eta))) - y * eta
    return math.exp(min(eta, ETA_MAX)) - y * eta


@njit(cache=True, nogil=True, inline="always")
def saturated_loss(fam, y):
    """``loss`` of the saturated model (``eta`` at ``mu = y``)."""
    if fam == BINOMIAL:
        return -(_xlogx(y) + _xlogx(1.0 - y))
    return y - _xlogx(y)


@njit(cache=True, nogil=True, inline="always")
def loss_change(fam, y, eta, d):
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
    mu, mc, _ = mean_parts(fam, eta)
    return loss_change_at(fam, y, eta, mu, mc, d)


@njit(cache=True, nogil=True, inline="always")
def loss_change_at(fam, y, eta, mu, mc, d):
    """:func:`loss_change` given ``(mu, mc) = mean_parts(fam, eta)[:2]`` (a caller that
    keeps them from its previous pass saves their ``exp``)."""
    if fam == BINOMIAL:
        if abs(d) < 30.0:
            out = 0.0
            if y != 1.0:
                out += (1.0 - y) * math.log1p(mu * math.expm1(d))
            if y != 0.0:
                out += y * math.log1p(mc * math.expm1(-d))
            return out
        return unit_loss(fam, y, eta + d) - unit_loss(fam, y, eta)
    if -ETA_MAX <= eta <= ETA_MAX and eta + d <= ETA_MAX:
        return mu * math.expm1(d) - y * d
    return math.exp(min(eta + d, ETA_MAX)) - math.exp(min(eta, ETA_MAX)) - y * d


# ----------------------------------------------------------------- arrays (Python layer)
@njit(cache=True, nogil=True, fastmath=False)
def loss_and_deviance(fam, y, eta, w):
    """``(sum_i w_i loss_i, 2 sum_i w_i (loss_i - saturated_i))``."""
    loss = 0.0
    dev = 0.0
    for i in range(y.shape[0]):
        li = unit_loss(fam, y[i], eta[i])
        loss += w[i] * li
        dev += w[i] * (li - saturated_loss(fam, y[i]))
    return loss, 2.0 * dev


@njit(cache=True, nogil=True, fastmath=False)
def mean_and_variance(fam, eta, mu, var):
    """``mu_i = mean(eta_i)`` and ``var_i`` (floored) into the given arrays."""
    for i in range(eta.shape[0]):
        mu[i], var[i] = mean_var(fam, eta[i])


def means(fam, eta):
    """``(mu, var)`` arrays for a 1-D float array ``eta``."""
    eta = np.ascontiguousarray(eta, dtype=np.float64)
    mu = np.empty_like(eta)
    var = np.empty_like(eta)
    mean_and_variance(fam, eta, mu, var)
    return mu, var
