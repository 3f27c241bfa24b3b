"""Folded-concave penalties: MCP (Zhang 2010) and SCAD (Fan & Li 2001), as ncvreg has them.

With ``t_j = s_j b_j`` the standardized coefficient, the penalty is::

    P(b) = sum_j rho(|t_j|; lam * l1_ratio * pf_j, gamma) + lam * (1 - l1_ratio) * pf_j / 2 * t_j^2

    MCP:  rho(t; l, gamma) = l t - t^2 / (2 gamma)  for t <= gamma l,  gamma l^2 / 2 beyond
    SCAD: rho(t; l, gamma) = l t                                       for t <= l
                             (2 gamma l t - t^2 - l^2) / (2 (gamma - 1)) for l < t <= gamma l
                             l^2 (gamma + 1) / 2                          beyond

These are ncvreg's ``penalty="MCP"/"SCAD"`` with ``gamma`` (> 1 for MCP, > 2 for SCAD;
defaults 3 and 3.7), ``alpha`` = our ``l1_ratio`` (the ridge mix) and ``penalty.factor``
= our ``penalty_factor`` (multiplying ``lam``, so the concavity ``1/gamma`` is the same for
every penalised feature). ``gamma -> inf`` gives the lasso (elastic net). Near zero both
act as the lasso, so ``lam_max`` is the lasso's; large coefficients are not shrunk at all
(MCP beyond ``gamma lam``, SCAD beyond ``gamma lam``), which removes the lasso's bias.

The objective is not convex where the loss's curvature (in standardized units) falls below
the concavity ``1/gamma`` (MCP) or ``1/(gamma - 1)`` (SCAD) in some direction; there the
path engine returns the stationary point reached by warm starts from ``lam_max`` down
(ncvreg's convention), certified by its largest violation of the first-order conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_scalar
from .penalties import ElasticNet

__all__ = ["ConcaveKind", "FoldedConcave", "PENALTIES", "DEFAULT_GAMMA", "make_penalty",
           "check_penalty", "concave_value", "concave_slope", "concave_threshold", "soft_threshold",
           "stationarity_violation"]

#: The names ``penalty=`` accepts.
PENALTIES = ("elasticnet", "mcp", "scad")
#: ncvreg's default concavity of each folded-concave penalty.
DEFAULT_GAMMA = {"mcp": 3.0, "scad": 3.7}
_GAMMA_MIN = {"mcp": 1.0, "scad": 2.0}
KIND_CODE = {"mcp": 1, "scad": 2}  # the integers of shrinkage.engine.kernels.concave


def check_penalty(penalty, gamma):
    """``(penalty, gamma)`` checked: the name lower-cased, gamma a float (NaN for the
    elastic net, whose gamma must be None)."""
    if not isinstance(penalty, str) or penalty.lower() not in PENALTIES:
        raise ValueError(f"penalty must be one of {', '.join(map(repr, PENALTIES))}, got "
                         f"{penalty!r}")
    penalty = penalty.lower()
    if penalty == "elasticnet":
        if gamma is not None:
            raise ValueError("gamma applies to penalty='mcp' or 'scad' only; got "
                             f"gamma={gamma!r} with penalty='elasticnet'")
        return penalty, float("nan")
    if gamma is None:
        return penalty, DEFAULT_GAMMA[penalty]
    lo = _GAMMA_MIN[penalty]
    try:
        g = check_scalar(gamma, "gamma", lo=lo, lo_open=True)
    except ValueError as exc:
        raise ValueError(f"{exc} (penalty={penalty!r} needs gamma > {lo:g}; ncvreg's "
                         f"default is {DEFAULT_GAMMA[penalty]:g})") from None
    if not np.isfinite(g):
        raise ValueError(f"gamma must be finite, got {gamma!r} (gamma -> inf is the "
                         "lasso: use penalty='elasticnet')")
    return penalty, float(g)


class ConcaveKind:
    """What a folded-concave penalty with attributes ``kind`` and ``gamma`` tells solvers."""

    @property
    def shape(self):
        """The penalty's name (``"mcp"`` or ``"scad"``); solvers accept by it."""
        return self.kind

    @property
    def code(self):
        """The integer by which compiled kernels evaluate this penalty."""
        return KIND_CODE[self.kind]

    @property
    def concavity(self):
        """``-inf_t rho''(t)``: ``1/gamma`` (MCP) or ``1/(gamma - 1)`` (SCAD); for a group
        penalty of the norm, along the radial direction, the only one of negative
        curvature."""
        return 1.0 / self.gamma if self.kind == "mcp" else 1.0 / (self.gamma - 1.0)


@dataclass(frozen=True)
class FoldedConcave(ConcaveKind):
    """MCP or SCAD with a ridge mix, per-feature factors; no box constraints.

    Parameters
    ----------
    kind : {"mcp", "scad"}
    gamma : float
        > 1 (MCP) or > 2 (SCAD).
    l1_ratio : float in (0, 1]
        ncvreg's ``alpha``: ``lam * l1_ratio`` is the concave part's strength and
        ``lam * (1 - l1_ratio)`` the ridge part's.
    penalty_factor : array of shape (p,) or None
    """

    kind: str
    gamma: float
    l1_ratio: float = 1.0
    penalty_factor: np.ndarray | None = None

    block = "coordinate"
    group_responses = False


    def lower_arrays(self, p, scale):
        """The lasso-like arrays per unit ``lam``: ``l1_j = l1_ratio pf_j s_j``,
        ``l2_j = (1 - l1_ratio) pf_j s_j^2`` (standardized strengths times ``s_j``)."""
        check_scalar(self.l1_ratio, "l1_ratio", lo=0.0, hi=1.0, lo_open=True)
        return ElasticNet(self.l1_ratio, self.penalty_factor).lower_arrays(p, scale)

    def lam_max(self, gmag, arrays, penalized, scale):
        """The lasso's: ``rho'(0+) = lam * l1_ratio * pf_j``, as the L1 norm's."""
        return ElasticNet(self.l1_ratio).lam_max(gmag, arrays, penalized, scale)

    def strengths(self, lam, arrays, scale):
        """``(lam1, lam2)`` per feature in standardized units at strength ``lam``."""
        return lam * arrays.l1 / scale, lam * arrays.l2 / (scale * scale)


def make_penalty(penalty, gamma, l1_ratio, penalty_factor, lower, upper, grouped):
    """The penalty object of a fit's options (``shrinkage.engine.path.fit_path``)."""
    name, g = check_penalty(penalty, gamma)
    if name == "elasticnet":
        return ElasticNet(l1_ratio, penalty_factor, lower, upper, group_responses=grouped)
    if lower is not None or upper is not None:
        raise ValueError(f"lower/upper bounds are not supported with penalty={name!r}; "
                         "use penalty='elasticnet'")
    if not l1_ratio > 0:
        raise ValueError(f"penalty={name!r} needs l1_ratio > 0 (l1_ratio=0 is the ridge: "
                         "use penalty='elasticnet')")
    return FoldedConcave(name, g, l1_ratio, penalty_factor)


def concave_value(kind, t, lam1, gamma):
    """``rho(|t|; lam1, gamma)`` elementwise (NumPy; the reference the tests use)."""
    a = np.abs(np.asarray(t, dtype=float))
    lam1 = np.broadcast_to(np.asarray(lam1, dtype=float), a.shape)
    if kind == "mcp":
        return np.where(a <= gamma * lam1, lam1 * a - a * a / (2 * gamma),
                        0.5 * gamma * lam1 ** 2)
    mid = (2 * gamma * lam1 * a - a * a - lam1 ** 2) / (2 * (gamma - 1))
    return np.where(a <= lam1, lam1 * a, np.where(a <= gamma * lam1, mid,
                                                   0.5 * lam1 ** 2 * (gamma + 1)))


def concave_slope(kind, t, lam1, gamma):
    """``rho'(|t|)`` for ``t != 0`` (``lam1`` at 0): elementwise, NumPy."""
    a = np.abs(np.asarray(t, dtype=float))
    lam1 = np.broadcast_to(np.asarray(lam1, dtype=float), a.shape)
    if kind == "mcp":
        return np.maximum(lam1 - a / gamma, 0.0)
    return np.where(a <= lam1, lam1, np.maximum(gamma * lam1 - a, 0.0) / (gamma - 1))


def stationarity_violation(kind, gamma, gs, t, lam1, lam2):
    """Per-coordinate distance from the first-order conditions (standardized units).

    ``gs_j = -d(loss)/d(t_j)``; ``t_j != 0``: ``|gs - lam2 t - rho'(|t|) sign(t)|``,
    ``t_j = 0``: ``max(|gs| - lam1, 0)``.
    """
    z = gs - lam2 * t
    moving = np.abs(z - concave_slope(kind, t, lam1, gamma) * np.sign(t))
    return np.where(t != 0, moving, np.maximum(np.abs(gs) - lam1, 0.0))


def soft_threshold(z, lam1):
    """The lasso's univariate solution ``sign(z) max(|z| - lam1, 0)`` (NumPy)."""
    z = np.asarray(z, dtype=float)
    return np.sign(z) * np.maximum(np.abs(z) - lam1, 0.0)


def concave_threshold(kind, z, lam1, gamma, lam2=0.0, v=1.0):
    """The univariate solution ``argmin_t v/2 t^2 - z t + rho(|t|; lam1, gamma) + lam2/2 t^2``.

    With ``c = v + lam2`` above the concavity (``1/gamma`` for MCP, ``1/(gamma - 1)`` for
    SCAD; always so for ``v = 1``, ``lam2 = 0``) the problem is convex and the solution is
    the closed form (Breheny & Huang 2011; ``S`` the soft threshold)::

        MCP:  S(z, lam1) / (c - 1/gamma)                       |z| <= gamma lam1 c
              z / c                                            beyond
        SCAD: S(z, lam1) / c                                   |z| <= lam1 (1 + c)
              S(z, gamma lam1 / (gamma - 1)) / (c - 1/(gamma - 1))  |z| <= gamma lam1 c
              z / c                                            beyond

    Otherwise the global minimiser among the stationary points of the convex pieces is
    returned (the objective is then nonconvex and the answer jumps). ``v = 1``,
    ``lam2 = 0`` is the thresholding of an orthonormal (standardized, uncorrelated) design
    with gaussian loss; elementwise in ``z`` (NumPy, the reference for the compiled
    kernel ``shrinkage.engine.kernels.concave.threshold``).
    """
    kind = check_penalty(kind, gamma)[0]
    if kind == "elasticnet":
        raise ValueError("concave_threshold needs kind='mcp' or 'scad'")
    z = np.asarray(z, dtype=float)
    c = float(v) + float(lam2)
    if not c > 0:
        raise ValueError(f"v + lam2 must be > 0, got {c}")
    az, sgn = np.abs(z), np.where(z >= 0, 1.0, -1.0)
    conc = 1.0 / gamma if kind == "mcp" else 1.0 / (gamma - 1.0)
    if c > conc:
        if kind == "mcp":
            return np.where(az <= gamma * lam1 * c, soft_threshold(z, lam1) / (c - conc),
                            z / c)
        mid = soft_threshold(z, gamma * lam1 / (gamma - 1.0)) / (c - conc)
        return np.where(az <= lam1 * (1.0 + c), soft_threshold(z, lam1) / c,
                        np.where(az <= gamma * lam1 * c, mid, z / c))
    # nonconvex: compare the candidates (0 or the inner piece's best, the outer piece's)
    inner = (np.zeros_like(z) if kind == "mcp"
             else sgn * np.minimum(np.maximum(az - lam1, 0.0) / c, lam1))
    outer = sgn * np.maximum(gamma * lam1, az / c)

    def value(t):
        return 0.5 * c * t * t - z * t + concave_value(kind, t, lam1, gamma)

    return np.where(value(outer) < value(inner), outer, inner)
