"""The penalty object of a fit: the elastic net, a folded-concave penalty or a group one."""

from __future__ import annotations

from .concave import make_penalty
from .groups import build_penalty

__all__ = ["penalty_for"]


def penalty_for(family, p, l1_ratio, options):
    """The penalty of ``options`` (a :class:`~shrinkage.engine.path.PathOptions`) for
    ``family`` on ``p`` features.

    ``penalty="elasticnet"`` gives the plain elastic net, or the group elastic net when
    ``feature_groups`` is given (or the response is a real matrix); ``"mcp"`` and ``"scad"``
    act feature by feature on single-response families only.
    """
    penalty = make_penalty(options.penalty, options.gamma, l1_ratio, options.penalty_factor,
                           options.lower, options.upper, bool(options.multinomial_grouped))
    if penalty.shape == "elasticnet":
        return build_penalty(family, p, l1_ratio, options.penalty_factor, options.lower,
                             options.upper, options.multinomial_grouped,
                             options.feature_groups, options.group_mix)
    if family.response == "matrix":
        raise ValueError(f"penalty={penalty.shape!r} is not supported for the {family.name} "
                         "family (gaussian, binomial and poisson are)")
    if options.feature_groups is not None:
        raise ValueError(f"penalty={penalty.shape!r} is not supported with feature_groups "
                         "(group MCP/SCAD): use penalty='elasticnet' for groups")
    return penalty
