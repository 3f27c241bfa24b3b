"""Every boolean option of the public API takes only True or False (None where it means
"automatic"): ``bool("no")`` is True, so a string once silently turned an option on
(``early_stop="False"`` stopped a path early, ``stratify="no"`` stratified, Bayesian and
ridge fits standardized with ``standardize="no"``)."""

import inspect

import numpy as np
import pytest

import shrinkage

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 4))
y = X[:, 0] + rng.standard_normal(40)
yb = (X[:, 0] > 0).astype(float)
y3 = np.arange(40) % 3

# (entry, flag) -> a call with the flag set to the given value
S = shrinkage
SURV = np.c_[np.exp(-X[:, 0]) + 0.1 + np.arange(40) * 1e-3, np.arange(40) % 4 != 0]
CALLS = {
    ("regularization_path", "standardize"): lambda v: S.regularization_path(
        X, y, standardize=v),
    ("regularization_path", "fit_intercept"): lambda v: S.regularization_path(
        X, y, fit_intercept=v),
    ("regularization_path", "multinomial_grouped"): lambda v: S.regularization_path(
        X, y3, family="multinomial", multinomial_grouped=v, n_lams=3),
    ("regularization_path", "early_stop"): lambda v: S.regularization_path(
        X, y, early_stop=v),
    ("cross_validate", "stratify"): lambda v: S.cross_validate(
        X, yb, family="binomial", stratify=v, cv=3, n_lams=5),
    ("cross_validate", "return_path"): lambda v: S.cross_validate(
        X, y, return_path=v, cv=3, n_lams=5),
    ("cross_validate", "held_out_stop"): lambda v: S.cross_validate(
        X, yb, "binomial", held_out_stop=v, cv=3, n_lams=5),
    ("distributed_cv", "return_path"): lambda v: S.distributed_cv(
        X, y, cv=3, return_path=v),
    ("distributed_cv", "stratify"): lambda v: S.distributed_cv(
        X, yb, family="binomial", cv=3, stratify=v),
    ("make_folds", "stratify"): lambda v: S.make_folds(40, y=yb, stratify=v),
    ("ridge_path", "standardize"): lambda v: S.ridge_path(X, y, standardize=v),
    ("ridge_path", "fit_intercept"): lambda v: S.ridge_path(X, y, fit_intercept=v),
    ("ridge_path", "per_target"): lambda v: S.ridge_path(X, y, per_target=v),
    ("EvidenceRidge", "standardize"): lambda v: S.EvidenceRidge(standardize=v).fit(X, y),
    ("EvidenceRidge", "fit_intercept"): lambda v: S.EvidenceRidge(fit_intercept=v).fit(X, y),
    ("BayesianLasso", "standardize"): lambda v: S.BayesianLasso(
        standardize=v, n_draws=20, burn_in=10, n_chains=2).fit(X, y),
    ("BayesianLasso", "fit_intercept"): lambda v: S.BayesianLasso(
        fit_intercept=v, n_draws=20, burn_in=10, n_chains=2).fit(X, y),
    ("glm_evidence", "standardize"): lambda v: S.glm_evidence(
        X, yb, family="binomial", standardize=v),
    ("glm_evidence", "fit_intercept"): lambda v: S.glm_evidence(
        X, yb, family="binomial", fit_intercept=v),
    ("implied_prior", "standardize"): lambda v: S.implied_prior(
        0.1, n_samples=40, standardize=v),
    ("PenalizedRegressor", "standardize"): lambda v: S.PenalizedRegressor(
        standardize=v, cv=3).fit(X, y),
    ("PenalizedRegressor", "fit_intercept"): lambda v: S.PenalizedRegressor(
        fit_intercept=v, cv=3).fit(X, y),
    ("PenalizedClassifier", "standardize"): lambda v: S.PenalizedClassifier(
        standardize=v, cv=3).fit(X, yb),
    ("PenalizedClassifier", "fit_intercept"): lambda v: S.PenalizedClassifier(
        fit_intercept=v, cv=3).fit(X, yb),
    ("PenalizedCox", "standardize"): lambda v: S.PenalizedCox(standardize=v, cv=3).fit(X, SURV),
    ("selective_lasso", "standardize"): lambda v: S.selective_lasso(
        X, y, lam=0.1, standardize=v),
    ("debiased_lasso", "standardize"): lambda v: S.debiased_lasso(
        X, y, lam=0.1, standardize=v),
}
# checked below (save) or not an option (a results class's field)
ELSEWHERE = {("Path", "stopped_early"), ("save", "overwrite")}


def _public_flags():
    """Every (name, parameter) of the public API whose default is True or False, plus the
    options whose default None means "automatic"."""
    out = set()
    for name in shrinkage.__all__:
        obj = getattr(shrinkage, name)
        target = obj.__init__ if inspect.isclass(obj) else obj
        if not callable(target):
            continue
        try:
            params = inspect.signature(target).parameters
        except (TypeError, ValueError):
            continue
        out |= {(name, k) for k, v in params.items() if isinstance(v.default, bool)}
    return out | {("regularization_path", "early_stop"), ("cross_validate", "stratify")}


def test_every_public_flag_is_covered():
    assert _public_flags() <= set(CALLS) | ELSEWHERE


@pytest.mark.parametrize("entry,flag", sorted(CALLS))
@pytest.mark.parametrize("value", ["no", "False", 1, 0.0, [True]])
def test_a_non_boolean_flag_is_refused_by_name(entry, flag, value):
    with pytest.raises(TypeError, match=f"{flag} must be True"):
        CALLS[entry, flag](value)


def test_numpy_booleans_are_flags():
    a = shrinkage.regularization_path(X, y, early_stop=np.bool_(False),
                                      standardize=np.bool_(True))
    b = shrinkage.regularization_path(X, y, early_stop=False, standardize=True)
    np.testing.assert_array_equal(a.coefs, b.coefs)


def test_save_overwrite_is_a_flag(tmp_path):
    path = shrinkage.regularization_path(X, y, n_lams=3)
    target = tmp_path / "m.npz"
    shrinkage.save(path, target)
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        shrinkage.save(path, target, overwrite="yes")
    assert shrinkage.load(target).n_lams == 3
