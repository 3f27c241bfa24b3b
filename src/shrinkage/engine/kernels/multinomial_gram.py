"""Coordinate descent on a multinomial quadratic model held as Gram blocks (no rows).

The model is the second-order expansion of the multinomial loss at a point, in the
coefficients ``T`` (``q x K``: row 0 the class intercepts when fitted, then one row per
feature), written with the model's negative gradient ``g`` at ``T0`` and its Hessian
blocks ``H[k, c] = sum_i w_i P_ik (delta_kc - P_ic) z_i z_i^T`` (``q x q``, ``z_i`` the
row's design with a leading 1)::

    m(T) = -sum_jk g_jk (T - T0)_jk + 1/2 sum_{jk, lc} (T - T0)_jk H[k, c]_jl (T - T0)_lc
           + sum_j (l1_j pen(T_j) + l2_j / 2 ||T_j||^2)

with ``pen`` the group norm ``||T_j||_2`` (grouped) or ``sum_k |T_jk|``, and box
constraints ``lo_j <= T_jk <= hi_j`` (ungrouped). The kernel keeps the model's negative
gradient ``r = g - H (T - T0)``. Ungrouped rows (and the intercepts, and rows without an
L1 part) are updated coordinate by coordinate, exactly: ``T_jk = clip(S(r_jk + a T_jk,
l1_j) / (a + l2_j), lo_j, hi_j)`` with ``a = H[k, k]_jj``. A grouped row is minimised by
majorisation-minimisation on its ``K x K`` block ``A = H[., .]_jj``: since
``diag(p) - p p^T <= 2 diag(p (1 - p))``, ``A <= diag(c)`` with ``c_k = 2 A_kk``, and
each inner step solves the majorised group problem exactly (the group soft-threshold
with a Newton root for ``s = ||T_j||``). Every update lowers ``m``.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=False)
def _norm_root(u, c, l1):
    """``s > 0`` with ``sum_k u_k^2 / (c_k s + l1)^2 = 1`` (requires ``||u|| > l1 > 0``);
    the left side decreases in ``s``, so Newton from ``s = 0`` converges monotonically."""
    s = 0.0
    for _ in range(200):
        f = -1.0
        df = 0.0
        for k in range(u.shape[0]):
            den = c[k] * s + l1
            f += u[k] * u[k] / (den * den)
            df -= 2.0 * u[k] * u[k] * c[k] / (den * den * den)
        if df >= 0.0:
            break
        step = f / df
        s -= step
        if abs(step) <= 1e-15 * s:
            break
    return max(s, 0.0)


@njit(cache=True, nogil=True, fastmath=False)
def _move(H, r, T, j, new, active):
    """Set row ``j`` of ``T`` to ``new``, updating ``r``; returns ``sum_k A_kk d_k^2``."""
    K = T.shape[1]
    q = T.shape[0]
    chg = 0.0
    for k in range(K):
        d = new[k] - T[j, k]
        if d == 0.0:
            continue
        T[j, k] = new[k]
        chg += H[k, k, j, j] * d * d
        for c in range(K):
            Hkc = H[k, c]
            for m in range(q):
                if active[m]:
                    r[m, c] -= Hkc[m, j] * d
    return chg


@njit(cache=True, nogil=True, fastmath=False)
def _coordinate_row(H, r, T, j, l1, l2, lo, hi, active):
    """Exact coordinate updates of row ``j``, class by class."""
    K = T.shape[1]
    chg = 0.0
    one = np.zeros(K)
    for k in range(K):
        a = H[k, k, j, j]
        den = a + l2
        if not den > 0.0:
            continue
        z = r[j, k] + a * T[j, k]
        v = 0.0
        if z > l1:
            v = (z - l1) / den
        elif z < -l1:
            v = (z + l1) / den
        v = min(max(v, lo), hi)
        for c in range(K):
            one[c] = T[j, c]
        one[k] = v
        chg += _move(H, r, T, j, one, active)
    return chg


@njit(cache=True, nogil=True, fastmath=False)
def _group_row(H, r, T, j, l1, l2, active, inner, centre):
    """Majorisation-minimisation on the group of row ``j`` (``inner`` steps at most).

    The model is flat along ``(1, ..., 1)`` (``A 1 = 0``: the loss ignores a shift of
    every class's coefficient) and its linear term ``z`` sums to zero across the
    classes, so the penalty alone decides that direction and is smallest at a row of
    mean zero: with ``centre``, each step is followed by that exact minimisation, which
    the majoriser (``2 diag(A)``, far above ``A``'s zero curvature there) would only
    approach slowly."""
    K = T.shape[1]
    c = np.empty(K)
    u = np.empty(K)
    v = T[j].copy()
    z = np.empty(K)
    for k in range(K):  # z = r_j + A T_j: the block's linear term, fixed while inside
        acc = r[j, k]
        for m in range(K):
            acc += H[k, m, j, j] * T[j, m]
        z[k] = acc
        c[k] = 2.0 * H[k, k, j, j] + l2
    for _ in range(inner):
        nu = 0.0
        for k in range(K):
            grad = l2 * v[k] - z[k]
            for m in range(K):
                grad += H[k, m, j, j] * v[m]
            u[k] = c[k] * v[k] - grad
            nu += u[k] * u[k]
        new = np.zeros(K)
        if np.sqrt(nu) > l1:
            s = _norm_root(u, c, l1)
            for k in range(K):
                den = c[k] * s + l1
                new[k] = u[k] * s / den if den > 0.0 else 0.0
            if centre:  # the exact minimum along (1, ..., 1), where A is flat
                new -= new.mean()
        moved = 0.0
        for k in range(K):
            moved = max(moved, abs(new[k] - v[k]))
            v[k] = new[k]
        if moved <= 1e-15 * (np.sqrt(nu) / max(c.max(), 1e-300) + 1e-300):
            break
    return _move(H, r, T, j, v, active)


@njit(cache=True, nogil=True, fastmath=False)
def cd_multinomial_gram(H, g, T, l1, l2, lo, hi, active, grouped, thr, max_sweeps,
                        centre):
    """Minimise the model of the module docstring from ``T`` (updated in place).

    Parameters
    ----------
    H : ndarray (K, K, q, q)
        Hessian blocks, ``H[k, c] = H[c, k]^T``.
    g : ndarray (q, K)
        Negative model gradient at the starting ``T``.
    T : ndarray (q, K)
        Start, overwritten by the solution.
    l1, l2, lo, hi : ndarray (q,)
        Penalty per row (zero for the intercept row) and box bounds.
    active : ndarray of bool (q,)
        Rows that may move (others stay at their value).
    grouped : bool
    thr : float
        A sweep whose largest row change ``sum_k A_kk d_k^2`` is at most ``thr`` ends it.
    max_sweeps : int
    centre : bool
        The model is the multinomial one (flat along a shift of a row across the
        classes, see ``_group_row``): centre the grouped rows.

    Returns
    -------
    int
        Sweeps done.
    """
    r = g.copy()
    q = T.shape[0]
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        big = 0.0
        for j in range(q):
            if not active[j]:
                continue
            if grouped and l1[j] > 0.0:
                chg = _group_row(H, r, T, j, l1[j], l2[j], active, 10, centre)
            else:
                chg = _coordinate_row(H, r, T, j, l1[j], l2[j], lo[j], hi[j], active)
            big = max(big, chg)
        if big <= thr:
            break
    return sweeps


@njit(cache=True, nogil=True, fastmath=False)
def multinomial_rows(E0, dE, codes, w, P1, Q, res):
    """The per-row multinomial sums of a step ``E0 -> E0 + dE`` (``n x K`` predictors).

    Fills ``P1`` (the probabilities at ``E0 + dE``), ``Q = w (Y - P1)`` (``Y`` the
    one-hot rows of ``codes``) and ``res_k = max |Y_ik - P1_ik|`` over rows with
    ``w_i > 0`` (updated in place). Returns ``(dloss, dmag, loss)``: ``sum_i w_i
    (L_i(E0 + dE) - L_i(E0))`` with ``L_i(E) = logsumexp(E_i) - E_i,y_i``, the log-sum
    change taken as ``log1p(sum_k P0_k expm1(dE_k))`` when every ``|dE_k| < 1`` (no
    cancellation of two large logs), its rounding scale ``sum_i w_i (|log change| +
    |dE_i,y_i|)``, and ``sum_i w_i L_i(E0 + dE)``.
    """
    n, K = E0.shape
    dloss = 0.0
    dmag = 0.0
    loss = 0.0
    p0 = np.empty(K)
    for i in range(n):
        top0 = E0[i, 0]
        top1 = E0[i, 0] + dE[i, 0]
        big = 0.0
        for k in range(1, K):
            top0 = max(top0, E0[i, k])
            top1 = max(top1, E0[i, k] + dE[i, k])
        for k in range(K):
            big = max(big, abs(dE[i, k]))
        s0 = 0.0
        s1 = 0.0
        for k in range(K):
            p0[k] = np.exp(E0[i, k] - top0)
            s0 += p0[k]
            P1[i, k] = np.exp(E0[i, k] + dE[i, k] - top1)
            s1 += P1[i, k]
        lse1 = top1 + np.log(s1)
        if big < 1.0:
            acc = 0.0
            for k in range(K):
                acc += p0[k] / s0 * np.expm1(dE[i, k])
            change = np.log1p(acc)
        else:
            change = lse1 - (top0 + np.log(s0))
        c = codes[i]
        wi = w[i]
        dloss += wi * (change - dE[i, c])
        dmag += wi * (abs(change) + abs(dE[i, c]))
        loss += wi * (lse1 - E0[i, c] - dE[i, c])
        for k in range(K):
            P1[i, k] /= s1
            r = (1.0 if k == c else 0.0) - P1[i, k]
            Q[i, k] = wi * r
            if wi > 0.0:
                res[k] = max(res[k], abs(r))
    return dloss, dmag, loss
