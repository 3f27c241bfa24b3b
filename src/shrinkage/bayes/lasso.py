"""The Bayesian lasso (Park & Casella 2008): the Laplace prior as a scale mixture of normals.

The prior on each standardized coefficient is ``c_j | sigma ~ Laplace(0, sigma / rate)``
(Park & Casella's ``lambda`` is ``rate``). For a fixed noise sd ``sigma`` the negative log
posterior is ``(W / sigma^2)`` times shrinkage's lasso objective at

    lam = rate * sigma / W

so the posterior mode is the lasso at that ``lam`` (see :mod:`shrinkage.bayes.priors`).
The Gibbs sampler itself is :func:`shrinkage.bayes._gibbs.gibbs_lasso_chain` (numba).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..validation import store_params
from .design import check_weights, effective_n, prepare
from .diagnostics import ess, rhat
from .gibbs import gibbs_lasso_chain

__all__ = ["BayesianLasso"]


class BayesianLasso(RegressorMixin, BaseEstimator):
    """Bayesian lasso regression by Gibbs sampling, with several chains and diagnostics.

    Parameters
    ----------
    lam : float, "gamma" or "em", default "gamma"
        How the strength is set.

        * float: fixed, in shrinkage units; requires a fixed ``sigma``. The prior is then
          ``c_j ~ Laplace(0, sigma^2 / (W lam))`` and the posterior mode is the lasso at
          ``lam`` exactly.
        * ``"gamma"``: Park & Casella's hierarchical model with ``rate^2 ~ Gamma(shape
          gamma_shape, rate gamma_rate)``.
        * ``"em"``: empirical Bayes by Monte Carlo EM (``rate^2 <- 2p / E[sum tau2_j]``)
          for ``n_em_iter`` rounds of ``em_draws`` draws per chain, then sampling at the
          estimate.
    sigma : float or None, default None
        Fixed noise sd; None samples ``sigma^2`` under the prior ``1 / sigma^2``.
    gamma_shape, gamma_rate : float, default 1.0 and 1.78
        Hyperprior on ``rate^2`` (Park & Casella's choice for the diabetes data).
    n_draws : int, default 1000
        Kept draws per chain (after burn-in and thinning).
    burn_in : int, default 500
    thin : int, default 1
    n_chains : int, default 4
    n_em_iter, em_draws : int, default 50 and 100
        A ConvergenceWarning says so when the last 10 EM estimates still drift by more
        than 5% (Monte Carlo EM converges slowly when the data say little about ``rate``).
    standardize, fit_intercept : bool, default True
    random_state : int or None, default 0
        Chain ``k`` uses the seed stream ``(random_state, k)``; results are reproducible
        for an integer (None: fresh entropy).
    n_jobs : int, default 1
        Chains run in this many threads (the kernel releases the GIL).
    rhat_max : float, default 1.05
    min_ess : float, default 100
        A :class:`sklearn.exceptions.ConvergenceWarning` names the coefficients whose
        split R-hat exceeds ``rhat_max`` or whose effective sample size is below
        ``min_ess``.

    Attributes
    ----------
    coef_ : posterior mean of the coefficients (original feature scale)
    coef_median_ : posterior median
    intercept_ : posterior mean of the intercept
    coef_samples_ : ndarray of shape (n_chains, n_draws, p)
    intercept_samples_, sigma_samples_, lam_samples_ : ndarray of shape (n_chains, n_draws)
        ``lam_samples_`` is ``rate * sigma / W`` per draw: the lasso strength whose mode
        equals the posterior mode given that draw's noise level and rate.
    lam_ : float
        Posterior median of ``lam_samples_``.
    rate_ : float
        Park & Casella's ``lambda`` (fixed, EM estimate, or posterior median).
    rhat_, ess_ : ndarray of shape (p,)
    converged_ : bool
        Whether every coefficient passed the R-hat and ESS checks.
    """

    def __init__(
        self,
        lam="gamma",
        sigma=None,
        gamma_shape=1.0,
        gamma_rate=1.78,
        n_draws=1000,
        burn_in=500,
        thin=1,
        n_chains=4,
        n_em_iter=50,
        em_draws=100,
        standardize=True,
        fit_intercept=True,
        random_state=0,
        n_jobs=1,
        rhat_max=1.05,
        min_ess=100.0,
    ):
        store_params(self, locals())

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        def pos_int(name, minimum=1):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")

        for name in ("n_draws", "thin", "n_chains", "n_jobs", "em_draws"):
            pos_int(name)
        pos_int("burn_in", 0)
        pos_int("n_em_iter", 0)
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, (int, np.integer))
                               or rs < 0):
            raise ValueError(f"random_state must be None or an integer >= 0, got {rs!r}")
        if self.sigma is not None and not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be None or a positive number, got {self.sigma!r}")
        for name in ("gamma_shape", "gamma_rate", "rhat_max"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if isinstance(self.lam, str):
            if self.lam not in ("gamma", "em"):
                raise ValueError(f"lam must be a positive float, 'gamma' or 'em', got {self.lam!r}")
        else:
            lam = float(self.lam)
            if not (np.isfinite(lam) and lam > 0):
                raise ValueError(f"lam must be a positive float, 'gamma' or 'em', got {self.lam!r}")
            if self.sigma is None:
                raise ValueError(
                    "a fixed float lam needs a fixed noise sd sigma: lam = rate * sigma / W "
                    "ties the Laplace rate to sigma; use lam='gamma' or 'em' to sample sigma"
                )
        if self.n_chains < 2:
            warnings.warn("n_chains < 2: R-hat compares halves of one chain only", UserWarning,
                          stacklevel=3)

    # ---------------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Sample the posterior. ``sample_weight`` are frequency (precision) weights."""
        self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2,
                             dtype=np.float64)
        n, p = X.shape
        w = check_weights(sample_weight, n)
        des = prepare(X, y, w, standardize=self.standardize, fit_intercept=self.fit_intercept)
        W = des.W
        n_eff = effective_n(des, self.fit_intercept)
        Z, z = np.ascontiguousarray(des.Z), des.z
        wide = p > n
        ZtZ = np.zeros((0, 0)) if wide else Z.T @ Z
        Ztz = Z.T @ z
        ztz = float(z @ z)
        s2_fixed = -1.0 if self.sigma is None else float(self.sigma) ** 2
        mode = 1 if self.lam == "gamma" else 0
        if isinstance(self.lam, str):
            rate2 = float(p * np.sqrt(max(ztz, 1e-300) / n_eff) / max(np.abs(Ztz).sum(), 1e-300))
            rate2 = max(rate2, 1e-6) ** 2  # Park & Casella's starting value
        else:
            rate2 = (float(self.lam) * W / float(self.sigma)) ** 2

        # random_state=None draws fresh entropy (then the fit is not reproducible)
        self._seed = (int(np.random.SeedSequence().entropy % 2**63) if self.random_state is None
                      else int(self.random_state))
        chains = [self._init_state(k, p, ztz, n_eff) for k in range(self.n_chains)]
        args = (ZtZ, Ztz, ztz, Z, z, n_eff, wide)

        def run(k, n_keep, burn, lam2, lam_mode):
            c, s2, invtau2 = chains[k]
            out_c = np.empty((n_keep, p))
            out_s2, out_l2, out_t2 = np.empty(n_keep), np.empty(n_keep), np.empty(n_keep)
            ss = np.random.SeedSequence([self._seed, k, self._calls])
            seed = int(ss.generate_state(1)[0])
            gibbs_lasso_chain(*args, lam2, lam_mode, float(self.gamma_shape),
                              float(self.gamma_rate), s2_fixed, burn + n_keep * self.thin,
                              burn, self.thin, seed % (2**31 - 1), c, s2, invtau2,
                              out_c, out_s2, out_l2, out_t2)
            return out_c, out_s2, out_l2, out_t2

        def run_all(n_keep, burn, lam2, lam_mode):
            self._calls += 1
            if self.n_jobs == 1:
                return [run(k, n_keep, burn, lam2, lam_mode) for k in range(self.n_chains)]
            with ThreadPoolExecutor(max_workers=self.n_jobs) as ex:
                return list(ex.map(lambda k: run(k, n_keep, burn, lam2, lam_mode),
                                   range(self.n_chains)))

        self._calls = 0
        burn = self.burn_in
        if self.lam == "em":
            self.em_path_ = []
            for it in range(self.n_em_iter):
                res = run_all(self.em_draws, burn if it == 0 else 0, rate2, 0)
                mean_tau2_sum = np.mean([r[3].mean() for r in res])
                rate2 = 2.0 * p / mean_tau2_sum
                self.em_path_.append(np.sqrt(rate2))
            self.em_path_ = np.array(self.em_path_)
            tail = self.em_path_[-10:]
            if tail.size >= 2 and (tail.max() - tail.min()) > 0.05 * tail.mean():
                warnings.warn(
                    f"BayesianLasso: Monte Carlo EM for the rate has not settled (last "
                    f"{tail.size} estimates span {tail.min():.3g} to {tail.max():.3g}); "
                    "increase n_em_iter or em_draws",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            burn = burn if self.n_em_iter == 0 else 0
        res = run_all(self.n_draws, burn, rate2, mode)

        c_s = np.stack([r[0] for r in res])  # (chains, draws, p), standardized scale
        s2_s = np.stack([r[1] for r in res])
        rate_s = np.sqrt(np.stack([r[2] for r in res]))
        coef_s = c_s / des.scale
        coef_s[:, :, des.const] = 0.0
        if self.fit_intercept:  # b0 | c, sigma2 ~ N(ybar - xbar . b, sigma2 / W)
            rng = np.random.default_rng([self._seed, 2**20])
            inter_s = (des.ybar - coef_s @ des.xbar
                       + np.sqrt(s2_s / W) * rng.standard_normal(s2_s.shape))
        else:
            inter_s = np.zeros_like(s2_s)
        self.coef_samples_ = coef_s
        self.intercept_samples_ = inter_s
        self.sigma_samples_ = np.sqrt(s2_s)
        self.lam_samples_ = rate_s * self.sigma_samples_ / W
        self.coef_ = coef_s.mean(axis=(0, 1))
        self.coef_median_ = np.median(coef_s.reshape(-1, p), axis=0)
        self.intercept_ = float(inter_s.mean())
        self.lam_ = float(np.median(self.lam_samples_))
        self.rate_ = float(np.median(rate_s))
        self._W = W
        self._diagnose(c_s)
        return self

    def _init_state(self, k, p, ztz, n_eff):
        """Over-dispersed starting values, so that R-hat can detect poor mixing."""
        rng = np.random.default_rng([self._seed, k, 7])
        s2 = (max(ztz, 1e-12) / n_eff) * np.exp(rng.normal())
        if self.sigma is not None:
            s2 = float(self.sigma) ** 2
        c = rng.normal(size=p) * np.sqrt(s2 / n_eff) * 3.0
        invtau2 = np.exp(rng.normal(size=p))
        return c, np.array([s2]), invtau2

    def _diagnose(self, c_s):
        n_draws = c_s.shape[1]
        if n_draws >= 4:
            self.rhat_ = np.atleast_1d(rhat(c_s))
            self.ess_ = np.atleast_1d(ess(c_s))
        else:
            self.rhat_ = np.full(c_s.shape[2], np.nan)
            self.ess_ = np.full(c_s.shape[2], np.nan)
        bad_r = np.flatnonzero(self.rhat_ > self.rhat_max)
        bad_e = np.flatnonzero(self.ess_ < self.min_ess)
        self.converged_ = bool(bad_r.size == 0 and bad_e.size == 0 and n_draws >= 4)
        if not self.converged_:
            parts = []
            if bad_r.size:
                parts.append(f"split R-hat above {self.rhat_max} for coefficients "
                             f"{bad_r[:10].tolist()} (max {np.nanmax(self.rhat_):.3f})")
            if bad_e.size:
                parts.append(f"effective sample size below {self.min_ess:g} for coefficients "
                             f"{bad_e[:10].tolist()} (min {np.nanmin(self.ess_):.0f})")
            if n_draws < 4:
                parts.append("fewer than 4 draws per chain: diagnostics impossible")
            warnings.warn(
                "BayesianLasso chains have not mixed: " + "; ".join(parts)
                + ". Increase burn_in / n_draws (or thin) before trusting the posterior.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # --------------------------------------------------------------------- summaries
    def credible_intervals(self, level=0.9):
        """Equal-tailed posterior intervals from the pooled draws, shape ``(p, 2)``."""
        check_is_fitted(self)
        level = float(level)
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        flat = self.coef_samples_.reshape(-1, self.coef_samples_.shape[2])
        return np.quantile(flat, [0.5 - level / 2, 0.5 + level / 2], axis=0).T

    def predict(self, X):
        """Posterior mean of ``b0 + x . b``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
