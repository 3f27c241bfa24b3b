"""Group MCP and group SCAD: the folded-concave penalties on group norms (grpreg's
``grMCP``, ``grSCAD``).

For a partition of the features into groups ``g`` (``feature_groups``), in the
per-column standardized units of every other penalty (``t_g = s_g b_g``)::

    P(b) = sum_g rho(||t_g||_2; lam * l1_ratio * pf_g, gamma)
                 + lam * (1 - l1_ratio) * pf_g / 2 * ||t_g||^2

with ``rho`` MCP's or SCAD's (:mod:`shrinkage.model.concave`) and ``pf_g`` defaulting to
``sqrt(|g|)``. Singleton groups with unit factors are the single-coefficient MCP/SCAD;
``gamma -> inf`` is the group lasso (group elastic net). Near zero ``rho`` has the slope
``lam * l1_ratio * pf_g`` of the group norm, so ``lam_max`` is the group lasso's.

First-order conditions, ``G_g = -d(loss)/d(t_g)`` (standardized), ``l1_g = lam l1_ratio
pf_g``, ``l2_g = lam (1 - l1_ratio) pf_g``:

* ``t_g != 0``: ``G_g - l2_g t_g - rho'(||t_g||) t_g / ||t_g|| = 0``;
* ``t_g = 0``: ``||G_g|| <= l1_g`` (the Clarke subdifferential of ``rho(||.||)`` at 0 is
  the ball of radius ``rho'(0+) = l1_g``).

:func:`group_concave_violation` is the distance from them, per group.

**grpreg.** grpreg orthonormalizes each group (``X_g^T X_g / n = I`` after a QR of the
group's columns) and applies ``rho`` to the norm of the orthonormalized coefficients, with
``lambda_g = lambda sqrt(K_g)`` (``group.multiplier``) and the same ``gamma``: the same
objective as this one where every group's standardized columns are uncorrelated, and in
general a different penalty geometry (as for the group lasso, see
:mod:`shrinkage.model.groups`). grpreg's ``alpha`` is ``l1_ratio``; its default ``gamma``
for ``grSCAD`` is 4 (ncvreg's and ours: 3.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .concave import ConcaveKind, check_penalty, concave_slope, concave_threshold, concave_value
from .groups import GroupElasticNet, group_sq_norms, violation_in_units

__all__ = ["GroupFoldedConcave", "group_concave_threshold", "group_concave_value",
           "group_concave_violation"]


def _norms(B, order, starts):
    return np.sqrt(group_sq_norms(B, order, starts))


def _expand(per_group, order, starts, p):
    out = np.empty(p)
    out[order] = np.repeat(per_group, np.diff(starts))
    return out


def group_concave_value(kind, gamma, B, order, starts, l1g, l2g):
    """``sum_g rho(||B_g||; l1g_g, gamma) + l2g_g / 2 ||B_g||^2`` (standardized ``B``)."""
    nrm = _norms(B, order, starts)
    return float(np.sum(concave_value(kind, nrm, l1g, gamma)) + 0.5 * np.dot(l2g, nrm * nrm))


def group_concave_violation(kind, gamma, G, B, order, starts, l1g, l2g, unit=None):
    """Distance of every group from its first-order condition (per group, >= 0).

    ``G`` is minus the gradient of the loss and ``B`` the coefficients, both standardized,
    shape (p,) or (p, 1); ``l1g, l2g`` per group include ``lam``. A non-zero group:
    ``||G_g - l2g B_g - rho'(||B_g||) B_g / ||B_g||||``; a zero group:
    ``max(||G_g|| - l1g, 0)``; ``unit``: the certificate's unit per feature
    (:func:`~shrinkage.model.groups.violation_in_units`).
    """
    G2 = G.reshape(G.shape[0], -1)
    B2 = B.reshape(B.shape[0], -1)
    p = G2.shape[0]
    bn = _norms(B2, order, starts)
    slope = np.where(bn > 0, concave_slope(kind, bn, l1g, gamma), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        radial = np.where(bn > 0, slope / bn, 0.0)
    Z = G2 - (_expand(l2g, order, starts, p) + _expand(radial, order, starts, p))[:, None] * B2
    if unit is not None:
        return violation_in_units(Z, G2, l1g, bn == 0, order, starts, unit)
    moving = _norms(Z, order, starts)
    at_zero = np.maximum(_norms(G2, order, starts) - l1g, 0.0)
    return np.where(bn > 0, moving, at_zero)


def group_concave_threshold(kind, u, lam1, gamma, lam2=0.0, L=1.0):
    """``argmin_b L/2 ||b - u||^2 + rho(||b||; lam1, gamma) + lam2/2 ||b||^2`` (NumPy).

    The problem is radial: for a fixed norm ``r`` the best ``b`` points along ``u``, so
    the minimiser is ``b = u / ||u|| * r*`` with ``r*`` the univariate solution
    :func:`~shrinkage.model.concave.concave_threshold` of ``z = L ||u||``, ``v = L``
    (``r* = argmin_r (L + lam2)/2 r^2 - L ||u|| r + rho(r)``): the firm (MCP) or SCAD
    thresholding of the norm, the direction kept. The reference for the compiled block
    update of ``shrinkage.engine.kernels.group_concave``.
    """
    u = np.asarray(u, dtype=float)
    nrm = float(np.linalg.norm(u))
    if nrm == 0.0:
        return np.zeros_like(u)
    r = float(concave_threshold(kind, L * nrm, lam1, gamma, lam2, L))
    return u * (r / nrm)


@dataclass(frozen=True, eq=False)
class GroupFoldedConcave(ConcaveKind):
    """Group MCP or group SCAD with a ridge mix, on a partition of the features.

    Build it with :meth:`from_groups`. Per unit ``lam`` each group has ``l1g = l1_ratio *
    pf_g`` (the strength of ``rho`` on the group norm) and ``l2g = (1 - l1_ratio) * pf_g``
    (the squared norm), acting on standardized coefficients.
    """

    order: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    pf: np.ndarray
    kind: str
    gamma: float
    l1_ratio: float = 1.0

    block = "group"
    group_responses = False
    group_mix = 0.0  # no L1 part inside the groups

    @classmethod
    def from_groups(cls, feature_groups, p, kind, gamma, l1_ratio=1.0, penalty_factor=None):
        """Check the partition, the factors (one per group, default ``sqrt(|g|)``) and
        ``gamma`` (> 1 MCP, > 2 SCAD)."""
        name, g = check_penalty(kind, gamma)
        if name == "elasticnet":
            raise ValueError("GroupFoldedConcave needs kind='mcp' or 'scad'")
        if not l1_ratio > 0:
            raise ValueError(f"penalty={name!r} needs l1_ratio > 0 (l1_ratio=0 is the "
                             "ridge: use penalty='elasticnet')")
        base = GroupElasticNet.from_groups(feature_groups, p, l1_ratio, 0.0, penalty_factor)
        return cls(base.order, base.starts, base.labels, base.pf, name, g, base.l1_ratio)

    @property
    def n_groups(self):
        """Number of groups in the partition."""
        return self.starts.size - 1

    def _convex_twin(self):
        return GroupElasticNet(self.order, self.starts, self.labels, self.pf, self.l1_ratio)

    def unit_arrays(self):
        """``(l1g, l1in, l2g)`` per group per unit ``lam`` (``l1in = 0``)."""
        return self._convex_twin().unit_arrays()

    def lower_arrays(self, p, scale):
        """Per-feature ``PenaltyArrays`` as the group elastic net's."""
        return self._convex_twin().lower_arrays(p, scale)

    def lam_max(self, grad, arrays, penalized, scale):
        """The group lasso's: ``rho'(0+) = lam l1_ratio pf_g`` is the group norm's slope."""
        return self._convex_twin().lam_max(grad, arrays, penalized, scale)
