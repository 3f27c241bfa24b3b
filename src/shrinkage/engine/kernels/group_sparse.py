"""One sweep of exact group updates for a vector response on a sparse (CSC) design, the
group elastic net without L1 inside the groups (numba, plain arrays).

The same arithmetic as :func:`shrinkage.engine.kernels.groups.bcd_sweep` with
:func:`~shrinkage.engine.kernels.group_blocks.exact_group_update` (the residual sweep on
``1/2 sum_i v_i r_i^2 + sum_g l1g_g ||beta_g|| + l2g_g / 2 ||beta_g||^2``, ``r`` stored
lazily as ``R - sh``), operation for operation, written for K = 1: the residual's shift
``sh`` and weighted sum ``svR`` are carried in registers through the sweep and every
group block is read straight from the flat caches, so that a sweep costs its two streams
of each column's stored entries (the gradient's gather and the residual's scatter) and
little besides. Sparse designs sweep many small columns, where the general kernel's
per-column and per-group bookkeeping is a third of the sweep.
"""

import numpy as np
from numba import njit

from .group_blocks import group_root


@njit(cache=True, nogil=True, fastmath=False)
def no_inner_l1(l1in, ws):
    """Whether no group of ``ws`` has L1 inside (the sparse-group lasso's block needs
    the general update)."""
    for t in range(ws.shape[0]):
        if l1in[ws[t]] != 0.0:
            return False
    return True


@njit(cache=True, nogil=True, fastmath=False)
def sparse_vector_sweep(xd, xi, xp, xdv, vc, vsum, xm, inv_s, xv, gptr, gidx, eoff, H, Q, D,
                        ws, l1g, l2g, beta, R, sh, svR, b0, fit_intercept, c, bg, ct, ss, e,
                        out):
    """One sweep over ``ws`` and the intercept (see the module docstring); returns the
    largest move ``(d_max + l2) ||delta_g||^2``. ``c, bg, ct, ss, e, out`` are scratch of
    the largest group's size; ``xdv`` and ``vc`` as in ``bcd_sweep``."""
    r = R[:, 0]
    s0 = sh[0]
    sv = svR[0]
    worst = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        a = gptr[g]
        m = gptr[g + 1] - a
        e0 = eoff[g]
        for s in range(m):
            j = gidx[a + s]
            acc = 0.0
            for q in range(xp[j], xp[j + 1]):
                acc += xdv[q] * r[xi[q]]
            c[s] = inv_s[j] * (vc * acc - s0 * xv[j] - xm[j] * (sv - s0 * vsum))
            bg[s] = beta[j, 0]
        cn = 0.0  # the block's linear term at zero, c + H bg, and its norm
        dmax = 0.0
        for s in range(m):
            acc = 0.0
            for u in range(m):
                acc += H[e0 + s * m + u] * bg[u]
            c[s] += acc
            cn += c[s] * c[s]
            dmax = max(dmax, D[a + s])
        l1 = l1g[g]
        l2 = l2g[g]
        if np.sqrt(cn) <= l1:
            for s in range(m):
                out[s] = 0.0
        else:
            block_solution(Q, D, a, e0, m, c, l1, l2, np.sqrt(cn), ct, ss, e, out)
        moved = 0.0
        for s in range(m):
            d = out[s] - bg[s]
            if d != 0.0:
                j = gidx[a + s]
                moved += d * d
                beta[j, 0] = out[s]
                f = d * inv_s[j]
                for q in range(xp[j], xp[j + 1]):
                    r[xi[q]] -= xd[q] * f
                s0 -= xm[j] * f
                sv -= f * xv[j]
        worst = max(worst, (dmax + l2) * moved)
    if fit_intercept:
        d0 = (sv - s0 * vsum) / vsum
        b0[0] += d0
        s0 += d0
        worst = max(worst, vsum * d0 * d0)
    sh[0] = s0
    svR[0] = sv
    return worst


@njit(cache=True, nogil=True, fastmath=False)
def block_solution(Q, D, a, e0, m, c, l1, l2, cn, ct, ss, e, out):
    """``out = Q diag(t / (t (d + l2) + l1)) Q^T c`` with ``t`` the root of the block's
    secular equation (``||c|| > l1``; ``l1 = 0``: the ridge block ``Q diag(1 / (d + l2))
    Q^T c``), ``Q`` and ``d`` the group's cached eigenvectors and eigenvalues."""
    for s in range(m):
        acc = 0.0
        for u in range(m):
            acc += Q[e0 + u * m + s] * c[u]
        ct[s] = acc
        ss[s] = acc * acc
        e[s] = D[a + s] + l2
    t = group_root(ss[:m], e[:m], l1, cn)
    for s in range(m):
        if t < 0.0:
            f = 1.0 / e[s] if e[s] > 0.0 else 0.0
        else:
            f = t / (t * e[s] + l1)
        ct[s] *= f
    for s in range(m):
        acc = 0.0
        for u in range(m):
            acc += Q[e0 + s * m + u] * ct[u]
        out[s] = acc
