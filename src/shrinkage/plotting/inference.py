"""Pictures of inference after selection: stability paths and interval tables."""

from __future__ import annotations

import numpy as np

from .axes import new_axes

__all__ = ["plot_stability_path", "plot_selection_intervals"]

_INTERVAL_NAMES = {"selective": "selective", "data_splitting": "data-splitting",
                   "debiased": "debiased", "bootstrap": "bootstrap percentile"}


def plot_stability_path(result, ax=None, *, max_labels=10):
    """Selection probability of every feature against the strength (stability path).

    Stable features are drawn in colour and labelled, the others in grey; a dashed line
    marks the threshold and a shaded band the region over which stability is taken.

    Parameters
    ----------
    result : InferenceResult
        From :func:`shrinkage.inference.stability_selection`.
    ax : matplotlib Axes, optional
    max_labels : int, default 10
        Stable features labelled at the right end of their line.

    Returns
    -------
    matplotlib Axes
    """
    if getattr(result, "method", None) != "stability":
        raise TypeError("plot_stability_path needs the result of stability_selection")
    d = result.details
    lams = np.asarray(d["lams"])
    probs = np.asarray(d["probabilities"])
    ax = new_axes(ax)
    stable = np.flatnonzero(result.selected)
    for j in np.flatnonzero(~result.selected):
        ax.plot(lams, probs[:, j], color="0.75", lw=0.8)
    for k, j in enumerate(stable):
        ax.plot(lams, probs[:, j], color=f"C{k % 10}", lw=1.8)
        if k < max_labels:
            ax.annotate(str(result.feature_names[j]), (lams[-1], probs[-1, j]),
                        fontsize=8, xytext=(3, 0), textcoords="offset points")
    ax.axhline(d["threshold"], color="C3", ls="--", lw=1,
               label=f"threshold {d['threshold']:g}")
    region_end = lams[d["region"] - 1]
    ax.axvspan(region_end, lams[0], color="C0", alpha=0.08,
               label=f"region (PFER bound {d['pfer_bound']:.2g})")
    ax.set_xscale("log")
    ax.invert_xaxis()  # strength decreasing to the right: features enter left to right
    ax.set_xlabel("lam")
    ax.set_ylabel("selection probability")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"stability selection: {stable.size} stable of {result.n_features}")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_selection_intervals(result, ax=None, *, only_selected=True, truth=None):
    """Estimates with their intervals, one row per feature (a forest plot).

    Parameters
    ----------
    result : InferenceResult
        From :func:`~shrinkage.inference.selective_lasso`,
        :func:`~shrinkage.inference.debiased_lasso` or
        :func:`~shrinkage.inference.selection_bootstrap`.
    ax : matplotlib Axes, optional
    only_selected : bool, default True
        Draw only the rows of ``result.selected``.
    truth : array of shape (n_features,), optional
        True coefficients, drawn as crosses (simulations).

    Returns
    -------
    matplotlib Axes
    """
    if getattr(result, "method", None) not in _INTERVAL_NAMES:
        raise TypeError("plot_selection_intervals needs an InferenceResult with intervals "
                        "(selective_lasso, debiased_lasso or selection_bootstrap)")
    keep = np.flatnonzero(result.selected if only_selected else np.isfinite(result.estimate))
    rows = np.arange(keep.size)[::-1]
    ax = new_axes(ax, figsize=(6.4, max(2.5, 0.3 * keep.size + 1)))
    label = f"{100 * result.level:.0f}% {_INTERVAL_NAMES[result.method]} interval"
    lower = np.nan_to_num(result.lower[keep], neginf=-1e300)
    upper = np.nan_to_num(result.upper[keep], posinf=1e300)
    ax.hlines(rows, lower, upper, color="C0", lw=2, label=label)
    ax.plot(result.estimate[keep], rows, "o", color="C0", ms=4, label="estimate")
    if truth is not None:
        truth = np.asarray(truth, dtype=float).ravel()
        if truth.size != result.n_features:
            raise ValueError(f"truth has {truth.size} entries, expected {result.n_features}")
        ax.plot(truth[keep], rows, "x", color="C3", ms=6, label="truth")
    finite = np.concatenate([result.estimate[keep], result.lower[keep], result.upper[keep]])
    finite = finite[np.isfinite(finite)]
    if finite.size:
        span = np.ptp(finite) or 1.0
        ax.set_xlim(finite.min() - 0.1 * span, finite.max() + 0.1 * span)
    ax.axvline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.set_yticks(rows, labels=[str(n) for n in result.feature_names[keep]])
    ax.set_xlabel("coefficient")
    ax.legend(fontsize=8, loc="best")
    return ax
