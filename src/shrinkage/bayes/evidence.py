"""Evidence-maximising (empirical Bayes) ridge regression from one decomposition.

Model (``Z``, ``z`` the weighted, centred, scaled design and response of
:mod:`shrinkage.bayes._design`; ``c_j = s_j b_j`` the standardized coefficients)::

    y_i | b ~ N(b0 + x_i . b, 1 / (beta w_i))   (w_i: frequency weights)
    c ~ N(0, I / alpha),   b0 flat (integrated out exactly)

Writing ``alpha = kappa * beta`` and ``Z = U diag(d) V^T`` (rank ``r``, ``e_k = d_k^2``,
``u_k = (U^T z)_k``), the log marginal likelihood maximised over ``beta`` is a function
of ``kappa`` alone, evaluated in ``O(r)``::

    Q(kappa)  = sum_k kappa u_k^2 / (kappa + e_k) + (||z||^2 - sum_k u_k^2)
    beta_hat  = N / Q(kappa),   N = W - 1 with an intercept (W = sum w), else W
    log p     = -(N/2) log(2 pi Q / N) - N/2 + (r/2) log kappa
                - (1/2) sum_k log(kappa + e_k) - [fit_intercept] (1/2) log W

The MAP / posterior mean is ridge at ``lam = kappa / W`` (shrinkage's units), so the
log-evidence curve can be drawn on the same ``lam`` axis as a cross-validation curve.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..engine.ridge import decompose
from .design import check_weights, effective_n, prepare

__all__ = ["EvidenceRidge", "log_evidence_profile"]


def log_evidence_profile(kappa, e, u, z_perp2, N, r, W, fit_intercept):
    """Profile log evidence at ridge ratios ``kappa = alpha / beta`` (vectorised).

    Parameters
    ----------
    kappa : array
        Ratios ``alpha / beta`` (``lam * W`` in shrinkage units).
    e, u : array of shape (r,)
        Squared singular values of ``Z`` and the projections ``U^T z``.
    z_perp2 : float
        ``||z||^2 - ||u||^2``: the part of the response outside the column space.
    N : float
        Effective number of observations (``W - 1`` with an intercept).

    Returns
    -------
    log_p : ndarray
    beta_hat : ndarray
        Profiled noise precision ``N / Q(kappa)``.
    """
    kap = np.atleast_1d(np.asarray(kappa, dtype=float))[:, None]
    Q = np.sum(kap * u**2 / (kap + e), axis=1) + z_perp2
    Q = np.maximum(Q, np.finfo(float).tiny)
    logp = (
        -0.5 * N * np.log(2 * np.pi * Q / N)
        - 0.5 * N
        + 0.5 * r * np.log(kap[:, 0])
        - 0.5 * np.sum(np.log(kap + e), axis=1)
    )
    if fit_intercept:
        logp -= 0.5 * np.log(W)
    return logp, N / Q


class EvidenceRidge(RegressorMixin, BaseEstimator):
    """Ridge regression whose strength is chosen by the marginal likelihood (evidence).

    Maximises the exact log evidence over the prior precision ``alpha`` (on standardized
    coefficients when ``standardize=True``) and the noise precision ``beta`` (see the
    module docstring), then reports the Gaussian posterior of the coefficients. With
    ``standardize=False``, ``fit_intercept=False`` and unit weights the model is that of
    scikit-learn's ``BayesianRidge`` with all four Gamma hyperparameters set to 0; with an
    intercept the two differ slightly, because here the intercept is integrated out under
    a flat prior (``N = n - 1``) instead of being removed by centring (``N = n``).

    Parameters
    ----------
    standardize : bool, default True
    fit_intercept : bool, default True
    lams : array, optional
        Strengths (shrinkage units) at which to report the log-evidence curve; the
        maximisation itself is continuous and not restricted to this grid. Default: 100
        values spanning ``kappa`` from ``1e-6`` to ``1e6`` times the mean eigenvalue of
        ``Z^T Z``, divided by ``W``.

    Attributes
    ----------
    lam_ : float
        The evidence-maximising strength in shrinkage units (``alpha / (beta W)``).
    alpha_, beta_ : float
        Prior precision of the (standardized) coefficients and noise precision.
    noise_sd_ : float
        ``1 / sqrt(beta_)``.
    prior_sd_ : float
        ``1 / sqrt(alpha_)``: prior sd of each standardized coefficient.
    coef_, intercept_ : posterior mean (original feature scale) -- ridge at ``lam_``.
    coef_sd_ : ndarray of shape (p,)
        Posterior standard deviations of the coefficients.
    intercept_sd_ : float
    lams_, log_evidence_ : ndarray
        The log-evidence curve (``lams_`` decreasing, like a path).
    log_evidence_max_ : float
    n_features_in_ : int
    """

    def __init__(self, standardize=True, fit_intercept=True, lams=None):
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.lams = lams

    def fit(self, X, y, sample_weight=None):
        """Fit by maximising the evidence; ``sample_weight`` are frequency weights."""
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2,
                             dtype=np.float64)
        n, p = X.shape
        w = check_weights(sample_weight, n)
        des = prepare(X, y, w, standardize=self.standardize, fit_intercept=self.fit_intercept)
        W = des.W
        N = effective_n(des, self.fit_intercept)
        if np.any(des.Z):
            U, d, V = decompose(des.Z, need_u=False)
            # U^T z = diag(1/d) V^T Z^T z: no n x r matrix U is needed when n > p
            u = U.T @ des.z if U is not None else (V.T @ (des.Z.T @ des.z)) / d
        else:  # every feature constant: the model is the intercept alone
            d, V, u = np.zeros(0), np.zeros((p, 0)), np.zeros(0)
        e = d * d
        z2 = float(des.z @ des.z)
        z_perp2 = max(z2 - float(u @ u), 0.0)
        r = e.size
        args = (e, u, z_perp2, N, r, W, self.fit_intercept)

        scale = float(np.mean(e)) if r else 1.0
        lo, hi = np.log(scale * 1e-8), np.log(scale * 1e8)
        grid = np.linspace(lo, hi, 161)
        lp_grid, _ = log_evidence_profile(np.exp(grid), *args)
        i = int(np.argmax(lp_grid))
        if 0 < i < grid.size - 1:
            opt = minimize_scalar(
                lambda t: -log_evidence_profile(np.exp(t), *args)[0][0],
                bracket=(grid[i - 1], grid[i], grid[i + 1]),
                options={"xtol": 1e-10},
            )
            t_best = float(opt.x)
        else:
            t_best = float(grid[i])
            warnings.warn(
                "EvidenceRidge: the evidence is maximised at the edge of the search range "
                f"(lam = {np.exp(t_best) / W:.3g}); the data carry "
                + ("no detectable signal" if i else "almost no noise")
                + ", so the implied strength is a limit, not an estimate",
                ConvergenceWarning,
                stacklevel=2,
            )
        kappa = float(np.exp(t_best))
        lp, beta = log_evidence_profile(kappa, *args)
        beta = float(beta[0])

        self.lam_ = kappa / W
        self.beta_ = beta
        self.alpha_ = kappa * beta
        self.noise_sd_ = 1.0 / np.sqrt(beta)
        self.prior_sd_ = 1.0 / np.sqrt(self.alpha_)
        self.log_evidence_max_ = float(lp[0])

        c = V @ (d / (e + kappa) * u)
        self.coef_ = c / des.scale
        self.coef_[des.const] = 0.0
        self.intercept_ = float(des.ybar - des.xbar @ self.coef_) if self.fit_intercept else 0.0
        # posterior covariance of c: (1/beta) [V diag(1/(kappa+e)) V^T + (I - V V^T)/kappa]
        self._V = V
        self._shrink = (1.0 / (kappa + e) - 1.0 / kappa) / beta  # low-rank correction
        self._iso = 1.0 / (kappa * beta)  # = 1 / alpha
        self._scale = des.scale
        self._xbar = des.xbar
        self._W = W
        var_c = self._iso + (V * V) @ self._shrink
        self.coef_sd_ = np.sqrt(np.maximum(var_c, 0.0)) / des.scale
        if self.fit_intercept:
            xs = des.xbar / des.scale
            var_b0 = 1.0 / (beta * W) + self._quad(xs[None, :])[0]
            self.intercept_sd_ = float(np.sqrt(var_b0))
        else:
            self.intercept_sd_ = 0.0

        if self.lams is None:
            lams = np.exp(grid[::-4]) / W
        else:
            lams = np.sort(np.asarray(self.lams, dtype=float))[::-1]
            if lams.ndim != 1 or lams.size == 0 or np.any(~np.isfinite(lams)) or np.any(
                lams <= 0
            ):
                raise ValueError("lams must be a non-empty 1-d array of positive numbers")
        self.lams_ = lams
        self.log_evidence_ = log_evidence_profile(lams * W, *args)[0]
        return self

    def _quad(self, Xs):
        """Rows' ``x^T Sigma_c x`` for standardized rows ``Xs`` (posterior of ``c``)."""
        proj = Xs @ self._V
        return self._iso * np.einsum("ij,ij->i", Xs, Xs) + (proj * proj) @ self._shrink

    def predict(self, X, return_std=False):
        """Posterior predictive mean (and sd, including the noise) at ``X``.

        ``sd^2 = 1/beta + (x - xbar)^T Sigma_b (x - xbar) + [fit_intercept] 1/(beta W)``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return mean
        Xs = (X - self._xbar) / self._scale
        var = 1.0 / self.beta_ + self._quad(Xs)
        if self.fit_intercept:
            var += 1.0 / (self.beta_ * self._W)
        return mean, np.sqrt(var)

    def coef_covariance(self):
        """Posterior covariance matrix of ``coef_`` (``p x p``; built on demand)."""
        check_is_fitted(self)
        V = self._V
        cov = (V * self._shrink) @ V.T
        cov[np.diag_indices_from(cov)] += self._iso
        return cov / np.outer(self._scale, self._scale)

    def credible_intervals(self, level=0.9):
        """Equal-tailed posterior intervals for ``coef_``, shape ``(p, 2)``.

        The posterior given the evidence-maximising ``alpha_, beta_`` is Gaussian, so the
        interval is ``coef_ +/- z_{(1+level)/2} * coef_sd_``.
        """
        check_is_fitted(self)
        level = float(level)
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        q = norm.ppf(0.5 + level / 2)
        return np.column_stack([self.coef_ - q * self.coef_sd_, self.coef_ + q * self.coef_sd_])

    def prior(self):
        """The Gaussian prior chosen by the evidence, as a :class:`~shrinkage.bayes.Prior`."""
        from .priors import implied_prior

        check_is_fitted(self)
        return implied_prior(self.lam_, l1_ratio=0.0, noise_sd=self.noise_sd_,
                             n_samples=self._W, standardize=self.standardize)
