"""Block coordinate descent for penalties on groups of coefficients (numba, plain arrays).

The model is a weighted quadratic in the standardized coefficients ``beta`` (shape
(p, K): K responses, 1 for a vector response)::

    q(b0, beta) = 1/2 sum_i v_i ||R_i - b0 - sum_j z_ij beta_j||^2
                  + sum_g l1g_g ||beta_g|| + l1in_g ||beta_g||_1 + l2g_g / 2 ||beta_g||^2

with ``z_ij = (x_ij - xm_j) * inv_s_j`` (centring and scaling implicit: X is never
copied), groups given by ``gidx[gptr[g]:gptr[g + 1]]`` and norms over the group's whole
(m, K) block. ``R`` is stored lazily: the true residual is ``R - sh`` (a per-response
shift), so that a group update touches only the stored entries of its columns.

**The group update is exact.** With ``H = Z_g^T V Z_g = Q diag(d) Q^T`` (cached per group)
and ``c = Z_g^T V r + H beta_g`` the block minimises ``1/2 b^T H b - c^T b + pen(b)``.
Without L1 inside the group (``l1in = 0``) the minimiser is zero when ``||c|| <= l1g``,
else ``b = Q diag(t / (t (d + l2) + l1g)) Q^T c`` where ``t = ||b||`` is the root of the
decreasing convex ``phi(t) = sum_j ||(Q^T c)_j||^2 / (t (d_j + l2) + l1g)^2 - 1``, found
by Newton's method from the lower bound ``(||c|| - l1g) / (d_max + l2)`` (monotone,
quadratic convergence, to rounding). With L1 inside (sparse-group lasso) the support and
signs are found by accelerated proximal gradient on the block, and the block is then
solved exactly on that support by the same root finding (``c_S - l1in sign(b_S)``,
``H_SS``); the result is accepted when the block's own optimality conditions hold.
"""

import numpy as np
from numba import njit

_EPS = 2.220446049250313e-16


@njit(cache=True, nogil=True)
def block_hessians(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, gptr, gidx, eoff, todo,
                   H, Q, D, xv, scratch):
    """Cache ``H_g = Z_g^T V Z_g``, its eigenvectors ``Q_g`` and eigenvalues ``D_g`` and
    ``xv_j = sum_i v_i x_ij`` for the groups in ``todo``. ``scratch`` has length n (zeros
    on entry and on exit)."""
    for t in range(todo.shape[0]):
        g = todo[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        for s in range(m):
            j = gidx[a + s]
            acc = 0.0
            if sparse:
                for k in range(xp[j], xp[j + 1]):
                    acc += v[xi[k]] * xd[k]
            else:
                for i in range(X.shape[0]):
                    acc += v[i] * X[i, j]
            xv[j] = acc
        for s in range(m):
            j = gidx[a + s]
            if sparse:
                for k in range(xp[j], xp[j + 1]):
                    scratch[xi[k]] = v[xi[k]] * xd[k]
            for u in range(s + 1):
                jj = gidx[a + u]
                if sparse:
                    raw = 0.0
                    for k in range(xp[jj], xp[jj + 1]):
                        raw += scratch[xi[k]] * xd[k]
                    # sum v (x_j - m_j)(x_l - m_l) from the raw sums
                    h = raw - xm[j] * xv[jj] - xm[jj] * xv[j] + xm[j] * xm[jj] * vsum
                else:
                    h = 0.0
                    mj = xm[j]
                    ml = xm[jj]
                    for i in range(X.shape[0]):
                        h += v[i] * (X[i, j] - mj) * (X[i, jj] - ml)
                h *= inv_s[j] * inv_s[jj]
                H[e0 + s * m + u] = h
                H[e0 + u * m + s] = h
            if sparse:
                for k in range(xp[j], xp[j + 1]):
                    scratch[xi[k]] = 0.0
        Hm = np.empty((m, m))
        for s in range(m):
            for u in range(m):
                Hm[s, u] = H[e0 + s * m + u]
        d, V = np.linalg.eigh(Hm)
        for s in range(m):
            D[a + s] = max(d[s], 0.0)
            for u in range(m):
                Q[e0 + s * m + u] = V[s, u]


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
        out[:, :] = 0.0
        return
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def solve_block_sgl(Hg, c, l1in, l1g, l2, b, dmax, tol_abs):
    """Sparse-group block: support by accelerated proximal gradient, then exact on it.

    ``b`` holds the warm start and receives the minimiser. Returns the block's final
    violation (``<= tol_abs`` unless the iteration budget ran out).
    """
    m, K = c.shape
    u = np.empty((m, K))
    for s in range(m):
        for k in range(K):
            a = abs(c[s, k]) - l1in
            u[s, k] = a if a > 0.0 else 0.0
    if np.sqrt(np.sum(u * u)) <= l1g:
        b[:, :] = 0.0
        return 0.0
    if dmax <= 0.0:  # constant columns: c = 0 up to rounding
        if l2 > 0.0:
            sgl_prox(c / l2, l1in / l2, l1g / l2, 0.0, b)
        else:
            b[:, :] = 0.0
        return 0.0
    L = dmax
    y = b.copy()
    prev = b.copy()
    nb = np.empty((m, K))
    mom = 1.0
    viol = block_violation(Hg, c, b, l1in, l1g, l2)
    for it in range(1, 20001):
        if viol <= tol_abs:
            break
        grad = Hg @ y - c
        sgl_prox((y - grad / L), l1in / L, l1g / L, l2 / L, nb)
        mom_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * mom * mom))
        restart = np.sum((y - nb) * (nb - prev)) > 0.0
        if restart:
            mom_new = 1.0
            y[:, :] = nb
        else:
            y[:, :] = nb + ((mom - 1.0) / mom_new) * (nb - prev)
        mom = mom_new
        prev[:, :] = nb
        b[:, :] = nb
        if it % 10 == 0:
            polish_support(Hg, c, l1in, l1g, l2, b)
            viol = block_violation(Hg, c, b, l1in, l1g, l2)
            if viol <= tol_abs:
                break
            b[:, :] = nb
            viol = block_violation(Hg, c, b, l1in, l1g, l2)
    return viol


@njit(cache=True, nogil=True)
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
    for a in range(n_s):
        d[a] = max(d[a], 0.0)
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


@njit(cache=True, nogil=True)
def block_gradient(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, R, sh, svR, j, out):
    """``out_k = sum_i v_i z_ij (R_ik - sh_k)`` for column ``j`` (the lazy residual)."""
    K = R.shape[1]
    for k in range(K):
        out[k] = 0.0
    if sparse:
        for q in range(xp[j], xp[j + 1]):
            i = xi[q]
            a = v[i] * xd[q]
            for k in range(K):
                out[k] += a * R[i, k]
    else:
        for i in range(X.shape[0]):
            a = v[i] * X[i, j]
            for k in range(K):
                out[k] += a * R[i, k]
    for k in range(K):
        out[k] = inv_s[j] * (out[k] - sh[k] * xv[j] - xm[j] * (svR[k] - sh[k] * vsum))


@njit(cache=True, nogil=True)
def block_move(X, xd, xi, xp, sparse, xm, inv_s, xv, R, sh, svR, j, delta):
    """The residual after ``beta_j += delta`` (shape (K,)): ``R -= z_j delta``, lazily."""
    K = R.shape[1]
    a = delta * inv_s[j]
    if sparse:
        for q in range(xp[j], xp[j + 1]):
            i = xi[q]
            for k in range(K):
                R[i, k] -= xd[q] * a[k]
    else:
        for i in range(X.shape[0]):
            x = X[i, j]
            for k in range(K):
                R[i, k] -= x * a[k]
    for k in range(K):
        sh[k] -= xm[j] * a[k]
        svR[k] -= a[k] * xv[j]


@njit(cache=True, nogil=True)
def group_bcd(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff, H, Q, D,
              ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, thr, max_sweeps,
              sgl_tol):
    """Sweeps of exact block updates over the groups ``ws`` until no block moves the model
    by more than ``thr`` (``d_max ||delta_g||^2``, the objective's scale) or
    ``max_sweeps``; the intercept ``b0`` (shape (K,)) is updated after each sweep.
    Returns the number of sweeps."""
    K = R.shape[1]
    mmax = 1
    for t in range(ws.shape[0]):
        g = ws[t]
        mmax = max(mmax, gptr[g + 1] - gptr[g])
    c = np.empty((mmax, K))
    out = np.empty((mmax, K))
    ct = np.empty((mmax, K))
    ss = np.empty(mmax)
    e = np.empty(mmax)
    col = np.empty(K)
    delta = np.empty(K)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        worst = 0.0
        for t in range(ws.shape[0]):
            g = ws[t]
            a = gptr[g]
            m = gptr[g + 1] - a
            e0 = eoff[g]
            Hg = H[e0:e0 + m * m].reshape((m, m))
            cg = c[:m]
            og = out[:m]
            for s in range(m):
                block_gradient(X, xd, xi, xp, sparse, v, vsum, xm, inv_s, xv, R, sh, svR,
                               gidx[a + s], col)
                for k in range(K):
                    cg[s, k] = col[k]
            bg = np.empty((m, K))
            for s in range(m):
                for k in range(K):
                    bg[s, k] = beta[gidx[a + s], k]
            cg += Hg @ bg
            dmax = 0.0
            for s in range(m):
                dmax = max(dmax, D[a + s])
            if l1in[g] > 0.0:
                og[:, :] = bg
                solve_block_sgl(Hg, cg, l1in[g], l1g[g], l2g[g], og, dmax, sgl_tol)
            else:
                solve_block_en(Q[e0:e0 + m * m].reshape((m, m)), D[a:a + m], cg, l1g[g],
                               l2g[g], og, ct, ss, e)
            moved = 0.0
            for s in range(m):
                j = gidx[a + s]
                nz = False
                for k in range(K):
                    delta[k] = og[s, k] - beta[j, k]
                    moved += delta[k] * delta[k]
                    nz = nz or delta[k] != 0.0
                if nz:
                    block_move(X, xd, xi, xp, sparse, xm, inv_s, xv, R, sh, svR, j, delta)
                    for k in range(K):
                        beta[j, k] = og[s, k]
            worst = max(worst, (dmax + l2g[g]) * moved)
        if fit_intercept:
            for k in range(K):
                d0 = (svR[k] - sh[k] * vsum) / vsum
                b0[k] += d0
                sh[k] += d0
                worst = max(worst, vsum * d0 * d0)
        if worst <= thr:
            break
    return sweeps


@njit(cache=True, nogil=True)
def settle_residual(R, sh):
    """Materialise the lazy residual: ``R -= sh``, ``sh = 0``."""
    for i in range(R.shape[0]):
        for k in range(R.shape[1]):
            R[i, k] -= sh[k]
    for k in range(R.shape[1]):
        sh[k] = 0.0
