"""Penalties on groups of coefficients: the group elastic net and the sparse-group lasso.

For a partition of the features into groups ``g`` (``feature_groups``)::

    P(b) = lam * sum_g pf_g * ( l1_ratio * ((1 - group_mix) * ||s_g b_g||_2
                                            + group_mix * ||s_g b_g||_1)
                                + (1 - l1_ratio) / 2 * ||s_g b_g||_2^2 )

``l1_ratio`` keeps its meaning everywhere (the L1 / L2 mix of the elastic net; here the
"L1" part is the non-smooth one); ``group_mix`` in [0, 1] moves the non-smooth part from
the group norm (0: the group lasso / group elastic net, adelie's ``grpnet`` and grpreg's
``grLasso``) to the L1 norm inside the groups (1: the lasso, every coefficient on its
own); in between it is the sparse-group lasso of Simon et al. (2013). ``pf_g`` defaults to
``sqrt(|g|)`` (adelie's and grpreg's convention); ``pf_g = 0`` leaves group ``g``
unpenalised. For a coefficient matrix (one column per response) each group's block is
the group's rows across all responses.

**Standardization** is per column, as for every other penalty: ``s_g b_g`` is the
group's coefficients times the columns' weighted standard deviations. So singleton
groups are exactly the lasso, coefficients keep the units of every other path, and a
group's penalty does not depend on how its columns are correlated. (grpreg instead
orthonormalizes each group, which makes its block update a closed form; shrinkage solves
the block exactly for any group Hessian, see ``shrinkage.engine.kernels.groups``, so
it has no need to change the penalty's geometry.)

The penalty declares ``block = "group"``; the path driver pairs it with the group solver
(``shrinkage.engine.groups``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_scalar
from .penalties import ElasticNet, PenaltyArrays, scaled_factors

__all__ = ["GroupElasticNet", "block_tolerance_scales", "build_penalty", "check_feature_groups",
           "group_dual_norm", "group_extra", "group_kkt_violation", "group_penalty_value",
           "group_sq_norms", "violation_in_units"]


def check_feature_groups(feature_groups, p):
    """``(order, starts, labels)`` of a partition of ``p`` features.

    ``feature_groups`` is an array of one label per feature (groups in the order of the
    sorted unique labels) or a list of index arrays (groups in list order) covering every
    feature exactly once. ``order[starts[g]:starts[g + 1]]`` are group g's features.
    """
    if isinstance(feature_groups, (list, tuple)) and len(feature_groups) and all(
            np.ndim(g) == 1 for g in feature_groups):
        parts = [np.asarray(g) for g in feature_groups]
        for k, part in enumerate(parts):
            if part.size == 0:
                raise ValueError(f"feature_groups[{k}] is empty; every group needs a feature")
            if part.dtype.kind not in "iu":
                raise TypeError(f"feature_groups[{k}] must hold integer column indices, got "
                                f"dtype {part.dtype}")
        order = np.concatenate(parts).astype(np.int64)
        if np.any((order < 0) | (order >= p)):
            raise ValueError(f"feature_groups has indices outside [0, {p})")
        seen = np.bincount(order, minlength=p)
        if np.any(seen > 1):
            raise ValueError(f"feature {int(np.flatnonzero(seen > 1)[0])} is in more than "
                             "one group; groups must not overlap")
        if np.any(seen == 0):
            raise ValueError(f"feature {int(np.flatnonzero(seen == 0)[0])} is in no group; "
                             "give every feature a group (a group of one is allowed)")
        sizes = np.array([part.size for part in parts])
        labels = np.arange(len(parts))
    else:
        lab = np.asarray(feature_groups)
        if lab.ndim != 1 or lab.shape[0] != p:
            raise ValueError(f"feature_groups must have one label per feature ({p}), got "
                             f"shape {lab.shape}")
        if lab.dtype.kind == "f" and np.any(np.isnan(lab)):
            raise ValueError(f"feature_groups has NaN labels (first at feature "
                             f"{int(np.flatnonzero(np.isnan(lab))[0])}); give every "
                             "feature a group")
        if lab.dtype.kind == "O" and any(v is None or (isinstance(v, float) and v != v)
                                         for v in lab):
            raise ValueError("feature_groups has missing labels (None/NaN); give every "
                             "feature a group")
        labels, codes = np.unique(lab, return_inverse=True)
        order = np.argsort(codes, kind="stable").astype(np.int64)
        sizes = np.bincount(codes, minlength=labels.size)
    starts = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    return order, starts, labels


def _reduce(values, order, starts):
    """Per-group sums of ``values`` (p,) over the grouped order."""
    return np.add.reduceat(values[order], starts[:-1])


def group_sq_norms(A, order, starts):
    """``||A_g||^2`` per group for A of shape (p,) or (p, K)."""
    sq = A * A if A.ndim == 1 else np.sum(A * A, axis=1)
    return _reduce(sq, order, starts)


def _expand(per_group, order, starts, p):
    """Per-feature copy of a per-group array."""
    out = np.empty(p)
    out[order] = np.repeat(per_group, np.diff(starts))
    return out


def _soft_sq(A, thr_f):
    """``sum_k max(|A_jk| - thr_j, 0)^2`` per feature."""
    thr = thr_f if A.ndim == 1 else thr_f[:, None]
    s = np.maximum(np.abs(A) - thr, 0.0)
    return s * s if A.ndim == 1 else np.sum(s * s, axis=1)


def group_dual_norm(G, order, starts, c_in, c_g):
    """Per group, the smallest ``lam`` at which a zero block satisfies its optimality
    condition for the (standardized) gradient ``G``: ``||S(G_g, lam c_in)|| <= lam c_g``.
    Exact for the group norm alone; otherwise the root of a decreasing function by
    bisection to rounding. Unpenalised groups give inf."""
    p = G.shape[0]
    if order.size == 0:
        return np.zeros(0)
    gnorm = np.sqrt(group_sq_norms(G, order, starts))
    absG = np.abs(G) if G.ndim == 1 else np.max(np.abs(G), axis=1)
    gmax = np.maximum.reduceat(absG[order], starts[:-1])
    out = np.full(c_g.size, np.inf)
    only_g = (c_in == 0) & (c_g > 0)
    out[only_g] = gnorm[only_g] / c_g[only_g]
    only_in = (c_in > 0) & (c_g == 0)
    out[only_in] = gmax[only_in] / c_in[only_in]
    both = (c_in > 0) & (c_g > 0)
    if np.any(both):
        lo = np.zeros(c_g.size)
        hi = np.where(both, gmax / np.where(c_in > 0, c_in, 1.0), 0.0)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            sq = _reduce(_soft_sq(G, _expand(mid * c_in, order, starts, p)), order, starts)
            pos = np.sqrt(sq) > mid * c_g
            lo = np.where(pos, mid, lo)
            hi = np.where(pos, hi, mid)
            if np.all(hi[both] - lo[both] <= 4 * np.finfo(float).eps * hi[both]):
                break
        out[both] = hi[both]
    return out


def group_kkt_violation(G, B, order, starts, l1g, l1in, l2g, unit=None):
    """Distance of every group from its optimality condition (per group, >= 0).

    ``G`` is minus the gradient of the loss and ``B`` the coefficients, both standardized,
    shape (p,) or (p, K); ``l1g, l1in, l2g`` per group include ``lam``. Block g is optimal
    when ``G_g - l2 B_g`` lies in ``l1g * d||B_g|| + l1in * d||B_g||_1``. ``unit`` (p,),
    optional: per-feature factors that take a standardized violation to the
    certificate's unit (:func:`~shrinkage.model.groups.violation_in_units`).
    """
    p = G.shape[0]
    vec = G.ndim == 1
    G2 = G[:, None] if vec else G
    B2 = B[:, None] if vec else B
    l2f = _expand(l2g, order, starts, p)[:, None]
    inf = _expand(l1in, order, starts, p)[:, None]
    Z = G2 - l2f * B2
    bnorm = np.sqrt(group_sq_norms(B2, order, starts))
    bnf = _expand(bnorm, order, starts, p)[:, None]
    zero_g = bnorm == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        U = Z - _expand(l1g, order, starts, p)[:, None] * np.where(bnf > 0, B2 / bnf, 0.0)
    dev = np.where(B2 != 0, U - inf * np.sign(B2), np.maximum(np.abs(U) - inf, 0.0))
    s = np.maximum(np.abs(Z) - inf, 0.0)
    return violation_in_units(dev, s, l1g, zero_g, order, starts, unit)


def violation_in_units(dev, S, l1g, zero_g, order, starts, unit=None):
    """Per group: ``||dev_g||`` where the group is non-zero, ``max(||S_g|| - l1g, 0)``
    where it is zero (``dev, S``: (p, K), standardized).

    With ``unit`` (p,) each feature's entries are first multiplied by its factor (the
    ratio of the penalty's scale to the certificate's, ``engine.problem.Problem``): the
    non-zero group's residual is measured as ``||unit_g * dev_g||``, the zero group's
    excess along the direction it would move, times ``||unit_g * S_g|| / ||S_g||``. A
    column on a huge scale then cannot hide the others' violations behind its own.
    """
    sq = _reduce(np.sum(S * S, axis=1), order, starts)
    excess = np.maximum(np.sqrt(sq) - l1g, 0.0)
    if unit is None:
        return np.where(zero_g, excess, np.sqrt(_reduce(np.sum(dev * dev, axis=1), order,
                                                        starts)))
    u = unit[:, None]
    dev = u * dev
    usq = _reduce(np.sum((u * S) ** 2, axis=1), order, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(sq > 0, np.sqrt(usq / sq), 1.0)
    return np.where(zero_g, excess * ratio,
                    np.sqrt(_reduce(np.sum(dev * dev, axis=1), order, starts)))


def block_tolerance_scales(G, unit, candidates, order, starts, grad_scale):
    """Per group, the reference that makes a block solve's tolerance (a violation in the
    penalty's units) mean the same as the certificate's per-unit one for the group's
    finest-unit feature: ``max_j |G_j| unit_j`` over the candidates (the null gradient per
    unit of column spread) divided by ``max_{j in g} unit_j``.

    With every ``unit`` 1 (the defaults) each group gets ``grad_scale`` itself. Otherwise
    one column on a huge scale set a tolerance, in its own units, under which every other
    group's blocks were taken as solved: the gaussian sparse-group lasso stopped sweeping
    with most strengths unconverged, at gaps up to 300 times its tolerance.
    """
    n_groups = starts.size - 1
    if np.all(unit == 1.0):
        return np.full(n_groups, grad_scale)
    g = np.abs(G) if G.ndim == 1 else np.max(np.abs(G), axis=1)
    ref = float(np.max(g[candidates] * unit[candidates], initial=0.0)) or 1.0
    finest = np.maximum.reduceat(unit[order], starts[:-1]) if order.size else np.ones(0)
    return ref / finest


def group_penalty_value(B, order, starts, l1g, l1in, l2g):
    """``sum_g l1g ||B_g|| + l1in ||B_g||_1 + l2g / 2 ||B_g||^2`` (standardized B)."""
    sq = group_sq_norms(B, order, starts)
    a1 = np.abs(B) if B.ndim == 1 else np.sum(np.abs(B), axis=1)
    return float(np.dot(l1g, np.sqrt(sq)) + np.dot(l1in, _reduce(a1, order, starts))
                 + 0.5 * np.dot(l2g, sq))


@dataclass(frozen=True, eq=False)
class GroupElasticNet:
    """The group elastic net / sparse-group lasso on a partition of the features.

    Build it with :meth:`from_groups`. Per unit ``lam`` each group has ``l1g = l1_ratio *
    pf_g * (1 - group_mix)`` (group norm), ``l1in = l1_ratio * pf_g * group_mix`` (L1
    inside) and ``l2g = (1 - l1_ratio) * pf_g`` (squared norm), acting on standardized
    coefficients.
    """

    shape = "elasticnet"  # the group elastic net: no folded-concave shape
    order: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    pf: np.ndarray
    l1_ratio: float = 1.0
    group_mix: float = 0.0

    block = "group"
    shape = "elasticnet"  # the elastic net on group norms (solvers read block and shape)
    group_responses = True

    @classmethod
    def from_groups(cls, feature_groups, p, l1_ratio=1.0, group_mix=0.0, penalty_factor=None):
        """Check the partition and the factors (one per group, default ``sqrt(|g|)``)."""
        a = check_scalar(l1_ratio, "l1_ratio", lo=0.0, hi=1.0)
        mix = check_scalar(group_mix, "group_mix", lo=0.0, hi=1.0)
        order, starts, labels = check_feature_groups(feature_groups, p)
        G = starts.size - 1
        if penalty_factor is None:
            pf = np.sqrt(np.diff(starts).astype(float))
        else:
            pf = np.asarray(penalty_factor, dtype=float)
            if pf.ndim == 0:
                pf = np.full(G, float(pf))
            if pf.shape != (G,):
                raise ValueError(
                    f"with feature_groups, penalty_factor has one entry per group ({G} "
                    "groups: the sorted labels, or the list's order), got shape "
                    f"{pf.shape}")
            if not np.all(np.isfinite(pf)) or np.any(pf < 0):
                raise ValueError("penalty_factor must be finite and >= 0 (0 leaves a group "
                                 "unpenalised)")
        return cls(order, starts, labels, pf, float(a), float(mix))

    @property
    def n_groups(self):
        """Number of groups in the partition."""
        return self.starts.size - 1

    def unit_arrays(self):
        """``(l1g, l1in, l2g)`` per group per unit ``lam``."""
        a, mix = self.l1_ratio, self.group_mix
        return a * self.pf * (1.0 - mix), a * self.pf * mix, (1.0 - a) * self.pf

    def lower_arrays(self, p, scale):
        """Per-feature ``PenaltyArrays`` (zero where a group is unpenalised; the
        group solver reads :meth:`unit_arrays`), no bounds."""
        if self.order.size != p:
            raise ValueError(f"feature_groups cover {self.order.size} features, X has {p}")
        pf = _expand(self.pf, self.order, self.starts, p)
        return PenaltyArrays(*scaled_factors(self.l1_ratio, pf, scale),
                             np.full(p, -np.inf), np.full(p, np.inf))

    def lam_max(self, grad, arrays, penalized, scale):
        """Smallest ``lam`` with every penalised group at zero, from the gradient ``grad``
        (original scale, (p,) or (p, K)) at the null model: the largest group dual norm."""
        cand = np.asarray(penalized, dtype=bool)
        G = grad / (scale if grad.ndim == 1 else scale[:, None])
        G = np.where(cand if G.ndim == 1 else cand[:, None], G, 0.0)
        l1g, l1in, _ = self.unit_arrays()
        if self.l1_ratio <= 0.0:
            raise ValueError("l1_ratio = 0 with feature_groups is a ridge, which groups do "
                             "not change: use penalty_factor without feature_groups")
        dn = group_dual_norm(G, self.order, self.starts, l1in, l1g)
        dn = dn[np.isfinite(dn)]
        lam_max = float(np.max(dn, initial=0.0)) * (1.0 + 1e-10)
        return lam_max if lam_max > 0 else 1.0


def group_extra(penalty):
    """What a :class:`~shrinkage.results.Path` records of a group penalty (``extra``):
    the partition (``group_order``, ``group_starts``), the group labels as strings, the
    factors and ``group_mix``; an empty dict for any other penalty."""
    if getattr(penalty, "block", None) != "group":
        return {}
    return {"group_order": penalty.order.copy(), "group_starts": penalty.starts.copy(),
            "group_labels": np.asarray([str(v) for v in penalty.labels]),
            "group_penalty_factor": penalty.pf.copy(), "group_mix": float(penalty.group_mix)}


def build_penalty(family, p, l1_ratio, penalty_factor, lower, upper, multinomial_grouped,
                  feature_groups, group_mix):
    """The elastic net, or the group penalty when ``feature_groups`` is given (or the
    family's response is a matrix of real values: one group per feature's row)."""
    implied = feature_groups is None and family.response == "matrix" and family.quadratic
    if implied:
        feature_groups = np.arange(p)
    if feature_groups is None:
        if group_mix != 0.0:
            raise ValueError("group_mix needs feature_groups")
        return ElasticNet(l1_ratio, penalty_factor, lower, upper,
                          group_responses=bool(multinomial_grouped))
    if family.response == "matrix" and not family.quadratic:
        raise ValueError(f"feature_groups are not supported for the {family.name} family "
                         "(gaussian, binomial, poisson and mgaussian are)")
    if lower is not None or upper is not None:
        raise ValueError(f"lower/upper bounds are not supported for the {family.name} family "
                         "(its penalty groups each feature's row across the responses)"
                         if implied else
                         "lower/upper bounds are not supported with feature_groups")
    return GroupElasticNet.from_groups(feature_groups, p, l1_ratio, group_mix, penalty_factor)
