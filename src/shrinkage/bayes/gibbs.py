"""numba kernel: one chain of Park & Casella's (2008) Bayesian lasso Gibbs sampler.

The data enter through a reduction ``(F, f, f_perp2)`` of the weighted, centred, scaled
design ``Z`` and response ``z``: any ``F`` (``m x p``) and ``f`` with ``F^T F = Z^T Z``,
``F^T f = Z^T z`` and ``||z - Z c||^2 = ||f - F c||^2 + f_perp2`` for every ``c`` (the
caller passes ``F = diag(d) V^T``, ``f = U^T z`` from the thin SVD, so ``m`` is the rank).
Model::

    z | c, sigma2        ~ N(Z c, sigma2 I)
    c_j | tau2_j, sigma2 ~ N(0, sigma2 tau2_j)
    tau2_j | lam2        ~ Exp(rate = lam2 / 2)    (so c_j | sigma2 ~ Laplace(sigma / lam))
    sigma2               ~ 1 / sigma2 (or fixed)
    lam2                 ~ Gamma(shape r, rate delta)   (lam_mode = 1; else fixed)

Full conditionals (``D = diag(tau2)``, ``A = F^T F + D^-1``)::

    c | .         ~ N(A^-1 F^T f, sigma2 A^-1)
    sigma2 | .    ~ InvGamma(N/2 + p/2, (||f - F c||^2 + f_perp2) / 2 + c^T D^-1 c / 2)
    1/tau2_j | .  ~ InverseGaussian(mean sqrt(lam2 sigma2 / c_j^2), shape lam2)
    lam2 | .      ~ Gamma(p + r, rate sum(tau2) / 2 + delta)

``N`` is the effective number of observations (``W - 1`` with an intercept integrated
out). The coefficient draw has three exact forms (``draw``: 0 chooses, 1-3 force one):

1. ``m >= p``: Cholesky ``A = L L^T``, ``c = L^-T (L^-1 F^T f + sigma xi)``.
2. ``m < p`` (Bhattacharya, Chakraborty & Mallick 2016): ``u ~ N(0, sigma2 D)``,
   ``b = f / sigma - F u / sigma - e`` (``e ~ N(0, I_m)``), solve
   ``M w = b`` with ``M = I + F D F^T`` by Cholesky, ``c = u + sigma D F^T w``.
3. As 2, but with ``M = R^T R`` from the QR factorisation of ``K = [D^1/2 F^T; I_m]``,
   so that ``c = u + sigma D^1/2 Q_1 R^-T b`` (``Q_1`` the top ``p`` rows of ``Q``).
   ``M`` is never formed: its condition number is ``1 + ||D^1/2 F^T||^2``, which for a
   weak prior (huge ``tau2``) exceeds ``1 / eps`` and makes 1 and 2 fail ("singular")
   while ``K``'s is only its square root. Used when ``trace(F D F^T) > 1e8`` and
   whenever 1 or 2 meets a matrix that is not numerically positive definite.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# above this trace of F D F^T (a bound on cond(M)), form 3 replaces the squared system
_COND_MAX = 1e8


@njit(cache=True, nogil=True, fastmath=False)
def _copy(dst, src):
    # a loop: ``dst[:] = src`` would compile numba's string-formatting error path
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit(cache=True, nogil=True, fastmath=False)
def _chol_solve_lower(L, b):
    # x = L^-1 b  (forward substitution)
    n = b.shape[0]
    x = np.empty(n)
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * x[k]
        x[i] = s / L[i, i]
    return x


@njit(cache=True, nogil=True, fastmath=False)
def _chol_solve_upper_t(L, b):
    # x = L^-T b  (back substitution with the transpose of L)
    n = b.shape[0]
    x = np.empty(n)
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= L[k, i] * x[k]
        x[i] = s / L[i, i]
    return x


@njit(cache=True, nogil=True, fastmath=False)
def _try_cholesky(A):
    # (L, True) with A = L L^T, or (A, False) when A is not numerically positive definite
    # (or not finite): the caller then falls back to the QR form
    try:
        return np.linalg.cholesky(A), True
    except Exception:  # numba's LinAlgError; caught here, never raised to the user
        return A, False


@njit(cache=True, nogil=True, fastmath=False)
def _inverse_gaussian(mu, lam):
    """One InverseGaussian(mean mu, shape lam) draw (Michael, Schucany & Haas 1976).

    The textbook smaller root ``mu + mu^2 y / (2 lam) - mu / (2 lam) sqrt(4 mu lam y +
    mu^2 y^2)`` (``y`` a squared normal; numpy's ``wald``) subtracts two numbers of size
    ``mu^2 y / lam``: once ``mu / lam`` passes ``1 / eps`` -- a weak prior, or a coefficient
    small against ``sigma / rate`` -- every digit cancels and the draw is 0 or negative.
    Rationalised, with ``a = mu y / (2 lam)``, the roots are ``mu / (1 + a + sqrt(a^2 +
    2a))`` and ``mu (1 + a + sqrt(a^2 + 2a))`` (their product is ``mu^2``): no cancellation.
    """
    nu = np.random.standard_normal()
    a = mu * (nu * nu) / (2.0 * lam)
    g = 1.0 + a + np.sqrt(a * (a + 2.0))
    x = mu / g
    if np.random.random() * (mu + x) <= mu:  # keep the smaller root w.p. mu / (mu + x)
        return x
    return mu * g


@njit(cache=True, nogil=True, fastmath=False)
def inverse_gaussian_draws(mu, lam, size, seed):
    """``size`` draws of :func:`_inverse_gaussian` (for tests against scipy)."""
    np.random.seed(seed)
    out = np.empty(size)
    for i in range(size):
        out[i] = _inverse_gaussian(mu, lam)
    return out


@njit(cache=True, nogil=True, fastmath=False)
def _draw_cholesky(FtF, Ftf, sd, invtau2, c):
    # form 1: c ~ N(A^-1 F^T f, sd^2 A^-1)
    p = c.shape[0]
    A = FtF.copy()
    for j in range(p):
        A[j, j] += invtau2[j]
    L, ok = _try_cholesky(A)
    if not ok:
        return False
    m1 = _chol_solve_lower(L, Ftf)
    for j in range(p):
        m1[j] += sd * np.random.standard_normal()
    _copy(c, _chol_solve_upper_t(L, m1))
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _prior_and_rhs(F, f, sd, dh):
    # u ~ N(0, sd^2 D) and b = f / sd - F u / sd - e, shared by forms 2 and 3
    m, p = F.shape
    u = np.empty(p)
    for j in range(p):
        u[j] = sd * dh[j] * np.random.standard_normal()
    b = f / sd - (F @ u) / sd
    for i in range(m):
        b[i] -= np.random.standard_normal()
    return u, b


@njit(cache=True, nogil=True, fastmath=False)
def _draw_woodbury(F, f, sd, tau2, c):
    # form 2: M = I + F D F^T by Cholesky
    m, p = F.shape
    u, b = _prior_and_rhs(F, f, sd, np.sqrt(tau2))
    FD = F * tau2  # F diag(tau2)
    M = FD @ F.T
    for i in range(m):
        M[i, i] += 1.0
    L, ok = _try_cholesky(M)
    if not ok:
        return False
    w = _chol_solve_upper_t(L, _chol_solve_lower(L, b))
    _copy(c, u + sd * (FD.T @ w))
    return True


@njit(cache=True, nogil=True, fastmath=False)
def _draw_qr(F, f, sd, tau2, c):
    # form 3: M = R^T R from K = [D^1/2 F^T; I_m] = Q R, without forming M
    m, p = F.shape
    dh = np.sqrt(tau2)
    u, b = _prior_and_rhs(F, f, sd, dh)
    K = np.zeros((p + m, m))
    for j in range(p):
        for i in range(m):
            K[j, i] = dh[j] * F[i, j]
    for i in range(m):
        K[p + i, i] = 1.0
    Q, R = np.linalg.qr(K)
    t = _chol_solve_lower(np.ascontiguousarray(R.T), b)  # R^-T b
    h = np.ascontiguousarray(Q[:p]) @ t
    _copy(c, u + sd * dh * h)


@njit(cache=True, nogil=True, fastmath=False)
def _draw_coef(F, f, FtF, Ftf, colsq, sd, invtau2, draw, c):
    # one draw of c | sigma2, tau2 by form ``draw`` (0: choose); False if non-finite
    m, p = F.shape
    tau2 = 1.0 / invtau2
    ok = False
    if draw == 1 or (draw == 0 and m >= p):
        ok = _draw_cholesky(FtF, Ftf, sd, invtau2, c)
    elif draw == 2 or (draw == 0 and np.sum(tau2 * colsq) <= _COND_MAX):
        ok = _draw_woodbury(F, f, sd, tau2, c)
    if not ok:
        if not (np.all(np.isfinite(tau2)) and np.isfinite(sd)):
            return False
        _draw_qr(F, f, sd, tau2, c)
    return np.all(np.isfinite(c))


@njit(cache=True, nogil=True, fastmath=False)
def gibbs_lasso_chain(
    F, f, f_perp2, n_eff, lam2_init, lam_mode, r_shape, delta_rate, sigma2_fixed,
    n_iter, burn, thin, seed, draw, c, sigma2, invtau2,
    out_c, out_sigma2, out_lam2, out_tau2_sum,
):
    """Run one chain in place; ``c``, ``sigma2`` (array of 1), ``invtau2`` hold the state.

    Draw ``t >= burn`` with ``(t - burn) % thin == 0`` is stored in row
    ``(t - burn) // thin`` of ``out_c`` (and of ``out_sigma2``, ``out_lam2``,
    ``out_tau2_sum``; the last is ``sum_j tau2_j`` for Monte Carlo EM).
    ``sigma2_fixed <= 0`` means sigma2 is sampled. ``draw`` picks the coefficient draw
    (module docstring; 0 lets the kernel choose). Returns ``(lam2, status)``: the final
    ``lam2`` and 0, or ``t + 1`` when the state stopped being finite at iteration ``t``
    (the chain then stops; it cannot happen for a proper posterior).
    """
    np.random.seed(seed)
    m, p = F.shape
    lam2 = lam2_init
    s2 = sigma2[0]
    if sigma2_fixed > 0:
        s2 = sigma2_fixed
    Ftf = F.T @ f
    FtF = F.T @ F if (draw == 1 or (draw == 0 and m >= p)) else np.zeros((1, 1))
    colsq = np.zeros(p)
    for i in range(m):
        for j in range(p):
            colsq[j] += F[i, j] * F[i, j]
    for t in range(n_iter):
        # ---- c | sigma2, tau2
        if not _draw_coef(F, f, FtF, Ftf, colsq, np.sqrt(s2), invtau2, draw, c):
            sigma2[0] = s2
            return lam2, t + 1
        # ---- residual sum of squares, formed directly (no cancellation near a perfect fit)
        res = f - F @ c
        rss = res @ res + f_perp2
        pen = 0.0
        for j in range(p):
            pen += c[j] * c[j] * invtau2[j]
        # ---- sigma2 | c, tau2
        if sigma2_fixed <= 0:
            shape = 0.5 * (n_eff + p)
            scale = 0.5 * (rss + pen)
            s2 = scale / np.random.gamma(shape, 1.0)
        # ---- 1 / tau2_j | c, sigma2, lam2
        tau2_sum = 0.0
        if s2 < 1e-300:  # degenerate data (perfect fit): keep the draws finite
            s2 = 1e-300
        if lam2 < 1e-300:
            lam2 = 1e-300
        for j in range(p):
            cj = abs(c[j])
            if cj < 1e-300:
                cj = 1e-300
            mu = np.sqrt(lam2) * np.sqrt(s2) / cj  # sqrt(lam2 s2 / c_j^2), no underflow
            if mu < 1e-300:
                mu = 1e-300
            elif mu > 1e300:
                mu = 1e300
            invtau2[j] = _inverse_gaussian(mu, lam2)  # 1/tau2_j ~ IG(mu, lam2)
            if invtau2[j] < 1e-300:
                invtau2[j] = 1e-300
            tau2_sum += 1.0 / invtau2[j]
        # ---- lam2 | tau2
        if lam_mode == 1:
            lam2 = np.random.gamma(p + r_shape, 1.0 / (0.5 * tau2_sum + delta_rate))
        if t >= burn and (t - burn) % thin == 0:
            k = (t - burn) // thin
            for j in range(p):
                out_c[k, j] = c[j]
            out_sigma2[k] = s2
            out_lam2[k] = lam2
            out_tau2_sum[k] = tau2_sum
    sigma2[0] = s2
    return lam2, 0
