"""Exact solutions of one group's block problem (numba, plain arrays).

``min_b 1/2 b^T H b - <c, b> + l1g ||b|| + l1in ||b||_1 + l2 / 2 ||b||^2`` for a small
positive semi-definite ``H = Q diag(d) Q^T`` (one group's Hessian) and ``c`` of shape
(m, K); see :mod:`shrinkage.engine.kernels.groups` for the method.
"""

import numpy as np
from numba import njit

from .active_set import clip_spectrum

_EPS = 2.220446049250313e-16


@njit(cache=True, nogil=True, fastmath=False)
def fill2(a, value):
    """``a[:, :] = value`` as a loop (a slice assignment compiles numba's error path)."""
    for s in range(a.shape[0]):
        for k in range(a.shape[1]):
            a[s, k] = value


@njit(cache=True, nogil=True, fastmath=False)
def copy2(dst, src):
    """``dst[:, :] = src`` as a loop (see :func:`fill2`)."""
    for s in range(dst.shape[0]):
        for k in range(dst.shape[1]):
            dst[s, k] = src[s, k]


@njit(cache=True, nogil=True, fastmath=False)
def group_root(ss, e, l1g, cnorm):
    """Root ``t > 0`` of ``sum_j ss_j / (t e_j + l1g)^2 = 1`` (``cnorm^2 = sum ss``,
    ``cnorm > l1g``) by Newton's method from a point left of the root."""
    emax = 0.0
    for j in range(e.shape[0]):
        if e[j] > emax:
            emax = e[j]
    if l1g <= 0.0:
        # no group norm: t = ||b|| with b_j = c_j / e_j, any t solves the scaled problem
        return -1.0
    t = (cnorm - l1g) / emax if emax > 0.0 else 0.0
    for _ in range(200):
        f = 0.0
        fp = 0.0
        for j in range(e.shape[0]):
            den = t * e[j] + l1g
            q = ss[j] / (den * den)
            f += q
            fp -= 2.0 * q * e[j] / den
        f -= 1.0
        if f <= 0.0 or fp >= 0.0:
            break
        step = -f / fp
        t += step
        if step <= 4.0 * _EPS * t:
            break
    return t


@njit(cache=True, nogil=True, fastmath=False)
def solve_block_en(Qg, d, c, l1g, l2, out, ct, ss, e):
    """Exact minimiser of ``1/2 b^T H b - <c, b> + l1g ||b|| + l2 / 2 ||b||^2`` for
    ``H = Qg diag(d) Qg^T``; ``c`` and ``out`` have shape (m, K)."""
    m, K = c.shape
    cn = 0.0
    for s in range(m):
        for k in range(K):
            cn += c[s, k] * c[s, k]
    cn = np.sqrt(cn)
    if cn <= l1g:
        fill2(out, 0.0)
        return
    null = False
    for s in range(m):  # ct = Q^T c
        acc2 = 0.0
        for k in range(K):
            acc = 0.0
            for u in range(m):
                acc += Qg[u, s] * c[u, k]
            ct[s, k] = acc
            acc2 += acc * acc
        ss[s] = acc2
        e[s] = d[s] + l2
        if not e[s] > 0.0:
            # a null direction (clip_spectrum): c's part there is rounding, and
            # following it would be unbounded; it is left alone
            null = True
            ss[s] = 0.0
            for k in range(K):
                ct[s, k] = 0.0
    if null:
        cn = np.sqrt(np.sum(ss[:m]))
        if cn <= l1g:
            fill2(out, 0.0)
            return
    t = group_root(ss[:m], e[:m], l1g, cn)
    for s in range(m):
        if t < 0.0:  # l1g == 0: a ridge block
            f = 1.0 / e[s] if e[s] > 0.0 else 0.0
        else:
            f = t / (t * e[s] + l1g)
        for k in range(K):
            ct[s, k] *= f
    for s in range(m):
        for k in range(K):
            acc = 0.0
            for u in range(m):
                acc += Qg[s, u] * ct[u, k]
            out[s, k] = acc


@njit(cache=True, nogil=True, fastmath=False)
def sgl_prox(u, l1in, l1g, l2, out):
    """``argmin_b 1/2 ||b - u||^2 + l1in ||b||_1 + l1g ||b|| + l2 / 2 ||b||^2``."""
    m, K = u.shape
    nn = 0.0
    for s in range(m):
        for k in range(K):
            a = abs(u[s, k]) - l1in
            out[s, k] = np.sign(u[s, k]) * a if a > 0.0 else 0.0
            nn += out[s, k] * out[s, k]
    nn = np.sqrt(nn)
    f = max(0.0, 1.0 - l1g / nn) / (1.0 + l2) if nn > 0.0 else 0.0
    for s in range(m):
        for k in range(K):
            out[s, k] *= f


@njit(cache=True, nogil=True, fastmath=False)
def block_violation(Hg, c, b, l1in, l1g, l2):
    """Largest distance of ``c - H b - l2 b`` from the block's subdifferential (per entry
    for the L1 part, whole block for the group norm)."""
    m, K = c.shape
    z = c - Hg @ b - l2 * b
    bn = np.sqrt(np.sum(b * b))
    if bn == 0.0:
        s2 = 0.0
        for s in range(m):
            for k in range(K):
                a = abs(z[s, k]) - l1in
                if a > 0.0:
                    s2 += a * a
        return max(0.0, np.sqrt(s2) - l1g)
    s2 = 0.0
    for s in range(m):
        for k in range(K):
            r = z[s, k] - l1g * b[s, k] / bn
            if b[s, k] != 0.0:
                r -= l1in * np.sign(b[s, k])
            else:
                r = max(0.0, abs(r) - l1in)
            s2 += r * r
    return np.sqrt(s2)


@njit(cache=True, nogil=True, fastmath=False)
def violation_rounding(Hg, c, b, l1in, l1g, l2):
    """The rounding level of :func:`block_violation`: ``16 eps`` times the size of the
    terms it sums (``|c|``, ``|H| |b|``, ``l2 |b|`` and the penalties), entry by entry.

    A violation below it cannot be told from zero: a tolerance under it would run the
    block's iteration to its cap at every call (a column 1e6 from zero without an
    intercept: entries of ``c`` near 7,000, whose last bit is 9e-13, against a tolerance
    of 2e-14 -- 20,000 iterations per block, per sweep, per strength).
    """
    m, K = c.shape
    s2 = 0.0
    for s in range(m):
        for k in range(K):
            t = abs(c[s, k]) + l2 * abs(b[s, k]) + l1in + l1g
            for u in range(m):
                t += abs(Hg[s, u] * b[u, k])
            s2 += t * t
    return 16.0 * _EPS * np.sqrt(s2)


@njit(cache=True, nogil=True, inline="always")
def _violation_and_enough(Hg, c, b, l1in, l1g, l2, tol_abs):
    """``(violation, enough)`` at ``b``: the block's violation and the level it must reach,
    ``tol_abs`` or the violation's own rounding, whichever is larger."""
    return (block_violation(Hg, c, b, l1in, l1g, l2),
            max(tol_abs, violation_rounding(Hg, c, b, l1in, l1g, l2)))


@njit(cache=True, nogil=True, fastmath=False)
def solve_block_sgl(Hg, c, l1in, l1g, l2, b, dmax, tol_abs):
    """Sparse-group block: support by accelerated proximal gradient, then exact on it.

    ``b`` holds the warm start and receives the minimiser. The iteration stops once the
    block's violation is within ``tol_abs`` or within its own rounding
    (:func:`violation_rounding`), or after 20,000 steps. Returns the block's final
    violation and the steps taken.
    """
    m, K = c.shape
    u = np.empty((m, K))
    for s in range(m):
        for k in range(K):
            a = abs(c[s, k]) - l1in
            u[s, k] = a if a > 0.0 else 0.0
    if np.sqrt(np.sum(u * u)) <= l1g:
        fill2(b, 0.0)
        return 0.0, 0
    if dmax <= 0.0:  # constant columns: c = 0 up to rounding
        if l2 > 0.0:
            sgl_prox(c / l2, l1in / l2, l1g / l2, 0.0, b)
        else:
            fill2(b, 0.0)
        return 0.0, 0
    L = dmax
    y = b.copy()
    prev = b.copy()
    nb = np.empty((m, K))
    mom = 1.0
    viol, enough = _violation_and_enough(Hg, c, b, l1in, l1g, l2, tol_abs)
    steps = 0
    for it in range(1, 20001):
        if viol <= enough:
            break
        steps = it
        grad = Hg @ y - c
        sgl_prox((y - grad / L), l1in / L, l1g / L, l2 / L, nb)
        mom_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * mom * mom))
        restart = np.sum((y - nb) * (nb - prev)) > 0.0
        if restart:
            mom_new = 1.0
            copy2(y, nb)
        else:
            f = (mom - 1.0) / mom_new
            for s in range(m):
                for k in range(K):
                    y[s, k] = nb[s, k] + f * (nb[s, k] - prev[s, k])
        mom = mom_new
        copy2(prev, nb)
        copy2(b, nb)
        if it % 10 == 0:
            polish_support(Hg, c, l1in, l1g, l2, b)
            viol, enough = _violation_and_enough(Hg, c, b, l1in, l1g, l2, tol_abs)
            if viol <= enough:
                break
            copy2(b, nb)
            viol, enough = _violation_and_enough(Hg, c, b, l1in, l1g, l2, tol_abs)
    return viol, steps


@njit(cache=True, nogil=True, fastmath=False)
def polish_support(Hg, c, l1in, l1g, l2, b):
    """Solve the block exactly on the support and signs of ``b`` (in place)."""
    m, K = c.shape
    idx = np.empty(m * K, dtype=np.int64)
    n_s = 0
    for s in range(m):
        for k in range(K):
            if b[s, k] != 0.0:
                idx[n_s] = s * K + k
                n_s += 1
    if n_s == 0:
        return
    Hs = np.empty((n_s, n_s))
    cs = np.empty((n_s, 1))
    for a in range(n_s):
        sa, ka = idx[a] // K, idx[a] % K
        cs[a, 0] = c[sa, ka] - l1in * np.sign(b[sa, ka])
        for q in range(n_s):
            sq, kq = idx[q] // K, idx[q] % K
            Hs[a, q] = Hg[sa, sq] if ka == kq else 0.0
    d, V = np.linalg.eigh(Hs)
    clip_spectrum(d, V, Hs, 0.0)
    out = np.empty((n_s, 1))
    ct = np.empty((n_s, 1))
    ss = np.empty(n_s)
    e = np.empty(n_s)
    solve_block_en(V, d, cs, l1g, l2, out, ct, ss, e)
    for a in range(n_s):
        sa, ka = idx[a] // K, idx[a] % K
        if out[a, 0] * b[sa, ka] <= 0.0:
            return  # a sign flip or a zero: keep b (the caller checks)
    for a in range(n_s):
        b[idx[a] // K, idx[a] % K] = out[a, 0]


@njit(cache=True, nogil=True, fastmath=False)
def exact_group_update(Hg, Qg, D, a, gidx, beta, cg, bg, og, l1in, l1g, l2, sgl_tol, ct, ss,
                       e):
    """The group's exact minimiser in ``og`` given its gradient at zero move in ``cg``.

    Gathers the current coefficients ``bg = beta[gidx[a:a+m]]``, turns ``cg`` (the data
    term's gradient at the current point, ``(m, K)``) into the linear term of the block's
    quadratic at zero, ``cg + Hg bg``, and solves the block: sparse-group when ``l1in > 0``
    (started from ``bg``), else the group elastic net through ``Qg`` and the eigenvalues
    ``D[a:a+m]``. Returns ``d_max``, the block's largest eigenvalue (the move's scale).
    Shared by the residual and the Gram sweeps, which differ only in how they get the
    gradient and apply the move.
    """
    m, K = cg.shape
    for s in range(m):
        for k in range(K):
            bg[s, k] = beta[gidx[a + s], k]
    for s in range(m):  # cg += Hg @ bg
        for k in range(K):
            acc = 0.0
            for u in range(m):
                acc += Hg[s, u] * bg[u, k]
            cg[s, k] += acc
    dmax = 0.0
    for s in range(m):
        dmax = max(dmax, D[a + s])
    if l1in > 0.0:
        copy2(og, bg)
        solve_block_sgl(Hg, cg, l1in, l1g, l2, og, dmax, sgl_tol)
    else:
        solve_block_en(Qg, D[a:a + m], cg, l1g, l2, og, ct, ss, e)
    return dmax


@njit(cache=True, nogil=True, fastmath=False)
def largest_group(gptr, ws):
    """The most features any group of ``ws`` holds (at least 1: buffer sizes)."""
    mmax = 1
    for t in range(ws.shape[0]):
        mmax = max(mmax, gptr[ws[t] + 1] - gptr[ws[t]])
    return mmax


@njit(cache=True, nogil=True, fastmath=False)
def nonzero_groups(beta, gptr, gidx, ws, act):
    """Write the groups of ``ws`` with a non-zero coefficient into ``act``; how many."""
    K = beta.shape[1]
    m = 0
    for t in range(ws.shape[0]):
        g = ws[t]
        nz = False
        for q in range(gptr[g], gptr[g + 1]):
            for k in range(K):
                nz = nz or beta[gidx[q], k] != 0.0
        if nz:
            act[m] = g
            m += 1
    return m


@njit(cache=True, nogil=True, fastmath=False)
def group_features(gptr, gidx, ws):
    """The features of the groups ``ws``, group by group."""
    F = 0
    for t in range(ws.shape[0]):
        F += gptr[ws[t] + 1] - gptr[ws[t]]
    feats = np.empty(F, dtype=np.int64)
    F = 0
    for t in range(ws.shape[0]):
        for q in range(gptr[ws[t]], gptr[ws[t] + 1]):
            feats[F] = gidx[q]
            F += 1
    return feats


@njit(cache=True, nogil=True, fastmath=False)
def take_block_row(out, s, beta, j, delta):
    """Move feature ``j`` to its block solution ``out[s]`` (one entry per response).

    Writes ``delta = out[s] - beta[j]`` (for the caller's residual or gradient update)
    and ``beta[j] = out[s]``; returns ``(sum delta^2, whether any entry moved)``.
    """
    moved = 0.0
    nz = False
    for k in range(beta.shape[1]):
        delta[k] = out[s, k] - beta[j, k]
        moved += delta[k] * delta[k]
        nz = nz or delta[k] != 0.0
        beta[j, k] = out[s, k]
    return moved, nz


@njit(cache=True, nogil=True, fastmath=False)
def refit_intercepts(svR, sh, vsum, b0, worst):
    """The exact intercept step of every response, ``d0 = (sum v r - sh vsum) / vsum``,
    applied to ``b0`` and the residual shift ``sh``; returns ``max(worst, vsum d0^2)``."""
    for k in range(b0.shape[0]):
        d0 = (svR[k] - sh[k] * vsum) / vsum
        b0[k] += d0
        sh[k] += d0
        worst = max(worst, vsum * d0 * d0)
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def sparse_wdot(xdv, xi, q0, q1, R, k):
    """``sum_q xdv_q R_ik`` over the stored entries ``q0:q1`` of a column whose values
    ``xdv = v_i x_ij`` carry the weights (one gather per entry, not two)."""
    acc = 0.0
    for q in range(q0, q1):
        acc += xdv[q] * R[xi[q], k]
    return acc


@njit(cache=True, nogil=True, fastmath=False)
def weighted_values(xd, xi, v):
    """``xdv_q = v_i xd_q`` for the stored entries of a CSC design (``i = xi_q``)."""
    out = np.empty(xd.shape[0])
    for q in range(xd.shape[0]):
        out[q] = v[xi[q]] * xd[q]
    return out
