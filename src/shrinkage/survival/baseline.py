"""The baseline cumulative hazard of a proportional hazards model (Breslow, Efron).

Given the linear predictor ``eta`` of a fitted Cox model, the baseline cumulative hazard
``H0_s(t)`` of each stratum ``s`` turns it into survival curves
``S(t | x) = exp(-H0_s(t) exp(eta))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_vector
from .checks import check_survival
from .nonparametric import at_risk_sums

__all__ = ["BaselineHazard", "breslow_baseline", "TIES"]

#: The tie corrections of the baseline hazard's increments.
TIES = ("breslow", "efron")


@dataclass(frozen=True, eq=False)
class BaselineHazard:
    """A baseline cumulative hazard per stratum: right-continuous step functions.

    Attributes
    ----------
    times : ndarray, shape (m,)
        The distinct event times of every stratum, stratum after stratum, increasing
        within each: stratum ``s`` owns ``times[offsets[s]:offsets[s + 1]]``.
    cumulative_hazard : ndarray, shape (m,)
        ``H0_s`` at those times (the jump at each time included).
    offsets : ndarray of int64, shape (S + 1,)
        Where each stratum's times begin and end in the flat arrays.
    strata_levels : list of int
        The stratum code of each stratum, in order; empty for an unstratified model
        (then ``S = 1``).
    ties : str
        ``"breslow"`` or ``"efron"``: how the increments treat tied event times.
    """

    times: np.ndarray
    cumulative_hazard: np.ndarray
    offsets: np.ndarray
    strata_levels: list
    ties: str = "breslow"

    @property
    def n_strata(self):
        """The number of strata ``S`` (1 for an unstratified model)."""
        return self.offsets.shape[0] - 1

    def _stratum_index(self, level):
        if not self.strata_levels:
            if level is not None:
                raise ValueError("strata given, but the baseline hazard is unstratified")
            return 0
        if level is None:
            if self.n_strata == 1:
                return 0
            raise ValueError(f"the baseline hazard has {self.n_strata} strata; pass strata "
                             f"(codes among {self.strata_levels})")
        try:
            return self.strata_levels.index(int(level))
        except ValueError:
            raise ValueError(f"unknown stratum {level!r}; the baseline hazard knows the strata "
                             f"{self.strata_levels}") from None

    def _step(self, s, times):
        lo, hi = self.offsets[s], self.offsets[s + 1]
        idx = np.searchsorted(self.times[lo:hi], times, side="right") - 1
        return np.where(idx >= 0, self.cumulative_hazard[lo:hi][np.maximum(idx, 0)], 0.0)

    def cumulative_hazard_at(self, times, strata=None):
        """``H0_s(t)`` at ``times``: 0 before the first event time, constant after the last.

        Parameters
        ----------
        times : array-like, shape (m,)
        strata : None, int or array-like of shape (n,), optional
            None (an unstratified model, or one stratum), one stratum code, or one code
            per sample.

        Returns
        -------
        ndarray
            Shape ``(m,)`` for None or one code, ``(n, m)`` for one code per sample.
        """
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if t.ndim != 1 or not np.all(np.isfinite(t)):
            raise ValueError("times must be a finite 1-D array")
        if strata is None or np.ndim(strata) == 0:
            return self._step(self._stratum_index(strata), t)
        codes = np.asarray(strata)
        out = np.empty((codes.shape[0], t.shape[0]))
        for level in np.unique(codes):
            out[codes == level] = self._step(self._stratum_index(level), t)
        return out

    def survival_at(self, times, eta, strata=None):
        """``S(t | x) = exp(-H0_s(t) exp(eta))`` for each sample and time.

        Parameters
        ----------
        times : array-like, shape (m,)
        eta : array-like, shape (n,)
            Linear predictors on the scale the baseline was computed with.
        strata : None, int or array-like of shape (n,), optional
            As in :meth:`cumulative_hazard_at`.

        Returns
        -------
        ndarray, shape (n, m)
        """
        eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
        if eta.ndim != 1 or not np.all(np.isfinite(eta)):
            raise ValueError("eta must be a finite 1-D array")
        h0 = self.cumulative_hazard_at(times, strata)
        if h0.ndim == 1:
            h0 = h0[None, :]
        elif h0.shape[0] != eta.shape[0]:
            raise ValueError(f"strata has {h0.shape[0]} entries but eta {eta.shape[0]}")
        return np.exp(-h0 * np.exp(eta)[:, None])

    def to_arrays(self):
        """The baseline as a dict of numpy arrays and plain lists (no pickle needed).

        Returns
        -------
        dict
            ``times``, ``cumulative_hazard``, ``offsets``, ``ties`` (a 0-d unicode array)
            and ``strata_levels`` (a list of int).
        """
        return {"times": np.array(self.times), "cumulative_hazard":
                np.array(self.cumulative_hazard), "offsets": np.array(self.offsets),
                "strata_levels": [int(v) for v in self.strata_levels],
                "ties": np.array(self.ties)}

    @classmethod
    def from_arrays(cls, arrays):
        """The baseline written by :meth:`to_arrays`, checked.

        Parameters
        ----------
        arrays : dict

        Returns
        -------
        BaselineHazard
        """
        times = np.asarray(arrays["times"], dtype=np.float64)
        hazard = np.asarray(arrays["cumulative_hazard"], dtype=np.float64)
        offsets = np.asarray(arrays["offsets"], dtype=np.int64)
        levels = [int(v) for v in np.asarray(arrays["strata_levels"]).ravel()]
        ties = str(np.asarray(arrays.get("ties", "breslow")))
        m = times.shape[0]
        if (times.ndim != 1 or hazard.shape != times.shape or offsets.ndim != 1
                or offsets.shape[0] < 2 or offsets[0] != 0 or offsets[-1] != m
                or np.any(np.diff(offsets) < 0)):
            raise ValueError("inconsistent baseline hazard arrays: times, cumulative_hazard "
                             "and offsets do not describe step functions")
        if levels and len(levels) != offsets.shape[0] - 1:
            raise ValueError("strata_levels must name one code per stratum")
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        return cls(times, hazard, offsets, levels, ties)


def log_risk_sums(times, stop, w, eta, start=None):
    """``log R(u) = log sum_j w_j exp(eta_j) [start_j < u <= stop_j]`` at ``times``.

    Without entry times the suffix sums are accumulated in the log domain
    (``logaddexp``), so no ``eta`` range overflows or empties a late risk set; with entry
    times the sums are taken after shifting ``eta`` by its maximum.
    """
    logv = np.full(w.shape, -np.inf)
    pos = w > 0
    logv[pos] = np.log(w[pos]) + eta[pos]
    shift = logv.max(initial=-np.inf)
    if not np.isfinite(shift):
        return np.full(times.shape, -np.inf)
    if start is None:
        order = np.argsort(stop, kind="stable")
        suffix = np.logaddexp.accumulate(logv[order][::-1] - shift)[::-1]
        out = np.concatenate([suffix, [-np.inf]])[np.searchsorted(stop[order], times)]
    else:
        with np.errstate(divide="ignore"):
            out = np.log(at_risk_sums(times, stop, np.exp(logv - shift), start))
    return out + shift


def _increments(time, event, w, eta, start, ties):
    """Event times and hazard increments of one stratum."""
    ev = event & (w > 0)
    times, inverse = np.unique(time[event], return_inverse=True)
    inv_pos = inverse[ev[event]]
    dw = np.bincount(inv_pos, weights=w[ev], minlength=times.shape[0])
    log_risk = log_risk_sums(times, time, w, eta, start)
    inv_risk = np.exp(-np.where(dw > 0, log_risk, 0.0))
    if ties == "breslow":
        return times, np.where(dw > 0, dw * inv_risk, 0.0)
    # Efron: the k-th of d tied events sees the risk set less k/d of the tied events' sum,
    # R - (k/d) E = R (1 - (k/d) E/R) with E/R <= 1 computed from the logs
    count = np.bincount(inv_pos, minlength=times.shape[0])
    log_ev = np.log(w[ev]) + eta[ev]
    top = np.full(times.shape[0], -np.inf)
    np.maximum.at(top, inv_pos, log_ev)
    with np.errstate(divide="ignore"):
        log_tied = top + np.log(np.bincount(inv_pos, weights=np.exp(log_ev - top[inv_pos]),
                                            minlength=times.shape[0]))
    rows = np.repeat(np.arange(times.shape[0]), count)
    k = np.arange(rows.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    share = np.exp(log_tied[rows] - log_risk[rows])
    terms = (dw[rows] / count[rows]) * inv_risk[rows] / (1.0 - k / count[rows] * share)
    return times, np.bincount(rows, weights=terms, minlength=times.shape[0])


def breslow_baseline(time, event, eta, sample_weight=None, start=None, strata=None,
                     ties="breslow"):
    """The baseline cumulative hazard of a Cox model with linear predictor ``eta``.

    Breslow: ``dH0_s(t) = sum_{i in s: event at t} w_i / sum_{j in s at risk at t}
    w_j exp(eta_j)``, with ``j`` at risk at ``t`` when ``start_j < t <= time_j``.

    Efron (``ties="efron"``): with ``d`` events at ``t`` (of positive weight), their
    weight sum ``D`` and ``E = sum_{events at t} w_i exp(eta_i)``,
    ``dH0_s(t) = sum_{k=0}^{d-1} (D / d) / (R(t) - (k / d) E)``, ``R(t)`` the Breslow
    denominator (R's ``survfit.coxph`` for an Efron fit). Without tied event times both
    are the same.

    Parameters
    ----------
    time : array-like, shape (n,)
        Event or censoring (exit) times, ``>= 0``.
    event : array-like, shape (n,)
        1 / True for an event.
    eta : array-like, shape (n,)
        The fitted linear predictor ``x_i . b`` (plus any offset).
    sample_weight : array-like, shape (n,), optional
        Weights ``>= 0``.
    start : array-like, shape (n,), optional
        Entry times, ``start < time`` (counting-process data, left truncation).
    strata : array-like, shape (n,), optional
        Integer stratum codes: one baseline per stratum.
    ties : {"breslow", "efron"}, default "breslow"

    Returns
    -------
    BaselineHazard

    Notes
    -----
    lifelines' ``CoxPHFitter.baseline_cumulative_hazard_`` and statsmodels' ``PHReg``
    use the Breslow increments for the baseline whatever their tie handling in the
    partial likelihood, so ``ties="breslow"`` is what they match: lifelines at the
    mean covariate (``H0_lifelines = H0 exp(mean(X) . b)``), statsmodels (unweighted)
    as the left limit ``H0(t-)`` at its failure times.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    d = check_survival(time, event, sample_weight=sample_weight, start=start, strata=strata)
    n = d.time.shape[0]
    eta = check_vector(eta, "eta", n, allow_none=False)
    codes = np.zeros(n, dtype=np.int64) if d.strata is None else d.strata
    times, hazard, offsets = [], [], [0]
    for s in range(int(codes.max()) + 1):
        rows = codes == s
        t, dh = _increments(d.time[rows], d.event[rows], d.weight[rows], eta[rows],
                            None if d.start is None else d.start[rows], ties)
        times.append(t)
        hazard.append(np.cumsum(dh))
        offsets.append(offsets[-1] + t.shape[0])
    return BaselineHazard(np.concatenate(times), np.concatenate(hazard),
                          np.asarray(offsets, dtype=np.int64),
                          [int(v) for v in d.levels], ties)
