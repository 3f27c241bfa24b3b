"""Cross-validation of Cox paths and the PenalizedCox estimator: the partial likelihood
deviance against a direct computation, concordance against scikit-survival, the
estimator's survival curves against lifelines, and its scikit-learn contract."""

import warnings

import numpy as np
import pytest

from shrinkage import PenalizedCox, cross_validate, regularization_path
from shrinkage.tuning.cox_scores import partial_likelihood_deviance


def _data(n=300, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.r_[0.9, -0.6, 0.4, np.zeros(p - 3)]
    T = rng.exponential(np.exp(-X @ beta))
    C = rng.exponential(2.0, size=n)
    return X, np.minimum(T, C), (T <= C).astype(float), rng


def _log_pl_breslow(t, e, eta, w):
    """Weighted Breslow log partial likelihood by the O(n^2) definition."""
    out = 0.0
    for i in np.flatnonzero((e == 1) & (w > 0)):
        risk = (t >= t[i]) & (w > 0)
        out += w[i] * (eta[i] - np.log(np.sum(w[risk] * np.exp(eta[risk]))))
    return out


def test_fold_deviance_is_the_held_out_share_of_the_likelihood():
    X, t, e, rng = _data(n=120, p=3)
    from shrinkage.model.cox import survival_response

    y = survival_response(np.c_[t, e])
    eta = X @ rng.normal(size=(3, 4)) * 0.3
    test = np.sort(rng.choice(120, 30, replace=False))
    train = np.setdiff1d(np.arange(120), test)
    w = rng.uniform(0.5, 2.0, 120)
    got = partial_likelihood_deviance(y, eta, w, train, test, ties="breslow")
    w_tr = w.copy()
    w_tr[test] = 0.0
    for k in range(4):
        want = -2.0 * (_log_pl_breslow(t, e, eta[:, k], w)
                       - _log_pl_breslow(t, e, eta[:, k], w_tr)) / w[test].sum()
        assert got[k] == pytest.approx(want, rel=1e-10)


def test_cv_chooses_the_signal_and_one_se_is_stronger():
    X, t, e, _ = _data()
    cv = cross_validate(X, np.c_[t, e], "cox", cv=5, random_state=0)
    assert cv.metric == "deviance" and not cv.greater_is_better
    assert cv.index_chosen <= cv.index_min  # the 1-SE rule keeps a stronger lam
    path = regularization_path(X, np.c_[t, e], "cox", lams=cv.lams)
    chosen = np.flatnonzero(path.coefs[cv.index_chosen])
    assert set(chosen) <= {0, 1, 2} and 0 in chosen
    # folds are stratified by the event indicator
    events = [e[cv.fold_ids == f].mean() for f in range(5)]
    assert max(events) - min(events) < 0.05


def test_cv_concordance_equals_scikit_survival_on_each_fold():
    pytest.importorskip("sksurv")
    from sksurv.metrics import concordance_index_censored

    X, t, e, _ = _data(n=200, p=5, seed=1)
    cv = cross_validate(X, np.c_[t, e], "cox", cv=4, metric="c_index", random_state=1,
                        n_lams=10)
    assert cv.greater_is_better and cv.index_chosen <= cv.index_min
    fold = cv.fold_ids
    for f in range(4):
        train, test = fold != f, fold == f
        path = regularization_path(X[train], np.c_[t, e][train], "cox", lams=cv.lams)
        eta = path.linear_predictor(X[test])
        want = [concordance_index_censored(e[test] == 1, t[test], eta[:, k])[0]
                for k in range(1, path.n_lams)]
        np.testing.assert_allclose(cv.fold_scores[f, 1:path.n_lams], want, atol=1e-12)


def test_estimator_survival_curves_equal_lifelines_breslow_baseline():
    lifelines = pytest.importorskip("lifelines")
    import pandas as pd

    X, t, e, _ = _data(n=200, p=3, seed=2)
    model = PenalizedCox(lam=1e-12, ties="efron", tol=1e-12).fit(X, np.c_[t, e])
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(T=t, E=e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lifelines.CoxPHFitter(baseline_estimation_method="breslow").fit(
            df, "T", "E", fit_options={"precision": 1e-13})
    np.testing.assert_allclose(model.coef_, ref.params_.to_numpy(), atol=1e-6)
    ts = np.sort(t[e == 1])  # at event times (lifelines interpolates between them)
    times = ts[[10, ts.size // 2, ts.size - 10]]
    want = ref.predict_survival_function(df.iloc[:5], times=times).to_numpy().T
    got = model.predict_survival_function(X[:5], times)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert model.score(X, np.c_[t, e]) > 0.6


def test_estimator_strata_and_structured_y_in_grid_search():
    pytest.importorskip("sksurv")
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sksurv.util import Surv

    X, t, e, rng = _data(n=240, p=6, seed=3)
    ys = Surv.from_arrays(e.astype(bool), t)
    search = GridSearchCV(make_pipeline(StandardScaler(), PenalizedCox()),
                          {"penalizedcox__lam": [0.01, 0.05, 0.2]}, cv=3).fit(X, ys)
    assert search.best_params_["penalizedcox__lam"] in (0.01, 0.05)
    strata = np.where(rng.random(240) < 0.5, "north", "south")
    model = PenalizedCox(lam=0.02).fit(X, ys, strata=strata)
    S = model.predict_survival_function(X[:4], [0.2, 1.0], strata=strata[:4])
    assert S.shape == (4, 2) and np.all(np.diff(S, axis=1) <= 0)
    with pytest.raises(ValueError, match="fitted with strata"):
        model.predict_survival_function(X[:4], [0.2])
    with pytest.raises(ValueError, match="not seen in fit"):
        model.predict_survival_function(X[:1], [0.2], strata=["west"])


def test_estimator_params_are_validated_by_name():
    X, t, e, _ = _data(n=50, p=3)
    for bad, match in ((dict(lam=-1.0), "lam"), (dict(ties="exact"), "ties"),
                       (dict(l1_ratio=2.0), "l1_ratio"), (dict(rule="nope"), "rule")):
        with pytest.raises(ValueError, match=match):
            PenalizedCox(**bad).fit(X, np.c_[t, e])


@pytest.mark.parametrize("check", [
    "check_parameters_default_constructible", "check_no_attributes_set_in_init",
    "check_get_params_invariance", "check_set_params", "check_estimator_cloneable",
    "check_estimator_repr", "check_do_not_raise_errors_in_init_or_set_params",
])
def test_estimator_passes_the_checks_that_need_no_regression_target(check):
    # scikit-learn's other checks feed a 1-d regression y, which no survival estimator
    # can take (scikit-survival's own estimators skip them too)
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("PenalizedCox", PenalizedCox())


def test_estimator_does_not_change_its_parameters_when_fitting():
    X, t, e, _ = _data(n=120, p=4, seed=6)
    model = PenalizedCox(lam=0.05, penalty_factor=np.ones(4))
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in model.get_params().items()}
    model.fit(X, np.c_[t, e])
    after = model.get_params()
    for k, v in before.items():
        assert np.array_equal(v, after[k]) if isinstance(v, np.ndarray) else v == after[k]


def test_cv_uno_concordance_is_scored_up_to_each_folds_last_training_time():
    from sksurv.metrics import concordance_index_ipcw
    from sksurv.util import Surv

    X, t, e, _ = _data(n=200, p=5, seed=3)
    e[np.argmax(t)] = 1.0  # the longest follow-up ends in an event: its fold's G is unknown
    cv = cross_validate(X, np.c_[t, e], "cox", cv=4, metric="uno_c", random_state=0,
                        n_lams=8)
    assert cv.greater_is_better and np.all(np.isfinite(cv.mean[1:]))
    fold = cv.fold_ids
    beyond = 0
    for f in range(4):
        train, test = fold != f, fold == f
        tau = t[train].max()
        beyond += int(np.any(t[test][e[test] == 1] > tau))
        path = regularization_path(X[train], np.c_[t, e][train], "cox", lams=cv.lams)
        eta = path.linear_predictor(X[test])
        want = [concordance_index_ipcw(Surv.from_arrays(e[train] == 1, t[train]),
                                       Surv.from_arrays(e[test] == 1, t[test]), eta[:, k],
                                       tau=tau)[0] for k in range(1, path.n_lams)]
        np.testing.assert_allclose(cv.fold_scores[f, 1:path.n_lams], want, atol=1e-12)
    assert beyond >= 1  # the case that was refused: a held-out event past every training time
    model = PenalizedCox(metric="uno_c", cv=4, random_state=0).fit(X, np.c_[t, e])
    assert model.cv_.metric == "uno_c"
