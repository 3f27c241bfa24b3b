"""The penalty object of a fit's options: the elastic net, MCP/SCAD, or a group penalty."""

from __future__ import annotations

from .concave import check_penalty, make_penalty
from .group_concave import GroupFoldedConcave
from .groups import build_penalty

__all__ = ["penalty_for"]


def penalty_for(family, p, l1_ratio, options):
    """The penalty of :func:`~shrinkage.engine.path.fit_path`'s ``options`` for ``p``
    features: a group penalty when ``options.feature_groups`` is given or the family's
    response is a matrix of real values (``mgaussian``: one group per feature's row),
    else :func:`~shrinkage.model.concave.make_penalty`'s. ``penalty="mcp"/"scad"`` with
    ``feature_groups`` is group MCP/SCAD (:mod:`shrinkage.model.group_concave`)."""
    grouped = options.feature_groups is not None or (family.response == "matrix"
                                                     and family.quadratic)
    if grouped:
        if check_penalty(options.penalty, options.gamma)[0] != "elasticnet":
            return _group_concave(family, p, l1_ratio, options)
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


def _group_concave(family, p, l1_ratio, options):
    """Group MCP/SCAD of the options, or a clear error for what it does not cover."""
    name = options.penalty.lower()
    if family.response != "vector" or not (family.quadratic or family.kernel_code is not None):
        raise ValueError(f"penalty={name!r} is not supported for the {family.name} family "
                         "(group MCP/SCAD: gaussian, binomial and poisson)")
    if options.group_mix != 0.0:
        raise ValueError(f"group_mix is not supported with penalty={name!r} (group "
                         "MCP/SCAD penalise the group norm only); use group_mix=0")
    if options.lower is not None or options.upper is not None:
        raise ValueError(f"lower/upper bounds are not supported with penalty={name!r}; "
                         "use penalty='elasticnet'")
    return GroupFoldedConcave.from_groups(options.feature_groups, p, name, options.gamma,
                                          l1_ratio, options.penalty_factor)
