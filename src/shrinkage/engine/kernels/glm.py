"""Per-step pieces of proximal Newton for the families of :mod:`shrinkage.model.glm_math`.

The family is its integer kernel code, never a string; its mean, variance and loss come
from :mod:`shrinkage.model.glm_math` (the one definition, shared with the Python layer).
With ``mu = mean(eta)`` and ``var`` the floored variance function, the kernels compute::

    wres_i = w_i * (y_i - mu_i)          # minus the weighted derivative of the loss
    v_i    = w_i * var_i,   z_i = (y_i - mu_i) / var_i   # IRLS model around eta

so that one Newton step minimises ``1/2 sum_i v_i (z_i - deta_i)^2 + penalty``. Every
kernel but the last is one pass over the ``n`` rows (or the working set's columns) and
allocates nothing; :func:`newton_rounds` chains them (with coordinate descent) into the
whole working-set loop of a ``lam``, so that a small problem's Newton steps pay no
Python overhead.
"""

import numpy as np
from numba import njit

from ...model.glm_math import loss_change, loss_change_at, mean_parts, mean_var
from .cd import cd_quadratic, weighted_moments
from .certify import centred_dots, violation
from .glm_polish import gram_applies, gram_model_step
from .moments import centred_combination

#: :func:`newton_rounds` stopped because a Newton step's coordinate descent ran a whole
#: chunk of sweeps without converging: the caller solves the model on its active set
#: (exactly or by conjugate gradients) and calls again with ``it[7] = 1`` to resume
NEEDS_POLISH = 1
#: backtracking halvings of :func:`newton_rounds`'s line search
MAX_HALVINGS = 40


@njit(cache=True, nogil=True)
def weighted_residual(fam, y, eta, w, wres):
    """``wres_i = w_i (y_i - mu_i)``; returns ``sum_i wres_i`` (the intercept gradient)."""
    s = 0.0
    for i in range(y.shape[0]):
        mu, _ = mean_var(fam, eta[i])
        t = w[i] * (y[i] - mu)
        wres[i] = t
        s += t
    return s


@njit(cache=True, nogil=True)
def irls_model(fam, y, eta, w, v, z):
    """IRLS weights ``v_i = w_i var_i`` and working residual ``z_i = (y_i - mu_i) / var_i``.

    Returns ``(sum_i v_i z_i, sum_i v_i, 1/2 sum_i v_i z_i^2)``: the running sums the
    coordinate-descent kernel keeps for the intercept, and the model's value at the current
    point (coordinate descent resolves the model only to the rounding of that value).
    """
    svz = 0.0
    sv = 0.0
    q0 = 0.0
    for i in range(y.shape[0]):
        mu, var = mean_var(fam, eta[i])
        vi = w[i] * var
        zi = (y[i] - mu) / var
        v[i] = vi
        z[i] = zi
        svz += vi * zi
        sv += vi
        q0 += vi * zi * zi
    return svz, sv, 0.5 * q0


@njit(cache=True, nogil=True, inline="always")
def _pen1(bj, l1j, l2j):
    return l1j * abs(bj) + 0.5 * l2j * bj * bj


@njit(cache=True, nogil=True)
def step_decrease(wres, deta, b_old, db, idx, l1, l2):
    """Predicted decrease of the Armijo test for the step ``(db, deta)``.

    Returns ``grad . d + penalty(b_old + db) - penalty(b_old)`` with
    ``grad . d = -sum_i wres_i deta_i``; ``b_old, db`` hold the coordinates ``idx`` (those
    that moved), the only ones whose penalty changes.
    """
    gd = 0.0
    for i in range(wres.shape[0]):
        gd -= wres[i] * deta[i]
    return gd + _penalty_change(b_old, db, idx, l1, l2, 1.0)[0]


@njit(cache=True, nogil=True, inline="always")
def loss_step(fam, y, w, eta, deta, t, eta_t):
    """``eta_t = eta + t deta`` and the loss change it makes, summed from accurate
    per-sample changes (:func:`~shrinkage.model.glm_math.loss_change`): returns
    ``(sum_i w_i dloss_i, sum_i |w_i dloss_i|)``, the second the rounding scale of the
    first."""
    df = 0.0
    mag = 0.0
    for i in range(y.shape[0]):
        d = t * deta[i]
        eta_t[i] = eta[i] + d
        c = w[i] * loss_change(fam, y[i], eta[i], d)
        df += c
        mag += abs(c)
    return df, mag


@njit(cache=True, nogil=True, inline="always")
def _penalty_change(b_old, db, idx, l1, l2, t):
    """``(sum_k pen(b_old_k + t db_k) - pen(b_old_k), sum_k |each change|)``."""
    df = 0.0
    mag = 0.0
    for k in range(idx.shape[0]):
        j = idx[k]
        c = _pen1(b_old[k] + t * db[k], l1[j], l2[j]) - _pen1(b_old[k], l1[j], l2[j])
        df += c
        mag += abs(c)
    return df, mag


@njit(cache=True, nogil=True)
def penalty_change(b_old, db, idx, l1, l2, t):
    """``sum_k pen(b_old_k + t db_k) - pen(b_old_k)`` over the coordinates ``idx``: the
    penalty's part of a line search's ``F(t) - F(0)`` (the rest is the loss's)."""
    return _penalty_change(b_old, db, idx, l1, l2, t)[0]


@njit(cache=True, nogil=True, inline="always")
def _accepted(df, mag, t, decrease, slack):
    """The line search's test (see :func:`armijo`)."""
    return (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
            or df <= 4.0 * 2.220446049250313e-16 * mag)


@njit(cache=True, nogil=True)
def armijo(fam, y, w, eta, deta, eta_t, b_old, db, idx, l1, l2, decrease, slack,
           max_halvings):
    """Backtracking line search on ``F(t) = loss(eta + t deta) + penalty(b_old + t db)``.

    Accepts the first ``t`` in 1, 1/2, 1/4, ... with ``F(t) - F(0) <= 1e-4 t min(decrease,
    0)`` (Lee, Sun & Saunders 2014), where ``F(t) - F(0)`` is summed from accurate
    per-sample changes (:func:`~shrinkage.model.glm_math.loss_change`) and per-coordinate
    penalty changes, so the
    test stays meaningful when the change is far below the rounding of ``F`` itself. A
    change below ``slack`` (the rounding level of the step's own computation, see the
    caller) or within the rounding of its own terms (``4 eps sum |terms|``) is accepted
    too.
    Only the coordinates ``idx`` move (``b_old, db`` hold their values, in the order of
    ``idx``). Writes ``eta_t = eta + t deta`` and returns ``(t, F(t) - F(0))``; ``t = 0``
    when no step is accepted.
    """
    t = 1.0
    for _ in range(max_halvings):
        df, mag = loss_step(fam, y, w, eta, deta, t, eta_t)
        dp, mp = _penalty_change(b_old, db, idx, l1, l2, t)
        df += dp
        mag += mp
        if _accepted(df, mag, t, decrease, slack):
            return t, df
        t *= 0.5
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def armijo_irls(fam, y, w, eta, mu, mc, deta, eta_t, b_old, db, idx, l1, l2, decrease,
                slack, max_halvings, wres_t, v_t, z_t, mu_t, mc_t, sums):
    """:func:`armijo`, and in the same pass the quantities the next step needs at
    ``eta_t``: ``wres_t`` as :func:`weighted_residual`, ``v_t, z_t`` as :func:`irls_model`,
    ``sums = [sum wres_t, sum v_t z_t, sum v_t, 1/2 sum v_t z_t^2]`` and ``(mu_t, mc_t)``
    from :func:`~shrinkage.model.glm_math.mean_parts`.

    ``(mu, mc)`` are ``mean_parts`` at ``eta`` (the previous accepted trial's ``mu_t,
    mc_t``), so a trial evaluates the mean once (one ``exp`` per row) where :func:`armijo`
    and the two passes that follow an accepted step (residual, IRLS model) evaluate it
    three times. On ``t = 0`` the outputs hold the last refused trial and must not be
    used.
    """
    t = 1.0
    for _ in range(max_halvings):
        df = 0.0
        mag = 0.0
        sr = 0.0
        svz = 0.0
        sv = 0.0
        q0 = 0.0
        for i in range(y.shape[0]):
            e = eta[i] + t * deta[i]
            eta_t[i] = e
            c = w[i] * loss_change_at(fam, y[i], eta[i], mu[i], mc[i], t * deta[i])
            df += c
            mag += abs(c)
            m, m_c, var = mean_parts(fam, e)
            mu_t[i] = m
            mc_t[i] = m_c
            r = y[i] - m
            wr = w[i] * r
            wres_t[i] = wr
            sr += wr
            vi = w[i] * var
            zi = r / var
            v_t[i] = vi
            z_t[i] = zi
            svz += vi * zi
            sv += vi
            q0 += vi * zi * zi
        dp, mp = _penalty_change(b_old, db, idx, l1, l2, t)
        df += dp
        mag += mp
        if _accepted(df, mag, t, decrease, slack):
            sums[0] = sr
            sums[1] = svz
            sums[2] = sv
            sums[3] = 0.5 * q0
            return t, df
        t *= 0.5
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi, scale, ws, m,
                    g):
    """Gradient and largest KKT violation over the working set ``ws[:m]``.

    Writes ``g_j = sum_i (x_ij - xm_j) wres_i`` for ``j`` in the working set and returns
    ``max_j violation_j / scale_j`` (standardized units, as the full KKT scan).
    """
    centred_dots(X, xd, xi, xp, sparse, wres, swres, xm, ws, m, g)
    return ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m)


@njit(cache=True, nogil=True)
def ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m):
    """Largest KKT violation over ``ws[:m]`` from a gradient ``g`` already at hand."""
    vmax = 0.0
    for t in range(m):
        j = ws[t]
        vj = violation(g[j], b[j], l1[j], l2[j], lo[j], hi[j]) / scale[j]
        if vj > vmax:
            vmax = vj
    return vmax


@njit(cache=True, nogil=True)
def ws_max_curvature(h, s2, ws, m):
    """``max_j h_j / s2_j`` over ``ws[:m]`` (1 when empty): the largest curvature in
    standardized units, which scales the inner tolerance of a Newton step."""
    hmax = 0.0
    for t in range(m):
        j = ws[t]
        c = h[j] / s2[j]
        if c > hmax:
            hmax = c
    return hmax if m > 0 else 1.0


@njit(cache=True, nogil=True)
def moved_coordinates(b, b_ws, ws, m, idx, old, moves):
    """The coordinates of ``ws[:m]`` whose value differs from ``b_ws`` (their values
    before the step): writes them, their old values and their moves into ``idx, old,
    moves`` and returns how many."""
    k = 0
    for t in range(m):
        j = ws[t]
        d = b[j] - b_ws[t]
        if d != 0.0:
            idx[k] = j
            old[k] = b_ws[t]
            moves[k] = d
            k += 1
    return k


@njit(cache=True, nogil=True)
def secant_prediction(b, b_before, ws, m, rho, lo, hi, idx, cur, moves):
    """Non-zero coordinates of ``ws[:m]`` moved along the secant of the path.

    For each ``j`` with ``b_j != 0`` the prediction ``b_j + rho (b_j - b_before_j)`` is kept
    when it has the sign of ``b_j`` and lies within ``[lo_j, hi_j]``; writes the kept
    coordinates, their current values and their moves into ``idx, cur, moves`` and returns
    how many.
    """
    k = 0
    for t in range(m):
        j = ws[t]
        c = b[j]
        pred = c + rho * (c - b_before[j])
        same_sign = (c > 0.0 and pred > 0.0) or (c < 0.0 and pred < 0.0)
        if same_sign and lo[j] <= pred <= hi[j]:
            idx[k] = j
            cur[k] = c
            moves[k] = pred - c
            k += 1
    return k


@njit(cache=True, nogil=True)
def fill_mean_parts(fam, eta, mu, mc):
    """``mu_i, mc_i = mean_parts(fam, eta_i)[:2]`` (what :func:`armijo_irls` needs at
    ``eta`` when no earlier line search left it)."""
    for i in range(eta.shape[0]):
        mu[i], mc[i], _ = mean_parts(fam, eta[i])


@njit(cache=True, nogil=True)
def _model_setup(fam, X, xd, xi, xp, sparse, y, w, xm, s2, ws, m, eta, b, b0, v, z, v_t,
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


@njit(cache=True, nogil=True)
def _take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t):
    """Move to the line search's accepted point: its ``eta``, residual and mean parts
    replace the current ones; returns the residual's sum."""
    for i in range(eta.shape[0]):
        eta[i] = eta_t[i]
        wres[i] = wres_t[i]
        mu[i] = mu_t[i]
        mc[i] = mc_t[i]
    return sums_t[0]


@njit(cache=True, nogil=True)
def newton_rounds(fam, X, xd, xi, xp, sparse, y, w, xm, scale, s2, lo, hi, l1, l2, ws, m,
                  intercept, b, eta, eta_t, wres, wres_t, g, v, z, v_t, z_t, mu, mc, mu_t,
                  mc_t, sums_t, xv, h, deta, st, idx, b_old, db, b_ws, b_before, fl, it,
                  ws_tol, grad_scale, accuracy):
    """Newton steps on the working set ``ws[:m]`` until its KKT violation is below
    ``ws_tol``: the loop of ``ProximalNewton._solve_working_set`` in one compiled call.

    Each step minimises the IRLS model ``1/2 sum_i v_i (z_i - deta_i)^2 + penalty`` by
    :func:`~shrinkage.engine.kernels.cd.cd_quadratic` (by
    :func:`~shrinkage.engine.kernels.glm_polish.gram_model_step` on the working set's
    weighted Gram matrix where X is dense and the set small) to the inexact-Newton threshold
    ``accuracy * (violation * grad_scale)^2 / max_j (h_j / s2_j)`` (coordinate moves
    ``h_j d_j^2`` below it), then :func:`armijo_irls` backtracks on the true objective; the
    gradient ``g`` on ``ws`` and the violation are refreshed after every accepted step, so
    ``g`` must be exact on ``ws`` at entry. ``eta, wres`` and ``(mu, mc) = mean_parts(eta)``
    describe the current point and are updated in place.

    ``fl = [b0, sum wres, ws violation, objective change, thr, q0, loss, rho, db0]``
    (``loss = sum_i w_i loss_i`` at ``eta``, kept by adding each step's accurate change)
    and ``it = [sweeps, newton steps, max sweeps, max newton steps, sweeps per chunk,
    v_t/z_t/sums_t hold the model at eta, moved, resume, secant]`` carry the state in and
    out. With ``secant`` set, the loop starts with the path's secant warm start (the
    prediction ``b + rho (b - b_before)`` of :func:`secant_prediction`, the intercept moved
    by ``db0``), kept if it passes the Armijo test at ``t = 1``. Returns
    :data:`NEEDS_POLISH` when a chunk of sweeps did not converge (the caller polishes
    ``b``, ``z``, ``st`` and resumes with ``it[7] = 1``), else 0.
    """
    b0, swres, ws_cert, dftot, thr, q0, loss = fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6]
    sweeps, newton, max_iter, max_newton, chunk = it[0], it[1], it[2], it[3], it[4]
    pending, moved, resume = it[5], it[6], it[7]
    code = 0
    if it[8]:
        it[8] = 0
        k = secant_prediction(b, b_before, ws, m, fl[7], lo, hi, idx, b_old, db)
        if k > 0:
            ik, bk, dk = idx[:k], b_old[:k], db[:k]
            centred_combination(X, xd, xi, xp, sparse, xm, ik, dk, deta)
            for i in range(deta.shape[0]):
                deta[i] += fl[8]
            # np.int64: a literal int would compile armijo_irls once more (numba
            # specialises a kernel-to-kernel call on each literal argument's value)
            t, df = armijo_irls(fam, y, w, eta, mu, mc, deta, eta_t, bk, dk, ik, l1, l2, 0.0,
                                0.0, np.int64(1), wres_t, v_t, z_t, mu_t, mc_t, sums_t)
            pending = 0
            if t == 1.0:
                for q in range(k):
                    b[ik[q]] = bk[q] + dk[q]
                b0 += fl[8]
                loss += df - _penalty_change(bk, dk, ik, l1, l2, 1.0)[0]
                swres = _take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t)
                pending = 1
                centred_dots(X, xd, xi, xp, sparse, wres, swres, xm, ws, m, g)
    if not resume:
        ws_cert = ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m)
        if intercept:
            ws_cert = max(ws_cert, abs(swres))
        ws_cert /= grad_scale
    while True:
        if resume:
            budget = max_iter - sweeps
            resume = 0
        else:
            if ws_cert <= ws_tol or sweeps >= max_iter or newton >= max_newton:
                break
            newton += 1
            thr, q0 = _model_setup(fam, X, xd, xi, xp, sparse, y, w, xm, s2, ws, m, eta, b,
                                   b0, v, z, v_t, z_t, sums_t, pending, xv, h, b_ws, st,
                                   ws_cert, grad_scale, accuracy)
            pending = 0
            budget = max(max_iter - sweeps, 1)
        if budget > 0 and gram_applies(X, y.shape[0], m, intercept):
            sweeps += gram_model_step(X, v, xm, z, st, b, ws, m, intercept, l1, l2, lo, hi,
                                      thr, budget, chunk)
        elif budget > 0:  # one chunk of sweeps; a chunk used up asks the caller to polish
            c = min(budget, chunk)
            done = cd_quadratic(X, xd, xi, xp, sparse, v, 0.0, xm, xv, h, l1, l2, lo, hi, b,
                                z, st, ws, m, intercept, thr, c)
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
                            decrease, 8.0 * 2.220446049250313e-16 * q0, np.int64(MAX_HALVINGS),
                            wres_t, v_t, z_t, mu_t, mc_t, sums_t)
        if t == 0.0:
            for q in range(k):
                b[ik[q]] = bk[q]
            break
        if t != 1.0:  # at t = 1 keep the model's minimiser exactly (zeros, bounds)
            for q in range(k):
                b[ik[q]] = bk[q] + t * dk[q]
        b0 += t * db0
        swres = _take_trial(eta, eta_t, wres, wres_t, mu, mu_t, mc, mc_t, sums_t)
        pending = 1
        dftot += df
        loss += df - _penalty_change(bk, dk, ik, l1, l2, t)[0]
        moved = 1
        ws_cert = ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi,
                                  scale, ws, m, g)
        if intercept:
            ws_cert = max(ws_cert, abs(swres))
        ws_cert /= grad_scale
    fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], fl[6] = b0, swres, ws_cert, dftot, thr, q0, loss
    it[0], it[1], it[5], it[6], it[7] = sweeps, newton, pending, moved, 0
    return code
