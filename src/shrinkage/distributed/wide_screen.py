"""Screening a wide design: every column certified at every strength, few of them read.

The gradient of column ``j`` at a residual ``r`` (weights ``w`` summing to one, centres
``xm``) is ``g_j(r) = sum_i w_i (x_ij - xm_j) r_i``. A *checkpoint* is a residual ``r0``
at which every ``g_j(r0)`` is known exactly (a pass over the columns). Since the
centred column has weighted mean zero, for any later residual ``r`` Cauchy-Schwarz
gives the bound::

    |g_j(r)| <= |g_j(r0)| + s_j * D,   s_j^2 = sum_i w_i (x_ij - xm_j)^2,
                                       D^2   = sum_i w_i (dr_i - mean_w(dr))^2,  dr = r - r0

(without an intercept ``xm = 0`` and ``dr`` is not centred). The bound is sharpened by
directions: a pass also computes ``Z_jm = sum_i w_i (x_ij - xm_j) q_mi`` for a few
residual directions ``q_m`` (the last steps of the path, orthonormal in the weighted
metric), so that with ``dr = Q a + e``::

    |g_j(r)| <= |g_j(r0) + Z_j . a| + s_j * sqrt(sum_i w_i e_i^2)

and along a path, whose residual moves nearly along its last step, ``e`` stays small.
``s_j`` comes from the first pass, ``Z`` from the last pass and ``a, e`` from residuals
in memory, so the bound of all ``p`` columns costs no read.

At strength ``lam`` a column outside the working set, with zero coefficient, is optimal
when ``|g_j| <= lam * l1u_j`` (the elastic net's KKT condition, ``l1u_j = l1_ratio pf_j
s_j``). A column whose bound is below that is **proven inactive without being read**.
The others (*uncertain*) have their exact gradient computed from their columns (through
the cache) and join the working set if they violate the condition; when too many are
uncertain, one pass refreshes the checkpoint instead. The strong rule (Tibshirani et
al. 2012) uses the same bound to choose which columns to read: those with ``bound_j >=
l1u_j (2 lam - lam_prev)``, whose exact gradients then decide the strong set.
"""

from __future__ import annotations

import numpy as np

from ..engine.kernels.certify import kkt_scan

__all__ = ["GradientBound", "exact_violators", "directions", "BOUND_SLACK"]

#: Relative slack on the bound: a column within rounding of its threshold is read.
BOUND_SLACK = 1e-10


class GradientBound:
    """The bound ``|g_j(r0)| + s_j D(r)`` of one fit (module docstring).

    Parameters
    ----------
    g : ndarray of shape (p,)
        Exact gradients at ``r``.
    r : ndarray of shape (n,)
        The checkpoint residual.
    sd : ndarray of shape (p,)
        ``s_j`` (0 on excluded columns).
    w : ndarray of shape (n,)
    intercept : bool
    """

    def __init__(self, g, r, sd, w, intercept):
        self.sd = sd
        self.w = w
        self.intercept = intercept
        self.refresh(g, r)

    def refresh(self, g, r, Q=None, Z=None):
        """Make ``r`` the checkpoint, with exact gradients ``g``; ``Q`` (n, m) are
        directions (weighted-orthonormal, centred with an intercept) and ``Z`` (p, m)
        the gradients of ``Q``'s columns."""
        self.g = np.asarray(g, dtype=float).copy()
        self.abs_g = np.abs(self.g)
        self.r0 = r.copy()
        self.Q = np.zeros((r.size, 0)) if Q is None else Q
        self.Z = np.zeros((self.g.size, 0)) if Z is None else Z

    def split(self, r):
        """``(a, D)``: the coordinates of ``dr`` on the directions and the weighted norm of
        the rest (module docstring)."""
        dr = r - self.r0
        if self.intercept:
            dr -= float(np.dot(self.w, dr))
        a = self.Q.T @ (self.w * dr)
        e = dr - self.Q @ a
        return a, float(np.sqrt(max(float(np.dot(self.w, e * e)), 0.0)))

    def bound(self, r):
        """Upper bounds of ``|g_j(r)|`` for every column."""
        a, d = self.split(r)
        base = np.abs(self.g + self.Z @ a) if a.size and np.any(a != 0) else self.abs_g
        if d == 0.0:
            return base * (1.0 + BOUND_SLACK)
        return (base + self.sd * d) * (1.0 + BOUND_SLACK)

    def strong(self, r, l1u, lam, lam_prev, outside):
        """Columns in ``outside`` whose bound passes the strong rule's threshold."""
        return np.flatnonzero(outside & (self.bound(r) >= l1u * (2.0 * lam - lam_prev)))

    def uncertain(self, r, l1u, lam, outside):
        """Columns in ``outside`` the bound does not prove inactive at ``lam``."""
        return np.flatnonzero(outside & (self.bound(r) > l1u * lam))


def directions(steps, w, intercept):
    """The steps (columns of length n) centred (with an intercept) and made orthonormal in
    ``sum_i w_i u_i v_i``; steps already spanned are dropped."""
    out = []
    for d in steps:
        d = np.array(d, dtype=float)
        if intercept:
            d -= float(np.dot(w, d))
        size = float(np.sqrt(np.dot(w, d * d)))
        for q in out:
            d -= float(np.dot(w, q * d)) * q
        norm = float(np.sqrt(np.dot(w, d * d)))
        if norm > 1e-8 * size and norm > 0.0:
            out.append(d / norm)
    return np.column_stack(out) if out else np.zeros((w.size, 0))


def exact_violators(g, idx, lam, l1u, l2u, lo, hi, scale):
    """``(violators, largest)``: the columns ``idx`` (zero coefficients, exact gradients
    ``g``) that violate their KKT condition at ``lam``, and the largest violation in
    standardized units (``violation / scale_j``)."""
    m = idx.size
    if m == 0:
        return idx, 0.0
    out = np.empty(m, dtype=np.int64)
    vmax, nv = kkt_scan(np.ascontiguousarray(g), np.zeros(m), lam * l1u[idx], lam * l2u[idx],
                        lo[idx], hi[idx], np.ones(m, dtype=np.bool_), np.zeros(m, np.bool_),
                        scale[idx], out)
    return idx[out[:nv]], float(vmax)
