"""The KKT certificate weighted by each coordinate's loss of curvature (the binomial default).

A KKT violation ``v_j`` leaves coefficient ``j`` about ``v_j / h_j`` from its solution,
``h_j`` the loss's curvature along the (standardized) feature at the current point. A
plain certificate bounds ``v_j`` alone, so the same tolerance leaves a coefficient whose
curvature fell a hundredfold (rows fitted nearly perfectly: a rare one-hot level at the
deep end of a path, a nearly separable design) a hundred times further from its solution
than one at the null model's curvature. Those are the strengths where loosely solved
cross-validation curves moved (``benchmarks/default_tolerance.py``). Weighting each
violation by ``sqrt(h_null / h_j)`` (at least 1, the square root of the suboptimality the
coordinate leaves against the null curvature's) asks for accuracy where the curvature fell,
and nowhere else.

Unpenalised features (``l1_j = l2_j = 0``) keep weight 1: their curvature collapses where
they separate the classes, a fit with no finite solution, and weights there asked for
digits no descent could reach (an unpenalised feature that separates y alone left 4 of 5
strengths unconverged at the cap of 100 Newton steps, which the plain certificate
passed). The strength a path selects trades off the penalised coefficients.
"""

import math

from numba import njit

from ...model.glm_math import mean_var
from .cd import weighted_moments
from .certify import violation
from .flags import FASTMATH, INNER, KERNEL

__all__ = ["curvature_weighted_kkt", "MAX_WEIGHT"]

#: the largest weight: a coordinate whose curvature fell below ``1 / MAX_WEIGHT^2`` of the
#: null model's (rows separated, the coefficient running off) asks no more than this
MAX_WEIGHT = 100.0


@njit(**INNER, inline="always")
def _fill_curvatures(fam, eta, w, var):
    """Fill ``var`` with ``w_i var(eta_i)``."""
    for i in range(eta.shape[0]):
        var[i] = w[i] * mean_var(fam, eta[i])[1]


@njit(**KERNEL, fastmath=FASTMATH)
def curvature_weighted_kkt(fam, X, xd, xi, xp, sparse, eta, w, xm, s2, g, b, l1, l2, lo, hi,
                           cand, scale, h_null, var, have_var, cols, vs, xv, h):
    """``(max_j v_j / scale_j * min(sqrt(max(h_null / h_j, 1)), MAX_WEIGHT), max_j v_j /
    scale_j)`` over the candidates ``cand`` with a KKT violation ``v_j > 0`` (``g`` exact
    at ``eta``; weight 1 where ``l1_j = l2_j = 0``), where ``h_j = sum_i w_i var(eta_i)
    (x_ij - xm_j)^2 / s2_j``; ``var`` holds ``w_i var(eta_i)`` where ``have_var`` (the IRLS
    weights at ``eta``), else is n scratch filled here; ``cols`` (int), ``vs``, ``xv``,
    ``h`` are p scratch.

    Curvatures are read (by :func:`~shrinkage.engine.kernels.cd.weighted_moments`, one
    pass) only for the penalised columns whose weighted violation could exceed the plain
    maximum (``v_j MAX_WEIGHT`` above it; a zero coefficient inside its threshold has no
    violation), so at a solved strength this is at most a pass over the active columns."""
    plain = 0.0
    for j in range(g.shape[0]):
        vs[j] = 0.0
        if cand[j]:
            vs[j] = violation(g[j], b[j], l1[j], l2[j], lo[j], hi[j]) / scale[j]
            plain = max(plain, vs[j])
    m = 0
    for j in range(g.shape[0]):
        # (unpenalised columns keep weight 1: their violations are in ``plain``)
        if vs[j] * MAX_WEIGHT > plain and (l1[j] != 0.0 or l2[j] != 0.0):
            cols[m] = j
            m += 1
    top = plain
    if m == 0:
        return top, plain
    if not have_var:
        _fill_curvatures(fam, eta, w, var)
    weighted_moments(X, xd, xi, xp, sparse, var, xm, cols, m, xv, h)
    for t in range(m):
        j = cols[t]
        hj = h[j] / s2[j]
        weight = MAX_WEIGHT
        if hj * MAX_WEIGHT * MAX_WEIGHT > h_null:
            weight = max(math.sqrt(h_null / hj), 1.0)
        top = max(top, vs[j] * weight)
    return top, plain
