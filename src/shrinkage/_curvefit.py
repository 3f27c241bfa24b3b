"""Flexible 1-D bases and a closed-form ridge fit, for the overfitting picture.

Used by :func:`shrinkage.plotting.plot_overfit`. The basis is Legendre polynomials (on
``x`` mapped to [-1, 1], well conditioned up to high degree) or a cubic truncated-power
spline with evenly spaced knots. The fit minimises the library's objective with
``l1_ratio = 0`` on standardized basis columns, with an unpenalised intercept::

    (1 / 2n) * ||y - b0 - Z b||^2 + lam / 2 * ||b||^2

whose solution is ``b = (Zc' Zc + n lam I)^{-1} Zc' yc`` (``Zc``, ``yc`` centred), i.e.
scikit-learn's ``Ridge(alpha = n * lam)``. With ``lam = 0`` it is the least-squares fit
(minimum-norm when the basis has more columns than points). The exact leave-one-out error
comes from the hat matrix: ``e_loo_i = (y_i - yhat_i) / (1 - H_ii)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASES = ("polynomial", "spline")


@dataclass(frozen=True)
class Basis:
    """A fixed 1-D basis: maps ``x`` to a design matrix without an intercept column."""

    kind: str
    degree: int
    lo: float
    hi: float

    def __call__(self, x):
        x = np.asarray(x, dtype=float).ravel()
        span = self.hi - self.lo
        t = 2.0 * (x - self.lo) / span - 1.0 if span > 0 else np.zeros_like(x)
        if self.kind == "polynomial":
            # Legendre P_1..P_degree: columns nearly orthogonal on [-1, 1].
            V = np.polynomial.legendre.legvander(t, self.degree)
            return V[:, 1:]
        # Cubic truncated-power spline: t, t^2, t^3, (t - k)_+^3 for degree - 3 knots.
        n_knots = max(self.degree - 3, 0)
        knots = np.linspace(-1.0, 1.0, n_knots + 2)[1:-1]
        cols = [t, t**2, t**3] + [np.clip(t - k, 0.0, None) ** 3 for k in knots]
        return np.column_stack(cols)[:, : self.degree]


def make_basis(x, kind="polynomial", degree=15):
    """Build the basis on the range of ``x``."""
    if kind not in BASES:
        raise ValueError(f"basis must be one of {BASES}, got {kind!r}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ValueError(f"degree must be an integer >= 1, got {degree!r}")
    x = np.asarray(x, dtype=float).ravel()
    return Basis(kind, int(degree), float(np.min(x)), float(np.max(x)))


@dataclass(frozen=True)
class RidgeFit:
    """A fitted ridge curve: ``predict(x) = b0 + ((B(x) - mu) / sd) . b``."""

    basis: Basis
    mu: np.ndarray
    sd: np.ndarray
    coef: np.ndarray
    intercept: float
    lam: float
    loo_mse: float

    def predict(self, x):
        Z = (self.basis(x) - self.mu) / self.sd
        return self.intercept + Z @ self.coef


def fit_ridge_curve(x, y, basis, lam):
    """Closed-form ridge on standardized basis columns (``lam = 0``: least squares).

    Returns a :class:`RidgeFit` whose ``loo_mse`` is the exact leave-one-out mean squared
    error (``nan`` for the interpolating least-squares fit, where ``H_ii = 1``).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    n = x.size
    B = basis(x)
    mu = B.mean(axis=0)
    sd = B.std(axis=0)
    sd[sd == 0] = 1.0
    Z = (B - mu) / sd
    ybar = y.mean()
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    # Shrinkage factors of each singular direction: s / (s^2 + n lam); zero singular
    # values are dropped (minimum-norm least squares when lam = 0).
    keep = s > s[0] * 1e-12 if s.size else s > 0
    d = np.zeros_like(s)
    d[keep] = s[keep] / (s[keep] ** 2 + n * lam)
    uty = U.T @ (y - ybar)
    coef = Vt.T @ (d * uty)
    # Hat matrix diagonal of the centred fit plus the intercept's 1/n.
    h = (U**2) @ (s * d) + 1.0 / n
    resid = y - ybar - Z @ coef
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = resid / (1.0 - h)
    loo_mse = float(np.mean(loo**2)) if np.all(h < 1 - 1e-10) else float("nan")
    return RidgeFit(basis, mu, sd, coef, float(ybar), lam, loo_mse)


def choose_lam_loo(x, y, basis, lams=None):
    """The ``lam`` on a log grid with the smallest exact leave-one-out error."""
    if lams is None:
        lams = np.logspace(1, -8, 60)
    fits = [fit_ridge_curve(x, y, basis, lam) for lam in lams]
    errs = np.array([f.loo_mse for f in fits])
    return fits[int(np.nanargmin(errs))]
