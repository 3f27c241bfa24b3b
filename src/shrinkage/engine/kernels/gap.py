"""The gaussian duality gap from inner products, with or without free features.

For the penalised least-squares problem with residual ``r = yc - Xc b`` and weights ``w``
(summing to one), the dual point is ``u = t * w * r`` scaled by the largest ``t`` in
(0, 1] that keeps it feasible::

    P(b) = 1/2 sum_i w_i r_i^2 + sum_j (l1_j |b_j| + l2_j / 2 b_j^2)
    D(u) = sum_i u_i yc_i - 1/2 sum_i u_i^2 / w_i - sum_j conj_j(Xc_j^T u)

Everything comes from ``a = sum_i w_i r_i yc_i``, ``bq = sum_i w_i r_i^2`` and the
gradient ``g = Xc^T W r``; the gap is returned relative to ``obj_scale`` (the null
objective).

Unpenalised, unbounded ("free") features have the indicator of ``Xc_j^T u = 0`` as their
conjugate: the dual point is first projected off them in the metric ``sum_i u_i^2 / w_i``,
using their Gram block (pseudo-inverse ``pinv``), their Gram columns against every
feature (``gall``) and ``cu = Xc_free^T W yc``, all computed once per fit.
"""

import numpy as np
from numba import njit

from .active_set import cholesky_substitute
from .certify import dot, dual_terms
from .concave_factor import factor_border
from .flags import FASTMATH, INNER, KERNEL


@njit(**INNER, fastmath=FASTMATH)
def residual_terms(w, r, yc):
    """``(sum_i w_i r_i yc_i, sum_i w_i r_i^2)``."""
    a = 0.0
    bq = 0.0
    for i in range(r.shape[0]):
        wr = w[i] * r[i]
        a += wr * yc[i]
        bq += wr * r[i]
    return a, bq


@njit(**KERNEL, fastmath=FASTMATH)
def covariance_residual_terms(b, c, g, yw):
    """``(sum w r yc, sum w r^2)`` from cached inner products, without the residual.

    With ``c = Xc^T W yc``, ``g = c - G b`` and ``yw = sum w yc^2``: ``sum w r yc =
    yw - b.c`` and ``sum w r^2 = yw - 2 b.c + b.G b = yw - b.c - b.g`` (clipped at 0
    against rounding).
    """
    bc = dot(b, c)
    bq = yw - bc - dot(b, g)
    return yw - bc, (bq if bq > 0.0 else 0.0)


@njit(**INNER, fastmath=FASTMATH)
def _clipped(gap):
    """A gap below zero (rounding) is zero; a NaN gap (a non-finite residual or gradient)
    is infinite: unconverged, never clipped to a certificate of zero."""
    if gap != gap:
        return np.inf
    return gap if gap > 0.0 else 0.0


@njit(**KERNEL, fastmath=FASTMATH)
def relative_gap(a, bq, g, b, l1, l2, lo, hi, mask, obj_scale, free, free_idx, pinv, gall,
                 cu, bounded):
    """``(P - D) / obj_scale`` over the features in ``mask`` (see the module docstring).

    ``free`` marks the free features (``free_idx`` their indices; empty when none);
    ``bounded`` is None when none of them has a finite bound (so none can rest on one),
    which prunes :func:`_interior_projection` from the compiled code.
    """
    u = free_idx.shape[0]
    if u == 0:
        pen, t, conj = dual_terms(g, b, l1, l2, lo, hi, mask)
        gap = 0.5 * bq + pen - (t * a - 0.5 * t * t * bq - conj)
        return _clipped(gap) / obj_scale
    # the dual point is projected off the free features strictly inside their box; one
    # resting on a finite bound keeps that bound's conjugate (_interior_projection)
    z = np.zeros(u)
    interior = np.ones(u, dtype=np.bool_)
    resting = False
    if bounded is not None:  # a None-typed argument prunes this branch and its compile
        for s in range(u):
            j = free_idx[s]
            interior[s] = lo[j] < b[j] < hi[j]
            resting = resting or not interior[s]
        if resting:
            _interior_projection(g, free_idx, gall, interior, z)
    if not resting:
        for s in range(u):
            for v in range(u):
                z[s] += pinv[s, v] * g[free_idx[v]]
    p = g.shape[0]
    a_d = a
    bq_d = bq
    for s in range(u):
        a_d -= z[s] * cu[s]
        bq_d -= z[s] * g[free_idx[s]]
    gp = g.copy()
    keep = np.empty(p, dtype=np.bool_)
    for j in range(p):
        for s in range(u):
            gp[j] -= gall[j, s] * z[s]
        keep[j] = mask[j] and not free[j]
    for s in range(u):
        if not interior[s]:
            keep[free_idx[s]] = mask[free_idx[s]]
    pen, t, conj = dual_terms(gp, b, l1, l2, lo, hi, keep)
    gap = 0.5 * bq + pen - (t * a_d - 0.5 * t * t * bq_d - conj)
    return _clipped(gap) / obj_scale


@njit(**INNER, fastmath=FASTMATH)
def _interior_projection(g, free_idx, gall, interior, z):
    """``z`` (zero on entry) on the free features with ``interior``: the projection of the
    dual point off their columns, ``z = G^+ g`` over them, when some free feature rests
    on its finite bound.

    Projecting off a feature that rests on its bound forces ``Xc_j^T u = 0``, a dual
    point that cannot reach the optimum (there the bound's multiplier is not zero): the
    gap stayed at its value (3e-2 to 0.5 of the null objective on fuzzed fits with an
    unpenalised feature held at ``upper`` or ``lower``), and every strength read
    unconverged. The interior columns' Gram block (from ``gall``) is factored by
    bordering; a column whose pivot is below ``1e-12`` of the largest diagonal (a
    duplicate, within rounding, of those before it) adds no direction and gets no
    weight, as the pseudo-inverse of :class:`~shrinkage.engine.free.FreeFeatures` drops
    it.
    """
    u = free_idx.shape[0]
    L = np.zeros((u, u))
    kept = np.empty(u, dtype=np.int64)
    nk = np.int64(0)
    dmax = 0.0
    for s in range(u):
        if interior[s]:
            dmax = max(dmax, gall[free_idx[s], s])
    for s in range(u):
        if not interior[s]:
            continue
        row = L[nk]
        for q in range(nk):
            row[q] = gall[free_idx[kept[q]], s]
        if factor_border(L, nk, row, gall[free_idx[s], s], 1e-12 * dmax):
            kept[nk] = s
            nk += 1
    y = np.empty(nk)
    for q in range(nk):
        y[q] = g[free_idx[kept[q]]]
    cholesky_substitute(L, nk, y)
    for q in range(nk):
        z[kept[q]] = y[q]
