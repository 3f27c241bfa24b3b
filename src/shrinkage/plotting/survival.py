"""Pictures of survival models: observed and predicted survival by risk group."""

from __future__ import annotations

import numpy as np

from ..survival import BaselineHazard, check_survival, kaplan_meier
from .axes import check_type, new_axes

__all__ = ["plot_risk_groups"]


def plot_risk_groups(time, event, eta, baseline, n_groups=4, ax=None, strata=None):
    """Kaplan-Meier curves of risk groups against the model's mean predicted survival.

    The samples are split into ``n_groups`` groups at the quantiles of ``eta`` (group 1
    the lowest risk). For each group, its Kaplan-Meier curve is drawn as a solid step and
    the mean of its predicted survival curves ``exp(-H0_s(t) exp(eta_i))`` as a dashed
    line of the same colour: a calibrated model's dashed lines follow the steps.

    Parameters
    ----------
    time, event : array-like, shape (n,)
        Observed times and event indicators (1 / True = event).
    eta : array-like, shape (n,)
        Linear predictors of the samples.
    baseline : BaselineHazard
        From :func:`shrinkage.survival.breslow_baseline`.
    n_groups : int, default 4
        Number of quantile groups (empty groups, from tied ``eta``, are skipped).
    ax : matplotlib Axes, optional
    strata : array-like, shape (n,), optional
        Stratum codes of the samples, for a stratified baseline.

    Returns
    -------
    matplotlib Axes
    """
    check_type("baseline", baseline, BaselineHazard)
    d = check_survival(time, event)
    eta = np.asarray(eta, dtype=np.float64)
    if eta.shape != d.time.shape or not np.all(np.isfinite(eta)):
        raise ValueError(f"eta must be a finite array of shape {d.time.shape}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) \
            or n_groups < 1:
        raise ValueError(f"n_groups must be a positive integer, got {n_groups!r}")
    codes = None if strata is None else np.asarray(strata)
    edges = np.quantile(eta, np.linspace(0.0, 1.0, n_groups + 1)[1:-1])
    group = np.searchsorted(edges, eta, side="left")
    grid = np.unique(np.concatenate([[0.0], baseline.times, [d.time.max()]]))
    grid = grid[grid <= d.time.max()]
    ax = new_axes(ax)
    k = 0
    for g in range(n_groups):
        rows = group == g
        if not rows.any():
            continue
        color = f"C{k % 10}"
        k += 1
        label = f"group {g + 1}: eta in [{eta[rows].min():.3g}, {eta[rows].max():.3g}]"
        if d.event[rows].any():
            t, s, _, _ = kaplan_meier(d.time[rows], d.event[rows])
            ax.step(np.r_[0.0, t], np.r_[1.0, s], where="post", color=color, lw=1.6,
                    label=f"{label} (n={int(rows.sum())})")
        else:
            ax.plot([0.0, d.time[rows].max()], [1.0, 1.0], color=color, lw=1.6,
                    label=f"{label} (n={int(rows.sum())})")
        sub = None if codes is None else codes[rows]
        pred = baseline.survival_at(grid, eta[rows], sub).mean(axis=0)
        ax.step(grid, pred, where="post", color=color, ls="--", lw=1.2)
    ax.plot([], [], color="0.3", ls="--", lw=1.2, label="mean predicted survival")
    ax.set_xlabel("time")
    ax.set_ylabel("survival probability")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("observed (Kaplan-Meier) and predicted survival by risk group")
    ax.legend(fontsize=8, loc="lower left")
    return ax
