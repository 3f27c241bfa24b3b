"""The Cox proportional hazards family: survival responses and the partial likelihood.

The response is encoded once, by :func:`survival_response`, as a structured array with
one record per row (fields ``start``, ``stop``, ``event``, ``stratum``), so that subsets
of rows (cross-validation folds) carry their strata and entry times with them. The loss
is the negative log partial likelihood divided by ``sum(w)`` (Efron's or Breslow's
handling of tied event times), see :mod:`shrinkage.model.cox_math`; there is no
intercept, the baseline hazard being left unspecified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cox_math
from .families import Family

__all__ = ["Cox", "CoxIndex", "SURVIVAL_DTYPE", "survival_response", "cox_index"]

#: The engine's encoding of a survival response: one record per row.
SURVIVAL_DTYPE = np.dtype([("start", "f8"), ("stop", "f8"), ("event", "f8"),
                           ("stratum", "i8")])
#: The handlings of tied event times, the default first.
TIES = ("efron", "breslow")


def survival_response(y, *, strata=None):
    """The survival response as the engine's structured array (:data:`SURVIVAL_DTYPE`).

    Parameters
    ----------
    y : array-like
        ``(n, 2)`` columns ``[time, event]``; ``(n, 3)`` columns ``[start, stop, event]``
        (counting-process form: at risk on ``(start, stop]``, for left truncation and
        time-varying covariates); a structured array with a boolean event field and a
        float time field (scikit-survival's ``Surv``); or an array already in this
        encoding (its strata kept unless ``strata`` is given).
    strata : array-like of shape (n,), optional
        Stratum labels: each stratum has its own baseline hazard.

    Returns
    -------
    ndarray of dtype :data:`SURVIVAL_DTYPE`
        ``start = -inf`` when no entry times are given; ``stratum`` codes ``0..S-1``.
    """
    if y is None:
        raise ValueError("y is None; pass survival times and event indicators")
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)  # a DataFrame's columns
    codes = None
    if arr.dtype == SURVIVAL_DTYPE:
        start, stop, event = arr["start"], arr["stop"], arr["event"]
        codes = arr["stratum"]
    elif arr.dtype.names is not None:
        start, stop, event = _from_structured(arr)
    else:
        start, stop, event = _from_columns(arr)
    n = stop.shape[0]
    if n == 0:
        raise ValueError("y is empty: no survival times")
    _check_times(start, stop, event)
    labels = None
    if strata is not None or codes is None:
        codes, labels = _strata_codes(strata, n)
    out = np.empty(n, dtype=SURVIVAL_DTYPE)
    out["start"], out["stop"], out["event"], out["stratum"] = start, stop, event, codes
    _check_strata_events(out, labels)
    return out


def _from_structured(arr):
    names = arr.dtype.names
    kinds = {nm: arr.dtype[nm].kind for nm in names}
    ev = [nm for nm in names if kinds[nm] == "b"]
    if not ev:
        ev = [nm for nm in names if nm.lower() in ("event", "status", "death", "dead", "fstat",
                                                   "cens", "censor")]
    times = [nm for nm in names if nm not in ev and kinds[nm] in "fiu"]
    if len(ev) != 1 or len(times) not in (1, 2):
        raise ValueError(f"a structured y needs one boolean event field and one time field "
                         f"(or start and stop fields); got fields {names}")
    event = np.asarray(arr[ev[0]], dtype=np.float64)
    if len(times) == 1:
        return np.full(arr.shape[0], -np.inf), np.asarray(arr[times[0]], float), event
    return np.asarray(arr[times[0]], float), np.asarray(arr[times[1]], float), event


def _from_columns(arr):
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"survival y must be numeric columns [time, event] or [start, stop, "
                        f"event], got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise ValueError(f"survival y must have 2 columns [time, event] or 3 [start, stop, "
                         f"event], got shape {arr.shape}")
    a = arr.astype(np.float64)
    if a.shape[1] == 2:
        return np.full(a.shape[0], -np.inf), a[:, 0].copy(), a[:, 1].copy()
    return a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy()


def _check_times(start, stop, event):
    for name, t in (("time", stop), ("start time", start[start != -np.inf])):
        bad = ~np.isfinite(t)
        if np.any(bad):
            raise ValueError(f"y has {int(bad.sum())} NaN or infinite {name}(s), first at "
                             f"row {int(np.flatnonzero(bad)[0])}")
        if np.any(t < 0):
            raise ValueError(f"y has negative {name}s (first {float(t[t < 0][0]):g}); "
                             "survival times must be >= 0")
    if not np.all(np.isin(event, (0.0, 1.0))):
        raise ValueError("the event indicator must be 0 (censored) or 1 (event), got "
                         f"{np.unique(event[~np.isin(event, (0.0, 1.0))])[:5]}")
    wrong = stop <= start
    if np.any(wrong):
        j = int(np.flatnonzero(wrong)[0])
        raise ValueError(f"stop <= start at {int(wrong.sum())} row(s), first at row {j} "
                         f"(start {start[j]:g}, stop {stop[j]:g}); an interval (start, stop] "
                         "must be non-empty")
    if not np.any(event == 1.0):
        raise ValueError("y has no events (every row is censored); the Cox model needs some")


def _strata_codes(strata, n):
    if strata is None:
        return np.zeros(n, dtype=np.int64), None
    s = np.asarray(strata)
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError(f"strata must have one label per row ({n}), got shape {s.shape}")
    if s.dtype.kind == "f" and not np.all(np.isfinite(s)):
        raise ValueError("strata has NaN labels; give every row a stratum")
    labels, codes = np.unique(s, return_inverse=True)
    return codes.astype(np.int64), labels


def _check_strata_events(y, labels=None):
    """Every stratum needs an event; ``labels`` (the sorted stratum labels) name it."""
    has = np.bincount(y["stratum"], weights=y["event"], minlength=y["stratum"].max() + 1)
    if np.any(has == 0):
        k = int(np.flatnonzero(has == 0)[0])
        name = (f"stratum {k} (in sorted order of the labels)" if labels is None else
                f"stratum {labels[k].item() if hasattr(labels[k], 'item') else labels[k]!r}")
        raise ValueError(f"{name} has no events; drop it or merge it with another stratum")


@dataclass(frozen=True)
class CoxIndex:
    """Rows mapped onto the event-time slots of :mod:`shrinkage.model.cox_math`.

    ``lo, hi`` bound each row's risk slots, ``evk`` is its event slot (-1 when censored),
    ``sentinel`` marks the empty slot closing each stratum, ``times`` the slot times
    (NaN at sentinels).
    """

    lo: np.ndarray
    hi: np.ndarray
    evk: np.ndarray
    sentinel: np.ndarray
    times: np.ndarray


def cox_index(y):
    """The :class:`CoxIndex` of a survival response (``O(n log n)``, once per response)."""
    n = y.shape[0]
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    evk = np.full(n, -1, dtype=np.int64)
    times, sentinel = [], []
    off = 0
    for s in np.unique(y["stratum"]):
        rows = np.flatnonzero(y["stratum"] == s)
        ys = y[rows]
        t = np.unique(ys["stop"][ys["event"] == 1.0])
        lo[rows] = off + np.searchsorted(t, ys["start"], side="right")
        hi[rows] = off + np.searchsorted(t, ys["stop"], side="right")
        ev = ys["event"] == 1.0
        evk[rows[ev]] = off + np.searchsorted(t, ys["stop"][ev], side="left")
        times.append(np.append(t, np.nan))
        sentinel.append(np.append(np.zeros(t.size, bool), True))
        off += t.size + 1
    return CoxIndex(lo, hi, evk, np.concatenate(sentinel), np.concatenate(times))


class Cox(Family):
    """Cox's proportional hazards model: the negative log partial likelihood over
    ``sum(w)`` (see :mod:`shrinkage.model.cox_math`), certified by the KKT violation.

    Parameters
    ----------
    ties : {"efron", "breslow"}
        Handling of tied event times (Efron's, the default as in glmnet >= 4.1 and
        adelie, or Breslow's).
    strata : array-like of shape (n,), optional
        Stratum labels: separate baseline hazards.
    """

    name = "cox"
    response = "survival"
    has_intercept = False

    def __init__(self, ties="efron", strata=None):
        if ties not in TIES:
            raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
        self.ties = ties
        self.strata = strata

    def with_options(self, ties=None, strata=None):
        """This family with ``ties`` and ``strata`` set (None keeps the current ones)."""
        return Cox(self.ties if ties is None else ties,
                   self.strata if strata is None else strata)

    def prepare_target(self, y):
        """``(survival_response(y, strata=self.strata), None)``: the encoded response."""
        yv = survival_response(y, strata=self.strata)
        self._owned = (yv, None)
        return yv, None

    def check_support(self, y, w, classes):
        """Refuse weights that leave no event, and risk sets that hold only their tied
        events (no comparison, no information)."""
        if not np.any((y["event"] == 1.0) & (w > 0)):
            raise ValueError("every event has zero sample_weight; the Cox model needs some "
                             "weighted events")
        terms = self._terms(y, np.zeros(y.shape[0]), w)[1]
        at_risk = terms[4] > terms[5] * (1.0 + 1e-12)
        if not np.any(at_risk):
            raise ValueError("every risk set holds only its tied events (no one survives an "
                             "event time), so the partial likelihood carries no information")

    def mean(self, eta):
        """The relative risk ``exp(eta)``."""
        return np.exp(eta)

    def index(self, y):
        """The :class:`CoxIndex` of ``y``. The response this family encoded (in
        :meth:`prepare_target`, held by the engine only and never changed) gets its index
        built once, shared by the support check, the null deviance and the solver."""
        owned = getattr(self, "_owned", None)
        if owned is None or owned[0] is not y:
            return cox_index(y)
        if owned[1] is None:
            self._owned = (y, cox_index(y))
        return self._owned[1]

    def _terms(self, y, eta, w):
        idx = self.index(y)
        terms, _ = cox_math.new_terms(idx.sentinel.size)
        mu = np.empty(y.shape[0])
        loss, mag, m = cox_math.cox_terms(np.ascontiguousarray(eta, dtype=np.float64), w,
                                          idx.lo, idx.hi, idx.evk, idx.sentinel,
                                          self.ties == "efron", terms, mu)
        return idx, terms, loss, mu

    def loss(self, y, eta, w):
        """The negative log partial likelihood with weights ``w`` (inside the risk sets)."""
        return float(self._terms(y, eta, w)[2])

    def saturated_loss(self, y, w):
        """The infimum of the loss: each tied set of events given all the risk,
        ``sum_k W_k log W_k`` (Breslow) plus ``sum_k (W_k/d_k) sum_r log(1 - r/d_k)``
        (Efron)."""
        live = (y["event"] == 1.0) & (w > 0)
        slot = self.index(y).evk[live]  # tied events share their event-time slot
        W = np.bincount(slot, weights=w[live])
        d = np.bincount(slot)
        W, d = W[d > 0], d[d > 0]
        sat = float(np.sum(W * np.log(W)))
        if self.ties == "efron":
            sat += float(sum(Wk / dk * np.sum(np.log1p(-np.arange(dk) / dk))
                             for Wk, dk in zip(W, d) if dk > 1))
        return sat

    def deviance(self, y, eta, w):
        """``2 (loss - saturated_loss)``."""
        return 2.0 * (self.loss(y, eta, w) - self.saturated_loss(y, w))

    def irls_weights(self, y, eta, w):
        """The diagonal of the loss's Hessian in ``eta`` (glmnet's IRLS weights for Cox)."""
        idx, terms, _, mu = self._terms(y, eta, w)
        wres = np.empty(y.shape[0])
        v = np.empty(y.shape[0])
        cox_math.cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms,
                                             mu, np.zeros((2, idx.sentinel.size)), wres, v)
        return v

    def grad_residual(self, y, eta):
        """Not defined row by row for the Cox model (its gradient couples rows)."""
        raise NotImplementedError("the Cox gradient couples rows: use the Cox solver")

    def curvature(self, eta):
        """Not defined row by row for the Cox model; see :meth:`irls_weights`."""
        raise NotImplementedError("the Cox curvature couples rows: use irls_weights")

    def null_eta(self, y, w, offset, fit_intercept):
        """``(offset or 0, 0.0)``: the Cox model has no intercept."""
        return (np.zeros(y.shape[0]) if offset is None else np.asarray(offset, float)), 0.0
