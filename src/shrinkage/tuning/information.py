"""Information criteria for gaussian lasso paths: AIC, BIC, extended BIC.

A cheap alternative to cross-validation: one path on all data, then for each ``lam``::

    criterion = fit + c * df,        df = nnz (non-zero coefficients)

with ``df = nnz`` the unbiased estimate of the lasso's degrees of freedom (Zou, Hastie &
Tibshirani 2007; the intercept is not counted, as in scikit-learn's ``LassoLarsIC``) and

* AIC: ``c = 2``;
* BIC: ``c = log(n)``;
* EBIC (Chen & Chen 2008): BIC plus ``2 * gamma * log(binom(p, df))``, which penalises the
  size of the model space when ``p`` is large; ``gamma = 0.5`` by default (``gamma = 0``
  is BIC).

The fit term is ``n * log(2 pi sigma^2) + RSS / sigma^2`` when the noise variance
``sigma^2`` is known (scikit-learn's ``LassoLarsIC`` with ``noise_variance``), and the
profile likelihood ``n * log(RSS / n)`` when it is not, which, unlike an OLS estimate of
``sigma^2``, needs no ``n > p``. ``df = nnz`` holds for the lasso only, so elastic-net
paths (``l1_ratio < 1``) are refused.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from . import selection

__all__ = ["information_criterion", "information_criterion_path", "select_by_criterion"]

_CRITERIA = ("aic", "bic", "ebic")


def information_criterion(rss, df, n_samples, n_features, criterion="bic", *, gamma=0.5,
                          noise_variance=None):
    """AIC, BIC or EBIC from residual sums of squares and degrees of freedom.

    Parameters
    ----------
    rss : array of shape (L,)
        Residual sum of squares ``sum_i (y_i - yhat_i)^2`` per model.
    df : array of shape (L,)
        Degrees of freedom per model (``nnz`` for the lasso).
    n_samples, n_features : int
    criterion : {"aic", "bic", "ebic"}
    gamma : float in [0, 1], default 0.5
        EBIC's weight on ``log(binom(p, df))``.
    noise_variance : float, optional
        Known noise variance; None uses the profile likelihood.

    Returns
    -------
    ndarray of shape (L,)
        Lower is better.
    """
    if criterion not in _CRITERIA:
        raise ValueError(f"criterion must be one of {_CRITERIA}, got {criterion!r}")
    rss = np.asarray(rss, dtype=float)
    df = np.asarray(df, dtype=float)
    n, p = int(n_samples), int(n_features)
    if n < 1 or p < 1:
        raise ValueError(f"n_samples and n_features must be >= 1, got {n} and {p}")
    if rss.shape != df.shape or rss.ndim != 1:
        raise ValueError(f"rss and df must be 1-D of one length, got {rss.shape}, {df.shape}")
    if not (np.all(np.isfinite(rss)) and np.all(np.isfinite(df))):
        raise ValueError("rss and df must be finite (NaN or inf found)")
    if np.any(rss < 0) or np.any(df < 0) or np.any(df > p):
        raise ValueError("rss must be >= 0 and df within [0, n_features]")
    if not 0 <= gamma <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if noise_variance is None:
        with np.errstate(divide="ignore"):
            fit = n * np.log(rss / n)  # -inf for a perfect fit: a saturated model
    else:
        s2 = float(noise_variance)
        if not s2 > 0:
            raise ValueError(f"noise_variance must be > 0, got {noise_variance}")
        fit = n * np.log(2 * np.pi * s2) + rss / s2
    c = 2.0 if criterion == "aic" else np.log(n)
    out = fit + c * df
    if criterion == "ebic":
        log_binom = gammaln(p + 1) - gammaln(df + 1) - gammaln(p - df + 1)
        out = out + 2.0 * gamma * log_binom
    return out


def information_criterion_path(path, X, y, criterion="bic", *, gamma=0.5, noise_variance=None,
                               sample_weight=None, offset=None):
    """Criterion for every point of a gaussian lasso :class:`~shrinkage.results.Path`.

    ``rss`` is computed from ``path.linear_predictor(X)`` (plus ``offset``); ``df =
    path.nnz``. With ``sample_weight`` (the weights of the fit), ``rss = sum_i v_i r_i^2``
    and ``n`` is the number ``m`` of rows of positive weight, the weights ``v`` scaled to
    mean 1 over those rows: the gaussian likelihood of the weighted objective (a row of
    weight 0 is a row left out, as in the fit).
    """
    from ..validation import check_offset, unit_mean_weights

    if path.family != "gaussian":
        raise ValueError(
            f"information criteria here are for gaussian paths, got family {path.family!r}"
        )
    if path.l1_ratio != 1.0:
        raise ValueError(
            f"df = nnz is the lasso's degrees of freedom; the path has l1_ratio="
            f"{path.l1_ratio} (use cross-validation for the elastic net)"
        )
    y = np.asarray(y, dtype=float)
    eta = path.linear_predictor(X)
    n = eta.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    off = check_offset(offset, n)
    if off is not None:
        eta = eta + off[:, None]
    v, m = unit_mean_weights(sample_weight, n)
    rss = v @ (y[:, None] - eta) ** 2
    return information_criterion(rss, path.nnz, m, path.n_features, criterion,
                                 gamma=gamma, noise_variance=noise_variance)


def select_by_criterion(path, X, y, criterion="bic", **kwargs):
    """Index of the path point with the lowest criterion (ties to the larger ``lam``);
    ``kwargs`` as :func:`shrinkage.tuning.information.information_criterion_path`
    (``sample_weight`` and ``offset``: those of the fit)."""
    values = information_criterion_path(path, X, y, criterion, **kwargs)
    # A saturated fit gives -inf; treat it as the smallest finite value would be unsafe,
    # so mark it unevaluated: an interpolating model is never a sensible choice.
    values = np.where(np.isfinite(values), values, np.nan)
    return selection.best(path.lams, values, stronger="larger")
