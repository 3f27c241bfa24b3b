"""Pictures of regularization: paths, validation curves, the overfitting gap, sweeps.

Every function takes a result object (and, where the picture needs them, data) plus an
optional matplotlib ``ax``, draws on it and returns it. Without ``ax`` a new figure is
made with :mod:`matplotlib.pyplot`, which falls back to the non-interactive Agg backend
when there is no display, so everything works headless. Nothing here refits a model:
the only computation is evaluating fitted coefficients on data.

Strength axes are drawn with the strength increasing to the right (so the strongest
setting -- the emptiest model -- is on the right for ``lam``), as glmnet does.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _curvefit
from .results import CVResult, Path, SweepResult

__all__ = [
    "plot_path",
    "plot_cv",
    "plot_overfit",
    "plot_gap",
    "plot_sweep",
    "plot_learning_curves",
    "plot_evidence",
    "plot_intervals",
]

_PATH_X = ("lam", "l1_norm", "dev_ratio")
_ETA_BUDGET = 1 << 22  # numbers in one block of linear predictors (32 MiB of float64)


# --------------------------------------------------------------------------- helpers
def _axes(ax, figsize=(6.4, 4.2)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_type(name, value, cls):
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")


def _count_axis(ax, x, counts, label, n_ticks=6):
    """A top axis labelling positions ``x`` with integer ``counts`` (e.g. nnz)."""
    from matplotlib.ticker import NullLocator

    top = ax.secondary_xaxis("top")
    order = np.argsort(x)
    pick = order[np.unique(np.linspace(0, len(order) - 1, min(n_ticks, len(order))).round())
                 .astype(int)]
    top.set_xticks(np.asarray(x)[pick], labels=[str(int(c)) for c in np.asarray(counts)[pick]])
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel(label)
    return top


def _strength_scale(ax, values):
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 20:
        ax.set_xscale("log")


def _feature_names(path, feature_names):
    if feature_names is not None:
        names = [str(n) for n in feature_names]
        if len(names) != path.n_features:
            raise ValueError(
                f"feature_names has {len(names)} entries but the path has "
                f"{path.n_features} features"
            )
        return names
    if path.feature_names is not None:
        return [str(n) for n in path.feature_names]
    return [f"x{j}" for j in range(path.n_features)]


def _chosen_from(cv, lam):
    """(lam_chosen, label) from an explicit lam or a CVResult."""
    if lam is not None:
        lam = float(lam)
        if not np.isfinite(lam) or lam <= 0:
            raise ValueError(f"lam must be a positive finite number, got {lam}")
        return lam, f"chosen lam = {lam:.3g}"
    if cv is not None:
        _check_type("cv", cv, CVResult)
        return cv.lam_chosen, f"chosen lam ({cv.rule}) = {cv.lam_chosen:.3g}"
    return None, None


# --------------------------------------------------------------------------- path
def plot_path(
    path,
    ax=None,
    *,
    x="lam",
    cv=None,
    lam=None,
    feature_names=None,
    n_labels=5,
    class_index=None,
    max_lines=200,
):
    """Coefficients along the regularization path.

    Parameters
    ----------
    path : Path
    ax : matplotlib Axes, optional
    x : {"lam", "l1_norm", "dev_ratio"}
        Horizontal axis: ``lam`` (log scale), the L1 norm ``sum_j |b_j|`` of the
        coefficients (original scale), or the fraction of deviance explained.
    cv : CVResult, optional
        Marks its chosen ``lam`` (and names its rule).
    lam : float, optional
        A ``lam`` to mark instead of ``cv``'s.
    feature_names : sequence of str, optional
        Defaults to ``path.feature_names``, else ``x0, x1, ...``.
    n_labels : int, default 5
        How many of the largest paths (by ``|b_j|`` at the weakest ``lam``) to label.
    class_index : int, optional
        For multinomial paths, the class to draw; by default each feature's line is the
        Euclidean norm of its coefficients over classes.
    max_lines : int, default 200
        Draw at most this many paths: features never non-zero on the path are left out,
        and beyond that the paths with the largest ``max |b_j|`` are kept (a note in the
        corner says how many are shown).

    Returns
    -------
    matplotlib Axes
        One line per feature (``line.get_label()`` is the feature name), the names of the
        largest paths as text, the number of non-zeros on a top axis, and a dashed
        vertical line at the chosen ``lam``.
    """
    _check_type("path", path, Path)
    if x not in _PATH_X:
        raise ValueError(f"x must be one of {_PATH_X}, got {x!r}")
    for arg, value in (("n_labels", n_labels), ("max_lines", max_lines)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{arg} must be an integer >= 0, got {value!r}")
    names = _feature_names(path, feature_names)
    coefs = np.asarray(path.coefs, dtype=float)
    if coefs.ndim == 3:
        if class_index is None:
            coefs = np.sqrt(np.sum(coefs**2, axis=2))
            ylabel = "coefficient norm over classes"
        else:
            if not (0 <= int(class_index) < coefs.shape[2]):
                raise ValueError(
                    f"class_index must be in [0, {coefs.shape[2] - 1}], got {class_index}"
                )
            coefs = coefs[:, :, int(class_index)]
            ylabel = f"coefficient (class {class_index}, original scale)"
    else:
        ylabel = "coefficient (original scale)"
    if x == "lam":
        xs, xlabel = path.lams, "lam (log scale)"
    elif x == "l1_norm":
        xs, xlabel = np.sum(np.abs(coefs), axis=1), "L1 norm of coefficients"
    else:
        xs, xlabel = path.dev_ratio, "fraction of deviance explained"
    xs = np.asarray(xs, dtype=float)

    ax = _axes(ax)
    if x == "lam":
        ax.set_xscale("log")
    # Features that stay at zero add only a line on the axis; thousands of lines add
    # nothing readable and take seconds to draw: keep the largest paths.
    peak = np.max(np.abs(coefs), axis=0)
    drawn = [j for j in np.argsort(-peak, kind="stable") if peak[j] > 0][: int(max_lines)]
    for j in sorted(drawn):
        ax.plot(xs, coefs[:, j], lw=1.2, label=names[j])
    n_active = int(np.count_nonzero(peak))
    if len(drawn) < n_active:
        ax.text(0.01, 0.99, f"the {len(drawn)} largest of {n_active} paths",
                transform=ax.transAxes, ha="left", va="top", fontsize=8, color="0.3")
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    # Label the largest paths at the weakest end (where they are largest).
    end = int(np.argmin(path.lams))
    largest = np.argsort(-np.abs(coefs[end]))[: int(n_labels)]
    for j in largest:
        if coefs[end, j] != 0:
            ax.annotate(
                names[j], (xs[end], coefs[end, j]), xytext=(3, 0),
                textcoords="offset points", fontsize=8, va="center",
            )
    _count_axis(ax, xs, path.nnz, "non-zero coefficients")
    chosen, label = _chosen_from(cv, lam)
    if chosen is not None:
        pos = chosen if x == "lam" else xs[path.index_of(chosen)]
        ax.axvline(pos, color="k", ls="--", lw=1, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# --------------------------------------------------------------------------- cv
def _repeat_lams(cv):
    """Chosen lam of each CV repeat (``cv.extra["repeat_lam_chosen"]``) when there are
    several repeats, else None."""
    vals = cv.extra.get("repeat_lam_chosen")
    if vals is None:
        return None
    vals = np.asarray(vals, dtype=float).ravel()
    return vals if vals.size > 1 else None


def plot_cv(cv, ax=None, *, color="C3"):
    """Cross-validated error (mean +- 1 SE) against ``lam``, with the min and chosen ``lam``.

    Parameters
    ----------
    cv : CVResult
    ax : matplotlib Axes, optional
    color : matplotlib color, default "C3"

    Returns
    -------
    matplotlib Axes
        The mean curve with markers, a band of +- 1 SE, a dotted vertical line at
        ``lam_min`` and a dashed one at the chosen ``lam``, the number of non-zeros on a
        top axis when known, and for repeated CV the spread of the chosen ``lam`` over
        repeats (a shaded span with a tick per repeat).
    """
    _check_type("cv", cv, CVResult)
    lams = np.asarray(cv.lams, dtype=float)
    mean = np.asarray(cv.mean, dtype=float)
    se = np.asarray(cv.se, dtype=float)
    ax = _axes(ax)
    ax.set_xscale("log")
    ax.fill_between(lams, mean - se, mean + se, color=color, alpha=0.2, lw=0,
                    label="+- 1 SE")
    ax.plot(lams, mean, "o-", color=color, ms=3, lw=1, label=f"mean CV {cv.metric}")
    ax.axvline(cv.lam_min, color="0.3", ls=":", lw=1.2,
               label=f"lam_min = {cv.lam_min:.3g}")
    ax.axvline(cv.lam_chosen, color="k", ls="--", lw=1.2,
               label=f"chosen ({cv.rule}) = {cv.lam_chosen:.3g}")
    repeats = _repeat_lams(cv)
    if repeats is not None:
        ax.axvspan(repeats.min(), repeats.max(), color="0.5", alpha=0.12,
                   label=f"chosen lam over {repeats.size} repeats")
        ax.plot(repeats, np.full(repeats.size, 0.02), "|", color="k", ms=10,
                transform=ax.get_xaxis_transform(), label="_repeats")
    if cv.nnz is not None:
        _count_axis(ax, lams, cv.nnz, "non-zero coefficients")
    ax.set_xlabel("lam (log scale)")
    ax.set_ylabel(f"CV {cv.metric} (mean +- 1 SE)")
    ax.legend(fontsize=8, loc="best")
    return ax


# --------------------------------------------------------------------------- overfit
def plot_overfit(
    x=None,
    y=None,
    ax=None,
    *,
    truth=None,
    basis="polynomial",
    degree=15,
    lam="auto",
    x_grid=None,
):
    """The picture of overfitting: a flexible fit without and with regularization.

    A basis of ``degree`` functions of ``x`` (Legendre polynomials or a cubic spline) is
    fitted by least squares (``lam = 0``: the curve bends to chase every point) and by
    ridge (minimising ``(1/2n) ||y - b0 - Z b||^2 + lam/2 ||b||^2`` on standardized basis
    columns ``Z``: it keeps the larger pattern). With ``lam="auto"`` the ridge ``lam``
    minimises the exact leave-one-out error over a log grid.

    Parameters
    ----------
    x, y : array of shape (n,), optional
        The data. When both are omitted, the bundled demo
        (:func:`shrinkage.datasets.make_noisy_curve`) is drawn with its true curve.
    ax : matplotlib Axes, optional
    truth : callable or (x_grid, f_grid), optional
        The true function, drawn when known.
    basis : {"polynomial", "spline"}
    degree : int, default 15
        Number of basis functions (besides the intercept).
    lam : "auto" or float >= 0
    x_grid : array, optional
        Where to draw the curves (default 400 points over the range of ``x``).

    Returns
    -------
    matplotlib Axes
        Lines labelled "no regularization" and "regularized (lam=...)", the truth
        ("truth") when known, and the data points ("data").
    """
    if x is None and y is None:
        from .datasets import make_noisy_curve

        demo = make_noisy_curve()
        x, y = demo.x, demo.y
        if truth is None:
            truth = (demo.x_grid, demo.f_grid)
    elif x is None or y is None:
        raise ValueError("give both x and y, or neither for the bundled demo")
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"plot_overfit needs at least 3 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite (no NaN or inf)")
    B = _curvefit.make_basis(x, basis, degree)
    wild = _curvefit.fit_ridge_curve(x, y, B, 0.0)
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam must be 'auto' or a number >= 0, got {lam!r}")
        smooth = _curvefit.choose_lam_loo(x, y, B)
    else:
        smooth = _curvefit.fit_ridge_curve(x, y, B, lam)
    grid = np.linspace(x.min(), x.max(), 400) if x_grid is None else np.asarray(x_grid)

    ax = _axes(ax)
    if truth is not None:
        if callable(truth):
            tx, ty = grid, np.asarray(truth(grid), dtype=float)
        else:
            tx, ty = (np.asarray(t, dtype=float) for t in truth)
        ax.plot(tx, ty, color="0.4", lw=2, ls=":", label="truth")
    ax.plot(grid, wild.predict(grid), color="C3", lw=1.5, label="no regularization")
    ax.plot(grid, smooth.predict(grid), color="C0", lw=2,
            label=f"regularized (lam={smooth.lam:.2g})")
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


def _path_scores(path, X, y, metric, sample_weight=None):
    import scipy.sparse as sp

    from . import metrics

    if not sp.issparse(X):
        X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
    coefs = np.asarray(path.coefs)
    if X.shape[1] != path.n_features:
        raise ValueError(f"X has {X.shape[1]} features but the path has {path.n_features}")
    yc = _encode_response(path, y)
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
        out.append(metrics.score_path(metric, path.family, yc, eta, sample_weight))
    return np.concatenate(out)


def plot_gap(path, X, y, ax=None, *, X_val=None, y_val=None, cv=None, metric=None):
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
        A name from :data:`shrinkage.metrics.METRICS`; defaults to ``cv.metric`` or the
        family's default.

    Returns
    -------
    matplotlib Axes
        Lines "training error" and "validation error" (or "CV error"), a vertical line
        at the best validation ``lam`` and a shaded "overfitting" span.
    """
    from . import metrics

    _check_type("path", path, Path)
    have_val = X_val is not None or y_val is not None
    if have_val and (X_val is None or y_val is None):
        raise ValueError("give both X_val and y_val")
    if have_val == (cv is not None):
        raise ValueError("give validation data (X_val, y_val) or a CVResult cv, not both")
    if cv is not None:
        _check_type("cv", cv, CVResult)
        metric = cv.metric if metric is None else metric
        if metric != cv.metric:
            raise ValueError(f"metric {metric!r} differs from the CV metric {cv.metric!r}")
    metric, greater = metrics.check_metric(metric, path.family)
    train = _path_scores(path, X, y, metric)
    if cv is not None:
        val_lams, val, val_label = np.asarray(cv.lams), np.asarray(cv.mean), f"CV {metric}"
    else:
        val_lams, val_label = np.asarray(path.lams), f"validation {metric}"
        val = _path_scores(path, X_val, y_val, metric)
    ax = _axes(ax)
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


# --------------------------------------------------------------------------- sweeps
def plot_sweep(sweep, ax=None, *, color="C2"):
    """Validation score (mean +- 1 SE over seeds) against a network knob.

    Parameters
    ----------
    sweep : SweepResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The mean curve, a +- 1 SE band, vertical lines at the best and the chosen value,
        and an arrow-label saying which way is stronger.
    """
    _check_type("sweep", sweep, SweepResult)
    values = np.asarray(sweep.values, dtype=float)
    order = np.argsort(values)
    v, m, s = values[order], np.asarray(sweep.mean)[order], np.asarray(sweep.se)[order]
    ax = _axes(ax)
    _strength_scale(ax, values)
    ax.fill_between(v, m - s, m + s, color=color, alpha=0.2, lw=0, label="+- 1 SE")
    ax.plot(v, m, "o-", color=color, ms=3, lw=1, label=f"mean {sweep.metric}")
    ax.axvline(sweep.value_min, color="0.3", ls=":", lw=1.2,
               label=f"best {sweep.knob} = {sweep.value_min:.3g}")
    ax.axvline(sweep.value_chosen, color="k", ls="--", lw=1.2,
               label=f"chosen ({sweep.rule}) = {sweep.value_chosen:.3g}")
    arrow = "stronger ->" if sweep.stronger == "larger" else "<- stronger"
    ax.text(0.98 if sweep.stronger == "larger" else 0.02, 0.02, arrow,
            transform=ax.transAxes, ha="right" if sweep.stronger == "larger" else "left",
            va="bottom", fontsize=8, color="0.3")
    ax.set_xlabel(sweep.knob)
    ax.set_ylabel(f"{sweep.metric} (mean +- 1 SE over {len(sweep.seeds)} seeds)")
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_learning_curves(sweep, ax=None, *, indices=None):
    """Training and validation curves over epochs for some values of a sweep.

    ``sweep.curves["train"]`` and ``sweep.curves["val"]`` hold arrays of shape
    ``(n_seeds, n_values, n_epochs)`` (or ``(n_values, n_epochs)``); curves are averaged
    over seeds. Validation is drawn solid, training dashed, in one color per value, with
    a marker at each validation minimum (the early-stopping epoch).

    Parameters
    ----------
    sweep : SweepResult
    ax : matplotlib Axes, optional
    indices : sequence of int, optional
        Which values to draw; default the best and the chosen one (and the weakest).

    Returns
    -------
    matplotlib Axes
    """
    _check_type("sweep", sweep, SweepResult)
    if "val" not in sweep.curves:
        raise ValueError("sweep.curves has no 'val' learning curves to plot")
    val = np.asarray(sweep.curves["val"], dtype=float)
    train = sweep.curves.get("train")
    train = None if train is None else np.asarray(train, dtype=float)
    if val.ndim == 3:
        with warnings.catch_warnings():
            # Epochs after every seed stopped early are all NaN: their mean is NaN (a gap
            # in the line), which is what we want to draw.
            warnings.simplefilter("ignore", RuntimeWarning)
            val = np.nanmean(val, axis=0)
            train = None if train is None else np.nanmean(train, axis=0)
    if val.ndim != 2 or val.shape[0] != len(sweep.values):
        raise ValueError(
            f"learning curves must have shape (n_seeds, {len(sweep.values)}, n_epochs) or "
            f"({len(sweep.values)}, n_epochs), got {np.shape(sweep.curves['val'])}"
        )
    if indices is None:
        key = np.asarray(sweep.values, dtype=float)
        weakest = int(np.argmin(key) if sweep.stronger == "larger" else np.argmax(key))
        indices = list(dict.fromkeys([sweep.index_chosen, sweep.index_min, weakest]))
    epochs = np.arange(1, val.shape[1] + 1)
    ax = _axes(ax)
    for c, i in enumerate(indices):
        i = int(i)
        if not (0 <= i < val.shape[0]):
            raise ValueError(f"index {i} is out of range for {val.shape[0]} values")
        name = f"{sweep.knob} = {sweep.values[i]:.3g}"
        ax.plot(epochs, val[i], color=f"C{c}", lw=1.5, label=f"validation, {name}")
        if train is not None:
            ax.plot(epochs, train[i], color=f"C{c}", lw=1, ls="--", label=f"training, {name}")
        stop = int(np.nanargmax(val[i]) if sweep.greater_is_better else np.nanargmin(val[i]))
        ax.plot(epochs[stop], val[i, stop], "v", color=f"C{c}", ms=7, label="_stop")
    if sweep.knob == "epochs":
        ax.axvline(sweep.value_chosen, color="k", ls="--", lw=1,
                   label=f"chosen epochs ({sweep.rule}) = {sweep.value_chosen:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(sweep.metric)
    ax.legend(fontsize=8, loc="best")
    return ax


# --------------------------------------------------------------------------- Bayes
def _get(obj, *names):
    """The first of ``names`` that ``obj`` holds (key or attribute) with a value."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def plot_evidence(result, ax=None, *, cv=None):
    """Log marginal likelihood (evidence) against ``lam``, optionally beside the CV curve.

    Parameters
    ----------
    result : object or dict
        Holds the grid and the curve as ``lams`` / ``log_evidence``, or as the fitted
        attributes ``lams_`` / ``log_evidence_`` (:class:`shrinkage.bayes.EvidenceRidge`),
        and optionally the chosen ``lam`` as ``lam`` / ``lam_``; otherwise the maximiser
        of the curve is marked.
    ax : matplotlib Axes, optional
    cv : CVResult, optional
        Drawn on a second y axis (CV error), with its chosen ``lam``.

    Returns
    -------
    matplotlib Axes
        The evidence curve, a vertical line at the evidence-maximising ``lam`` and, with
        ``cv``, the CV curve on a twin axis (``ax.cv_axes``).
    """
    lams = _get(result, "lams", "lams_")
    logev = _get(result, "log_evidence", "log_evidence_")
    if lams is None or logev is None:
        raise TypeError("result must provide lams and log_evidence (or lams_ and log_evidence_)")
    lams = np.asarray(lams, dtype=float)
    logev = np.asarray(logev, dtype=float)
    if lams.shape != logev.shape or lams.ndim != 1:
        raise ValueError(
            f"lams and log_evidence must be 1-D of one length, got {lams.shape} and "
            f"{logev.shape}"
        )
    chosen = _get(result, "lam", "lam_", "lam_best")
    chosen = float(lams[np.nanargmax(logev)]) if chosen is None else float(chosen)
    ax = _axes(ax)
    ax.set_xscale("log")
    ax.plot(lams, logev, color="C4", lw=1.5, label="log evidence")
    ax.axvline(chosen, color="C4", ls="--", lw=1.2, label=f"evidence lam = {chosen:.3g}")
    ax.set_xlabel("lam (log scale)")
    ax.set_ylabel("log marginal likelihood")
    handles, labels = ax.get_legend_handles_labels()
    if cv is not None:
        _check_type("cv", cv, CVResult)
        twin = ax.twinx()
        twin.plot(cv.lams, cv.mean, color="C3", lw=1, label=f"CV {cv.metric}")
        twin.axvline(cv.lam_chosen, color="C3", ls=":", lw=1.2,
                     label=f"CV chosen ({cv.rule}) = {cv.lam_chosen:.3g}")
        twin.set_ylabel(f"CV {cv.metric}")
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        ax.cv_axes = twin
    ax.legend(handles, labels, fontsize=8, loc="best")
    return ax


def plot_intervals(
    result, ax=None, *, lower=None, upper=None, feature_names=None, truth=None, level=None
):
    """Posterior means with credible intervals, one row per coefficient (a forest plot).

    Parameters
    ----------
    result : array of shape (p,), or object
        The point estimates, or a fitted Bayesian estimator
        (:class:`shrinkage.bayes.EvidenceRidge`, :class:`shrinkage.bayes.BayesianLasso`):
        its ``coef_`` (posterior mean) and ``credible_intervals(level)`` are drawn.
    ax : matplotlib Axes, optional
    lower, upper : array of shape (p,), optional
        Interval bounds (required when ``result`` is an array).
    feature_names : sequence of str, optional
    truth : array of shape (p,), optional
        True coefficients, drawn as crosses.
    level : float, optional
        The credible level (default 0.9 for estimators; with explicit bounds only used
        in the legend).

    Returns
    -------
    matplotlib Axes
        Horizontal interval lines (a LineCollection), point markers, a zero line, and
        the true values when given.
    """
    if isinstance(result, (np.ndarray, list, tuple)):
        mean = np.asarray(result, dtype=float)
    else:
        mean = _get(result, "coef_")
        if lower is None and upper is None and hasattr(result, "credible_intervals"):
            level = 0.9 if level is None else level
            iv = np.asarray(result.credible_intervals(level), dtype=float)
            lower, upper = iv[:, 0], iv[:, 1]
    if mean is None or lower is None or upper is None:
        raise TypeError("plot_intervals needs point estimates and lower and upper bounds")
    mean = np.asarray(mean, dtype=float).ravel()
    lower = np.asarray(lower, dtype=float).ravel()
    upper = np.asarray(upper, dtype=float).ravel()
    p = mean.size
    if lower.size != p or upper.size != p:
        raise ValueError(
            f"lower and upper must have {p} entries like the estimates, got "
            f"{lower.size} and {upper.size}"
        )
    if np.any(lower > upper):
        raise ValueError("lower must be <= upper for every coefficient")
    names = [f"x{j}" for j in range(p)] if feature_names is None else list(feature_names)
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} entries, expected {p}")
    rows = np.arange(p)[::-1]  # first coefficient on top
    ax = _axes(ax, figsize=(6.4, max(2.5, 0.3 * p + 1)))
    lvl = "" if level is None else f"{100 * float(level):.0f}% "
    ax.hlines(rows, lower, upper, color="C0", lw=2, label=f"{lvl}credible interval")
    ax.plot(mean, rows, "o", color="C0", ms=4, label="posterior mean")
    if truth is not None:
        truth = np.asarray(truth, dtype=float).ravel()
        if truth.size != p:
            raise ValueError(f"truth has {truth.size} entries, expected {p}")
        ax.plot(truth, rows, "x", color="C3", ms=6, label="truth")
    ax.axvline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_yticks(rows, labels=[str(n) for n in names])
    ax.set_xlabel("coefficient")
    ax.legend(fontsize=8, loc="best")
    return ax
