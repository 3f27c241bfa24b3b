"""Pictures of regularization: paths, validation curves, the overfitting gap, sweeps.

Every function takes a result object (and, where the picture needs them, data) plus an
optional matplotlib ``ax``, draws on it and returns it. Without ``ax`` a new figure is
made with :mod:`matplotlib.pyplot`, which falls back to the non-interactive Agg backend
when there is no display, so everything works headless. Nothing here refits a model:
the only computation is evaluating fitted coefficients on data.

Strength axes are drawn with the strength increasing to the right (so the strongest
setting -- the emptiest model -- is on the right for ``lam``), as glmnet does.
"""

from .bayes import plot_evidence, plot_intervals
from .fits import plot_gap, plot_overfit
from .inference import plot_selection_intervals, plot_stability_path
from .networks import plot_learning_curves, plot_sweep
from .paths import plot_cv, plot_path
from .penalty import plot_cv_grid, plot_penalty
from .survival import plot_risk_groups

__all__ = [
    "plot_path",
    "plot_cv",
    "plot_overfit",
    "plot_gap",
    "plot_sweep",
    "plot_learning_curves",
    "plot_evidence",
    "plot_intervals",
    "plot_stability_path",
    "plot_selection_intervals",
    "plot_risk_groups",
    "plot_penalty",
    "plot_cv_grid",
]
