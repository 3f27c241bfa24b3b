"""Centring, scaling and weighting shared by the Bayesian estimators (private).

Everything here is formed so that it can neither overflow nor underflow for any finite
input: each column of ``X`` and ``y`` is first divided by a power of two (exact in binary
floating point), so ``X`` or ``y`` of size ``1e300`` or ``1e-300`` give the same unit
problem as data of size one. The Gaussian and Laplace models are equivariant under
``X -> a X``, ``y -> b y`` (coefficients scale by ``b / a``), so the estimators solve the
unit problem and map the results back with ``x_unit`` and ``y_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.ridge import decompose
from ..validation import check_flag

# relative sd below which a column counts as constant (rounding in its mean is ~eps)
_CONST_RTOL = 1e3 * np.finfo(float).eps


@dataclass(frozen=True)
class Design:
    """A weighted, centred, scaled design ``Z`` and response ``z`` in units of order one.

    ``Z_ij = sqrt(w_i) (x_ij - xbar_j) / scale_j`` and
    ``z_i = sqrt(w_i) (y_i - ybar) / y_unit``, with weighted means (zero when
    ``fit_intercept=False``). With ``standardize=True``, ``scale_j`` is the weighted
    population sd of feature ``j`` (for constant features, whose column is set to exactly
    zero, the power of two nearest their size) and ``x_unit = 1``; with
    ``standardize=False`` every ``scale_j`` is the common power of two ``x_unit`` (an
    isotropic prior on ``b`` stays isotropic). So
    ``b = c * y_unit / scale`` for the coefficients ``c`` of the unit problem, and a
    strength ``lam`` (shrinkage units) of the unit problem is ``lam * x_unit**2`` for the
    data. Weights act as frequency weights: a weight of 2 is the same as the row appearing
    twice. ``W = sum(w)``.
    """

    Z: np.ndarray
    z: np.ndarray
    xbar: np.ndarray
    ybar: float
    scale: np.ndarray
    W: float
    const: np.ndarray
    x_unit: float = 1.0
    y_unit: float = 1.0


def check_weights(sample_weight, n):
    """Validate non-negative sample weights with a positive, finite total."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and >= 0")
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weight sums to zero: there is nothing to fit")
    if not np.isfinite(total):
        raise ValueError("sample_weight sums to more than float64 can hold; divide the weights "
                         "by a common factor (they are frequency weights: only ratios and the "
                         "total count matter)")
    return w


def effective_n(des, fit_intercept):
    """Total weight left for the noise after an integrated-out intercept: ``W - 1`` or ``W``."""
    n_eff = des.W - 1.0 if fit_intercept else des.W
    if n_eff <= 0:
        raise ValueError(f"the total sample weight must exceed 1 with an intercept, got {des.W}")
    return n_eff


def _exponent(a):
    """``k`` with ``2**(k-1) <= |a| < 2**k`` (0 for 0): dividing by ``2**k`` is exact."""
    return np.frexp(np.asarray(a, dtype=float))[1].astype(np.int64)


def _too_large(name):
    return ValueError(f"{name} holds values too large to centre and square in float64 (about "
                      f"1e308); divide {name} by a power of ten: the model is scale-equivariant")


def column_moments(X, wn, *, fit_intercept):
    """Centred columns in units, and their means, sds and constancy, free of overflow.

    Returns ``(Xc, k, xbar, s, const)``: ``Xc = (X - xbar) / 2**k`` column by column with
    ``|Xc| < 2``, ``xbar`` the weighted means (0 without an intercept, where ``Xc`` is not
    centred), ``s`` the weighted population sds on the original scale (centred also without
    an intercept, as the engine's scales) and ``const`` the columns whose sd is below
    ``1e3 eps`` of their magnitude (a scale-free test: a column of size ``1e-200`` that
    varies is not constant).
    """
    k = _exponent(np.max(np.abs(X), axis=0))
    Xc = np.ldexp(X, -k)  # a copy; each column now has its largest entry in [0.5, 1)
    mean_u = wn @ Xc
    if fit_intercept:
        Xc -= mean_u
        s_u = np.sqrt(wn @ (Xc * Xc))
        xbar_u = mean_u
    else:  # the scale is still the sd, as the engine's (docs/design.md 1); X stays uncentred
        s_u = np.sqrt(wn @ ((Xc - mean_u) ** 2))
        xbar_u = np.zeros(X.shape[1])
    const = s_u <= _CONST_RTOL
    with np.errstate(over="ignore"):
        xbar, s = np.ldexp(xbar_u, k), np.ldexp(s_u, k)
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(xbar))):
        raise _too_large("X")
    Xc[:, const] = 0.0
    return Xc, k, xbar, s, const


def _response(y, wn, fit_intercept):
    """``(yc, y_unit, ybar)`` with ``yc = (y - ybar) / y_unit`` of largest entry in [0.5, 1)."""
    ky = int(_exponent(np.max(np.abs(y)) if y.size else 0.0))
    yu = np.ldexp(y, -ky)
    ybar_u = float(wn @ yu) if fit_intercept else 0.0
    yc = yu - ybar_u
    top = np.max(np.abs(yc)) if yc.size else 0.0
    ky2 = int(_exponent(top)) if top > 0 else 0
    if ky + ky2 > 1023:
        raise _too_large("y")
    return np.ldexp(yc, -ky2), float(np.ldexp(1.0, ky + ky2)), float(np.ldexp(ybar_u, ky))


def scaled_columns(X, wn, *, standardize, fit_intercept):
    """``(Xs, xbar, scale, const, x_unit)`` with ``Xs = (X - xbar) / scale`` of order one.

    ``scale`` is the weighted sd (``standardize=True``; for a constant column, whose
    ``Xs`` column is exactly zero, the power of two nearest its size) or the one power of
    two ``x_unit`` shared by every column (``standardize=False``: the prior on ``b`` stays
    isotropic). ``x_unit = 1`` when standardizing.
    """
    standardize = check_flag(standardize, "standardize")
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    Xc, k, xbar, s, const = column_moments(X, wn, fit_intercept=fit_intercept)
    if standardize:
        Xc /= np.where(const, 1.0, np.ldexp(s, -k))
        # a constant column's coefficient is not identified; its "sd" is taken as its size,
        # so that (x - xbar) / scale stays of order one when predicting
        return Xc, xbar, np.where(const, np.ldexp(1.0, k), s), const, 1.0
    top = np.max(np.abs(Xc), axis=0)
    live = top > 0
    K = int(np.max(k[live] + _exponent(top[live]))) if np.any(live) else 0
    if K > 1023:
        raise _too_large("X")
    x_unit = float(np.ldexp(1.0, K))
    return np.ldexp(Xc, k - K), xbar, np.full(X.shape[1], x_unit), const, x_unit


def prepare(X, y, w, *, standardize, fit_intercept, center_y=True):
    """Build the :class:`Design` (one copy of ``X``), in units of order one."""
    W = float(w.sum())
    wn = w / W
    Xs, xbar, scale, const, x_unit = scaled_columns(X, wn, standardize=standardize,
                                                    fit_intercept=fit_intercept)
    yc, y_unit, ybar = _response(y, wn, fit_intercept and center_y)
    sw = np.sqrt(w)
    Xs *= sw[:, None]
    return Design(Z=Xs, z=sw * yc, xbar=xbar, ybar=ybar, scale=scale, W=W, const=const,
                  x_unit=x_unit, y_unit=y_unit)


def unit_exponent(unit):
    """``e`` with ``unit == 2**e`` for the powers of two ``x_unit`` and ``y_unit``."""
    return int(np.frexp(unit)[1]) - 1


def to_data_scale(v, exp2, scale=None):
    """``v * 2**exp2 / scale`` without a spurious overflow or underflow on the way.

    The power of two is applied last (exactly), so only a result that float64 cannot
    hold becomes ``inf`` or ``0``; callers check for that and refuse.
    """
    v = np.asarray(v, dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        if scale is None:
            return np.ldexp(v, exp2)
        m, es = np.frexp(np.asarray(scale, dtype=float))
        return np.ldexp(v / m, exp2 - es)


def spectrum(des):
    """``(d, V, u, z_perp2)``: thin SVD ``Z = U diag(d) V^T`` (rank ``r``) and ``u = U^T z``.

    ``z_perp2 = ||z - U u||^2`` is formed from the residual itself: ``||z||^2 - ||u||^2``
    would lose every digit when ``X`` fits ``y`` (almost) exactly. With every feature
    constant, ``r = 0``.
    """
    Z, z = des.Z, des.z
    p = Z.shape[1]
    if not np.any(Z):
        return np.zeros(0), np.zeros((p, 0)), np.zeros(0), float(z @ z)
    U, d, V = decompose(Z, need_u=False)
    if U is None:  # U^T z = diag(1/d) V^T Z^T z: no n x r matrix U is needed when n > p
        u = (V.T @ (Z.T @ z)) / d
        resid = z - Z @ (V @ (u / d))
    else:
        u = U.T @ z
        resid = z - U @ u
    return d, V, u, float(resid @ resid)


def lost_in_scaling(unit, data, positive=False):
    """Whether mapping ``unit`` values to ``data`` values left float64's normal range.

    True when a data value is not finite, or a non-zero unit value became zero or
    subnormal (``positive``: any value below the smallest normal number).
    """
    unit, data = np.asarray(unit, dtype=float), np.asarray(data, dtype=float)
    tiny = np.finfo(float).tiny
    small = np.abs(data) < tiny
    if not positive:
        small &= unit != 0
    return bool(not np.all(np.isfinite(data)) or np.any(small))
