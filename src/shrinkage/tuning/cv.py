"""Cross-validation of whole regularization paths: :func:`cross_validate`.

How it works (glmnet's ``cv.glmnet``, generalised):

1. The ``lam`` grid comes from the full data: one path on all samples fixes
   ``lams`` (and gives ``nnz`` per ``lam``).
2. Each fold fits a whole warm-started path on its training part with the *same*
   ``lams`` and scores every path point on its held-out part
   (:mod:`shrinkage.tuning.metrics`). The engine decides how a fold sees its training
   rows (:class:`shrinkage.engine.shared.SharedDesign`): by zero sample weights on the one
   shared ``X``, sharing ``X^T X`` across folds for dense gaussian designs, or by a copy
   of the rows for sparse gaussian ones.
3. Per ``lam``, fold scores are averaged with weights equal to each fold's total sample
   weight, and the standard error is glmnet's ``cvsd``::

       mean_l = sum_f W_f s_fl / sum_f W_f
       se_l   = sqrt( (sum_f W_f (s_fl - mean_l)^2 / sum_f W_f) / (F - 1) )

4. A rule (:mod:`shrinkage.tuning.selection`, which also holds the rule grammar) picks the
   index: ``"min"``, ``"1se"`` (default; ``"<k>se"`` for any ``k``), or ``"<r>%"``
   (strongest within ``r`` percent of the best).

**Folds whose path stops early.** Folds are given the grid, so the engine's early stop
is off for them by default (as in glmnet), but a fold's path can still end before the last
``lam`` (``early_stop=True`` passed through, or divergence on separable classes). That
fold's scores are NaN from there on, and ``mean``/``se`` are NaN wherever *any* fold is
NaN: the grid is truncated to the strengths every fold reached. We do not follow
glmnet's ``na.rm`` mean over the folds that happened to get there, because such a mean is
taken over a different, smaller set of folds than its neighbours and is not comparable
with them; the minimum could land on a ``lam`` that only a few easy folds reached.
``extra["n_folds_reached"]`` records how many folds reached each ``lam``.

**Folds past the minimum.** By default (``held_out_stop=True``) a fold's path also ends
once its held-out loss has stayed well above its best for a run of strengths, and the
curve ends at the first such fold once the curve itself has risen past its minimum for
good; folds that stopped too early are fitted on (:mod:`shrinkage.tuning.held_out_stop`;
the fitting itself is ``shrinkage.tuning.fold_paths``).

**Repeats.** With ``repeats=R`` the folds are drawn afresh ``R`` times.
``fold_scores`` stacks all ``R * F`` folds; ``mean`` is their weighted mean (equal to the
mean of the per-repeat means); ``se`` is the mean of the per-repeat standard errors --
repeated folds reuse the same samples, so pooling ``R * F`` folds as if independent would
shrink ``se`` by about ``sqrt(R)`` for no real gain in certainty. The rule is also applied
to each repeat alone; ``extra["repeat_lam_chosen"]`` holds the ``R`` choices, which show how
stable the choice is.

**Parallel and distributed.** Folds run side by side through
:func:`shrinkage.tuning.parallel.parallel_map` (threads by default: the numba kernels
release the GIL). Any joblib backend works, selected either with the ``backend=``
argument or a context manager; to run the folds on a Dask cluster::

    from dask.distributed import Client
    import joblib

    client = Client("tcp://scheduler-host:8786")   # or Client(LocalCluster(...))
    with joblib.parallel_config(backend="dask"):
        result = shrinkage.cross_validate(X, y, cv=10)
    # or, equivalently: shrinkage.cross_validate(X, y, cv=10, backend="dask")

Threads run in parallel only while the engine is inside its numba kernels; on small
problems, where the engine's Python-level bookkeeping dominates, processes
(``backend="loky"``) can be faster once the fold paths take long enough to pay for starting
the workers and sending them ``X``.

joblib's Dask backend scatters large arguments to the workers once; since every fold
receives the same shared design object, ``X`` travels to each worker once, not once per
fold.

Every fold's computation is deterministic and the results are gathered in fold order,
so the same ``random_state`` gives identical folds, scores and choice whatever ``n_jobs``
or backend.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..engine.path import PathOptions
from ..engine.shared import SharedDesign
from ..model.cox import survival_response
from ..results import CVResult
from ..validation import (
    check_flag,
    check_offset,
    check_response_matrix,
    check_sample_weight,
    check_target,
)
from . import selection
from .fold_checks import (
    binomial_proportions,
    check_fold_classes,
    check_fold_counts,
    check_fold_weights,
    proportion_folds,
)
from .fold_paths import run_paths
from .folds import make_folds
from .metrics import check_metric
from .nonconvex import nonconvex_guard
from .summary import cv_summary

__all__ = ["cross_validate", "cv_summary", "CVSetup", "prepare_cv", "run_paths",
           "assemble_result", "path_options", "fit_with_extensions"]

_CLASSIFICATION = ("binomial", "multinomial")
_GRID_ARGS = ("lams", "n_lams", "lam_min_ratio")
_PATH_ARGS = frozenset(f.name for f in dataclasses.fields(PathOptions))


# ----------------------------------------------------------------- input checks
def _prepare_target(y, family, n, strata=None):
    if family == "mgaussian":
        return check_response_matrix(y, n), None
    if family == "cox":  # strata travel with the rows of the encoded response
        yv = survival_response(y, strata=strata)
        if yv.shape[0] != n:
            raise ValueError(f"y has {yv.shape[0]} rows but X has {n}")
        return yv, None
    y = check_target(y, n)
    if family == "binomial" and binomial_proportions(y):  # (no classes: see prepare_cv)
        return y.astype(np.float64), None
    if family in _CLASSIFICATION:
        classes, codes = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"y has one class only ({classes[0]!r}); classification needs at least 2"
            )
        if family == "binomial" and classes.size != 2:
            raise ValueError(
                f"family='binomial' needs exactly 2 classes, y has {classes.size}; "
                "use family='multinomial'"
            )
        return codes.astype(np.float64), classes
    if y.dtype.kind not in "fiub":
        raise TypeError(f"y must be numeric for family {family!r}, got dtype {y.dtype}")
    return y.astype(np.float64), None


def path_options(family, kwargs):
    """:class:`~shrinkage.engine.path.PathOptions` from ``**path_kwargs`` (names checked)."""
    unknown = sorted(set(kwargs) - _PATH_ARGS)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}: "
                        "not arguments of shrinkage.regularization_path")
    if "family" in kwargs:
        raise TypeError("family is given twice")
    return PathOptions(family=family, **kwargs)


@dataclass
class CVSetup:
    """Checked data, folds and path options shared by every fit of one cross-validation.

    ``options`` holds neither the grid (``grid``: the user's ``lams``, ``n_lams``,
    ``lam_min_ratio``) nor the weights and offset, which are split with the folds.
    ``held_out_stop``: fold paths may end once their held-out loss has risen well past
    its best (:mod:`shrinkage.tuning.held_out_stop`).
    """

    design: SharedDesign
    y: np.ndarray
    classes: np.ndarray | None
    family: str
    metric: str
    greater: bool
    folds: object
    weight: np.ndarray | None
    offset: np.ndarray | None
    options: PathOptions
    grid: dict
    held_out_stop: bool = True

    def fold_weight(self, test):
        """The weight of a test fold (row indices ``test``): its number of rows, or the
        sum of its sample weights. A fold's mean error counts with this weight."""
        return float(test.size if self.weight is None else np.sum(self.weight[test]))

    def fold_weights(self):
        """:meth:`fold_weight` of every test fold, repeats stacked in order."""
        return np.array([self.fold_weight(te) for sp in self.folds.splits for _, te in sp])


#: Largest spread of a gaussian y around its mean whose squared errors stay finite.
_SQUARE_MAX = 1e152


def prepare_cv(X, y, family, cv, repeats, stratify, groups, metric, random_state,
               path_kwargs, held_out_stop=True):
    """Check everything once and draw the folds (see :func:`cross_validate`)."""
    if family not in ("gaussian", "binomial", "poisson", "multinomial", "mgaussian", "cox"):
        raise ValueError(
            "family must be 'gaussian', 'binomial', 'poisson', 'multinomial', 'mgaussian' "
            f"or 'cox', got {family!r}"
        )
    metric, greater = check_metric(metric, family)
    kwargs = dict(path_kwargs)
    weight = kwargs.pop("sample_weight", None)
    offset = kwargs.pop("offset", None)
    grid = {k: kwargs.pop(k) for k in _GRID_ARGS if k in kwargs}
    strata = kwargs.pop("strata", None)
    if kwargs.get("feature_names") is None and hasattr(X, "columns"):
        kwargs["feature_names"] = [str(c) for c in X.columns]  # kept with the path
    options = path_options(family, kwargs)
    design = SharedDesign(X, family)
    n = design.shape[0]
    y, classes = _prepare_target(y, family, n, strata)
    if metric in ("mse", "deviance") and family in ("gaussian", "mgaussian") and y.size:
        # (the path itself rescales y; a held-out squared error cannot be rescaled back)
        spread = float(np.max(np.abs(y - np.mean(y, axis=0))))
        if not spread < _SQUARE_MAX:
            raise ValueError(
                f"y spans about {spread:.1e} around its mean: its squared errors ({metric}) "
                "overflow double precision; divide y by a power of ten (the fit is "
                "equivariant: coefficients scale with y)")
    stratify = check_flag(stratify, "stratify", none=True)
    if family == "binomial" and classes is None:  # proportions
        stratify = proportion_folds(metric, stratify)
    if stratify is None:  # survival folds keep the share of events
        stratify = family in (*_CLASSIFICATION, "cox") and groups is None
    elif stratify and family not in (*_CLASSIFICATION, "cox"):
        raise ValueError(
            f"stratify=True needs class labels; family {family!r} has a continuous response"
        )
    labels = y["event"] if family == "cox" else y
    folds = make_folds(
        n, cv, y=labels if stratify else None, stratify=bool(stratify), groups=groups,
        repeats=repeats, random_state=random_state, X=design.X,
    )
    if classes is not None:
        check_fold_classes(folds, y, classes, metric)
    if weight is not None:
        # Normalising keeps fold weights on the same scale as plain counts / n.
        weight = check_sample_weight(weight, n) * n
        check_fold_weights(folds, weight)
    if family == "poisson" and not np.any(y < 0):  # (negative counts: the fit names them)
        check_fold_counts(folds, y, weight)
    if offset is not None:
        # NaN/inf and shape refused by name before any fold is fitted
        offset = check_offset(offset, n, classes.size if family == "multinomial" else None)
    return CVSetup(design, y, classes, family, metric, greater, folds, weight, offset,
                   options, grid, check_flag(held_out_stop, "held_out_stop"))


def assemble_result(setup, full, score_rows, rule, random_state, held_out_stop=None):
    """One CVResult from the fold score rows of one full-data path (``held_out_stop``:
    where the folds' held-out losses ended the curve, :func:`run_paths`' stop)."""
    lams = np.asarray(full.lams, dtype=float)
    folds = setup.folds
    weights = setup.fold_weights()
    # A user grid may run past where the full-data path stopped (early_stop=True).
    table = np.vstack(score_rows)[:, : lams.size]
    R, F = folds.n_repeats, folds.n_folds
    rep_mean, rep_se = np.empty((R, lams.size)), np.empty((R, lams.size))
    for r in range(R):
        rep_mean[r], rep_se[r] = cv_summary(table[r * F:(r + 1) * F], weights[r * F:(r + 1) * F])
    # (one repeat: its summary and choices are the whole table's, the same sums)
    mean = rep_mean[0].copy() if R == 1 else cv_summary(table, weights)[0]
    se = rep_se.mean(axis=0)
    if np.all(np.isnan(mean)):
        raise RuntimeError("no strength was reached by every fold; nothing to choose from")
    g = setup.greater
    rep_min = np.array([selection.best(lams, m, stronger="larger", greater_is_better=g)
                        for m in rep_mean])
    rep_chosen = np.array([selection.apply_rule(rule, lams, m, s, greater_is_better=g)
                           for m, s in zip(rep_mean, rep_se)])
    i_min, i_chosen = (rep_min[0], rep_chosen[0]) if R == 1 else (
        selection.best(lams, mean, stronger="larger", greater_is_better=g),
        selection.apply_rule(rule, lams, mean, se, greater_is_better=g))
    ids = folds.fold_ids
    if ids is not None and R == 1:
        ids = ids[0]
    extra = {
        "family": setup.family,
        "l1_ratio": float(full.l1_ratio),
        "n_folds": F,
        "n_repeats": R,
        "n_folds_reached": np.sum(~np.isnan(table), axis=0),
        "repeat_mean": rep_mean,
        "repeat_se": rep_se,
        "repeat_index_min": rep_min,
        "repeat_index_chosen": rep_chosen,
        "repeat_lam_chosen": lams[rep_chosen],
        "held_out_stop": held_out_stop,
    }
    if setup.classes is not None:
        extra["classes"] = setup.classes
    return CVResult(
        lams=lams, fold_scores=table, fold_weights=weights, mean=mean, se=se,
        metric=setup.metric, greater_is_better=g, index_min=int(i_min),
        index_chosen=int(i_chosen), rule=selection.parse_rule(rule).text,
        nnz=np.asarray(full.nnz), fold_ids=ids, random_state=random_state, extra=extra,
    )


def cross_validate(
    X,
    y,
    family="gaussian",
    l1_ratio=1.0,
    cv=10,
    repeats=1,
    stratify=None,
    groups=None,
    metric=None,
    rule="1se",
    n_jobs=None,
    random_state=None,
    *,
    backend=None,
    return_path=False,
    held_out_stop=True,
    **path_kwargs,
):
    """Cross-validate a regularization path and choose its strength.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Response (gaussian, poisson), class labels (binomial, multinomial), or binomial
        proportions in [0, 1] with the trials as ``sample_weight``.
    family : {"gaussian", "binomial", "poisson", "multinomial"}
    l1_ratio : float in [0, 1]
        glmnet's ``alpha``; 1 is the lasso.
    cv : int, array of fold ids, or scikit-learn splitter, default 10
        See :func:`shrinkage.tuning.folds.make_folds`.
    repeats : int, default 1
        Repeated CV with fresh random folds (``cv`` an int).
    stratify : bool or None
        Stratify folds by class; None means yes for binomial/multinomial labels.
    groups : array-like of shape (n_samples,), optional
        Keep each group within one fold.
    metric : str or None
        See :mod:`shrinkage.tuning.metrics`; None gives the family's default (deviance,
        mse).
    rule : str or float, default "1se"
        ``"min"``, ``"<k>se"``, a number ``k`` or ``"<r>%"``
        (:func:`shrinkage.tuning.selection.parse_rule`).
    n_jobs : int or None
        Parallel jobs (threads by default); None uses every core (one thread for a
        design of at most 100,000 entries whose folds would take under 0.05 s in all).
        With several threads on a larger design, the folds start beside the full-data
        path as soon as it has fixed its grid; the result is the same as with one.
    random_state : int or None
        Seed of the fold assignment.
    backend : str or None
        joblib backend, e.g. ``"dask"``; None keeps threads or the active joblib context.
    return_path : bool, default False
        Also return the full-data :class:`~shrinkage.results.Path`.
    held_out_stop : bool, default True
        End a fold's path once its held-out loss has stayed at least 3 standard errors
        above its best for 10 strengths, and the cross-validated curve with it once that
        curve has too (:mod:`shrinkage.tuning.held_out_stop`; folds that stopped too
        early are fitted on). The weak end of a path, where the fit nearly interpolates,
        is its dearest part and no rule can choose it. ``result.extra["held_out_stop"]``
        is the number of strengths the curve kept, or None. Applies to the metrics that
        are means of per-sample losses and to every family but Cox. False fits every fold
        to the end of the grid.
    **path_kwargs
        Passed to :func:`shrinkage.regularization_path` (``lams``, ``n_lams``,
        ``lam_min_ratio``, ``penalty_factor``, ``standardize``, ``sample_weight``,
        ``offset``, ``tol``, ...). ``sample_weight`` and ``offset`` are split with the folds.
        Without ``lams``, a grid whose CV minimum sits at an edge is extended by a decade
        and cross-validated again, up to 3 times (``result.extra["grid_extensions"]``;
        :mod:`shrinkage.tuning.extension`).

    Returns
    -------
    CVResult, or (CVResult, Path) when ``return_path`` is true.
        ``result.lam_chosen`` is the choice (glmnet's ``lambda.1se`` under the default
        rule), ``result.lam_min`` glmnet's ``lambda.min``; ``mean``/``se`` are
        ``cvm``/``cvsd``; ``nnz`` is ``nzero``.

    Examples
    --------
    >>> import shrinkage
    >>> from shrinkage.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> cv = shrinkage.cross_validate(data.X, data.y, cv=10, rule="1se", random_state=0)
    >>> bool(cv.lam_chosen >= cv.lam_min)  # the rule's choice is never the weaker
    True
    >>> int(cv.nnz[cv.index_min]), int(cv.nnz[cv.index_chosen])  # features kept
    (9, 4)
    """
    selection.parse_rule(rule)
    return_path = check_flag(return_path, "return_path")
    if "l1_ratio" in path_kwargs:
        raise TypeError("l1_ratio is given twice")
    with nonconvex_guard(path_kwargs.get("penalty")):  # one warning, not one per fold
        setup = prepare_cv(X, y, family, cv, repeats, stratify, groups, metric,
                           random_state, path_kwargs, held_out_stop)
        full, res = fit_with_extensions(setup, l1_ratio, n_jobs, backend, rule, random_state)
    return (res, full) if return_path else res


def fit_with_extensions(setup, l1_ratio, n_jobs, backend, rule, random_state, first=None):
    """``(full path, CVResult)`` of one ``l1_ratio``, the grid extended while the minimum
    sits at its edge (:mod:`shrinkage.tuning.extension`); ``first`` is an already computed
    ``(full, result)`` on the initial grid."""
    from .extension import extend_at_edges

    def rerun(s):
        fulls, scores, stops = run_paths(s, [l1_ratio], n_jobs, backend)
        return fulls[0], assemble_result(s, fulls[0], scores, rule, random_state, stops[0])

    full, res = rerun(setup) if first is None else first
    return extend_at_edges(setup, l1_ratio, full, res, rerun, "lams" in setup.grid)
