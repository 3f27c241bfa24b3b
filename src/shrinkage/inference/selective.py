"""Inference for the lasso's selected coefficients, given that they were selected.

At a fixed strength the lasso's selection event (the support ``M`` and the signs ``s``)
is a polyhedron in the data, and conditionally on it each coefficient of the selected
model is a truncated normal (Lee, Sun, Sun & Taylor 2016). With ``H = Z_M^T W Z_M``
(``Z_M = [1, X_M]``, ``W`` the identity for gaussian, the curvature at the fit for the
GLMs), ``lambda_j = n * lam * pf_j * s_j`` the penalty of feature ``j`` on the original
scale and ``b`` the lasso solution, the one-step estimator

    bbar_M = b_M + H^{-1} (lambda_M * s_M)

is the unpenalised fit on ``M`` (exactly, for gaussian), distributed as
``N(beta_M, sigma^2 H^{-1})``, and the lasso kept the signs exactly when
``s_j (bbar_M - H^{-1} lambda_M s_M)_j > 0`` for every penalised ``j`` in ``M``. The
constraints from the features left out involve only the residual of ``M``'s fit, which
is independent of ``bbar_M`` under gaussian errors, so they do not truncate it. For the
GLMs the same statement holds asymptotically (Taylor & Tibshirani 2018), which is what
R's selectiveInference computes.

The guarantee needs ``lam`` fixed in advance. A ``lam`` chosen by cross-validation on
the same data breaks it: :func:`selective_lasso` with ``lam="cv"`` therefore splits
the rows, chooses ``lam`` and the features on one half, and fits the selected model
without penalty on the other, where classical intervals are valid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..tuning.cv import cross_validate
from ..validation import check_design
from .design import (
    check_family,
    check_lam,
    check_level,
    check_response,
    check_sigma,
    columns,
    names_of,
    numeric_response,
    tight_fit,
    weighted_hessian,
)
from .result import InferenceResult, empty_columns
from .truncated import (
    polyhedral_limits,
    truncated_normal_interval,
    truncated_normal_pvalue,
)

__all__ = ["selective_lasso"]


def selective_lasso(X, y, lam="cv", family="gaussian", *, level=0.95, sigma=None,
                    penalty_factor=None, standardize=True, rule="1se", cv=10,
                    random_state=0, feature_names=None):
    """Confidence intervals and p-values for the coefficients the lasso selects.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n, p)
    y : array-like of shape (n,)
    lam : float or "cv", default "cv"
        A strength fixed before seeing the data (our units, as in
        :func:`shrinkage.regularization_path`): exact selective inference given the
        selection event (gaussian; asymptotic for binomial and poisson). ``"cv"``: data
        splitting instead, with ``lam`` chosen by cross-validation and ``rule`` on a random
        half of the rows and the selected model fitted without penalty on the other half
        (valid whatever chose ``lam``; the price is half the data for each step).
    family : {"gaussian", "binomial", "poisson"}
    level : float, default 0.95
        Level of the two-sided intervals.
    sigma : float, optional
        Gaussian noise sd. Default: estimated, from the full least-squares fit when
        ``n > p + 1`` (``RSS / (n - p - 1)``), otherwise from the lasso at the
        cross-validated minimum (``RSS / (n - nnz - 1)``, Reid, Tibshirani & Friedman
        2016); the intervals are then approximate. Ignored for binomial and poisson.
    penalty_factor : array of shape (p,), optional
        As in :func:`shrinkage.regularization_path`; unpenalised features are always in
        the model and get intervals with no truncation from their own sign.
    standardize : bool, default True
    rule : str, default "1se"
        Selection rule for ``lam="cv"``.
    cv : int, default 10
        Folds for ``lam="cv"`` and for the sigma estimate.
    random_state : int, default 0
        Seed of the split (``lam="cv"``) and of the folds.
    feature_names : sequence of str, optional

    Returns
    -------
    InferenceResult
        ``method`` is ``"selective"`` or ``"data_splitting"``; rows of unselected
        features are NaN. ``details`` holds ``lam``, ``sigma``, the truncation limits
        (``vlo``, ``vhi``, on the original scale) and, when splitting, the two row sets.

    Notes
    -----
    Intervals are for the coefficients of the selected model, ``beta_M = (Z_M^T Z_M)^{-1}
    Z_M^T E[y]`` (gaussian), not for the coefficients of any larger true model. The event
    conditioned on includes the signs (valid, slightly less powerful than the union over
    signs). Sample weights and offsets are not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from shrinkage.inference import selective_lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5)); y = 2 * X[:, 0] + rng.standard_normal(100)
    >>> res = selective_lasso(X, y, lam=0.3, sigma=1.0, level=0.9)
    >>> bool(res.selected[0] and res.lower[0] < 2 < res.upper[0])
    True
    """
    family = check_family(family, "selective_lasso")
    level = check_level(level)
    X = check_design(X)
    n, p = X.shape
    y = check_response(y, n, family)
    names = names_of(X, p, feature_names)
    sigma = check_sigma(sigma)
    lam = check_lam(lam)
    if lam == "cv":
        return _data_splitting(X, y, family, level, sigma, penalty_factor, standardize, rule,
                               cv, random_state, names)
    return _fixed_lam(X, y, lam, family, level, sigma, penalty_factor, standardize, cv,
                      random_state, names)


def _fixed_lam(X, y, lam, family, level, sigma, penalty_factor, standardize, cv,
               random_state, names):
    """Selective inference at a strength fixed in advance (the polyhedral lemma)."""
    n, p = X.shape
    path = tight_fit(X, y, family, lam, penalty_factor=penalty_factor,
                     standardize=standardize)
    if not path.converged[0]:
        raise RuntimeError(f"the lasso at lam={lam:.4g} did not reach the tight certificate "
                           f"inference needs ({path.certificate[0]:.1e})")
    pf = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, dtype=float)
    b = path.coefs[0]
    model = np.flatnonzero((b != 0) | (pf == 0))
    yn = numeric_response(y, family, path.classes)
    if family == "gaussian" and sigma is None:
        sigma = _estimate_sigma(X, y, penalty_factor, standardize, cv, random_state)
    disp = sigma if family == "gaussian" else 1.0
    estimate, lower, upper, pvalue, probability = empty_columns(p)
    vlo, vhi = np.full(p, np.nan), np.full(p, np.nan)
    if model.size:
        Z = np.column_stack([np.ones(n), columns(X, model)])
        eta = path.intercepts[0] + Z[:, 1:] @ b[model]
        H, _ = weighted_hessian(Z, family, eta)
        Hinv = np.linalg.pinv(H, hermitian=True)
        sd = np.std(Z[:, 1:], axis=0) if standardize else 1.0  # the engine's s_j
        lam_j = n * lam * pf[model] * sd
        signs = np.sign(b[model])
        shift = Hinv @ np.concatenate([[0.0], lam_j * signs])
        bbar = np.concatenate([[path.intercepts[0]], b[model]]) + shift
        cov = disp * disp * Hinv
        pen = np.flatnonzero(lam_j > 0) + 1  # rows of bbar that carry a sign constraint
        A = np.zeros((pen.size, model.size + 1))
        A[np.arange(pen.size), pen] = -signs[pen - 1]
        bound = -signs[pen - 1] * shift[pen]
        for k, j in enumerate(model, start=1):
            sd = math.sqrt(max(cov[k, k], 0.0))
            if sd == 0.0:
                continue
            lo_k, hi_k = polyhedral_limits(A, bound, bbar, cov[:, k] / cov[k, k], bbar[k])
            estimate[j] = bbar[k]
            lower[j], upper[j] = truncated_normal_interval(bbar[k], sd, lo_k, hi_k, level)
            pvalue[j] = truncated_normal_pvalue(bbar[k], sd, lo_k, hi_k)
            vlo[j], vhi[j] = lo_k, hi_k
    selected = np.zeros(p, dtype=bool)
    selected[model] = True
    details = {"lam": lam, "sigma": sigma if family == "gaussian" else None,
               "vlo": vlo, "vhi": vhi, "exact": family == "gaussian",
               "response_mean": float(np.mean(yn))}
    return InferenceResult("selective", names, estimate, lower, upper, pvalue, probability,
                           selected, level, family, details)


def _estimate_sigma(X, y, penalty_factor, standardize, cv, random_state):
    """Gaussian noise sd: full least squares when ``n > p + 1``, else the CV lasso's."""
    n, p = X.shape
    y = np.asarray(y, dtype=float)
    if n > p + 1:
        Z = np.column_stack([np.ones(n), columns(X, np.arange(p))])
        coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
        rss = float(np.sum((y - Z @ coef) ** 2))
        rank = np.linalg.matrix_rank(Z)
        return math.sqrt(rss / max(n - rank, 1))
    res, path = cross_validate(X, y, "gaussian", cv=cv, rule="min", random_state=random_state,
                               penalty_factor=penalty_factor, standardize=standardize,
                               return_path=True)
    k = res.index_min
    fit = path.linear_predictor(X, k)
    nnz = int(np.count_nonzero(path.coefs[k]))
    return math.sqrt(float(np.sum((y - fit) ** 2)) / max(n - nnz - 1, 1))


def _data_splitting(X, y, family, level, sigma, penalty_factor, standardize, rule, cv,
                    random_state, names):
    """Choose on one half of the rows, infer on the other (classical intervals)."""
    n, p = X.shape
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    first, second = np.sort(perm[: n // 2]), np.sort(perm[n // 2:])
    res, path = cross_validate(X[first], y[first], family, cv=cv, rule=rule,
                               random_state=random_state, penalty_factor=penalty_factor,
                               standardize=standardize, return_path=True)
    k = res.index_chosen
    pf = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, dtype=float)
    model = np.flatnonzero((path.coefs[k] != 0) | (pf == 0))
    estimate, lower, upper, pvalue, probability = empty_columns(p)
    m = second.size
    if model.size:
        if model.size + 1 >= m:
            raise ValueError(f"the first half selected {model.size} features: too many to fit "
                             f"without penalty on the {m} rows of the second half")
        Z = np.column_stack([np.ones(m), columns(X[second], model)])
        coef, cov, df = _unpenalized_fit(Z, y[second], family, sigma)
        z = stats.t.ppf(0.5 + level / 2, df) if df else stats.norm.ppf(0.5 + level / 2)
        se = np.sqrt(np.maximum(np.diag(cov)[1:], 0.0))
        estimate[model] = coef[1:]
        lower[model] = coef[1:] - z * se
        upper[model] = coef[1:] + z * se
        tail = stats.t.sf(np.abs(coef[1:] / se), df) if df else stats.norm.sf(
            np.abs(coef[1:] / se))
        pvalue[model] = np.minimum(1.0, 2 * tail)
    selected = np.zeros(p, dtype=bool)
    selected[model] = True
    details = {"lam": float(res.lam_chosen), "rule": res.rule, "select_rows": first,
               "infer_rows": second, "cv": res}
    return InferenceResult("data_splitting", names, estimate, lower, upper, pvalue,
                           probability, selected, level, family, details)


def _unpenalized_fit(Z, y, family, sigma):
    """``(coef, covariance, t degrees of freedom or 0)`` of the unpenalised GLM on ``Z``
    (first column the intercept), by Newton's method (least squares for gaussian)."""
    m, k = Z.shape
    if family == "gaussian":
        coef, *_ = np.linalg.lstsq(Z, y.astype(float), rcond=None)
        H = Z.T @ Z
        df = m - k
        s2 = sigma ** 2 if sigma is not None else float(np.sum((y - Z @ coef) ** 2)) / df
        return coef, s2 * np.linalg.pinv(H, hermitian=True), (0 if sigma is not None else df)
    from ..model.families import get_family

    fam = get_family(family)
    classes = np.unique(y) if family == "binomial" else None
    yn = numeric_response(y, family, classes if classes is not None and classes.size == 2
                          else None)
    coef = np.zeros(k)
    coef[0] = _null_link(fam.name, yn)
    for _ in range(100):
        eta = Z @ coef
        mu = np.asarray(fam.mean(eta))
        H, _ = weighted_hessian(Z, family, eta)
        step = np.linalg.lstsq(H, Z.T @ (yn - mu), rcond=None)[0]
        coef = coef + step
        if np.max(np.abs(step)) <= 1e-10 * (1 + np.max(np.abs(coef))):
            break
    H, _ = weighted_hessian(Z, family, Z @ coef)
    return coef, np.linalg.pinv(H, hermitian=True), 0


def _null_link(family, y):
    """The intercept of the null model: logit or log of the mean response."""
    mean = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6 if family == "binomial" else np.inf))
    return math.log(mean / (1 - mean)) if family == "binomial" else math.log(mean)
