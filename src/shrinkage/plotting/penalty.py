"""The shape of a penalty next to the lasso's, and the CV minimum along a second tuning axis.

:func:`plot_penalty` draws, for MCP or SCAD at strength ``lam`` (standardized units), the
penalty ``rho(|t|)`` and the univariate solution of an orthonormal gaussian design
(:func:`shrinkage.model.concave.concave_threshold` with ``v = 1``), each next to the
lasso's (``lam |t|`` and the soft threshold). The lasso's threshold lies ``lam`` below the
identity for every large ``|z|``: it shrinks large coefficients as hard as small ones.
MCP and SCAD meet the identity at ``|z| = gamma lam``: beyond it they do not shrink.

:func:`plot_cv_grid` draws the best mean CV score reached at each value of a second
tuning axis (``gamma`` or the adaptive exponent), with its standard error, and marks the
value the grid rule chose.
"""

from __future__ import annotations

import numpy as np

from ..model.concave import check_penalty, concave_threshold, concave_value, soft_threshold
from .axes import new_axes

__all__ = ["plot_penalty", "plot_cv_grid", "penalty_curves"]

#: Colours of the drawn penalty and of the lasso it is compared with.
_COLORS = ("C3", "0.45")


def penalty_curves(penalty, gamma=None, *, lam=1.0, t_max=None, n=401):
    """The curves :func:`plot_penalty` draws, as arrays.

    Returns
    -------
    dict
        ``"t"`` (the grid, ``[-t_max, t_max]``, default ``t_max = (gamma + 1.5) lam``),
        ``"value"`` and ``"lasso_value"`` (``rho(|t|)`` and ``lam |t|``), ``"threshold"``
        and ``"lasso_threshold"`` (the univariate solutions at ``z = t``).
    """
    name, g = check_penalty(penalty, gamma)
    if name == "elasticnet":
        raise ValueError("plot_penalty draws penalty='mcp' or 'scad' (next to the lasso)")
    lam = float(lam)
    if not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be a finite number > 0, got {lam!r}")
    t_max = (g + 1.5) * lam if t_max is None else float(t_max)
    t = np.linspace(-t_max, t_max, int(n))
    return {"t": t, "value": concave_value(name, t, lam, g), "lasso_value": lam * np.abs(t),
            "threshold": concave_threshold(name, t, lam, g),
            "lasso_threshold": soft_threshold(t, lam), "penalty": name, "gamma": g,
            "lam": lam}


def plot_penalty(penalty, gamma=None, axes=None, *, lam=1.0, t_max=None):
    """Draw a folded-concave penalty and its threshold function next to the lasso's.

    Parameters
    ----------
    penalty : {"mcp", "scad"}
    gamma : float, optional
        Its concavity (default: ncvreg's, 3 for MCP and 3.7 for SCAD).
    axes : pair of matplotlib Axes, optional
        Left: the penalty value ``rho(|t|; lam, gamma)`` against ``lam |t|``. Right: the
        univariate solution ``t_hat(z)`` of ``(z - t)^2 / 2 + rho(|t|)`` against the soft
        threshold, with the identity dotted. New side-by-side axes when None.
    lam : float, default 1
        The strength (the curves scale with it).
    t_max : float, optional
        Half-width of the drawn range (default ``(gamma + 1.5) lam``).

    Returns
    -------
    tuple of two Axes
    """
    c = penalty_curves(penalty, gamma, lam=lam, t_max=t_max)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
    left, right = axes
    label = f"{c['penalty'].upper()} (gamma = {c['gamma']:g})"
    t, lam = c["t"], c["lam"]
    left.plot(t, c["lasso_value"], color=_COLORS[1], ls="--", label="lasso")
    left.plot(t, c["value"], color=_COLORS[0], label=label)
    left.set_xlabel("standardized coefficient t")
    left.set_ylabel("penalty")
    left.set_title("penalty value")
    right.plot(t, t, color="0.75", ls=":", lw=1, label="no shrinkage")
    right.plot(t, c["lasso_threshold"], color=_COLORS[1], ls="--", label="lasso")
    right.plot(t, c["threshold"], color=_COLORS[0], label=label)
    for x in (-c["gamma"] * lam, c["gamma"] * lam):
        right.axvline(x, color="0.85", lw=1)
    right.set_xlabel("least-squares estimate z (orthonormal design)")
    right.set_ylabel("penalized estimate")
    right.set_title("threshold function")
    for ax in (left, right):
        ax.legend(frameon=False, fontsize="small")
    return left, right


def plot_cv_grid(result, ax=None, *, color="C0"):
    """The best mean CV score at each value of a second tuning axis, the choice marked.

    Parameters
    ----------
    result : GammaCVResult or AdaptiveGridResult
        A cross-validation over ``axis values x lam``
        (:func:`shrinkage.tuning.gamma_cv.cross_validate_gamma`,
        :func:`shrinkage.tuning.adaptive.cross_validate_adaptive_grid`): its
        ``values``, ``axis``, ``results`` and ``index_chosen``.
    ax : matplotlib Axes, optional
    color : str

    Returns
    -------
    matplotlib Axes
    """
    for name in ("values", "axis", "results", "index_chosen"):
        if not hasattr(result, name):
            raise TypeError(f"result must be a grid cross-validation result (with "
                            f"{name!r}), got {type(result).__name__}")
    ax = new_axes(ax)
    values = np.asarray(result.values, dtype=float)
    best = np.array([r.mean[r.index_min] for r in result.results])
    se = np.array([r.se[r.index_min] for r in result.results])
    ax.errorbar(values, best, yerr=se, color=color, marker="o", capsize=3,
                label="best mean CV score over lam (1 SE)")
    i, j = result.index_chosen
    chosen = result.results[i]
    ax.plot([values[i]], [chosen.mean[j]], marker="*", ms=14, color="C3", ls="none",
            label=f"chosen: {result.axis} = {values[i]:g}, lam = {chosen.lams[j]:.3g} "
                  f"({result.rule})")
    if values.min() > 0 and values.max() / values.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(result.axis)
    ax.set_ylabel(f"CV {result.results[0].metric}")
    ax.legend(frameon=False, fontsize="small")
    return ax
