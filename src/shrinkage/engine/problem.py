"""One penalised fit as plain arrays: :class:`Problem`, its moments and its working sets.

The path driver builds a :class:`Problem` from the checked data, the family and the
penalty lowered to arrays; every solver reads it and nothing else. Standardization is
implicit: weighted column means and scales are computed here (without copying X) and the
kernels apply them through scalar bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .kernels.certify import centred_gradient, kkt_scan
from .kernels.moments import centred_combination, column_variances, sparse_column_moments

__all__ = ["Problem", "column_moments", "strong_set", "violators"]

_EMPTY_F = np.zeros(1)
_EMPTY_I = np.zeros(1, dtype=np.int32)
_DUMMY_X = np.zeros((1, 1), order="F")


@dataclass
class Problem:
    """Everything a solver needs, as plain arrays.

    ``w`` are sample weights normalised to sum to one; ``xm`` the weighted column means
    (zeros without an intercept); ``xsq`` the weighted sums ``sum_i w_i (x_ij - xm_j)^2``
    (the gaussian loss's curvature per coordinate, 0 for excluded columns); ``l1u, l2u``
    the penalty weights per unit ``lam``; ``excluded`` marks constant columns, whose
    coefficients stay at zero; ``penalty`` is the penalty object itself (its declared
    attributes, e.g. ``group_responses``).
    """

    X: object
    y: np.ndarray
    w: np.ndarray
    uniform_w: float
    offset: np.ndarray | None
    family: object
    xm: np.ndarray
    xw: np.ndarray
    xsq: np.ndarray
    l1u: np.ndarray
    l2u: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    excluded: np.ndarray
    fit_intercept: bool
    tol: float
    max_iter: int
    scale: np.ndarray = None
    penalty: object = None

    def __post_init__(self):
        if self.scale is None:
            self.scale = np.ones(self.X.shape[1])
        X = self.X
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.kX = _DUMMY_X
            self.kd = X.data
            self.ki = X.indices
            self.kp = X.indptr
        else:
            self.kX = X
            self.kd, self.ki, self.kp = _EMPTY_F, _EMPTY_I, _EMPTY_I
        self.n, self.p = X.shape
        self.candidates = ~self.excluded
        self.unpenalized = (self.l1u == 0) & (self.l2u == 0) & self.candidates

    def kernel_design(self):
        return self.kX, self.kd, self.ki, self.kp, self.sparse

    def centred_response(self):
        """``y - offset``, centred by its weighted mean with an intercept; and that mean."""
        yc = self.y if self.offset is None else self.y - self.offset
        if not self.fit_intercept:
            return yc, 0.0
        ybar = float(np.dot(self.w, yc))
        return yc - ybar, ybar

    def gradient(self, resid_w):
        """``g_j = sum_i (x_ij - xm_j) * resid_w_i`` for all j (one pass over X).

        ``resid_w`` may be a matrix (n, K); the result is then (p, K).
        """
        if resid_w.ndim == 1:
            g = np.empty(self.p)
            centred_gradient(self.kX, self.kd, self.ki, self.kp, self.sparse,
                             np.ascontiguousarray(resid_w), self.xm, self.excluded, g)
            return g
        g = np.asarray(self.X.T @ resid_w)
        if self.fit_intercept:
            g -= np.multiply.outer(self.xm, resid_w.sum(axis=0))
        g[self.excluded] = 0.0
        return g

    def centred_matvec(self, b, idx):
        """``sum_{j in idx} (x_j - xm_j) b_j`` as a dense vector (no column copies)."""
        out = np.zeros(self.n)
        if idx.size:
            idx = np.asarray(idx, dtype=np.int64)
            centred_combination(self.kX, self.kd, self.ki, self.kp, self.sparse, self.xm, idx,
                                np.ascontiguousarray(b[idx]), out)
        return out


def column_moments(X, w, center):
    """``sum_i w_i (x_ij - center_j)^2`` for every column (dense or CSC), without copies."""
    if sp.issparse(X):
        out = np.empty(X.shape[1])
        sparse_column_moments(X.data, X.indptr, X.indices, w, center, out)
        return out
    return column_variances(X, w, center)


def strong_set(prob, g, b, lam, lam_prev):
    """Strong-rule candidates (Tibshirani et al. 2012) plus the ever-active features.

    Discards j when ``|g_j| < l1_j * (2 lam - lam_prev)``; the KKT check afterwards
    catches any violation of the rule.
    """
    keep = (np.abs(g) >= prob.l1u * (2.0 * lam - lam_prev)) | (b != 0) | prob.unpenalized
    keep &= prob.candidates
    return keep


def violators(prob, g, b, lam, in_ws, out=None):
    """Features outside the working set whose KKT condition fails at the current point.

    Returns ``(indices, max_violation)`` with the violation in standardized-gradient units
    (divided by the penalty scale ``s_j``) over all candidate features.
    """
    if out is None:
        out = np.empty(prob.p, dtype=np.int64)
    vmax, m = kkt_scan(g, b, lam * prob.l1u, lam * prob.l2u, prob.lo, prob.hi,
                       prob.candidates, in_ws, prob.scale, out)
    return out[:m], vmax
