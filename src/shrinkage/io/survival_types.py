"""Saving survival objects: the baseline hazard of a Cox model, as checked arrays.

A ``BaselineHazard`` is stored as the arrays of its
``to_arrays`` (flat event times and cumulative
hazards, stratum offsets) with its strata codes and ties as JSON, under the name
:data:`NAME`. Loading rebuilds it with
``from_arrays`` after checking what a file could
get wrong: the keys, finite event times increasing within each stratum, finite
cumulative hazards that never decrease, from 0 up. A fitted
:class:`~shrinkage.PenalizedCox` saved with :func:`shrinkage.io.save` keeps its
``baseline_`` this way, so its survival curves after loading are the same numbers.
Imported by :mod:`shrinkage.io` only when such an object is saved or loaded.
"""

from __future__ import annotations

import numpy as np

from ..survival import BaselineHazard
from .checks import ModelFileError
from .codec import register_type

__all__ = ["NAME", "baseline_from_state", "baseline_to_state"]

#: The name a file gives a baseline hazard (the module path of the class).
NAME = "shrinkage.survival.baseline:BaselineHazard"
_KEYS = frozenset({"times", "cumulative_hazard", "offsets", "strata_levels", "ties"})


def baseline_to_state(baseline):
    """The state saved for ``baseline``: its arrays, strata codes and ties.

    Returns
    -------
    dict
    """
    return {**baseline.to_arrays(), "ties": str(baseline.ties)}


def _check_steps(baseline):
    """Step functions a fit can give: finite, times increasing, hazards non-decreasing."""
    times, hazard, offsets = baseline.times, baseline.cumulative_hazard, baseline.offsets
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(hazard))):
        raise ModelFileError("the baseline hazard holds NaN or infinite values")
    for s in range(offsets.shape[0] - 1):
        t, h = times[offsets[s]:offsets[s + 1]], hazard[offsets[s]:offsets[s + 1]]
        if np.any(np.diff(t) <= 0) or np.any(np.diff(h) < 0) or np.any(h < 0):
            raise ModelFileError(f"the baseline hazard of stratum {s} is not a step function "
                                 "of increasing times and non-decreasing hazards")


def baseline_from_state(state):
    """The baseline hazard of a file's ``state``, checked.

    Raises
    ------
    ModelFileError
        For missing or unknown keys, arrays of the wrong kinds or shapes, or step
        functions no fit gives.
    """
    if not isinstance(state, dict) or set(state) != _KEYS:
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(f"a baseline hazard needs the keys {sorted(_KEYS)}, got {got}")
    for key in ("times", "cumulative_hazard", "offsets"):
        value = state[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
            raise ModelFileError(f"the baseline hazard's {key} is not a numeric array")
    if not isinstance(state["ties"], str):
        raise ModelFileError("the baseline hazard's ties is not a string")
    levels = state["strata_levels"]
    if not isinstance(levels, list) or not all(type(v) is int for v in levels):
        raise ModelFileError("the baseline hazard's strata_levels is not a list of int")
    offsets = state["offsets"]
    if offsets.dtype.kind == "f" and not np.all(offsets == np.round(offsets)):
        raise ModelFileError("the baseline hazard's offsets are not integers")
    try:
        baseline = BaselineHazard.from_arrays(state)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(f"bad baseline hazard: {exc}") from exc
    _check_steps(baseline)
    return baseline


register_type(BaselineHazard, NAME, to_state=baseline_to_state,
              from_state=baseline_from_state)
