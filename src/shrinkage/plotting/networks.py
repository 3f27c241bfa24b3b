"""Network sweeps: validation score against a knob, and learning curves."""

from __future__ import annotations

import warnings

import numpy as np

from ..results import SweepResult
from .axes import check_type, new_axes, strength_scale

__all__ = ["plot_sweep", "plot_learning_curves"]


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
    check_type("sweep", sweep, SweepResult)
    values = np.asarray(sweep.values, dtype=float)
    order = np.argsort(values)
    v, m, s = values[order], np.asarray(sweep.mean)[order], np.asarray(sweep.se)[order]
    ax = new_axes(ax)
    strength_scale(ax, values)
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
    check_type("sweep", sweep, SweepResult)
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
    ax = new_axes(ax)
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
