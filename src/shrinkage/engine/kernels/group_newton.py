"""Newton steps of the group elastic net on its non-zero groups (numba, plain arrays).

With the intercept at its optimum (``P`` the ``V``-weighted centring, identity without
an intercept) and the groups ``A`` held non-zero, the model of
:mod:`shrinkage.engine.kernels.groups` restricted to the features ``F`` of ``A`` is
smooth::

    f(b) = 1/2 ||P (y - Z_F b)||_V^2 + sum_{g in A} l1g_g ||b_g|| + l2g_g / 2 ||b_g||^2

with gradient ``-Z_F^T V P r + l1g_g u_g + l2g_g b_g`` (``r`` the centred residual,
``u_g = b_g / ||b_g||``) and Hessian ``Z_F^T V P Z_F + diag_g(l1g_g / ||b_g|| (I - u_g
u_g^T) + l2g_g I)`` (the group norm curves only across its radius). Late in a path,
where block coordinate descent needs hundreds of sweeps on an ill-conditioned ``Z_F``
(more active features than samples), a Newton step converges in a few.
:func:`newton_steps` solves the Newton system by conjugate gradients (one product with
``Z_F`` and one with ``Z_F^T`` per iteration, the cost of one block sweep over ``A``),
preconditioned by the groups' diagonal blocks (the cached ``Z_g^T V Z_g`` plus the
penalty's curvature), and keeps a step only where it lowers ``f`` by Armijo's share of
its slope and no group reaches zero. The block sweeps decide which groups are zero and
end every solve; a Newton step only moves the point they start from.
"""

import numpy as np
from numba import njit

from .active_set import cholesky_factor
from .flags import FASTMATH
from .group_blocks import group_features, nonzero_groups
from .groups import column_dot, group_bcd, settle_residual

_ARMIJO = 1e-4  # the share of the slope a kept step must gain
_MAX_HALVINGS = 20


@njit(cache=True, nogil=True, fastmath=False)
def apply_z(X, xd, xi, xp, xm, inv_s, feats, d, v, vsum, centre, out):
    """``out = P Z_F d`` (``P`` the ``v``-weighted centring when ``centre``); returns the
    removed weighted mean ``(v . Z_F d) / vsum`` (0 without centring)."""
    n = out.shape[0]
    for i in range(n):
        out[i] = 0.0
    shift = 0.0
    for f in range(feats.shape[0]):
        j = feats[f]
        a = d[f] * inv_s[j]
        shift += a * xm[j]
        if xd is not None:
            for q in range(xp[j], xp[j + 1]):
                out[xi[q]] += a * xd[q]
        if X is not None:
            dense_axpy_col(X, j, a, out)
    mean = 0.0
    for i in range(n):
        out[i] -= shift
    if centre:
        acc = 0.0
        for i in range(n):
            acc += v[i] * out[i]
        mean = acc / vsum
        for i in range(n):
            out[i] -= mean
    return mean


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def dense_axpy_col(X, j, a, out):
    """``out += a x_j`` (vectorised: see ``flags``)."""
    for i in range(X.shape[0]):
        out[i] += a * X[i, j]


@njit(cache=True, nogil=True, fastmath=False)
def apply_zt(X, xd, xi, xp, xm, inv_s, feats, w, out):
    """``out_f = z_j^T w`` for the features ``j = feats[f]`` (``z_j`` centred by ``xm``)."""
    sw = 0.0
    for i in range(w.shape[0]):
        sw += w[i]
    for f in range(feats.shape[0]):
        j = feats[f]
        acc = 0.0
        if xd is not None:
            for q in range(xp[j], xp[j + 1]):
                acc += xd[q] * w[xi[q]]
        if X is not None:
            acc = column_dot(X, j, w)
        out[f] = inv_s[j] * (acc - xm[j] * sw)


@njit(cache=True, nogil=True, fastmath=False)
def hess_vec(X, xd, xi, xp, xm, inv_s, feats, v, vsum, centre, gptr, act, loc, rad, dir_,
             l1g, l2g, d, zd, w, out):
    """``out = (Z_F^T V P Z_F + D) d`` (module docstring); ``zd``, ``w`` scratch (n)."""
    apply_z(X, xd, xi, xp, xm, inv_s, feats, d, v, vsum, centre, zd)
    for i in range(zd.shape[0]):
        w[i] = v[i] * zd[i]
    apply_zt(X, xd, xi, xp, xm, inv_s, feats, w, out)
    for h in range(act.shape[0]):
        g = act[h]
        a, e = loc[h], loc[h + 1]
        ud = 0.0
        for f in range(a, e):
            ud += dir_[f] * d[f]
        c = l1g[g] / rad[h]
        for f in range(a, e):
            out[f] += c * (d[f] - dir_[f] * ud) + l2g[g] * d[f]


@njit(cache=True, nogil=True, fastmath=False)
def block_preconditioner(H, eoff, gptr, act, loc, rad, dir_, l1g, l2g, L):
    """Cholesky factors of the diagonal blocks ``H_g + D_g`` into ``L`` (rows ``loc``,
    ``m x m`` each); a block that is not clearly positive definite gets the identity
    scaled by its largest diagonal entry (any positive definite block preconditions)."""
    for h in range(act.shape[0]):
        g = act[h]
        a, m = loc[h], loc[h + 1] - loc[h]
        e0 = eoff[g]
        c = l1g[g] / rad[h]
        B = L[a:a + m, :m]
        dmax = 0.0
        for s in range(m):
            for u in range(m):
                B[s, u] = H[e0 + s * m + u] - c * dir_[a + s] * dir_[a + u]
            B[s, s] += c + l2g[g]
            dmax = max(dmax, B[s, s])
        if not cholesky_factor(B, m):
            for s in range(m):
                for u in range(m):
                    B[s, u] = 0.0
                B[s, s] = np.sqrt(dmax) if dmax > 0.0 else 1.0


@njit(cache=True, nogil=True, fastmath=False)
def precondition(L, loc, rvec, out):
    """``out = M^{-1} rvec`` block by block from the factors in ``L``."""
    for h in range(loc.shape[0] - 1):
        a, m = loc[h], loc[h + 1] - loc[h]
        for i in range(m):
            t = rvec[a + i]
            for k in range(i):
                t -= L[a + i, k] * out[a + k]
            out[a + i] = t / L[a + i, i]
        for i in range(m - 1, -1, -1):
            t = out[a + i]
            for k in range(i + 1, m):
                t -= L[a + k, i] * out[a + k]
            out[a + i] = t / L[a + i, i]


@njit(cache=True, nogil=True, fastmath=False)
def group_geometry(beta, feats, loc, b, rad, dir_):
    """``b = beta[feats]``, each group's radius ``||b_g||`` and direction ``b_g / ||b_g||``."""
    for f in range(feats.shape[0]):
        b[f] = beta[feats[f], 0]
    for h in range(loc.shape[0] - 1):
        sq = 0.0
        for f in range(loc[h], loc[h + 1]):
            sq += b[f] * b[f]
        rad[h] = np.sqrt(sq)
        for f in range(loc[h], loc[h + 1]):
            dir_[f] = b[f] / rad[h] if rad[h] > 0.0 else 0.0


@njit(cache=True, nogil=True, fastmath=False)
def model_change(t, act, loc, rad, bd, dd, l1g, l2g, ru, uu):
    """``f(b + t d) - f(b)``, from the residual's ``ru = r^T V u``, ``uu = u^T V u`` (``u =
    P Z_F d``) and each group's ``b_g . d_g``, ``d_g . d_g`` (differences formed without
    cancellation); +inf when a group reaches zero (the step would leave the smooth piece)."""
    out = -t * ru + 0.5 * t * t * uu
    for h in range(act.shape[0]):
        g = act[h]
        lin = t * (2.0 * bd[h] + t * dd[h])
        new = rad[h] * rad[h] + lin
        if not new > 0.0:
            return np.inf
        out += l1g[g] * lin / (np.sqrt(new) + rad[h]) + 0.5 * l2g[g] * lin
    return out


@njit(cache=True, nogil=True, fastmath=False)
def newton_direction(X, xd, xi, xp, xm, inv_s, feats, v, vsum, centre, gptr, act, loc,
                     rad, dir_, l1g, l2g, L, grad, tol, max_cg, d, zd, w):
    """Preconditioned conjugate gradients for ``Hess d = -grad`` from ``d = 0``, until
    the residual is below ``tol``; returns the iterations."""
    F = grad.shape[0]
    res = -grad.copy()
    z = np.empty(F)
    precondition(L, loc, res, z)
    p = z.copy()
    hp = np.empty(F)
    rz = np.dot(res, z)
    for f in range(F):
        d[f] = 0.0
    it = 0
    while it < max_cg:
        it += 1
        hess_vec(X, xd, xi, xp, xm, inv_s, feats, v, vsum, centre, gptr, act, loc, rad,
                 dir_, l1g, l2g, p, zd, w, hp)
        php = np.dot(p, hp)
        if not php > 0.0:
            break
        alpha = rz / php
        d += alpha * p
        res -= alpha * hp
        if np.sqrt(np.dot(res, res)) <= tol:
            break
        precondition(L, loc, res, z)
        rz_new = np.dot(res, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return it


@njit(cache=True, nogil=True, fastmath=False)
def newton_steps(X, xd, xi, xp, v, vsum, xm, inv_s, gptr, gidx, eoff, H, act, l1g, l2g,
                 beta, R, b0, fit_intercept, max_steps, max_cg, forcing, tol):
    """Damped Newton steps on the non-zero groups ``act`` (module docstring), at most
    ``max_steps`` and until a kept step's predicted decrease ``-t grad.d`` is below
    ``tol`` (objective units), each solved by conjugate gradients to ``forcing`` times
    the gradient's norm. ``R`` (n, 1) is the settled residual and ``b0`` (1,) the
    intercept, both moved with ``beta``. Returns ``(steps kept, conjugate gradient iterations)``."""
    n = R.shape[0]
    r = R[:, 0]
    if fit_intercept:  # the intercept at its optimum: the model eliminates it
        m0 = 0.0
        for i in range(n):
            m0 += v[i] * r[i]
        m0 /= vsum
        b0[0] += m0
        for i in range(n):
            r[i] -= m0
    feats = group_features(gptr, gidx, act)
    F = feats.shape[0]
    A = act.shape[0]
    loc = np.zeros(A + 1, dtype=np.int64)
    mmax = 1
    for h in range(A):
        m = gptr[act[h] + 1] - gptr[act[h]]
        loc[h + 1] = loc[h] + m
        mmax = max(mmax, m)
    b, dir_, grad, d = np.empty(F), np.empty(F), np.empty(F), np.empty(F)
    rad, bd, dd = np.empty(A), np.empty(A), np.empty(A)
    L = np.empty((F, mmax))
    zd, w = np.empty(n), np.empty(n)
    kept = 0
    cg = 0
    for _ in range(max_steps):
        group_geometry(beta, feats, loc, b, rad, dir_)
        for i in range(n):
            w[i] = v[i] * r[i]
        apply_zt(X, xd, xi, xp, xm, inv_s, feats, w, grad)
        for h in range(A):
            g = act[h]
            for f in range(loc[h], loc[h + 1]):
                grad[f] = -grad[f] + l1g[g] * dir_[f] + l2g[g] * b[f]
        gn = np.sqrt(np.dot(grad, grad))
        if not gn > 0.0:
            break
        block_preconditioner(H, eoff, gptr, act, loc, rad, dir_, l1g, l2g, L)
        cg += newton_direction(X, xd, xi, xp, xm, inv_s, feats, v, vsum, fit_intercept,
                               gptr, act, loc, rad, dir_, l1g, l2g, L, grad, forcing * gn,
                               max_cg, d, zd, w)
        slope = np.dot(grad, d)
        if not slope < 0.0:
            break
        mean = apply_z(X, xd, xi, xp, xm, inv_s, feats, d, v, vsum, fit_intercept, zd)
        ru = 0.0
        uu = 0.0
        for i in range(n):
            ru += v[i] * r[i] * zd[i]
            uu += v[i] * zd[i] * zd[i]
        for h in range(A):
            s1 = 0.0
            s2 = 0.0
            for f in range(loc[h], loc[h + 1]):
                s1 += b[f] * d[f]
                s2 += d[f] * d[f]
            bd[h], dd[h] = s1, s2
        t = 1.0
        ok = False
        for _ in range(_MAX_HALVINGS):
            if model_change(t, act, loc, rad, bd, dd, l1g, l2g, ru, uu) <= _ARMIJO * t * slope:
                ok = True
                break
            t *= 0.5
        if not ok:
            break
        for f in range(F):
            beta[feats[f], 0] = b[f] + t * d[f]
        for i in range(n):
            r[i] -= t * zd[i]
        b0[0] -= t * mean
        kept += 1
        if -t * slope <= tol:
            break
    return kept, cg


@njit(cache=True, nogil=True, fastmath=False)
def same_groups(a, na, b, nb):
    """Whether ``a[:na]`` and ``b[:nb]`` hold the same groups (both in ``ws`` order)."""
    if na != nb:
        return False
    for t in range(na):
        if a[t] != b[t]:
            return False
    return True


@njit(cache=True, nogil=True, fastmath=False)
def bcd_with_newton(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff, H,
                    Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, thr,
                    max_sweeps, sgl_tol, n_anderson, newton_after, max_steps, max_cg,
                    forcing, confirm=True, min_feats=0):
    """:func:`~shrinkage.engine.kernels.groups.group_bcd` in chunks of ``newton_after``
    sweeps; after a chunk that left the non-zero groups as they were, Newton steps on
    them (:func:`newton_steps`; the chunk doubles when none is kept). The sweeps decide
    the zero groups and end the solve (the last one over all of ``ws`` moves no block by
    more than ``thr``). Only for a vector response without L1 inside the groups
    (``newton_after = 0``: plain sweeps); ``confirm`` as there. Newton steps are taken
    only when the non-zero groups hold at least ``min_feats`` features. Returns the
    number of sweeps."""
    if newton_after <= 0 or R.shape[1] != 1:
        return group_bcd(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx,
                         eoff, H, Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept,
                         thr, max_sweeps, sgl_tol, n_anderson, confirm)
    chunk = newton_after
    done = 0
    act = np.empty(ws.shape[0], dtype=np.int64)
    prev = np.empty(ws.shape[0], dtype=np.int64)
    n_prev = nonzero_groups(beta, gptr, gidx, ws, prev)
    while done < max_sweeps:
        step = min(chunk, max_sweeps - done)
        s = group_bcd(X, xd, xi, xp, xdv, vc, sparse, v, vsum, xm, inv_s, xv, gptr, gidx, eoff,
                      H, Q, D, ws, l1g, l1in, l2g, beta, R, sh, svR, b0, fit_intercept, thr, step,
                      sgl_tol, n_anderson, confirm)
        done += s
        if s < step:
            break
        n_act = nonzero_groups(beta, gptr, gidx, ws, act)
        if same_groups(act, n_act, prev, n_prev) and n_act > 0:
            smooth = True
            n_feats = 0
            for t in range(n_act):
                smooth = smooth and l1in[act[t]] == 0.0
                n_feats += gptr[act[t] + 1] - gptr[act[t]]
            smooth = smooth and n_feats >= min_feats
            kept = 0
            if smooth:
                settle_residual(R, sh)
                kept, _ = newton_steps(X, xd, xi, xp, v, vsum, xm, inv_s, gptr, gidx, eoff,
                                       H, act[:n_act], l1g, l2g, beta, R, b0,
                                       fit_intercept, max_steps, max_cg, forcing, thr)
                svR[0] = 0.0
                for i in range(R.shape[0]):
                    svR[0] += v[i] * R[i, 0]
            if kept == 0:
                chunk *= 2
        for t in range(n_act):
            prev[t] = act[t]
        n_prev = n_act
    return done


@njit(cache=True, nogil=True, fastmath=False)
def extrapolate(X, xd, xi, xp, xm, inv_s, beta, prev, ratio, R):
    """Move ``beta`` (p, 1) along the path's secant, ``beta += ratio (beta - prev)``, and
    the settled residual ``R`` (n, 1) with it: a warm start for the next strength that
    the sweeps then correct (zero groups included)."""
    out = R[:, 0]
    shift = 0.0
    for j in range(beta.shape[0]):
        a = ratio * (beta[j, 0] - prev[j, 0])
        if a == 0.0:
            continue
        beta[j, 0] += a
        a *= inv_s[j]
        shift += a * xm[j]
        if xd is not None:
            for q in range(xp[j], xp[j + 1]):
                out[xi[q]] -= a * xd[q]
        if X is not None:
            dense_axpy_col(X, j, -a, out)
    for i in range(out.shape[0]):
        out[i] += shift
