"""A strength's whole descent for the compiled GLM families, in one compiled call.

``ProximalNewton`` solves a strength by rounds: Newton steps on a working set, then one
pass over X for the exact gradient of every feature, whose KKT violators outside the set
join it before the next round. :func:`descend_strength` runs those rounds without
returning to the interpreter, except where a model needs polishing (its active-set solve
is written in Python); on small designs the interpreter's work between the pieces (a KKT
scan, the strong rule, a gradient pass and their bookkeeping) costs as much as a Newton
step. The rounds are one function, not a loop calling a kernel of Newton steps: a kernel
called from another is compiled twice, once for itself and once linked into its caller
(``benchmarks/bench_compile.py --kernels``), and the Newton steps are the family's
largest kernel.
"""

import numpy as np
from numba import njit

from .cd import cd_quadratic, weighted_moments
from .certify import centred_dots, kkt_scan, mask_members, strong_rule, total
from .glm import (
    MAX_HALVINGS,
    NEEDS_POLISH,
    armijo_irls,
    inner_violation,
    irls_model,
    moved_coordinates,
    penalty_change,
    secant_prediction,
    step_decrease,
    ws_gradient_kkt,
    ws_kkt,
    ws_max_curvature,
)
from .glm_polish import gram_applies, gram_model_step
from .moments import centred_combination

__all__ = ["descend_strength", "PASSES", "ROUNDS_PHASE", "WS_SIZE"]

#: ``it[ROUNDS_PHASE]``: 1 while a strength's descent is under way (a call resumed after a
#: polish), 0 when the next call starts one
ROUNDS_PHASE = 9
#: ``it[WS_SIZE]``: the working set's size (its indices are ``ws[:it[WS_SIZE]]``)
WS_SIZE = 10
#: ``it[PASSES]``: the full gradient passes over X taken (added to, never reset here)
PASSES = 11


@njit(cache=True, nogil=True, fastmath=False)
def descend_strength(fam, X, xd, xi, xp, sparse, y, w, xm, scale, s2, lo, hi, l1, l2, l1u, cut,
                     always, cand, excluded, expand, in_ws, ws, scratch, intercept, b, eta,
                     eta_t, wres, wres_t, g, v, z, v_t, z_t, mu, mc, mu_t, mc_t, sums_t, xv, h,
                     deta, st, idx, b_old, db, b_ws, b_before, fl, it, tol, ws_tol, grad_scale,
                     accuracy):
    """Rounds at one strength until its certificate (largest KKT violation over ``cand``
    over ``grad_scale``; ``g`` exact at entry) is within ``tol``: ``(code, certificate)``.

    A fresh call (``it[ROUNDS_PHASE] == 0``) returns at once where the certificate is within
    ``tol``; else the working set is set up (:func:`_start`). Each round takes Newton steps
    on the set until its violation is below ``ws_tol``: each minimises the IRLS model ``1/2
    sum_i v_i (z_i - deta_i)^2 + penalty`` by
    :func:`~shrinkage.engine.kernels.cd.cd_quadratic` (by
    :func:`~shrinkage.engine.kernels.glm_polish.gram_model_step` where X is dense and the
    set small) until coordinate moves ``h_j d_j^2`` are below ``accuracy * (level *
    grad_scale)^2 / max_j (h_j / s2_j)`` (``level`` from
    :func:`~shrinkage.engine.kernels.glm.inner_violation`), then
    :func:`~shrinkage.engine.kernels.glm.armijo_irls` backtracks on the true objective. Then
    :func:`_end_round` takes the full gradient and grows the set. ``eta, wres, mu, mc``
    describe the current point, updated in place.

    ``fl = [b0, sum wres, ws violation, objective change, thr, q0, loss, rho, db0, rate,
    violation the step started from]``, ``it = [sweeps, newton steps, max sweeps, max
    newton steps, sweeps per chunk, v_t/z_t/sums_t hold the model at eta, moved, resume,
    secant (:func:`_secant_start`), ROUNDS_PHASE, WS_SIZE, PASSES]``: the state.
    ``code`` is :data:`~shrinkage.engine.kernels.glm.NEEDS_POLISH` when a chunk of sweeps
    did not converge (the caller polishes ``b, z, st`` on ``ws[:it[WS_SIZE]]`` and calls
    again with ``it[7] = 1``), else 0."""
    cert = np.inf
    if it[ROUNDS_PHASE] == 0:
        cert = _start(g, b, l1, l2, lo, hi, l1u, cut, always, cand, expand, in_ws, ws, scratch,
                      scale, intercept, fl, it, tol, grad_scale)
        if it[ROUNDS_PHASE] == 0:
            return 0, cert
    while True:  # rounds
        m = it[WS_SIZE]
        b0, swres, ws_cert, dftot, thr, q0, loss = fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6]
        rate, v_step, code = fl[9], fl[10], 0
        sweeps, newton, max_iter, max_newton, chunk = it[0], it[1], it[2], it[3], it[4]
        pending, moved, resume = it[5], it[6], it[7]
        if it[8]:
            it[8] = 0
            b0, swres, loss, pending = _secant_start(
                fam, (X, xd, xi, xp, sparse), y, w, xm, ws, m, b, b_before, lo, hi, l1, l2, eta,
                eta_t, wres, wres_t, g, v_t, z_t, (mu, mc, mu_t, mc_t), sums_t, deta, idx,
                b_old, db, fl, pending)
        if not resume:
            ws_cert = ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m)
            if intercept:
                ws_cert = max(ws_cert, abs(swres))
            ws_cert /= grad_scale
        while True:  # Newton steps on the working set
            if resume:
                budget = max_iter - sweeps
                resume = 0
            else:
                if ws_cert <= ws_tol or sweeps >= max_iter or newton >= max_newton:
                    break
                newton += 1
                v_step = ws_cert
                thr, q0 = model_setup(fam, X, xd, xi, xp, sparse, y, w, xm, s2, ws, m, eta, b,
                                       b0, v, z, v_t, z_t, sums_t, pending, xv, h, b_ws, st,
                                       inner_violation(ws_cert, rate, ws_tol), grad_scale,
                                       accuracy)
                pending = 0
                budget = max(max_iter - sweeps, 1)
            if budget > 0 and gram_applies(X, y.shape[0], m, intercept):
                sweeps += gram_model_step(X, v, xm, z, st, b, ws, m, intercept, l1, l2, lo, hi,
                                          thr, budget, chunk)
            elif budget > 0:  # one chunk of sweeps; a chunk used up asks the caller to polish
                c = min(budget, chunk)
                done = cd_quadratic(X, xd, xi, xp, sparse, v, 0.0, xm, xv, h, l1, l2, lo, hi,
                                    b, z, st, ws, m, intercept, thr, c)
                sweeps += done
                if done == c:
                    code = NEEDS_POLISH
                    break
            k = moved_coordinates(b, b_ws, ws, m, idx, b_old, db)
            db0 = st[3] - b0
            if k == 0 and db0 == 0.0:
                break  # the model's minimiser is the current point
            ik, bk, dk = idx[:k], b_old[:k], db[:k]
            centred_combination(X, xd, xi, xp, sparse, xm, ik, dk, deta)
            for i in range(deta.shape[0]):
                deta[i] += db0
            decrease = step_decrease(wres, deta, bk, dk, ik, l1, l2)
            # coordinate descent resolves the model only to the rounding of its value q0
            t, df = armijo_irls(fam, y, w, eta, mu, mc, deta, eta_t, bk, dk, ik, l1, l2,
                                decrease, 8.0 * 2.220446049250313e-16 * q0,
                                np.int64(MAX_HALVINGS), wres_t, v_t, z_t, mu_t, mc_t, sums_t)
            if t == 0.0:
                for q in range(k):
                    b[ik[q]] = bk[q]
                break
            if t != 1.0:  # at t = 1 keep the model's minimiser exactly (zeros, bounds)
                for q in range(k):
                    b[ik[q]] = bk[q] + t * dk[q]
            b0 += t * db0
            swres = take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t)
            pending = 1
            dftot += df
            loss += df - penalty_change(bk, dk, ik, l1, l2, t)
            moved = 1
            ws_cert = ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi,
                                      scale, ws, m, g)
            if intercept:
                ws_cert = max(ws_cert, abs(swres))
            ws_cert /= grad_scale
            if t == 1.0 and v_step > 0.0 and sparse:  # (dense: see inner_violation)
                rate = ws_cert / (v_step * v_step)
        fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6] = b0, swres, ws_cert, dftot, thr, q0, loss
        fl[9], fl[10] = rate, v_step
        it[0], it[1], it[5], it[6], it[7] = sweeps, newton, pending, moved, 0
        if code == NEEDS_POLISH:
            return code, cert
        cert = _end_round(X, xd, xi, xp, sparse, wres, xm, excluded, g, b, l1, l2, lo, hi,
                          cand, in_ws, ws, scratch, scale, intercept, fl, it, tol, grad_scale)
        if it[ROUNDS_PHASE] == 0:
            return 0, cert


@njit(cache=True, nogil=True, inline="always")
def _start(g, b, l1, l2, lo, hi, l1u, cut, always, cand, expand, in_ws, ws, scratch, scale,
           intercept, fl, it, tol, grad_scale):
    """A strength's certificate where its descent starts. Above ``tol``, also its working
    set (``expand``: the strong rule's, ``|g_j| >= l1u_j * cut``, the non-zero and the
    ``always`` features, into ``in_ws``; else ``in_ws`` as given) into
    ``ws[:it[WS_SIZE]]``, and ``it[ROUNDS_PHASE] = 1``; within it, the secant start is
    dropped."""
    cert = _certificate(g, b, l1, l2, lo, hi, cand, cand, scale, scratch, intercept, fl[1],
                        grad_scale)[0]
    if cert <= tol:
        it[8] = 0
        return cert
    if expand:
        it[WS_SIZE] = strong_rule(g, b, l1u, cut, always, cand, in_ws, ws)
    else:
        it[WS_SIZE] = mask_members(in_ws, ws)
    it[ROUNDS_PHASE] = 1
    it[6] = 0
    return cert


@njit(cache=True, nogil=True, inline="always")
def _end_round(X, xd, xi, xp, sparse, wres, xm, excluded, g, b, l1, l2, lo, hi, cand, in_ws,
               ws, scratch, scale, intercept, fl, it, tol, grad_scale):
    """The end of a round: the exact gradient of every feature not ``excluded`` (the
    round's one pass over X) and the certificate over ``cand``; the violators outside
    ``in_ws`` join the working set (none where the set is fixed: ``cand`` lies within
    it). Where the strength is done (within ``tol``, a round that neither moved nor found
    a violator, or at a cap) sets ``it[ROUNDS_PHASE] = 0``; else clears the round's own
    state for the next. Returns the certificate.

    The pass reads only the columns outside the working set: every change of ``eta`` in
    the rounds (a Newton step's, the secant start's) is followed by the working set's
    gradient at the new point, and nothing else moves ``eta`` within a strength's
    rounds, so ``g`` is exact there already."""
    n_out = np.int64(0)  # (typed: a literal would compile centred_dots once more)
    for j in range(g.shape[0]):
        if excluded[j]:
            g[j] = 0.0
        elif not in_ws[j]:
            scratch[n_out] = j
            n_out += 1
    centred_dots(X, xd, xi, xp, sparse, wres, total(wres), xm, scratch, n_out, g)
    it[PASSES] += 1
    cert, m_new = _certificate(g, b, l1, l2, lo, hi, cand, in_ws, scale, scratch, intercept,
                               fl[1], grad_scale)
    if m_new:
        for q in range(m_new):
            in_ws[scratch[q]] = True
        it[WS_SIZE] = mask_members(in_ws, ws)
    if cert <= tol or (m_new == 0 and it[6] == 0) or it[0] >= it[2] or it[1] >= it[3]:
        it[ROUNDS_PHASE] = 0
    else:  # the next round's model, threshold and violation are its own
        it[6] = 0
        fl[2] = 0.0
        fl[4] = 0.0
        fl[5] = 0.0
    return cert


@njit(cache=True, nogil=True, inline="always")
def _secant_start(fam, design, y, w, xm, ws, m, b, b_before, lo, hi, l1, l2, eta, eta_t, wres,
                  wres_t, g, v_t, z_t, means, sums_t, deta, idx, b_old, db, fl, pending):
    """The secant warm start: ``b`` moved along ``b - b_before`` by ``rho = fl[7]`` (and
    the intercept by ``fl[8]``; :func:`~shrinkage.engine.kernels.glm.secant_prediction`),
    taken when it passes the Armijo test at ``t = 1``, with ``g`` then refreshed on the
    working set. Returns ``(b0, sum wres, loss, pending)`` after it. ``design = (X, xd,
    xi, xp, sparse)`` and ``means = (mu, mc, mu_t, mc_t)`` come packed: inlined (no
    second compilation in its caller), a function takes at most 30 arguments (CPython
    passes more as ``*args``, which numba cannot inline)."""
    X, xd, xi, xp, sparse = design
    mu, mc, mu_t, mc_t = means
    b0, swres, loss = fl[0], fl[1], fl[6]
    k = secant_prediction(b, b_before, ws, m, fl[7], lo, hi, idx, b_old, db)
    if k == 0:
        return b0, swres, loss, pending
    ik, bk, dk = idx[:k], b_old[:k], db[:k]
    centred_combination(X, xd, xi, xp, sparse, xm, ik, dk, deta)
    for i in range(deta.shape[0]):
        deta[i] += fl[8]
    # np.int64: a literal int would compile armijo_irls once more (numba specialises a
    # kernel-to-kernel call on each literal argument's value)
    t, df = armijo_irls(fam, y, w, eta, mu, mc, deta, eta_t, bk, dk, ik, l1, l2, 0.0, 0.0,
                        np.int64(1), wres_t, v_t, z_t, mu_t, mc_t, sums_t)
    if t != 1.0:
        return b0, swres, loss, 0  # (the trial overwrote the pending model)
    for q in range(k):
        b[ik[q]] = bk[q] + dk[q]
    b0 += fl[8]
    loss += df - penalty_change(bk, dk, ik, l1, l2, 1.0)
    swres = take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t)
    centred_dots(X, xd, xi, xp, sparse, wres, swres, xm, ws, m, g)
    return b0, swres, loss, 1


@njit(cache=True, nogil=True, fastmath=False)
def model_setup(fam, X, xd, xi, xp, sparse, y, w, xm, s2, ws, m, eta, b, b0, v, z, v_t,
                 z_t, sums_t, pending, xv, h, b_ws, st, ws_cert, grad_scale, accuracy):
    """The IRLS model around ``eta`` (from the line search's pass when ``pending``), its
    curvatures on ``ws[:m]``, the saved ``b[ws]`` and ``st``; returns ``(thr, q0)``: the
    inner threshold ``accuracy * (ws_cert * grad_scale)^2 / max curvature`` and the
    model's value at the current point."""
    if pending:
        for i in range(v.shape[0]):
            v[i] = v_t[i]
            z[i] = z_t[i]
        svz, sv, q0 = sums_t[1], sums_t[2], sums_t[3]
    else:
        svz, sv, q0 = irls_model(fam, y, eta, w, v, z)
    weighted_moments(X, xd, xi, xp, sparse, v, xm, ws, m, xv, h)
    for t in range(m):
        b_ws[t] = b[ws[t]]
    st[0] = 0.0
    st[1] = svz
    st[2] = sv
    st[3] = b0
    hmax = ws_max_curvature(h, s2, ws, m)
    thr = max(accuracy * (ws_cert * grad_scale) ** 2 / max(hmax, 1e-300), 1e-300)
    return thr, q0


@njit(cache=True, nogil=True, fastmath=False)
def take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t):
    """Move to the line search's accepted point: its ``eta``, residual and mean parts
    replace the current ones; returns the residual's sum."""
    for i in range(eta.shape[0]):
        eta[i] = eta_t[i]
        wres[i] = wres_t[i]
        mu[i] = mu_t[i]
        mc[i] = mc_t[i]
    return sums_t[0]


@njit(cache=True, nogil=True, inline="always")
def _certificate(g, b, l1, l2, lo, hi, cand, in_ws, scale, scratch, intercept, swres,
                 grad_scale):
    """``(certificate, m)``: the largest KKT violation over ``cand`` (and the intercept's
    gradient ``swres``) relative to ``grad_scale``; the ``m`` violators outside ``in_ws``
    in ``scratch[:m]`` (``ProximalNewton._kkt``, compiled)."""
    cert, m = kkt_scan(g, b, l1, l2, lo, hi, cand, in_ws, scale, scratch)
    if intercept:
        cert = max(cert, abs(swres))
    return cert / grad_scale, m
