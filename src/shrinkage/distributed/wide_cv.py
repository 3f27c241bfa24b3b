"""``wide_cross_validate``: K-fold CV of the gaussian elastic net on a wide design on disk.

The full-data fit and the K fold fits (each the full design with zero weight on its
held-out rows, as in memory) are ``WideFit``
objects advanced **in lockstep** along the full-data grid (``run_lockstep``): one first
pass gives every fit's column means, scales and null gradients, and every later pass
(a checkpoint refresh, the final KKT check) computes the gradients of all ``K + 1``
fits from the same block reads (one product ``X_B^T U`` with ``K + 1`` columns). The
folds follow the full path's grid and stop where it stops, so the scores, their weighted
mean, glmnet's standard error and the rules are those of
:func:`shrinkage.cross_validate` with the same folds. A fold's held-out predictions need
only its nonzero coefficients, whose columns are among its candidates, already in
memory.
"""

from __future__ import annotations

import numpy as np

from ..results import CVResult
from ..tuning import selection
from ..tuning.cv import cv_summary
from ..tuning.folds import make_folds
from ..tuning.metrics import check_metric, score_path
from ..validation import check_offset, check_sample_weight
from .wide import centred_responses, check_wide, run_lockstep
from .wide_cache import ColumnCache
from .wide_solve import WideFit
from .wide_stats import stats_pass

__all__ = ["wide_cross_validate"]


def _fold_weights(folds, weight, n):
    """``(W, test_sets)``: per fit (full data first, then each fold) weights summing to
    one, zero on the held-out rows of a fold."""
    # normalised as the in-memory fits normalise them, to the last digit
    base = np.ones(n) if weight is None else weight
    cols = [np.full(n, 1.0 / n) if weight is None else check_sample_weight(weight, n)]
    tests = []
    for train, test in folds.splits[0]:
        if not (np.sum(base[train]) > 0 and np.sum(base[test]) > 0):
            raise ValueError("sample_weight is zero on every held-out or training row of a "
                             "fold; give those rows weight or choose other folds (cv=...)")
        w = np.zeros(n)
        w[train] = base[train]
        cols.append(check_sample_weight(w, n))
        tests.append(np.asarray(test))
    return np.column_stack(cols), tests


def _lockstep_hook(full, folds):
    """At the first barrier the folds take the full grid; later, they stop with it."""
    state = {"grid_set": False}

    def hook(fits):
        if not state["grid_set"]:
            state["grid_set"] = True
            for f in folds:
                f.set_grid(full.grid, True)
        elif full.stop_after:
            for f in folds:
                f.stop_after = True
    return hook


def _fold_scores(fit, test, y, offset, weight, metric, L):
    """Held-out scores of one fold along the grid (NaN past its last strength)."""
    scores = np.full(L, np.nan)
    done = fit.done
    coefs = fit.out[0][:done][:, fit.C]
    eta = fit.XC[test] @ coefs.T + fit.out[1][:done]
    if offset is not None:
        eta += offset[test][:, None]
    w_te = None if weight is None else weight[test]
    scores[:done] = score_path(metric, "gaussian", y[test], eta, w_te)
    return scores


def wide_cross_validate(source, y, family="gaussian", l1_ratio=1.0, cv=10, metric=None,
                        rule="1se", random_state=None, *, return_path=False,
                        block_cols=None, cache_bytes=None, **path_kwargs):
    """:func:`shrinkage.cross_validate` (gaussian) for a wide design read by columns.

    Fold ``f`` minimises the objective of :func:`~shrinkage.distributed.wide_path` on its
    training rows along the full-data grid; per ``lam`` its held-out mean error
    ``s_f`` is averaged with weights ``W_f`` (held-out rows, or their sample weight) and
    ``se = sqrt(sum_f W_f (s_f - mean)^2 / sum_f W_f / (F - 1))`` (glmnet's).

    Parameters
    ----------
    source : array, str or path, list, or ColumnSource
        As :func:`~shrinkage.distributed.wide_path`.
    y : array-like of shape (n,)
    family : {"gaussian"}
    l1_ratio : float in [1e-3, 1]
    cv : int, array of fold ids, or list of (train, test) pairs, default 10
        :func:`shrinkage.tuning.folds.make_folds`' ``cv`` (one repeat).
    metric : {"mse", "deviance", "mae"} or None
    rule : str or float, default "1se"
        As :func:`shrinkage.cross_validate`.
    random_state : int or None
        Seed of the fold assignment (the same folds as :func:`shrinkage.cross_validate`
        with the same seed).
    return_path : bool, default False
        Also return the full-data :class:`~shrinkage.results.Path`.
    block_cols, cache_bytes : int, optional
        As :func:`~shrinkage.distributed.wide_path`.
    **path_kwargs
        As :func:`~shrinkage.distributed.wide_path`.

    Returns
    -------
    CVResult, or (CVResult, Path) when ``return_path`` is true.
        ``extra["passes"]``: the passes over the columns, shared by every fold.
    """
    selection.parse_rule(rule)
    metric, greater = check_metric(metric, "gaussian")
    kwargs = dict(path_kwargs)
    weight, offset = kwargs.pop("sample_weight", None), kwargs.pop("offset", None)
    src, yv, options = check_wide(source, y, family, {**kwargs, "l1_ratio": l1_ratio},
                                  block_cols)
    n = src.shape[0]
    folds = make_folds(n, cv, random_state=random_state)
    if weight is not None:
        weight = check_sample_weight(weight, n) * n
    offset = check_offset(offset, n)
    W, tests = _fold_weights(folds, weight, n)
    intercept = bool(options.fit_intercept)
    yc = centred_responses(yv, offset, W, intercept)
    cache = ColumnCache(src, cache_bytes)
    stats = stats_pass(src, W, yc, intercept)
    fits = [WideFit(cache, yv, W[:, f], weight is None and f == 0, offset, options,
                    {k: v[f] for k, v in stats.items()}, yc[:, f]) for f in range(W.shape[1])]
    run_lockstep(src, fits, _lockstep_hook(fits[0], fits[1:]))
    full = fits[0].path(src.passes, {"cache_peak_bytes": cache.peak_bytes})
    L = full.n_lams
    table = np.vstack([_fold_scores(f, te, yv, offset, weight, metric, L)
                       for f, te in zip(fits[1:], tests)])
    fold_w = np.array([te.size if weight is None else float(np.sum(weight[te]))
                       for te in tests], dtype=float)
    lams = np.asarray(full.lams, dtype=float)
    mean, se = cv_summary(table, fold_w)
    if np.all(np.isnan(mean)):
        raise RuntimeError("no strength was reached by every fold; nothing to choose from")
    i_min = selection.best(lams, mean, stronger="larger", greater_is_better=greater)
    i_chosen = selection.apply_rule(rule, lams, mean, se, greater_is_better=greater)
    ids = folds.fold_ids[0] if folds.fold_ids is not None else None
    res = CVResult(
        lams=lams, fold_scores=table, fold_weights=fold_w, mean=mean, se=se, metric=metric,
        greater_is_better=greater, index_min=int(i_min), index_chosen=int(i_chosen),
        rule=selection.parse_rule(rule).text, nnz=np.asarray(full.nnz), fold_ids=ids,
        random_state=random_state,
        extra={"family": "gaussian", "l1_ratio": float(full.l1_ratio),
               "n_folds": len(tests), "n_repeats": 1,
               "n_folds_reached": np.sum(~np.isnan(table), axis=0),
               "passes": int(src.passes)})
    return (res, full) if return_path else res
