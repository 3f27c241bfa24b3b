"""Centring, scaling and weighting shared by the Bayesian estimators (private)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Design:
    """A weighted, centred, scaled design ``Z`` and response ``z``.

    ``Z_ij = sqrt(w_i) (x_ij - xbar_j) / s_j`` and ``z_i = sqrt(w_i) (y_i - ybar)``, with
    weighted means (zero when ``fit_intercept=False``) and ``s_j`` the weighted
    population sd of feature ``j`` (1 when ``standardize=False`` and for constant
    features, whose column is set to exactly zero). Weights act as frequency weights:
    a weight of 2 is the same as the row appearing twice. ``W = sum(w)``.
    """

    Z: np.ndarray
    z: np.ndarray
    xbar: np.ndarray
    ybar: float
    scale: np.ndarray
    W: float
    const: np.ndarray


def check_weights(sample_weight, n):
    """Validate non-negative sample weights with a positive total."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and >= 0")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to zero: there is nothing to fit")
    return w


def effective_n(des, fit_intercept):
    """Total weight left for the noise after an integrated-out intercept: ``W - 1`` or ``W``."""
    n_eff = des.W - 1.0 if fit_intercept else des.W
    if n_eff <= 0:
        raise ValueError(f"the total sample weight must exceed 1 with an intercept, got {des.W}")
    return n_eff


def prepare(X, y, w, *, standardize, fit_intercept, center_y=True):
    """Build the :class:`Design` (one copy of ``X``)."""
    W = float(w.sum())
    wn = w / W
    if fit_intercept:
        xbar = wn @ X
        ybar = float(wn @ y) if center_y else 0.0
    else:
        xbar = np.zeros(X.shape[1])
        ybar = 0.0
    Xc = X - xbar
    s = np.sqrt(wn @ (Xc * Xc))
    const = s <= 1e3 * np.finfo(float).eps * (1.0 + np.abs(xbar))
    s = np.where(const | (not standardize), 1.0, s)
    Xc[:, const] = 0.0
    sw = np.sqrt(w)
    Xc *= sw[:, None]
    Xc /= s
    return Design(Z=Xc, z=sw * (y - ybar), xbar=xbar, ybar=ybar, scale=s, W=W, const=const)
