"""The estimators' second tuning axis: a list of ``gamma`` values or of adaptive exponents.

:class:`~shrinkage.PenalizedRegressor` and
:class:`~shrinkage.PenalizedClassifier` take ``gamma`` (MCP, SCAD) and
``adaptive_exponent`` (the adaptive lasso) either as one number or as a list. A list is
cross-validated with ``lam`` on a two-axis grid, like scikit-learn's ``ElasticNetCV``
over ``l1_ratio``:

* ``gamma=[2, 3, 5]`` -- :func:`~shrinkage.tuning.gamma_cv.cross_validate_gamma`. Larger
  ``gamma`` is the stronger setting (nearer the lasso, large coefficients shrunk more).
* ``adaptive_exponent=[0.5, 1, 2]`` with ``adaptive=...`` --
  :func:`~shrinkage.tuning.adaptive.cross_validate_adaptive_grid`, the first stage
  refitted inside every fold. Smaller exponents are the stronger settings (0 is the
  lasso).

The cell is the sparsest within the rule's slack of the best
(:func:`~shrinkage.tuning.selection.sparsest_within_grid`); ties go to the larger ``lam``,
then the better mean, then the stronger axis value. After ``fit``: ``gamma_`` (the chosen
or given ``gamma``; None for the elastic net), ``adaptive_exponent_`` (None without
``adaptive``), ``cv_grid_`` (the grid result, or None for one value) and, as for one
value, ``cv_`` (the chosen value's CVResult with the grid's choice as ``index_chosen``)
and ``path_``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .model.concave import check_penalty
from .validation import check_scalar

__all__ = ["axis_values", "check_axes", "fit_on_grid"]


def axis_values(value):
    """The values of a list-like ``value`` as a tuple of floats; None for a number/None."""
    if value is None or isinstance(value, (numbers.Real, str)):
        return None
    values = np.asarray(value, dtype=object).ravel()
    if values.size == 0:
        raise ValueError("an empty list of values was given")
    return tuple(values)


def check_axes(est):
    """Refuse, by name, a ``gamma`` or ``adaptive_exponent`` the estimator cannot use."""
    gammas = axis_values(est.gamma)
    for g in gammas if gammas is not None else (est.gamma,):
        check_penalty(est.penalty, g)
    exps = axis_values(est.adaptive_exponent)
    for e in exps if exps is not None else (est.adaptive_exponent,):
        check_scalar(e, "adaptive_exponent", lo=0.0)
    if est.adaptive is None and (exps is not None or est.adaptive_exponent != 1.0):
        raise ValueError("adaptive_exponent applies to the adaptive lasso: set adaptive="
                         "'ridge', 'lasso' or 'ols'")
    if (gammas is not None or exps is not None) and est.lam != "auto":
        raise ValueError("a list of gamma or adaptive_exponent values is cross-validated "
                         "with lam: it needs lam='auto'")


def fit_on_grid(est, X, y, family, kw, seed):
    """Set ``gamma_``, ``adaptive_exponent_`` and ``cv_grid_``; for a list of values fit
    the grid and return ``(coef, intercept)`` of the chosen cell, else return None (the
    estimator fits its one value itself)."""
    from .tuning.grid_choice import grid_choice

    name, g = check_penalty(est.penalty, None if axis_values(est.gamma) else est.gamma)
    est.gamma_ = None if name == "elasticnet" else g
    est.adaptive_exponent_ = None
    est.cv_grid_ = None
    gammas, exps = axis_values(est.gamma), axis_values(est.adaptive_exponent)
    if est.adaptive is not None and exps is None:
        est.adaptive_exponent_ = float(est.adaptive_exponent)
    if gammas is None and exps is None:
        return None
    common = dict(cv=est.cv, metric=est.metric, rule=est.rule, random_state=seed,
                  return_path=True, n_lams=est.n_lams, lam_min_ratio=est.lam_min_ratio,
                  **{k: v for k, v in kw.items() if k not in ("penalty", "gamma")})
    if exps is not None:
        from .tuning.adaptive import cross_validate_adaptive_grid

        if est.penalty_factor is not None:
            raise ValueError("penalty_factor cannot be combined with adaptive (the adaptive "
                             "lasso computes its own factors)")
        grid, paths = cross_validate_adaptive_grid(X, y, family, initial=est.adaptive,
                                                   exponents=[float(e) for e in exps],
                                                   **common)
        est.adaptive_exponent_ = grid.exponent_chosen
    else:
        from .tuning.gamma_cv import cross_validate_gamma

        grid, paths = cross_validate_gamma(X, y, family, penalty=name,
                                           gammas=[float(v) for v in gammas],
                                           l1_ratio=float(est.l1_ratio), n_jobs=est.n_jobs,
                                           **common)
        est.gamma_ = grid.gamma_chosen
    est.cv_grid_ = grid
    est.cv_, est.path_ = grid_choice(grid, paths)
    index = est.cv_.index_chosen
    est.lam_ = float(est.path_.lams[index])
    est._uses_offset = kw.get("offset") is not None
    return (np.asarray(est.path_.coefs[index], dtype=float),
            np.asarray(est.path_.intercepts[index], dtype=float))
