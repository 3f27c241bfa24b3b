"""Estimators: scikit-learn's contract, agreement with scikit-learn fits, CV wiring."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import shrinkage
from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
from shrinkage.tuning.cv import cross_validate

# Small grids and few folds keep the ~100 contract checks fast.
SMALL = dict(cv=3, n_lams=6, lam_min_ratio=0.05, random_state=0, n_jobs=1)


@parametrize_with_checks([PenalizedRegressor(**SMALL), PenalizedClassifier(**SMALL)])
def test_sklearn_contract(estimator, check):
    check(estimator)


rng = np.random.default_rng(2)
N, P = 80, 6
X = rng.normal(size=(N, P))
Y = X[:, :2] @ np.array([2.0, -1.0]) + rng.normal(size=N)
YB = np.where(X[:, 0] + rng.normal(size=N) > 0, "yes", "no")
YM = np.array(["a", "b", "c"])[np.argmax(X[:, :3] + rng.normal(size=(N, 3)), axis=1)]


def test_fixed_lam_equals_sklearn_lasso():
    est = PenalizedRegressor(lam=0.1, standardize=False, tol=1e-10).fit(X, Y)
    ref = Lasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(X, Y)
    assert np.allclose(est.coef_, ref.coef_, atol=1e-7)
    assert np.isclose(est.intercept_, ref.intercept_, atol=1e-7)
    assert est.lam_ == 0.1 and est.cv_ is None and est.path_.n_lams == 1
    assert np.isclose(est.score(X, Y), ref.score(X, Y))


def test_fixed_lam_binomial_equals_l1_logistic_regression():
    lam = 0.02
    est = PenalizedClassifier(lam=lam, standardize=False, tol=1e-10).fit(X, YB)
    ref = LogisticRegression(C=1 / (N * lam), l1_ratio=1.0, solver="saga", tol=1e-12,
                             max_iter=100_000).fit(X, YB)
    assert list(est.classes_) == ["no", "yes"]
    assert est.coef_.shape == (1, P) and est.intercept_.shape == (1,)
    assert np.allclose(est.coef_, ref.coef_, atol=1e-5)
    assert np.allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert np.array_equal(est.predict(X), ref.predict(X))
    assert np.allclose(est.decision_function(X), ref.decision_function(X), atol=1e-5)


def test_auto_lam_uses_the_cv_choice():
    est = PenalizedRegressor(cv=4, n_lams=20, random_state=5).fit(X, Y)
    ref = cross_validate(X, Y, cv=4, n_lams=20, random_state=5)
    assert np.array_equal(est.cv_.fold_scores, ref.fold_scores)
    assert est.lam_ == ref.lam_chosen
    assert np.array_equal(est.coef_, est.path_.coefs[ref.index_chosen])
    est_min = PenalizedRegressor(cv=4, n_lams=20, random_state=5, rule="min").fit(X, Y)
    assert est_min.lam_ == ref.lam_min <= est.lam_


def test_multinomial_classifier_and_dataframe_names():
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(P)])
    est = PenalizedClassifier(cv=3, n_lams=6, lam_min_ratio=0.1, random_state=0).fit(df, YM)
    assert est.family_ == "multinomial" and list(est.feature_names_in_) == list(df.columns)
    assert est.coef_.shape == (3, P) and est.intercept_.shape == (3,)
    proba = est.predict_proba(df)
    assert proba.shape == (N, 3) and np.allclose(proba.sum(1), 1)
    assert np.array_equal(est.predict(df), est.classes_[proba.argmax(1)])
    assert est.score(df, YM) > 0.5


def test_poisson_regressor_predicts_the_mean():
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 0.2))
    est = PenalizedRegressor(family="poisson", cv=3, n_lams=10, random_state=0).fit(X, y)
    assert np.allclose(est.predict(X), np.exp(X @ est.coef_ + est.intercept_))
    assert est.coef_[0] > 0.2 and 0 < est.score(X, y) < 1


def test_pipeline_and_grid_search():
    pipe = make_pipeline(StandardScaler(), PenalizedRegressor(lam=0.05))
    gs = GridSearchCV(pipe, {"penalizedregressor__l1_ratio": [0.5, 1.0]}, cv=3).fit(X, Y)
    assert gs.best_params_["penalizedregressor__l1_ratio"] in (0.5, 1.0)
    gs2 = GridSearchCV(PenalizedClassifier(cv=3, n_lams=8, lam_min_ratio=0.05, random_state=0),
                       {"rule": ["min", "1se"]}, cv=3).fit(X, YB)
    assert gs2.best_estimator_.cv_ is not None


@pytest.mark.parametrize(
    ("est", "y", "match"),
    [
        (PenalizedRegressor(lam="big"), Y, "lam must be 'auto'"),
        (PenalizedRegressor(lam=-1.0), Y, "lam must be 'auto' or a finite number"),
        (PenalizedRegressor(l1_ratio=2.0), Y, "l1_ratio must be"),
        (PenalizedRegressor(family="binomial"), Y, "family must be one of"),
        (PenalizedRegressor(family="poisson"), Y, "non-negative counts"),
        (PenalizedClassifier(family="binomial"), YM, "needs 2 classes"),
        (PenalizedClassifier(metric="mae", rule="x"), YB, "rule 'x' not understood"),
        (PenalizedRegressor(metric="auc"), Y, "does not fit family"),
    ],
)
def test_bad_parameters(est, y, match):
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_default_folds_are_reproducible():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((120, 8))
    y = X[:, 0] + rng.standard_normal(120)
    a = PenalizedRegressor(n_lams=30).fit(X, y)
    b = PenalizedRegressor(n_lams=30).fit(X, y)
    assert a.lam_ == b.lam_ and np.array_equal(a.cv_.fold_ids, b.cv_.fold_ids)
    other = PenalizedRegressor(n_lams=30, random_state=5).fit(X, y)
    assert not np.array_equal(other.cv_.fold_ids, a.cv_.fold_ids)


def test_offset_in_fit_and_predict_is_an_exposure():
    """Poisson rates: log(exposure) as offset, against statsmodels' GLM with the same
    offset, and predictions that need the offset back."""
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    X = rng.standard_normal((300, 3))
    exposure = rng.uniform(0.5, 4.0, 300)
    y = rng.poisson(exposure * np.exp(0.3 + 0.5 * X[:, 0]))
    est = PenalizedRegressor(family="poisson", lam=0.0).fit(X, y, offset=np.log(exposure))
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(),
                 offset=np.log(exposure)).fit()
    np.testing.assert_allclose(est.coef_, ref.params[1:], atol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.params[0], atol=1e-6)
    np.testing.assert_allclose(est.predict(X, offset=np.log(exposure)),
                               ref.predict(sm.add_constant(X), offset=np.log(exposure)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="fitted with an offset: pass offset="):
        est.predict(X)
    with pytest.raises(ValueError, match="offset has length 3"):
        est.predict(X, offset=np.zeros(3))
    # cross-validated with an offset too
    cv_est = PenalizedRegressor(family="poisson", n_lams=20, cv=4).fit(
        X, y, offset=np.log(exposure))
    assert cv_est.cv_ is not None and np.isfinite(cv_est.lam_)


def test_classifier_offset_shapes():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((150, 4))
    y = np.where(X[:, 0] + rng.standard_normal(150) > 0, "yes", "no")
    off = 0.5 * rng.standard_normal(150)
    clf = PenalizedClassifier(lam=0.01).fit(X, y, offset=off)
    np.testing.assert_allclose(clf.predict_proba(X, offset=off).sum(1), 1.0)
    assert clf.predict(X, offset=off).shape == (150,)


def test_missing_and_nullable_labels():
    import pandas as pd

    rng = np.random.default_rng(10)
    X = rng.standard_normal((60, 3))
    labels = np.where(X[:, 0] > 0, "a", "b").astype(object)
    labels[4] = None
    with pytest.raises(ValueError, match="y has 1 missing label"):
        PenalizedClassifier(n_lams=5, cv=3).fit(X, labels)
    labels[4] = np.nan
    with pytest.raises(ValueError, match="y has 1 missing label"):
        shrinkage.cross_validate(X, labels, family="binomial", n_lams=5, cv=3)
    boolean = pd.array(X[:, 0] > 0, dtype="boolean")
    assert shrinkage.regularization_path(X, boolean, family="binomial", n_lams=5).n_lams == 5
    boolean[2] = pd.NA
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        shrinkage.regularization_path(X, boolean, family="binomial")
    counts = pd.Series(rng.poisson(3, 60), dtype="Int64")
    frame = pd.DataFrame({"a": pd.array(rng.integers(0, 5, 60), dtype="Int64"),
                          "b": pd.array(X[:, 1], dtype="Float64"),
                          "c": pd.array(X[:, 2] > 0, dtype="boolean")})
    path = shrinkage.regularization_path(frame, counts, family="poisson", n_lams=5)
    assert list(path.feature_names) == ["a", "b", "c"]
    frame.loc[3, "a"] = pd.NA
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        shrinkage.regularization_path(frame, counts, family="poisson")
    categorical = pd.Categorical(np.where(X[:, 0] > 0, "x", "y"))
    assert shrinkage.cross_validate(X, categorical, family="binomial", n_lams=5,
                                    cv=3).extra["classes"].tolist() == ["x", "y"]


def test_ridge_estimator_does_not_choose_the_intercept_alone():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    for l1_ratio in (0.0, 0.01):
        est = PenalizedRegressor(l1_ratio=l1_ratio).fit(X, y)
        assert est.lam_ < est.path_.lams[0]
        assert est.score(X, y) > 0.4  # the intercept alone scores 0


def test_a_model_fitted_with_an_offset_is_scored_with_it():
    # score took no offset and predict refused to go without one: an offset model could
    # not be scored at all, nor tuned by GridSearchCV with the offset routed to fit
    import sklearn
    from sklearn.metrics import accuracy_score, d2_tweedie_score
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    off = rng.normal(size=120)
    y = rng.poisson(np.exp(0.5 * X[:, 0] + off)).astype(float)
    reg = PenalizedRegressor(family="poisson", lam=0.01).fit(X, y, offset=off)
    assert reg.score(X, y, offset=off) == pytest.approx(
        d2_tweedie_score(y, reg.predict(X, offset=off), power=1), rel=1e-12)
    with pytest.raises(ValueError, match="pass offset= to predict or score"):
        reg.score(X, y)
    yb = (rng.random(120) < 1 / (1 + np.exp(-(X[:, 0] + off)))).astype(int)
    clf = PenalizedClassifier(lam=0.01).fit(X, yb, offset=off)
    assert clf.score(X, yb, offset=off) == accuracy_score(yb, clf.predict(X, offset=off))
    with sklearn.config_context(enable_metadata_routing=True):
        est = (PenalizedRegressor(family="poisson").set_fit_request(offset=True)
               .set_score_request(offset=True))
        gs = GridSearchCV(est, {"lam": [1e-3, 1e-2, 1e-1]}, cv=3, error_score="raise")
        gs.fit(X, y, offset=off)
        assert gs.best_params_["lam"] in (1e-3, 1e-2, 1e-1)
        assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
