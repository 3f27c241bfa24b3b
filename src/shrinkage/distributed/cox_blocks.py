"""The Cox partial likelihood on row blocks: event-time histograms that sum over blocks.

The risk-set sums of the partial likelihood are not sums over rows, but they are sums
over rows *binned on the event-time grid*: once the ``m`` distinct event times of each
stratum are known (``EventTimes``, collected by a first pass), every block adds its
rows' ``mu_j = w_j exp(eta_j - c)`` and ``mu_j u_j`` (``u = x - shift``, ``c`` a common
scale) to two histograms over the ``T`` slots of that grid (the event times of each
stratum in order, each stratum closed by an empty sentinel slot, as in
:mod:`shrinkage.model.cox_math`)::

    M[k] = sum_{j at risk at t_k} mu_j [1, u_j]       (start_j < t_k <= stop_j)
    F[k] = sum_{j dies at t_k}   mu_j [1, u_j]

Rows are binned at their last risk slot and, negatively, at the slot before their entry
(``shrinkage.model.cox_math.cox_risk_sums``), so (start, stop] data need no second grid.
Both are ``T x (p + 1)`` and sum over blocks, whatever the order of the rows.
``Scaled`` carries each block's ``c`` (its largest ``eta``) and rescales on addition, so
``exp`` never overflows. From the totals, with ``S_k = M[k, 0]``, ``D_k = F[k, 0]``,
``W_k`` the events' weight and ``d_k`` their number at ``t_k``, ``c_r = r / d_k`` (Efron)
or 0 (Breslow) and ``a = W_k / d_k`` (``slot_terms``)::

    loss      = sum_k sum_r a log(S_k - c_r D_k) - sum_{events} w_j eta_j
    -gradient = sum_{events} w_j u_j - sum_k (A1_k M_k - Ac_k F_k)[1:]
    Hessian   = sum_j d_j u_j u_j^T - sum_k beta_k U_k U_k^T + gamma_k F_k F_k^T

with ``A1 = sum_r a / den_r``, ``Ac = sum_r a c_r / den_r``, ``U = M - ratio F``
(``beta, ratio, gamma`` of ``shrinkage.model.cox_math.cox_slot_curvature``), all
on columns ``1:``. The diagonal part needs the per-row weight ``d_j = mu_j (sum_{k at
risk} A1_k - e_j Ac_{k_j})`` and so a second pass (``gram_block``): ``A1`` is global.
Weights are divided by the fit's total weight, as in memory.
"""

from __future__ import annotations

import numpy as np

from ..model.cox_math import cox_observation_derivatives, cox_risk_sums
from .blocks import check_block, row_folds
from .moments import moment_block

__all__ = ["EventTimes", "Scaled", "CoxGrid", "setup_block", "hist_block", "gram_block",
           "pass_block", "deviance_block", "slot_terms", "block_slots", "check_response"]


class EventTimes:
    """The distinct event times (of rows with positive weight) per stratum label, and
    every stratum label seen; ``+`` is the union (so ``combine`` merges blocks)."""

    def __init__(self, times, labels):
        self.times = times  # label -> sorted unique event times
        self.labels = labels  # sorted unique labels

    def __add__(self, other):
        times = dict(self.times)
        for s, t in other.times.items():
            times[s] = np.union1d(times[s], t) if s in times else t
        return EventTimes(times, np.union1d(self.labels, other.labels))


class Scaled:
    """Sums of ``w exp(eta - c)`` times data, held with ``c`` (a per-column array,
    broadcast against the last axis); ``+`` rescales both to the larger ``c``."""

    def __init__(self, c, arrays):
        self.c = np.asarray(c, dtype=float)
        self.arrays = arrays

    def __add__(self, other):
        c = np.maximum(self.c, other.c)
        fin = np.isfinite(c)
        ca = np.where(fin, c, 0.0)

        def factor(x):
            return np.where(np.isfinite(x), np.exp(np.where(np.isfinite(x), x, 0.0) - ca),
                            0.0)
        fa, fb = factor(self.c), factor(other.c)
        return Scaled(c, {k: v * fa + other.arrays[k] * fb for k, v in self.arrays.items()})


class CoxGrid:
    """The slots of the fit: ``labels`` (sorted stratum labels), their ``times`` (each
    stratum's event times, sentinel slot after), ``off`` (first slot of each stratum),
    ``sentinel`` (bool per slot)."""

    def __init__(self, events):
        self.labels = np.asarray(events.labels, dtype=float)
        self.times = [np.asarray(events.times.get(s, np.zeros(0)), dtype=float)
                      for s in self.labels]
        sizes = np.array([t.size + 1 for t in self.times], dtype=np.int64)
        self.off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.T = int(sizes.sum())
        self.sentinel = np.zeros(self.T, dtype=bool)
        self.sentinel[self.off + sizes - 1] = True

    @property
    def n_events(self):
        """Number of distinct event times over all strata (``m``)."""
        return self.T - self.labels.size


def _rows(i, start, nb):
    return f"block {i} (rows {start} to {start + nb - 1})"


def check_response(i, start, R):
    """Refuse a bad survival block by block and row: ``R`` columns ``start, stop, event,
    stratum`` (``start = -inf``: no entry time)."""
    where = _rows(i, start, R.shape[0])
    names = ("start time", "time", "event indicator", "stratum label")
    for c, name in enumerate(names):
        col = R[:, c]
        bad = np.isnan(col) | (np.isinf(col) if c else col == np.inf)
        if np.any(bad):
            raise ValueError(f"the {name} has NaN or inf in {where}, first at row "
                             f"{start + int(np.flatnonzero(bad)[0])}")
    for c, name in ((0, "start time"), (1, "time")):
        bad = (R[:, c] < 0) & (R[:, c] != -np.inf)
        if np.any(bad):
            raise ValueError(f"negative {name}s in {where}, first at row "
                             f"{start + int(np.flatnonzero(bad)[0])}; survival times must "
                             "be >= 0")
    bad = (R[:, 2] != 0) & (R[:, 2] != 1)
    if np.any(bad):
        raise ValueError(f"the event indicator must be 0 or 1; {where} has "
                         f"{R[bad, 2][0]:g} at row {start + int(np.flatnonzero(bad)[0])}")
    bad = R[:, 1] <= R[:, 0]
    if np.any(bad):
        raise ValueError(f"stop <= start in {where}, first at row "
                         f"{start + int(np.flatnonzero(bad)[0])}; an interval (start, "
                         "stop] must be non-empty")


def _block(i, start, Xb, Rb, wb, ob):
    R = np.asarray(Rb, dtype=np.float64)
    Xb, _, wb, ob = check_block(i, start, Xb, R[:, 1], wb, ob)
    return Xb, R, wb, ob


def setup_block(i, start, Xb, Rb, wb, ob, fb, spec, n_groups, shift):
    """The first pass: the weighted moments of X per fold label (``moment_block``), the
    event times per stratum (``events``) and the number of events per fold
    (``events_fold``), with the survival response checked by block and row."""
    check_response(i, start, np.asarray(Rb, dtype=np.float64))
    Xb, R, wb, ob = _block(i, start, Xb, Rb, wb, ob)
    out = moment_block(i, start, Xb, R[:, 1], wb, None, fb, spec, n_groups, shift, 0.0,
                       "gaussian")
    live = (R[:, 2] == 1) & (wb > 0)
    strata = R[:, 3]
    times = {float(s): np.unique(R[live & (strata == s), 1]) for s in np.unique(strata[live])}
    out["events"] = EventTimes(times, np.unique(strata))
    f = np.maximum(row_folds(i, start, R.shape[0], fb, spec), 0)
    out["events_fold"] = np.bincount(f[live], minlength=n_groups).astype(float)
    return out


def block_slots(R, grid):
    """``(lo, hi, evk)`` of every row of a block on the grid (as
    :func:`shrinkage.model.cox.cox_index`, with the global event times)."""
    n = R.shape[0]
    lo = np.zeros(n, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    evk = np.full(n, -1, dtype=np.int64)
    code = np.searchsorted(grid.labels, R[:, 3])
    for s in np.unique(code):
        rows = np.flatnonzero(code == s)
        t, off = grid.times[s], grid.off[s]
        lo[rows] = off + np.searchsorted(t, R[rows, 0], side="right")
        hi[rows] = off + np.searchsorted(t, R[rows, 1], side="right")
        ev = rows[R[rows, 2] == 1]
        evk[ev] = off + np.searchsorted(t, R[ev, 1], side="left")
    return lo, hi, evk


def _fit_rows(folds, k, wb, W):
    """The weights of a fit's rows: ``w / W``, 0 on the rows of held-out fold ``k``
    (``folds``: a callable giving the block's fold labels)."""
    w = wb / W
    if k >= 0:
        w = np.where(folds() == k, 0.0, w)
    return w


def _fold_labels(i, start, nb, fb, spec):
    """The block's fold labels, computed once when first asked for."""
    cache = []

    def labels():
        if not cache:
            cache.append(row_folds(i, start, nb, fb, spec))
        return cache[0]
    return labels


def _eta(U, ob, b):
    """``offset + u . b`` (``U`` the block's rows less the shift)."""
    eta = U @ b
    return eta if ob is None else eta + ob


def hist_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, requests):
    """The histograms of the module docstring for each request ``(k, W, b, base)`` (the
    fit leaving out fold ``k``, of total weight ``W``, at coefficients ``b``): ``q/MF``
    (``Scaled`` with ``M`` and ``F``), ``q/Wk`` and ``q/dk`` (event weight and count per
    slot), ``q/ev_u`` (``sum_events w u``), ``q/ev_eta`` (``sum_events w eta``) and
    ``q/ev_abs`` (``sum_events w |eta|``). With ``base = (c, terms)``, the slot terms of
    another point (the one ``b`` was stepped from), also ``q/Gd``: the Hessian's
    diagonal part with the rows' ``mu`` at ``b`` and the risk-set weights of ``base``
    (:func:`gram_block`'s ``d_j`` with ``sum_k A1_k`` lagged one step)."""
    Xb, R, wb, ob = _block(i, start, Xb, Rb, wb, ob)
    lo, hi, evk = block_slots(R, grid)
    U1 = np.empty((Xb.shape[0], Xb.shape[1] + 1))
    U1[:, 0] = 1.0
    U1[:, 1:] = Xb - shift
    out = {}
    folds = _fold_labels(i, start, R.shape[0], fb, spec)
    event = evk >= 0
    for q, (k, W, b, base) in enumerate(requests):
        w = _fit_rows(folds, k, wb, W)
        eta = _eta(U1[:, 1:], ob, b)
        live = (w > 0) & (hi > lo)
        c = float(np.max(eta[live])) if np.any(live) else -np.inf
        mu = np.where(live, w * np.exp(np.where(live, eta - c, 0.0)), 0.0)
        M = np.empty((grid.T, U1.shape[1]))
        F = np.empty_like(M)
        cox_risk_sums(U1, mu, lo, hi, evk, grid.sentinel, M, F)
        ev = event & (w > 0)
        we = np.where(ev, w, 0.0)  # the events' weights (dense products: no row copies)
        out[f"{q}/MF"] = Scaled([c], {"M": M, "F": F})
        out[f"{q}/Wk"] = np.bincount(evk[ev], weights=w[ev], minlength=grid.T)
        out[f"{q}/dk"] = np.bincount(evk[ev], minlength=grid.T).astype(float)
        out[f"{q}/ev_u"] = we @ U1[:, 1:]
        out[f"{q}/ev_eta"] = np.array(float(we @ eta))
        out[f"{q}/ev_abs"] = np.array(float(we @ np.abs(eta)))
        if base is not None:
            out[f"{q}/Gd"] = _diagonal_part(U1[:, 1:], w, eta, lo, hi, evk, grid, *base)[0]
    return out


def _diagonal_part(U, w, eta, lo, hi, evk, grid, c, terms):
    """``(sum_j d_j u_j u_j^T, v)`` with ``d_j = mu_j (sum_{k at risk} A1_k - e_j
    Ac_{k_j})`` and ``mu_j = w_j exp(eta_j - c)`` (``terms`` scaled by ``exp(c)``), and
    ``v_j`` the diagonal of the loss's Hessian in ``eta``
    (``shrinkage.model.cox_math.cox_observation_derivatives``); inf when ``mu``
    overflows (a lagged ``c`` far below ``eta``)."""
    n = w.shape[0]
    live = (w > 0) & (hi > lo)
    with np.errstate(over="ignore", invalid="ignore"):
        mu = np.where(live, w * np.exp(np.where(live, eta - c, 0.0)), 0.0)
        wres, v = np.empty(n), np.empty(n)
        cox_observation_derivatives(w, lo, hi, evk, grid.sentinel, terms, mu,
                                    np.zeros((2, grid.T)), wres, v)
        d = np.where(live, np.where(evk >= 0, w, 0.0) - wres, 0.0)
        return U.T @ (U * d[:, None]), v


def gram_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, requests):
    """The Hessian's diagonal part for each request ``(k, W, b, c, terms, curv)``:
    ``q/Gd = sum_j d_j u_j u_j^T`` with ``d_j`` of the module docstring (``terms`` the
    global ``A1, A2, B2, A3`` per slot scaled by ``exp(c)``, :func:`slot_terms`); with
    ``curv`` also the IRLS curvature sums ``q/sv, q/su, q/suu`` of ``v_j =
    d^2 loss / d eta_j^2`` (the ridge grid's weights)."""
    Xb, R, wb, ob = _block(i, start, Xb, Rb, wb, ob)
    lo, hi, evk = block_slots(R, grid)
    U = Xb - shift
    n = R.shape[0]
    out = {}
    folds = _fold_labels(i, start, n, fb, spec)
    for q, (k, W, b, c, terms, curv) in enumerate(requests):
        w = _fit_rows(folds, k, wb, W)
        out[f"{q}/Gd"], v = _diagonal_part(U, w, _eta(U, ob, b), lo, hi, evk, grid,
                                           c, terms)
        if curv:
            out[f"{q}/sv"] = np.array(v.sum())
            out[f"{q}/su"] = v @ U
            out[f"{q}/suu"] = U.T @ (U * v[:, None])
    return out


def pass_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, hists, grams):
    """One pass of the Newton solver: ``hist_block`` for the requests ``hists`` (keys
    ``h/q/...``) and ``gram_block`` for ``grams`` (keys ``g/q/...``), the block read once."""
    out = {}
    if hists:
        res = hist_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, hists)
        out.update({f"h/{k}": v for k, v in res.items()})
    if grams:
        res = gram_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, grams)
        out.update({f"g/{k}": v for k, v in res.items()})
    return out


def deviance_block(i, start, Xb, Rb, wb, ob, fb, spec, shift, grid, coefs, wscale):
    """Held-out scoring of a cross-validation: for each fold ``k`` with path ``coefs[k]``
    (``L x p``), the risk-set and tied-event sums ``S, D`` (``Scaled``, ``T x L``) and
    ``sum_events w eta`` over every row (``k/all``) and over its training rows
    (``k/train``), with the weights ``w wscale`` (those of the in-memory scoring)."""
    Xb, R, wb, ob = _block(i, start, Xb, Rb, wb, ob)
    wb = wb * wscale
    lo, hi, evk = block_slots(R, grid)
    f = row_folds(i, start, R.shape[0], fb, spec)
    out = {}
    for k, B in coefs.items():
        E = (Xb - shift) @ B.T
        if ob is not None:
            E += ob[:, None]
        for part, w in (("all", wb), ("train", np.where(f == k, 0.0, wb))):
            live = (w > 0) & (hi > lo)
            ev = (evk >= 0) & (w > 0)
            L = E.shape[1]
            c = E[live].max(axis=0) if np.any(live) else np.full(L, -np.inf)
            # every lam at once: rows weighted by w, columns exp(eta_l - c_l)
            Z = np.exp(np.where(live[:, None], E - np.where(np.isfinite(c), c, 0.0), -np.inf))
            S, D = np.empty((grid.T, L)), np.empty((grid.T, L))
            cox_risk_sums(Z, np.where(live, w, 0.0), lo, hi, evk, grid.sentinel, S, D)
            out[f"{k}/{part}"] = Scaled(c, {"S": S, "D": D})
            out[f"{k}/{part}_eta"] = w[ev] @ E[ev]
            out[f"{k}/{part}_Wk"] = np.bincount(evk[ev], weights=w[ev], minlength=grid.T)
            out[f"{k}/{part}_dk"] = np.bincount(evk[ev], minlength=grid.T).astype(float)
    return out


def slot_terms(S, D, Wk, dk, efron, scale=0.0):
    """Per-slot sums of the partial likelihood from the global histograms.

    With ``a = W_k / d_k``, ``c_r = r / d_k`` (Efron, ``r < d_k``; Breslow: one term of
    weight ``W_k``, ``c = 0``) and ``den_r = S_k - c_r D_k`` (``S_k`` floored at ``D_k``
    and ``den`` at ``(1 - c_r) D_k`` against rounding, as ``cox_terms``), returns a dict:
    ``loss = sum a (log den_r + scale)`` (``S, D`` scaled by ``exp(-scale)``) and ``mag``, the sum
    of the magnitudes of its terms (its rounding scale), the rows ``A1 = sum a / den``,
    ``A2 = sum a (1 - c) / den``, ``B2 = sum a / den^2``, ``A3 = sum a (1 - c)^2 /
    den^2`` (``terms``, shape (4, T)), ``Ac = A1 - A2`` and the rank-one weights
    ``beta, ratio, gamma``; ``loss = inf`` when a risk set underflowed to zero.
    """
    T = S.size
    S = np.maximum(S, D)
    k = np.flatnonzero(dk > 0)
    d = np.rint(dk[k]).astype(np.int64)
    if efron:
        rep = np.repeat(k, d)
        first = np.repeat(np.cumsum(d) - d, d)
        dr = np.repeat(d, d).astype(float)
        c = (np.arange(rep.size) - first) / dr
        a = Wk[rep] / dr
    else:
        rep, c, a = k, np.zeros(k.size), Wk[k]
    den = S[rep] - c * D[rep]
    low = den <= 0
    den[low] = ((1.0 - c) * D[rep])[low]
    if not np.all(den > 0):
        return {"loss": np.inf, "mag": np.inf}
    q = a / den
    q2 = q / den

    def bins(x):
        return np.bincount(rep, weights=x, minlength=T)
    terms = np.array([bins(q), bins((1 - c) * q), bins(q2), bins((1 - c) ** 2 * q2)])
    b0, b1, b2 = terms[2], bins(c * q2), bins(c * c * q2)
    ratio = np.divide(b1, b0, out=np.zeros(T), where=b0 > 0)
    gamma = np.maximum(np.where(b0 > 0, b2 - b1 * ratio, 0.0), 0.0)
    t = a * (np.log(den) + scale)
    return {"loss": float(np.sum(t)), "mag": float(np.sum(np.abs(t))), "terms": terms,
            "Ac": terms[0] - terms[1], "beta": b0, "ratio": ratio, "gamma": gamma}
