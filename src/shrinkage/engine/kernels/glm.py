"""Per-step pieces of proximal Newton for the families of :mod:`shrinkage.model.glm_math`.

The family is its integer kernel code, never a string; its mean, variance and loss come
from :mod:`shrinkage.model.glm_math` (the one definition, shared with the Python layer).
With ``mu = mean(eta)`` and ``var`` the floored variance function, the kernels compute::

    wres_i = w_i * (y_i - mu_i)          # minus the weighted derivative of the loss
    v_i    = w_i * var_i,   z_i = (y_i - mu_i) / var_i   # IRLS model around eta

so that one Newton step minimises ``1/2 sum_i v_i (z_i - deta_i)^2 + penalty``. Every
kernel but the last is one pass over the ``n`` rows (or the working set's columns) and
allocates nothing; :func:`~shrinkage.engine.kernels.glm_descend.descend_strength` chains
them (with coordinate descent) into the whole descent of a ``lam``, so that a small
problem's Newton steps pay no Python overhead.
"""

from numba import njit

from ...model.glm_math import loss_change, loss_change_at, mean_parts, mean_var
from .certify import centred_dots, violation

#: :func:`~shrinkage.engine.kernels.glm_descend.descend_strength` stopped because a Newton
#: step's coordinate descent ran a whole chunk of sweeps without converging: the caller
#: solves the model on its active set (exactly or by conjugate gradients) and calls again
#: with ``it[7] = 1`` to resume
NEEDS_POLISH = 1
#: backtracking halvings of the Newton steps' line search
MAX_HALVINGS = 40
#: a Newton step whose quadratic error is predicted below half the working-set tolerance
#: solves its model for a violation of this many tolerances (see :func:`inner_violation`)
FINAL_LEVEL = 6.0


@njit(cache=True, nogil=True, fastmath=False)
def weighted_residual(fam, y, eta, w, wres):
    """``wres_i = w_i (y_i - mu_i)``; returns ``sum_i wres_i`` (the intercept gradient)."""
    s = 0.0
    for i in range(y.shape[0]):
        mu, _ = mean_var(fam, eta[i])
        t = w[i] * (y[i] - mu)
        wres[i] = t
        s += t
    return s


@njit(cache=True, nogil=True, fastmath=False)
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


@njit(cache=True, nogil=True, fastmath=False)
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


# inlined: a Newton step calls it once (a function of its own would be compiled for
# itself and again in its caller, see kernels.glm_descend)
@njit(cache=True, nogil=True, inline="always")
def penalty_change(b_old, db, idx, l1, l2, t):
    """``sum_k pen(b_old_k + t db_k) - pen(b_old_k)`` over the coordinates ``idx``: the
    penalty's part of a line search's ``F(t) - F(0)`` (the rest is the loss's)."""
    return _penalty_change(b_old, db, idx, l1, l2, t)[0]


@njit(cache=True, nogil=True, inline="always")
def _accepted(df, mag, t, decrease, slack):
    """The line search's test (see :func:`armijo`)."""
    return (df <= 1e-4 * t * min(decrease, 0.0) or df <= slack
            or df <= 4.0 * 2.220446049250313e-16 * mag)


@njit(cache=True, nogil=True, fastmath=False)
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


@njit(cache=True, nogil=True, fastmath=False)
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


# inlined: descend_strength (kernels.glm_descend) is its one compiled caller (a function of
# its own costs about a tenth of a second of the first fit's compilation, see kernels.flags)
@njit(cache=True, nogil=True, inline="always")
def inner_violation(ws_cert, rate, ws_tol):
    """The violation a Newton step's model is solved against (the inexact-Newton threshold
    is ``accuracy * (this * grad_scale)^2 / max curvature``).

    A step from violation ``v`` leaves about ``inner error + C v^2``; ``rate`` is the
    latest observed ``v_new / v^2`` of a full step (an upper bound on ``C``, since the
    inner error adds to it; 0 while unknown). Where ``rate v^2 <= ws_tol / 2`` the
    quadratic error cannot keep this step from the tolerance, so its model is solved for
    :data:`FINAL_LEVEL` ``* ws_tol`` (the threshold leaves about a twelfth of it, so
    about half the tolerance) whatever ``v`` is: one last step instead of two where ``v``
    is larger, a looser one where it is smaller. Otherwise ``v`` itself (the plain
    inexact-Newton rule). The rate is learned on sparse designs only: on dense ones the
    Gram steps land far below the tolerance anyway, and elsewhere a step solved to the
    final level outlasts a chunk of sweeps and pays a polish (quick wide 50 x 300
    binomial: 1 -> 11 polishes, 15% more CPU).
    """
    if rate > 0.0 and rate * ws_cert * ws_cert <= 0.5 * ws_tol:
        return FINAL_LEVEL * ws_tol
    return ws_cert


@njit(cache=True, nogil=True, fastmath=False)
def ws_gradient_kkt(X, xd, xi, xp, sparse, wres, swres, xm, b, l1, l2, lo, hi, scale, ws, m,
                    g):
    """Gradient and largest KKT violation over the working set ``ws[:m]``.

    Writes ``g_j = sum_i (x_ij - xm_j) wres_i`` for ``j`` in the working set and returns
    ``max_j violation_j / scale_j`` (standardized units, as the full KKT scan).
    """
    centred_dots(X, xd, xi, xp, sparse, wres, swres, xm, ws, m, g)
    return ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m)


@njit(cache=True, nogil=True, fastmath=False)
def ws_kkt(g, b, l1, l2, lo, hi, scale, ws, m):
    """Largest KKT violation over ``ws[:m]`` from a gradient ``g`` already at hand."""
    vmax = 0.0
    for t in range(m):
        j = ws[t]
        vj = violation(g[j], b[j], l1[j], l2[j], lo[j], hi[j]) / scale[j]
        if vj > vmax:
            vmax = vj
    return vmax


@njit(cache=True, nogil=True, fastmath=False)
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


@njit(cache=True, nogil=True, fastmath=False)
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


@njit(cache=True, nogil=True, fastmath=False)
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


@njit(cache=True, nogil=True, fastmath=False)
def fill_mean_parts(fam, eta, mu, mc):
    """``mu_i, mc_i = mean_parts(fam, eta_i)[:2]`` (what :func:`armijo_irls` needs at
    ``eta`` when no earlier line search left it)."""
    for i in range(eta.shape[0]):
        mu[i], mc[i], _ = mean_parts(fam, eta[i])
