"""Selective inference for the lasso: the truncation limits against brute force refits,
coverage and null p-values by simulation, data splitting against statsmodels."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from shrinkage import regularization_path
from shrinkage.inference import selective_lasso


def _event(X, y, lam):
    b = regularization_path(X, y, lams=[lam], tol=1e-13).coefs[0]
    return tuple(np.flatnonzero(b)), tuple(np.sign(b[b != 0]))


def test_truncation_limits_are_where_the_selection_changes():
    rng = np.random.default_rng(0)
    n, p, lam = 40, 6, 0.25
    X = rng.standard_normal((n, p))
    y = X[:, 0] - 0.7 * X[:, 1] + rng.standard_normal(n)
    res = selective_lasso(X, y, lam=lam, sigma=1.0, level=0.9)
    M = np.flatnonzero(res.selected)
    event = _event(X, y, lam)
    assert tuple(M) == event[0]
    Z = np.column_stack([np.ones(n), X[:, M]])
    for k, j in enumerate(M, start=1):
        # y moves along the direction that changes only the target eta^T y
        eta = np.linalg.pinv(Z)[k]
        direction = eta / (eta @ eta)
        base = y - direction * (eta @ y)
        vlo, vhi = res.details["vlo"][j], res.details["vhi"][j]
        assert vlo < eta @ y < vhi
        for t, same in ((vlo + 1e-3, True), (vhi - 1e-3, True), (vlo - 1e-3, False),
                        (vhi + 1e-3, False)):
            if np.isfinite(t):
                assert (_event(X, base + t * direction, lam) == event) is same, (j, t)


def test_estimate_is_least_squares_on_the_selected_model():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 8)) * rng.uniform(0.5, 3, 8)
    y = 2 + X[:, 0] - X[:, 3] + rng.standard_normal(60)
    res = selective_lasso(X, y, lam=0.2, sigma=1.0)
    M = np.flatnonzero(res.selected)
    ols = sm.OLS(y, sm.add_constant(X[:, M])).fit()
    np.testing.assert_allclose(res.estimate[M], ols.params[1:], rtol=1e-8, atol=1e-10)


def test_coverage_of_ninety_percent_intervals():
    rng = np.random.default_rng(2)
    n, p = 50, 10
    X = rng.standard_normal((n, p))
    mu = 0.5 + X[:, :3] @ np.array([1.0, -0.6, 0.3])
    hits = total = 0
    for _ in range(300):
        y = mu + rng.standard_normal(n)
        res = selective_lasso(X, y, lam=0.15, sigma=1.0, level=0.9)
        M = np.flatnonzero(res.selected)
        target = np.linalg.lstsq(np.column_stack([np.ones(n), X[:, M]]), mu, rcond=None)[0]
        hits += int(np.sum((res.lower[M] <= target[1:]) & (target[1:] <= res.upper[M])))
        total += M.size
    assert total > 1000
    assert 0.87 <= hits / total <= 0.93


def test_pvalues_are_uniform_under_the_global_null():
    rng = np.random.default_rng(3)
    n, p = 40, 8
    X = rng.standard_normal((n, p))
    pvals = []
    for _ in range(250):
        y = rng.standard_normal(n)
        res = selective_lasso(X, y, lam=0.05, sigma=1.0)
        pvals.extend(res.pvalue[res.selected])
    assert len(pvals) > 500
    assert stats.kstest(pvals, "uniform").pvalue > 1e-3


def test_sigma_estimated_from_least_squares_when_n_exceeds_p():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 5))
    y = X[:, 0] + 2.0 * rng.standard_normal(80)
    res = selective_lasso(X, y, lam=0.1)
    ols = sm.OLS(y, sm.add_constant(X)).fit()
    assert res.details["sigma"] == pytest.approx(np.sqrt(ols.scale), rel=1e-10)


def test_data_splitting_is_classical_inference_on_the_second_half():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 12))
    y = 1.5 * X[:, 0] - X[:, 5] + rng.standard_normal(200)
    res = selective_lasso(X, y, level=0.9, cv=5)
    assert res.method == "data_splitting"
    M = np.flatnonzero(res.selected)
    rows = res.details["infer_rows"]
    assert np.intersect1d(rows, res.details["select_rows"]).size == 0
    ols = sm.OLS(y[rows], sm.add_constant(X[rows][:, M])).fit()
    ci = ols.conf_int(0.1)[1:]
    np.testing.assert_allclose(res.estimate[M], ols.params[1:], rtol=1e-9)
    np.testing.assert_allclose(res.lower[M], ci[:, 0], rtol=1e-8)
    np.testing.assert_allclose(res.pvalue[M], ols.pvalues[1:], rtol=1e-6)


def test_data_splitting_logistic_matches_statsmodels():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((400, 6))
    y = (X[:, 0] - X[:, 1] + rng.logistic(size=400) > 0).astype(int)
    res = selective_lasso(X, y, family="binomial", cv=5)
    M = np.flatnonzero(res.selected)
    rows = res.details["infer_rows"]
    fit = sm.Logit(y[rows], sm.add_constant(X[rows][:, M])).fit(disp=0)
    np.testing.assert_allclose(res.estimate[M], fit.params[1:], rtol=1e-6)
    np.testing.assert_allclose(res.upper[M], fit.conf_int(0.05)[1:, 1], rtol=1e-5)


def test_logistic_selective_intervals_are_finite_and_contain_the_estimate():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] + rng.logistic(size=300) > 0).astype(int)
    res = selective_lasso(X, y, lam=0.02, family="binomial")
    M = np.flatnonzero(res.selected)
    assert M.size and res.details["exact"] is False
    assert np.all(res.lower[M] < res.estimate[M]) and np.all(res.estimate[M] < res.upper[M])


def test_a_strong_unpenalised_feature_far_out_in_its_one_sided_limits():
    # its truncation is (-inf, V+] with the estimate far above zero near V+: the upper
    # tail of such an interval once cancelled to log1p(-1) (a bare "math domain error")
    rng = np.random.default_rng(1)
    n = 200
    x0 = rng.standard_normal(n)
    x1 = 0.3 * x0 + np.sqrt(1 - 0.09) * rng.standard_normal(n)
    X = np.column_stack([x0, x1, rng.standard_normal(n)])
    y = 1.0 * x0 + 0.5 * x1 + rng.standard_normal(n)
    res = selective_lasso(X, y, lam=0.05, sigma=1.0, penalty_factor=[0, 1, 1])
    M = np.flatnonzero(res.selected)
    assert 0 in M and np.all(np.isfinite(res.pvalue[M]))
    assert res.pvalue[0] < 1e-10 and res.lower[0] < 1.0 < res.upper[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"lam": -1.0}, "positive"),
    ({"lam": "min"}, "'cv'"),
    ({"lam": 0.1, "level": 1.0}, "level"),
    ({"lam": 0.1, "sigma": 0.0}, "sigma"),
    ({"lam": 0.1, "family": "multinomial"}, "supports"),
])
def test_bad_input_is_named(kwargs, message):
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(ValueError, match=message):
        selective_lasso(X, X[:, 0], **kwargs)
