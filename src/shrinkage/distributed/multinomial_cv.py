"""The blocked multinomial path and its cross-validation folds: data, classes, passes.

The labels are found first (``np.unique`` of a NumPy ``y``, any labels; one pass over a
dask ``y``, numeric labels), then one pass sums the moments of X and each class's weight
per fold label (``class_moment_block``); the fits (``MultinomialFit``) then run their
Newton passes, the folds in lockstep, and one pass scores the held-out rows. Passes:
``1`` (moments) ``+ 1`` (the null model; a few more with an offset) ``+`` the rounds of
the window (about the Newton steps of all ``lam``s divided by 16), plus one for the
labels of a dask ``y``; K-fold CV adds the folds' rounds (in lockstep) and one scoring
pass.
"""

from __future__ import annotations

import numpy as np

from .blocks import block_data, reduce_blocks
from .moments import Moments, select
from .multinomial import MultinomialFit, run_multinomial_fits
from .multinomial_blocks import class_moment_block, multinomial_score_block

__all__ = ["multinomial_path", "multinomial_folds", "labels_and_classes", "check_options"]


def check_options(options):
    """Refuse by name what the blocked multinomial fit does not do."""
    if options.feature_groups is not None:
        raise ValueError("feature_groups is not supported on blocked data")
    if options.penalty != "elasticnet":
        raise ValueError(f"penalty={options.penalty!r} is not supported on blocked data; "
                         "use penalty='elasticnet'")


def labels_and_classes(y, known=None):
    """``(y_for_blocks, block_classes, classes, label_pass)``: a NumPy ``y`` of any labels
    is coded ``0..K-1`` here; a dask ``y`` (numeric) keeps its values and its classes are
    ``known`` (found by an earlier pass) or found in one pass (``label_pass`` True)."""
    import dask.array as da

    if isinstance(y, da.Array):
        if y.dtype.kind not in "fiub":
            raise TypeError(f"a dask y must hold numeric labels, got dtype {y.dtype}")
        label_pass = known is None
        found = np.asarray(da.unique(y).compute() if label_pass else known, dtype=float)
        classes = found[np.isfinite(found)]
        block_classes, out = classes, y
    else:
        arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise ValueError(f"y must be 1-D class labels, got shape {arr.shape}")
        if arr.dtype.kind in "fc":
            live = np.isfinite(arr)
            classes = np.unique(arr[live])
            codes = np.full(arr.shape, np.nan)
            codes[live] = np.searchsorted(classes, arr[live])
        else:
            classes, codes = np.unique(arr, return_inverse=True)
            codes = codes.astype(float)
        block_classes, out, label_pass = np.arange(classes.size, dtype=float), codes, False
    if classes.size < 2:
        what = f"a single class ({classes[0]!r})" if classes.size else "no finite label"
        raise ValueError(f"y has {what}; the multinomial family needs at least two")
    return out, block_classes, classes, label_pass


def _is_dask(v):
    import dask.array as da

    return isinstance(v, da.Array)


def _aligned_offset(offset, n, K, chunks):
    """An ``(n, K)`` offset as a dask array with X's row blocks."""
    import dask.array as da

    if offset is None:
        return None
    if isinstance(offset, da.Array):
        if offset.shape != (n, K):
            raise ValueError(f"offset must have shape ({n}, {K}) for a multinomial model, "
                             f"got {offset.shape}")
        return offset.rechunk((chunks, (K,)))
    arr = np.asarray(offset, dtype=float)
    if arr.shape != (n, K):
        raise ValueError(f"offset must have shape ({n}, {K}) for a multinomial model, got "
                         f"{arr.shape}")
    return da.from_array(arr, chunks=(chunks, (K,)))


def prepare(X, y, weight, offset, folds=None, spec=None, n_groups=1, *, classes=None,
            block_rows=None, scheduler=None, progress=None):
    """``(data, total, block_classes, classes)``: the blocked data and the pass of sums
    per fold label, with the classes checked as in memory (``classes``: those of a
    dask ``y`` when already known)."""
    yb, block_classes, classes, label_pass = labels_and_classes(y, classes)
    data = block_data(X, yb, weight, None, folds, block_rows=block_rows,
                      scheduler=scheduler, progress=progress)
    data.offset = _aligned_offset(offset, data.n, classes.size, data.X.chunks[0])
    data.passes += int(label_pass)
    total = reduce_blocks(data, class_moment_block, spec, n_groups, data.shift,
                          block_classes)
    mass = total["sc"].sum(axis=0)
    if np.any(mass <= 0):
        empty = [str(c) for c, m in zip(classes, mass) if m <= 0]
        raise ValueError(f"class(es) {', '.join(empty)} of y have no positive "
                         "sample_weight; drop them or give them weight")
    return data, total, block_classes, classes


def multinomial_path(X, y, options, *, block_rows=None, scheduler=None, progress=None):
    """The blocked multinomial :class:`~shrinkage.results.Path` of ``options``."""
    check_options(options)
    data, total, block_classes, classes = prepare(
        X, y, options.sample_weight, options.offset, block_rows=block_rows,
        scheduler=scheduler, progress=progress)
    mom = Moments(select(total, np.array([0])), data.shift, 0.0)
    fit = MultinomialFit(mom, options.replace(sample_weight=None, offset=None), data.n, -1,
                         classes, mom.sums["sc"], options.offset is not None)
    run_multinomial_fits(data, [fit], block_classes)
    path = fit.result
    path.extra["passes"] = data.passes
    return path


def multinomial_folds(X, y, weight, offset, options, spec, K, folds, metric, *,
                      classes=None, block_rows=None, scheduler=None, progress=None):
    """The full path, the ``K`` fold paths on its grid (training sums = the other
    labels' sums, fits in lockstep) and the ``(K, L)`` held-out scores: ``(full, table,
    total, data)``; ``classes``: those of a dask ``y`` when already known (stratified
    folds counted them)."""
    check_options(options)
    data, total, block_classes, classes = prepare(
        X, y, weight, offset, folds, spec, K, classes=classes if _is_dask(y) else None,
        block_rows=block_rows, scheduler=scheduler, progress=progress)
    for k in range(K):
        if not total["sw"][k] > 0:
            raise ValueError(f"fold {k} has no rows with positive weight; choose other folds")
        train = total["sc"][np.arange(K) != k].sum(axis=0)
        if np.any(train <= 0):
            raise ValueError(
                f"the training part of fold {k} holds {int(np.sum(train > 0))} of the "
                f"{classes.size} classes; use stratified folds (stratify=True) or fewer "
                "folds")
    has_offset = offset is not None
    full_mom = Moments(select(total, np.arange(K)), data.shift, 0.0)
    fit = MultinomialFit(full_mom, options, data.n, -1, classes, full_mom.sums["sc"],
                         has_offset)
    run_multinomial_fits(data, [fit], block_classes)
    full = fit.result
    fold_options = options.replace(lams=full.lams)
    fits = []
    for k in range(K):
        mom = Moments(select(total, np.arange(K) != k), data.shift, 0.0)
        fits.append(MultinomialFit(mom, fold_options, mom.n_rows, k, classes,
                                   mom.sums["sc"], has_offset))
    run_multinomial_fits(data, fits, block_classes, spec)
    paths = [f.result for f in fits]
    table = np.full((K, full.n_lams), np.nan)
    sums = reduce_blocks(data, multinomial_score_block, spec, block_classes, metric,
                         {k: (pth.coefs, pth.intercepts) for k, pth in enumerate(paths)})
    for k, pth in enumerate(paths):
        table[k, :pth.n_lams] = sums[f"{k}/sum"] / float(total["sw"][k])
    return full, table, total, data
