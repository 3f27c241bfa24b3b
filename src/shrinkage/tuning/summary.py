"""glmnet's cross-validated curve and its standard error from a table of fold scores."""

from __future__ import annotations

import numpy as np

__all__ = ["cv_summary"]


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
    # in units of a power of two near the largest score (exact), so that squared deviations
    # of scores up to 1e308 do not overflow (a gaussian y of 1e100: squared errors 1e200)
    finite = np.abs(s[np.isfinite(s)])
    k = int(np.frexp(finite.max())[1]) if finite.size and finite.max() > 0 else 0
    with np.errstate(over="ignore", invalid="ignore"):
        su = np.ldexp(s, -k)
        mean = wn @ su  # NaN propagates: truncation where any fold is missing
        var = wn @ (su - mean) ** 2
        se = np.ldexp(np.sqrt(var / (s.shape[0] - 1)), k)
        mean = np.ldexp(mean, k)
    # A fold whose held-out predictions overflow (a poisson fold predicting counts ~1e250)
    # makes that strength unusable: failed (NaN), as one a fold never reached, not inf.
    failed = ~np.isfinite(mean) | ~np.isfinite(se)
    mean[failed] = np.nan
    se[failed] = np.nan
    return mean, se
