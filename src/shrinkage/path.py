"""``regularization_path``: the whole strength grid, warm-started, certified.

The driver standardizes implicitly (weighted means and scales, no copy of X), finds the
exact ``lam_max``, builds the log-spaced grid, and walks it from the strongest ``lam`` down,
handing each solve the previous solution (warm start) and the previous gradient (strong
rule). Every point carries its certificate and a converged flag; the path stops early,
and says so, when the deviance explained passes 0.999 or stops changing (glmnet's rule).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from ._kernels.gaussian_path import early_stop_code
from ._validation import (
    check_design,
    check_offset,
    check_sample_weight,
    check_scalar,
    check_target,
)
from .gram import live_moments
from .losses import Multinomial, get_family
from .multinomial import MultinomialSolver
from .newton import ProximalNewton
from .penalties import ElasticNet
from .results import Path
from .solvers import GaussianCovariance, GaussianNaive, Problem

__all__ = ["regularization_path", "ConvergenceWarning"]

# glmnet's early-stop constants: deviance explained above 0.999, or a relative change below
# 1e-5 between consecutive lams, after at least 5 lams.
_DEV_MAX = 0.999
_DEV_CHANGE = 1e-5
_MIN_LAMS_BEFORE_STOP = 5
_RIDGE_LAM_MAX_RATIO = 1e-3  # lam_max for l1_ratio < 1e-3 is computed as if l1_ratio = 1e-3


class ConvergenceWarning(UserWarning):
    """A path point did not reach its certificate tolerance."""


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
    tol=1e-7,
    max_iter=100_000,
    multinomial_grouped=True,
    feature_names=None,
    early_stop=None,
    _mode="auto",
    _shared_gram=None,
    _held_out=None,
    _design_checked=False,
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
    y : array-like of shape (n,)
        Response: real (gaussian), 0/1, two labels or proportions (binomial), counts
        (poisson), labels (multinomial).
    family : {"gaussian", "binomial", "poisson", "multinomial"}
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
        Box constraints on the coefficients.
    standardize : bool
        Penalise coefficients of features scaled to unit weighted variance.
    fit_intercept : bool
    sample_weight : array of shape (n,), optional
        Non-negative weights (normalised internally to sum to one).
    offset : array of shape (n,) (or (n, K) for multinomial), optional
        Known part of the linear predictor.
    tol : float
        Certificate tolerance: the duality gap relative to the null objective (gaussian)
        or the largest KKT violation relative to the null model's largest gradient (other
        families).
    max_iter : int
        Maximum coordinate-descent sweeps per ``lam``.
    multinomial_grouped : bool
        Multinomial only: one group per feature across classes (glmnet's "grouped").
    feature_names : sequence of str, optional
        Defaults to the column names of a DataFrame ``X``.
    early_stop : bool, optional
        Stop when the deviance explained exceeds 0.999 or stops changing. Default: True for
        the automatic grid, False when ``lams`` is given (as glmnet).

    Returns
    -------
    Path
    """
    if feature_names is None and hasattr(X, "columns"):
        feature_names = np.asarray([str(c) for c in X.columns])
    # cross-validation validates X once and hands every fold the checked array
    Xc = X if _design_checked else check_design(X)
    n, p = Xc.shape
    fam = get_family(family)
    y_raw = check_target(y, n)
    yv, classes = fam.prepare_target(y_raw)
    w_norm = check_sample_weight(sample_weight, n)
    uniform = w_norm is None
    w = np.full(n, 1.0 / n) if uniform else w_norm
    if not uniform and np.unique(w).size == 1:
        uniform = True
    _check_weighted_support(fam.name, yv, w, classes)
    tol = check_scalar(tol, "tol", lo=0.0, lo_open=True)
    max_iter = check_scalar(max_iter, "max_iter", lo=1, integer=True)
    l1_ratio = check_scalar(l1_ratio, "l1_ratio", lo=0.0, hi=1.0)
    n_lams = check_scalar(n_lams, "n_lams", lo=1, integer=True)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {fit_intercept!r}")
    if feature_names is not None:
        feature_names = np.asarray(feature_names, dtype=str)
        if feature_names.shape != (p,):
            raise ValueError(f"feature_names must have {p} entries, got {feature_names.shape}")

    off = check_offset(offset, n, yv.shape[1] if isinstance(fam, Multinomial) else None)
    # implicit standardization: weighted means and standard deviations, X untouched
    live_split = None
    if (_shared_gram is not None and fam.name == "gaussian" and not sp.issparse(Xc)
            and off is None and fit_intercept and yv.ndim == 1):
        live_split = _live_split(w, uniform, _held_out)
    g0 = None
    if live_split is not None:
        # a cross-validation fold: moments from the shared full-data sums minus the
        # held-out rows' (see shrinkage.gram.live_moments)
        xw, var, g0, _ = live_moments(_shared_gram, Xc, yv, *live_split)
    else:
        xw = np.asarray(Xc.T @ w).ravel()
        if sp.issparse(Xc):
            var = _sparse_weighted_var(Xc, w, xw)
        else:
            var = _dense_weighted_var(Xc, w, xw)
    xs = np.sqrt(var)
    # constant relative to the column's own magnitude, so a feature measured in tiny units
    # (sd 1e-8) is kept while a column of one repeated value is excluded
    constant = xs <= 1e-10 * np.sqrt(xw * xw + var)
    xm = xw if fit_intercept else np.zeros(p)
    scale = np.where(constant, 1.0, xs) if standardize else np.ones(p)

    penalty = ElasticNet(l1_ratio, penalty_factor, lower, upper)
    l1u, l2u, lo, hi = penalty.arrays(p, scale)
    lo = np.where(constant, 0.0, lo)
    hi = np.where(constant, 0.0, hi)

    multinomial = isinstance(fam, Multinomial)
    if multinomial and multinomial_grouped and (np.any(np.isfinite(lo[~constant])) or
                                                np.any(np.isfinite(hi[~constant]))):
        raise ValueError("lower/upper bounds are not supported with the grouped multinomial "
                         "penalty; use multinomial_grouped=False")

    prob = Problem(
        X=Xc, y=yv, w=w, uniform_w=(1.0 / n if uniform else 0.0), offset=off, family=fam,
        xm=xm, xw=xw, l1u=l1u, l2u=l2u, lo=lo, hi=hi, excluded=constant,
        fit_intercept=bool(fit_intercept), tol=tol, max_iter=max_iter, scale=scale,
    )

    eta_null, b0_null = fam.null_eta(yv, w, off, fit_intercept)
    null_dev = fam.deviance(yv, eta_null, w)

    if fam.name == "gaussian":
        h = var.copy() if fit_intercept else _uncentred_sq(Xc, w)
        h[constant] = 0.0
        mode = _mode
        if mode == "auto":
            tall = n >= 2 * p and p <= 2000
            mode = "covariance" if tall and _gram_centring_safe(xm, var, constant) else "naive"
        if mode == "covariance":
            # a long path down to small strengths brings in nearly every feature; the
            # whole Gram at once when it (and its temporaries) stay small next to X
            long_path = (lams is None and n_lams >= 10) or (lams is not None and
                                                            np.size(lams) >= 10)
            solver = GaussianCovariance(
                prob, h, full_gram=long_path and 8 * p <= n, shared=_shared_gram, g0=g0,
                held_block=None if live_split is None else live_split[1],
            )
        else:
            solver = GaussianNaive(prob, h, g0=g0)
    elif multinomial:
        solver = MultinomialSolver(prob, eta_null, b0_null, multinomial_grouped)
    else:
        resid0 = fam.grad_residual(yv, eta_null)
        g0 = prob.gradient(w * resid0)
        grad_scale = float(np.max(np.abs(g0[prob.candidates]) / scale[prob.candidates])) \
            if np.any(prob.candidates) else 1.0
        solver = ProximalNewton(prob, eta_null, b0_null, grad_scale)

    # the null model: only unpenalised features (and the intercept) may move
    if np.any(prob.unpenalized):
        solver.solve(1.0, 1.0, ws_mask=prob.unpenalized.copy())

    lam_max = _lam_max(solver.feature_gradient(), l1u, l2u, prob, l1_ratio, scale)

    if lams is None:
        if lam_min_ratio is None:
            lam_min_ratio = 1e-4 if n > p else 1e-2
        lam_min_ratio = check_scalar(lam_min_ratio, "lam_min_ratio", lo=0.0, hi=1.0,
                                     lo_open=True, hi_open=True)
        grid = lam_max * np.logspace(0.0, np.log10(lam_min_ratio), n_lams)
        user_grid = False
    else:
        grid = _check_lams(lams)
        user_grid = True
    if early_stop is None:
        early_stop = not user_grid

    L = grid.size
    K = yv.shape[1] if multinomial else None
    coefs = np.zeros((L, p, K) if multinomial else (L, p))
    intercepts = np.zeros((L, K) if multinomial else L)
    dev_ratio = np.zeros(L)
    cert = np.zeros(L)
    n_iter = np.zeros(L, dtype=np.int64)
    lam_prev = max(lam_max, grid[0])
    done = L
    rules = (_MIN_LAMS_BEFORE_STOP, _DEV_MAX, _DEV_CHANGE)
    compiled = None
    if hasattr(solver, "run_path"):
        compiled = solver.run_path(grid, lam_prev, null_dev, early_stop,
                                   (coefs, intercepts, dev_ratio, cert, n_iter), rules)
    if compiled is not None:
        done, code = compiled
    else:
        code = 0
        for k, lam in enumerate(grid):
            c, sweeps = solver.solve(float(lam), float(lam_prev))
            coefs[k] = solver.b
            intercepts[k] = solver.intercept()
            dev = solver.deviance()
            dev_ratio[k] = 1.0 - dev / null_dev if null_dev > 0 else 0.0
            cert[k] = c
            n_iter[k] = sweeps
            lam_prev = lam
            if early_stop:
                code = early_stop_code(dev_ratio, k, L, *rules)
                if code:
                    done = k + 1
                    break
    stop_reason = _stop_reason(code, dev_ratio[done - 1], grid[done - 1])

    converged = cert[:done] <= tol
    if not np.all(converged):
        bad = np.flatnonzero(~converged)
        k0 = int(bad[0])
        warnings.warn(
            f"{fam.name} path: {bad.size} of {done} lams did not converge within "
            f"max_iter={max_iter}; first at index {k0} (lam={grid[k0]:.4g}) with "
            f"{solver.certificate_kind} {cert[k0]:.2e} > tol {tol:.1e}",
            ConvergenceWarning,
            stacklevel=2,
        )
    coefs = coefs[:done]
    return Path(
        lams=grid[:done].copy(),
        coefs=coefs,
        intercepts=intercepts[:done],
        nnz=(np.count_nonzero(np.any(coefs != 0, axis=2), axis=1) if multinomial
             else np.count_nonzero(coefs, axis=1)),
        dev_ratio=dev_ratio[:done],
        null_deviance=float(null_dev),
        certificate=cert[:done],
        certificate_kind=solver.certificate_kind,
        converged=converged,
        n_iter=n_iter[:done],
        family=fam.name,
        l1_ratio=float(l1_ratio),
        tol=float(tol),
        standardize=bool(standardize),
        fit_intercept=bool(fit_intercept),
        stopped_early=done < L,
        stop_reason=stop_reason,
        classes=classes,
        feature_names=feature_names,
        lam_max=float(lam_max),
    )


def _stop_reason(code, dev_ratio, lam):
    """The message for an early-stop code of ``early_stop_code`` ("" for none)."""
    if code == 1:
        return f"deviance explained {dev_ratio:.4f} exceeds {_DEV_MAX} at lam={lam:.4g}"
    if code == 2:
        return (f"deviance explained changed by less than {_DEV_CHANGE:g} (relative) "
                f"at lam={lam:.4g}")
    return ""


def _check_weighted_support(family, y, w, classes):
    """Refuse targets whose positively weighted part is degenerate (one class, no counts)."""
    if family == "binomial":
        ybar = float(np.dot(w, y))
        if ybar <= 0.0 or ybar >= 1.0:
            raise ValueError("only one class of y has positive sample_weight; the binomial "
                             "family needs both classes")
    elif family == "multinomial":
        mass = w @ y
        if np.any(mass <= 0.0):
            empty = [str(c) for c, m in zip(classes, mass) if m <= 0.0]
            raise ValueError(f"class(es) {', '.join(empty)} of y have no positive "
                             "sample_weight; drop them or give them weight")
    elif family == "poisson" and not float(np.dot(w, y)) > 0.0:
        raise ValueError("every positive count of y has zero sample_weight; the poisson "
                         "model needs some weighted positive counts")


# the covariance solver centres X^T W X by subtracting xm xm^T, losing digits in the ratio
# (xm^2 + var) / var: past this ratio (6 of 16 digits) a column makes the naive solver safer
_GRAM_CANCELLATION_MAX = 1e6


def _gram_centring_safe(xm, var, constant):
    """Whether centring the uncentred Gram keeps every live column's digits.

    A feature whose mean is huge next to its spread (a year coded as 2024.001, 2024.002,
    ...) would leave its centred Gram entries with a relative error of about
    ``1e-16 * (xm^2 + var) / var``, which the Gram-based certificate cannot see.
    """
    live = ~constant
    if not np.any(live):
        return True
    ratio = (xm[live] ** 2 + var[live]) / var[live]
    return bool(np.max(ratio) <= _GRAM_CANCELLATION_MAX)


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
    if rows.size == 0 or np.any(w[rows] != 0.0):
        return None
    live_w = np.delete(w, rows)
    if live_w.size + rows.size != w.size or live_w.size == 0:
        return None  # repeated rows
    if not (live_w[0] > 0.0 and np.all(live_w == live_w[0])):
        return None
    return rows, block


def _dense_weighted_var(X, w, xw):
    from ._kernels.moments import column_variances

    return column_variances(X, w, xw)


def _sparse_weighted_var(X, w, center):
    from ._kernels.moments import sparse_column_moments

    out = np.empty(X.shape[1])
    sparse_column_moments(X.data, X.indptr, X.indices, w, center, out)
    return out


def _uncentred_sq(X, w):
    if sp.issparse(X):
        return _sparse_weighted_var(X, w, np.zeros(X.shape[1]))
    from ._kernels.moments import column_variances

    return column_variances(X, w, np.zeros(X.shape[1]))


def _lam_max(gmag, l1u, l2u, prob, l1_ratio, scale):
    """Smallest lam at which every penalised coefficient stays at zero.

    ``gmag`` is the gradient magnitude per feature at the null model (the group norm across
    classes for the grouped multinomial).
    """
    pen = prob.candidates & ~prob.unpenalized
    if not np.any(pen):
        return 1.0
    if l1_ratio >= _RIDGE_LAM_MAX_RATIO:
        denom = l1u[pen]
    else:
        denom = _RIDGE_LAM_MAX_RATIO * l2u[pen] / np.maximum(scale[pen], 1e-300)
    ok = denom > 0
    if not np.any(ok):
        return 1.0
    # the relative nudge keeps every coefficient exactly zero at lam_max despite rounding
    lam_max = float(np.max(gmag[pen][ok] / denom[ok])) * (1.0 + 1e-10)
    if not lam_max > 0:
        lam_max = 1.0  # y is constant (or orthogonal to X): any lam gives the null model
    return lam_max


def _check_lams(lams):
    arr = np.asarray(lams, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("lams must be a non-empty 1-D sequence of strengths")
    if not np.all(np.isfinite(arr)):
        raise ValueError("lams contains NaN or inf")
    if np.any(arr < 0):
        raise ValueError("lams has negative values; strengths must be >= 0")
    if np.any(np.diff(arr) >= 0) and arr.size > 1:
        raise ValueError("lams must be strictly decreasing (strongest first), without repeats")
    return arr.copy()
