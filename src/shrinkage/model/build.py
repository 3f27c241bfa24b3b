"""The penalty object of a fit's options: the elastic net, MCP/SCAD, or a group penalty."""

from __future__ import annotations

from .concave import make_penalty
from .groups import build_penalty

__all__ = ["penalty_for"]


def penalty_for(family, p, l1_ratio, options):
    """The penalty of :func:`~shrinkage.engine.path.fit_path`'s ``options`` for ``p``
    features: a group penalty when ``options.feature_groups`` is given or the family's
    response is a matrix of real values (``mgaussian``: one group per feature's row),
    else :func:`~shrinkage.model.concave.make_penalty`'s."""
    grouped = options.feature_groups is not None or (family.response == "matrix"
                                                     and family.quadratic)
    if grouped:
        if options.penalty != "elasticnet":
            raise ValueError(f"penalty={options.penalty!r} is not supported with "
                             "feature_groups or family='mgaussian'; use penalty='elasticnet'")
        return build_penalty(family, p, l1_ratio, options.penalty_factor, options.lower,
                             options.upper, options.multinomial_grouped,
                             options.feature_groups, options.group_mix)
    if options.group_mix != 0.0:
        raise ValueError("group_mix needs feature_groups")
    penalty = make_penalty(options.penalty, options.gamma, l1_ratio, options.penalty_factor,
                           options.lower, options.upper, bool(options.multinomial_grouped))
    if penalty.shape != "elasticnet" and family.response == "matrix":
        raise ValueError(f"penalty={penalty.shape!r} is not supported for the "
                         f"{family.name} family (gaussian, binomial and poisson are)")
    return penalty
