"""Validation scores of a whole path on held-out data, one value per strength.

Every metric takes the linear predictor ``eta`` of all path points at once -- shape
``(n, n_lams)``, or ``(n, n_lams, n_classes)`` for multinomial -- and returns the
weighted mean over the held-out samples, one value per ``lam``::

    score_l = sum_i w_i * loss(y_i, eta_il) / sum_i w_i

(``auc`` is the weighted Mann-Whitney statistic instead). The response ``y`` is encoded
as the engine sees it: real values (gaussian), counts (poisson), 0/1 with 1 the second
class (binomial), class codes ``0..K-1`` (multinomial). Per-sample losses, with ``mu``
the mean (inverse link of ``eta``) and ``p`` the class probabilities:

* ``mse``: ``(y - mu)^2``; binomial ``(y - p)^2`` with ``p`` the probability of the
  second class (half of the two-class Brier sum and of glmnet's ``type.measure="mse"``);
  multinomial the Brier score ``sum_k (y_k - p_k)^2``. All.
* ``mae``: ``|y - mu|``; binomial ``|y - p|`` (half of glmnet's); multinomial
  ``sum_k |y_k - p_k|``. All.
* ``deviance``: the unit deviance -- ``(y - mu)^2`` (gaussian),
  ``2 (log(1 + e^eta) - y eta + y log y + (1 - y) log(1 - y))`` (binomial; the last two
  terms vanish for labels, not for proportions), ``2 (y log(y / mu) - (y - mu))`` (poisson),
  ``-2 log p_y`` (multinomial). All.
* ``poisson_deviance``: the poisson unit deviance. Poisson only.
* ``log_loss``: ``-log p_y`` (half the deviance). Binomial, multinomial.
* ``misclassification``: ``1[argmax_k p_k != y]``. Binomial, multinomial.
* ``accuracy``: ``1[argmax_k p_k == y]``, greater is better. Binomial, multinomial.
* ``auc``: area under the ROC curve, greater is better. Binomial only.

Deviances are computed from ``eta`` in closed, overflow-free forms (``logaddexp``,
``logsumexp``) rather than by clipping probabilities as glmnet does, so a confident wrong
prediction costs its true, finite amount. The default metric is ``deviance`` for every
family, as glmnet's ``type.measure = "deviance"`` (for gaussian it equals ``mse``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, xlogy

__all__ = ["METRICS", "default_metric", "check_metric", "row_losses", "score_path",
           "weighted_auc"]

FAMILIES = ("gaussian", "binomial", "poisson", "multinomial", "mgaussian", "cox")
_ALL = FAMILIES[:-1]
_CLASS = ("binomial", "multinomial")

#: The validation metrics by name: ``name -> (families it fits, greater_is_better)``.
METRICS = {
    "mse": (_ALL, False),
    "mae": (_ALL, False),
    "deviance": (FAMILIES, False),
    "poisson_deviance": (("poisson",), False),
    "log_loss": (_CLASS, False),
    "misclassification": (_CLASS, False),
    "accuracy": (_CLASS, True),
    "auc": (("binomial",), True),
    "c_index": (("cox",), True),
    "uno_c": (("cox",), True),
}


def default_metric(family):
    """The metric used when none is given: ``"deviance"`` (``"mse"`` for gaussian)."""
    _check_family(family)
    return "mse" if family in ("gaussian", "mgaussian") else "deviance"


def _check_family(family):
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def check_metric(metric, family):
    """Validate ``metric`` for ``family``; return ``(name, greater_is_better)``.

    Raises
    ------
    ValueError
        If the metric is unknown or does not fit the family (e.g. ``auc`` for gaussian).
    """
    _check_family(family)
    if metric is None:
        metric = default_metric(family)
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string or None, got {type(metric).__name__}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    families, greater = METRICS[metric]
    if family not in families:
        raise ValueError(
            f"metric {metric!r} does not fit family {family!r}; it applies to "
            f"{', '.join(families)}"
        )
    return metric, greater


def _weighted_mean(loss, w):
    # loss: (n, L); w: (n,)  ->  (L,)
    return w @ loss / np.sum(w)


def _gaussian_loss(metric, y, eta):
    r = y[:, None] - eta
    return np.abs(r) if metric == "mae" else r * r


def _poisson_loss(metric, y, eta):
    mu = np.exp(eta)
    yc = y[:, None]
    if metric == "mse":
        return (yc - mu) ** 2
    if metric == "mae":
        return np.abs(yc - mu)
    # 2 (y log(y/mu) - (y - mu)) = 2 (xlogy(y, y) - y eta - y + mu), finite for y = 0.
    return 2.0 * (xlogy(yc, yc) - yc * eta - yc + mu)


def _binomial_loss(metric, y, eta):
    yc = y[:, None]
    if metric in ("deviance", "log_loss"):
        nll = np.logaddexp(0.0, eta) - yc * eta  # -log p_y, overflow-free
        if metric == "log_loss":
            return nll
        # less the saturated model's loss: 0 for 0/1 labels, not for proportions y
        return 2.0 * (nll + xlogy(yc, yc) + xlogy(1.0 - yc, 1.0 - yc))
    if metric in ("misclassification", "accuracy"):
        # Class 1 is predicted when p > 1/2, i.e. eta > 0 (ties go to class 0, as argmax).
        wrong = (eta > 0).astype(float) != yc
        return wrong.astype(float) if metric == "misclassification" else 1.0 - wrong
    p = 0.5 * (1.0 + np.tanh(0.5 * eta))  # expit without overflow warnings
    if metric == "mse":
        return (yc - p) ** 2
    return np.abs(yc - p)  # mae


def _multinomial_loss(metric, y, eta):
    # eta: (n, L, K); y: integer codes (n,)
    n = y.shape[0]
    yi = y.astype(np.int64)
    eta_y = eta[np.arange(n), :, yi]  # (n, L)
    if metric in ("deviance", "log_loss"):
        nll = logsumexp(eta, axis=2) - eta_y
        return 2.0 * nll if metric == "deviance" else nll
    if metric in ("misclassification", "accuracy"):
        right = (np.argmax(eta, axis=2) == yi[:, None]).astype(float)
        return right if metric == "accuracy" else 1.0 - right
    p = np.exp(eta - logsumexp(eta, axis=2, keepdims=True))
    onehot = np.zeros_like(p)
    onehot[np.arange(n), :, yi] = 1.0
    if metric == "mse":
        return np.sum((onehot - p) ** 2, axis=2)
    return np.sum(np.abs(onehot - p), axis=2)


def weighted_auc(y, score, w):
    """Weighted area under the ROC curve of ``score`` for 0/1 labels ``y``.

    The probability that a random positive outranks a random negative, pairs weighted by
    ``w_i * w_j``, ties counting one half (the Mann-Whitney statistic; equals
    ``sklearn.metrics.roc_auc_score(y, score, sample_weight=w)``).
    """
    pos = y == 1
    w_pos, w_neg = np.sum(w[pos]), np.sum(w[~pos])
    if w_pos <= 0 or w_neg <= 0:
        raise ValueError(
            "auc is undefined on a validation fold with a single class; use stratified "
            "folds, fewer folds, or another metric"
        )
    order = np.argsort(score, kind="mergesort")
    s, yy, ww = score[order], pos[order], w[order]
    # Group tied scores: within a tie block a positive beats half the negatives.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    neg_block = np.add.reduceat(ww * ~yy, starts)
    pos_block = np.add.reduceat(ww * yy, starts)
    neg_below = np.cumsum(neg_block) - neg_block
    return float(np.sum(pos_block * (neg_below + 0.5 * neg_block)) / (w_pos * w_neg))


def score_path(metric, family, y, eta, sample_weight=None):
    """Score every path point on held-out data.

    Parameters
    ----------
    metric : str
        A name from :data:`METRICS` that fits ``family``.
    family : {"gaussian", "binomial", "poisson", "multinomial"}
    y : ndarray of shape (n,)
        Held-out responses, encoded as described in the module docstring.
    eta : ndarray of shape (n, n_lams) or (n, n_lams, n_classes)
        Linear predictor of every path point on the held-out samples.
    sample_weight : ndarray of shape (n,), optional

    Returns
    -------
    ndarray of shape (n_lams,)
        The weighted mean loss (or the AUC) per path point.
    """
    metric, _ = check_metric(metric, family)
    y = np.asarray(y, dtype=float)
    eta = np.asarray(eta, dtype=float)
    n = y.shape[0]
    want = 3 if family in ("multinomial", "mgaussian") else 2
    if eta.ndim != want or eta.shape[0] != n:
        raise ValueError(
            f"eta must have {want} dimensions with {n} rows for family {family!r}, "
            f"got shape {eta.shape}"
        )
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if metric == "auc":
        return np.array([weighted_auc(y, eta[:, j], w) for j in range(eta.shape[1])])
    return _weighted_mean(row_losses(metric, family, y, eta), w)


def row_losses(metric, family, y, eta):
    """Each held-out sample's loss at each path point: ``(n, n_lams)``, for the metrics
    that are a weighted mean of such losses (every one but ``auc`` and the Cox indices;
    ``metric`` and ``family`` already checked, ``eta`` as in :func:`score_path`)."""
    if family == "gaussian":
        return _gaussian_loss(metric, y, eta)
    if family == "mgaussian":  # summed over the responses (glmnet's mgaussian)
        r = y[:, None, :] - eta
        return np.sum(np.abs(r) if metric == "mae" else r * r, axis=2)
    if family == "poisson":
        return _poisson_loss(metric, y, eta)
    if family == "binomial":
        return _binomial_loss(metric, y, eta)
    return _multinomial_loss(metric, y, eta)
