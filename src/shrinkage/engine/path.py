"""``regularization_path``: the whole strength grid, warm-started, certified.

The driver standardizes implicitly (weighted means and scales, no copy of X), builds the
:class:`~shrinkage.engine.problem.Problem`, chooses a solver by the solver contract
(:mod:`shrinkage.engine.contract`), finds the exact ``lam_max`` from the penalty's dual
norm, builds the log-spaced grid, and lets the solver walk it from the strongest ``lam``
down, each point warm-started from the previous one. Every point carries its certificate
and a converged flag; the path stops early, and says so, when the deviance explained
passes 0.999 or stops changing (glmnet's rule, :mod:`shrinkage.engine.stopping`).

:func:`regularization_path` is the public entry; :func:`fit_path` is the engine's entry
for callers that fit one checked design many times (:mod:`shrinkage.engine.shared`).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..model.build import penalty_for
from ..model.families import get_family
from ..model.groups import group_extra
from ..model.penalties import RIDGE_LAM_MAX_RATIO, PenaltyArrays
from ..results import Path, nonzero_features
from ..validation import (
    check_coefficient_scale,
    check_design,
    check_flag,
    check_offset,
    check_response_matrix,
    check_sample_weight,
    check_scalar,
    check_target,
)
from .blas import SMALL_DESIGN, one_blas_thread
from .contract import FitHints, ScaledHints, SolverSetup, choose_solver
from .drift import uncertify_nonfinite
from .free import warn_collinear_free, warn_separating_free
from .gram import live_moments
from .grid import N_LAMS_MAX, strength_grid
from .notes import report_nonconvex
from .null_path import null_is_exact, null_path, separation_note
from .problem import Problem, check_column_means, column_moments, column_spread, constant_columns
from .registry import SOLVERS
from .ridge import penalised_spectrum, ridge_grid_ends
from .stopping import ConvergenceWarning, stop_reason, warn_unconverged
from .ties import average_ties, find_ties

__all__ = ["regularization_path", "fit_path", "PathOptions", "ConvergenceWarning",
           "NonconvexWarning", "check_options"]


class NonconvexWarning(UserWarning):
    """An MCP/SCAD objective is not locally convex at some path points (ncvreg's check)."""


@dataclass(frozen=True)
class PathOptions:
    """Everything :func:`regularization_path` takes besides the data (same names, same
    defaults); tuning builds one from its ``**path_kwargs``."""

    family: object = "gaussian"
    l1_ratio: float = 1.0
    lams: object = None
    n_lams: int = 100
    lam_min_ratio: float | None = None
    penalty_factor: object = None
    lower: object = None
    upper: object = None
    standardize: bool = True
    fit_intercept: bool = True
    sample_weight: object = None
    offset: object = None
    tol: float | None = None
    max_iter: int = 100_000
    multinomial_grouped: bool = True
    feature_names: object = None
    early_stop: bool | None = None
    penalty: str = "elasticnet"
    gamma: float | None = None
    feature_groups: object = None
    group_mix: float = 0.0
    strata: object = None
    ties: str | None = None

    def replace(self, **changes):
        """A copy with the named fields changed (as :func:`dataclasses.replace`).

        The fields are copied as they are (none is derived from another) rather than
        passed through ``__init__`` again: a fold replaces options twice, and the frozen
        constructor's 23 assignments cost about 8 us each time.
        """
        unknown = changes.keys() - _OPTION_FIELDS
        if unknown:
            raise TypeError(f"PathOptions has no field(s) {sorted(unknown)}")
        new = object.__new__(PathOptions)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(PathOptions))


def regularization_path(
    X,
    y,
    family="gaussian",
    *,
    l1_ratio=1.0,
    lams=None,
    n_lams=100,
    lam_min_ratio=None,
    penalty_factor=None,
    lower=None,
    upper=None,
    standardize=True,
    fit_intercept=True,
    sample_weight=None,
    offset=None,
    tol=None,
    max_iter=100_000,
    multinomial_grouped=True,
    feature_names=None,
    early_stop=None,
    penalty="elasticnet",
    gamma=None,
    feature_groups=None,
    group_mix=0.0,
    strata=None,
    ties=None,
):
    """Fit a penalised GLM for every strength on a decreasing grid.

    Minimises, for each ``lam``::

        (1 / sum(w)) * sum_i w_i * loss(y_i, b0 + x_i . b + offset_i)
            + lam * sum_j pf_j * (l1_ratio * s_j |b_j| + (1 - l1_ratio) / 2 * s_j^2 b_j^2)

    subject to ``lower <= b <= upper``, with ``s_j`` the weighted standard deviation of
    feature ``j`` when ``standardize`` (else 1). Coefficients are on the original scale.

    Parameters
    ----------
    X : array-like of shape (n, p) or scipy.sparse matrix
        A float64 Fortran-ordered array or CSC matrix is used without a copy.
    y : array-like of shape (n,), or (n, k) for mgaussian
        Real (gaussian), 0/1, two labels or proportions (binomial), counts (poisson),
        labels (multinomial), k real responses (mgaussian).
    family : {"gaussian", "binomial", "poisson", "multinomial", "mgaussian"}
    l1_ratio : float in [0, 1]
        Mix of L1 (1, lasso) and L2 (0, ridge).
    lams : array-like, optional
        Strengths to fit (sorted decreasingly). Default: ``n_lams`` values log-spaced from
        ``lam_max`` to ``lam_max * lam_min_ratio``.
    n_lams : int
    lam_min_ratio : float, optional
        Default ``1e-4`` when ``n > p`` else ``1e-2``.
    penalty_factor : array of shape (p,), optional
        Per-feature factors ``pf_j >= 0`` (0 = unpenalised).
    lower, upper : float or array of shape (p,), optional
        Box constraints on the coefficients, ``lower <= 0 <= upper`` (as glmnet's
        ``lower.limits`` and ``upper.limits``; 0 gives a sign constraint).
    standardize : bool
        Penalise coefficients of features scaled to unit weighted variance.
    fit_intercept : bool
    sample_weight : array of shape (n,), optional
        Non-negative weights (normalised internally to sum to one).
    offset : array of shape (n,) (or (n, K) for multinomial), optional
        Known part of the linear predictor.
    tol : float, optional
        Certificate tolerance: the duality gap relative to the null objective (gaussian)
        or the largest KKT violation relative to the null model's largest gradient (other
        families). Default: the family's ``default_tol`` (3e-5 gaussian, 1e-7 for its
        elastic net with ``l1_ratio < 1``, 3e-6 poisson, 1e-7 mgaussian, 1e-6 others), set
        so that cross-validation curves cannot be told from exactly solved ones (within
        7.1e-3 standard errors on the benchmark designs); binomial ``3e-5`` on the
        violations weighted by their curvature's fall (``"weighted_kkt_violation"``,
        ``engine/kernels/curvature_kkt.py``).
        An explicit ``tol`` bounds the plain violation; ask for 1e-12 when digits matter.
    max_iter : int
        Maximum coordinate-descent sweeps per ``lam``.
    multinomial_grouped : bool
        Multinomial only: one group per feature across classes (glmnet's "grouped").
    feature_names : sequence of str, optional
        Defaults to the column names of a DataFrame ``X``.
    early_stop : bool, optional
        Stop when the deviance explained exceeds 0.999 or stops changing. Default: True for
        the automatic grid, False when ``lams`` is given (as glmnet).
    penalty : {"elasticnet", "mcp", "scad"}
        ``"mcp"`` and ``"scad"`` replace ``pf_j * s_j |b_j|`` by ncvreg's folded-concave
        penalties of the standardized coefficient with strength ``lam * l1_ratio * pf_j``
        (``l1_ratio`` is ncvreg's ``alpha``; see :mod:`shrinkage.model.concave`); gaussian,
        binomial and poisson, without bounds. The objective is then nonconvex: the path
        follows the stationary point reached by warm starts from ``lam_max`` down, and the
        certificate is the largest violation of the first-order conditions.
    gamma : float, optional
        MCP (> 1, default 3) or SCAD (> 2, default 3.7) concavity parameter.
    feature_groups : array of shape (p,) or list of index arrays, optional
        Groups penalised as blocks, ``penalty_factor`` then one per group (default
        ``sqrt(|g|)``; :mod:`shrinkage.model.groups`). mgaussian: rows are groups.
    group_mix : float in [0, 1]
        Groups only: 0 group lasso, 1 lasso, between them the sparse-group lasso.
    strata : array of shape (n,), optional
        Cox only: stratum labels, each stratum with its own baseline hazard.
    ties : {"efron", "breslow"}, optional
        Cox only: handling of tied event times (default ``"efron"``).

    Returns
    -------
    Path
    """
    if feature_names is None and hasattr(X, "columns"):
        feature_names = np.asarray([str(c) for c in X.columns])
    options = PathOptions(
        family=family, l1_ratio=l1_ratio, lams=lams, n_lams=n_lams,
        lam_min_ratio=lam_min_ratio, penalty_factor=penalty_factor, lower=lower, upper=upper,
        standardize=standardize, fit_intercept=fit_intercept, sample_weight=sample_weight,
        offset=offset, tol=tol, max_iter=max_iter, multinomial_grouped=multinomial_grouped,
        feature_names=feature_names, early_stop=early_stop, penalty=penalty, gamma=gamma,
        feature_groups=feature_groups, group_mix=group_mix, strata=strata, ties=ties,
    )
    return fit_path(check_design(X), y, options)


@dataclass(frozen=True)
class _Data:
    """The response, weights and offset as the solvers need them."""

    family: object
    y: np.ndarray
    classes: np.ndarray | None
    w: np.ndarray
    uniform: bool
    offset: np.ndarray | None


def fit_path(X, y, options, hints=None):
    """The path of ``options`` on an already checked design ``X`` (see :func:`check_design`).

    ``hints`` (:class:`~shrinkage.engine.contract.FitHints`) carry what a caller fitting
    the same design repeatedly can share: a Gram cache, a fold's held-out rows, a solver.
    """
    hints = FitHints() if hints is None else hints
    n, p = X.shape
    data = _prepare_data(X, y, options)
    scale = _response_scale(data)
    if scale != 1.0:
        return _rescaled(X, data.y, options, hints, scale)
    tol, max_iter, l1_ratio, n_lams, names = check_options(options, data.family, p)
    penalty = penalty_for(data.family, p, l1_ratio, options)
    prob, g0, held_block = _problem(X, data, penalty, options, hints, tol, max_iter, names)
    eta_null, b0_null = data.family.null_eta(data.y, data.w, data.offset, prob.fit_intercept)
    null_dev = data.family.deviance(data.y, eta_null, data.w)
    if not np.isfinite(null_dev):
        raise ValueError(f"the {data.family.name} deviance of y overflows double precision "
                         "(values too large); rescale y before fitting")
    if data.family.response != "survival" and not data.family.quadratic and null_is_exact(
            data, eta_null):
        return null_path(prob, data, options, eta_null, b0_null, null_dev, names, tol,
                          l1_ratio, n_lams)
    path_len = n_lams if options.lams is None else np.size(options.lams)
    setup = SolverSetup(eta=eta_null, b0=b0_null, n_lams=int(path_len), g0=g0, hints=hints,
                        held_block=held_block)
    cls = choose_solver(SOLVERS, data.family, penalty, prob, setup)
    if options.tol is None and data.family.weighted_tol is not None and cls.weighted_certificate:
        prob.tol = tol = data.family.weighted_tol  # (model.families: weighted_tol)
        prob.weighted = True
    solver = cls(prob, setup)
    solver.monitor = hints.monitor
    if prob.unpenalized.any():  # the null model: only unpenalised features may move
        if not data.family.quadratic:  # (the gaussian gap sees them: FreeFeatures)
            warn_collinear_free(prob)
        solver.fit_unpenalized()
        solver.rebase_reference()
    lam_max = penalty.lam_max(solver.feature_gradient(), PenaltyArrays(prob.l1u, prob.l2u,
                                                                      prob.lo, prob.hi),
                              prob.candidates & ~prob.unpenalized, prob.scale)
    ends = None
    if l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None and penalty.shape == "elasticnet":
        ends = _ridge_ends(prob, data, eta_null)
        lam_max = lam_max if ends is None else ends[0]
    grid, user_grid = strength_grid(options, lam_max, n, p, n_lams, ends)
    if hints.on_grid is not None:
        hints.on_grid(grid.copy())
    early_stop = (not user_grid) if options.early_stop is None else options.early_stop
    L = grid.size
    K = data.y.shape[1] if data.y.ndim == 2 else None
    out = (np.zeros((L, p, K) if K else (L, p)), np.zeros((L, K) if K else L), np.zeros(L),
           np.zeros(L), np.zeros(L, dtype=np.int64))
    with one_blas_thread() if n * p <= SMALL_DESIGN else nullcontext():
        done, code = solver.run_path(grid, max(lam_max, grid[0]), null_dev, early_stop, out)
    coefs, intercepts, dev_ratio, cert, n_iter = (a[:done] for a in out)
    if done and prob.unpenalized.any() and not (data.family.quadratic or hints.rays_decided):
        warn_separating_free(prob, names, coefs[0], intercepts[0], data.offset)
    uncertify_nonfinite(coefs, intercepts, dev_ratio, cert)
    if penalty.block == "coordinate" and penalty.shape == "elasticnet":
        # the lasso's ties have many optima: take the order-free one (see engine.ties)
        # (the fit's own sums of squares serve when taken about xm: not for Cox's)
        xsq = prob.xsq if prob.fit_intercept or data.family.has_intercept else None
        proj = None if hints.tie_projection is None else hints.tie_projection()
        average_ties(coefs, intercepts, find_ties(X, prob.w, prob.xm, prob.excluded, prob.l1u,
                                                  prob.l2u, prob.lo, prob.hi, xsq, proj),
                     prob.xm if prob.fit_intercept else None)
    converged = np.isfinite(cert) & (cert <= tol)
    warn_unconverged(data.family.name, converged, grid, cert, tol, max_iter,
                      solver.certificate_kind, solver.cap_note(), n_iter)
    check_coefficient_scale(coefs)
    extra, note = solver.diagnostics()
    if note:  # a warning, or a note to the cross-validation this path is part of
        report_nonconvex(f"{data.family.name} path: {note}")
    return Path(
        lams=grid[:done].copy(), coefs=coefs, intercepts=intercepts,
        nnz=nonzero_features(coefs),
        dev_ratio=dev_ratio, null_deviance=float(null_dev), certificate=cert,
        certificate_kind=solver.certificate_kind, converged=converged, n_iter=n_iter,
        family=data.family.name, l1_ratio=float(l1_ratio), tol=float(tol),
        standardize=bool(options.standardize), fit_intercept=bool(prob.fit_intercept),
        stopped_early=done < L, stop_reason=stop_reason(code, dev_ratio[-1], grid[done - 1],
                                separation_note(solver.separated_class, data),
                                data.family.flat_relative),
        classes=data.classes, feature_names=names, lam_max=float(lam_max),
        extra={**extra, **group_extra(penalty)},
        penalty=penalty.shape, gamma=float(getattr(penalty, "gamma", np.nan)),
    )


def _prepare_data(X, y, options):
    n = X.shape[0]
    fam = get_family(options.family).with_options(options.ties, options.strata)
    matrix = fam.response == "matrix" and fam.quadratic
    yv, classes = fam.prepare_target(
        y if fam.response == "survival" else
        (check_response_matrix if matrix else check_target)(y, n))
    if yv.shape[0] != n:
        raise ValueError(f"y has {yv.shape[0]} rows but X has {n}")
    w_norm = check_sample_weight(options.sample_weight, n)
    uniform = w_norm is None
    w = np.full(n, 1.0 / n) if uniform else w_norm
    if not uniform and w.min() == w.max():  # all equal (no sort: a fold calls this)
        uniform = True
    fam.check_support(yv, w, classes)
    off = check_offset(options.offset, n, yv.shape[1] if yv.ndim == 2 else None)
    return _Data(fam, yv, classes, w, uniform, off)


# A gaussian response whose magnitude leaves this range is fitted scaled by a power of two
# to about 1 (exact: every sum scales exactly) and the path scaled back, so that neither
# the sums of squares of the objective and its certificate nor the squared coefficient
# moves (y / x)^2 of coordinate descent over- or underflow.
_Y_MAGNITUDE = (1e-30, 1e30)


def _response_scale(data):
    """1.0, or the power of two that brings an extreme gaussian response near 1."""
    if not data.family.quadratic:
        return 1.0
    r = data.y if data.offset is None else data.y - data.offset
    if not data.uniform:  # (uniform weights are all positive: every row is live)
        r = r[data.w > 0]
    m = float(np.abs(r).max()) if r.size else 0.0
    if m == 0.0 or _Y_MAGNITUDE[0] <= m <= _Y_MAGNITUDE[1]:
        return 1.0
    if not np.isfinite(m):
        raise ValueError("y - offset overflows double precision; rescale y before fitting")
    return float(2.0 ** np.round(np.log2(m)))


def _rescaled(X, y, options, hints, scale):
    """The path of ``y / scale`` (lams, bounds and offset alike), scaled back."""
    def down(v):
        return None if v is None else np.asarray(v, dtype=float) / scale

    hints = ScaledHints(hints, scale).scaled()  # its hooks see y's own scale
    path = fit_path(X, y / scale, options.replace(
        offset=down(options.offset), lams=down(options.lams), lower=down(options.lower),
        upper=down(options.upper)), hints)
    with np.errstate(over="ignore"):
        big = np.max(np.abs(path.coefs), initial=0.0) * scale
        big = max(big, np.max(np.abs(path.intercepts), initial=0.0) * scale)
    if not np.isfinite(big):
        raise ValueError("the coefficients (of the size of y / X) overflow double precision; "
                         "rescale y or X before fitting")
    check_coefficient_scale(path.coefs, scale)
    return dataclasses.replace(
        path, lams=path.lams * scale, coefs=path.coefs * scale,
        intercepts=path.intercepts * scale, lam_max=path.lam_max * scale,
        null_deviance=path.null_deviance * scale * scale,
        extra={**path.extra, "response_scale": scale},
    )


def check_options(options, family, p):
    """``(tol, max_iter, l1_ratio, n_lams, feature_names)`` of ``options`` checked by name
    (``tol`` defaults to the family's), for a design of ``p`` columns."""
    l1_ratio = check_scalar(options.l1_ratio, "l1_ratio", lo=0.0, hi=1.0)
    tol = options.tol
    if tol is None:
        tol = family.default_tol
        if (l1_ratio < 1.0 and options.penalty == "elasticnet"
                and family.ridge_mix_tol is not None):
            tol = min(tol, family.ridge_mix_tol)  # (model.families: ridge_mix_tol)
    tol = check_scalar(tol, "tol", lo=0.0, lo_open=True)
    max_iter = check_scalar(options.max_iter, "max_iter", lo=1, integer=True)
    n_lams = check_scalar(options.n_lams, "n_lams", lo=1, hi=N_LAMS_MAX, integer=True)
    for flag in ("standardize", "fit_intercept", "multinomial_grouped", "early_stop"):
        check_flag(getattr(options, flag), flag, none=flag == "early_stop")
    return tol, max_iter, l1_ratio, n_lams, _feature_names(options.feature_names, p)


def _feature_names(names, p):
    if names is None:
        return None
    names = np.asarray(names, dtype=str)
    if names.shape != (p,):
        raise ValueError(f"feature_names must have {p} entries, got {names.shape}")
    return names


def _problem(X, data, penalty, options, hints, tol, max_iter, names):
    """The :class:`Problem` and, for a fold fitted from shared sums, its starting gradient
    and gathered held-out block."""
    n, p = X.shape
    fit_intercept = bool(options.fit_intercept) and data.family.has_intercept
    live_split = None
    if (hints.shared_gram is not None and data.family.quadratic and not sp.issparse(X)
            and data.offset is None and fit_intercept and data.y.ndim == 1):
        live_split = _live_split(data.w, data.uniform, hints.held_out)
    g0 = held_block = None
    if live_split is not None:
        # a cross-validation fold: moments from the shared full-data sums minus the
        # held-out rows' (see shrinkage.engine.gram.live_moments)
        xw, var, g0, _, lo, hi = live_moments(hints.shared_gram, X, data.y, *live_split)
        held_block = live_split[1]
    else:
        xw = np.asarray(X.T @ data.w).ravel()
        var = column_moments(X, data.w, xw)
        lo, hi = column_spread(X, data.w)
    check_column_means(xw)
    constant = constant_columns(lo, hi, var, names, xw if fit_intercept else None,
                                fit_intercept or not data.family.has_intercept)
    xs = np.sqrt(var)
    # no intercept in the Cox model, but its loss ignores a shift of eta: centring the
    # columns changes nothing and keeps the diagonal Newton model well conditioned
    xm = xw if fit_intercept or not data.family.has_intercept else np.zeros(p)
    scale = np.where(constant, 1.0, xs) if options.standardize else np.ones(p)
    arrays = penalty.lower_arrays(p, scale)
    lo = np.where(constant, 0.0, arrays.lo)
    hi = np.where(constant, 0.0, arrays.hi)
    if (data.y.ndim == 2 and penalty.group_responses
            and (np.any(np.isfinite(lo[~constant])) or np.any(np.isfinite(hi[~constant])))):
        raise ValueError("lower/upper bounds are not supported with the grouped multinomial "
                         "penalty; use multinomial_grouped=False")
    xsq = np.where(constant, 0.0, var if fit_intercept
                   else column_moments(X, data.w, np.zeros(p)))
    cert_scale = Problem.certificate_scale(var if xm is xw else xsq, constant)
    prob = Problem(
        X=X, y=data.y, w=data.w, uniform_w=(1.0 / n if data.uniform else 0.0),
        offset=data.offset, family=data.family, xm=xm, xw=xw, xsq=xsq, l1u=arrays.l1,
        l2u=arrays.l2, lo=lo, hi=hi, excluded=constant, fit_intercept=fit_intercept,
        tol=tol, max_iter=max_iter, scale=scale, penalty=penalty, cert_scale=cert_scale,
    )
    return prob, g0, held_block


def _ridge_ends(prob, data, eta):
    """The df-based ends of a ridge grid (:func:`~shrinkage.engine.ridge.ridge_grid_ends`)
    with the rows weighted by the loss's curvature at the null model; None when the
    design is too large to decompose or has rank below 2."""
    e = penalised_spectrum(prob, data.family.irls_weights(data.y, eta, data.w))
    return None if e is None else ridge_grid_ends(e, int(np.sum(data.w > 0)))


def _live_split(w, uniform, held_out):
    """``(rows, block)`` of the held-out rows when ``w`` is exactly a fold's weights.

    That is zero on ``rows`` and one equal positive value on every other row (no held-out
    rows at all for uniform weights); ``held_out`` is ``(rows, X[rows])`` from the caller.
    None for any other weighting, whose moments are computed directly.
    """
    if held_out is None:
        return (np.empty(0, dtype=np.int64), None) if uniform else None
    rows, block = held_out
    rows = np.asarray(rows)
    if rows.size == 0 or (w[rows] != 0.0).any():
        return None
    # (a mask rather than np.delete, which costs a fold about 6 us more)
    live = np.ones(w.size, dtype=bool)
    live[rows] = False
    live_w = w[live]
    if live_w.size + rows.size != w.size or live_w.size == 0:
        return None  # repeated rows
    if not (live_w[0] > 0.0 and (live_w == live_w[0]).all()):
        return None
    return rows, block
