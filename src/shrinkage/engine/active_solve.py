"""Exact Newton solves on an active set, on the directions the data determine.

An active set may hold columns that are collinear, exactly or up to the rounding of
their centring (a one-hot level beside its complement shifted by a large mean, a column
equal to the sum of two others). The Newton system ``H d = rhs`` is then singular in
exact arithmetic but not in floating point, and an LU solve returns a step whose
component along the null direction is rounding divided by rounding: arbitrary, and
large. The objective does not see that component, but the coefficients do (a pair
carrying -135 each where -0.7 and -0.5 fit as well, their intercept 2.7e6 instead of
1.3e4), and every later product with them loses digits.

:func:`range_solve` scales ``H`` to unit diagonal (its eigen-directions no longer
depend on the columns' units) and solves by Cholesky when every pivot is clear; where
one is not (or ``H`` is indefinite: a concave penalty's piece), by the symmetric
eigen-decomposition with the eigenvalues below ``RCOND`` of the largest dropped, which
is the step of least (scaled) norm: nothing moves along a direction the data do not
determine.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .kernels.active_set import RCOND

__all__ = ["PIVOT_FLOOR", "RCOND", "range_solve"]

#: squared Cholesky pivots of the unit-diagonal system (each the squared sine of the angle
#: between a column and the span of those before it) that the fast path accepts
PIVOT_FLOOR = 1e-8


def range_solve(H, rhs):
    """``d`` with ``H d = rhs`` on the directions ``H`` determines (module docstring).

    ``H`` is symmetric (positive semidefinite, or indefinite on a concave piece); returns
    None when its diagonal has a zero or ``H`` or ``rhs`` a non-finite entry.
    """
    dg = np.sqrt(np.abs(np.diag(H)))
    if not (np.all(dg > 0.0) and np.all(np.isfinite(H)) and np.all(np.isfinite(rhs))):
        return None
    Hs = H / np.outer(dg, dg)
    rs = rhs / dg
    try:
        L = np.linalg.cholesky(Hs)
        if np.min(np.diag(L)) ** 2 >= PIVOT_FLOOR:
            return scipy.linalg.cho_solve((L, True), rs) / dg
    except np.linalg.LinAlgError:
        pass
    lam, Q = np.linalg.eigh(Hs)
    top = np.abs(lam).max()
    keep = np.abs(lam) > RCOND * top
    return (Q[:, keep] @ ((Q[:, keep].T @ rs) / lam[keep])) / dg
