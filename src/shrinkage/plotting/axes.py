"""Axes helpers shared by the plotting modules."""

from __future__ import annotations

import numpy as np

__all__ = ["check_type", "count_axis", "new_axes", "strength_scale"]


def new_axes(ax, figsize=(6.4, 4.2)):
    """``ax`` itself, or new axes on a new figure of ``figsize`` inches (constrained
    layout) when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def check_type(name, value, cls):
    """Raise ``TypeError`` naming argument ``name`` unless ``value`` is a ``cls``."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")


def count_axis(ax, x, counts, label, n_ticks=6):
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


def strength_scale(ax, values):
    """A logarithmic x axis when the finite strengths ``values`` are all positive and
    span more than a factor of 20; otherwise the axis is left linear."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 20:
        ax.set_xscale("log")
