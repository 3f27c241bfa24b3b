"""Checks that every cross-validation fold can be fitted and scored, before any is.

A fold that cannot be fitted (its training part misses a class, has no weight, or holds
no positive count for a poisson model) or scored (its held-out part has no weight, or one
class for ``auc``) is refused by name, with the fold and repeat, instead of failing inside
its fit with a message about the data as a whole.
"""

import numpy as np

#: metrics that need a class label per sample: a binomial proportion has none
_LABEL_METRICS = ("misclassification", "accuracy", "auc")


def binomial_proportions(y):
    """Whether a binomial response holds proportions (successes / trials, the trials as
    ``sample_weight``): numbers in [0, 1], not all of them 0 or 1."""
    if y.dtype.kind not in "fiu" or not y.size:
        return False
    yf = np.asarray(y, dtype=np.float64)
    return bool(np.all((yf >= 0) & (yf <= 1)) and np.any((yf > 0) & (yf < 1)))


def proportion_folds(metric, stratify):
    """``stratify`` for a cross-validation of binomial proportions (None: no, there is no
    class to stratify by); a metric or ``stratify=True`` that needs class labels is
    refused by name."""
    if metric in _LABEL_METRICS:
        raise ValueError(f"metric {metric!r} needs 0/1 labels; y holds proportions in "
                         "[0, 1] (use deviance, log_loss, mse or mae)")
    if stratify:
        raise ValueError("stratify=True needs class labels; y holds proportions in [0, 1]")
    return False


def check_fold_classes(folds, codes, classes, metric):
    n_classes = classes.size
    counts = np.bincount(codes.astype(np.int64), minlength=n_classes)
    for r, splits in enumerate(folds.splits):
        for f, (train, test) in enumerate(splits):
            present = np.unique(codes[train]).size
            if present < n_classes:
                rare = int(np.argmin(counts))
                if counts[rare] < len(splits):
                    raise ValueError(
                        f"class {str(classes[rare])!r} has {counts[rare]} sample(s), fewer than "
                        f"the {len(splits)} folds, so some training part misses it; drop or "
                        "merge rare classes, or use fewer folds (cv=...)")
                raise ValueError(
                    f"the training part of fold {f} (repeat {r}) holds {present} of the "
                    f"{n_classes} classes; use stratified folds (stratify=True) or fewer "
                    "folds"
                )
            if metric == "auc" and np.unique(codes[test]).size < 2:
                raise ValueError(
                    f"validation fold {f} (repeat {r}) holds one class only, so its auc is "
                    "undefined; use stratified folds, fewer folds, or another metric"
                )


def check_fold_weights(folds, weight):
    # A fold whose held-out (or training) rows all have weight zero has no score (or no
    # fit): say so by name instead of failing later in the fold summary.
    for r, splits in enumerate(folds.splits):
        for f, (train, test) in enumerate(splits):
            for part, idx in (("held-out", test), ("training", train)):
                if not np.sum(weight[idx]) > 0:
                    raise ValueError(
                        f"sample_weight is zero on every {part} row of fold {f} (repeat "
                        f"{r}); give those rows weight or choose other folds (cv=...)"
                    )


def check_fold_counts(folds, y, weight):
    # A poisson fit needs a positive weighted count; a fold's training part without one
    # would fail inside the fit with a message about y as a whole.
    live = y > 0 if weight is None else (y > 0) & (weight > 0)
    for r, splits in enumerate(folds.splits):
        for f, (train, _) in enumerate(splits):
            if not np.any(live[train]):
                raise ValueError(
                    f"the training part of fold {f} (repeat {r}) has no positive count of y "
                    f"({int(np.sum(live))} row(s) with one in all), so the poisson model "
                    "cannot be fitted there; use fewer folds (cv=...)")
