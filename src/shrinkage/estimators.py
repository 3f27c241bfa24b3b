"""scikit-learn estimators over the path engine, cross-validation and the selection rules.

Two thin shells, in the style of scikit-learn's ``ElasticNetCV`` and glmnet's
``cv.glmnet``:

* :class:`PenalizedRegressor` -- gaussian (least squares) or poisson (log link) response.
* :class:`PenalizedClassifier` -- binomial (logistic) or multinomial (softmax) response.

Both minimise, for the chosen strength ``lam``::

    (1 / sum(w)) * sum_i w_i * loss(y_i, b0 + x_i . b)
        + lam * sum_j pf_j * (l1_ratio * |b_j| + (1 - l1_ratio) / 2 * b_j^2)

Names next to their equivalents:

============================  ===========================  ===========================
shrinkage                     scikit-learn                 glmnet (R)
============================  ===========================  ===========================
``lam``                       ``alpha`` (Lasso/ElasticNet) ``lambda``
``l1_ratio``                  ``l1_ratio``                 ``alpha``
``lam="auto"``, ``rule``      ``ElasticNetCV`` (min only)  ``cv.glmnet``, ``s=``
``penalty_factor``            --                           ``penalty.factor``
``standardize``               (scale X yourself)           ``standardize``
``cv``, ``metric``            ``cv``, ``scoring``          ``nfolds``/``foldid``,
                                                           ``type.measure``
``lam_``                      ``alpha_``                   ``lambda.1se`` / ``lambda.min``
``path_``                     ``alphas_``, ``coef_path``   the ``glmnet`` fit
``cv_``                       ``mse_path_``                ``cvm``, ``cvsd``, ``nzero``
============================  ===========================  ===========================

For classifiers, scikit-learn's ``LogisticRegression(C=...)`` corresponds to
``lam = 1 / (C * n_samples)`` (see :mod:`shrinkage.units`).

``lam="auto"`` (default) runs :func:`shrinkage.cross_validate` and keeps the setting the
``rule`` chooses (default ``"1se"``: the strongest ``lam`` within one standard error of the
best, glmnet's ``lambda.1se``); a number fits that single ``lam``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .estimator_grids import check_axes, fit_on_grid
from .tuning.selection import parse_rule
from .validation import (
    check_numeric_frame,
    check_offset,
    check_sample_weight,
    check_score_weight,
    check_target,
)

__all__ = ["PenalizedRegressor", "PenalizedClassifier"]


def _estimator_init(family_default):
    """The shared ``__init__`` (scikit-learn reads the parameters from its signature)."""

    def __init__(
        self, family=family_default, lam="auto", l1_ratio=1.0, penalty_factor=None,
        standardize=True, fit_intercept=True, cv=10, metric=None, rule="1se", n_lams=100,
        lam_min_ratio=None, tol=None, n_jobs=None, random_state=None, penalty="elasticnet",
        gamma=None, adaptive=None, adaptive_exponent=1.0,
        feature_groups=None, group_mix=0.0,
    ):
        self.family = family
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.penalty_factor = penalty_factor
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.metric = metric
        self.rule = rule
        self.n_lams = n_lams
        self.lam_min_ratio = lam_min_ratio
        self.tol = tol
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.penalty = penalty
        self.gamma = gamma
        self.adaptive = adaptive
        self.adaptive_exponent = adaptive_exponent
        self.feature_groups = feature_groups
        self.group_mix = group_mix

    return __init__


def check_strength(lam, l1_ratio, rule):
    """Refuse by name a ``lam`` that is neither ``"auto"`` nor a finite number >= 0, an
    ``l1_ratio`` outside [0, 1] or a selection ``rule`` that does not parse."""
    if isinstance(lam, str):
        if lam != "auto":
            raise ValueError(f"lam must be 'auto' or a number >= 0, got {lam!r}")
    elif isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not (
        np.isfinite(lam) and lam >= 0
    ):
        raise ValueError(f"lam must be 'auto' or a finite number >= 0, got {lam!r}")
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real) or not (
        0 <= l1_ratio <= 1
    ):
        raise ValueError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    parse_rule(rule)


class _PenalizedBase(BaseEstimator):
    _families: tuple = ()

    def _check_family(self):
        """Refuse a family this estimator does not fit, before ``y`` is shaped for it (a
        survival or multi-response y was refused as "not 1-D" first)."""
        if self.family not in self._families:
            elsewhere = {"cox": "; survival data: PenalizedCox",
                         "mgaussian": "; several responses: regularization_path(..., "
                                      "family='mgaussian')"}.get(self.family, "")
            raise ValueError(f"family must be one of {self._families}, got "
                             f"{self.family!r}{elsewhere}")

    def _check_params(self):
        check_strength(self.lam, self.l1_ratio, self.rule)
        self._check_family()
        check_axes(self)  # gamma and adaptive_exponent: one value or a list
        if self.adaptive is not None and (self.adaptive not in ("ridge", "lasso", "ols")
                                          or self.penalty != "elasticnet"
                                          or self.l1_ratio != 1):
            raise ValueError("adaptive must be None, 'ridge', 'lasso' or 'ols' (the initial "
                             "fit of the adaptive lasso: penalty='elasticnet', l1_ratio=1), "
                             f"got {self.adaptive!r}")

    def _path_kwargs(self, sample_weight, offset):
        kw = dict(
            standardize=self.standardize, fit_intercept=self.fit_intercept, tol=self.tol,
            sample_weight=sample_weight, offset=offset, penalty=self.penalty, gamma=self.gamma,
        )
        if self.penalty_factor is not None:
            kw["penalty_factor"] = self.penalty_factor
        if self.feature_groups is not None:
            kw["feature_groups"] = self.feature_groups
            kw["group_mix"] = self.group_mix
        elif self.group_mix != 0.0:
            raise ValueError("group_mix needs feature_groups")
        return kw

    def _fit_codes(self, X, y, family, sample_weight, offset):
        """Fit on the engine's encoding of ``y``; set coef_, intercept_, lam_, path_, cv_."""
        self._check_params()
        kw = self._path_kwargs(sample_weight, offset)
        # folds of seed 0 by default: two fits of one estimator choose the same lam_
        seed = 0 if self.random_state is None else self.random_state
        grid = fit_on_grid(self, X, y, family, kw, seed)  # gamma_, cv_grid_; lists
        if grid is not None:
            return grid
        if self.adaptive is not None:
            return self._fit_adaptive(X, y, family, kw, seed)
        if self.lam == "auto":
            from .tuning.cv import cross_validate

            self.cv_, self.path_ = cross_validate(
                X, y, family=family, l1_ratio=float(self.l1_ratio), cv=self.cv,
                metric=self.metric, rule=self.rule, n_jobs=self.n_jobs,
                random_state=seed, return_path=True, n_lams=self.n_lams,
                lam_min_ratio=self.lam_min_ratio, **kw,
            )
            index = self.cv_.index_chosen
        else:
            from .engine.path import regularization_path

            self.cv_ = None
            self.path_ = regularization_path(
                X, y, family=family, l1_ratio=float(self.l1_ratio),
                lams=np.array([float(self.lam)]), **kw,
            )
            index = self.path_.n_lams - 1
        self.lam_ = float(self.path_.lams[index])
        self._uses_offset = offset is not None
        coef = np.asarray(self.path_.coefs[index], dtype=float)
        inter = np.asarray(self.path_.intercepts[index], dtype=float)
        return coef, inter

    def _fit_adaptive(self, X, y, family, kw, seed):
        """The adaptive lasso: its first stage refitted inside every fold for lam="auto"."""
        from .tuning.adaptive import adaptive_weights, cross_validate_adaptive

        if self.penalty_factor is not None:
            raise ValueError("penalty_factor cannot be combined with adaptive (the adaptive "
                             "lasso computes its own factors)")
        kw = {k: v for k, v in kw.items() if k not in ("penalty", "gamma")}
        if self.lam == "auto":
            self.cv_, self.path_ = cross_validate_adaptive(
                X, y, family, initial=self.adaptive, exponent=self.adaptive_exponent_,
                cv=self.cv, rule=self.rule,
                metric=self.metric, random_state=seed, return_path=True,
                n_lams=self.n_lams, lam_min_ratio=self.lam_min_ratio, **kw)
            index = self.cv_.index_chosen
        else:
            from .engine.path import regularization_path

            if kw.get("sample_weight") is not None or kw.get("offset") is not None:
                raise ValueError("sample_weight and offset are not supported with adaptive")
            w = adaptive_weights(X, y, family, self.adaptive, self.adaptive_exponent_,
                                 random_state=seed,
                                 standardize=self.standardize, fit_intercept=self.fit_intercept)
            self.cv_ = None
            self.path_ = regularization_path(X, y, family=family, penalty_factor=w,
                                             lams=np.array([float(self.lam)]), **kw)
            index = 0
        self.lam_ = float(self.path_.lams[index])
        self._uses_offset = False
        return (np.asarray(self.path_.coefs[index], dtype=float),
                np.asarray(self.path_.intercepts[index], dtype=float))

    def _eta(self, X, offset=None):
        check_is_fitted(self)
        check_numeric_frame(X)
        X = validate_data(self, X, accept_sparse="csc", reset=False)
        eta = np.asarray(X @ self._coef_engine) + self._intercept_engine
        if offset is None:
            if getattr(self, "_uses_offset", False):
                raise ValueError("the model was fitted with an offset: pass offset= to "
                                 "predict or score (zeros give the rate per unit of "
                                 "exposure)")
            return eta
        return eta + check_offset(offset, eta.shape[0], eta.shape[1] if eta.ndim == 2 else None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_DOC = """
    lam : "auto" or float >= 0, default "auto"
        Strength (scikit-learn's ``alpha``, glmnet's ``lambda``). ``"auto"`` chooses it by
        cross-validation with ``rule``.
    l1_ratio : float in [0, 1], default 1.0
        L1 share of the penalty (glmnet's ``alpha``); 1 is the lasso, 0 ridge.
    penalty_factor : array of shape (n_features,), optional
        Per-feature multipliers of the penalty (glmnet's ``penalty.factor``); 0 leaves a
        feature unpenalised.
    standardize : bool, default True
        Penalise coefficients of features scaled to unit variance (glmnet's default);
        ``coef_`` is always on the original scale.
    fit_intercept : bool, default True
    cv : int, array of fold ids, or splitter, default 10
        Folds for ``lam="auto"``.
    metric : str or None
        Validation metric (see :mod:`shrinkage.metrics`); None is the family's deviance.
    rule : str, default "1se"
        ``"min"``, ``"<k>se"``, a number ``k`` or ``"<r>%"`` (see
        :func:`shrinkage.tuning.selection.parse_rule`).
    n_lams : int, default 100
        Length of the ``lam`` grid for ``lam="auto"``.
    lam_min_ratio : float or None
        Smallest grid ``lam`` relative to ``lam_max``; None is the engine's default.
    tol : float or None, default None
        Optimality tolerance of the engine's certificate; None is the family's statistical
        default (gaussian duality gap 3e-5, 1e-7 with ``l1_ratio < 1``;
        curvature-weighted KKT violation 3e-5 binomial; KKT violation 3e-6 poisson, 1e-6
        otherwise).
    n_jobs : int or None
        Threads for the folds; None uses every core (one thread for a design of at most
        100,000 entries, where threads cost more than they save).
    random_state : int or None
        Seed of the fold assignment; None uses seed 0, so that fitting twice gives the
        same folds and the same ``lam_`` (as scikit-learn's ``LassoCV``, whose folds are
        not shuffled).
    penalty : {"elasticnet", "mcp", "scad"}, default "elasticnet"
        ``"mcp"``/``"scad"``: ncvreg's folded-concave penalties (less bias on large
        coefficients; ``l1_ratio`` is then ncvreg's ``alpha``); see
        :func:`shrinkage.regularization_path`. Not for the multinomial family.
    gamma : float, list of floats or None
        MCP (> 1, default 3) or SCAD (> 2, default 3.7) concavity; None for the default.
        A list is cross-validated with ``lam`` (``gamma x lam``, ties to the larger
        ``gamma``; :mod:`shrinkage.estimator_grids`).
    adaptive : {None, "ridge", "lasso", "ols"}
        The adaptive lasso (Zou 2006): penalty factors ``|s_j b_j|^-adaptive_exponent``
        from this initial fit (its strength chosen by CV), refitted inside every fold when
        ``lam="auto"`` (:func:`shrinkage.tuning.adaptive.cross_validate_adaptive`).
    adaptive_exponent : float >= 0 or list of floats, default 1.0
        The adaptive lasso's exponent; a list is cross-validated with ``lam``
        (``exponent x lam``, ties to the smaller exponent, nearer the lasso).
    feature_groups : array of shape (n_features,) or list of index arrays, optional
        Penalise groups of features as blocks (the group lasso; a categorical feature's
        dummies enter or leave together); ``penalty_factor`` is then one factor per group
        (default ``sqrt(group size)``). See :mod:`shrinkage.model.groups`.
    group_mix : float in [0, 1], default 0.0
        With ``feature_groups``: 0 the group lasso, 1 the lasso, in between the
        sparse-group lasso.
"""

_FITTED_DOC = """
    Attributes
    ----------
    coef_ : ndarray
        Coefficients at ``lam_`` on the original feature scale.
    intercept_ : float or ndarray
    lam_ : float
        The strength used (chosen by CV when ``lam="auto"``; scikit-learn's ``alpha_``).
    path_ : Path
        The full-data path (one point when ``lam`` is a number).
    cv_ : CVResult or None
        Cross-validation scores along the path (None when ``lam`` is a number).
    gamma_ : float or None
        The MCP/SCAD concavity used (chosen by CV from a list); None for the elastic net.
    adaptive_exponent_ : float or None
        The adaptive lasso's exponent used (chosen from a list); None without ``adaptive``.
    cv_grid_ : GammaCVResult, AdaptiveGridResult or None
        The two-axis cross-validation of a list of ``gamma`` or ``adaptive_exponent``
        values (None for one value).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names when ``X`` is a DataFrame with string column names.
"""


class PenalizedRegressor(RegressorMixin, _PenalizedBase):
    __doc__ = (
        """Penalised linear (gaussian) or log-linear (poisson) regression.

    Equivalent to scikit-learn's ``ElasticNetCV`` / ``ElasticNet`` for
    ``family="gaussian"`` (with ``standardize=False``), and to glmnet's
    ``cv.glmnet(family="gaussian" | "poisson")``.

    Parameters
    ----------
    family : {"gaussian", "poisson"}, default "gaussian"
"""
        + _COMMON_DOC
        + _FITTED_DOC
        + """
    Examples
    --------
    >>> from shrinkage import PenalizedRegressor
    >>> from shrinkage.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> model = PenalizedRegressor(random_state=0).fit(data.X, data.y)
    >>> model.coef_.shape, int((model.coef_ != 0).sum())  # 4 features at the 1-SE lam_
    ((10,), 4)
    >>> bool(model.lam_ == model.cv_.lam_chosen)
    True
"""
    )

    _families = ("gaussian", "poisson")

    __init__ = _estimator_init("gaussian")

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the model (and choose ``lam`` by cross-validation when ``lam="auto"``).

        ``offset`` (shape (n_samples,)) is a known part of the linear predictor, e.g.
        ``log(exposure)`` for poisson rates; ``predict`` then needs one too.
        """
        check_numeric_frame(X)
        self._check_family()
        X, y = validate_data(self, X, y, accept_sparse="csc", y_numeric=True)
        if self.family == "poisson" and np.any(y < 0):
            raise ValueError("family='poisson' needs non-negative counts y")
        coef, inter = self._fit_codes(X, y, self.family, sample_weight, offset)
        self.coef_ = self._coef_engine = coef
        self.intercept_ = self._intercept_engine = float(inter)
        return self

    def predict(self, X, offset=None):
        """Mean response: ``X @ coef_ + intercept_ (+ offset)`` (gaussian), its exponential
        (poisson)."""
        eta = self._eta(X, offset)
        return np.exp(eta) if self.family == "poisson" else eta

    def score(self, X, y, sample_weight=None, offset=None):
        """R^2 (gaussian) or the fraction of Poisson deviance explained, D^2 (poisson), of
        ``predict(X, offset)``: a model fitted with an offset is scored with one (routed
        by ``set_score_request(offset=True)`` in scikit-learn's model selection)."""
        sample_weight = check_score_weight(sample_weight, y)
        pred = self.predict(X, offset)
        if self.family == "poisson":
            from sklearn.metrics import d2_tweedie_score

            return d2_tweedie_score(y, pred, sample_weight=sample_weight, power=1)
        return r2_score(y, pred, sample_weight=sample_weight)


class PenalizedClassifier(ClassifierMixin, _PenalizedBase):
    __doc__ = (
        """Penalised logistic (binomial) or softmax (multinomial) classification.

    Equivalent to scikit-learn's ``LogisticRegressionCV`` with an elastic-net penalty
    (``C = 1 / (n_samples * lam)``), and to glmnet's
    ``cv.glmnet(family="binomial" | "multinomial")``. Folds are stratified by class.

    Parameters
    ----------
    family : {"auto", "binomial", "multinomial"}, default "auto"
        "auto" is binomial for two classes and multinomial for more.
"""
        + _COMMON_DOC
        + _FITTED_DOC
        + """    classes_ : ndarray
        Class labels; for binomial, ``coef_`` models the log-odds of ``classes_[1]``.
    coef_ has shape (1, n_features) (binomial) or (n_classes, n_features), and
    intercept_ shape (1,) or (n_classes,), as in scikit-learn's LogisticRegression.

    Examples
    --------
    >>> from shrinkage import PenalizedClassifier
    >>> from shrinkage.datasets import load_breast_cancer
    >>> data = load_breast_cancer()
    >>> clf = PenalizedClassifier(random_state=0).fit(data.X, data.y)
    >>> clf.coef_.shape, clf.predict_proba(data.X[:2]).shape
    ((1, 30), (2, 2))
    >>> bool(clf.score(data.X, data.y) > 0.95)  # training accuracy
    True
"""
    )

    _families = ("auto", "binomial", "multinomial")

    __init__ = _estimator_init("auto")

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit the model (and choose ``lam`` by cross-validation when ``lam="auto"``).

        ``offset`` is a known part of the linear predictor: shape (n_samples,) for two
        classes, (n_samples, n_classes) for more; ``predict`` then needs one too.
        """
        check_numeric_frame(X)
        self._check_family()
        X, y = validate_data(self, X, y, accept_sparse="csc")
        if y.dtype.kind == "O":
            check_target(y, y.shape[0])  # missing labels (None/NaN/NA) named, not a TypeError
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        k = self.classes_.size
        if k < 2:
            raise ValueError(
                f"y has one class only ({self.classes_[0]!r}); a classifier needs at least 2"
            )
        if sample_weight is not None:
            # shared checks first: length, NaN/inf, negative entries, zero total
            w = check_sample_weight(sample_weight, codes.shape[0])
            if np.unique(codes[w > 0]).size < 2:
                raise ValueError(
                    "only one class has positive sample_weight; a classifier needs at "
                    "least 2 classes with weight"
                )
        family = self.family
        if family == "auto":
            family = "binomial" if k == 2 else "multinomial"
        elif family == "binomial" and k != 2:
            raise ValueError(f"family='binomial' needs 2 classes, y has {k}")
        self.family_ = family
        coef, inter = self._fit_codes(X, codes.astype(float), family, sample_weight, offset)
        self._coef_engine, self._intercept_engine = coef, inter
        if family == "binomial":
            self.coef_ = coef.reshape(1, -1)
            self.intercept_ = np.atleast_1d(inter).astype(float)
        else:  # engine shape (p, K) -> scikit-learn's (K, p)
            self.coef_ = coef.T.copy()
            self.intercept_ = inter.copy()
        return self

    def decision_function(self, X, offset=None):
        """Log-odds of ``classes_[1]`` (binomial, shape (n,)) or class scores (n, K)."""
        return self._eta(X, offset)

    def predict_proba(self, X, offset=None):
        """Class probabilities, shape (n_samples, n_classes)."""
        eta = self.decision_function(X, offset)
        if eta.ndim == 1:
            p1 = 0.5 * (1.0 + np.tanh(0.5 * eta))  # expit without overflow
            return np.column_stack([1.0 - p1, p1])
        z = eta - eta.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X, offset=None):
        """Logarithm of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        return np.log(self.predict_proba(X, offset))

    def score(self, X, y, sample_weight=None, offset=None):
        """Accuracy of ``predict(X, offset)`` (a model fitted with an offset is scored with
        one; scikit-learn routes it after ``set_score_request(offset=True)``)."""
        return accuracy_score(y, self.predict(X, offset),
                              sample_weight=check_score_weight(sample_weight, y))

    def predict(self, X, offset=None):
        """The most probable class."""
        eta = self.decision_function(X, offset)
        idx = (eta > 0).astype(int) if eta.ndim == 1 else np.argmax(eta, axis=1)
        return self.classes_[idx]
