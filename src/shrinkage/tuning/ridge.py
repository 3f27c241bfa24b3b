"""Exact ridge paths from one decomposition: coefficients, df, leave-one-out and GCV.

For each ``lam`` on a grid, ridge minimises (``l1_ratio = 0`` of the library's objective)::

    1/(2W) sum_i w_i (y_i - b0 - x_i . b)^2 + lam/2 sum_j pf_j (s_j b_j)^2

with ``W = sum(w)``, ``s_j`` the weighted population sd of feature ``j`` when
``standardize=True`` (else 1) and ``pf_j > 0`` penalty factors. Write ``Z`` for the
weighted, centred and scaled design ``Z_ij = sqrt(w_i / W) (x_ij - xbar_j) / (s_j
sqrt(pf_j))`` and ``z = sqrt(w / W) (y - ybar)``. With the thin SVD ``Z = U diag(d) V^T``
every quantity on the path is a diagonal filter of one decomposition:

* coefficients ``c(lam) = V diag(d / (d^2 + lam)) U^T z`` (``b_j = c_j / (s_j sqrt(pf_j))``),
* hat-matrix diagonal ``h_i = w_i / W + sum_k U_ik^2 d_k^2 / (d_k^2 + lam)`` (the first term
  is the unpenalised intercept),
* effective degrees of freedom ``df = tr H = 1 + sum_k d_k^2 / (d_k^2 + lam)``,
* exact leave-one-out residuals ``e_(-i) = e_i / (1 - h_i)`` (PRESS),
* GCV ``= (sum_i w_i e_i^2 / W) / (1 - df / n)^2``.

The decomposition and the filters are the engine's (:mod:`shrinkage.engine.ridge`): its
cost is ``O(n p min(n, p))``; each ``lam`` then costs ``O(n min(n, p))`` for the
leave-one-out residuals and ``O(p min(n, p))`` for the coefficients.

Leave-one-out here has its classical (PRESS, ``RidgeCV``) meaning: observation ``i`` is
dropped while the penalty keeps its full-data weight (``lam * W`` on the unnormalised sum
of squares) and the standardization keeps the full-data scales ``s_j``. Sample weights are
frequency-like precision weights; they must be strictly positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.ridge import ExactRidge, ridge_grid_ends
from ..results import CVResult, Path, nonzero_features
from ..validation import as_real_array, check_flag, check_scalar, refuse_sparse
from .selection import Rule, apply_rule, best

__all__ = ["RidgeResult", "ridge_path"]


@dataclass(frozen=True, eq=False)
class RidgeResult:
    """An exact ridge path with its exact leave-one-out validation.

    Attributes
    ----------
    path : Path
        Coefficients along ``lams``; for ``k`` targets ``coefs`` has shape
        ``(n_lams, p, k)`` and ``intercepts`` ``(n_lams, k)``.
    cv : CVResult
        Leave-one-out squared errors (one "fold" per sample, averaged over targets) and
        the chosen ``lam``.
    cv_per_target : tuple of CVResult or None
        One result per target (multiple targets only), each with its own chosen ``lam``.
    df : ndarray of shape (n_lams,)
        Effective degrees of freedom ``tr H`` (intercept included).
    gcv : ndarray of shape (n_lams,) or (n_lams, k)
    loo_mse : ndarray of shape (n_lams,) or (n_lams, k)
        Weighted mean squared leave-one-out error.
    singular_values : ndarray
        Singular values ``d`` of the scaled design ``Z`` (descending).
    """

    path: Path
    cv: CVResult
    cv_per_target: tuple | None
    df: np.ndarray
    gcv: np.ndarray
    loo_mse: np.ndarray
    singular_values: np.ndarray

    @property
    def lam_chosen(self):
        """The chosen ``lam``: a float, or one per target when ``per_target`` was asked."""
        if self.cv_per_target is not None and self.path.extra.get("per_target", False):
            return np.array([c.lam_chosen for c in self.cv_per_target])
        return self.cv.lam_chosen

    def chosen(self):
        """Coefficients and intercept at the chosen ``lam`` (per target if asked).

        Returns
        -------
        coef : ndarray of shape (p,) or (p, k)
        intercept : float or ndarray of shape (k,)
        """
        p = self.path
        if self.cv_per_target is not None and p.extra.get("per_target", False):
            idx = [c.index_chosen for c in self.cv_per_target]
            coef = np.stack([p.coefs[i, :, t] for t, i in enumerate(idx)], axis=1)
            return coef, np.array([p.intercepts[i, t] for t, i in enumerate(idx)])
        i = self.cv.index_chosen
        return p.coefs[i], p.intercepts[i]


def _as_2d_float(name, a):
    arr = as_real_array(a, name)  # complex, strings and dates refused by name
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_inputs(X, y, sample_weight, penalty_factor):
    refuse_sparse(X, "ridge_path", "the exact path decomposes X itself")
    X = _as_2d_float("X", X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d, got shape {X.shape}")
    n, p = X.shape
    if n < 2 or p < 1:
        raise ValueError(f"X must have at least 2 rows and 1 column, got shape {X.shape}")
    y = _as_2d_float("y", y)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"y must have shape ({n},) or ({n}, k), got {y.shape}")
    Y = y.reshape(n, -1)
    if Y.shape[1] == 0:
        raise ValueError("y has 0 columns: give at least one response")
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = _as_2d_float("sample_weight", sample_weight)
        if w.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
        if np.any(w <= 0):
            raise ValueError(
                "sample_weight must be strictly positive for ridge_path (drop rows of "
                "weight zero: leave-one-out is undefined for them)"
            )
    if penalty_factor is None:
        pf = np.ones(p)
    else:
        pf = _as_2d_float("penalty_factor", penalty_factor)
        if pf.shape != (p,):
            raise ValueError(f"penalty_factor must have shape ({p},), got {pf.shape}")
        if np.any(pf <= 0):
            raise ValueError("penalty_factor must be > 0 for ridge_path (the exact path "
                             "needs every coefficient penalised)")
    return X, Y, y.ndim == 2, w, pf


def _lam_grid(lams, n_lams, lam_min_ratio, exact, n, p):
    if lams is not None:
        lams = _as_2d_float("lams", lams)
        if lams.ndim != 1 or lams.size == 0 or np.any(lams <= 0):
            raise ValueError("lams must be a non-empty 1-d array of positive numbers")
        if np.unique(lams).size != lams.size:
            raise ValueError("lams must be distinct")
        return np.sort(lams)[::-1]
    if int(n_lams) != n_lams or n_lams < 1:
        raise ValueError(f"n_lams must be a positive integer, got {n_lams!r}")
    # from 0.5 to min(n, rank) - 1 effective degrees of freedom (glmnet's convention when
    # the rank is below 2)
    ends = ridge_grid_ends(exact.d**2, n)
    lam_max = exact.lam_max() if ends is None else ends[0]
    if lam_min_ratio is None:
        ratio = (1e-4 if n > p else 1e-2) if ends is None else ends[1] / ends[0]
    else:
        ratio = float(lam_min_ratio)
    if not (0 < ratio < 1):
        raise ValueError(f"lam_min_ratio must lie in (0, 1), got {lam_min_ratio!r}")
    return lam_max * np.logspace(0, np.log10(ratio), int(n_lams))


def ridge_path(
    X,
    y,
    *,
    lams=None,
    n_lams=100,
    lam_min_ratio=None,
    sample_weight=None,
    penalty_factor=None,
    standardize=True,
    fit_intercept=True,
    k=1.0,
    per_target=False,
):
    """Exact ridge path with exact leave-one-out, GCV and effective degrees of freedom.

    Parameters
    ----------
    X : array of shape (n, p)
        Dense design.
    y : array of shape (n,) or (n, k)
        One or several targets (one column each); all share the decomposition.
    lams : array, optional
        Strengths (positive, distinct); sorted decreasing. Default: ``n_lams`` values
        log-spaced over the useful range of the effective degrees of freedom, from
        ``df = 0.5`` down to ``df = min(n, rank) - 1`` (glmnet's convention
        ``max_j |x_j^T (y - ybar)| / (W * 1e-3)`` as the top when the rank is below 2).
    n_lams : int, default 100
    lam_min_ratio : float, optional
        Smallest strength relative to the largest; default: the df-based end.
    sample_weight : array of shape (n,), optional
        Strictly positive weights.
    penalty_factor : array of shape (p,), optional
        Strictly positive per-feature factors ``pf_j``.
    standardize : bool, default True
        Penalise coefficients of features scaled to unit weighted population variance.
        Constant features get scale 1 (their coefficient is 0).
    fit_intercept : bool, default True
    k : float, default 1.0
        The choice is :func:`shrinkage.selection.strongest_within` with this many standard
        errors of the leave-one-out mean (``k = 0``: :func:`shrinkage.selection.best`).
    per_target : bool, default False
        With several targets, choose one ``lam`` per target (``RidgeResult.lam_chosen`` is
        then an array) instead of one for the summed error.

    Returns
    -------
    RidgeResult
        ``path`` (a :class:`shrinkage.results.Path`; certificate = relative KKT residual
        ``||Z^T(z - Z c) - lam c||_inf / ||Z^T z||_inf`` evaluated through the Gram matrix,
        independent of the eigendecomposition), ``cv`` (a
        :class:`shrinkage.results.CVResult` with ``metric="mse"``, one fold per sample),
        ``df``, ``gcv``, ``loo_mse``.
    """
    X, Y, multi, w, pf = _check_inputs(X, y, sample_weight, penalty_factor)
    k = check_scalar(k, "k", lo=0.0)
    standardize = check_flag(standardize, "standardize")
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    per_target = check_flag(per_target, "per_target")
    n, p = X.shape
    exact = ExactRidge.fit(X, Y, w, pf, standardize=standardize, fit_intercept=fit_intercept)
    lams = _lam_grid(lams, n_lams, lam_min_ratio, exact, n, p)
    f = exact.filters(lams)
    wn = exact.wn
    e_loo = f.resid / (1.0 - f.hat)[:, :, None]  # exact leave-one-out residuals
    sq_loo = e_loo**2  # (n, L, q)
    loo_mse = np.einsum("i,ilq->lq", wn, sq_loo)
    rss_w = np.einsum("i,ilq->lq", wn, f.resid**2)  # sum w e^2 / W
    gcv = rss_w / (1.0 - f.df / n)[:, None] ** 2
    ytot = np.einsum("i,iq->q", wn, (Y - exact.ybar) ** 2)
    dev_ratio = 1.0 - rss_w.sum(axis=1) / max(float(ytot.sum()), np.finfo(float).tiny)
    nnz = nonzero_features(f.coefs)  # constant columns are 0
    L = lams.size
    path = Path(
        lams=lams,
        coefs=f.coefs if multi else f.coefs[:, :, 0],
        intercepts=f.intercepts if multi else f.intercepts[:, 0],
        nnz=nnz,
        dev_ratio=dev_ratio,
        null_deviance=float(ytot.sum()),  # the weighted mean, as every Path's
        certificate=f.certificate,
        certificate_kind="kkt_violation",
        converged=f.certificate <= 1e-7,
        n_iter=np.zeros(L, dtype=int),
        family="gaussian",
        l1_ratio=0.0,
        tol=1e-7,
        standardize=bool(standardize),
        fit_intercept=bool(fit_intercept),
        lam_max=float(lams[0]),
        extra={"df": f.df, "method": "exact-svd", "n_targets": Y.shape[1],
               "per_target": bool(per_target)},
    )
    rule = Rule("se", float(k)).text  # spelled exactly: the rule applied is the one given

    def make_cv(sq):  # sq: (n, L) squared LOO errors
        mean = wn @ sq
        se = np.sqrt((wn @ (sq - mean) ** 2) / (n - 1))
        i_min = best(lams, mean)
        i_ch = apply_rule(rule, lams, mean, se)
        return CVResult(
            lams=lams, fold_scores=sq.copy(), fold_weights=w.copy(), mean=mean, se=se,
            metric="mse", greater_is_better=False, index_min=i_min, index_chosen=i_ch,
            rule=rule, nnz=nnz, fold_ids=np.arange(n), random_state=None,
            extra={"scheme": "exact leave-one-out"},
        )

    cv = make_cv(sq_loo.mean(axis=2))
    per = tuple(make_cv(sq_loo[:, :, t]) for t in range(Y.shape[1])) if multi else None
    return RidgeResult(
        path=path,
        cv=cv,
        cv_per_target=per,
        df=f.df,
        gcv=gcv if multi else gcv[:, 0],
        loo_mse=loo_mse if multi else loo_mse[:, 0],
        singular_values=exact.d,
    )
