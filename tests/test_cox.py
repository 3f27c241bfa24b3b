"""The Cox family: agreement with statsmodels, scikit-survival and lifelines, certificates,
strata, entry times, weights, offsets, and clear errors on bad survival data."""

import warnings

import numpy as np
import pytest

from shrinkage import ConvergenceWarning, regularization_path
from shrinkage.model.cox import Cox, survival_response

sm = pytest.importorskip("statsmodels.api")


def _data(n=300, p=6, seed=0, ties=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 1.5
    beta = np.r_[0.8, -0.5, 0.3, np.zeros(p - 3)]
    T = rng.exponential(np.exp(-(X - 1.5) @ beta))
    C = rng.exponential(1.5, size=n)
    t = np.round(np.minimum(T, C), ties) + 0.05
    e = (T <= C).astype(float)
    return X, t, e, rng


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_unpenalized_equals_statsmodels_with_strata_and_entry(ties):
    X, t, e, rng = _data()
    strata = rng.integers(0, 3, t.size)
    entry = np.where(rng.random(t.size) < 0.3, t * rng.random(t.size) * 0.9, 0.0)
    ref = sm.PHReg(t, X, status=e, ties=ties, strata=strata, entry=entry).fit()
    path = regularization_path(X, np.c_[entry, t, e], "cox", lams=[1e-11], tol=1e-11,
                               ties=ties, strata=strata, standardize=False)
    assert path.converged.all() and path.certificate[0] <= 1e-11
    np.testing.assert_allclose(path.coefs[0], ref.params, atol=1e-7)
    assert path.intercepts[0] == 0.0 and not path.fit_intercept
    # the engine's loss is minus statsmodels' log partial likelihood over n, with the
    # weights 1/n inside the risk-set sums adding (events / n) log(n)
    fam = Cox(ties)
    y = survival_response(np.c_[entry, t, e], strata=strata)
    n = t.size
    w = np.full(n, 1.0 / n)
    expected = -ref.llf / n - e.sum() / n * np.log(n)
    assert fam.loss(y, X @ ref.params, w) == pytest.approx(expected, rel=1e-10)


def test_penalized_equals_scikit_survival_coxnet():
    sksurv = pytest.importorskip("sksurv.linear_model")
    from sksurv.util import Surv

    X, t, e, _ = _data(n=400, p=10, seed=1)
    ys = Surv.from_arrays(e.astype(bool), t)
    for l1_ratio in (1.0, 0.5):
        lam = 0.02
        ref = sksurv.CoxnetSurvivalAnalysis(alphas=[lam], l1_ratio=l1_ratio, tol=1e-12,
                                            max_iter=10**6, normalize=False).fit(X, ys)
        path = regularization_path(X, ys, "cox", lams=[lam], l1_ratio=l1_ratio, tol=1e-11,
                                   ties="breslow", standardize=False)
        # Coxnet's own convergence (its tol on coefficient changes) limits the agreement
        np.testing.assert_allclose(path.coefs[0], ref.coef_[:, 0], atol=2e-6)
        assert np.count_nonzero(path.coefs[0]) == np.count_nonzero(ref.coef_[:, 0])


def test_case_weights_equal_lifelines():
    lifelines = pytest.importorskip("lifelines")
    import pandas as pd

    X, t, e, rng = _data(n=200, p=3, seed=2, ties=12)  # untied: lifelines' Efron = ours
    w = rng.integers(1, 4, t.size).astype(float)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(T=t, E=e, W=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lifelines.CoxPHFitter().fit(df, "T", "E", weights_col="W",
                                          fit_options={"precision": 1e-13})
    path = regularization_path(X, np.c_[t, e], "cox", lams=[1e-12], tol=1e-11,
                               sample_weight=w, standardize=False)
    np.testing.assert_allclose(path.coefs[0], ref.params_.to_numpy(), atol=1e-6)
    # integer weights are row repeats (Breslow: Efron counts tied rows, not weights)
    X, t, e, rng = _data(n=200, p=3, seed=2, ties=1)
    path = regularization_path(X, np.c_[t, e], "cox", lams=[1e-12], tol=1e-11,
                               sample_weight=w, standardize=False, ties="breslow")
    rep = np.repeat(np.arange(t.size), w.astype(int))
    path_rep = regularization_path(X[rep], np.c_[t, e][rep], "cox", lams=[1e-12],
                                   tol=1e-11, standardize=False, ties="breslow")
    np.testing.assert_allclose(path.coefs[0], path_rep.coefs[0], atol=1e-8)


def test_path_certificates_offset_and_shift_invariance():
    X, t, e, rng = _data(n=250, p=30, seed=3)
    y = np.c_[t, e]
    path = regularization_path(X, y, "cox", tol=1e-9)
    assert path.converged.all() and np.all(path.certificate <= 1e-9)
    assert path.nnz[0] == 0 and path.nnz[-1] > 3
    assert np.all(np.diff(path.dev_ratio) >= -1e-9) and 0 < path.dev_ratio[-1] < 1
    # an offset equal to a fitted predictor's part: coefficients move by that part
    off = X[:, 0] * 0.4
    lam = path.lams[20]
    a = regularization_path(X, y, "cox", lams=[lam], tol=1e-11, offset=off,
                            penalty_factor=np.r_[0.0, np.ones(29)])
    b = regularization_path(X, y, "cox", lams=[lam], tol=1e-11,
                            penalty_factor=np.r_[0.0, np.ones(29)])
    np.testing.assert_allclose(a.coefs[0, 0] + 0.4, b.coefs[0, 0], atol=1e-7)
    np.testing.assert_allclose(a.coefs[0, 1:], b.coefs[0, 1:], atol=1e-7)
    # shifting the columns (Cox has no intercept) changes nothing
    c = regularization_path(X + 7.0, y, "cox", lams=[lam], tol=1e-11,
                            penalty_factor=np.r_[0.0, np.ones(29)])
    np.testing.assert_allclose(c.coefs[0], b.coefs[0], atol=1e-7)


def test_kkt_at_reported_solution_is_independent_of_solver():
    X, t, e, _ = _data(n=200, p=40, seed=4)
    y = np.c_[t, e]
    path = regularization_path(X, y, "cox", n_lams=20, tol=1e-10, ties="efron")
    fam = Cox("efron")
    yy = survival_response(y)
    w = np.full(t.size, 1.0 / t.size)
    s = X.std(axis=0)
    for k in (5, 10, path.n_lams - 1):
        b = path.coefs[k]
        eta = X @ b
        h = 1e-6
        # numerical gradient of the loss in each coefficient, then the lasso KKT
        grad = np.array([(fam.loss(yy, eta + h * X[:, j], w)
                          - fam.loss(yy, eta - h * X[:, j], w)) / (2 * h) for j in range(40)])
        lam = path.lams[k]
        act = b != 0
        np.testing.assert_allclose(grad[act], -lam * s[act] * np.sign(b[act]), atol=1e-6)
        assert np.all(np.abs(grad[~act]) <= lam * s[~act] * (1 + 1e-5))


@pytest.mark.parametrize("y, strata, match", [
    (np.c_[[1.0, -2.0, 3.0], [1, 0, 1]], None, "negative time"),
    (np.c_[[1.0, np.nan, 3.0], [1, 0, 1]], None, "NaN"),
    (np.c_[[1.0, 2.0, 3.0], [1, 2, 1]], None, "0 .censored. or 1"),
    (np.c_[[1.0, 2.0, 3.0], [0, 0, 0]], None, "no events"),
    (np.c_[[0.0, 2.0, 1.0], [1.0, 3.0, 1.0], [1, 0, 1]], None, "stop <= start"),
    (np.c_[[1.0, 2.0, 3.0, 4.0], [1, 1, 0, 0]], [0, 0, 1, 1], "stratum 1 has no events"),
    # the stratum is named by its label, not by its place among the sorted labels
    (np.c_[[1.0, 2.0, 3.0, 4.0], [1, 1, 0, 0]], ["site b", "site b", "site a", "site a"],
     "stratum 'site a' has no events"),
    (np.c_[[1.0, 2.0, 3.0, 4.0], [1, 1, 0, 0]], [7, 7, 3, 3], "stratum 3 has no events"),
    (np.c_[[1.0, 2.0, 3.0], [1, 0, 1]], [0, 1], "one label per row"),
    (np.ones((3, 4)), None, "2 columns"),
])
def test_bad_survival_data_is_refused_by_name(y, strata, match):
    X = np.arange(len(y) * 2.0).reshape(len(y), 2) ** 1.5
    with pytest.raises(ValueError, match=match):
        regularization_path(X, y, "cox", strata=strata)


def test_ties_only_and_options_for_other_families_are_refused():
    X = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="no information"):
        regularization_path(X, np.c_[np.ones(5), np.ones(5)], "cox")
    with pytest.raises(ValueError, match="cox family only"):
        regularization_path(X, np.arange(5.0), "gaussian", ties="breslow")
    with pytest.raises(ValueError, match="ties must be"):
        regularization_path(X, np.c_[np.arange(1.0, 6), np.ones(5)], "cox", ties="exact")


@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_coxnet_normalize_units_convert_exactly(l1_ratio):
    pytest.importorskip("sksurv")
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    from shrinkage import units

    X, t, e, rng = _data(n=300, p=6, seed=5, ties=12)
    X = X * rng.uniform(0.3, 4.0, 6)
    lam = 0.04
    alpha, r = units.to_coxnet(lam, l1_ratio, n_samples=300, normalize=True)
    assert units.from_coxnet(alpha, r, n_samples=300, normalize=True) == pytest.approx(
        (lam, l1_ratio), rel=1e-12)
    ref = CoxnetSurvivalAnalysis(alphas=[alpha], l1_ratio=r, normalize=True, tol=1e-12,
                                 max_iter=10**6).fit(X, Surv.from_arrays(e == 1, t))
    path = regularization_path(X, np.c_[t, e], "cox", lams=[lam], l1_ratio=l1_ratio,
                               tol=1e-11, ties="breslow")
    np.testing.assert_allclose(path.coefs[0], ref.coef_[:, 0], atol=2e-6)
    assert np.count_nonzero(path.coefs[0]) == np.count_nonzero(ref.coef_[:, 0]) > 0


def test_separating_cox_fit_has_no_division_by_zero():
    """Five rows, every one an event, the earliest with the largest covariates: the partial
    likelihood has no maximiser, risks of late risk sets underflow to about 1e-160 of the
    largest, and the Hessian's 1 / den^2 divided by an underflowed zero (an uncaught
    ZeroDivisionError; found by a certificate fuzz). The path now runs: the penalised
    paths certify every strength (coefficients near 300, late risk sets far below
    exp(-300) of the largest: cox_terms shifts its sums), the unpenalised one, which has
    no minimiser, says it is not certified (its line search refuses points whose loss
    underflowed)."""
    X = np.array([[0.362, 0.457], [0.309, -0.194], [0.897, 0.478], [0.277, -0.186],
                  [2.879, 1.572]])
    y = np.array([[4.651, 1.0], [2.305, 1.0], [1.179, 1.0], [4.954, 1.0], [0.017, 1.0]])
    for kw in ({}, {"ties": "breslow"}, {"penalty_factor": np.zeros(2)}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            path = regularization_path(X, y, family="cox", **kw)
        assert np.isfinite(path.coefs).all() and np.isfinite(path.certificate).all()
        assert (path.certificate[path.converged] <= path.tol).all()
        if "penalty_factor" not in kw:
            assert path.converged.all()
