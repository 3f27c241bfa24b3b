"""The bookkeeping of a multinomial Newton step, compiled.

Around the block coordinate descent of :mod:`.multinomial`, each proximal Newton step
of :class:`~shrinkage.engine.multinomial.MultinomialSolver` builds its quadratic model
(:func:`newton_model`), then (:func:`finish_step`) forms the change of the linear
predictor, searches along it on the true objective, and at the accepted point
recomputes the class probabilities, the residual and the gradient
(:func:`softmax_refresh`) and the KKT certificate (:func:`class_certificate`). On the
small data multinomial fits are usually run on (iris, wine, digits), these array
operations written in NumPy cost more than the descent itself: about 0.35 ms of Python
per Newton step, 70 of iris's 87 ms path.

The objective is ``sum_i w_i (logsumexp(eta_i) - y_i . eta_i) + penalty(B)``, with the
penalty ``l1_j ||B_j||_2`` (grouped) or ``l1_j sum_k |B_jk|`` (ungrouped) plus
``l2_j ||B_j||^2 / 2``; ``l1, l2`` include ``lam``. Columns enter centred,
``x_ij - xm_j``.
"""

import numpy as np
from numba import njit

from .certify import violation
from .flags import INNER, KERNEL
from .multinomial_curvature import block_coupling, class_curvature


@njit(**INNER, fastmath=False)
def _trial_loss(Y, eta, deta, t, w):
    """``sum_i w_i (logsumexp(e_i) - y_i . e_i)`` at ``e = eta + t deta``.

    The largest term of a row is taken out of its sum (``m + log1p(others)``), so that a
    row whose largest term dominates keeps its small excess exactly."""
    n, K = eta.shape
    f = 0.0
    for i in range(n):
        top = 0
        m = eta[i, 0] + t * deta[i, 0]
        for k in range(1, K):
            e = eta[i, k] + t * deta[i, k]
            if e > m:
                m = e
                top = k
        s = 0.0
        ye = 0.0
        for k in range(K):
            e = eta[i, k] + t * deta[i, k]
            ye += Y[i, k] * e
            if k != top:
                s += np.exp(e - m)
        f += w[i] * (m + np.log1p(s) - ye)
    return f


@njit(**INNER, fastmath=False)
def _trial_penalty(B, dB, t, l1, l2, grouped):
    """The penalty at ``B + t dB``."""
    p, K = B.shape
    pen = 0.0
    for j in range(p):
        sq = 0.0
        ab = 0.0
        for k in range(K):
            b = B[j, k] + t * dB[j, k]
            sq += b * b
            ab += abs(b)
        pen += l1[j] * (np.sqrt(sq) if grouped else ab) + 0.5 * l2[j] * sq
    return pen


@njit(**KERNEL, fastmath=False)
def class_loss(Y, eta, w):
    """The loss ``sum_i w_i (logsumexp(eta_i) - y_i . eta_i)`` (half the deviance)."""
    return _trial_loss(Y, eta, eta, 0.0, w)


@njit(**KERNEL, fastmath=False)
def softmax_refresh(X, xd, xi, xp, sparse, eta, Y, w, xm, excluded, P, R, G):
    """``P = softmax(eta)`` row by row, ``R = Y - P`` and the gradient
    ``G_jk = sum_i (x_ij - xm_j) w_i R_ik`` (0 where ``excluded``), in place."""
    n, K = eta.shape
    Q = np.empty((n, K))
    qs = np.zeros(K)
    for i in range(n):
        m = eta[i, 0]
        for k in range(1, K):
            if eta[i, k] > m:
                m = eta[i, k]
        s = 0.0
        for k in range(K):
            e = np.exp(eta[i, k] - m)
            P[i, k] = e
            s += e
        for k in range(K):
            P[i, k] /= s
            R[i, k] = Y[i, k] - P[i, k]
            Q[i, k] = w[i] * R[i, k]
            qs[k] += Q[i, k]
    acc = np.empty(K)
    for j in range(G.shape[0]):
        for k in range(K):
            acc[k] = 0.0
        if not excluded[j]:
            if xd is not None:
                for r in range(xp[j], xp[j + 1]):
                    i = xi[r]
                    a = xd[r]
                    for k in range(K):
                        acc[k] += a * Q[i, k]
            if X is not None:
                for i in range(n):
                    a = X[i, j]
                    for k in range(K):
                        acc[k] += a * Q[i, k]
            for k in range(K):
                acc[k] -= xm[j] * qs[k]
        for k in range(K):
            G[j, k] = acc[k]


@njit(**KERNEL, fastmath=False)
def class_certificate(G, B, R, w, l1, l2, lo, hi, cert_scale, candidates, in_ws, restrict,
                      grouped, intercept, grad_scale):
    """The largest KKT violation over the candidate features (only those ``in_ws`` when
    ``restrict``), each in standardized units (divided by ``cert_scale_j``), and the
    intercepts' ``|sum_i w_i R_ik|``, relative to ``grad_scale``.

    A feature's violation is its class vector's distance from ``l1_j`` times the group
    norm's subdifferential (grouped) or its largest class's (ungrouped, with the bounds'
    normal cones). Unless ``restrict``, candidates with a positive violation join
    ``in_ws``."""
    p, K = B.shape
    vmax = 0.0
    for j in range(p):
        if not candidates[j] or (restrict and not in_ws[j]):
            continue
        if grouped:
            nb = 0.0
            for k in range(K):
                nb += B[j, k] * B[j, k]
            nb = np.sqrt(nb)
            d2 = 0.0
            for k in range(K):
                z = G[j, k] - l2[j] * B[j, k]
                if nb > 0.0:
                    z -= l1[j] * B[j, k] / nb
                d2 += z * z
            v = np.sqrt(d2)
            if nb == 0.0:
                v = max(v - l1[j], 0.0)
        else:
            v = 0.0
            for k in range(K):
                v = max(v, violation(G[j, k], B[j, k], l1[j], l2[j], lo[j], hi[j]))
        v /= cert_scale[j]
        if v > 0.0 and not restrict:
            in_ws[j] = True
        vmax = max(vmax, v)
    if intercept:
        for k in range(K):
            s = 0.0
            for i in range(R.shape[0]):
                s += w[i] * R[i, k]
            vmax = max(vmax, abs(s))
    return vmax / grad_scale


@njit(**KERNEL, fastmath=False)
def newton_model(X, xd, xi, xp, sparse, w, P, R, xm, ws, n_ws, grouped, s2, M, q, M0, O,
                 slot):
    """The quadratic model of a Newton step at ``P``, on ``ws[:n_ws]``.

    Fills ``M`` (twice the diagonal of each block's Hessian, the majoriser of the block
    updates), the ungrouped steps' in-block coupling ``O`` and ``slot``, the intercepts'
    majoriser ``M0_k = 2 sum_i v_ik`` with ``v = w max(P (1 - P), 1e-10)``, and the
    model's negative gradient in ``eta``, ``q = w R``. Returns the largest ``M_jk / s2_j``
    over the working set (1 when it is empty): the curvature the inner threshold is
    scaled by."""
    n, K = P.shape
    v = np.empty((n, K))
    for k in range(K):
        M0[k] = 0.0
    for i in range(n):
        for k in range(K):
            v[i, k] = w[i] * max(P[i, k] * (1.0 - P[i, k]), 1e-10)
            M0[k] += v[i, k]
            q[i, k] = w[i] * R[i, k]
    for k in range(K):
        M0[k] *= 2.0
    class_curvature(X, xd, xi, xp, sparse, v, xm, ws, n_ws, M)
    if not grouped:
        block_coupling(X, xd, xi, xp, w, P, xm, ws, n_ws, O, slot)
    if n_ws == 0:
        return 1.0
    mmax = -np.inf
    for t in range(n_ws):
        j = ws[t]
        for k in range(K):
            mmax = max(mmax, M[j, k] / s2[j])
    return mmax


@njit(**KERNEL, fastmath=False)
def class_predictor(X, xd, xi, xp, sparse, xm, dB, db0, deta):
    """``deta_ik = db0_k + sum_j (x_ij - xm_j) dB_jk`` over the rows of ``dB`` that are not
    zero (the change of the linear predictor, or the predictor itself less the offset)."""
    n, K = deta.shape
    shift = np.zeros(K)
    for i in range(n):
        for k in range(K):
            deta[i, k] = 0.0
    for j in range(dB.shape[0]):
        moved = False
        for k in range(K):
            if dB[j, k] != 0.0:
                moved = True
        if not moved:
            continue
        if xd is not None:
            for k in range(K):
                shift[k] += xm[j] * dB[j, k]
            for r in range(xp[j], xp[j + 1]):
                i = xi[r]
                a = xd[r]
                for k in range(K):
                    deta[i, k] += a * dB[j, k]
        if X is not None:  # centred element by element (no cancellation, large means)
            c = xm[j]
            for i in range(n):
                a = X[i, j] - c
                for k in range(K):
                    deta[i, k] += a * dB[j, k]
    for i in range(n):
        for k in range(K):
            deta[i, k] += db0[k] - shift[k]


@njit(**KERNEL, fastmath=False)
def finish_step(X, xd, xi, xp, sparse, Y, w, xm, B, B_old, b0, b0_old, eta, R, l1, l2,
                grouped, f_old):
    """Line search from ``(B_old, b0_old)`` towards the model's solution ``(B, b0)``.

    Backtracking (Armijo) on the true objective, proximal-Newton form: accepts the first
    ``t`` in 1, 1/2, 1/4, ... (at most 40) with ``F(old + t d) <= F(old) + 1e-4 t
    decrease``, where ``decrease = grad . d + penalty(B) - penalty(B_old)`` (Lee, Sun &
    Saunders 2014); near the optimum, where the decrease is below the rounding of F, a
    step that raises F by at most ``8 eps |F|`` is accepted. At the accepted point, ``B``,
    ``b0`` and ``eta`` are updated in place and ``F`` is returned (the caller refreshes
    ``P``, ``R`` and ``G`` there with :func:`softmax_refresh`, its own kernel: linked in
    here it would be compiled twice); when no step is accepted, ``B`` and ``b0`` are
    restored and NaN is returned.
    """
    n, K = eta.shape
    dB = np.empty(B.shape)
    for j in range(B.shape[0]):
        for k in range(K):
            dB[j, k] = B[j, k] - B_old[j, k]
    db0 = np.empty(K)
    for k in range(K):
        db0[k] = b0[k] - b0_old[k]
    deta = np.empty((n, K))
    class_predictor(X, xd, xi, xp, sparse, xm, dB, db0, deta)
    grad_dot = 0.0
    for i in range(n):
        for k in range(K):
            grad_dot -= w[i] * R[i, k] * deta[i, k]
    decrease = (grad_dot + _trial_penalty(B, dB, 0.0, l1, l2, grouped)
                - _trial_penalty(B_old, dB, 0.0, l1, l2, grouped))
    slack = 8.0 * np.finfo(np.float64).eps * abs(f_old)
    t = 1.0
    for _ in range(40):
        f_t = (_trial_loss(Y, eta, deta, t, w)
               + _trial_penalty(B_old, dB, t, l1, l2, grouped))
        if f_t <= f_old + 1e-4 * t * min(decrease, 0.0) or f_t <= f_old + slack:
            for j in range(B.shape[0]):
                for k in range(K):
                    B[j, k] = B_old[j, k] + t * dB[j, k]
            for k in range(K):
                b0[k] = b0_old[k] + t * db0[k]
            for i in range(n):
                for k in range(K):
                    eta[i, k] += t * deta[i, k]
            return f_t
        t *= 0.5
    for j in range(B.shape[0]):
        for k in range(K):
            B[j, k] = B_old[j, k]
    for k in range(K):
        b0[k] = b0_old[k]
    return np.nan
