"""Cross-validation on blocked data: every fold from per-fold sums of the same passes.

Each row carries a fold label ``k`` (given, a seeded hash of its row number, or its
block's number). One pass sums the moments per label
(``moment_block``); fold ``k`` trains on the sums of
the other labels (added, never subtracted, so no digits are lost)::

    S_train(k) = sum_{j != k} S_j            S_full = sum_j S_j

Gaussian: the full path and every fold's path are solved from these sums locally, and a
fold's held-out mean squared error at ``(b0, b)`` is a quadratic form in its own sums,
``E_k[(r - b0 - x.b)^2]``, so K-fold CV costs **one pass** over the data. Binomial and
poisson: the full path first (one pass per round of Newton steps on a window of
strengths), then the K fold paths in lockstep (each pass evaluates every fold's next
round), then one pass to score the
held-out rows. Scores, the weighted mean and glmnet's standard error, and the rules are
those of :func:`shrinkage.cross_validate`; the result is the same
:class:`~shrinkage.results.CVResult`.
"""

from __future__ import annotations

import numpy as np

from ..results import CVResult
from ..tuning import selection
from ..tuning.cv import cv_summary, path_options
from ..tuning.folds import refuse_missing_labels
from ..tuning.metrics import check_metric
from ..validation import check_flag
from .blocks import block_data, reduce_blocks
from .cox_route import cox_cross_validate
from .fit import moments_pass
from .gaussian import gaussian_path
from .moments import Moments, score_block, select
from .newton import newton_path, run_fits

__all__ = ["cross_validate", "fold_spec", "held_out_mse"]


def fold_spec(cv, n, random_state, fold_by):
    """``(spec, K, labels, ids)`` of a fold assignment (see
    ``row_folds``): ``cv`` an int (rows hashed with
    the seed ``random_state``, or whole blocks when ``fold_by="block"``) or fold labels
    per row (numpy: any values, coded in sorted order; dask: integers ``0..K-1``)."""
    import dask.array as da

    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}")
        if fold_by not in ("row", "block"):
            raise ValueError(f"fold_by must be 'row' or 'block', got {fold_by!r}")
        seed = 0 if random_state is None else int(random_state)
        return (fold_by, int(cv), seed), int(cv), None, None
    if isinstance(cv, da.Array):
        if cv.dtype.kind not in "iuf":
            raise TypeError(f"dask fold labels must be integers 0..K-1, got dtype {cv.dtype}")
        lo, hi, fraction = da.compute(cv.min(), cv.max(), (cv % 1 != 0).any())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("cv (fold labels) has missing (NaN) or infinite labels; give "
                             "every row a fold")
        if lo < 0 or fraction:
            raise ValueError("dask fold labels must be integers 0..K-1 (a numpy array may "
                             f"hold any labels), got values from {lo:g} to {hi:g}"
                             + (" with fractions" if fraction else ""))
        K = int(hi) + 1
        return ("given", K), K, cv, None
    labels = np.asarray(cv)
    if labels.shape != (n,):
        raise ValueError(f"cv must be a number of folds or {n} fold labels (one per row), "
                         f"got shape {labels.shape}")
    refuse_missing_labels(labels, "cv (fold labels)")
    _, codes = np.unique(labels, return_inverse=True)
    K = int(codes.max()) + 1
    if K < 2:
        raise ValueError("the fold labels name a single fold; at least 2 are needed")
    return ("given", K), K, codes.astype(np.int64), codes.astype(np.int64)


def held_out_mse(sums, shift, y_shift, coefs, intercepts):
    """``E_k[(r - b0 - x.b)^2]`` per path point from held-out sums about ``(c, c_y)``:
    with ``a = b0 + c.b - c_y``, ``(svv - 2 b.suv - 2 a sv + b^T suu b + 2 a su.b +
    a^2 sw) / sw``."""
    B = np.asarray(coefs)
    a = intercepts + B @ shift - y_shift
    quad = np.einsum("lj,jk,lk->l", B, sums["suu"], B)
    tot = (float(sums["svv"]) - 2 * B @ sums["suv"] - 2 * a * float(sums["sv"]) + quad
           + 2 * a * (B @ sums["su"]) + a * a * float(sums["sw"]))
    return np.maximum(tot, 0.0) / float(sums["sw"])


def _fold_paths(data, total, K, spec, options, family, lams, has_offset):
    """The K fold paths (training sums = the other labels' sums) on the grid ``lams``."""
    fold_options = options.replace(lams=lams)
    moms = [Moments(select(total, np.arange(K) != k), data.shift, data.y_shift)
            for k in range(K)]
    if family == "gaussian":
        return [gaussian_path(m, fold_options, m.n_rows) for m in moms]
    fits = [newton_path(m, fold_options, m.n_rows, fold=k, has_offset=has_offset)
            for k, m in enumerate(moms)]
    run_fits(data, fits, spec)
    return [f.result for f in fits]


def _scores(data, total, K, spec, family, metric, paths, L):
    """The (K, L) table of held-out scores (NaN past a fold's last point)."""
    table = np.full((K, L), np.nan)
    if family == "gaussian" and metric in ("mse", "deviance"):
        for k, path in enumerate(paths):
            held = select(total, np.arange(K) == k)
            table[k, :path.n_lams] = held_out_mse(held, data.shift, data.y_shift,
                                                  path.coefs, path.intercepts)
        return table
    fits = {k: (path.coefs, path.intercepts) for k, path in enumerate(paths)}
    sums = reduce_blocks(data, score_block, spec, family, metric, fits)
    for k, path in enumerate(paths):
        table[k, :path.n_lams] = sums[f"{k}/sum"] / float(total["sw"][k])
    return table


def cross_validate(X, y, family="gaussian", l1_ratio=1.0, cv=10, repeats=1, stratify=None,
                   groups=None, metric=None, rule="1se", n_jobs=None, random_state=None, *,
                   backend=None, return_path=False, fold_by="row", block_rows=None,
                   scheduler=None, progress=None, **path_kwargs):
    """:func:`shrinkage.cross_validate` for a design read in row blocks.

    Fold ``k`` trains on the sums of the other folds' rows; per ``lam`` the fold scores
    are averaged with weights ``W_f`` (the fold's rows, or its share of the sample weight
    times ``n``) and glmnet's standard error is
    ``se = sqrt(sum_f W_f (s_f - mean)^2 / sum_f W_f / (F - 1))``.

    Parameters
    ----------
    X : dask.array.Array, numpy.memmap, zarr array or ndarray of shape (n, p)
        As :func:`shrinkage.distributed.regularization_path`.
    y : array-like or dask array of length n
    family : {"gaussian", "binomial", "poisson", "multinomial", "cox"}
        ``"cox"``: as :func:`shrinkage.distributed.regularization_path`, scored by the
        partial likelihood deviance (:mod:`shrinkage.distributed.cox_route`), on hashed
        (not stratified) folds.
    l1_ratio : float in [0, 1]
    cv : int or array of fold labels (numpy, or a dask array of integers 0..K-1)
        An int ``K`` assigns each row to stratified folds (see ``stratify``), else to
        ``splitmix64(row + seed) % K`` (``fold_by="row"``) or each block to ``(block +
        seed) % K`` (``fold_by="block"``).
    repeats : int, default 1
        Only 1 (the signature of :func:`shrinkage.cross_validate`).
    stratify : bool or None
        Stratify the folds of an int ``cv`` by class (``fold_by="row"``); None means yes
        for binomial (0/1 labels) and multinomial, as :func:`shrinkage.cross_validate`.
        Each class's rows, in row order, are dealt in runs of ``K`` to the ``K`` folds in
        a seeded random order (``shrinkage.distributed.stratify``): every fold holds
        ``floor(n_c / K)`` or ``ceil(n_c / K)`` rows of class ``c``, whatever the
        blocking. A dask ``y`` is read once more (not X) to count its classes per block
        (counted in ``extra["passes"]``).
    groups : None
        No groups on blocked data (give fold labels instead).
    metric : str or None
        As :func:`shrinkage.cross_validate` (every metric but ``auc``).
    rule : str or float, default "1se"
        As :func:`shrinkage.cross_validate`.
    n_jobs : None
        Unused: the passes run on dask's scheduler.
    random_state : int or None
        Seed of the row hash (``cv`` an int).
    backend : None
        Unused: the passes run on dask's scheduler.
    return_path : bool, default False
        Also return the full-data :class:`~shrinkage.results.Path`.
    fold_by : {"row", "block"}
        How an int ``cv`` assigns folds.
    block_rows : int, optional
        Rows per block for a non-dask X.
    scheduler : str, optional
        Passed to :func:`dask.compute`.
    progress : callable, optional
        ``progress(pass_number, blocks_done, n_blocks)``.
    **path_kwargs
        As :func:`shrinkage.distributed.regularization_path`.

    Returns
    -------
    CVResult, or (CVResult, Path) when ``return_path`` is true.
    """
    selection.parse_rule(rule)
    stratify = check_flag(stratify, "stratify", none=True)
    return_path = check_flag(return_path, "return_path")
    if repeats != 1 or groups is not None:
        raise ValueError("repeats and groups are not supported on blocked data; give fold "
                         "labels per row as cv=...")
    if family == "cox":  # risk sets: histograms over the event times (cox_route)
        if stratify:
            raise ValueError("stratify is not supported for the cox family on blocked "
                             "data (its folds are hashed rows); give fold labels as cv=...")
        return cox_cross_validate(X, y, cv, fold_spec, _result, metric, rule, random_state,
                                  fold_by, return_path, block_rows, scheduler, progress,
                                  {**path_kwargs, "l1_ratio": l1_ratio})
    metric, greater = check_metric(metric, family)
    if metric == "auc":
        raise ValueError("metric='auc' ranks all held-out rows together and is not "
                         "computed on blocked data; use deviance, mse, mae, log_loss, "
                         "misclassification or accuracy")
    kwargs = dict(path_kwargs)
    weight, offset = kwargs.pop("sample_weight", None), kwargs.pop("offset", None)
    options = path_options(family, {**kwargs, "l1_ratio": l1_ratio})
    n = int(X.shape[0])
    spec, K, folds, ids = fold_spec(cv, n, random_state, fold_by)
    from .stratify import stratified_cv

    strata, found = stratified_cv(stratify, family, cv, fold_by, y, random_state)
    if strata is not None:  # given labels, balanced per class
        spec, folds = ("given", K), strata
        ids = strata if isinstance(strata, np.ndarray) else None
    blocked = {"block_rows": block_rows, "scheduler": scheduler, "progress": progress}
    if family == "multinomial":
        from .multinomial_cv import multinomial_folds

        full, table, total, data = multinomial_folds(X, y, weight, offset, options, spec, K,
                                                     folds, metric, classes=found, **blocked)
    else:
        full, table, total, data = _folds(X, y, weight, offset, options, spec, K, folds,
                                          metric, blocked)
    if weight is None:
        weights = np.asarray(total["rows"], dtype=float)
    else:
        weights = np.asarray(total["sw"], dtype=float) / float(np.sum(total["sw"])) * n
    res = _result(full, table, weights, metric, greater, rule, ids, random_state,
                  {"family": family, "n_folds": K, "fold_by": spec[0],
                   "stratified": strata is not None, "passes": data.passes})
    if strata is not None and not isinstance(strata, np.ndarray):
        res.extra["passes"] += 1  # the pass over a dask y that counted its classes
    full.extra["passes"] = res.extra["passes"]
    return (res, full) if return_path else res


def _folds(X, y, weight, offset, options, spec, K, folds, metric, blocked):
    """The full path, the fold paths and their ``(K, L)`` held-out scores (gaussian,
    binomial, poisson): ``(full, table, total, data)``."""
    from .problem import check_family

    family = options.family
    check_family(options)
    data = block_data(X, y, weight, offset, folds, **blocked)
    total = moments_pass(data, family, spec, K)
    for k in range(K):
        if not total["sw"][k] > 0:
            raise ValueError(f"fold {k} has no rows with positive weight; choose other folds")
    if family == "poisson":  # counts are >= 0 here (block_data refuses negative ones)
        sy = np.asarray(total["sy"], dtype=float)
        for k in range(K):
            if not sy.sum() - sy[k] > 0:
                raise ValueError(
                    f"the training part of fold {k} has no positive count of y (every "
                    "weighted positive count is in that fold), so the poisson model cannot "
                    "be fitted there; use fewer folds or other fold labels (cv=...)")
    full_mom = Moments(select(total, np.arange(K)), data.shift, data.y_shift)
    if family == "gaussian":
        full = gaussian_path(full_mom, options, data.n)
    else:
        fit = newton_path(full_mom, options, data.n, has_offset=offset is not None)
        run_fits(data, [fit])
        full = fit.result
    paths = _fold_paths(data, total, K, spec, options, family, full.lams,
                        offset is not None)
    return full, _scores(data, total, K, spec, family, metric, paths, full.n_lams), total, data


def _result(full, table, weights, metric, greater, rule, ids, random_state, extra):
    lams = np.asarray(full.lams, dtype=float)
    mean, se = cv_summary(table, weights)
    if np.all(np.isnan(mean)):
        raise RuntimeError("no strength was reached by every fold; nothing to choose from")
    i_min = selection.best(lams, mean, stronger="larger", greater_is_better=greater)
    i_chosen = selection.apply_rule(rule, lams, mean, se, greater_is_better=greater)
    extra = {**extra, "l1_ratio": float(full.l1_ratio), "n_repeats": 1,
             "n_folds_reached": np.sum(~np.isnan(table), axis=0)}
    if full.classes is not None:
        extra["classes"] = full.classes
    return CVResult(
        lams=lams, fold_scores=table, fold_weights=weights, mean=mean, se=se,
        metric=metric, greater_is_better=greater, index_min=int(i_min),
        index_chosen=int(i_chosen), rule=selection.parse_rule(rule).text,
        nnz=np.asarray(full.nnz), fold_ids=ids, random_state=random_state, extra=extra)
