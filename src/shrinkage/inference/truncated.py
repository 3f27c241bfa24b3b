"""The truncated normal distribution, computed stably far in its tails.

Selective inference reduces to one fact (the polyhedral lemma): given the selection
event, ``eta^T v`` is normal with mean ``eta^T theta`` and sd ``sd``, truncated to
``[lower, upper]``. Its distribution function is the pivot, inverted for intervals.
Far in a tail, ``Phi(b) - Phi(a)`` underflows or cancels; here every difference of
normal probabilities is taken in log space on the tail its interval lies in (lower tails
below zero, upper tails above, with ``scipy.special.log_ndtr``), and an interval
around zero as the sum of its two halves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import log_ndtr

_SQRT2 = math.sqrt(2.0)

__all__ = [
    "polyhedral_limits",
    "truncated_normal_cdf",
    "truncated_normal_interval",
    "truncated_normal_pvalue",
]


def _log_diff(la, lb):
    """``log(exp(la) - exp(lb))`` for ``la >= lb`` (``-inf`` when they round equal)."""
    if lb == -math.inf:
        return la
    d = math.exp(lb - la) if lb < la else 1.0
    if d >= 1.0:
        return -math.inf
    return la + math.log1p(-d)


def _log_mass(v, u):
    """``log(Phi(u) - Phi(v))`` for ``v <= u``, accurate on both sides of zero.

    Below zero the lower tails are differenced (``log_ndtr``), above zero the upper
    tails (``Phi(-v) - Phi(-u)``), so neither cancels against 1; an interval around zero
    adds its two halves, ``(erf(u / sqrt 2) + erf(-v / sqrt 2)) / 2``, with no
    difference at all.
    """
    if u <= 0.0:
        return _log_diff(log_ndtr(u), log_ndtr(v))
    if v >= 0.0:
        return _log_diff(log_ndtr(-v), log_ndtr(-u))
    return math.log(0.5 * (math.erf(u / _SQRT2) + math.erf(-v / _SQRT2)))


def _tails(x, mean, sd, lower, upper):
    """``(P(Z <= x), P(Z >= x))`` for ``Z ~ N(mean, sd^2)`` given ``lower <= Z <= upper``,
    each from its own mass (no ``1 - F``)."""
    a = (lower - mean) / sd
    b = (upper - mean) / sd
    z = min(max((x - mean) / sd, a), b)
    total = _log_mass(a, b)
    if total == -math.inf:  # the interval has (numerically) no mass: the point decides
        below = 1.0 if z >= b else 0.0
        return below, 1.0 - below
    return math.exp(_log_mass(a, z) - total), math.exp(_log_mass(z, b) - total)


def truncated_normal_cdf(x, mean, sd, lower, upper):
    """``P(Z <= x | lower <= Z <= upper)`` for ``Z ~ N(mean, sd^2)``.

    Parameters
    ----------
    x, mean : float
    sd : float
        Positive.
    lower, upper : float
        Truncation limits, ``lower < upper``; either may be infinite.

    Returns
    -------
    float
    """
    return _tails(x, mean, sd, lower, upper)[0]


def truncated_normal_pvalue(x, sd, lower, upper, null=0.0):
    """Two-sided p-value of ``mean = null`` from one draw ``x`` of the truncated normal:
    ``2 min(F(x), 1 - F(x))``, both tails computed directly (no ``1 - F`` cancellation)."""
    below, above = _tails(x, null, sd, lower, upper)
    return min(1.0, 2.0 * min(below, above))


def truncated_normal_interval(x, sd, lower, upper, level):
    """Equal-tailed confidence interval for ``mean`` from one draw ``x`` (Lee et al. 2016).

    The pivot ``F(x; mean)`` decreases in ``mean``; the interval is
    ``{mean : alpha/2 <= F(x; mean) <= 1 - alpha/2}`` with ``alpha = 1 - level``, found by
    bracketing and Brent's method. An end is infinite when the truncation leaves the
    data no information in that direction (``x`` close to a finite limit).
    """
    alpha = 1.0 - level

    def solve(target):
        def f(m):
            return _tails(x, m, sd, lower, upper)[0] - target

        step = sd
        lo_m = hi_m = x
        f_lo = f_hi = f(x)
        for _ in range(200):
            if f_lo >= 0.0 >= f_hi:
                break
            if f_lo < 0.0:  # the pivot decreases in the mean: move the low end down
                lo_m -= step
                f_lo = f(lo_m)
            if f_hi > 0.0:
                hi_m += step
                f_hi = f(hi_m)
            step *= 2.0
            if step > 1e10 * sd:
                return -math.inf if f_lo < 0.0 else math.inf
        if f_lo == 0.0:
            return lo_m
        if f_hi == 0.0:
            return hi_m
        return brentq(f, lo_m, hi_m, xtol=1e-12 * sd, rtol=1e-10)

    lo_end = solve(1.0 - alpha / 2.0)
    hi_end = solve(alpha / 2.0)
    return float(lo_end), float(hi_end)


def polyhedral_limits(A, b, v, c, eta_v):
    """The truncation limits ``[V-, V+]`` of ``eta^T v`` on ``{A v <= b}``.

    With ``c = Sigma eta / (eta^T Sigma eta)`` and ``z = v - c eta^T v`` (independent of
    ``eta^T v``), the event is ``V- <= eta^T v <= V+`` where, with ``alpha = A c``,
    ``V- = max_{alpha_k < 0} (b_k - (A z)_k) / alpha_k`` and ``V+`` the min over
    ``alpha_k > 0`` (Lee, Sun, Sun & Taylor 2016, Lemma 5.1).
    """
    z = v - c * eta_v
    alpha = A @ c
    resid = b - A @ z
    scale = np.abs(A) @ np.abs(v) + np.abs(b)
    small = np.abs(alpha) <= 1e-12 * np.maximum(scale, 1e-300)
    neg = (alpha < 0) & ~small
    pos = (alpha > 0) & ~small
    vminus = float(np.max(resid[neg] / alpha[neg])) if np.any(neg) else -math.inf
    vplus = float(np.min(resid[pos] / alpha[pos])) if np.any(pos) else math.inf
    return vminus, vplus
