"""Cross-validation over ``l1_ratio`` x ``lam``: :func:`cross_validate_elastic_net`.

Each ``l1_ratio`` gets its own full-data ``lam`` grid; all share one set of folds, so their
curves are comparable (scikit-learn's ``ElasticNetCV``, glmnet's loop over ``alpha`` with
a fixed ``foldid``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..results import CVResult
from . import selection
from .cv import assemble_result, fit_with_extensions, prepare_cv, run_paths

__all__ = ["cross_validate_elastic_net", "ElasticNetCVResult", "choose_on_grid"]


@dataclass(frozen=True, eq=False)
class ElasticNetCVResult:
    """Cross-validation over an ``l1_ratio`` x ``lam`` grid (scikit-learn's ElasticNetCV).

    Attributes
    ----------
    l1_ratios : ndarray of shape (m,)
    results : list of CVResult
        One per ``l1_ratio``, each on its own ``lam`` grid, all on the same folds.
    index_min, index_chosen : tuple of int
        ``(i, j)``: ``l1_ratios[i]`` and ``results[i].lams[j]``.
    rule : str
    """

    l1_ratios: np.ndarray
    results: list
    index_min: tuple
    index_chosen: tuple
    rule: str
    extra: dict = field(default_factory=dict)

    @property
    def l1_ratio_chosen(self) -> float:
        """The chosen ``l1_ratio``: ``l1_ratios[index_chosen[0]]``."""
        return float(self.l1_ratios[self.index_chosen[0]])

    @property
    def lam_chosen(self) -> float:
        """The chosen ``lam``, on the grid of the chosen ``l1_ratio``:
        ``results[i].lams[j]`` with ``(i, j) = index_chosen``."""
        i, j = self.index_chosen
        return float(self.results[i].lams[j])

    @property
    def chosen(self) -> CVResult:
        """The CVResult of the chosen ``l1_ratio``."""
        return self.results[self.index_chosen[0]]


def _stack(arrays):
    """Pad ragged per-l1_ratio arrays to a (m, max_len) table with NaN."""
    width = max(a.size for a in arrays)
    out = np.full((len(arrays), width), np.nan)
    for i, a in enumerate(arrays):
        out[i, : a.size] = a
    return out


def cross_validate_elastic_net(
    X,
    y,
    family="gaussian",
    l1_ratios=(0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0),
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
    **path_kwargs,
):
    """Cross-validate over ``l1_ratio`` x ``lam`` and choose both.

    Each ``l1_ratio`` gets its own full-data ``lam`` grid; all share one set of folds, so
    their curves are comparable. The choice is made on the whole grid by
    :func:`shrinkage.selection.sparsest_within_grid`: with ``(i*, j*)`` the best cell,
    every cell whose mean is within ``k * se`` (or ``r`` percent) of the best is a
    candidate, and the candidate with the fewest non-zeros wins; ties go to the larger
    ``lam`` within an ``l1_ratio``, then to the better mean, then to the larger
    ``l1_ratio``. Parameters are those
    of :func:`cross_validate`, with ``l1_ratios`` a sequence (fitted, and listed in the
    result, in increasing order).

    Returns
    -------
    ElasticNetCVResult
    """
    selection.parse_rule(rule)  # a bad rule is refused before any fit
    ratios = np.atleast_1d(np.asarray(l1_ratios, dtype=float))
    if ratios.ndim != 1 or ratios.size == 0:
        raise ValueError("l1_ratios must be a non-empty 1-D sequence")
    if np.any((ratios < 0) | (ratios > 1)) or np.unique(ratios).size != ratios.size:
        raise ValueError(f"l1_ratios must be distinct values in [0, 1], got {ratios}")
    # increasing, as the grid rule's last tie-break (the later row) assumes: the choice
    # must not depend on the order the user listed them in
    ratios = np.sort(ratios)
    if "l1_ratio" in path_kwargs:
        raise TypeError("l1_ratio is given twice (use l1_ratios)")
    setup = prepare_cv(X, y, family, cv, repeats, stratify, groups, metric, random_state,
                       path_kwargs)
    fulls, scores, stops = run_paths(setup, list(ratios), n_jobs, backend)
    per = len(scores) // ratios.size
    results = []
    for i in range(ratios.size):  # each l1_ratio's grid extended at its own edge
        first = (fulls[i], assemble_result(setup, fulls[i], scores[i * per:(i + 1) * per],
                                           rule, random_state, stops[i]))
        fulls[i], res = fit_with_extensions(setup, float(ratios[i]), n_jobs, backend, rule,
                                            random_state, first)
        results.append(res)
    i_min, i_ch = choose_on_grid(results, setup.greater, rule)
    return ElasticNetCVResult(ratios, results, i_min, i_ch, selection.parse_rule(rule).text)


def choose_on_grid(results, greater, rule):
    """``(index_min, index_chosen)`` over the cells of per-knob CV results (one
    CVResult per value of a second knob, each on its own ``lam`` grid): the best cell, and
    the sparsest cell within ``rule``'s slack of it (ties to the stronger ``lam``)."""
    k, rel = selection.parse_rule(rule).grid_slack()
    mean = _stack([r.mean for r in results])
    se = _stack([r.se for r in results])
    nnz = _stack([r.nnz.astype(float) for r in results])
    lams = _stack([r.lams for r in results])
    i_min = selection.sparsest_within_grid(lams, mean, nnz, greater_is_better=greater)
    i_ch = selection.sparsest_within_grid(
        lams, mean, nnz, se=se if k > 0 else None, k=k, rel=rel, greater_is_better=greater,
    )
    return i_min, i_ch
