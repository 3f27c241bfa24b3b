"""Evidence-maximising (empirical Bayes) ridge regression from one decomposition.

Model (``Z``, ``z`` the weighted, centred, scaled design and response of
:mod:`shrinkage.bayes.design`; ``c_j = s_j b_j`` the standardized coefficients)::

    y_i | b ~ N(b0 + x_i . b, 1 / (beta w_i))   (w_i: frequency weights)
    c ~ N(0, I / alpha),   b0 flat (integrated out exactly)

Writing ``alpha = kappa * beta`` and ``Z = U diag(d) V^T`` (rank ``r``, ``e_k = d_k^2``,
``u_k = (U^T z)_k``), the log marginal likelihood maximised over ``beta`` is a function
of ``kappa`` alone, evaluated in ``O(r)``::

    Q(kappa)  = sum_k kappa u_k^2 / (kappa + e_k) + ||z - U u||^2
    beta_hat  = N / Q(kappa),   N = W - 1 with an intercept (W = sum w), else W
    log p     = -(N/2) log(2 pi Q / N) - N/2 + (r/2) log kappa
                - (1/2) sum_k log(kappa + e_k) - [fit_intercept] (1/2) log W

(the last term and ``N = W - 1`` are what integrating the flat intercept leaves:
``int N(y; b0 1 + Z c, .) db0`` equals the Gaussian density of the centred data times
``sqrt(2 pi / (beta W))``). Its slope in ``t = log kappa`` is::

    d log p / dt = (1/2) sum_k e_k / (kappa + e_k)
                   - (N/2) [sum_k kappa e_k u_k^2 / (kappa + e_k)^2] / Q

The maximiser is the root of this slope, found by Brent's method between the neighbours
of the best point of a grid: the slope is accurate to rounding where ``log p`` is flat,
so ``kappa`` is found to machine precision (minimising ``-log p`` itself can only locate
a maximum to about ``sqrt(eps)`` relative).

The MAP / posterior mean is ridge at ``lam = kappa / W`` (shrinkage's units), so the
log-evidence curve can be drawn on the same ``lam`` axis as a cross-validation curve.
Everything is computed on the unit problem of :func:`~shrinkage.bayes.design.prepare`
(``X``, ``y`` divided by powers of two) and mapped back exactly: the log evidence of
``y`` is that of ``y / y_unit`` minus ``N log y_unit``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..user_warnings import warn_user
from ..validation import CheckedScoreWeights, as_real_array, check_numeric_frame
from .design import (
    check_weights,
    effective_n,
    lost_in_scaling,
    prepare,
    spectrum,
    to_data_scale,
    unit_exponent,
)

__all__ = ["EvidenceRidge", "log_evidence_profile"]

_LN2 = float(np.log(2.0))


def log_evidence_profile(kappa, e, u, z_perp2, N, r, W, fit_intercept):
    """Profile log evidence at ridge ratios ``kappa = alpha / beta`` (vectorised).

    Parameters
    ----------
    kappa : array
        Ratios ``alpha / beta`` (``lam * W`` in shrinkage units).
    e, u : array of shape (r,)
        Squared singular values of ``Z`` and the projections ``U^T z``.
    z_perp2 : float
        ``||z - U u||^2``: the part of the response outside the column space.
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


def _slope(t, e, u, z_perp2, N, r, W, fit_intercept):
    """``d log p / d log kappa`` at ``t = log kappa`` (module docstring)."""
    kap = np.exp(t)
    den = kap + e
    Q = max(float(np.sum(kap * u**2 / den)) + z_perp2, np.finfo(float).tiny)
    kdQ = float(np.sum(kap * e * u**2 / den**2))
    return 0.5 * float(np.sum(e / den)) - 0.5 * N * kdQ / Q


def _maximise(args, shift):
    """``(t_best, grid)``: the log ratio ``log kappa`` maximising the profile evidence.

    ``shift`` is ``log lam - log kappa`` (data units), used only in messages.
    """
    e, r = args[0], args[4]
    scale = float(np.mean(e)) if r else 1.0
    grid = np.linspace(np.log(scale * 1e-8), np.log(scale * 1e8), 161)
    lp = log_evidence_profile(np.exp(grid), *args)[0]
    if r == 0:
        warn_user("EvidenceRidge: every feature is constant, so the model is the intercept "
                  "alone and the evidence does not depend on lam; lam_ is the top of the "
                  "search range", ConvergenceWarning)
        return float(grid[-1]), grid
    span = float(lp.max() - lp.min())
    if span <= 1e-10 * (1.0 + abs(float(lp.max()))):
        N = args[3]
        raise ValueError(
            f"EvidenceRidge: the evidence does not depend on lam for these data (it varies by "
            f"{span:.1e} nats over twelve decades of lam): {N:g} effective observation(s) "
            f"left for the noise against a design of rank {r} cannot tell signal from noise. "
            "Fit more observations (n = 2 with an intercept, or n = 1 without, leaves one), or "
            "choose lam otherwise (e.g. by cross-validation)")
    i = int(np.argmax(lp))
    if i in (0, grid.size - 1):
        warn_user(
            "EvidenceRidge: the evidence is maximised at the edge of the search range "
            f"(lam = {np.exp(grid[i] + shift):.3g}); the data carry "
            + ("no detectable signal" if i else "almost no noise")
            + ", so the implied strength is a limit, not an estimate",
            ConvergenceWarning)
        return float(grid[i]), grid
    a, b = float(grid[i - 1]), float(grid[i + 1])
    if _slope(a, *args) > 0.0 > _slope(b, *args):
        t = brentq(_slope, a, b, args=args, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                   maxiter=200)
    else:  # the peak is flat to rounding: its location is immaterial, maximise log p
        t = minimize_scalar(lambda s: -log_evidence_profile(np.exp(s), *args)[0][0],
                            bounds=(a, b), method="bounded", options={"xatol": 1e-12}).x
    t = float(t)
    if log_evidence_profile(np.exp(t), *args)[0][0] < lp[i]:
        t = float(grid[i])
    return t, grid


class EvidenceRidge(CheckedScoreWeights, RegressorMixin, BaseEstimator):
    """Ridge regression whose strength is chosen by the marginal likelihood (evidence).

    Maximises the exact log evidence over the prior precision ``alpha`` (on standardized
    coefficients when ``standardize=True``) and the noise precision ``beta`` (see the
    module docstring), then reports the Gaussian posterior of the coefficients. With
    ``standardize=False``, ``fit_intercept=False`` and unit weights the model is that of
    scikit-learn's ``BayesianRidge`` with all four Gamma hyperparameters set to 0; with an
    intercept the two differ slightly, because here the intercept is integrated out under
    a flat prior (``N = n - 1``) instead of being removed by centring (``N = n``). The
    models then coincide after projecting the data onto the complement of the constant
    vector: ``BayesianRidge(fit_intercept=False)`` on ``H^T X``, ``H^T y`` (``H`` an
    orthonormal basis of that complement) gives the same ``alpha_``, ``beta_`` and
    coefficients, and a log evidence larger by ``(1/2) log n``.

    Parameters
    ----------
    standardize : bool, default True
    fit_intercept : bool, default True
    lams : array, optional
        Strengths (shrinkage units) at which to report the log-evidence curve; the
        maximisation itself is continuous and not restricted to this grid. Default: 41
        values spanning ``kappa`` from ``1e-8`` to ``1e8`` times the mean eigenvalue of
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

    Raises
    ------
    ValueError
        When the evidence does not depend on ``lam`` (e.g. ``n = 2`` with an intercept:
        one residual degree of freedom cannot separate signal from noise), or when a result
        does not fit in float64 at the scale of ``X`` and ``y`` (the message says which to
        divide by a power of ten).
    """

    def __init__(self, standardize=True, fit_intercept=True, lams=None):
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.lams = lams

    def fit(self, X, y, sample_weight=None):
        """Fit by maximising the evidence; ``sample_weight`` are frequency weights."""
        check_numeric_frame(X)
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2,
                             dtype=np.float64)
        y = as_real_array(y, "y")  # strings named (validate_data leaves them)
        lams = None
        if self.lams is not None:
            lams = np.sort(np.asarray(self.lams, dtype=float))[::-1]
            if lams.ndim != 1 or lams.size == 0 or np.any(~np.isfinite(lams)) or np.any(
                lams <= 0
            ):
                raise ValueError("lams must be a non-empty 1-d array of positive numbers")
        w = check_weights(sample_weight, X.shape[0])
        des = prepare(X, y, w, standardize=self.standardize, fit_intercept=self.fit_intercept)
        N = effective_n(des, self.fit_intercept)
        d, V, u, z_perp2 = spectrum(des)
        e = d * d
        args = (e, u, z_perp2, N, e.size, des.W, self.fit_intercept)
        shift = 2 * unit_exponent(des.x_unit) * _LN2 - np.log(des.W)  # log lam - log kappa
        t_best, grid = _maximise(args, shift)
        c = self._set_posterior(des, N, float(np.exp(t_best)), e, u, V, args)
        self._set_curve(des, N, grid, lams, shift, args)
        try:
            self._check_representable(des, c)
        except ValueError:  # leave no half-fitted state behind
            for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
                delattr(self, name)
            raise
        return self

    def _set_posterior(self, des, N, kappa, e, u, V, args):
        """Hyperparameters, posterior mean and sds, mapped from the unit problem.

        Returns the posterior mean ``c`` of the unit problem (to check the mapping).
        """
        lp, beta = log_evidence_profile(kappa, *args)
        beta = float(beta[0])
        ex, ey = unit_exponent(des.x_unit), unit_exponent(des.y_unit)
        self.lam_ = float(to_data_scale(kappa / des.W, 2 * ex))
        self.beta_ = float(to_data_scale(beta, -2 * ey))
        self.alpha_ = float(to_data_scale(kappa * beta, 2 * (ex - ey)))
        self.noise_sd_ = float(to_data_scale(1.0 / np.sqrt(beta), ey))
        self.prior_sd_ = float(to_data_scale(1.0 / np.sqrt(kappa * beta), ey - ex))
        self.log_evidence_max_ = float(lp[0]) - N * ey * _LN2

        c = V @ (np.sqrt(e) / (e + kappa) * u)
        self.coef_ = to_data_scale(c, ey, des.scale)
        self.coef_[des.const] = 0.0
        self.intercept_ = (float(des.ybar - des.xbar @ self.coef_) if self.fit_intercept
                           else 0.0)
        # posterior covariance of the unit-problem c:
        # (1/beta) [V diag(1/(kappa+e)) V^T + (I - V V^T)/kappa]; data scale is y_unit / scale
        self._V = V
        self._shrink = (1.0 / (kappa + e) - 1.0 / kappa) / beta  # low-rank correction
        self._iso = 1.0 / (kappa * beta)
        self._noise_var = 1.0 / beta
        self._y_unit = des.y_unit
        self._scale = des.scale
        self._xbar = des.xbar
        self._W = des.W
        var_c = self._iso + (V * V) @ self._shrink
        self.coef_sd_ = to_data_scale(np.sqrt(np.maximum(var_c, 0.0)), ey, des.scale)
        if self.fit_intercept:
            xs = des.xbar / des.scale
            var_b0 = self._noise_var / des.W + self._quad(xs[None, :])[0]
            self.intercept_sd_ = float(to_data_scale(np.sqrt(var_b0), ey))
        else:
            self.intercept_sd_ = 0.0
        return c

    def _set_curve(self, des, N, grid, lams, shift, args):
        """``lams_`` (default: every 4th grid point) and the log evidence along it."""
        ey = unit_exponent(des.y_unit)
        if lams is None:
            with np.errstate(over="ignore", under="ignore"):
                lams = np.exp(grid[::-4] + shift)
            lams = lams[np.isfinite(lams) & (lams >= np.finfo(float).tiny)]  # float64's range
        t = np.clip(np.log(lams) - shift, -690.0, 690.0)
        self.lams_ = lams
        self.log_evidence_ = log_evidence_profile(np.exp(t), *args)[0] - N * ey * _LN2

    def _check_representable(self, des, c):
        """Refuse, naming what to rescale, when a result left float64's normal range."""
        y_only = "divide y by a power of ten"
        both = "divide y (or X) by a power of ten"
        x_hint = "divide X by a power of ten" if not self.standardize else both
        checks = [  # (name, value, unit-problem value or None for a positive quantity, hint)
            ("lam_", self.lam_, None, x_hint), ("beta_", self.beta_, None, y_only),
            ("noise_sd_", self.noise_sd_, None, y_only), ("alpha_", self.alpha_, None, both),
            ("prior_sd_", self.prior_sd_, None, both), ("coef_", self.coef_, c, both),
            ("coef_sd_", self.coef_sd_, None, both),
            ("intercept_", self.intercept_, 0.0, y_only),
            ("intercept_sd_", self.intercept_sd_, 0.0, y_only),
            ("log_evidence_max_", self.log_evidence_max_, 0.0, y_only),
        ]
        for name, value, unit, hint in checks:
            if lost_in_scaling(value if unit is None else unit, value, positive=unit is None):
                raise ValueError(
                    f"EvidenceRidge: {name} does not fit in float64 for data on this scale "
                    f"(y varies by about {des.y_unit:.1e}"
                    + ("" if self.standardize else f", X by about {des.x_unit:.1e}")
                    + f"); {hint} and scale the results back (the model is "
                    "scale-equivariant: coefficients scale with y / X, precisions with 1 / y^2)")

    def _quad(self, Xs):
        """Rows' ``x^T Sigma_c x`` for standardized rows ``Xs`` (posterior of ``c``)."""
        proj = Xs @ self._V
        return self._iso * np.einsum("ij,ij->i", Xs, Xs) + (proj * proj) @ self._shrink

    def predict(self, X, return_std=False):
        """Posterior predictive mean (and sd, including the noise) at ``X``.

        ``sd^2 = 1/beta + (x - xbar)^T Sigma_b (x - xbar) + [fit_intercept] 1/(beta W)``.
        """
        check_is_fitted(self)
        check_numeric_frame(X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return mean
        # models saved before the unit problem existed hold data-scale _iso and _shrink
        y_unit = getattr(self, "_y_unit", 1.0)
        noise_var = getattr(self, "_noise_var", 1.0 / self.beta_)
        Xs = (X - self._xbar) / self._scale
        var = noise_var + self._quad(Xs)
        if self.fit_intercept:
            var += noise_var / self._W
        return mean, to_data_scale(np.sqrt(var), unit_exponent(y_unit))

    def coef_covariance(self):
        """Posterior covariance matrix of ``coef_`` (``p x p``; built on demand)."""
        check_is_fitted(self)
        V = self._V
        cov = (V * self._shrink) @ V.T
        cov[np.diag_indices_from(cov)] += self._iso
        f = to_data_scale(np.ones_like(self._scale), unit_exponent(getattr(self, "_y_unit", 1.0)),
                          self._scale)
        with np.errstate(over="ignore"):
            cov = cov * np.outer(f, f)
        if not np.all(np.isfinite(cov)):
            raise ValueError("EvidenceRidge: the posterior covariance does not fit in float64 "
                             "at the scale of these data; divide y by a power of ten")
        return cov

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
