"""The penalised Cox model as a scikit-learn estimator: :class:`PenalizedCox`.

It minimises, for the chosen strength ``lam``::

    -(1 / sum(w)) * log PL(b) + lam * sum_j pf_j * (l1_ratio * s_j |b_j|
                                                   + (1 - l1_ratio) / 2 * s_j^2 b_j^2)

with ``PL`` Cox's partial likelihood (Efron's or Breslow's ties, strata, entry times; see
:mod:`shrinkage.model.cox`), the same units as glmnet's ``family="cox"`` and
scikit-survival's ``CoxnetSurvivalAnalysis`` (``alpha = lam``; see
:mod:`shrinkage.units`). ``lam="auto"`` chooses the strength by cross-validation of the
partial likelihood (glmnet's ``type.measure="deviance"``) or the concordance index, and
keeps the strongest setting within one standard error of the best by default.

It accepts scikit-survival's structured ``y`` (``Surv.from_arrays(event, time)``), so it
works in its pipelines and in :class:`sklearn.model_selection.GridSearchCV`, whose default
score is the estimator's :meth:`PenalizedCox.score`, Harrell's concordance index.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .estimators import check_strength
from .model.cox import TIES, survival_response
from .survival import breslow_baseline, concordance_index
from .validation import check_numeric_frame, check_offset, check_score_weight

__all__ = ["PenalizedCox"]


class PenalizedCox(BaseEstimator):
    """Penalised Cox proportional hazards regression with its baseline hazard.

    Equivalent to glmnet's ``cv.glmnet(family="cox")`` and to scikit-survival's
    ``CoxnetSurvivalAnalysis`` (Breslow ties, ``normalize=False`` with
    ``standardize=False``) followed by a choice of ``alpha``.

    Parameters
    ----------
    ties : {"efron", "breslow"}, default "efron"
        Handling of tied event times.
    lam : "auto" or float >= 0, default "auto"
        Strength; ``"auto"`` chooses it by cross-validation with ``rule``.
    l1_ratio : float in [0, 1], default 1.0
        L1 share of the penalty; 1 is the lasso, 0 ridge.
    penalty_factor : array of shape (n_features,), optional
        Per-feature multipliers of the penalty; 0 leaves a feature unpenalised.
    standardize : bool, default True
        Penalise coefficients of features scaled to unit variance.
    cv : int, array of fold ids, or splitter, default 10
        Folds for ``lam="auto"``, stratified by the event indicator.
    metric : {"deviance", "c_index", "uno_c"} or None
        Validation metric (:mod:`shrinkage.tuning.cox_scores`); None is the deviance.
    rule : str, default "1se"
        ``"min"``, ``"<k>se"``, a number ``k`` or ``"<r>%"``.
    n_lams : int, default 100
    lam_min_ratio : float or None
    tol : float or None
        Tolerance of the certificate (largest KKT violation); None is 1e-6.
    n_jobs : int or None
    random_state : int or None
        Seed of the folds; None uses 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Log hazard ratios at ``lam_``, original feature scale.
    lam_ : float
    path_ : Path
    cv_ : CVResult or None
    baseline_ : BaselineHazard
        Breslow's (or Efron's) estimate of the baseline cumulative hazard per stratum,
        at ``eta = X @ coef_`` (uncentred).
    strata_levels_ : ndarray
        The stratum labels seen in ``fit`` (empty without strata).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from shrinkage import PenalizedCox
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> time = rng.exponential(np.exp(-X[:, 0]))
    >>> event = rng.random(200) < 0.8
    >>> model = PenalizedCox(random_state=0).fit(X, np.c_[time, event])
    >>> int(np.argmax(np.abs(model.coef_)))
    0
    >>> model.predict_survival_function(X[:2], [0.5, 1.0]).shape
    (2, 2)
    """

    def __init__(self, ties="efron", lam="auto", l1_ratio=1.0, penalty_factor=None,
                 standardize=True, cv=10, metric=None, rule="1se", n_lams=100,
                 lam_min_ratio=None, tol=None, n_jobs=None, random_state=None):
        self.ties = ties
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.penalty_factor = penalty_factor
        self.standardize = standardize
        self.cv = cv
        self.metric = metric
        self.rule = rule
        self.n_lams = n_lams
        self.lam_min_ratio = lam_min_ratio
        self.tol = tol
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, strata=None, offset=None):
        """Fit the path (choosing ``lam`` by cross-validation when ``lam="auto"``) and the
        baseline hazard.

        ``y``: ``(n, 2)`` ``[time, event]``, ``(n, 3)`` ``[start, stop, event]``, or a
        scikit-survival structured array; ``strata``: one label per row.
        """
        check_strength(self.lam, self.l1_ratio, self.rule)
        if self.ties not in TIES:
            raise ValueError(f"ties must be 'efron' or 'breslow', got {self.ties!r}")
        check_numeric_frame(X)
        X = validate_data(self, X, accept_sparse="csc")
        yv = survival_response(y, strata=strata)
        if yv.shape[0] != X.shape[0]:
            raise ValueError(f"y has {yv.shape[0]} rows but X has {X.shape[0]}")
        self.strata_levels_ = np.unique(strata) if strata is not None else np.array([])
        kw = dict(ties=self.ties, standardize=self.standardize, tol=self.tol,
                  sample_weight=sample_weight, offset=offset, l1_ratio=float(self.l1_ratio))
        if self.penalty_factor is not None:
            kw["penalty_factor"] = self.penalty_factor
        seed = 0 if self.random_state is None else self.random_state
        if self.lam == "auto":
            from .tuning.cv import cross_validate

            self.cv_, self.path_ = cross_validate(
                X, yv, family="cox", cv=self.cv, metric=self.metric, rule=self.rule,
                n_jobs=self.n_jobs, random_state=seed, return_path=True, n_lams=self.n_lams,
                lam_min_ratio=self.lam_min_ratio, **kw)
            index = self.cv_.index_chosen
        else:
            from .engine.path import regularization_path

            self.cv_ = None
            self.path_ = regularization_path(X, yv, family="cox",
                                             lams=np.array([float(self.lam)]), **kw)
            index = self.path_.n_lams - 1
        self.lam_ = float(self.path_.lams[index])
        self.coef_ = np.asarray(self.path_.coefs[index], dtype=float)
        self._uses_offset = offset is not None
        eta = np.asarray(X @ self.coef_).ravel()
        if offset is not None:
            eta = eta + check_offset(offset, eta.shape[0])
        start = yv["start"]  # -inf where no entry time was given
        self.baseline_ = breslow_baseline(
            yv["stop"], yv["event"] == 1.0, eta, sample_weight=sample_weight,
            start=start if np.any(np.isfinite(start)) else None,
            strata=yv["stratum"] if strata is not None else None,
            ties="breslow" if self.ties == "breslow" else "efron")
        return self

    def predict(self, X, offset=None):
        """Risk scores: the linear predictor ``X @ coef_ (+ offset)`` (higher is riskier;
        scikit-survival's convention)."""
        check_is_fitted(self)
        check_numeric_frame(X)
        X = validate_data(self, X, accept_sparse="csc", reset=False)
        eta = np.asarray(X @ self.coef_).ravel()
        if offset is None:
            if self._uses_offset:
                raise ValueError("the model was fitted with an offset: pass offset= to "
                                 "predict")
            return eta
        return eta + check_offset(offset, eta.shape[0])

    def _strata_codes(self, strata, n):
        if self.strata_levels_.size == 0:
            if strata is not None:
                raise ValueError("the model was fitted without strata; pass strata=None")
            return None
        if strata is None:
            raise ValueError("the model was fitted with strata: pass strata= (one label per "
                             "row) to predict survival")
        s = np.asarray(strata)
        if s.shape != (n,):
            raise ValueError(f"strata must have one label per row ({n}), got {s.shape}")
        codes = np.searchsorted(self.strata_levels_, s)
        codes = np.minimum(codes, self.strata_levels_.size - 1)
        unknown = self.strata_levels_[codes] != s
        if np.any(unknown):
            raise ValueError(f"stratum {s[unknown][0]!r} was not seen in fit")
        return codes

    def predict_cumulative_hazard(self, X, times, strata=None, offset=None):
        """``H(t | x) = H0_s(t) exp(eta(x))`` at ``times``: shape (n_samples, n_times)."""
        eta = self.predict(X, offset)
        codes = self._strata_codes(strata, eta.shape[0])
        return -np.log(self.baseline_.survival_at(times, eta, strata=codes))

    def predict_survival_function(self, X, times, strata=None, offset=None):
        """``S(t | x) = exp(-H0_s(t) exp(eta(x)))`` at ``times``: shape (n_samples,
        n_times)."""
        eta = self.predict(X, offset)
        codes = self._strata_codes(strata, eta.shape[0])
        return self.baseline_.survival_at(times, eta, strata=codes)

    def score(self, X, y, sample_weight=None, strata=None):
        """Harrell's concordance index of :meth:`predict` on ``(X, y)`` (pairs within a
        stratum when ``strata`` is given)."""
        yv = survival_response(y, strata=strata)
        sample_weight = check_score_weight(sample_weight, yv)
        return float(concordance_index(yv["stop"], yv["event"] == 1.0, self.predict(X),
                                       sample_weight=sample_weight,
                                       strata=yv["stratum"] if strata is not None else None))
