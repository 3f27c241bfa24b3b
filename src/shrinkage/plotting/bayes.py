"""Bayesian pictures: the evidence curve and posterior intervals."""

from __future__ import annotations

import numpy as np

from ..results import CVResult
from .axes import check_type, new_axes

__all__ = ["plot_evidence", "plot_intervals"]


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
    ax = new_axes(ax)
    ax.set_xscale("log")
    ax.plot(lams, logev, color="C4", lw=1.5, label="log evidence")
    ax.axvline(chosen, color="C4", ls="--", lw=1.2, label=f"evidence lam = {chosen:.3g}")
    ax.set_xlabel("lam (log scale)")
    ax.set_ylabel("log marginal likelihood")
    handles, labels = ax.get_legend_handles_labels()
    if cv is not None:
        check_type("cv", cv, CVResult)
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
    ax = new_axes(ax, figsize=(6.4, max(2.5, 0.3 * p + 1)))
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
