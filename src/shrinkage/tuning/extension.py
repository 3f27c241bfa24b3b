"""Extending the strength grid when the cross-validation minimum sits at its edge.

A minimum at the weakest strength of a path that reached the end of its grid says the
grid stopped too early (a ridge grid on data that want little shrinkage; a small-l1_ratio
elastic net whose lasso-scaled grid ends too high); a minimum at the strongest strength
of a path whose first model is not the null model (a ridge grid, whose lam_max is a
convention) says the grid started too low. Either way the choice would be an artefact of
the grid. :func:`extend_at_edges` adds a decade of strengths (at the grid's own spacing)
beyond that edge and cross-validates again, at most :data:`MAX_EXTENSIONS` times; each
extension is recorded in ``result.extra["grid_extensions"]``, and a minimum still at the
edge after that, or on a grid the user gave, is reported with a :class:`GridEdgeWarning`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..user_warnings import warn_user

__all__ = ["GridEdgeWarning", "MAX_EXTENSIONS", "edge_of", "extend_at_edges",
           "extended_grid", "extension_note"]

#: How many times cross-validation extends the grid (a decade of strengths each time)
#: while the minimum sits at its edge.
MAX_EXTENSIONS = 3


class GridEdgeWarning(UserWarning):
    """The cross-validation minimum lies at the edge of the strength grid."""


def edge_of(result, full):
    """``"weaker"``, ``"stronger"`` or None: where the minimum of ``result`` sits."""
    i, last = result.index_min, len(result.lams) - 1
    if last < 1:
        return None
    if i == last and not full.stopped_early:
        return "weaker"
    if i == 0 and full.nnz[0] > 0:
        return "stronger"
    return None


def extension_note(extra):
    """What the extensions recorded in a result's ``extra`` did, in one sentence ("" if
    the grid was not extended)."""
    sides = list((extra or {}).get("grid_extensions", []))
    if not sides:
        return ""
    where = ", ".join(f"toward {s} strengths" for s in sides)
    return (f"The CV minimum sat at the edge of the strength grid, so the grid was "
            f"extended {len(sides)} time(s) by a decade ({where}) and cross-validated again.")


def extended_grid(lams, side):
    """``lams`` with one more decade of strengths on ``side``, at the same log spacing."""
    lams = np.asarray(lams, dtype=float)
    step = (np.log(lams[0]) - np.log(lams[-1])) / (lams.size - 1)
    m = max(int(round(np.log(10.0) / step)), 1)
    if side == "weaker":
        return np.concatenate([lams, lams[-1] * np.exp(-step * np.arange(1, m + 1))])
    return np.concatenate([lams[0] * np.exp(step * np.arange(m, 0, -1)), lams])


def extend_at_edges(setup, l1_ratio, full, result, rerun, user_grid):
    """Cross-validate again on extended grids while the minimum sits at an edge.

    ``rerun(setup)`` returns ``(full, result)`` for a setup; ``user_grid`` says the grid
    was given (it is then kept, with a warning when the minimum is at its edge).
    Returns the final ``(full, result)``.
    """
    sides = []
    side = edge_of(result, full)
    while side is not None and not user_grid and len(sides) < MAX_EXTENSIONS:
        grid = extended_grid(full.lams, side)
        full, result = rerun(dataclasses.replace(setup, grid={"lams": grid,
                                                              "early_stop": True}))
        sides.append(side)
        side = edge_of(result, full)
    result.extra["grid_extensions"] = sides
    if side is not None:
        why = ("the grid you gave" if user_grid else
               f"the grid, after {len(sides)} extension(s) of a decade")
        note = (f"the CV minimum (l1_ratio={l1_ratio:g}) is at the {side} end of {why} "
                f"(lam={result.lam_min:.4g}): the choice may be an artefact of the grid")
        result.extra["edge_warning"] = note
        warn_user(note, GridEdgeWarning)
    return full, result
