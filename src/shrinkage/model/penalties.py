"""Penalties, one coordinate at a time, lowered to plain arrays for the kernels.

The elastic-net family covers L1 (``l1_ratio = 1``), L2 (``l1_ratio = 0``) and every mix::

    P(b) = lam * sum_j pf_j * ( l1_ratio * s_j * |b_j| + (1 - l1_ratio) / 2 * s_j^2 * b_j^2 )

with ``lower_j <= b_j <= upper_j``. ``s_j`` is the weighted standard deviation of feature
``j`` when ``standardize=True`` (so the penalty acts on standardized coefficients while
``b`` stays on the original scale) and 1 otherwise. Per unit of ``lam`` the kernels receive
``l1_j = l1_ratio * pf_j * s_j`` and ``l2_j = (1 - l1_ratio) * pf_j * s_j^2``.

**The contract.** A penalty declares the block its proximal step acts on (``block``:
``"coordinate"`` here; a penalty on groups of coefficients declares ``"group"``) and
gives solvers: its arrays per unit ``lam`` (:meth:`ElasticNet.lower`), the dual norm that
fixes ``lam_max`` (:meth:`ElasticNet.lam_max`), its value and the distance of a point from
its optimality conditions (:func:`kkt_violation`). Solvers accept a penalty by these
attributes (see :func:`shrinkage.engine.contract.choose_solver`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import as_real_array, check_scalar

__all__ = ["ElasticNet", "L1", "L2", "PenaltyArrays", "kkt_violation", "penalty_value"]

# lam_max for l1_ratio below this is computed as if l1_ratio were this (glmnet's convention:
# a pure ridge has no finite lam at which every coefficient is zero)
RIDGE_LAM_MAX_RATIO = 1e-3


@dataclass(frozen=True)
class PenaltyArrays:
    """A penalty lowered to per-feature arrays per unit of ``lam`` (``l1, l2``) and bounds."""

    l1: np.ndarray
    l2: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class ElasticNet:
    """Elastic-net penalty with per-feature factors and box constraints.

    Parameters
    ----------
    l1_ratio : float in [0, 1]
        1 is the lasso, 0 is ridge.
    penalty_factor : array of shape (p,) or None
        ``pf_j >= 0``; 0 leaves feature j unpenalised. glmnet rescales factors to sum to
        ``p``; shrinkage uses them as given so that ``lam`` keeps its meaning.
    lower, upper : float, array of shape (p,), or None
        Box constraints on the original-scale coefficients, ``lower_j <= 0 <= upper_j``
        (as glmnet's ``lower.limits`` and ``upper.limits``): every path starts from the
        null model, all penalised coefficients zero, which must be feasible. A bound may
        be 0 (a sign constraint) or infinite.
    group_responses : bool
        For a coefficient matrix (one column per class): one L1 group per feature across
        the classes (glmnet's ``type.multinomial="grouped"``) instead of one per entry.
    """

    l1_ratio: float = 1.0
    penalty_factor: np.ndarray | None = None
    lower: np.ndarray | float | None = None
    upper: np.ndarray | float | None = None
    group_responses: bool = True

    block = "coordinate"
    shape = "elasticnet"  # solvers accept a penalty by its block and shape

    def lower_arrays(self, p, scale):
        """Lower to :class:`PenaltyArrays` per unit of ``lam`` for ``p`` features.

        ``scale`` is ``s_j`` as an array of length ``p`` (the standardization scale, or
        ones).
        """
        a = check_scalar(self.l1_ratio, "l1_ratio", lo=0.0, hi=1.0)
        if self.penalty_factor is None:
            # unit factors: a * 1 * s is a * s exactly, without the array of ones
            l1, l2 = a * scale, (1.0 - a) * scale**2
        else:
            pf = _per_feature(self.penalty_factor, p, "penalty_factor", default=1.0)
            if (pf < 0).any():
                raise ValueError("penalty_factor has negative entries; factors must be >= 0")
            l1, l2 = scaled_factors(a, pf, scale)
        lo = _per_feature(self.lower, p, "lower", default=-np.inf, allow_inf=True)
        hi = _per_feature(self.upper, p, "upper", default=np.inf, allow_inf=True)
        # (the defaults, no bounds, need no checks: a few microseconds on every fit)
        if self.lower is not None or self.upper is not None:
            if np.any(lo > hi):
                j = int(np.flatnonzero(lo > hi)[0])
                raise ValueError(f"lower > upper for feature {j} ({lo[j]} > {hi[j]})")
            if np.any(lo == np.inf) or np.any(hi == -np.inf):
                raise ValueError("lower cannot be +inf and upper cannot be -inf")
            # a box without 0 would make the null model (every path's start) infeasible
            if np.any(lo > 0) or np.any(hi < 0):
                j = int(np.flatnonzero((lo > 0) | (hi < 0))[0])
                raise ValueError(
                    f"bounds must contain 0 (lower <= 0 <= upper, as glmnet's lower.limits "
                    f"and upper.limits); feature {j} has lower={lo[j]:g}, upper={hi[j]:g}")
        return PenaltyArrays(l1, l2, lo, hi)

    def lam_max(self, gmag, arrays, penalized, scale):
        """Smallest ``lam`` at which every penalised coefficient stays at zero.

        ``gmag`` is the gradient magnitude per feature at the null model (the group norm
        across classes when ``group_responses``); ``penalized`` marks the features that
        may be penalised to zero. For ``l1_ratio`` below ``RIDGE_LAM_MAX_RATIO`` the value
        is glmnet's convention, as if ``l1_ratio`` were that ratio.
        """
        if not penalized.any():
            return 1.0
        if self.l1_ratio >= RIDGE_LAM_MAX_RATIO:
            denom = arrays.l1[penalized]
        else:
            denom = (RIDGE_LAM_MAX_RATIO * arrays.l2[penalized]
                     / np.maximum(scale[penalized], 1e-300))
        ok = denom > 0
        if not ok.any():
            return 1.0
        # the relative nudge keeps every coefficient exactly zero at lam_max despite rounding
        lam_max = float((gmag[penalized][ok] / denom[ok]).max()) * (1.0 + 1e-10)
        if not lam_max > 0:
            lam_max = 1.0  # y is constant (or orthogonal to X): any lam gives the null model
        return lam_max


def penalty_value(b, l1, l2, grouped=False):
    """``sum_j l1_j |b_j| + l2_j / 2 * b_j^2`` (``l1, l2`` include ``lam``).

    For a coefficient matrix of shape (p, K) the L1 part is ``l1_j * ||b_j||_2`` when
    ``grouped`` (one group per feature across classes) and ``l1_j * sum_k |b_jk|`` otherwise.
    """
    sq = b * b if b.ndim == 1 else np.sum(b * b, axis=1)
    if b.ndim == 1:
        l1part = np.abs(b)
    else:
        l1part = np.sqrt(sq) if grouped else np.sum(np.abs(b), axis=1)
    return float(np.dot(l1, l1part) + 0.5 * np.dot(l2, sq))


def L1(penalty_factor=None, lower=None, upper=None):
    """The lasso penalty ``lam * sum_j pf_j s_j |b_j|``."""
    return ElasticNet(1.0, penalty_factor, lower, upper)


def L2(penalty_factor=None, lower=None, upper=None):
    """The ridge penalty ``lam / 2 * sum_j pf_j s_j^2 b_j^2``."""
    return ElasticNet(0.0, penalty_factor, lower, upper)


def scaled_factors(a, pf, scale):
    """``(a pf s, (1 - a) pf s^2)``: the per-unit penalties of factors ``pf`` on features
    of scale ``s``; a factor whose product overflows is refused by name (it would keep
    its feature at 0 at every strength, while its infinite penalty made the gaussian
    gap NaN: every strength unconverged)."""
    with np.errstate(over="ignore"):
        l1, l2 = a * pf * scale, (1.0 - a) * pf * scale**2
    bad = ~(np.isfinite(l1) & np.isfinite(l2)) & np.isfinite(scale * scale)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"penalty_factor {pf[j]:.3g} of feature {j} times its scale ({scale[j]:.3g}, "
            "squared for the l2 part) overflows double precision; so large a factor keeps "
            "the feature at 0 at every strength: drop the column instead")
    return l1, l2


def _per_feature(value, p, name, default, allow_inf=False):
    if value is None:
        return np.full(p, default, dtype=np.float64)
    arr = as_real_array(value, name)
    if arr.ndim == 0:
        arr = np.full(p, float(arr))
    if arr.ndim != 1 or arr.shape[0] != p:
        raise ValueError(f"{name} must be a scalar or have length {p} (one per feature), "
                         f"got shape {np.shape(value)}")
    if np.any(np.isnan(arr)) or (not allow_inf and np.any(np.isinf(arr))):
        raise ValueError(f"{name} contains NaN{'' if allow_inf else ' or inf'}")
    return arr


def kkt_violation(g, b, l1, l2, lo, hi):
    """Distance of each coordinate from its optimality condition.

    With ``g_j = -d(loss)/d(b_j)``, coordinate j is optimal when
    ``g_j - l2_j b_j`` lies in ``l1_j * d|b_j|`` plus the normal cone of the box at ``b_j``.
    ``l1, l2`` here already include ``lam``. Returns the violation per coordinate (>= 0).
    """
    z = g - l2 * b
    dev = np.where(b > 0, z - l1, np.where(b < 0, z + l1,
                   np.where(z > l1, z - l1, np.where(z < -l1, z + l1, 0.0))))
    # At a bound, the normal cone absorbs pushes outward.
    dev = np.where((b >= hi) & (dev > 0), 0.0, dev)
    dev = np.where((b <= lo) & (dev < 0), 0.0, dev)
    return np.abs(dev)
