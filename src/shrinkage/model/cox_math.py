"""The Cox partial likelihood, its gradient and diagonal curvature in O(n) (numba), and its
exact Hessian on a set of columns (``cox_hessian``).

Written once and used by the family (:class:`shrinkage.model.cox.Cox`) and the engine's
Cox solver. Observations are mapped once (:func:`shrinkage.model.cox.cox_index`) onto
*slots*: the distinct event times of each stratum in increasing order, each stratum closed
by an empty sentinel slot. Observation ``j`` is at risk at the slots ``lo_j <= k < hi_j``
(``start_j < t_k <= stop_j``) and, if it is an event, dies at slot ``evk_j``. With
``mu_j = w_j exp(eta_j)``, ``S_k`` the sum of ``mu`` over the risk set at ``t_k``,
``D_k`` that over its ``d_k`` tied events and ``W_k`` their summed weight, the loss is::

    L(eta) = sum_k [ (W_k / d_k) sum_{r<d_k} log(S_k - c_r D_k) - sum_{i dies at k} w_i eta_i ]

with ``c_r = r / d_k`` (Efron) or ``c_r = 0`` (Breslow); weights sum to one, so ``L`` is
the negative log partial likelihood divided by ``sum(w)``. Risk-set sums are reverse
cumulative sums over the slots and per-observation sums over slots are differences of
prefix sums, so one evaluation costs ``O(n + number of events)``; with late entries
(``(start, stop]`` data) those differences can cancel, and ``shrinkage.model.cox_risk`` takes the
ones that do without differences. Rows with zero weight
are absent: out of every risk set and every tie count.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg.blas import dsyrk

from .cox_risk import (
    CANCEL_RATIO,
    backward_risk,
    sum_tree,
    tree_range,
    tree_risk,
    tree_risk_columns,
)

__all__ = ["cox_terms", "risk_shift", "slot_sums", "cox_observation_derivatives", "cox_loss",
           "cox_loss_pair", "new_terms", "cox_slot_curvature", "cox_risk_sums", "cox_hessian",
           "fill_lower"]


def cox_terms(eta, w, lo, hi, evk, sentinel, efron, terms, mu, counted=False):
    """Per-slot sums of the partial likelihood at ``eta``.

    Fills ``mu`` (shape (n,): ``w_j exp(eta_j - m)``, 0 for rows never at risk) and
    ``terms`` (shape (8, n_slots)): rows ``A1, A2, B2, A3`` (the Efron sums over the
    tie correction, see :func:`cox_observation_derivatives`), ``S`` and ``D``, all with
    ``mu`` scaled by ``exp(-m)``, ``m = max eta`` (lower where a risk set is tiny beside
    the largest risk, see below); with ``a = W_k / d_k`` and ``c_r`` as
    above, ``A1 = sum_r a / den_r``, ``A2 = sum_r a (1 - c_r) / den_r``,
    ``B2 = sum_r a / den_r^2``, ``A3 = sum_r a (1 - c_r)^2 / den_r^2``; then the tie
    counts and their weights (``counted``: already there, for these ``w``, from an
    earlier call). Returns ``(loss, magnitude, m)``: the loss and the sum of the
    magnitudes of its terms (its rounding scale).
    """
    top = risk_shift(eta, w)
    pairs = np.empty((2, eta.shape[0]))
    m = top
    loss, mag, nd = _shifted_sums(eta, w, lo, hi, evk, sentinel, efron, terms, mu, pairs,
                                  counted, top, m)
    if not np.isfinite(loss):
        return loss, mag, m
    # the curvature's sums hold 1 / den^2: a risk set below 2^-400 of the largest risk
    # (a fit near saturation: coefficients of 40 on p ~ n) overflows them, and the
    # Hessian built from them is inf (its Newton steps then never moved). Shifted to the
    # middle of the risks' range, every sum and square stays finite while the risks span
    # less than about exp(700) (the loss itself fails near exp(745))
    small = _smallest_risk(terms)
    if small < _TINY_RISK:
        m = top + 0.5 * np.log(small)
        loss, mag, nd = _shifted_sums(eta, w, lo, hi, evk, sentinel, efron, terms, mu,
                                      pairs, True, top, m)
        if not np.isfinite(loss):
            return loss, mag, m
    # the log terms a log(den_r e^m) of every event, vectorised as exp above
    coef, logs = pairs[0, :nd], np.log(pairs[1, :nd])
    logs += m
    logs *= coef
    return loss + float(np.sum(logs)), mag + float(np.sum(np.abs(logs))), m


# the smallest risk-set sum (relative to the largest risk) past which cox_terms shifts
_TINY_RISK = 2.0 ** -400


def _shifted_sums(eta, w, lo, hi, evk, sentinel, efron, terms, mu, pairs, counted, top, m):
    """:func:`slot_sums` of ``mu = w exp(eta - m)``, ``m <= top = max eta``."""
    # numpy's exp is vectorised (several times faster than a scalar exp per row); rows
    # without weight may lie above top: clipped there, their mu is 0 either way
    np.subtract(eta, m, out=mu)
    np.minimum(mu, top - m, out=mu)
    np.exp(mu, out=mu)
    mu *= w
    return slot_sums(eta, w, lo, hi, evk, sentinel, efron, terms, mu, pairs, counted)


@njit(cache=True, nogil=True, fastmath=False)
def _smallest_risk(terms):
    """The smallest risk-set sum ``S`` over the slots with events (inf without one)."""
    S, cnt = terms[4], terms[6]
    small = np.inf
    for k in range(S.shape[0]):
        if cnt[k] > 0.0 and S[k] < small:
            small = S[k]
    return small


@njit(cache=True, nogil=True, fastmath=False)
def risk_shift(eta, w):
    """``max eta`` over the rows with positive weight (0 when there are none)."""
    m = -np.inf
    for j in range(eta.shape[0]):
        if w[j] > 0.0 and eta[j] > m:
            m = eta[j]
    return m if np.isfinite(m) else 0.0


@njit(cache=True, nogil=True, fastmath=False)
def slot_sums(eta, w, lo, hi, evk, sentinel, efron, terms, mu, logs, counted):
    """The slot sums of :func:`cox_terms` from ``mu = w exp(eta - m)``.

    ``counted``: ``terms[6:8]`` already hold the tie counts and weights of ``w`` (they do
    not change with ``eta``; two fewer scattered writes per event). Returns
    ``(loss, mag, nlog)`` without the log terms: those are left in ``logs`` (shape
    (2, >= number of events)) as ``logs[0, i] log(logs[1, i] e^m)``, ``i < nlog``;
    ``loss = inf`` when a denominator underflowed to 0.
    """
    n = eta.shape[0]
    T = sentinel.shape[0]
    A1, A2, B2, A3, S, D = terms[0], terms[1], terms[2], terms[3], terms[4], terms[5]
    terms[:6] = 0.0
    cnt = terms[6]
    ww = terms[7]
    if not counted:
        cnt[:] = 0.0
        ww[:] = 0.0
    # risk set bins: S_k = sum_{k' >= k} (enter-at-hi bins - enter-at-lo bins)
    loss = 0.0
    mag = 0.0
    nlog = 0
    for j in range(n):
        wj = w[j]
        if wj <= 0.0 or hi[j] <= lo[j]:
            mu[j] = 0.0
            continue
        mj = mu[j]
        A1[hi[j] - 1] += mj
        if lo[j] > 0 and not sentinel[lo[j] - 1]:  # entered after the stratum's first slot
            A2[lo[j] - 1] += mj
        k = evk[j]
        if k >= 0:
            D[k] += mj
            if not counted:
                cnt[k] += 1.0
                ww[k] += wj
            loss -= wj * eta[j]
            mag += abs(wj * eta[j])
    # the risk-set sums back from each stratum's end; with late entries they may cancel,
    # and are then taken without differences (cox_risk)
    if backward_risk(A1, A2, sentinel, S):
        S[:] = tree_risk(mu, lo, hi, T)
    for k in range(T - 1, -1, -1):
        A1[k] = 0.0
        A2[k] = 0.0
        if sentinel[k]:
            continue
        Sk = max(S[k], D[k])
        S[k] = Sk
        d = cnt[k]
        if d == 0.0:
            continue
        share = ww[k] / d
        nd = int(d)
        for r in range(nd if efron else 1):
            c = r / d if efron else 0.0
            den = Sk - c * D[k]
            if den <= 0.0:  # rounding of a risk set made only of the tied events
                den = (1.0 - c) * D[k]
            if not den > 0.0:  # every risk underflowed: a point no step may reach
                return np.inf, np.inf, 0
            reps = 1.0 if efron else d
            q = share * reps / den
            A1[k] += q
            A2[k] += (1.0 - c) * q
            B2[k] += q / den
            A3[k] += (1.0 - c) * (1.0 - c) * q / den
            logs[0, nlog] = share * reps
            logs[1, nlog] = den
            nlog += 1
    return loss, mag, nlog


@njit(cache=True, nogil=True, fastmath=False)
def cox_observation_derivatives(w, lo, hi, evk, sentinel, terms, mu, prefix, wres, v):
    """Minus the gradient and the diagonal of the Hessian of the loss, per observation.

    With ``C1_j = sum_{lo_j <= k < hi_j} A1_k`` and ``C2_j`` the same sum of ``B2``::

        dL/deta_j   = mu_j (C1_j - e_j (A1 - A2)_{k_j}) - e_j w_j
        d2L/deta_j2 = mu_j (C1_j - e_j (A1 - A2)_{k_j}) - mu_j^2 (C2_j - e_j (B2 - A3)_{k_j})

    (``e_j`` the event indicator, ``k_j`` its slot), with ``terms`` and ``mu`` from
    :func:`cox_terms` at the same ``eta``. Writes ``wres = -dL/deta`` and ``v`` (floored
    at 0); ``prefix`` is scratch of shape (2, n_slots). Returns
    ``sum_j wres_j`` (zero up to rounding: the loss is invariant to a shift of ``eta``).
    """
    T = sentinel.shape[0]
    A1, A2, B2, A3 = terms[0], terms[1], terms[2], terms[3]
    P1, P2 = prefix[0], prefix[1]
    s1 = 0.0
    s2 = 0.0
    for k in range(T):
        P1[k] = s1
        P2[k] = s2
        if sentinel[k]:
            s1 = 0.0
            s2 = 0.0
        else:
            s1 += A1[k]
            s2 += B2[k]
    # a late entry after slots of far larger terms: its prefix difference cancels, and
    # its sums are taken on segment trees of the terms instead (cox_risk)
    cancels = False
    for j in range(w.shape[0]):
        if w[j] > 0.0 and hi[j] > lo[j]:
            cancels = cancels or (P1[hi[j]] > CANCEL_RATIO * (P1[hi[j]] - P1[lo[j]])
                                  or P2[hi[j]] > CANCEL_RATIO * (P2[hi[j]] - P2[lo[j]]))
    T1 = sum_tree(A1 if cancels else A1[:0])
    T2 = sum_tree(B2 if cancels else B2[:0])
    total = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        if wj <= 0.0 or hi[j] <= lo[j]:
            wres[j] = 0.0
            v[j] = 0.0
            continue
        mj = mu[j]
        c1 = P1[hi[j]] - P1[lo[j]]
        c2 = P2[hi[j]] - P2[lo[j]]
        if cancels and (P1[hi[j]] > CANCEL_RATIO * c1 or P2[hi[j]] > CANCEL_RATIO * c2):
            c1 = tree_range(T1, lo[j], hi[j])
            c2 = tree_range(T2, lo[j], hi[j])
        k = evk[j]
        ev = 0.0
        if k >= 0:
            c1 -= A1[k] - A2[k]
            c2 -= B2[k] - A3[k]
            ev = wj
        g = mj * c1
        wres[j] = ev - g
        v[j] = max(g - mj * mj * c2, 0.0)
        total += wres[j]
    return total


def cox_loss(eta, w, lo, hi, evk, sentinel, efron, terms):
    """``(loss, magnitude)`` of :func:`cox_terms` (the per-slot sums left in ``terms``)."""
    loss, mag, _ = cox_terms(eta, w, lo, hi, evk, sentinel, efron, terms,
                             np.empty(eta.shape[0]))
    return loss, mag


@njit(cache=True, nogil=True, fastmath=False)
def cox_slot_curvature(terms, efron, beta, ratio, gamma):
    """Per-slot weights of the rank-one part of the loss's Hessian in ``eta``.

    With ``u_r = 1[at risk] - c_r 1[dies at k]`` the Hessian of ``log den_r`` is
    ``diag(mu u_r) / den_r - (mu u_r)(mu u_r)^T / den_r^2``. Summed over the ``d_k`` terms
    of slot ``k`` (weight ``a = W_k / d_k`` each), the rank-one parts are, with
    ``M_k = mu 1[at risk]`` and ``F_k = mu 1[dies at k]``::

        b0 M M^T - b1 (M F^T + F M^T) + b2 F F^T
            = beta (M - ratio F)(M - ratio F)^T + gamma F F^T

    ``b_i = sum_r a c_r^i / den_r^2``, ``beta = b0``, ``ratio = b1 / b0`` and
    ``gamma = b2 - b1^2 / b0 >= 0`` (Cauchy-Schwarz). Breslow: ``ratio = gamma = 0``.
    ``terms`` (scaled as ``mu``) from :func:`cox_terms`; writes the three arrays of length
    ``n_slots`` (zero at slots without events).
    """
    S, D, cnt, ww = terms[4], terms[5], terms[6], terms[7]
    for k in range(S.shape[0]):
        beta[k] = 0.0
        ratio[k] = 0.0
        gamma[k] = 0.0
        d = cnt[k]
        if d == 0.0:
            continue
        share = ww[k] / d
        b0 = 0.0
        b1 = 0.0
        b2 = 0.0
        for r in range(int(d) if efron else 1):
            c = r / d if efron else 0.0
            den = S[k] - c * D[k]
            if den <= 0.0:  # as in cox_terms: a risk set of only the tied events
                den = (1.0 - c) * D[k]
            if not den > 0.0:  # every risk underflowed: cox_terms reads such a point inf
                continue
            # divided twice: den * den underflows to 0 for a risk set near 1e-160 of the
            # largest risk (a Cox fit that separates), and the curvature is then huge
            q = share * (1.0 if efron else d) / den / den
            b0 += q
            b1 += c * q
            b2 += c * c * q
        beta[k] = b0
        if b0 > 0.0:
            ratio[k] = b1 / b0
            # b1 * ratio, not b1 * b1 / b0: b1 * b1 scales as den^-4 and over- or
            # underflows (gamma then dropped) at risk sets beyond exp(+-177)
            gamma[k] = max(b2 - b1 * ratio[k], 0.0)


@njit(cache=True, nogil=True, fastmath=False)
def cox_risk_sums(Z, mu, lo, hi, evk, sentinel, M, F):
    """Risk-set and tied-event sums of the rows of ``Z`` (n, m) weighted by ``mu``.

    ``M[k] = sum_{lo_j <= k < hi_j} mu_j Z[j]`` and ``F[k] = sum_{evk_j = k} mu_j Z[j]``
    (shape (n_slots, m)): rows are binned at ``hi_j - 1`` (and, negatively, at ``lo_j - 1``
    when they enter after their stratum's first slot), then summed from the last slot
    back, stratum by stratum, in ``O((n + n_slots) m)``.
    """
    n, m = Z.shape
    T = sentinel.shape[0]
    M[:] = 0.0
    F[:] = 0.0
    any_late = False
    for j in range(n):
        mj = mu[j]
        if mj == 0.0:  # zero weight or never at risk
            continue
        top = hi[j] - 1
        enter = lo[j] - 1
        late = lo[j] > 0 and not sentinel[enter]
        any_late = any_late or late
        k = evk[j]
        for c in range(m):
            x = mj * Z[j, c]
            M[top, c] += x
            if late:
                M[enter, c] -= x
            if k >= 0:
                F[k, c] += x
    for k in range(T - 2, -1, -1):
        if sentinel[k]:
            continue
        if not sentinel[k + 1]:
            for c in range(m):
                M[k, c] += M[k + 1, c]
    if any_late and _risk_cancels(mu, lo, hi, sentinel):
        tree_risk_columns(Z, mu, lo, hi, M)  # some risk set cancels (cox_risk)


@njit(cache=True, nogil=True, fastmath=False)
def _risk_cancels(mu, lo, hi, sentinel):
    """Whether a risk-set sum of ``mu`` back from its stratum's end cancels
    (:func:`~.cox_risk.backward_risk` on the bins :func:`slot_sums` makes)."""
    T = sentinel.shape[0]
    leave = np.zeros(T)
    enter = np.zeros(T)
    for j in range(mu.shape[0]):
        if mu[j] != 0.0 and hi[j] > lo[j]:
            leave[hi[j] - 1] += mu[j]
            if lo[j] > 0 and not sentinel[lo[j] - 1]:
                enter[lo[j] - 1] += mu[j]
    return backward_risk(leave, enter, sentinel, np.empty(T))


def cox_hessian(Z, event_w, wres, mu, terms, lo, hi, evk, sentinel, efron):
    """The loss's exact Hessian in the coefficients of the columns ``Z`` (n, m).

    Summing the Hessians of every ``log den_r`` (see :func:`cox_slot_curvature`)::

        Z^T diag(d) Z - U^T diag(beta) U - F^T diag(gamma) F,    U = M - diag(ratio) F

    with ``d_j = e_j w_j - wres_j`` (the risk part of the first derivative, ``mu_j`` times
    its slots' ``sum a / den``) and ``M, F`` the risk-set and tied-event sums of
    ``mu Z`` (:func:`cox_risk_sums`). ``event_w`` is ``w`` at events and 0 elsewhere;
    ``wres``, ``mu`` and ``terms`` from :func:`cox_terms` and
    :func:`cox_observation_derivatives` at the same ``eta``. ``O((n + n_slots) m^2)``
    flops, in symmetric rank-k products; returned in Fortran order (symmetric, so its
    columns, which the covariance kernels read, are contiguous).
    """
    T = sentinel.shape[0]
    d = np.where(mu > 0, event_w - wres, 0.0)
    M = np.empty((T, Z.shape[1]))
    F = np.empty_like(M)
    cox_risk_sums(Z, mu, lo, hi, evk, sentinel, M, F)
    beta, ratio, gamma = np.empty(T), np.empty(T), np.empty(T)
    cox_slot_curvature(terms, efron, beta, ratio, gamma)
    live = beta > 0
    U = M[live]
    # A^T A for a C-ordered A is syrk of its Fortran-ordered transpose (upper triangle)
    G = dsyrk(1.0, (Z * np.sqrt(np.maximum(d, 0.0))[:, None]).T)
    if efron and np.any(gamma > 0):
        Fl = F[live]
        U -= ratio[live, None] * Fl
        G = dsyrk(-1.0, (Fl * np.sqrt(gamma[live])[:, None]).T, beta=1.0, c=G,
                  overwrite_c=1)
    G = dsyrk(-1.0, (U * np.sqrt(beta[live])[:, None]).T, beta=1.0, c=G, overwrite_c=1)
    # Fortran order kept: the covariance kernels read its columns contiguously
    fill_lower(G)
    return G


@njit(cache=True, nogil=True, fastmath=False)
def fill_lower(G):
    """Copy the upper triangle of the square ``G`` onto its lower one, in place."""
    m = G.shape[0]
    for j in range(m):
        for i in range(j + 1, m):
            G[i, j] = G[j, i]


def cox_loss_pair(eta, w_a, w_b, index, efron):
    """The losses ``(L(eta; w_a), L(eta; w_b))`` of :func:`cox_terms` on one
    :class:`~shrinkage.model.cox.CoxIndex`, sharing one ``exp(eta)``.

    The rows of ``w_b > 0`` must be among those of ``w_a > 0`` (a cross-validation fold's
    training rows among all rows): both losses are then scaled by the one shift
    ``m = max eta`` over ``w_a``'s rows. Should that shift underflow every risk of
    ``w_b``, its loss is recomputed with its own.
    """
    args = (index.lo, index.hi, index.evk, index.sentinel, efron)
    n = eta.shape[0]
    terms, _ = new_terms(index.sentinel.size)
    m = risk_shift(eta, w_a)
    e = np.subtract(eta, m)
    np.minimum(e, 0.0, out=e)
    np.exp(e, out=e)
    pairs = np.empty((2, n))
    out = []
    for w in (w_a, w_b):
        loss, mag, nlog = slot_sums(eta, w, *args[:4], efron, terms, e * w, pairs, False)
        if np.isfinite(loss):
            loss += float(np.dot(pairs[0, :nlog], np.log(pairs[1, :nlog]) + m))
        else:  # every risk of w underflowed at the shared shift
            loss = cox_loss(eta, w, *args, terms)[0]
        out.append(loss)
    return out[0], out[1]


def new_terms(n_slots):
    """Scratch for :func:`cox_terms`: ``(terms, prefix)`` of shapes (8, T) and (2, T)."""
    return np.zeros((8, n_slots)), np.zeros((2, n_slots))
