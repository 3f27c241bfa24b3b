"""numba kernel: one chain of Park & Casella's (2008) Bayesian lasso Gibbs sampler.

Model on the weighted, centred, scaled design ``Z`` (n x p) and response ``z``::

    z | c, sigma2        ~ N(Z c, sigma2 I)
    c_j | tau2_j, sigma2 ~ N(0, sigma2 tau2_j)
    tau2_j | lam2        ~ Exp(rate = lam2 / 2)    (so c_j | sigma2 ~ Laplace(sigma / lam))
    sigma2               ~ 1 / sigma2 (or fixed)
    lam2                 ~ Gamma(shape r, rate delta)   (lam_mode = 1; else fixed)

Full conditionals (``D = diag(tau2)``, ``A = Z^T Z + D^-1``)::

    c | .         ~ N(A^-1 Z^T z, sigma2 A^-1)
    sigma2 | .    ~ InvGamma(N/2 + p/2, ||z - Z c||^2 / 2 + c^T D^-1 c / 2)
    1/tau2_j | .  ~ InverseGaussian(mean sqrt(lam2 sigma2 / c_j^2), shape lam2)
    lam2 | .      ~ Gamma(p + r, rate sum(tau2) / 2 + delta)

``N`` is the effective number of observations (``W - 1`` with an intercept integrated
out). When ``p > n`` the coefficient draw uses Bhattacharya, Chakraborty & Mallick (2016):
``u ~ N(0, sigma2 D)``, ``v = Z u / sigma + e`` (``e ~ N(0, I_n)``), solve
``(Z D Z^T + I) w = z / sigma - v``, ``c = u + sigma D Z^T w`` -- O(n^2 p) per draw.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def gibbs_lasso_chain(
    ZtZ, Ztz, ztz, Z, z, n_eff, wide, lam2_init, lam_mode, r_shape, delta_rate,
    sigma2_fixed, n_iter, burn, thin, seed, c, sigma2, invtau2,
    out_c, out_sigma2, out_lam2, out_tau2_sum,
):
    """Run one chain in place; ``c``, ``sigma2`` (array of 1), ``invtau2`` hold the state.

    Draw ``t >= burn`` with ``(t - burn) % thin == 0`` is stored in row
    ``(t - burn) // thin`` of ``out_c`` (and of ``out_sigma2``, ``out_lam2``,
    ``out_tau2_sum``; the last is ``sum_j tau2_j`` for Monte Carlo EM).
    ``sigma2_fixed <= 0`` means sigma2 is sampled. Returns the final ``lam2``.
    """
    np.random.seed(seed)
    p = c.shape[0]
    n = z.shape[0]
    lam2 = lam2_init
    s2 = sigma2[0]
    if sigma2_fixed > 0:
        s2 = sigma2_fixed
    A = np.empty((p, p))
    for t in range(n_iter):
        sd = np.sqrt(s2)
        # ---- c | sigma2, tau2
        if not wide:
            for i in range(p):  # A = Z^T Z + diag(1 / tau2)
                for j in range(p):
                    A[i, j] = ZtZ[i, j]
                A[i, i] += invtau2[i]
            L = np.linalg.cholesky(A)
            m1 = _chol_solve_lower(L, Ztz)  # L^-1 Z^T z
            for j in range(p):
                m1[j] += sd * np.random.standard_normal()
            c[:] = _chol_solve_upper_t(L, m1)  # mean A^-1 Z^T z, covariance sigma2 A^-1
        else:
            u = np.empty(p)
            for j in range(p):
                u[j] = sd * np.random.standard_normal() / np.sqrt(invtau2[j])
            rhs = z / sd - (Z @ u) / sd
            for i in range(n):
                rhs[i] -= np.random.standard_normal()
            ZD = Z / invtau2  # Z diag(tau2)
            M = ZD @ Z.T
            for i in range(n):
                M[i, i] += 1.0
            wv = np.linalg.solve(M, rhs)
            c[:] = u + sd * (ZD.T @ wv)
        # ---- residual sum of squares
        if not wide:
            Ac = ZtZ @ c
            rss = ztz - 2.0 * (c @ Ztz) + c @ Ac
            if rss < 0.0:
                rss = 0.0
        else:
            r = z - Z @ c
            rss = r @ r
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
            invtau2[j] = np.random.wald(mu, lam2)  # 1/tau2_j ~ InverseGaussian(mu, lam2)
            if invtau2[j] < 1e-300:
                invtau2[j] = 1e-300
            tau2_sum += 1.0 / invtau2[j]
        # ---- lam2 | tau2
        if lam_mode == 1:
            lam2 = np.random.gamma(p + r_shape, 1.0 / (0.5 * tau2_sum + delta_rate))
        if t >= burn and (t - burn) % thin == 0:
            k = (t - burn) // thin
            out_c[k, :] = c
            out_sigma2[k] = s2
            out_lam2[k] = lam2
            out_tau2_sum[k] = tau2_sum
    sigma2[0] = s2
    return lam2
