"""Cross-validation over ``gamma`` x ``lam`` for MCP and SCAD: :func:`cross_validate_gamma`.

Each ``gamma`` gets its own full-data ``lam`` grid; all share one set of folds, so their
curves are comparable. The choice over the whole grid is the one the ``l1_ratio`` axis
uses (:func:`~shrinkage.tuning.selection.sparsest_within_grid`): among the cells within
``k`` standard errors (or ``r`` percent) of the best, the sparsest; ties to the larger
``lam``, then the better mean, then the larger ``gamma`` (the one nearer the lasso, which
shrinks more).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..model.concave import DEFAULT_GAMMA, check_penalty
from . import selection
from .cv import assemble_result, fit_with_extensions, prepare_cv, run_paths
from .grid_choice import AxisGridResult
from .grid_cv import choose_on_grid
from .nonconvex import nonconvex_guard

__all__ = ["GammaCVResult", "cross_validate_gamma", "DEFAULT_GAMMAS"]

#: The gamma grid of each penalty when ``gammas`` is not given.
DEFAULT_GAMMAS = {"mcp": (1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
                  "scad": (2.5, 3.0, 3.7, 5.0, 10.0, 30.0)}


@dataclass(frozen=True, eq=False)
class GammaCVResult(AxisGridResult):
    """Cross-validation over a ``gamma`` x ``lam`` grid.

    Attributes
    ----------
    penalty : str
        ``"mcp"`` or ``"scad"``.
    gammas : ndarray of shape (m,)
        Increasing.
    results : list of CVResult
        One per ``gamma``, each on its own ``lam`` grid, all on the same folds.
    index_min, index_chosen : tuple of int
        ``(i, j)``: ``gammas[i]`` and ``results[i].lams[j]``.
    rule : str
    """

    penalty: str
    gammas: np.ndarray
    results: list
    index_min: tuple
    index_chosen: tuple
    rule: str

    @property
    def gamma_chosen(self) -> float:
        """The ``gamma`` of the chosen cell."""
        return self.value_chosen

    @property
    def axis(self) -> str:
        """The name of the second tuning axis: ``"gamma"``."""
        return "gamma"

    @property
    def values(self) -> np.ndarray:
        """The axis values: :attr:`gammas`."""
        return self.gammas


def cross_validate_gamma(
    X,
    y,
    family="gaussian",
    penalty="mcp",
    gammas=None,
    l1_ratio=1.0,
    cv=10,
    repeats=1,
    stratify=None,
    groups=None,
    metric=None,
    rule="1se",
    n_jobs=None,
    random_state=None,
    *,
    backend=None,
    return_path=False,
    **path_kwargs,
):
    """Cross-validate MCP or SCAD over ``gamma`` x ``lam`` and choose both.

    Parameters are those of :func:`~shrinkage.tuning.cv.cross_validate`, with ``penalty``
    (``"mcp"`` or ``"scad"``) and ``gammas`` a sequence (default
    :data:`DEFAULT_GAMMAS`; each > 1 for MCP, > 2 for SCAD). Larger ``gamma`` is the
    stronger setting (nearer the lasso: large coefficients shrunk more); ties of the grid
    rule go to it. The paths that are not locally convex give one
    :class:`~shrinkage.tuning.nonconvex.NonconvexSummary` warning for the whole grid.

    Returns
    -------
    GammaCVResult, or (GammaCVResult, list of Path) when ``return_path``: the full-data
    path of each ``gamma``.
    """
    selection.parse_rule(rule)  # a bad rule is refused before any fit
    if not isinstance(penalty, str) or penalty.lower() not in DEFAULT_GAMMA:
        raise ValueError(f"cross_validate_gamma needs penalty='mcp' or 'scad', got {penalty!r}")
    name = penalty.lower()
    gam = np.atleast_1d(np.asarray(DEFAULT_GAMMAS[name] if gammas is None else gammas,
                                   dtype=float))
    if gam.ndim != 1 or gam.size == 0:
        raise ValueError("gammas must be a non-empty 1-D sequence")
    gam = np.array([check_penalty(name, g)[1] for g in gam])
    if np.unique(gam).size != gam.size:
        raise ValueError(f"gammas must be distinct, got {gam}")
    gam = np.sort(gam)
    for key in ("gamma", "penalty"):
        if key in path_kwargs:
            raise TypeError(f"{key} is given twice (use penalty= and gammas=)")
    base = prepare_cv(X, y, family, cv, repeats, stratify, groups, metric, random_state,
                      path_kwargs)
    results, paths = [], []
    with nonconvex_guard(name, "cross-validation over gamma x lam"):
        for g in gam:
            setup = dataclasses.replace(base, options=base.options.replace(penalty=name,
                                                                           gamma=float(g)))
            fulls, scores, stops = run_paths(setup, [l1_ratio], n_jobs, backend)
            first = (fulls[0], assemble_result(setup, fulls[0], scores, rule, random_state,
                                               stops[0]))
            full, res = fit_with_extensions(setup, l1_ratio, n_jobs, backend, rule,
                                            random_state, first)
            results.append(res)
            paths.append(full)
    i_min, i_ch = choose_on_grid(results, base.greater, rule)
    out = GammaCVResult(name, gam, results, i_min, i_ch, selection.parse_rule(rule).text)
    return (out, paths) if return_path else out
