"""Risk-set sums and the Kaplan-Meier estimator (weighted, left-truncated).

A sample with entry time ``start`` and exit time ``stop`` is at risk at ``t`` when
``start < t <= stop`` (counting-process intervals, as R's ``survival`` package); without
entry times, when ``t <= stop``.
"""

from __future__ import annotations

import numpy as np

from .checks import check_survival

__all__ = ["kaplan_meier", "at_risk_sums", "censoring_survival"]


def at_risk_sums(grid, stop, values, start=None):
    """``R(u) = sum_j values_j [start_j < u <= stop_j]`` at each point ``u`` of ``grid``.

    Parameters
    ----------
    grid : ndarray, shape (m,)
        Times at which the risk sets are summed (any order).
    stop : ndarray, shape (n,)
        Exit times.
    values : ndarray, shape (n,)
        What each sample contributes while at risk (a weight, or ``w exp(eta)``).
    start : ndarray, shape (n,), optional
        Entry times; None means every sample is at risk from time ``-inf``.

    Returns
    -------
    ndarray, shape (m,)
        Suffix sums over the sorted exit times, less those over the sorted entry times:
        ``O((n + m) log n)``. Without entry times no difference is taken, so the sums keep
        full relative precision even for small late risk sets.
    """
    order = np.argsort(stop, kind="stable")
    suffix = np.concatenate([np.cumsum(values[order][::-1])[::-1], [0.0]])
    out = suffix[np.searchsorted(stop[order], grid, side="left")]
    if start is not None:
        order = np.argsort(start, kind="stable")
        suffix = np.concatenate([np.cumsum(values[order][::-1])[::-1], [0.0]])
        out = out - suffix[np.searchsorted(start[order], grid, side="left")]
        out = np.maximum(out, 0.0)
    return out


def kaplan_meier(time, event, sample_weight=None, start=None):
    """The Kaplan-Meier estimate of the survival function at the distinct event times.

    ``S(t) = prod_{t_k <= t} (1 - d_k / n_k)`` with ``d_k = sum_{i: time_i = t_k,
    event_i} w_i`` (weighted events) and ``n_k = sum_j w_j [start_j < t_k <= time_j]``
    (the weighted risk set; ``start_j = -inf`` without entry times).

    Parameters
    ----------
    time : array-like, shape (n,)
        Event or censoring (exit) times, ``>= 0``.
    event : array-like, shape (n,)
        1 / True for an event, 0 / False for censoring.
    sample_weight : array-like, shape (n,), optional
        Weights ``>= 0`` (frequency weights: an integer weight equals repeated rows).
    start : array-like, shape (n,), optional
        Entry times (left truncation), ``start < time``.

    Returns
    -------
    times : ndarray, shape (m,)
        The distinct times of rows with ``event`` true, increasing.
    survival : ndarray, shape (m,)
        ``S(t_k)`` (right-continuous: the drop at ``t_k`` included).
    at_risk : ndarray, shape (m,)
        ``n_k``.
    events : ndarray, shape (m,)
        ``d_k``.

    Notes
    -----
    Equal to lifelines' ``KaplanMeierFitter`` (weighted, and with ``entry`` when no entry
    time equals an event time: lifelines counts a sample entering at ``t`` as at risk at
    ``t``) and to scikit-survival's ``kaplan_meier_estimator`` at these times.
    """
    d = check_survival(time, event, sample_weight=sample_weight, start=start)
    times, inverse = np.unique(d.time[d.event], return_inverse=True)
    events = np.bincount(inverse, weights=d.weight[d.event], minlength=times.shape[0])
    at_risk = at_risk_sums(times, d.time, d.weight, d.start)
    ratio = np.divide(events, at_risk, out=np.zeros_like(events), where=events > 0)
    return times, np.cumprod(1.0 - ratio), at_risk, events


def censoring_survival(time, event):
    """The Kaplan-Meier estimate ``G`` of the censoring distribution (scikit-survival's).

    ``G(t) = prod_{u_k <= t} (1 - c_k / (n_k - d_k))`` over the distinct times ``u_k`` of
    the data, with ``c_k`` the censored and ``d_k`` the events at ``u_k`` and ``n_k`` the
    number at risk: events at a time are taken to precede censorings there. This is
    scikit-survival's ``CensoringDistributionEstimator`` (``G = 1`` when nothing is
    censored).

    Parameters
    ----------
    time : ndarray, shape (n,)
    event : ndarray of bool, shape (n,)

    Returns
    -------
    times : ndarray, shape (m,)
        The distinct times, increasing.
    survival : ndarray, shape (m,)
        ``G`` at those times (right-continuous).
    """
    times, inverse = np.unique(time, return_inverse=True)
    if event.all():
        return times, np.ones(times.shape[0])
    counts = np.bincount(inverse, minlength=times.shape[0]).astype(np.float64)
    deaths = np.bincount(inverse, weights=event.astype(np.float64), minlength=times.shape[0])
    censored = counts - deaths
    at_risk = np.cumsum(counts[::-1])[::-1] - deaths
    ratio = np.divide(censored, at_risk, out=np.zeros_like(censored), where=censored > 0)
    return times, np.cumprod(1.0 - ratio)
