"""Laplace-approximation evidence for binomial and poisson ridge, and its best ``lam``.

Model (standardized coefficients ``c_j = s_j b_j``, frequency weights ``w``)::

    y_i ~ Binomial(1, sigmoid(eta_i)) or Poisson(exp(eta_i)),  eta_i = b0 + x_i . b
    c ~ N(0, I / alpha),  b0 flat,   alpha = lam * W   (shrinkage's ridge ``lam``)

(computed on a design divided by a power of two, where ``alpha`` is ``lam W / x_unit^2``
when ``standardize=False``: a change of variables, which leaves the evidence unchanged)

With ``f(theta) = sum_i w_i nll_i + alpha/2 ||c||^2`` the MAP is shrinkage's ridge fit at
``lam``, and Laplace's method gives (``H`` the Hessian of ``f`` at the MAP, ``r`` the rank
of the centred design)::

    log p(y | lam) ~= -f(theta_hat) + (r/2) log alpha - (1/2) log det H
                      + [fit_intercept] (1/2) log(2 pi)

When ``p > n`` the problem is solved in the ``r``-dimensional row space of ``X`` (thin
SVD ``X_s = U S V^T``, ``c = V gamma``): the likelihood does not see the null space, where
the prior and the posterior coincide, so the ``(p - r)`` null directions cancel exactly
between the prior's normaliser and ``det H``. The MAP itself is found by a damped Newton
method (each step a Cholesky solve in dimension ``r + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize_scalar
from scipy.special import expit, gammaln
from sklearn.exceptions import ConvergenceWarning

from ..user_warnings import warn_user
from ..validation import as_real_array, check_scalar, refuse_sparse
from .design import check_weights, scaled_columns, to_data_scale, unit_exponent

__all__ = ["GLMEvidence", "glm_evidence"]

_FAMILIES = ("binomial", "poisson")


@dataclass(frozen=True, eq=False)
class GLMEvidence:
    """Laplace evidence along a ``lam`` grid and the evidence-maximising fit.

    Attributes
    ----------
    family : str
    lams : ndarray (decreasing)
    log_evidence : ndarray
    coefs : ndarray of shape (n_lams, p), intercepts : ndarray of shape (n_lams,)
        MAP (= ridge) fits on the original feature scale.
    lam_best : float
        Continuous maximiser of the Laplace evidence.
    coef, intercept : the MAP fit at ``lam_best``
    log_evidence_max : float
    coef_sd : ndarray of shape (p,)
        Laplace-approximation posterior sd of the coefficients at ``lam_best``.
    gradient_norm : ndarray of shape (n_lams,)
        ``max |grad f|`` at each returned MAP (its optimality certificate).
    """

    family: str
    lams: np.ndarray
    log_evidence: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    lam_best: float
    coef: np.ndarray
    intercept: float
    log_evidence_max: float
    coef_sd: np.ndarray
    gradient_norm: np.ndarray


def _nll(family, eta, y, w):
    """Weighted negative log-likelihood, its derivative and curvature in eta."""
    if family == "binomial":
        mu = expit(eta)
        val = np.logaddexp(0.0, eta) - y * eta
        v = mu * (1.0 - mu)
    else:
        mu = np.exp(np.minimum(eta, 700.0))
        val = mu - y * eta + gammaln(y + 1.0)
        v = mu
    return float(w @ val), w * (mu - y), w * v


class _Problem:
    """The reduced MAP problem in ``theta = (b0, gamma)`` (b0 only with an intercept)."""

    def __init__(self, family, F, y, w, fit_intercept):
        self.family, self.F, self.y, self.w = family, F, y, w
        self.fit_intercept = fit_intercept
        n, r = F.shape
        self.A = np.column_stack([np.ones(n), F]) if fit_intercept else F
        self.k0 = 1 if fit_intercept else 0
        self.r = r

    def value(self, theta, alpha):
        g = theta[self.k0 :]
        return _nll(self.family, self.A @ theta, self.y, self.w)[0] + 0.5 * alpha * g @ g

    def grad_hess(self, theta, alpha):
        val, d1, d2 = _nll(self.family, self.A @ theta, self.y, self.w)
        pen = np.zeros_like(theta)
        pen[self.k0 :] = alpha
        grad = self.A.T @ d1 + pen * theta
        H = self.A.T @ (d2[:, None] * self.A)
        H[np.diag_indices_from(H)] += pen
        g = theta[self.k0 :]
        return val + 0.5 * alpha * g @ g, grad, H

    def solve(self, alpha, theta, tol, max_iter):
        """Damped Newton; returns theta, f, grad, H (at the solution), converged."""
        f, grad, H = self.grad_hess(theta, alpha)
        for _ in range(max_iter):
            step = cho_solve(cho_factor(H), grad)
            t = 1.0
            slack = 1e-11 * (1.0 + abs(f))  # rounding in f must not block a Newton step
            while True:  # halve until the objective decreases (it is convex)
                new = theta - t * step
                f_new = self.value(new, alpha)
                if f_new <= f + slack or t < 1e-10:
                    break
                t *= 0.5
            theta = new
            f, grad, H = self.grad_hess(theta, alpha)
            if np.max(np.abs(grad)) <= tol * max(1.0, float(self.w.sum())):
                return theta, f, grad, H, True
        return theta, f, grad, H, False

    def log_evidence(self, alpha, f, H):
        _, logdet = np.linalg.slogdet(H)
        le = -f + 0.5 * self.r * np.log(alpha) - 0.5 * logdet
        return le + (0.5 * np.log(2 * np.pi) if self.fit_intercept else 0.0)


def _check_inputs(X, y, family, sample_weight, lams, n_lams):
    """``(X, y, w, lams)`` checked, with the grid sorted strongest first."""
    if family not in _FAMILIES:
        raise ValueError(f"family must be 'binomial' or 'poisson', got {family!r}")
    refuse_sparse(X, "glm_evidence", "its Laplace approximation factors a dense p x p "
                  "Hessian")
    # complex, strings and dates are refused by name (not silently cast)
    X = as_real_array(X, "X")
    y = as_real_array(y, "y")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be 2-d with at least 2 rows, got shape {X.shape}")
    n, p = X.shape
    if p == 0:
        raise ValueError("X has no columns (0 features): there is no prior to weigh")
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X or y contains NaN or inf")
    if family == "binomial" and (np.any(y < 0) or np.any(y > 1)):
        raise ValueError("binomial y must lie in [0, 1] (0/1 labels or proportions)")
    if family == "poisson" and np.any(y < 0):
        raise ValueError("poisson y must be non-negative counts")
    w = check_weights(sample_weight, n)
    if lams is None:
        lams = np.logspace(1, -5, check_scalar(n_lams, "n_lams", lo=1, integer=True))
    lams = np.sort(np.asarray(lams, dtype=float))[::-1]
    if lams.ndim != 1 or lams.size == 0 or np.any(~np.isfinite(lams)) or np.any(lams <= 0):
        raise ValueError("lams must be a non-empty 1-d array of positive numbers")

    return X, y, w, lams


def _refuse_flat_mode(y, w, family):
    """With a flat intercept, ``y`` at the edge of its range on every weighted row (one
    class; all zero counts) has no posterior mode: the intercept runs off to infinity."""
    live = y[w > 0]
    if family == "binomial" and (np.all(live == 0) or np.all(live == 1)):
        raise ValueError(f"binomial y is {int(live[0])} on every row with positive weight "
                         "(one class): with a flat prior on the intercept there is no "
                         "posterior mode")
    if family == "poisson" and np.all(live == 0):
        raise ValueError("poisson y is 0 on every row with positive weight: with a flat "
                         "prior on the intercept there is no posterior mode")


def _unit_design(X, wn, W, lams, standardize, fit_intercept):
    """``(F, V, xbar, scale, const, ex)``: the design the MAP problem is solved on.

    Centring only conditions the problem (``b0`` is flat, the evidence is unchanged). The
    unit design ``Xs = (X - xbar) / scale`` has entries of order one whatever the size of
    ``X`` (powers of two, exact); ``c = scale * b``, so the prior precision of ``c`` is
    ``lam W / x_unit^2`` (``x_unit = 2**ex``) and the evidence, a density of ``y``, does
    not change. When ``p > n``, ``F = U S`` and ``c = V gamma`` (row space); else ``F = Xs``.
    """
    n, p = X.shape
    Xs, xbar, scale, const, x_unit = scaled_columns(X, wn, standardize=standardize,
                                                    fit_intercept=fit_intercept)
    ex = unit_exponent(x_unit)
    for lam in (lams[0], lams[-1]):
        a = float(to_data_scale(lam * W, -2 * ex))
        if not (np.isfinite(a) and a > 0):
            raise ValueError(
                f"glm_evidence: lam = {lam:.3g} is outside float64's range on the scale of X "
                f"(about {x_unit:.1e}; lam carries the units of 1 / X^2 when "
                "standardize=False); divide X by a power of ten and multiply lams by its square")
    if p <= n:
        return Xs, None, xbar, scale, const, ex
    U, S, Vt = np.linalg.svd(Xs, full_matrices=False)
    keep = S > max(n, p) * np.finfo(float).eps * (S[0] if S.size else 0.0)
    return U[:, keep] * S[keep], Vt[keep].T, xbar, scale, const, ex


def glm_evidence(
    X,
    y,
    family="binomial",
    *,
    lams=None,
    n_lams=30,
    standardize=True,
    fit_intercept=True,
    sample_weight=None,
    tol=1e-9,
    max_iter=100,
):
    """Laplace-approximation evidence of binomial / poisson ridge and its maximiser.

    Parameters
    ----------
    X : array of shape (n, p)
    y : array of shape (n,)
        0/1 (or proportions in [0, 1]) for binomial; non-negative counts for poisson.
    family : {"binomial", "poisson"}
    lams : array, optional
        Grid for the evidence curve (positive); default ``n_lams`` values log-spaced over
        ``[1e-5, 10]``.
    standardize, fit_intercept : bool, default True
    sample_weight : array of shape (n,), optional
        Frequency weights.
    tol : float
        Newton stops when ``max |grad f| <= tol * max(1, W)``.

    Returns
    -------
    GLMEvidence
        ``lam_best`` maximises the evidence continuously (Brent's method around the best
        grid point); a ConvergenceWarning says when the maximum is at an end of the grid.
    """
    tol = check_scalar(tol, "tol", lo=0.0, lo_open=True)
    max_iter = check_scalar(max_iter, "max_iter", lo=1, integer=True)
    X, y, w, lams = _check_inputs(X, y, family, sample_weight, lams, n_lams)
    if fit_intercept:
        _refuse_flat_mode(y, w, family)
    p = X.shape[1]
    W = float(w.sum())
    wn = w / W
    F, V, xbar, s, const, ex = _unit_design(X, wn, W, lams, standardize, fit_intercept)
    prob = _Problem(family, F, y, w, fit_intercept)

    theta = np.zeros(prob.k0 + F.shape[1])
    if fit_intercept:
        m = float(np.clip(wn @ y, 1e-6, 1 - 1e-6)) if family == "binomial" else max(wn @ y, 1e-6)
        theta[0] = np.log(m / (1 - m)) if family == "binomial" else np.log(m)

    def to_coef(th):
        g = th[prob.k0 :]
        c = V @ g if V is not None else g.copy()
        b = c / s
        b[const] = 0.0
        b0 = (th[0] - xbar @ b) if fit_intercept else 0.0
        return b, float(b0)

    def fit_at(lam, start):
        alpha = float(to_data_scale(lam * W, -2 * ex))
        th, f, grad, H, ok = prob.solve(alpha, start.copy(), tol, max_iter)
        if not ok:
            warn_user(f"glm_evidence: Newton did not converge at lam={lam:.3g} "
                      f"(max |grad| {np.max(np.abs(grad)):.2e})", ConvergenceWarning)
        return th, prob.log_evidence(alpha, f, H), H, float(np.max(np.abs(grad)))

    L = lams.size
    coefs, inters = np.empty((L, p)), np.empty(L)
    le, gnorm = np.empty(L), np.empty(L)
    thetas = []
    th = theta
    for i, lam in enumerate(lams):  # strongest first: warm starts along the grid
        th, le[i], _, gnorm[i] = fit_at(lam, th)
        thetas.append(th)
        coefs[i], inters[i] = to_coef(th)

    i = int(np.argmax(le))
    if L == 1:  # a single strength: nothing to maximise over
        lam_best = float(lams[0])
    elif 0 < i < L - 1:
        t_lo, t_hi = np.log(lams[i + 1]), np.log(lams[i - 1])
        opt = minimize_scalar(lambda t: -fit_at(np.exp(t), thetas[i])[1], bounds=(t_lo, t_hi),
                              method="bounded", options={"xatol": 1e-6})
        lam_best = float(np.exp(opt.x))
    else:
        lam_best = float(lams[i])
        warn_user(
            f"glm_evidence: the evidence is largest at the end of the lam grid "
            f"(lam = {lam_best:.3g}); widen lams", ConvergenceWarning)
    th, le_best, H, _ = fit_at(lam_best, thetas[i])
    coef, inter = to_coef(th)
    # Laplace posterior sd of b: diag of V H^-1 V^T (+ prior variance in the null space)
    Hinv = np.linalg.inv(H)[prob.k0 :, prob.k0 :]
    if V is not None:
        alpha = float(to_data_scale(lam_best * W, -2 * ex))
        var_c = np.einsum("jk,kl,jl->j", V, Hinv, V) + (1.0 - np.sum(V * V, 1)) / alpha
    else:
        var_c = np.diag(Hinv).copy()
    coef_sd = np.sqrt(np.maximum(var_c, 0.0)) / s
    return GLMEvidence(
        family=family, lams=lams, log_evidence=le, coefs=coefs, intercepts=inters,
        lam_best=lam_best, coef=coef, intercept=inter, log_evidence_max=float(le_best),
        coef_sd=coef_sd, gradient_norm=gnorm,
    )
