"""The adaptive lasso (Zou 2006): penalty factors from an initial fit, cross-validated
honestly.

Stage one fits an initial model -- ridge or lasso with its strength chosen by
cross-validation (the minimum), or the unpenalised fit (``"ols"``) -- and turns its
standardized coefficients ``t_j = s_j b_j`` into penalty factors::

    pf_j = |t_j| ** (-exponent)        (capped at MAX_WEIGHT; a zero t_j gets the cap)

Stage two is the lasso path with these factors. ``exponent = 0`` gives unit factors: the
lasso itself. :func:`cross_validate_adaptive` refits stage one inside every fold, on the
fold's training rows only, so that the held-out rows never shape the factors that are
scored on them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..engine.path import regularization_path
from ..validation import check_scalar
from .cv import assemble_result, cross_validate, prepare_cv
from .metrics import score_path

__all__ = ["adaptive_weights", "cross_validate_adaptive", "INITIAL_FITS", "MAX_WEIGHT"]

INITIAL_FITS = ("ridge", "lasso", "ols")
MAX_WEIGHT = 1e12  # a feature this heavily penalised never enters the path


def _check(initial, exponent):
    if initial not in INITIAL_FITS:
        raise ValueError(f"initial must be one of {INITIAL_FITS}, got {initial!r}")
    return check_scalar(exponent, "exponent", lo=0.0)


def adaptive_weights(X, y, family="gaussian", initial="ridge", exponent=1.0, *, cv=5,
                     random_state=0, standardize=True, fit_intercept=True):
    """Penalty factors ``|s_j b_j| ** -exponent`` from an initial fit (module docstring).

    ``cv`` folds choose the initial ridge or lasso strength (rule ``"min"``); ``"ols"``
    needs more rows than features. Returns an array of shape (n_features,).
    """
    exponent = _check(initial, exponent)
    kw = dict(standardize=standardize, fit_intercept=fit_intercept)
    if initial == "ols":
        n, p = X.shape
        if n <= p + int(fit_intercept):
            raise ValueError(f"initial='ols' needs more rows than features ({n} rows, {p} "
                             "features); use initial='ridge'")
        path = regularization_path(X, y, family, l1_ratio=0.0, lams=[0.0], **kw)
        b = path.coefs[0]
    else:
        res, path = cross_validate(X, y, family, l1_ratio=0.0 if initial == "ridge" else 1.0,
                                   cv=cv, rule="min", random_state=random_state,
                                   return_path=True, **kw)
        b = path.coefs[res.index_min]
    if standardize:
        if hasattr(X, "multiply"):  # sparse: the moments without densifying
            mean = np.asarray(X.mean(axis=0)).ravel()
            sd = np.sqrt(np.maximum(np.asarray(X.multiply(X).mean(axis=0)).ravel()
                                    - mean**2, 0.0))
        else:
            sd = np.asarray(X, dtype=float).std(axis=0)
        b = b * sd
    t = np.abs(b)
    with np.errstate(divide="ignore", over="ignore"):
        w = np.where(t > 0, t ** -exponent, MAX_WEIGHT) if exponent > 0 else np.ones_like(t)
    return np.minimum(w, MAX_WEIGHT)


def cross_validate_adaptive(X, y, family="gaussian", initial="ridge", exponent=1.0, cv=10,
                            rule="1se", random_state=None, *, repeats=1, groups=None,
                            metric=None, inner_cv=5, return_path=False, **path_kwargs):
    """Cross-validate the adaptive lasso with stage one refitted inside every fold.

    The full-data factors give the full-data path and its ``lam`` grid; each fold computes
    its own factors from its training rows (``inner_cv`` folds for the initial strength)
    and fits that grid. Other parameters are those of
    :func:`~shrinkage.tuning.cv.cross_validate` (``sample_weight``, ``offset``,
    ``penalty_factor`` and ``l1_ratio`` are not supported here).

    Returns
    -------
    CVResult, or (CVResult, Path) when ``return_path``. ``result.extra["adaptive"]`` and
    ``path.extra["adaptive_weights"]`` record the first stage.
    """
    exponent = _check(initial, exponent)
    for key in ("sample_weight", "offset", "penalty_factor", "l1_ratio", "penalty"):
        if path_kwargs.get(key) is not None:
            raise ValueError(f"{key} is not supported by the adaptive lasso's cross-validation")
    seed = 0 if random_state is None else random_state
    setup = prepare_cv(X, y, family, cv, repeats, None, groups, metric, random_state,
                       path_kwargs)
    Xd, yc = setup.design.X, setup.y
    first = dict(standardize=setup.options.standardize,
                 fit_intercept=setup.options.fit_intercept)
    kw = {**path_kwargs, **setup.grid}

    def stage_two(rows, lams=None):
        Xr = Xd if rows is None else Xd[rows]
        yr = yc if rows is None else yc[rows]
        w = adaptive_weights(Xr, yr, family, initial, exponent, cv=inner_cv,
                             random_state=seed, **first)
        extra = {} if lams is None else {"lams": lams}
        return regularization_path(Xr, yr, family, penalty_factor=w,
                                   **{**kw, **extra}), w

    full, weights = stage_two(None)
    rows = []
    for splits in setup.folds.splits:
        for train, test in splits:
            path, _ = stage_two(train, full.lams)
            eta = path.linear_predictor(Xd[test])
            scores = np.full(full.lams.size, np.nan)
            scores[: path.n_lams] = score_path(setup.metric, family, yc[test], eta, None)
            rows.append(scores)
    res = assemble_result(setup, full, rows, rule, random_state)
    info = {"initial": initial, "exponent": float(exponent), "inner_cv": inner_cv}
    res = dataclasses.replace(res, extra={**res.extra, "adaptive": info})
    full = dataclasses.replace(full, extra={**full.extra, "adaptive_weights": weights})
    return (res, full) if return_path else res
