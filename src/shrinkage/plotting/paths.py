"""Coefficient paths and cross-validation curves with the chosen strengths."""

from __future__ import annotations

import numpy as np

from ..results import CVResult, Path
from .axes import check_type, count_axis, new_axes

__all__ = ["plot_path", "plot_cv", "selected_features", "standardized_sizes"]

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
def standardized_sizes(coef, feature_sd=None):
    """Each feature's coefficient size on the standardized scale, ``|b_j| * sd_j``.

    Parameters
    ----------
    coef : ndarray of shape (p,) or (p, K)
        Coefficients on the original scale (``(p, K)``: one column per class; the size
        is then the Euclidean norm over classes, ``||b_j|| * sd_j``).
    feature_sd : ndarray of shape (p,), optional
        Standard deviation of each feature in the training design (weighted as the fit
        was); without it the sizes are on the original scale.
    """
    coef = np.asarray(coef, dtype=float)
    size = np.abs(coef) if coef.ndim == 1 else np.sqrt(np.sum(coef**2, axis=1))
    return size if feature_sd is None else size * np.asarray(feature_sd, dtype=float)


def selected_features(coef, feature_sd=None, tol=0.0):
    """Which features are selected: non-zero beyond the solver's precision.

    Feature ``j`` is selected when its standardized size ``s_j = |b_j| * sd_j``
    (:func:`standardized_sizes`) satisfies ``s_j > sqrt(tol) * max_k s_k``. The path
    certifies each fit to a relative duality gap (or KKT violation) ``tol``; near the
    optimum the objective is quadratic in the standardized coefficients, so a gap of
    ``tol`` leaves coefficient errors of order ``sqrt(tol)`` relative to their scale, and
    a smaller size cannot be told from zero (with ``tol = 1e-6`` the
    threshold is ``1e-3`` times the largest standardized coefficient). ``tol = 0``
    keeps every non-zero coefficient.

    Returns
    -------
    ndarray of bool, shape (p,)
    """
    size = standardized_sizes(coef, feature_sd)
    tol = float(tol) if np.isfinite(tol) and tol > 0 else 0.0
    top = float(np.max(size)) if size.size else 0.0
    return size > np.sqrt(tol) * top


def _path_sd(path, feature_sd):
    sd = feature_sd if feature_sd is not None else path.extra.get("feature_sd")
    if sd is None:
        return None
    sd = np.asarray(sd, dtype=float)
    if sd.shape != (path.n_features,):
        raise ValueError(f"feature_sd has shape {sd.shape} but the path has "
                         f"{path.n_features} features")
    return sd


def _spread(values, gap):
    """Positions in [0, 1], in the order of ``values``, at least ``gap`` apart and as
    close to ``values`` as that allows (labels that would overlap are pushed apart)."""
    order = np.argsort(values, kind="stable")
    pos = np.clip(np.asarray(values, dtype=float)[order], 0.0, 1.0)
    for i in range(1, pos.size):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    over = pos[-1] - 1.0 if pos.size else 0.0
    if over > 0:
        pos -= min(over, pos[0])
        for i in range(pos.size - 2, -1, -1):
            pos[i] = min(pos[i], pos[i + 1] - gap)
    out = np.empty_like(pos)
    out[order] = pos
    return out


def _label_chosen(ax, path, coefs, xs, chosen, x, names, sd, n_labels):
    """Name every feature selected at the chosen lam (or the ``n_labels`` largest), next
    to the dashed line, spread so that the names do not overlap."""
    i = path.index_of(chosen)
    pos = chosen if x == "lam" else xs[i]
    chosen_coef = np.asarray(path.coefs[i])
    picked = np.flatnonzero(selected_features(chosen_coef, sd, path.tol))
    size = standardized_sizes(chosen_coef, sd)
    picked = picked[np.argsort(-size[picked], kind="stable")]
    if n_labels is not None:
        picked = picked[: int(n_labels)]
    if picked.size == 0:
        return
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    lo, hi = ax.get_ylim()
    frac = (coefs[i, picked] - lo) / (hi - lo) if hi > lo else np.full(picked.size, 0.5)
    # Names a few points right of the line, at heights spread in axes fractions, each
    # tied to its path by a thin leader.
    shift = ScaledTranslation(6 / 72, 0, ax.figure.dpi_scale_trans)
    where = blended_transform_factory(ax.transData + shift, ax.transAxes)
    for j, f in zip(picked, _spread(frac, 0.045)):
        ax.annotate(
            names[j], (pos, coefs[i, j]), xytext=(pos, f), textcoords=where, fontsize=7,
            va="center", ha="left", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"},
        )


def _label_weakest(ax, path, coefs, xs, names, n_labels):
    """Name the largest paths at the weakest lam, where they are largest."""
    end = int(np.argmin(path.lams))
    for j in np.argsort(-np.abs(coefs[end]))[: int(n_labels)]:
        if coefs[end, j] != 0:
            ax.annotate(
                names[j], (xs[end], coefs[end, j]), xytext=(3, 0),
                textcoords="offset points", fontsize=8, va="center",
            )


def _path_values(path, class_index, scale, sd):
    """The drawn coefficients (n_lams, p) and the y label."""
    coefs = np.asarray(path.coefs, dtype=float)
    if scale == "standardized":
        coefs = coefs * (sd[None, :] if coefs.ndim == 2 else sd[None, :, None])
        unit = "standardized: b_j * sd_j"
    else:
        unit = "original scale"
    if coefs.ndim == 2:
        return coefs, f"coefficient ({unit})"
    if class_index is None:
        return np.sqrt(np.sum(coefs**2, axis=2)), f"coefficient norm over classes ({unit})"
    if not (0 <= int(class_index) < coefs.shape[2]):
        raise ValueError(
            f"class_index must be in [0, {coefs.shape[2] - 1}], got {class_index}"
        )
    return coefs[:, :, int(class_index)], f"coefficient (class {class_index}, {unit})"


def plot_path(
    path,
    ax=None,
    *,
    x="lam",
    cv=None,
    lam=None,
    feature_names=None,
    n_labels=None,
    class_index=None,
    max_lines=200,
    scale="original",
    feature_sd=None,
):
    """Coefficients along the regularization path.

    Parameters
    ----------
    path : Path
    ax : matplotlib Axes, optional
    x : {"lam", "l1_norm", "dev_ratio"}
        Horizontal axis: ``lam`` (log scale), the L1 norm ``sum_j |b_j|`` of the drawn
        coefficients, or the fraction of deviance explained.
    cv : CVResult, optional
        Marks its chosen ``lam`` (and names its rule).
    lam : float, optional
        A ``lam`` to mark instead of ``cv``'s.
    feature_names : sequence of str, optional
        Defaults to ``path.feature_names``, else ``x0, x1, ...``.
    n_labels : int, optional
        With a marked ``lam``: every feature selected there
        (:func:`selected_features`) is named next to the dashed line, or only the
        ``n_labels`` largest (standardized sizes when the standard deviations are
        known). Without one: the ``n_labels`` (default 5) largest paths at the weakest
        ``lam`` are named.
    class_index : int, optional
        For multinomial paths, the class to draw; by default each feature's line is the
        Euclidean norm of its coefficients over classes.
    max_lines : int, default 200
        Draw at most this many paths: features never non-zero on the path are left out,
        and beyond that the paths with the largest ``max |b_j|`` are kept (a note in the
        corner says how many are shown).
    scale : {"original", "standardized"}
        Draw ``b_j`` or ``b_j * sd_j``: on the standardized scale features measured in
        different units are comparable (it is the scale the penalty acts on).
    feature_sd : ndarray of shape (n_features,), optional
        The standard deviation of each feature in the training design; defaults to
        ``path.extra["feature_sd"]`` (set by ``shrinkage fit``). Needed for
        ``scale="standardized"``; also ranks the labels and applies the selection rule.

    Returns
    -------
    matplotlib Axes
        One line per feature (``line.get_label()`` is the feature name), feature names as
        text, the number of non-zeros on a top axis, and a dashed vertical line at the
        chosen ``lam``.
    """
    check_type("path", path, Path)
    if x not in _PATH_X:
        raise ValueError(f"x must be one of {_PATH_X}, got {x!r}")
    if scale not in ("original", "standardized"):
        raise ValueError(f"scale must be 'original' or 'standardized', got {scale!r}")
    for arg, value in (("n_labels", 0 if n_labels is None else n_labels),
                       ("max_lines", max_lines)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{arg} must be an integer >= 0, got {value!r}")
    names = _feature_names(path, feature_names)
    sd = _path_sd(path, feature_sd)
    if scale == "standardized" and sd is None:
        raise ValueError(
            "scale='standardized' needs the standard deviation of each feature: pass "
            "feature_sd=, or a path whose extra holds 'feature_sd' (shrinkage fit stores it)"
        )
    coefs, ylabel = _path_values(path, class_index, scale, sd)
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
    count_axis(ax, xs, path.nnz, "non-zero coefficients")
    chosen, label = _chosen_from(cv, lam)
    if chosen is not None:
        pos = chosen if x == "lam" else xs[path.index_of(chosen)]
        ax.axvline(pos, color="k", ls="--", lw=1, label=label)
        _label_chosen(ax, path, coefs, xs, chosen, x, names, sd, n_labels)
    else:
        _label_weakest(ax, path, coefs, xs, names, 5 if n_labels is None else n_labels)
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
