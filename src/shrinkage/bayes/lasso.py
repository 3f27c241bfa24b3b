"""The Bayesian lasso (Park & Casella 2008): the Laplace prior as a scale mixture of normals.

The prior on each standardized coefficient is ``c_j | sigma ~ Laplace(0, sigma / rate)``
(Park & Casella's ``lambda`` is ``rate``). For a fixed noise sd ``sigma`` the negative log
posterior is ``(W / sigma^2)`` times shrinkage's lasso objective at

    lam = rate * sigma / W

so the posterior mode is the lasso at that ``lam`` (see :mod:`shrinkage.bayes.priors`).
The Gibbs sampler itself is :func:`shrinkage.bayes.gibbs.gibbs_lasso_chain` (numba).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..user_warnings import warn_user
from ..validation import CheckedScoreWeights, as_real_array, check_numeric_frame, store_params
from .design import (
    check_weights,
    effective_n,
    lost_in_scaling,
    prepare,
    spectrum,
    to_data_scale,
    unit_exponent,
)
from .diagnostics import ess, rhat
from .gibbs import gibbs_lasso_chain

__all__ = ["BayesianLasso"]


class BayesianLasso(CheckedScoreWeights, RegressorMixin, BaseEstimator):
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
        Split R-hat and effective sample size per coefficient (NaN for a constant
        feature, which is not sampled: its coefficient is 0).
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
            warn_user("n_chains < 2: R-hat compares halves of one chain only", UserWarning)

    # ---------------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Sample the posterior. ``sample_weight`` are frequency (precision) weights.

        Sampling runs on the unit problem of :func:`~shrinkage.bayes.design.prepare`
        (``X``, ``y`` divided by powers of two), whose draws map back exactly: the model is
        equivariant when ``y`` is rescaled, and when ``X`` is (with ``standardize=False``
        the Laplace rate then carries the units of ``X``, and ``gamma_rate`` with it).

        Raises
        ------
        ValueError
            When the posterior is improper -- ``sigma`` sampled while ``X`` fits ``y``
            exactly and the (weighted) number of observations exceeds the rank of the
            design by 2 or more (by 1 or more for ``lam='em'``) -- or when a result does not
            fit in float64 at the scale of the data.
        """
        self._check_params()
        check_numeric_frame(X)
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2,
                             dtype=np.float64)
        y = as_real_array(y, "y")  # strings named (validate_data leaves them)
        n, p = X.shape
        w = check_weights(sample_weight, n)
        des = prepare(X, y, w, standardize=self.standardize, fit_intercept=self.fit_intercept)
        n_eff = effective_n(des, self.fit_intercept)
        d, V, f, f_perp2 = spectrum(des)
        self._check_proper(d.size, f, f_perp2, n_eff)
        # a constant column's coefficient is not identified: it is left out of the sampler
        # (and of the rate's EM) and reported as 0, as EvidenceRidge and the engine do
        live = ~des.const
        if not np.any(live):
            raise ValueError("BayesianLasso: every column of X is constant (after weighting): "
                             "there is no coefficient to sample")
        p = int(live.sum())
        # F = diag(d) V^T (rank x p) carries everything the sampler needs (see gibbs.py)
        F = np.ascontiguousarray((d[:, None] * V.T)[:, live])
        ex, ey = unit_exponent(des.x_unit), unit_exponent(des.y_unit)
        # the prior is stated in data units: rate = rate_unit * x_unit, sigma = sigma_unit *
        # y_unit, so rate^2 ~ Gamma(a, delta) is rate_unit^2 ~ Gamma(a, delta x_unit^2)
        delta = float(to_data_scale(float(self.gamma_rate), 2 * ex))
        s2_fixed = -1.0
        if self.sigma is not None:
            s2_fixed = float(to_data_scale(float(self.sigma), -ey)) ** 2
        ztz = float(f @ f) + f_perp2
        if isinstance(self.lam, str):
            Ftf = F.T @ f
            rate2 = float(p * np.sqrt(max(ztz, 1e-300) / n_eff) / max(np.abs(Ftf).sum(), 1e-300))
            rate2 = max(rate2, 1e-6) ** 2  # Park & Casella's starting value
        else:
            rate = float(self.lam) * des.W / float(self.sigma)
            rate2 = float(to_data_scale(rate, -ex)) ** 2
        for name, v in (("gamma_rate", delta), ("sigma", s2_fixed), ("lam", rate2)):
            if not (np.isfinite(v) and v != 0):
                raise ValueError(
                    f"BayesianLasso: {name} is outside float64's range once expressed in the "
                    f"units of these data (X about {des.x_unit:.1e}, y about "
                    f"{des.y_unit:.1e}); divide X and y by powers of ten and rescale {name}")

        # random_state=None draws fresh entropy (then the fit is not reproducible)
        self._seed = (int(np.random.SeedSequence().entropy % 2**63) if self.random_state is None
                      else int(self.random_state))
        # the sampler's working state lives on private attributes only during the fit
        self._chains = [self._init_state(k, p, ztz, n_eff, s2_fixed)
                        for k in range(self.n_chains)]
        self._data = (F, f, f_perp2, n_eff, float(self.gamma_shape), delta, s2_fixed)
        self._calls = 0
        try:
            burn = self.burn_in
            if self.lam == "em":
                rate2 = self._em(rate2, burn, p, ex)
                burn = burn if self.n_em_iter == 0 else 0
            res = self._run_all(self.n_draws, burn, rate2, 1 if self.lam == "gamma" else 0)
        finally:
            del self._chains, self._data
        self._store(res, des, ex, ey, live)
        return self

    def _check_proper(self, r, f, f_perp2, n_eff):
        """Refuse an improper posterior: sigma sampled while X fits y exactly.

        With ``RSS = 0`` attainable the likelihood is ``sigma^-N`` on a set of dimension
        ``p - r`` and, integrating ``c`` and the rate, the posterior density of ``sigma``
        near 0 behaves as ``sigma^(r - N + 1)`` under the Gamma hyperprior: it is not
        integrable once ``N >= r + 2``. For Monte Carlo EM the marginal likelihood of the
        rate behaves as ``rate^(r - N)``, unbounded at 0 once ``N > r``. The chain then
        drifts to ``sigma = 0`` until the linear algebra breaks down.
        """
        if self.sigma is not None:
            return
        exact = np.sqrt(f_perp2) <= 1e-10 * np.sqrt(float(f @ f) + f_perp2)
        limit = r + 2 if self.lam == "gamma" else r
        if exact and (n_eff >= limit if self.lam == "gamma" else n_eff > limit):
            raise ValueError(
                f"BayesianLasso: the posterior is improper for these data: X fits y exactly "
                f"(a centred design of rank {r} against {n_eff:g} effective observations, "
                "counting frequency weights), so under the 1/sigma^2 prior the noise sd and "
                "the Laplace rate can shrink to 0 together with unbounded density. Give a fixed "
                "noise sd sigma, use fewer features than distinct rows, or lower the weights "
                "(a weight of 2 counts a row twice)")

    def _run(self, k, n_keep, burn, lam2, lam_mode):
        """Advance chain ``k`` by ``burn + n_keep * thin`` iterations, keeping ``n_keep``."""
        F, f, f_perp2, n_eff, shape, delta, s2_fixed = self._data
        c, s2, invtau2 = self._chains[k]
        p = c.shape[0]
        out_c = np.empty((n_keep, p))
        out_s2, out_l2, out_t2 = np.empty(n_keep), np.empty(n_keep), np.empty(n_keep)
        ss = np.random.SeedSequence([self._seed, k, self._calls])
        seed = int(ss.generate_state(1)[0])
        _, status = gibbs_lasso_chain(F, f, f_perp2, n_eff, lam2, lam_mode, shape, delta,
                                      s2_fixed, burn + n_keep * self.thin, burn, self.thin,
                                      seed % (2**31 - 1), 0, c, s2, invtau2,
                                      out_c, out_s2, out_l2, out_t2)
        if status:
            raise ValueError(
                f"BayesianLasso: chain {k} broke down at iteration {status} (sigma^2 = "
                f"{s2[0]:.2e} in units of y): the posterior is nearly improper for these data "
                "(X fits y almost exactly); give a fixed noise sd sigma or fewer features")
        return out_c, out_s2, out_l2, out_t2

    def _run_all(self, n_keep, burn, lam2, lam_mode):
        self._calls += 1
        if self.n_jobs == 1:
            return [self._run(k, n_keep, burn, lam2, lam_mode) for k in range(self.n_chains)]
        with ThreadPoolExecutor(max_workers=self.n_jobs) as ex:
            return list(ex.map(lambda k: self._run(k, n_keep, burn, lam2, lam_mode),
                               range(self.n_chains)))

    def _em(self, rate2, burn, p, ex):
        """Monte Carlo EM for the rate (unit problem); ``em_path_`` is in data units."""
        path = []
        for it in range(self.n_em_iter):
            res = self._run_all(self.em_draws, burn if it == 0 else 0, rate2, 0)
            mean_tau2_sum = np.mean([r[3].mean() for r in res])
            rate2 = 2.0 * p / mean_tau2_sum
            path.append(np.sqrt(rate2))
        self.em_path_ = to_data_scale(np.array(path), ex)
        tail = self.em_path_[-10:]
        if tail.size >= 2 and (tail.max() - tail.min()) > 0.05 * tail.mean():
            warn_user(
                f"BayesianLasso: Monte Carlo EM for the rate has not settled (last "
                f"{tail.size} estimates span {tail.min():.3g} to {tail.max():.3g}); "
                "increase n_em_iter or em_draws",
                ConvergenceWarning,
            )
        return rate2

    def _store(self, res, des, ex, ey, live):
        """Map the unit-problem draws to the data's units and summarise them."""
        W, p = des.W, des.scale.size
        c_live = np.stack([r[0] for r in res])  # (chains, draws, live features), unit problem
        c_s = np.zeros(c_live.shape[:2] + (p,))
        c_s[:, :, live] = c_live
        sd_s = np.sqrt(np.stack([r[1] for r in res]))
        rate_s = np.sqrt(np.stack([r[2] for r in res]))
        coef_s = to_data_scale(c_s, ey, des.scale)  # 0 stays 0: constant columns' draws
        sigma_s = to_data_scale(sd_s, ey)
        # lam = rate * sigma / W with rate = rate_unit * x_unit and sigma = sd_unit * y_unit
        lam_s = to_data_scale(rate_s * sd_s / W, ex + ey)
        rate = float(to_data_scale(np.median(rate_s), ex))
        checks = [("coef_samples_", c_s, coef_s), ("sigma_samples_", None, sigma_s),
                  ("lam_samples_", None, lam_s), ("rate_", None, rate)]
        for name, unit, v in checks:
            if lost_in_scaling(v if unit is None else unit, v, positive=unit is None):
                raise ValueError(
                    f"BayesianLasso: {name} does not fit in float64 for data on this scale "
                    f"(y varies by about {des.y_unit:.1e}, X by about {des.x_unit:.1e} when "
                    "not standardized); divide y (or X) by a power of ten and scale the "
                    "results back (the model is scale-equivariant)")
        if self.fit_intercept:  # b0 | c, sigma2 ~ N(ybar - xbar . b, sigma2 / W)
            rng = np.random.default_rng([self._seed, 2**20])
            inter_s = (des.ybar - coef_s @ des.xbar
                       + sigma_s / np.sqrt(W) * rng.standard_normal(sigma_s.shape))
        else:
            inter_s = np.zeros_like(sigma_s)
        self.coef_samples_ = coef_s
        self.intercept_samples_ = inter_s
        self.sigma_samples_ = sigma_s
        self.lam_samples_ = lam_s
        self.rate_ = rate
        self.coef_ = coef_s.mean(axis=(0, 1))
        self.coef_median_ = np.median(coef_s.reshape(-1, p), axis=0)
        self.intercept_ = float(inter_s.mean())
        self.lam_ = float(np.median(self.lam_samples_))
        self._W = W
        self._diagnose(c_live, live)

    def _init_state(self, k, p, ztz, n_eff, s2_fixed):
        """Over-dispersed starting values, so that R-hat can detect poor mixing."""
        rng = np.random.default_rng([self._seed, k, 7])
        s2 = (max(ztz, 1e-12) / n_eff) * np.exp(rng.normal())
        if s2_fixed > 0:
            s2 = s2_fixed
        c = rng.normal(size=p) * np.sqrt(s2 / n_eff) * 3.0
        invtau2 = np.exp(rng.normal(size=p))
        return c, np.array([s2]), invtau2

    def _diagnose(self, c_s, live):
        """R-hat and ESS of the sampled (non-constant) features; NaN for constant ones."""
        n_draws = c_s.shape[1]
        self.rhat_ = np.full(live.size, np.nan)
        self.ess_ = np.full(live.size, np.nan)
        if n_draws >= 4:
            self.rhat_[live] = np.atleast_1d(rhat(c_s))
            self.ess_[live] = np.atleast_1d(ess(c_s))
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
            warn_user(
                "BayesianLasso chains have not mixed: " + "; ".join(parts)
                + ". Increase burn_in / n_draws (or thin) before trusting the posterior.",
                ConvergenceWarning,
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
        check_numeric_frame(X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
