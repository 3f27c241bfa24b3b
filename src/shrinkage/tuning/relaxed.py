"""The relaxed lasso (Meinshausen 2007; glmnet's ``relax=TRUE``).

For each ``lam`` of a path with support ``S = {j : b_j(lam) != 0}``, refit the model on the
columns ``S`` without penalty, and blend the two fits with ``gamma`` in [0, 1]::

    b_gamma(lam) = gamma * b_lasso(lam) + (1 - gamma) * b_relaxed(lam)

(intercepts alike). ``gamma = 1`` is the lasso, ``gamma = 0`` the unpenalised refit on the
lasso's support, which undoes the shrinkage of the selected coefficients; in between the
fit shrinks less than the lasso for the same support. This is glmnet's parametrisation
(``gamma`` multiplies the penalised fit).

The refit is weighted least squares (gaussian) or the engine run with every penalty
factor zero (binomial, poisson), i.e. the unpenalised maximum-likelihood fit on ``S``.
Refits are cached by support, so a path with ``L`` points costs at most as many refits as
it has distinct supports.

The refit is the unique, finite unpenalised fit, and where there is none the relaxed fit
does not exist at that ``lam`` (its row of refits is NaN, and the blends with
``gamma < 1`` there are never scored or chosen; ``gamma = 1`` is the lasso everywhere):

* a support with more columns (and the intercept) than rows of positive weight: the fit
  is not identified (gaussian: every such least-squares fit interpolates);
* binomial and poisson, a support along which the loss decreases for ever: its columns
  separate some rows of the response (a term found in a single document), or push zero
  counts towards a mean of 0, so the likelihood has no maximiser and a solver's
  coefficients are wherever it stopped along the ray. It is decided exactly, by one
  linear program (:func:`shrinkage.engine.recession.unpenalised_ray`), skipped for a
  support within one found to have a minimiser or containing one found separating (the
  supports taken in bisection order), or whose lasso fit already separates every row
  (:class:`_Separation`). On deep supports
  of sparse text this is most supports (quasi-separation by rare terms): refitted, each
  ran to the sweep cap (a 10-fold relaxed CV of 1,000 x 2,000 power-law text, binomial,
  took 701 s, each such refit 45-128 s, its coefficients at 10^3-10^4).

glmnet's ``relax.glmnet`` leaves out supports of more than ``maxp = n - 3`` features (its
default), and its documentation warns that the Newton iterations of relaxed GLM fits may
not converge.

:func:`cross_validate_relaxed` cross-validates ``(gamma, lam)`` with the same folds,
weights, rules and parallel machinery as :func:`shrinkage.cross_validate`, each fold
refitting on its own supports.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from joblib import delayed

from ..engine.contract import FitHints
from ..engine.path import PathOptions, fit_path, regularization_path
from ..engine.recession import ray_decidable, row_signs, unpenalised_ray
from ..results import used_columns_product
from ..validation import check_design
from . import selection
from .cv import assemble_result, prepare_cv
from .metrics import score_path
from .parallel import parallel_map

__all__ = ["relax_path", "relaxed_exists", "blend", "cross_validate_relaxed",
           "RelaxedCVResult"]

_FAMILIES = ("gaussian", "binomial", "poisson")
DEFAULT_GAMMAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _live_rows(n, weight):
    return n if weight is None else int(np.count_nonzero(np.asarray(weight) > 0))


def _bisection_order(m):
    """``0 .. m-1`` in the order a bisection visits them: the last, the first, then the
    midpoints of the intervals between the points visited, breadth first."""
    order = list(dict.fromkeys([m - 1, 0]))[:m]
    intervals = [(0, m - 1)]
    while intervals:
        lo, hi = intervals.pop(0)
        if hi - lo >= 2:
            mid = (lo + hi) // 2
            order.append(mid)
            intervals += [(lo, mid), (mid, hi)]
    return order


class _Separation:
    """Which supports' unpenalised ``family`` losses have no minimiser (module docstring),
    with as few linear programs as the supports' nesting allows: a support within one that
    has a minimiser has one too, and one containing a separating support separates the
    same rows. A path's supports are nearly nested, so asked in bisection order of their
    sizes (:func:`_bisection_order`) the verdicts take about ``log2`` of their number of
    programs: one where the widest support has a minimiser (dense data with more rows than
    columns), a few where separation starts part-way (sparse text)."""

    def __init__(self, X, y, family, weight, fit_intercept):
        self.X, self.y, self.family = X, y, family
        self.weight, self.fit_intercept = weight, fit_intercept
        self.separating, self.clear = [], []
        # the rows a fit must put on their class's side, and that side (separated_by)
        self.live = None if weight is None else np.asarray(weight) > 0
        signs = row_signs(family, y)  # (None for the gaussian family)
        self.signs = signs if signs is None or self.live is None else signs[self.live]

    def separates(self, support, coef=None, intercept=0.0):
        """The verdict on ``support``; ``coef, intercept``, a fit on it (the lasso's), may
        prove separation at once (:meth:`separated_by`)."""
        if self.family == "gaussian" or support.size == 0:
            return False
        if any(np.isin(s, support).all() for s in self.separating):
            return True
        if any(np.isin(support, c).all() for c in self.clear):
            return False
        if coef is not None and self.separated_by(coef, intercept):
            self.separating.append(support)
            return True
        XS = self.X[:, support]
        if not ray_decidable(XS, self.weight):
            return False  # (beyond the linear program's size: refitted as it is)
        ray = unpenalised_ray(XS, self.y, self.family, self.weight,
                              self.fit_intercept) is not None
        (self.separating if ray else self.clear).append(support)
        return ray

    def separated_by(self, coef, intercept):
        """Whether the move ``a = X coef + intercept`` alone is a ray: a binomial fit that
        puts every live row strictly on its class's side (beyond ``1e-9`` of the largest
        ``|a|``, far above rounding) separates them completely, and the loss falls along
        ``a`` for ever. Deep lasso fits of near-copied columns do (300 x 2,000 pairs: most
        of their supports, each a linear program of 50-70 ms otherwise); rows that only
        some columns separate (rare terms) are left to the linear program, as are
        proportions strictly between 0 and 1 (rows that must not move)."""
        if self.family != "binomial" or np.any(self.signs == 0.0):
            return False
        a = np.asarray(self.X @ coef).ravel() + intercept
        if self.live is not None:  # (rows of weight 0 are not fitted: any side will do)
            a = a[self.live]
        top = float(np.max(np.abs(a), initial=0.0))
        return top > 0.0 and bool(np.all(self.signs * a > 1e-9 * top))


def _least_squares(A, b):
    """The minimum-norm least-squares solution of ``A x = b``, with numpy's rank cutoff
    (singular values below ``eps max(A.shape)`` of the largest are zero). LAPACK's
    ``gelsy`` (QR with column pivoting) instead of the SVD of ``numpy.linalg.lstsq``:
    2-3 times faster on the wide near-square supports of text (900 x 600: 0.028 against
    0.094 s), the same solution."""
    cut = np.finfo(float).eps * max(A.shape)
    return scipy.linalg.lstsq(A, b, cond=cut, lapack_driver="gelsy", check_finite=False)[0]


def _refit(X, y, support, family, weight, offset, fit_intercept, tol):
    """Unpenalised fit on the columns ``support``; returns (coef of length p, intercept)."""
    p = X.shape[1]
    coef = np.zeros(p)
    XS = X[:, support]
    if family == "gaussian":
        if hasattr(XS, "toarray"):
            XS = XS.toarray()
        w = np.ones(X.shape[0]) if weight is None else weight
        r = y - (0.0 if offset is None else offset)
        A = np.column_stack([np.ones(X.shape[0]), XS]) if fit_intercept else XS
        sw = np.sqrt(w)
        sol = _least_squares(A * sw[:, None], r * sw)
        coef[support] = sol[1:] if fit_intercept else sol
        return coef, float(sol[0]) if fit_intercept else 0.0
    if support.size == 0 and not fit_intercept:
        return coef, 0.0
    if support.size == 0:
        # Intercept-only model: the engine's first path point at lam_max is exactly it.
        fit = regularization_path(X[:, :1], y, family=family, lams=[1e10], sample_weight=weight,
                                  offset=offset, standardize=False, tol=tol)
        return coef, float(fit.intercepts[0])
    # relax_path has decided the support's rays (or they are past the linear program's
    # size either way): the path does not test them again
    options = PathOptions(family=family, lams=[1.0], penalty_factor=np.zeros(support.size),
                          sample_weight=weight, offset=offset, standardize=False,
                          fit_intercept=fit_intercept, tol=tol)
    fit = fit_path(check_design(XS), y, options, FitHints(rays_decided=True))
    coef[support] = fit.coefs[0]
    return coef, float(fit.intercepts[0])


def relax_path(path, X, y, *, sample_weight=None, offset=None):
    """Unpenalised refits on each support of ``path``.

    Parameters
    ----------
    path : Path
        A gaussian, binomial or poisson path fitted on ``X, y``.
    X, y : the data of the path (``y`` encoded as for the engine: 0/1 for binomial).
    sample_weight, offset : optional, as for the path.

    Returns
    -------
    coefs : ndarray of shape (n_lams, n_features)
    intercepts : ndarray of shape (n_lams,)
        NaN (the whole row) at a ``lam`` whose refit does not exist (module docstring).
    """
    if path.family not in _FAMILIES:
        raise ValueError(f"the relaxed lasso supports {_FAMILIES}, got {path.family!r}")
    y = np.asarray(y, dtype=float)
    coefs = np.zeros_like(np.asarray(path.coefs, dtype=float))
    inters = np.zeros(path.n_lams)
    # a path at the binomial default (the weighted certificate) is refitted at the
    # default too: an explicit tol bounds the plain violation, another certificate
    tol = None if path.certificate_kind == "weighted_kkt_violation" else path.tol
    supports, first, keys = {}, {}, []
    for k in range(path.n_lams):
        support = np.flatnonzero(path.coefs[k] != 0)
        keys.append(support.tobytes())
        supports.setdefault(keys[k], support)
        first.setdefault(keys[k], k)
    # a refit exists where it is identified and has a minimiser (module docstring)
    live = _live_rows(X.shape[0], sample_weight)
    separation = _Separation(X, y, path.family, sample_weight, path.fit_intercept)
    by_size = sorted(supports, key=lambda key: supports[key].size)
    exists = {}
    for i in _bisection_order(len(by_size)):
        support, k = supports[by_size[i]], first[by_size[i]]
        exists[by_size[i]] = (support.size + int(path.fit_intercept) <= live
                              and not separation.separates(support, path.coefs[k],
                                                           path.intercepts[k]))
    fits = {key: _refit(X, y, support, path.family, sample_weight, offset,
                        path.fit_intercept, tol)
            for key, support in supports.items() if exists[key]}
    for k, key in enumerate(keys):
        if key in fits:
            coefs[k], inters[k] = fits[key]
        else:
            coefs[k], inters[k] = np.nan, np.nan
    return coefs, inters


def relaxed_exists(relaxed):
    """Per ``lam``, whether its refit exists (``relax_path``: not a NaN row)."""
    return ~np.isnan(np.asarray(relaxed[1], dtype=float))


def blend(path, relaxed, gamma):
    """``gamma * lasso + (1 - gamma) * relaxed`` for coefficients and intercepts: the
    lasso itself at ``gamma = 1``, NaN at ``gamma < 1`` where the refit does not
    exist."""
    g = float(gamma)
    if not 0 <= g <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if g == 1.0:
        return np.array(path.coefs, dtype=float), np.array(path.intercepts, dtype=float)
    rc, ri = relaxed
    return g * path.coefs + (1 - g) * rc, g * path.intercepts + (1 - g) * ri


def _check_gammas(gammas):
    g = np.atleast_1d(np.asarray(gammas, dtype=float))
    if g.ndim != 1 or g.size == 0 or np.any((g < 0) | (g > 1)) or np.unique(g).size != g.size:
        raise ValueError(f"gammas must be distinct values in [0, 1], got {gammas!r}")
    return g


def _relaxed_fold_job(X, y, train, test, options, metric, weight, offset, gammas):
    sw = None if weight is None else weight[train]
    off_tr = None if offset is None else offset[train]
    Xtr = check_design(X[train])
    path = fit_path(Xtr, y[train], options.replace(sample_weight=sw, offset=off_tr))
    lams = np.asarray(options.lams)
    family = options.family
    relaxed = relax_path(path, Xtr, y[train], sample_weight=sw, offset=off_tr)
    Xte = X[test]
    off_te = 0.0 if offset is None else offset[test][:, None]
    out = np.full((gammas.size, lams.size), np.nan)
    exists = relaxed_exists(relaxed)
    filled = (np.where(exists[:, None], relaxed[0], 0.0), np.where(exists, relaxed[1], 0.0))
    for i, g in enumerate(gammas):
        c, b = blend(path, filled, g)  # (no NaN reaches the scores, e.g. the AUC's sort)
        eta = np.asarray(used_columns_product(Xte, c)) + b[None, :] + off_te
        row = score_path(metric, family, y[test], eta, None if weight is None else weight[test])
        if g < 1.0:
            row[~exists] = np.nan  # a blend that does not exist is not scored
        out[i, : path.n_lams] = row
    return out


def _scored_gammas(gammas, tables):
    """``(gammas, tables)`` without the ``gamma < 1`` rows that no strength scores in every
    fold (each fold's supports, or the full data's, leave no refit; small designs of rare
    terms), with a warning naming them: the lasso row (``gamma = 1``) always stays."""
    keep = np.array([g == 1.0 or bool(np.any(np.all(~np.isnan(
        np.vstack([t[i] for t in tables])), axis=0))) for i, g in enumerate(gammas)])
    if keep.all():
        return gammas, tables
    if not keep.any():
        raise RuntimeError(
            f"relaxed lasso: no strength has an unpenalised refit in every fold for any of "
            f"gammas {', '.join(f'{g:g}' for g in gammas)}; add gamma=1 (the lasso)")
    dropped = ", ".join(f"{g:g}" for g in gammas[~keep])
    warnings.warn(f"relaxed lasso: gamma {dropped} left out: no strength has an unpenalised "
                  "refit in every fold (every support separates the training rows or has "
                  "more columns than rows)", UserWarning, stacklevel=3)
    return gammas[keep], [t[keep] for t in tables]


@dataclass(frozen=True, eq=False)
class RelaxedCVResult:
    """Cross-validation of the relaxed lasso over ``gamma`` x ``lam``.

    Attributes
    ----------
    gammas : ndarray of shape (m,)
    results : list of CVResult
        One per ``gamma``, all on the same ``lams`` and folds.
    index_min, index_chosen : tuple of int
        ``(g, l)``: ``gammas[g]`` and ``lams[l]``.
    path : Path
        The full-data lasso path.
    relaxed_coefs, relaxed_intercepts : ndarray
        Unpenalised refits of the full-data path on each support; NaN rows where a refit
        does not exist (``relax_path``).
    """

    gammas: np.ndarray
    results: list
    index_min: tuple
    index_chosen: tuple
    rule: str
    path: object
    relaxed_coefs: np.ndarray
    relaxed_intercepts: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def gamma_chosen(self) -> float:
        """The chosen relaxation ``gamma``: ``gammas[index_chosen[0]]`` (1 is the lasso,
        0 the unpenalised refit on the lasso's support)."""
        return float(self.gammas[self.index_chosen[0]])

    @property
    def lam_chosen(self) -> float:
        """The chosen ``lam``: ``path.lams[index_chosen[1]]``."""
        return float(self.path.lams[self.index_chosen[1]])

    def coef(self, index=None):
        """Coefficients and intercept at ``(g, l)`` (default: the chosen cell); NaN where
        ``gamma < 1`` and the refit at ``lam`` does not exist (``relax_path``)."""
        g, k = self.index_chosen if index is None else index
        w = self.gammas[g]
        if w == 1.0:
            return np.array(self.path.coefs[k], dtype=float), float(self.path.intercepts[k])
        return (w * self.path.coefs[k] + (1 - w) * self.relaxed_coefs[k],
                float(w * self.path.intercepts[k] + (1 - w) * self.relaxed_intercepts[k]))


def cross_validate_relaxed(
    X, y, family="gaussian", l1_ratio=1.0, gammas=DEFAULT_GAMMAS, cv=10, repeats=1,
    stratify=None, groups=None, metric=None, rule="1se", n_jobs=None, random_state=None, *,
    backend=None, **path_kwargs,
):
    """Cross-validate the relaxed lasso over ``gamma`` x ``lam`` (glmnet's
    ``cv.glmnet(relax=TRUE)``).

    Arguments are those of :func:`shrinkage.cross_validate`, plus ``gammas``. Every fold
    fits its lasso path on the full-data ``lams``, refits each support without penalty and
    scores every blend. The cell is chosen over the whole grid by
    :func:`shrinkage.tuning.selection.sparsest_within_grid` (rows = ``gamma``; all rows share one
    ``lam`` axis, so this is the strongest ``lam`` with the fewest non-zeros among the cells
    within ``k`` SE of the best, then the ``gamma`` with the lower mean).

    Returns
    -------
    RelaxedCVResult
    """
    k, rel = selection.parse_rule(rule).grid_slack()
    gam = _check_gammas(gammas)
    if family not in _FAMILIES:
        raise ValueError(f"the relaxed lasso supports {_FAMILIES}, got family {family!r}")
    setup = prepare_cv(X, y, family, cv, repeats, stratify, groups, metric, random_state,
                       path_kwargs)
    X = setup.design.X
    full = setup.design.path(setup.y, setup.options.replace(
        l1_ratio=l1_ratio, sample_weight=setup.weight, offset=setup.offset, **setup.grid))
    lams = np.asarray(full.lams, dtype=float)
    rc, ri = relax_path(full, X, setup.y, sample_weight=setup.weight, offset=setup.offset)
    fold_options = setup.options.replace(l1_ratio=l1_ratio, lams=lams)
    tables = parallel_map(
        (delayed(_relaxed_fold_job)(X, setup.y, tr, te, fold_options, setup.metric,
                                    setup.weight, setup.offset, gam)
         for splits in setup.folds.splits for tr, te in splits),
        n_jobs, backend, X.shape[0] * X.shape[1],
    )
    # a blend whose full-data refit does not exist cannot be chosen (nor returned), even
    # where every fold's refit exists (rows that only the whole data separates)
    missing = ~relaxed_exists((rc, ri))
    for t in tables:
        t[np.ix_(gam < 1.0, missing)] = np.nan
    gam, tables = _scored_gammas(gam, tables)
    results = [assemble_result(setup, full, [t[i] for t in tables], rule, random_state)
               for i in range(gam.size)]
    mean = np.vstack([r.mean for r in results])
    se = np.vstack([r.se for r in results])
    nnz = np.tile(np.asarray(full.nnz, dtype=float), (gam.size, 1))
    strengths = np.tile(lams, (gam.size, 1))
    g = setup.greater
    i_min = selection.sparsest_within_grid(strengths, mean, nnz, greater_is_better=g)
    i_ch = selection.sparsest_within_grid(
        strengths, mean, nnz, se=se if k > 0 else None, k=k, rel=rel, greater_is_better=g,
    )
    return RelaxedCVResult(gam, results, i_min, i_ch, selection.parse_rule(rule).text, full,
                           rc, ri)
