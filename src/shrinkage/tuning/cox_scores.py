"""Validation scores of a Cox path: the cross-validated partial likelihood and concordance.

A held-out fold's partial likelihood is not a sum over its rows (risk sets mix rows), so
the Cox scores of a fold are computed from the linear predictor of *every* row:

* ``deviance`` (glmnet's ``type.measure = "deviance"``, Verweij & van Houwelingen 1993):
  ``-2 (l(b_f) - l_f(b_f)) / W_f`` with ``l`` the log partial likelihood of all rows,
  ``l_f`` that of the fold's training rows, ``b_f`` the fold's fit and ``W_f`` the
  held-out weight; the fold's contribution is what its held-out rows add to the
  likelihood. Smaller is better.
* ``c_index``: Harrell's concordance of the risk scores ``eta`` on the held-out rows
  (pairs within a stratum; :func:`shrinkage.survival.concordance_index`). Greater is
  better.
* ``uno_c``: Uno's inverse-probability-of-censoring weighted concordance on the held-out
  rows, the censoring distribution estimated on the training rows
  (:func:`shrinkage.survival.uno_concordance`), truncated at the last training time
  (``tau``: the censoring distribution is unknown beyond it); pairs across strata, rows
  unweighted. Greater is better.
"""

from __future__ import annotations

import numpy as np

from ..model.cox import Cox, cox_index
from ..model.cox_math import cox_loss_pair

__all__ = ["COX_METRICS", "cox_fold_scores", "partial_likelihood_deviance"]

#: The Cox metrics by name: ``name -> greater_is_better``.
COX_METRICS = {"deviance": False, "c_index": True, "uno_c": True}


def partial_likelihood_deviance(y, eta, weight, train, test, ties="efron", index=None):
    """The Verweij-van Houwelingen deviance of one fold, per column of ``eta``.

    Parameters
    ----------
    y : ndarray of dtype :data:`~shrinkage.model.cox.SURVIVAL_DTYPE`, shape (n,)
        Every row's survival response.
    eta : ndarray of shape (n, n_lams)
        The fold's linear predictor on every row.
    weight : ndarray of shape (n,) or None
        Sample weights (None: ones).
    train, test : ndarray of int
        The fold's training and held-out rows.
    ties : {"efron", "breslow"}
    index : shrinkage.model.cox.CoxIndex or None
        ``shrinkage.model.cox.cox_index(y)``, built once by a caller scoring many folds
        of the same response (None: built here).

    Returns
    -------
    ndarray of shape (n_lams,)
        ``2 (L(eta; w) - L(eta; w 1_train)) / sum(w[test])``, ``L`` minus the weighted log
        partial likelihood (weights inside the risk-set sums, as in the fit).
    """
    n = y.shape[0]
    w_all = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    w_train = np.zeros(n)
    w_train[train] = w_all[train]
    w_full = w_train.copy()
    w_full[test] = w_all[test]
    idx = cox_index(y) if index is None else index
    efron = Cox(ties).ties == "efron"
    held = float(np.sum(w_all[test]))
    out = np.empty(eta.shape[1])
    # column by column from one Fortran copy: every path point's eta is a contiguous read
    for k, e in enumerate(np.asfortranarray(eta, dtype=np.float64).T):
        full, part = cox_loss_pair(e, w_full, w_train, idx, efron)
        out[k] = 2.0 * (full - part) / held
    return out


def cox_fold_scores(metric, y, eta, weight, train, test, ties="efron", index=None):
    """One fold's score per path point (see the module docstring).

    ``eta`` is the fold's linear predictor on every row, shape (n, n_lams); ``index``
    as in :func:`partial_likelihood_deviance`.
    """
    if metric == "deviance":
        return partial_likelihood_deviance(y, eta, weight, train, test, ties, index)
    from ..survival import concordance_index, uno_concordance

    yt = y[test]
    w = None if weight is None else weight[test]
    if metric == "c_index":
        return np.asarray(concordance_index(yt["stop"], yt["event"] == 1.0, eta[test],
                                            sample_weight=w, strata=yt["stratum"]))
    if metric == "uno_c":
        yr = y[train]
        # G, the censoring distribution, is estimated from the training rows and is
        # unknown past the last of their times: held-out events are scored before it
        tau = float(np.max(yr["stop"]))
        return np.asarray(uno_concordance(yr["stop"], yr["event"] == 1.0, yt["stop"],
                                          yt["event"] == 1.0, eta[test], tau=tau))
    raise ValueError(f"metric {metric!r} does not fit the cox family; use one of "
                     f"{sorted(COX_METRICS)}")
