"""The debiased (desparsified) lasso: an interval for every coefficient, also when p > n.

The lasso's coefficients are biased towards zero, so they cannot be centred in an
interval. Zhang & Zhang (2014) and van de Geer, Buhlmann, Ritov & Dezeure (2014) remove
the bias one coordinate at a time. With ``W`` the curvature of the loss at the lasso fit
(the identity for gaussian), ``x~_j = W^{1/2} (x_j - m_j)`` the weighted, centred
columns and ``z_j`` the residual of a lasso regression of ``x~_j`` on the others (the
nodewise regression),

    b~_j = b_j + z_j^T W^{-1/2} (y - mu) / (z_j^T x~_j)
         = b_j + sum_i z_ij (y_i - mu_i) / w_i^{1/2} / (z_j^T x~_j)

(one Newton step on coordinate ``j`` with the nodewise inverse of ``X^T W X``)

is asymptotically normal around the true coefficient with standard error
``phi^{1/2} ||z_j|| / |z_j^T x~_j|`` (``phi = sigma^2`` for gaussian, 1 for binomial and
poisson). Each nodewise strength is the scaled lasso's (Sun & Zhang 2012):
``lam_j = lam0 * sigma_j(lam_j)`` with ``lam0 = sqrt(2 log(p) / n)`` and ``sigma_j`` the
residual root mean square, found on a short path of the nodewise regression.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from joblib import delayed
from scipy import stats

from ..engine.shared import SharedDesign
from ..model.families import get_family
from ..tuning.cv import cross_validate, path_options
from ..tuning.parallel import parallel_map
from ..validation import check_design
from .design import (
    check_family,
    check_lam,
    check_level,
    check_response,
    check_sigma,
    names_of,
    numeric_response,
    tight_fit,
)
from .result import InferenceResult

__all__ = ["debiased_lasso"]

_MAX_DENSE = 5e7  # entries of the weighted design held densely
_NODE_LAMS = 20  # strengths per nodewise path segment


def debiased_lasso(X, y, family="gaussian", *, lam="cv", level=0.95, sigma=None,
                   standardize=True, cv=10, n_jobs=None, backend=None, random_state=0,
                   feature_names=None):
    """Intervals and p-values for every coefficient from the desparsified lasso.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n, p)
    y : array-like of shape (n,)
    family : {"gaussian", "binomial", "poisson"}
    lam : float or "cv", default "cv"
        Strength of the initial lasso (our units); ``"cv"`` takes the cross-validated
        minimum (the debiasing removes the shrinkage, so the less biased choice is
        preferred to the one-standard-error one).
    level : float, default 0.95
    sigma : float, optional
        Gaussian noise sd; default ``sqrt(RSS / (n - nnz - 1))`` of the initial lasso
        (Reid, Tibshirani & Friedman 2016).
    standardize : bool, default True
        Standardize in the initial lasso and the nodewise regressions.
    cv : int, default 10
    n_jobs : int, optional
        Parallel nodewise regressions (threads; ``None``: every core).
    backend : str, optional
        A joblib backend (e.g. ``"dask"``).
    random_state : int, default 0
    feature_names : sequence of str, optional

    Returns
    -------
    InferenceResult
        ``estimate`` the debiased coefficients (original scale), ``lower``/``upper``
        Wald intervals, ``pvalue`` for ``coefficient = 0``; every feature is reported
        (``selected`` marks the initial lasso's support). ``details``: ``lam``,
        ``sigma``, ``lasso`` (initial coefficients), ``node_lams``, ``se``.

    Notes
    -----
    The intervals are asymptotic: they need the true model sparse enough
    (``s log p / sqrt(n)`` small) and the nodewise regressions well posed. A feature
    that is constant (after weighting) gets NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from shrinkage.inference import debiased_lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 150)); y = 2 * X[:, 0] + rng.standard_normal(100)
    >>> res = debiased_lasso(X, y)
    >>> bool(res.pvalue[0] < 1e-10), bool(np.median(res.pvalue[1:]) > 0.2)
    (True, True)
    """
    family = check_family(family, "debiased_lasso")
    level = check_level(level)
    X = check_design(X)
    n, p = X.shape
    y = check_response(y, n, family)
    sigma = check_sigma(sigma)
    names = names_of(X, p, feature_names)
    if p < 2:
        raise ValueError("debiased_lasso needs at least 2 features")
    lam = check_lam(lam)
    if lam == "cv":
        res, path = cross_validate(X, y, family, cv=cv, rule="min", random_state=random_state,
                                   standardize=standardize, return_path=True)
        k = res.index_min
        lam_used = float(res.lam_min)
    else:
        lam_used = lam
        path = tight_fit(X, y, family, lam_used, standardize=standardize)
        k = 0
    b = path.coefs[k]
    eta = path.linear_predictor(X, k)
    yn = numeric_response(y, family, path.classes)
    fam = get_family(family)
    mu = np.asarray(fam.mean(eta))
    w = np.ones(n) if family == "gaussian" else np.asarray(fam.curvature(eta))
    if family == "gaussian" and sigma is None:
        nnz = int(np.count_nonzero(b))
        sigma = math.sqrt(float(np.sum((yn - mu) ** 2)) / max(n - nnz - 1, 1))
    phi = sigma * sigma if family == "gaussian" else 1.0
    Xw = _weighted_design(X, w)
    score = (yn - mu) / np.sqrt(np.maximum(w, 1e-300))  # W^{-1/2} (y - mu)
    node = _Nodewise(Xw, standardize)
    jobs = (delayed(node.residual)(j) for j in range(p))
    results = parallel_map(jobs, n_jobs, backend, size=n * p)
    estimate = np.full(p, np.nan)
    se = np.full(p, np.nan)
    node_lams = np.full(p, np.nan)
    for j, (z, lam_j) in enumerate(results):
        if z is None:
            continue
        denom = float(z @ Xw[:, j])
        if not abs(denom) > 0:
            continue
        estimate[j] = b[j] + float(z @ score) / denom
        se[j] = math.sqrt(phi * float(z @ z)) / abs(denom)
        node_lams[j] = lam_j
    crit = stats.norm.ppf(0.5 + level / 2)
    lower, upper = estimate - crit * se, estimate + crit * se
    pvalue = np.minimum(1.0, 2 * stats.norm.sf(np.abs(estimate) / se))
    details = {"lam": lam_used, "sigma": sigma if family == "gaussian" else None,
               "lasso": b.copy(), "node_lams": node_lams, "se": se}
    return InferenceResult("debiased", names, estimate, lower, upper, pvalue,
                           np.full(p, np.nan), b != 0, level, family, details)


def _weighted_design(X, w):
    """``W^{1/2} (X - m_w)``, dense and Fortran-ordered, ``m_w`` the ``w``-weighted means."""
    n, p = X.shape
    if n * p > _MAX_DENSE:
        raise ValueError(f"debiased_lasso holds the weighted, centred design densely: "
                         f"{n} x {p} is over {_MAX_DENSE:.0e} entries")
    dense = X.toarray() if sp.issparse(X) else np.array(X, dtype=float)
    mean = (w @ dense) / np.sum(w)
    return np.asfortranarray((dense - mean) * np.sqrt(w)[:, None])


class _Nodewise:
    """The scaled-lasso nodewise regressions on one weighted design (shared Gram)."""

    def __init__(self, Xw, standardize):
        self.Xw = Xw
        self.n, self.p = Xw.shape
        self.design = SharedDesign(Xw, "gaussian")
        self.standardize = standardize
        self.lam0 = math.sqrt(2.0 * math.log(self.p) / self.n)
        scale = np.sqrt(np.mean(Xw * Xw, axis=0)) if standardize else np.ones(self.p)
        self.scale = np.where(scale > 0, scale, 1.0)

    def residual(self, j):
        """``(z_j, lam_j)``: the residual of ``x_j`` on the other columns at the scaled
        lasso's strength, or ``(None, nan)`` for a constant column."""
        xj = np.ascontiguousarray(self.Xw[:, j])
        sd = math.sqrt(float(xj @ xj) / self.n)
        if sd == 0.0:
            return None, float("nan")
        lo = np.full(self.p, -np.inf)
        hi = np.full(self.p, np.inf)
        lo[j] = hi[j] = 0.0  # the column is the response: keep it out of the model
        corr = np.abs(self.Xw.T @ xj) / (self.n * self.scale)
        corr[j] = 0.0
        top = float(np.max(corr))
        if top <= self.lam0 * sd:  # the fixed point is at the null model
            return xj.copy(), self.lam0 * sd
        low = max(0.25 * self.lam0 * sd, 1e-3 * top)
        while True:
            grid = top * np.logspace(0.0, math.log10(low / top), _NODE_LAMS)
            options = path_options("gaussian", dict(
                lams=grid, lower=lo, upper=hi, fit_intercept=False,
                standardize=self.standardize, early_stop=False))
            path = self.design.path(xj, options)
            fits = path.coefs @ self.Xw.T  # (L, n)
            sig = np.sqrt(np.mean((xj[None, :] - fits) ** 2, axis=1))
            below = np.flatnonzero(grid <= self.lam0 * sig)
            if below.size or low <= 1e-3 * top:
                k = int(below[0]) if below.size else grid.size - 1
                return xj - fits[k], float(grid[k])
            low = max(0.25 * low, 1e-3 * top)
