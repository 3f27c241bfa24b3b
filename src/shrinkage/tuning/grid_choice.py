"""The chosen cell of a two-axis cross-validation as one ``(CVResult, Path)``, and its table.

A cross-validation over ``gamma`` x ``lam``
(:class:`~shrinkage.tuning.gamma_cv.GammaCVResult`) or over the adaptive exponent x
``lam`` (:class:`~shrinkage.tuning.adaptive.AdaptiveGridResult`) holds one CVResult per
value of the second axis. What reports, model files and estimators keep is the chosen
value's CVResult and full-data path, with the grid's choice as its ``index_chosen``
(which may differ from the one-axis rule on that row: the grid rule compares sparsity
across rows) -- :func:`grid_choice` -- plus every cell as a table, :func:`grid_rows`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["AxisGridResult", "grid_choice", "grid_rows", "GRID_HEADER"]

#: The columns of :func:`grid_rows` (``tuning.csv``); the first is the axis name.
GRID_HEADER = ("lam", "cv_mean", "cv_se", "nnz", "best_of_row", "chosen")


class AxisGridResult:
    """What a two-axis cross-validation result shares: the chosen cell's ``lam`` and row.

    Subclasses (dataclasses) hold ``results`` (one CVResult per value of the second
    axis), ``index_chosen`` = ``(i, j)`` and define ``values`` and ``axis``.
    """

    @property
    def value_chosen(self) -> float:
        """The second axis's value in the chosen cell."""
        return float(self.values[self.index_chosen[0]])

    @property
    def lam_chosen(self) -> float:
        """The ``lam`` of the chosen cell."""
        i, j = self.index_chosen
        return float(self.results[i].lams[j])

    @property
    def chosen(self):
        """The CVResult of the chosen row (the chosen value of the second axis)."""
        return self.results[self.index_chosen[0]]


def grid_choice(result, paths):
    """``(CVResult, Path)`` of the chosen cell of a two-axis cross-validation.

    Parameters
    ----------
    result : GammaCVResult or AdaptiveGridResult
    paths : list of Path
        The full-data path of each axis value (``return_path=True``).

    Returns
    -------
    (CVResult, Path)
        The chosen value's, with ``index_chosen`` the grid's choice and
        ``extra["grid"]`` = ``{"axis", "values", "value", "rule", "index_chosen",
        "index_min"}``.
    """
    i, j = result.index_chosen
    values = np.asarray(result.values, dtype=float)
    info = {"axis": result.axis, "values": values, "value": float(values[i]),
            "rule": result.rule, "index_chosen": tuple(int(k) for k in result.index_chosen),
            "index_min": tuple(int(k) for k in result.index_min)}
    cv = result.results[i]
    cv = dataclasses.replace(cv, index_chosen=int(j), extra={**cv.extra, "grid": info})
    return cv, paths[i]


def grid_rows(result):
    """``(header, rows)``: one row per cell (axis value, lam, mean, se, nnz, whether it is
    its row's best, whether it is the grid's choice), for ``tuning.csv``."""
    rows = []
    for i, (v, r) in enumerate(zip(np.asarray(result.values, dtype=float), result.results)):
        for j in range(r.lams.size):
            rows.append((float(v), float(r.lams[j]), float(r.mean[j]), float(r.se[j]),
                         int(r.nnz[j]), int(j == r.index_min),
                         int((i, j) == tuple(result.index_chosen))))
    return (result.axis, *GRID_HEADER), rows
