"""Checks of survival data: times, event indicators, entry times, strata and weights.

Every function raises ``ValueError`` (or ``TypeError`` for non-numeric data) naming the
argument and the problem, or returns the arrays in the form the survival functions use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import as_real_array, check_vector

__all__ = ["SurvivalData", "check_survival", "check_event", "check_strata", "check_risk"]


@dataclass(frozen=True, eq=False)
class SurvivalData:
    """Checked survival data (every array of length ``n``).

    Attributes
    ----------
    time : ndarray of float64
        Event or censoring times (exit times for counting-process data), ``>= 0``.
    event : ndarray of bool
        True where ``time`` is an event, False where it is a censoring time.
    weight : ndarray of float64
        Sample weights ``>= 0`` (ones when none were given).
    start : ndarray of float64 or None
        Entry times, ``start < time``, or None (no left truncation).
    strata : ndarray of int64 or None
        Stratum codes ``0 .. S-1`` (the indices of ``levels``), or None.
    levels : ndarray of int64
        The distinct stratum codes given, sorted (empty when ``strata`` is None).
    """

    time: np.ndarray
    event: np.ndarray
    weight: np.ndarray
    start: np.ndarray | None
    strata: np.ndarray | None
    levels: np.ndarray


def check_event(event, n, name="event"):
    """A boolean event indicator of length ``n`` from booleans or numbers 0 / 1."""
    arr = np.asarray(event.to_numpy() if hasattr(event, "to_numpy") else event)
    if arr.dtype == np.bool_:
        out = arr
    else:
        vals = check_vector(arr, name, n, allow_none=False)
        if not np.all((vals == 0) | (vals == 1)):
            bad = vals[(vals != 0) & (vals != 1)][0]
            raise ValueError(f"{name} must hold 0/1 or booleans; found the value {bad!r}")
        out = vals == 1
    if out.ndim != 1 or out.shape[0] != n:
        raise ValueError(f"{name} must be 1-D of length {n}, got shape {out.shape}")
    return np.ascontiguousarray(out, dtype=np.bool_)


def check_strata(strata, n, name="strata"):
    """Integer stratum codes of length ``n`` as ``(codes 0..S-1, sorted distinct levels)``.

    Returns ``(None, empty array)`` when ``strata`` is None.
    """
    if strata is None:
        return None, np.empty(0, dtype=np.int64)
    vals = check_vector(strata, name, n, allow_none=False)
    if not np.all(vals == np.round(vals)):
        raise ValueError(f"{name} must hold integer codes; found non-integer values")
    levels, codes = np.unique(vals.astype(np.int64), return_inverse=True)
    return codes.astype(np.int64), levels


def check_risk(risk, n, name="risk"):
    """Risk scores as a float64 ``(n, L)`` array and whether they were 1-D."""
    arr = as_real_array(risk, name)
    one_d = arr.ndim == 1
    if one_d:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, L), got {arr.ndim} dimensions")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n} (one per sample)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values")
    return arr, one_d


def check_survival(time, event, *, sample_weight=None, start=None, strata=None,
                   name="time"):
    """Check survival data and return it as a :class:`SurvivalData`.

    Parameters
    ----------
    time : array-like, shape (n,)
        Event or censoring (exit) times: finite and ``>= 0``.
    event : array-like, shape (n,)
        Booleans, or numbers 0 / 1 (1 = event).
    sample_weight : array-like, shape (n,), optional
        Finite weights ``>= 0``.
    start : array-like, shape (n,), optional
        Entry times: finite, ``>= 0`` and ``< time`` (counting-process intervals
        ``(start, time]``).
    strata : array-like, shape (n,), optional
        Integer stratum codes.
    name : str, default "time"
        The name of ``time`` in error messages.

    Returns
    -------
    SurvivalData
    """
    if time is None:
        raise ValueError(f"{name} is None; pass the event or censoring times")
    t = as_real_array(time, name)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {t.shape}")
    n = t.shape[0]
    if n == 0:
        raise ValueError(f"{name} is empty: no samples")
    t = check_vector(t, name, n, allow_none=False)
    if np.any(t < 0):
        raise ValueError(f"{name} has {int(np.sum(t < 0))} negative value(s); survival "
                         "times must be >= 0")
    ev = check_event(event, n)
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = check_vector(sample_weight, "sample_weight", n, allow_none=False)
        if np.any(w < 0):
            raise ValueError("sample_weight has negative entries; weights must be >= 0")
    st = None
    if start is not None:
        st = check_vector(start, "start", n, allow_none=False)
        if np.any(st < 0):
            raise ValueError("start has negative entry times; entry times must be >= 0")
        bad = st >= t
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"start >= {name} in {int(bad.sum())} row(s) (first at row "
                             f"{row}: start {st[row]!r}, {name} {t[row]!r}); every interval "
                             "(start, stop] must have start < stop")
    codes, levels = check_strata(strata, n)
    return SurvivalData(np.ascontiguousarray(t), ev, np.ascontiguousarray(w), st, codes,
                        levels)
