"""The overfitting picture and the training/validation gap along a path."""

from __future__ import annotations

import numpy as np

from ..results import CVResult, Path
from .axes import check_type, new_axes

__all__ = ["plot_overfit", "plot_gap", "path_scores"]

_ETA_BUDGET = 1 << 22  # numbers in one block of linear predictors (32 MiB of float64)


def plot_overfit(fits, ax=None, *, x_grid=None):
    """The picture of overfitting: a flexible fit without and with regularization.

    Draws a :class:`~shrinkage.tuning.curves.CurveComparison` (from
    :func:`shrinkage.tuning.curves.compare_fits`): the least-squares basis fit that bends
    to chase every point, the ridge fit that keeps the larger pattern, the data and, when
    known, the true curve.

    Parameters
    ----------
    fits : CurveComparison
    ax : matplotlib Axes, optional
    x_grid : array, optional
        Where to draw the curves (default 400 points over the range of the data).

    Returns
    -------
    matplotlib Axes
        Lines labelled "no regularization" and "regularized (lam=...)", the truth
        ("truth") when known, and the data points ("data").
    """
    from ..tuning.curves import CurveComparison

    if not isinstance(fits, CurveComparison):
        raise TypeError(
            "plot_overfit draws a CurveComparison: compute it first with "
            "shrinkage.tuning.curves.compare_fits(x, y) (plots never fit), got "
            f"{type(fits).__name__}"
        )
    x, y = fits.x, fits.y
    grid = np.linspace(x.min(), x.max(), 400) if x_grid is None else np.asarray(x_grid)
    ax = new_axes(ax)
    if fits.truth is not None:
        tx, ty = fits.truth
        ax.plot(tx, ty, color="0.4", lw=2, ls=":", label="truth")
    ax.plot(grid, fits.predict(grid, regularized=False), color="C3", lw=1.5,
            label="no regularization")
    ax.plot(grid, fits.predict(grid), color="C0", lw=2,
            label=f"regularized (lam={fits.lam:.2g})")
    ax.plot(x, y, "o", color="k", ms=4, label="data")
    # Keep the wild curve from flattening the picture: clip the view near the data.
    span = np.ptp(y) if np.ptp(y) > 0 else 1.0
    ax.set_ylim(y.min() - 0.6 * span, y.max() + 0.6 * span)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8, loc="best")
    return ax


# --------------------------------------------------------------------------- gap
def _encode_response(path, y):
    y = np.asarray(y)
    if path.family not in ("binomial", "multinomial") or path.classes is None:
        return np.asarray(y, dtype=float)
    classes = np.asarray(path.classes)
    codes = np.full(y.shape[0], -1, dtype=np.int64)
    for k, c in enumerate(classes):
        codes[y == c] = k
    if np.any(codes < 0):
        bad = y[codes < 0][0]
        raise ValueError(f"y holds the label {bad!r}, which is not a class of the path")
    return codes.astype(float)


def path_scores(path, X, y, metric, sample_weight=None, offset=None):
    """The metric of every path point on ``(X, y)``, in blocks of strengths.

    ``sample_weight`` weights the rows' scores (as cross-validation weights its held-out
    rows); ``offset`` is added to every point's linear predictor (shape ``(n,)``, or
    ``(n, K)`` for a multinomial path).
    """
    import scipy.sparse as sp

    from ..tuning import metrics
    from ..validation import check_feature_names, check_offset, check_sample_weight

    check_feature_names(X, path.feature_names, "the path")
    if not sp.issparse(X):
        X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
    coefs = np.asarray(path.coefs)
    if X.shape[1] != path.n_features:
        raise ValueError(f"X has {X.shape[1]} features but the path has {path.n_features}")
    yc = _encode_response(path, y)
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    offset = check_offset(offset, X.shape[0], coefs.shape[2] if coefs.ndim == 3 else None)
    inter = np.asarray(path.intercepts)
    # Score the path in blocks of lams so the (n, lams[, classes]) linear predictor stays
    # near _ETA_BUDGET numbers whatever n is; per-lam scores do not depend on the blocking.
    width = int(np.prod(coefs.shape[2:], dtype=int))
    step = max(1, _ETA_BUDGET // max(1, X.shape[0] * width))
    out = []
    for lo in range(0, path.n_lams, step):
        c, b = coefs[lo : lo + step], inter[lo : lo + step]
        if coefs.ndim == 2:
            eta = np.asarray(X @ c.T) + b[None, :]
        else:  # (l, p, K) -> (n, l, K)
            eta = np.stack([np.asarray(X @ ck) + bk[None, :] for ck, bk in zip(c, b)], axis=1)
        if offset is not None:
            eta = eta + (offset[:, None] if offset.ndim == 1 else offset[:, None, :])
        out.append(metrics.score_path(metric, path.family, yc, eta, sample_weight))
    return np.concatenate(out)


def plot_gap(path, X, y, ax=None, *, X_val=None, y_val=None, cv=None, metric=None,
             sample_weight=None, offset=None, sample_weight_val=None, offset_val=None):
    """Training versus validation error along the path: where overfitting starts.

    The training error is the metric of each path point on ``(X, y)`` (the data the path
    was fitted on). The validation error is either measured on ``(X_val, y_val)`` or
    taken from a cross-validation result ``cv``. Toward weak ``lam`` the training error
    keeps falling while the validation error turns up: the region weaker than the best
    validation ``lam`` is shaded as overfitting.

    Parameters
    ----------
    path : Path
    X, y : arrays
        Training data (``y`` in the path's labels for classification).
    ax : matplotlib Axes, optional
    X_val, y_val : arrays, optional
        Held-out data. Give these or ``cv``.
    cv : CVResult, optional
    metric : str, optional
        A name from :data:`shrinkage.tuning.metrics.METRICS`; defaults to ``cv.metric`` or the
        family's default.
    sample_weight, offset : arrays of shape (n_samples,), optional
        The weights and offset of the fit, for the training error (cross-validation
        weights its held-out rows and adds their offset the same way).
    sample_weight_val, offset_val : arrays, optional
        The same for ``(X_val, y_val)``.

    Returns
    -------
    matplotlib Axes
        Lines "training error" and "validation error" (or "CV error"), a vertical line
        at the best validation ``lam`` and a shaded "overfitting" span.
    """
    from ..tuning import metrics

    check_type("path", path, Path)
    have_val = X_val is not None or y_val is not None
    if have_val and (X_val is None or y_val is None):
        raise ValueError("give both X_val and y_val")
    if have_val == (cv is not None):
        raise ValueError("give validation data (X_val, y_val) or a CVResult cv, not both")
    if cv is not None:
        check_type("cv", cv, CVResult)
        metric = cv.metric if metric is None else metric
        if metric != cv.metric:
            raise ValueError(f"metric {metric!r} differs from the CV metric {cv.metric!r}")
    metric, greater = metrics.check_metric(metric, path.family)
    train = path_scores(path, X, y, metric, sample_weight, offset)
    if cv is not None:
        val_lams, val, val_label = np.asarray(cv.lams), np.asarray(cv.mean), f"CV {metric}"
    else:
        val_lams, val_label = np.asarray(path.lams), f"validation {metric}"
        val = path_scores(path, X_val, y_val, metric, sample_weight_val, offset_val)
    ax = new_axes(ax)
    ax.set_xscale("log")
    ax.plot(path.lams, train, color="C0", lw=1.5, label=f"training {metric}")
    ax.plot(val_lams, val, color="C3", lw=1.5, label=val_label)
    best = int(np.nanargmax(val) if greater else np.nanargmin(val))
    lam_best = float(val_lams[best])
    ax.axvline(lam_best, color="k", ls="--", lw=1, label=f"best validation lam = {lam_best:.3g}")
    lo = float(min(np.min(path.lams), np.min(val_lams)))
    if lo < lam_best:
        ax.axvspan(lo, lam_best, color="C3", alpha=0.08, label="overfitting")
    ax.set_xlabel("lam (log scale)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8, loc="best")
    return ax
