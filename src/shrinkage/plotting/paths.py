"""Coefficient paths and cross-validation curves with the chosen strengths."""

from __future__ import annotations

import numpy as np

from ..results import CVResult, Path
from .axes import check_type, count_axis, new_axes

__all__ = ["plot_path", "plot_cv"]

_PATH_X = ("lam", "l1_norm", "dev_ratio")


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
        check_type("cv", cv, CVResult)
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
    check_type("path", path, Path)
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

    ax = new_axes(ax)
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
    count_axis(ax, xs, path.nnz, "non-zero coefficients")
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
    check_type("cv", cv, CVResult)
    lams = np.asarray(cv.lams, dtype=float)
    mean = np.asarray(cv.mean, dtype=float)
    se = np.asarray(cv.se, dtype=float)
    ax = new_axes(ax)
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
        count_axis(ax, lams, cv.nnz, "non-zero coefficients")
    ax.set_xlabel("lam (log scale)")
    ax.set_ylabel(f"CV {cv.metric} (mean +- 1 SE)")
    ax.legend(fontsize=8, loc="best")
    return ax
