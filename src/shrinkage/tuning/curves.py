"""The overfitting picture as a result: a flexible 1-D fit without and with ridge.

:func:`compare_fits` expands ``x`` in a basis (Legendre polynomials on ``x`` mapped to
[-1, 1], well conditioned up to high degree, or a cubic truncated-power spline with evenly
spaced knots) and fits it twice with the engine's exact ridge
(:class:`shrinkage.engine.ridge.ExactRidge`) on standardized basis columns with an
unpenalised intercept::

    (1 / 2n) * ||y - b0 - Z b||^2 + lam / 2 * ||b||^2

once with ``lam = 0`` (least squares, minimum-norm where the basis has more columns than
points: the curve bends to chase every point) and once with ``lam`` chosen by exact
leave-one-out error over a log grid (it keeps the larger pattern). The returned
:class:`CurveComparison` is what :func:`shrinkage.plotting.plot_overfit` draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.ridge import ExactRidge
from ..validation import as_real_array

__all__ = ["BASES", "Basis", "CurveComparison", "compare_fits", "make_basis"]

#: The bases :func:`make_basis` builds: Legendre polynomials and cubic truncated-power splines.
BASES = ("polynomial", "spline")
DEFAULT_LAMS = np.logspace(1, -8, 60)


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


@dataclass(frozen=True, eq=False)
class CurveComparison:
    """A basis fit of noisy 1-D data without (``lam = 0``) and with ridge regularization.

    Attributes
    ----------
    x, y : ndarray of shape (n,)
        The data.
    basis : Basis
    coefs : ndarray of shape (2, degree)
        Original-scale basis coefficients: row 0 unregularized, row 1 regularized.
    intercepts : ndarray of shape (2,)
    lam : float
        The regularized fit's strength.
    lams, loo_mse : ndarray
        The leave-one-out curve ``lam`` was chosen from (one point when ``lam`` was given).
    truth : tuple of (x_grid, f_grid) or None
        The true curve, when known.
    """

    x: np.ndarray
    y: np.ndarray
    basis: Basis
    coefs: np.ndarray
    intercepts: np.ndarray
    lam: float
    lams: np.ndarray
    loo_mse: np.ndarray
    truth: tuple | None = None

    def predict(self, x, regularized=True):
        """The fitted curve at ``x``."""
        k = 1 if regularized else 0
        return self.intercepts[k] + self.basis(x) @ self.coefs[k]


def compare_fits(x, y, *, basis="polynomial", degree=15, lam="auto", truth=None):
    """Fit ``y ~ basis(x)`` by least squares and by ridge (see the module docstring).

    Parameters
    ----------
    x, y : array of shape (n,)
    basis : {"polynomial", "spline"}
    degree : int, default 15
        Number of basis functions (besides the intercept).
    lam : "auto" or float >= 0
        The ridge strength; "auto" minimises the exact leave-one-out error over
        ``logspace(1, -8, 60)``.
    truth : callable or (x_grid, f_grid), optional
        The true function, kept for the picture.

    Returns
    -------
    CurveComparison
    """
    x = as_real_array(x, "x")
    y = as_real_array(y, "y")
    for name, v in (("x", x), ("y", y)):
        if v.ndim > 1 and sum(k > 1 for k in v.shape) > 1:
            raise ValueError(f"{name} must be 1-D (one value per point), got shape {v.shape}")
    x, y = x.ravel(), y.ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"the overfitting picture needs at least 3 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite (no NaN or inf)")
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam must be 'auto' or a number >= 0, got {lam!r}")
        lams = DEFAULT_LAMS
    else:
        lam = float(lam)
        if not np.isfinite(lam) or lam < 0:
            raise ValueError(f"lam must be a finite number >= 0, got {lam}")
        lams = np.array([lam])
    B = make_basis(x, basis, degree)
    Z = B(x)
    exact = ExactRidge.fit(Z, y[:, None], np.ones(x.size), np.ones(Z.shape[1]))
    f = exact.filters(np.concatenate([[0.0], lams]))
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = np.where(np.all(f.hat < 1 - 1e-10, axis=0),
                       np.mean((f.resid[:, :, 0] / (1.0 - f.hat)) ** 2, axis=0), np.nan)
    best = 1 + int(np.nanargmin(loo[1:])) if np.any(np.isfinite(loo[1:])) else 1
    if callable(truth):
        grid = np.linspace(x.min(), x.max(), 400)
        truth = (grid, np.asarray(truth(grid), dtype=float))
    elif truth is not None:
        truth = tuple(np.asarray(t, dtype=float) for t in truth)
    return CurveComparison(
        x=x, y=y, basis=B, coefs=f.coefs[[0, best], :, 0], intercepts=f.intercepts[[0, best], 0],
        lam=float(f.lams[best]), lams=f.lams[1:], loo_mse=loo[1:], truth=truth,
    )
