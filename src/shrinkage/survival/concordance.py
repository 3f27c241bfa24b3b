"""Concordance of risk scores with censored survival times: Harrell's C and Uno's C.

Both are computed in ``O(n log n)`` per column of scores (a Fenwick tree over risk
ranks, compiled with numba), for one score vector or a whole path of them
at once (``risk`` of shape ``(n, L)``).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_scalar
from .checks import check_risk, check_survival
from .kernels import concordance_sums
from .nonparametric import censoring_survival

__all__ = ["concordance_index", "uno_concordance", "TIED_TOL"]

#: Risk scores closer than this are tied (scikit-survival's ``tied_tol``).
TIED_TOL = 1e-8


def _sorted_layout(time, strata):
    """Order by stratum then time, and the strata's bounds in that order."""
    n = time.shape[0]
    if strata is None:
        return np.argsort(time, kind="stable"), np.array([0, n], dtype=np.int64)
    order = np.lexsort((time, strata))
    counts = np.bincount(strata)
    return order, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _ratio(num, den, one_d):
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(c[0]) if one_d else c


def concordance_index(time, event, risk, sample_weight=None, strata=None, *,
                      tied_tol=TIED_TOL):
    """Harrell's concordance index of risk scores (higher risk, earlier event).

    ``C = sum_{(i,j) comparable} w_i w_j ([r_i > r_j] + [r_i ~ r_j] / 2)
    / sum_{(i,j) comparable} w_i w_j``.

    A pair ``(i, j)`` is comparable when ``i`` has an event and ``time_i < time_j``, or
    ``time_i == time_j`` with ``j`` censored (scikit-survival's convention: an event
    precedes a censoring at the same time); two events at the same time are not
    comparable. Scores are tied (``r_i ~ r_j``) when ``|r_i - r_j| <= tied_tol``. With
    ``strata``, only pairs within a stratum count, and the sums run over all strata
    together (one C, not an average of per-stratum Cs).

    Parameters
    ----------
    time : array-like, shape (n,)
        Event or censoring times, ``>= 0``.
    event : array-like, shape (n,)
        1 / True for an event, 0 / False for censoring.
    risk : array-like, shape (n,) or (n, L)
        Risk scores (e.g. the linear predictor ``eta``); each column is scored.
    sample_weight : array-like, shape (n,), optional
        Weights ``>= 0``; a pair weighs ``w_i w_j``, so an integer weight equals repeated
        rows.
    strata : array-like, shape (n,), optional
        Integer stratum codes.
    tied_tol : float, default 1e-8
        Scores within this distance are tied.

    Returns
    -------
    float or ndarray of shape (L,)
        C (a float for 1-D ``risk``); NaN where no comparable pair has positive weight.

    Notes
    -----
    Without weights and strata this equals scikit-survival's
    ``concordance_index_censored(event, time, risk)[0]``, computed in ``O(n log n)``
    instead of ``O(n^2)``.
    """
    d = check_survival(time, event, sample_weight=sample_weight, strata=strata)
    r, one_d = check_risk(risk, d.time.shape[0])
    tol = check_scalar(tied_tol, "tied_tol", lo=0.0)
    order, bounds = _sorted_layout(d.time, d.strata)
    num, den = concordance_sums(order, d.time, d.event, bounds, r, d.weight, d.weight, tol)
    return _ratio(num, den, one_d)


def uno_concordance(time_train, event_train, time, event, risk, tau=None, *,
                    tied_tol=TIED_TOL):
    """Uno's concordance index, weighted by the inverse probability of censoring.

    ``C = sum_{(i,j) comparable, time_i < tau} G(time_i)^-2 ([r_i > r_j] + [r_i ~ r_j]/2)
    / sum_{(i,j) comparable, time_i < tau} G(time_i)^-2``

    with the comparable pairs of :func:`concordance_index` and ``G`` the Kaplan-Meier
    estimate of the censoring distribution from the training data
    (:func:`~shrinkage.survival.nonparametric.censoring_survival`: events precede
    censorings at a tied time; ``G`` read right-continuously at ``time_i``). Samples with
    ``time >= tau`` still serve as the later member ``j`` of a pair.

    Parameters
    ----------
    time_train, event_train : array-like, shape (n_train,)
        The training data's times and event indicators (for ``G``).
    time, event : array-like, shape (n,)
        The test data's times and event indicators.
    risk : array-like, shape (n,) or (n, L)
        Risk scores of the test samples; each column is scored.
    tau : float, optional
        Truncation time: only events before ``tau`` are scored. None: no truncation.
    tied_tol : float, default 1e-8
        Scores within this distance are tied.

    Returns
    -------
    float or ndarray of shape (L,)
        C; NaN where there is no comparable pair.

    Raises
    ------
    ValueError
        When a scored event time lies beyond the last training time while ``G`` there is
        positive (``G`` is unknown there; choose ``tau``), or ``G`` is zero at one.

    Notes
    -----
    Equals scikit-survival's ``concordance_index_ipcw(y_train, y_test, risk, tau)[0]``,
    including its conventions, in ``O(n log n)`` per column.
    """
    train = check_survival(time_train, event_train, name="time_train")
    d = check_survival(time, event)
    r, one_d = check_risk(risk, d.time.shape[0])
    tol = check_scalar(tied_tol, "tied_tol", lo=0.0)
    scored = d.event.copy()
    if tau is not None:
        scored &= d.time < check_scalar(tau, "tau")
    g_times, g_surv = censoring_survival(train.time, train.event)
    t_scored = d.time[scored]
    if t_scored.size and g_surv[-1] > 0 and t_scored.max() > g_times[-1]:
        raise ValueError(f"time has event times beyond the last training time "
                         f"{g_times[-1]!r}, where the censoring distribution is unknown; "
                         "pass tau <= that time")
    idx = np.searchsorted(g_times, t_scored, side="right") - 1
    g = np.where(idx >= 0, g_surv[np.maximum(idx, 0)], 1.0)
    g = np.where(t_scored > g_times[-1], 0.0, g)
    if np.any(g == 0.0):
        raise ValueError("the censoring survival function G is zero at one or more scored "
                         "event times; pass a smaller tau")
    wi = np.zeros(d.time.shape[0])
    wi[scored] = 1.0 / g**2
    order, bounds = _sorted_layout(d.time, None)
    num, den = concordance_sums(order, d.time, d.event, bounds, r, wi, np.ones_like(wi), tol)
    return _ratio(num, den, one_d)

