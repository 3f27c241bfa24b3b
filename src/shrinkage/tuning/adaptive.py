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
from dataclasses import dataclass

import numpy as np

from ..engine.path import regularization_path
from ..validation import check_scalar
from . import selection
from .cv import assemble_result, cross_validate, prepare_cv
from .grid_choice import AxisGridResult
from .grid_cv import choose_on_grid
from .metrics import score_path

__all__ = ["adaptive_weights", "cross_validate_adaptive", "cross_validate_adaptive_grid",
           "AdaptiveGridResult", "initial_sizes",
           "weights_from_sizes", "INITIAL_FITS", "MAX_WEIGHT"]

#: The first-stage fits ``adaptive=`` accepts.
INITIAL_FITS = ("ridge", "lasso", "ols")
#: The largest penalty factor: a feature this heavily penalised never enters the path.
MAX_WEIGHT = 1e12


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
    t = initial_sizes(X, y, family, initial, cv=cv, random_state=random_state,
                      standardize=standardize, fit_intercept=fit_intercept)
    return weights_from_sizes(t, exponent)


def initial_sizes(X, y, family="gaussian", initial="ridge", *, cv=5, random_state=0,
                  standardize=True, fit_intercept=True):
    """The first stage alone: ``|t_j| = |s_j b_j|`` of the initial fit, shape (n_features,)
    (:func:`adaptive_weights` without the exponent, so one first stage serves many)."""
    _check(initial, 1.0)
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
    return np.abs(b)


def weights_from_sizes(t, exponent):
    """``|t_j| ** -exponent`` capped at :data:`MAX_WEIGHT` (a zero ``t_j`` gets the cap;
    ``exponent = 0`` gives ones)."""
    t = np.abs(np.asarray(t, dtype=float))
    exponent = check_scalar(exponent, "exponent", lo=0.0)
    if exponent == 0:
        return np.ones_like(t)
    with np.errstate(divide="ignore", over="ignore"):
        w = np.where(t > 0, t ** -exponent, MAX_WEIGHT)
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
    setup, fulls, rows = _two_stage_paths(X, y, family, initial, [exponent], cv, repeats,
                                          groups, metric, random_state, inner_cv,
                                          path_kwargs)
    res = _result(setup, fulls[0], rows[0], rule, random_state, initial, exponent, inner_cv)
    return (res, fulls[0]) if return_path else res


def _two_stage_paths(X, y, family, initial, exponents, cv, repeats, groups, metric,
                     random_state, inner_cv, path_kwargs):
    """``(setup, full paths, fold score rows)``, one path and one list of rows per
    exponent; stage one is fitted once on the full data and once in every fold, on the
    fold's training rows, and serves every exponent."""
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

    def stage_one(rows):
        return initial_sizes(Xd if rows is None else Xd[rows],
                             yc if rows is None else yc[rows], family, initial,
                             cv=inner_cv, random_state=seed, **first)

    t = stage_one(None)
    fulls = []
    for e in exponents:
        w = weights_from_sizes(t, e)
        full = regularization_path(Xd, yc, family, penalty_factor=w, **kw)
        fulls.append(dataclasses.replace(full, extra={**full.extra, "adaptive_weights": w}))
    rows = [[] for _ in exponents]
    for splits in setup.folds.splits:
        for train, test in splits:
            t = stage_one(train)
            for i, e in enumerate(exponents):
                path = regularization_path(Xd[train], yc[train], family,
                                           penalty_factor=weights_from_sizes(t, e),
                                           **{**kw, "lams": fulls[i].lams})
                eta = path.linear_predictor(Xd[test])
                scores = np.full(fulls[i].lams.size, np.nan)
                scores[: path.n_lams] = score_path(setup.metric, family, yc[test], eta, None)
                rows[i].append(scores)
    return setup, fulls, rows


def _result(setup, full, rows, rule, random_state, initial, exponent, inner_cv):
    res = assemble_result(setup, full, rows, rule, random_state)
    info = {"initial": initial, "exponent": float(exponent), "inner_cv": inner_cv}
    return dataclasses.replace(res, extra={**res.extra, "adaptive": info})


@dataclass(frozen=True, eq=False)
class AdaptiveGridResult(AxisGridResult):
    """Cross-validation of the adaptive lasso over ``exponent`` x ``lam``.

    Attributes
    ----------
    initial : str
        The first-stage fit.
    exponents : ndarray of shape (m,)
        Increasing.
    results : list of CVResult
        One per exponent, each on its own ``lam`` grid, all on the same folds.
    index_min, index_chosen : tuple of int
        ``(i, j)``: ``exponents[i]`` and ``results[i].lams[j]``.
    rule : str
    """

    initial: str
    exponents: np.ndarray
    results: list
    index_min: tuple
    index_chosen: tuple
    rule: str

    @property
    def exponent_chosen(self) -> float:
        """The ``exponent`` of the chosen cell."""
        return self.value_chosen

    @property
    def axis(self) -> str:
        """The name of the second tuning axis: ``"adaptive_exponent"``."""
        return "adaptive_exponent"

    @property
    def values(self) -> np.ndarray:
        """The axis values: :attr:`exponents`."""
        return self.exponents


def cross_validate_adaptive_grid(X, y, family="gaussian", initial="ridge",
                                 exponents=(0.5, 1.0, 2.0), cv=10, rule="1se",
                                 random_state=None, *, repeats=1, groups=None, metric=None,
                                 inner_cv=5, return_path=False, **path_kwargs):
    """Cross-validate the adaptive lasso over ``exponent`` x ``lam``, honestly.

    Every exponent shares the folds and the first stages (one full-data fit and one per
    fold, on its training rows): only the factors ``|t_j| ** -exponent`` differ. The cell
    is chosen as on the ``l1_ratio`` and ``gamma`` axes
    (:func:`~shrinkage.tuning.selection.sparsest_within_grid`): the sparsest cell within the
    rule's slack of the best, ties to the larger ``lam``, then the better mean, then the
    *smaller* exponent -- the stronger setting, nearer the lasso (``exponent = 0`` is the
    lasso), which shrinks large initial effects more. Other parameters are those of
    :func:`cross_validate_adaptive`; one exponent gives its ``result``.

    Returns
    -------
    AdaptiveGridResult, or (AdaptiveGridResult, list of Path) when ``return_path``.
    """
    selection.parse_rule(rule)
    exps = np.atleast_1d(np.asarray(exponents, dtype=float))
    if exps.ndim != 1 or exps.size == 0:
        raise ValueError("exponents must be a non-empty 1-D sequence")
    exps = np.array([_check(initial, e) for e in exps])
    if np.unique(exps).size != exps.size:
        raise ValueError(f"exponents must be distinct, got {exps}")
    exps = np.sort(exps)
    setup, fulls, rows = _two_stage_paths(X, y, family, initial, list(exps), cv, repeats,
                                          groups, metric, random_state, inner_cv,
                                          path_kwargs)
    results = [_result(setup, f, r, rule, random_state, initial, e, inner_cv)
               for f, r, e in zip(fulls, rows, exps)]
    # choose_on_grid breaks its last ties to the later row: give it the largest exponent
    # first, so that the smallest (nearest the lasso) is the later one
    m = exps.size
    (a, b), (c, d) = choose_on_grid(results[::-1], setup.greater, rule)
    out = AdaptiveGridResult(initial, exps, results, (m - 1 - a, b), (m - 1 - c, d),
                             selection.parse_rule(rule).text)
    return (out, fulls) if return_path else out
