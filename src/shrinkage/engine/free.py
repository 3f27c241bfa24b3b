"""Free features: unpenalised features with an unbounded side, whose conjugate is the
indicator of ``Xc_j^T u = 0``.

The gaussian gap projects its dual point off them (:class:`FreeFeatures`, from the SVD of
their weighted centred columns: :func:`free_gram_pinv`); for the families certified by
KKT violations, and for data summarised in one pass, nearly collinear ones are named in a
:class:`~shrinkage.validation.DataWarning` (:func:`warn_collinear_free`,
:func:`warn_collinear_gram`), since no gradient-based certificate can see their
difference.
"""

from __future__ import annotations

import numpy as np

from ..user_warnings import warn_user
from ..validation import DataWarning
from .problem import column_label
from .recession import free_ray

__all__ = ["FREE_CONDITION_WARN", "FreeFeatures", "free_columns", "free_gram_pinv",
           "free_mask", "warn_collinear_free", "warn_collinear_gram", "warn_separating_free"]


def free_mask(unpenalised, lo, hi):
    """The free features: unpenalised, with at least one unbounded side."""
    return unpenalised & (np.isinf(lo) | np.isinf(hi))


def bounded_free(lo, hi, idx):
    """Which free features ``idx`` have a finite bound (they may rest on it), or None
    when none has: the gap kernel then compiles without that case
    (:func:`~shrinkage.engine.kernels.gap.relative_gap`)."""
    finite = np.isfinite(lo[idx]) | np.isfinite(hi[idx])
    return finite if finite.any() else None


class FreeFeatures:
    """The Gram pieces that project the dual point off free unpenalised features.

    Free features (unpenalised, with an unbounded side) have the indicator of
    ``Xc_j^T u = 0`` as conjugate. Computed once per fit: ``pinv`` (pseudo-inverse of
    their weighted Gram block), ``gall`` (``Xc^T W Xc_free``, zero on excluded rows) and
    ``cu = Xc_free^T W yc``; empty arrays when there are none. ``bounded`` marks the free
    features with a finite bound (which they may rest on), None when there are none: the
    kernels then compile without that rare case (about a second of a first fit).
    """

    def __init__(self, prob, yc):
        free = free_mask(prob.unpenalized, prob.lo, prob.hi)
        self.mask = free
        self.idx = np.flatnonzero(free).astype(np.int64)
        self.bounded = bounded_free(prob.lo, prob.hi, self.idx)
        u = self.idx.size
        if u == 0:
            self.pinv = np.zeros((0, 0))
            self.gall = np.zeros((prob.p, 0))
            self.cu = np.zeros(0)
            return
        Xu = free_columns(prob, self.idx)
        WXu = prob.w[:, None] * Xu
        self.pinv = free_gram_pinv(Xu * np.sqrt(prob.w)[:, None], self.idx)[0]
        gall = np.asarray(prob.X.T @ WXu)
        if prob.fit_intercept:
            gall -= np.outer(prob.xm, WXu.sum(axis=0))
        gall[prob.excluded] = 0.0
        self.gall = np.ascontiguousarray(gall)
        self.cu = Xu.T @ (prob.w * yc)

    def arrays(self):
        """``(mask, idx, pinv, gall, cu, bounded)``: the pieces as the kernels take them
        (``mask`` shape (p,) bool, ``idx`` (u,) int64, ``pinv`` (u, u), ``gall`` (p, u),
        ``cu`` (u,), ``bounded`` (u,) bool or None)."""
        return self.mask, self.idx, self.pinv, self.gall, self.cu, self.bounded


def free_columns(prob, idx):
    """The columns ``idx`` of X as a dense array, centred at ``prob.xm`` (the weighted
    means, or zeros for a fit that centres nothing)."""
    Xu = prob.X[:, idx]
    Xu = Xu.toarray() if hasattr(Xu, "toarray") else np.asarray(Xu)
    return Xu - prob.xm[idx]


#: at most this many features are named in :func:`warn_separating_free`'s warning
NAMED_AT_MOST = 5


def warn_separating_free(prob, names, coef, intercept, offset):
    """Name, in a :class:`DataWarning`, the unpenalised features along which a binomial or
    poisson loss decreases for ever (:func:`~.recession.free_ray`: with the intercept,
    they separate some rows of the response, or push zero counts towards a mean of 0).

    The penalty of every other feature stays put along that ray, so the fit has no
    minimiser at any strength. The solver still meets its tolerance: the gradient
    vanishes along the ray, and it stops at an arbitrary point of it (an unpenalised
    indicator of one row of a 300 x 20 binomial design: 9.3 at the first strength, 64.8
    at the last, every strength certified). The certificates hold; those coefficients,
    and the predictions of the rows they separate, mean nothing. ``coef, intercept`` are a
    converged fit's (raw units), whose residual usually proves there is no ray without a
    linear program (:func:`~.recession.ray_excluded`).
    """
    if prob.family.name not in ("binomial", "poisson"):
        return  # (the families whose rays engine.recession decides)
    eta = prob.X @ coef + intercept + (0.0 if offset is None else offset)
    ray = free_ray(prob, np.asarray(eta).ravel())
    if ray is None:
        return
    label = column_label(names)
    order = ray.features[np.argsort(-np.abs(ray.direction))]
    named = ", ".join(label(j) for j in order[:NAMED_AT_MOST])
    more = f" and {order.size - NAMED_AT_MOST} more" if order.size > NAMED_AT_MOST else ""
    warn_user(
        f"unpenalised features {named}{more} (with the intercept) separate {ray.rows} "
        f"row{'' if ray.rows == 1 else 's'} of y: the {prob.family.name} likelihood has no "
        "maximiser along them at any strength, so their coefficients stop wherever the "
        "tolerance is met on the way "
        "(certified, and meaningless); give them a penalty factor, or drop them",
        DataWarning)


def warn_collinear_free(prob):
    """Name nearly collinear free unpenalised features (:func:`free_gram_pinv`'s warning)
    for the families certified by KKT violations.

    Their certificate cannot see such a pair: along the columns' difference the gradient
    is the difference's size times the residual's correlation with it, below any
    tolerance, while the objective there may still be far from its minimum (binomial,
    two columns differing by 1e-8: 0.13 nats per row above the unpenalised optimum,
    certified 2e-8). The gaussian gap sees it (:class:`FreeFeatures`).
    """
    idx = np.flatnonzero(free_mask(prob.unpenalized, prob.lo, prob.hi))
    if idx.size > 1:
        free_gram_pinv(free_columns(prob, idx) * np.sqrt(prob.w)[:, None], idx)


#: Unpenalised features whose weighted centred columns have a condition number past this
#: are named in a DataWarning: their split rests on differences at the 1e-7 level.
FREE_CONDITION_WARN = 1e7


def free_gram_pinv(A, idx):
    """``((A^T A)^+, condition number)`` from the thin SVD of ``A`` (the free features'
    weighted, centred columns), keeping singular values above ``eps max(n, u)`` of the
    largest.

    The Gram itself squares them: a pair of unpenalised columns differing by 1e-8 gives
    an eigenvalue ratio of 1e-16, which a pseudo-inverse of the Gram drops, so the dual
    point was projected off a different problem and the gap certified a point 3.6e-2 of
    the null objective above the optimum. From the SVD that direction is kept (the
    certificate is then honest: such a fit reads unconverged where coordinate descent
    cannot resolve it), and only directions at the rounding of ``A`` are dropped.
    """
    _, d, Vt = np.linalg.svd(A, full_matrices=False)
    keep = d > np.finfo(float).eps * max(A.shape) * (d[0] if d.size else 0.0)
    cond = d[0] / d[keep][-1] if keep.any() else 1.0
    if cond > FREE_CONDITION_WARN:
        _warn_collinear(idx[np.argsort(-np.abs(Vt[np.flatnonzero(keep)[-1]]))[:2]],
                        f"condition number {cond:.1e} of the unpenalised columns")
    V = Vt[keep].T
    return (V / (d[keep] ** 2)) @ V.T, cond


def warn_collinear_gram(G, idx, names=None):
    """:func:`free_gram_pinv`'s warning from the free features' weighted Gram block ``G``
    alone (data summarised in one pass): their columns' condition number is the square
    root of ``G``'s, and past ``1 / sqrt(eps)`` the Gram has lost their difference."""
    e, V = np.linalg.eigh(G)
    top = max(float(e[-1]), 0.0)
    if not top > 0.0:
        return
    lost = e[0] <= np.finfo(float).eps * G.shape[0] * top
    cond = np.inf if lost else float(np.sqrt(top / e[0]))
    if cond > FREE_CONDITION_WARN:
        said = ("their difference lies below what X^T X resolves" if lost else
                f"condition number {cond:.1e} of the unpenalised columns")
        _warn_collinear(idx[np.argsort(-np.abs(V[:, 0]))[:2]], said, names)


def _warn_collinear(pair, said, names=None):
    label = column_label(names)
    warn_user(
        f"unpenalised features {label(pair[0])} and {label(pair[1])} are nearly collinear "
        f"({said}): the fit must resolve their difference at that scale, where coordinate "
        "descent crawls and a KKT certificate cannot see what is left; drop one of them or "
        "give them a penalty factor", DataWarning)
