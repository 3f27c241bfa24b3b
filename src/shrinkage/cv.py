"""Cross-validation of whole regularization paths: :func:`cross_validate`.

How it works (glmnet's ``cv.glmnet``, generalised):

1. The ``lam`` grid comes from the full data: one path on all samples fixes
   ``lams`` (and gives ``nnz`` per ``lam``).
2. Each fold fits a whole warm-started path on its training part with the *same*
   ``lams`` and scores every path point on its held-out part (:mod:`shrinkage.metrics`).
   The training part is selected by giving held-out rows sample weight zero, so every
   fold works on the one shared ``X`` (no copy of ``X[train]``).
3. Per ``lam``, fold scores are averaged with weights equal to each fold's total sample
   weight, and the standard error is glmnet's ``cvsd``::

       mean_l = sum_f W_f s_fl / sum_f W_f
       se_l   = sqrt( (sum_f W_f (s_fl - mean_l)^2 / sum_f W_f) / (F - 1) )

4. A rule (:mod:`shrinkage.selection`) picks the index: ``"min"``, ``"1se"`` (default;
   ``"<k>se"`` for any ``k``), or ``"<r>%"`` (strongest within ``r`` percent of the best).

**Folds whose path stops early.** Folds are given the grid, so the engine's early stop
is off for them by default (as in glmnet), but a fold's path can still end before the last
``lam`` (``early_stop=True`` passed through, or divergence on separable classes). That
fold's scores are NaN from there on, and ``mean``/``se`` are NaN wherever *any* fold is
NaN: the grid is truncated to the strengths every fold reached. We do not follow
glmnet's ``na.rm`` mean over the folds that happened to get there, because such a mean is
taken over a different, smaller set of folds than its neighbours and is not comparable
with them; the minimum could land on a ``lam`` that only a few easy folds reached.
``extra["n_folds_reached"]`` records how many folds reached each ``lam``.

**Repeats.** With ``repeats=R`` the folds are drawn afresh ``R`` times.
``fold_scores`` stacks all ``R * F`` folds; ``mean`` is their weighted mean (equal to the
mean of the per-repeat means); ``se`` is the mean of the per-repeat standard errors --
repeated folds reuse the same samples, so pooling ``R * F`` folds as if independent would
shrink ``se`` by about ``sqrt(R)`` for no real gain in certainty. The rule is also applied
to each repeat alone; ``extra["repeat_lam_chosen"]`` holds the ``R`` choices, which show how
stable the choice is.

**Parallel and distributed.** Folds run through :class:`joblib.Parallel` with
``prefer="threads"``: the numba kernels release the GIL, so threads share ``X`` without
copying it to other processes. ``n_jobs=None`` uses every core, except that a small
design (at most 100,000 entries, where a fold takes a millisecond or two) runs its folds
in the calling thread: starting threads would cost more than it saves. Any joblib backend
works, selected either with the ``backend=`` argument or a context manager; to run the
folds on a Dask cluster::

    from dask.distributed import Client
    import joblib

    client = Client("tcp://scheduler-host:8786")   # or Client(LocalCluster(...))
    with joblib.parallel_config(backend="dask"):
        result = shrinkage.cross_validate(X, y, cv=10)
    # or, equivalently: shrinkage.cross_validate(X, y, cv=10, backend="dask")

Threads run in parallel only while the engine is inside its numba kernels; on small
problems, where the engine's Python-level bookkeeping dominates, processes can be faster
(``backend="loky"``; measured 3.0 s against 5.1 s for 10-fold CV of a 100-lam logistic
path on scikit-learn's breast-cancer data, 2 cores).

joblib's Dask backend scatters large arguments to the workers once; since every fold
receives the same ``X`` object, ``X`` travels to each worker once, not once per fold.

Every fold's computation is deterministic and the results are gathered in fold order,
so the same ``random_state`` gives identical folds, scores and choice whatever ``n_jobs``
or backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs, parallel_config
from threadpoolctl import threadpool_limits

from . import selection
from .folds import make_folds
from .gram import SharedGram, take_rows
from .metrics import check_metric, score_path
from .results import CVResult

__all__ = ["cross_validate", "cross_validate_elastic_net", "ElasticNetCVResult", "cv_summary"]

_CLASSIFICATION = ("binomial", "multinomial")
_GRID_ARGS = ("lams", "n_lams", "lam_min_ratio")


def _fit_path(X, y, **kwargs):
    from .path import regularization_path

    return regularization_path(X, y, **kwargs)


# --------------------------------------------------------------------------- rules
def parse_rule(rule):
    """Turn a rule name into ``(kind, value)``: ``("se", k)`` or ``("tolerance", rel)``.

    ``"min"`` is ``("se", 0.0)``; ``"1se"``, ``"0.5se"``, ``"2se"`` give ``("se", k)``;
    ``"1%"`` gives ``("tolerance", 0.01)``.
    """
    if not isinstance(rule, str):
        raise TypeError(f"rule must be a string such as 'min', '1se' or '1%', got {rule!r}")
    text = rule.strip().lower()
    if text == "min":
        return "se", 0.0
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*se", text)
    if m:
        return "se", float(m.group(1))
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*%", text)
    if m:
        return "tolerance", float(m.group(1)) / 100.0
    raise ValueError(
        f"rule {rule!r} not understood; use 'min', '<k>se' (e.g. '1se') or '<r>%' (e.g. '1%')"
    )


def _apply_rule(rule, lams, mean, se, greater):
    kind, value = parse_rule(rule)
    if kind == "se":
        return selection.strongest_within(
            lams, mean, np.where(np.isnan(mean), np.nan, se), k=value, stronger="larger",
            greater_is_better=greater,
        )
    return selection.strongest_within_tolerance(
        lams, mean, rel=value, stronger="larger", greater_is_better=greater
    )


# --------------------------------------------------------------------- aggregation
def cv_summary(fold_scores, fold_weights):
    """glmnet's ``cvm`` and ``cvsd`` from a (folds x strengths) score table.

    Parameters
    ----------
    fold_scores : ndarray of shape (n_folds, n_lams)
        NaN where a fold has no score.
    fold_weights : ndarray of shape (n_folds,)
        Positive weight of each fold (its total sample weight).

    Returns
    -------
    mean, se : ndarray of shape (n_lams,)
        ``mean = sum_f W_f s_f / sum_f W_f`` and
        ``se = sqrt(sum_f W_f (s_f - mean)^2 / sum_f W_f / (n_folds - 1))``;
        NaN wherever any fold's score is NaN (see the module docstring).
    """
    s = np.asarray(fold_scores, dtype=float)
    w = np.asarray(fold_weights, dtype=float)
    if s.ndim != 2 or w.shape != (s.shape[0],):
        raise ValueError(
            f"fold_scores must be (n_folds, n_lams) and fold_weights (n_folds,), got "
            f"{s.shape} and {w.shape}"
        )
    if s.shape[0] < 2:
        raise ValueError("at least two folds are needed for a standard error")
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise ValueError("fold_weights must be positive and finite")
    wn = w / w.sum()
    with np.errstate(over="ignore", invalid="ignore"):
        mean = wn @ s  # NaN propagates: truncation where any fold is missing
        var = wn @ (s - mean) ** 2
    se = np.sqrt(var / (s.shape[0] - 1))
    # A fold whose held-out predictions overflow (e.g. a poisson fold that overfits and
    # predicts counts ~1e250) makes that strength unusable: it is marked failed (NaN),
    # like a strength a fold never reached, rather than an inf the rules cannot rank.
    failed = ~np.isfinite(mean) | ~np.isfinite(se)
    mean[failed] = np.nan
    se[failed] = np.nan
    return mean, se


# ------------------------------------------------------------------- fold worker
def _fold_weights(n, train, weight):
    """Sample weights that keep ``train`` and give every other row weight zero."""
    w = np.zeros(n)
    w[train] = 1.0 if weight is None else weight[train]
    return w


def _fold_job(X, y, train, test, lams, family, l1_ratio, metric, weight, offset, kwargs):
    """Fit one fold's whole path on ``train`` with the given ``lams``; score on ``test``.

    The training rows are selected by zero sample weights rather than by copying
    ``X[train]``: every fold (and thread, and Dask task) shares the one ``X``, and the
    engine's weighted objective, standardization and certificates make a zero-weight row
    exactly absent (``tests/test_cv.py`` compares with fits on copied rows). The exception
    is a sparse gaussian design (see :func:`_copies_fold_rows`).
    """
    X_test = take_rows(X, test)
    if _copies_fold_rows(X, family):
        Xf, yf = _row_subset(X, train), y[train]
        wf = None if weight is None else weight[train]
        off = None if offset is None else offset[train]
    else:
        Xf, yf, wf, off = X, y, _fold_weights(y.shape[0], train, weight), offset
        if "_shared_gram" in kwargs:
            # the held-out rows, gathered once: the engine downdates full-data sums with
            # them (shrinkage.gram), and they are scored below
            kwargs = {**kwargs, "_held_out": (test, X_test)}
    path = _fit_path(Xf, yf, family=family, l1_ratio=l1_ratio, lams=lams, sample_weight=wf,
                     offset=off, **kwargs)
    n_done = path.n_lams
    if n_done > lams.size or not np.allclose(path.lams, lams[:n_done], rtol=1e-12, atol=0):
        raise RuntimeError("the fold's path did not follow the requested lam grid")
    # X was validated once for all folds: predict without re-checking its rows
    eta = path._linear_predictor_checked(
        X_test, offset=None if offset is None else offset[test]
    )
    w_te = None if weight is None else weight[test]
    scores = np.full(lams.size, np.nan)
    scores[:n_done] = score_path(metric, family, y[test], eta, w_te)
    return scores


_FOLD_COPY_MAX_BYTES = 256 * 2**20


def _copies_fold_rows(X, family):
    """Whether folds fit on a copy of their training rows instead of zero weights.

    Only for sparse gaussian designs of at most ``_FOLD_COPY_MAX_BYTES`` stored: there
    the uniform-weight coordinate sweep reads one array per stored entry where the
    weighted one gathers two, and a fold path on copied rows measured 1.4x faster
    (20,000 x 50,000, 1e6 stored entries: 6.4 s against 9.1 s, the same sweeps). Each
    fold in progress holds a copy of (k-1)/k of X's stored entries, hence the size cap:
    above it, zero weights keep memory flat. Dense folds gain nothing from a copy (and
    share X^T X in covariance mode), and GLM folds weight their rows at every Newton
    step anyway.
    """
    if not (sp.issparse(X) and family == "gaussian"):
        return False
    return X.data.nbytes + X.indices.nbytes <= _FOLD_COPY_MAX_BYTES


def _row_subset(X, rows):
    """``X[rows]`` for a checked CSC design, kept in the kernels' canonical form."""
    sub = X[rows]
    if sub.format != "csc":
        sub = sub.tocsc()
    if not sub.has_sorted_indices:
        sub.sort_indices()
    return sub


# ----------------------------------------------------------------- input checks
def _prepare_target(y, family, n):
    from ._validation import check_target

    y = check_target(y, n)
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


def _check_fold_classes(folds, codes, n_classes, metric):
    for r, splits in enumerate(folds.splits):
        for f, (train, test) in enumerate(splits):
            present = np.unique(codes[train]).size
            if present < n_classes:
                raise ValueError(
                    f"the training part of fold {f} (repeat {r}) holds {present} of the "
                    f"{n_classes} classes; use stratified folds (stratify=True) or fewer "
                    "folds"
                )
            if metric == "auc" and np.unique(codes[test]).size < 2:
                raise ValueError(
                    f"validation fold {f} (repeat {r}) holds one class only, so its auc is "
                    "undefined; use stratified folds, fewer folds, or another metric"
                )


# Below this many entries of X, a fold's path takes a millisecond or two: starting and
# feeding worker threads costs more than it saves, so n_jobs=None runs them in turn.
_SMALL_DESIGN = 100_000


def parallel_map(tasks, n_jobs, backend, size=None):
    """Run joblib ``delayed`` tasks in order: threads, a named backend, or the active one.

    ``size`` (entries of X) lets ``n_jobs=None`` stay in the calling thread for small
    designs when no joblib backend has been chosen (by argument or context manager).
    """
    if (n_jobs is None and backend is None and size is not None and size <= _SMALL_DESIGN
            and not _backend_chosen()):
        n_jobs = 1
    n_jobs = _check_n_jobs(n_jobs)
    if backend is None:
        tasks = list(tasks)
        if len(tasks) > 1 and effective_n_jobs(n_jobs) > 1:
            # Folds already run side by side: BLAS threads on top would oversubscribe the
            # cores (and OpenBLAS's spinning threads then slow every product down).
            with threadpool_limits(limits=1, user_api="blas"):
                return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
        return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
    # A backend named through parallel_config rather than Parallel(backend=...): joblib 1.6
    # hands the dask backend a stray ``nesting_level`` keyword on the latter path. Parallel
    # resolves its backend when constructed, so it is built inside the context.
    with parallel_config(backend=backend):
        return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)


def _backend_chosen():
    """True inside a joblib context that sends work elsewhere (Dask, Ray, ...).

    A context naming joblib's own local backends cannot be told apart from the default;
    for a small design the folds then run in the calling thread, with identical results.
    """
    from joblib.parallel import get_active_backend

    active, _ = get_active_backend()
    return type(active).__name__ not in ("LokyBackend", "ThreadingBackend",
                                         "SequentialBackend", "MultiprocessingBackend")


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return -1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    return int(n_jobs)


def _n_samples(X):
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError("X must be a 2-D array of shape (n_samples, n_features)")
    return int(shape[0])


@dataclass
class _Setup:
    X: object
    y: np.ndarray
    classes: np.ndarray | None
    family: str
    metric: str
    greater: bool
    folds: object
    weight: np.ndarray | None
    offset: np.ndarray | None
    kwargs: dict
    grid: dict
    # engine shortcuts valid only for fits on this very X (the full data and the
    # zero-weight folds): X already validated, and one shared X^T X
    shared: dict = field(default_factory=dict)


def _setup(X, y, family, cv, repeats, stratify, groups, metric, random_state, path_kwargs):
    from ._validation import check_design

    if family not in ("gaussian", "binomial", "poisson", "multinomial"):
        raise ValueError(
            "family must be 'gaussian', 'binomial', 'poisson' or 'multinomial', "
            f"got {family!r}"
        )
    metric, greater = check_metric(metric, family)
    X = check_design(X)
    n = _n_samples(X)
    y, classes = _prepare_target(y, family, n)
    if stratify is None:
        stratify = family in _CLASSIFICATION and groups is None
    elif stratify and family not in _CLASSIFICATION:
        raise ValueError(
            f"stratify=True needs class labels; family {family!r} has a continuous response"
        )
    folds = make_folds(
        n, cv, y=y if stratify else None, stratify=bool(stratify), groups=groups,
        repeats=repeats, random_state=random_state, X=X,
    )
    if classes is not None:
        _check_fold_classes(folds, y, classes.size, metric)
    kwargs = dict(path_kwargs)
    weight = kwargs.pop("sample_weight", None)
    offset = kwargs.pop("offset", None)
    if weight is not None:
        from ._validation import check_sample_weight

        # Normalising keeps fold weights on the same scale as plain counts / n.
        weight = check_sample_weight(weight, n) * n
        _check_fold_weights(folds, weight)
    if offset is not None:
        from ._validation import check_offset

        # NaN/inf and shape refused by name before any fold is fitted
        offset = check_offset(offset, n, classes.size if family == "multinomial" else None)
        if offset.shape[0] != n:
            raise ValueError(f"offset has {offset.shape[0]} rows but X has {n}")
    grid = {k: kwargs.pop(k) for k in _GRID_ARGS if k in kwargs}
    shared = {"_design_checked": True}
    if family == "gaussian" and not sp.issparse(X):
        # X^T X and the column moments, computed once for the full path and every fold
        shared["_shared_gram"] = SharedGram()
    for bad in ("family", "l1_ratio"):
        if bad in kwargs:
            raise TypeError(f"{bad} is given twice")
    return _Setup(X, y, classes, family, metric, greater, folds, weight, offset, kwargs, grid,
                  shared)


# ------------------------------------------------------------------------ driver
def _run(setup, l1_ratios, n_jobs, backend):
    """Full-data paths and every (l1_ratio, repeat, fold) path, in parallel.

    Without a user grid the folds need the full-data ``lams`` first, so the full paths run
    as a first stage; with ``lams`` given, everything runs in one parallel stage.
    """
    def full_job(a):
        return delayed(_fit_path)(
            setup.X, setup.y, family=setup.family, l1_ratio=a, sample_weight=setup.weight,
            offset=setup.offset, **setup.grid, **setup.kwargs, **setup.shared,
        )

    def fold_jobs(grids):
        return [
            delayed(_fold_job)(
                setup.X, setup.y, train, test, grids[i], setup.family, l1_ratios[i],
                setup.metric, setup.weight, setup.offset, {**setup.kwargs, **setup.shared},
            )
            for i in range(len(l1_ratios))
            for splits in setup.folds.splits
            for train, test in splits
        ]

    m = len(l1_ratios)
    size = setup.X.shape[0] * setup.X.shape[1]
    if "lams" in setup.grid:
        given = np.atleast_1d(np.asarray(setup.grid["lams"], dtype=float))
        out = parallel_map([full_job(a) for a in l1_ratios] + fold_jobs([given] * m),
                           n_jobs, backend, size)
        return out[:m], out[m:]
    fulls = parallel_map([full_job(a) for a in l1_ratios], n_jobs, backend, size)
    grids = [np.asarray(f.lams, dtype=float) for f in fulls]
    return fulls, parallel_map(fold_jobs(grids), n_jobs, backend, size)


def _check_fold_weights(folds, weight):
    # A fold whose held-out (or training) rows all have weight zero has no score (or no
    # fit): say so by name instead of failing later in the fold summary.
    for r, splits in enumerate(folds.splits):
        for f, (train, test) in enumerate(splits):
            for part, idx in (("held-out", test), ("training", train)):
                if not np.sum(weight[idx]) > 0:
                    raise ValueError(
                        f"sample_weight is zero on every {part} row of fold {f} (repeat "
                        f"{r}); give those rows weight or choose other folds (cv=...)"
                    )


def _fold_weight(setup, test):
    return float(test.size if setup.weight is None else np.sum(setup.weight[test]))


def _result(setup, full, score_rows, rule, random_state):
    """Assemble one CVResult from the fold score rows of one l1_ratio."""
    lams = np.asarray(full.lams, dtype=float)
    folds = setup.folds
    weights = np.array([_fold_weight(setup, te) for sp in folds.splits for _, te in sp])
    # A user grid may run past where the full-data path stopped (early_stop=True).
    table = np.vstack(score_rows)[:, : lams.size]
    R, F = folds.n_repeats, folds.n_folds
    rep_mean = np.empty((R, lams.size))
    rep_se = np.empty((R, lams.size))
    for r in range(R):
        rows = slice(r * F, (r + 1) * F)
        rep_mean[r], rep_se[r] = cv_summary(table[rows], weights[rows])
    mean = cv_summary(table, weights)[0]
    se = rep_se.mean(axis=0)
    if np.all(np.isnan(mean)):
        raise RuntimeError("no strength was reached by every fold; nothing to choose from")
    g = setup.greater
    i_min = selection.best(lams, mean, stronger="larger", greater_is_better=g)
    i_chosen = _apply_rule(rule, lams, mean, se, g)
    rep_min = np.array([selection.best(lams, m, stronger="larger", greater_is_better=g)
                        for m in rep_mean])
    rep_chosen = np.array([_apply_rule(rule, lams, m, s, g) for m, s in zip(rep_mean, rep_se)])
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
    }
    if setup.classes is not None:
        extra["classes"] = setup.classes
    return CVResult(
        lams=lams, fold_scores=table, fold_weights=weights, mean=mean, se=se,
        metric=setup.metric, greater_is_better=g, index_min=int(i_min),
        index_chosen=int(i_chosen), rule=rule, nnz=np.asarray(full.nnz), fold_ids=ids,
        random_state=random_state, extra=extra,
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
    **path_kwargs,
):
    """Cross-validate a regularization path and choose its strength.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Response (gaussian, poisson) or class labels (binomial, multinomial).
    family : {"gaussian", "binomial", "poisson", "multinomial"}
    l1_ratio : float in [0, 1]
        glmnet's ``alpha``; 1 is the lasso.
    cv : int, array of fold ids, or scikit-learn splitter, default 10
        See :func:`shrinkage.folds.make_folds`.
    repeats : int, default 1
        Repeated CV with fresh random folds (``cv`` an int).
    stratify : bool or None
        Stratify folds by class; None means yes for binomial/multinomial.
    groups : array-like of shape (n_samples,), optional
        Keep each group within one fold.
    metric : str or None
        See :mod:`shrinkage.metrics`; None gives the family's default (deviance, mse).
    rule : str, default "1se"
        ``"min"``, ``"<k>se"`` or ``"<r>%"``.
    n_jobs : int or None
        Parallel jobs (threads by default); None uses every core (one thread for a
        design of at most 100,000 entries).
    random_state : int or None
        Seed of the fold assignment.
    backend : str or None
        joblib backend, e.g. ``"dask"``; None keeps threads or the active joblib context.
    return_path : bool, default False
        Also return the full-data :class:`~shrinkage.results.Path`.
    **path_kwargs
        Passed to :func:`shrinkage.regularization_path` (``lams``, ``n_lams``,
        ``lam_min_ratio``, ``penalty_factor``, ``standardize``, ``sample_weight``,
        ``offset``, ``tol``, ...). ``sample_weight`` and ``offset`` are split with the folds.

    Returns
    -------
    CVResult, or (CVResult, Path) when ``return_path`` is true.
        ``result.lam_chosen`` is the choice (glmnet's ``lambda.1se`` under the default
        rule), ``result.lam_min`` glmnet's ``lambda.min``; ``mean``/``se`` are
        ``cvm``/``cvsd``; ``nnz`` is ``nzero``.
    """
    parse_rule(rule)
    setup = _setup(X, y, family, cv, repeats, stratify, groups, metric, random_state,
                   path_kwargs)
    fulls, scores = _run(setup, [l1_ratio], n_jobs, backend)
    res = _result(setup, fulls[0], scores, rule, random_state)
    return (res, fulls[0]) if return_path else res


@dataclass(frozen=True, eq=False)
class ElasticNetCVResult:
    """Cross-validation over an ``l1_ratio`` x ``lam`` grid (scikit-learn's ElasticNetCV).

    Attributes
    ----------
    l1_ratios : ndarray of shape (m,)
    results : list of CVResult
        One per ``l1_ratio``, each on its own ``lam`` grid, all on the same folds.
    index_min, index_chosen : tuple of int
        ``(i, j)``: ``l1_ratios[i]`` and ``results[i].lams[j]``.
    rule : str
    """

    l1_ratios: np.ndarray
    results: list
    index_min: tuple
    index_chosen: tuple
    rule: str
    extra: dict = field(default_factory=dict)

    @property
    def l1_ratio_chosen(self) -> float:
        return float(self.l1_ratios[self.index_chosen[0]])

    @property
    def lam_chosen(self) -> float:
        i, j = self.index_chosen
        return float(self.results[i].lams[j])

    @property
    def chosen(self) -> CVResult:
        """The CVResult of the chosen ``l1_ratio``."""
        return self.results[self.index_chosen[0]]


def _stack(arrays):
    """Pad ragged per-l1_ratio arrays to a (m, max_len) table with NaN."""
    width = max(a.size for a in arrays)
    out = np.full((len(arrays), width), np.nan)
    for i, a in enumerate(arrays):
        out[i, : a.size] = a
    return out


def cross_validate_elastic_net(
    X,
    y,
    family="gaussian",
    l1_ratios=(0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0),
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
    **path_kwargs,
):
    """Cross-validate over ``l1_ratio`` x ``lam`` and choose both.

    Each ``l1_ratio`` gets its own full-data ``lam`` grid; all share one set of folds, so
    their curves are comparable. The choice is made on the whole grid by
    :func:`shrinkage.selection.sparsest_within_grid`: with ``(i*, j*)`` the best cell,
    every cell whose mean is within ``k * se`` (or ``r`` percent) of the best is a
    candidate, and the candidate with the fewest non-zeros wins; ties go to the larger
    ``lam`` within an ``l1_ratio``, then to the better mean, then to the larger
    ``l1_ratio``. Parameters are those
    of :func:`cross_validate`, with ``l1_ratios`` a sequence.

    Returns
    -------
    ElasticNetCVResult
    """
    kind, value = parse_rule(rule)
    ratios = np.atleast_1d(np.asarray(l1_ratios, dtype=float))
    if ratios.ndim != 1 or ratios.size == 0:
        raise ValueError("l1_ratios must be a non-empty 1-D sequence")
    if np.any((ratios < 0) | (ratios > 1)) or np.unique(ratios).size != ratios.size:
        raise ValueError(f"l1_ratios must be distinct values in [0, 1], got {ratios}")
    setup = _setup(X, y, family, cv, repeats, stratify, groups, metric, random_state,
                   path_kwargs)
    fulls, scores = _run(setup, list(ratios), n_jobs, backend)
    per = len(scores) // ratios.size
    results = [
        _result(setup, fulls[i], scores[i * per:(i + 1) * per], rule, random_state)
        for i in range(ratios.size)
    ]
    mean = _stack([r.mean for r in results])
    se = _stack([r.se for r in results])
    nnz = _stack([r.nnz.astype(float) for r in results])
    lams = _stack([r.lams for r in results])
    g = setup.greater
    i_min = selection.sparsest_within_grid(lams, mean, nnz, greater_is_better=g)
    i_ch = selection.sparsest_within_grid(
        lams, mean, nnz, se=se if kind == "se" else None, k=value if kind == "se" else 0.0,
        rel=value if kind == "tolerance" else 0.0, greater_is_better=g,
    )
    return ElasticNetCVResult(ratios, results, i_min, i_ch, rule)
