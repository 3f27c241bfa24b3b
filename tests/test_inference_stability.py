"""Stability selection, the debiased lasso and the selection bootstrap: error bounds and
coverage by simulation, the splits, exact edge cases, bad input."""

import matplotlib
import numpy as np
import pytest
import statsmodels.api as sm

from shrinkage.inference import (
    complementary_pairs,
    debiased_lasso,
    selection_bootstrap,
    stability_selection,
)
from shrinkage.plotting import plot_selection_intervals, plot_stability_path

matplotlib.use("Agg")


def test_complementary_pairs_are_disjoint_halves_and_keep_class_balance():
    labels = np.array([0] * 31 + [1] * 9)
    for first, second in complementary_pairs(40, 5, 0, labels):
        assert first.size == second.size == 20
        assert np.intersect1d(first, second).size == 0
        for c in (0, 1):
            assert abs(np.sum(labels[first] == c) - np.sum(labels[second] == c)) <= 1


def test_false_selections_stay_below_the_bound():
    rng = np.random.default_rng(0)
    n, p = 100, 40
    false, bounds = [], []
    for _ in range(12):
        X = rng.standard_normal((n, p))
        y = X[:, :4] @ np.array([1.0, -1.0, 0.8, -0.8]) + rng.standard_normal(n)
        res = stability_selection(X, y, n_pairs=10, threshold=0.75, pfer=1.0,
                                  random_state=int(rng.integers(1 << 30)))
        false.append(int(np.sum(res.selected[4:])))
        bounds.append(res.details["pfer_bound"])
        assert res.details["pfer_bound"] <= 1.0 + 1e-12  # the region meets the target
    assert np.mean(false) <= np.mean(bounds)


def test_probabilities_find_the_signal():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 25))
    y = 2 * X[:, 3] - 2 * X[:, 7] + rng.standard_normal(150)
    res = stability_selection(X, y, n_pairs=15)
    probs = res.details["probabilities"]
    assert probs.shape == (res.details["lams"].size, 25)
    # the grid starts at the full data's lam_max, where a half sample selects little
    assert probs[0].sum() < 2 <= probs[res.details["region"] - 1].sum()
    assert np.all((probs >= 0) & (probs <= 1))
    assert set(np.flatnonzero(res.selected)) == {3, 7}
    assert np.all(res.probability == probs[: res.details["region"]].max(axis=0))


def test_estimate_is_the_full_fit_at_the_regions_weakest_strength():
    # a wide design thins the grid (every second strength or fewer): the estimate is read
    # at details["lams"][region - 1], not at the same index of the unthinned path
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 200))
    y = X[:, :5] @ np.full(5, 1.0) + rng.standard_normal(150)
    res = stability_selection(X, y, n_pairs=5, pfer=10.0)
    lam_end = res.details["lams"][res.details["region"] - 1]
    from shrinkage import regularization_path

    ref = regularization_path(X, y, lams=[lam_end], tol=1e-10).coefs[0]
    np.testing.assert_allclose(res.estimate, ref, atol=1e-4)


def test_multinomial_and_unpenalized_features():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    res = stability_selection(X, y, "multinomial", n_pairs=5, threshold=0.6)
    assert res.selected[2] or res.selected[3]  # a petal measurement
    pf = np.ones(4)
    pf[0] = 0.0
    res = stability_selection(X, (y == 2).astype(int), "binomial", n_pairs=5,
                              penalty_factor=pf)
    assert not res.selected[0]  # always in the model: not a selection


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0.5}, "threshold"), ({"pfer": 0}, "pfer"), ({"n_pairs": 0}, "n_pairs"),
    ({"l1_ratio": 0.0}, "l1_ratio"), ({"sample_weight": np.ones(30)}, "sample_weight"),
])
def test_stability_bad_input(kwargs, message):
    X = np.random.default_rng(0).standard_normal((30, 4))
    with pytest.raises(ValueError, match=message):
        stability_selection(X, X[:, 0], **kwargs)


def test_debiased_coverage_on_a_sparse_wide_design():
    rng = np.random.default_rng(2)
    n, p = 100, 150
    hits = total = 0
    for s in range(6):
        X = rng.standard_normal((n, p))
        beta = np.zeros(p)
        beta[:3] = [1.0, -1.0, 0.5]
        y = X @ beta + rng.standard_normal(n)
        res = debiased_lasso(X, y, level=0.95, random_state=s)
        hits += int(np.sum((res.lower <= beta) & (beta <= res.upper)))
        total += p
    assert 0.92 <= hits / total <= 0.98


def test_debiased_logistic_is_close_to_the_mle_when_n_is_large():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1500, 6))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.logistic(size=1500) > 0).astype(int)
    res = debiased_lasso(X, y, "binomial", lam=1e-3)
    mle = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    se = mle.bse[1:]
    assert np.all(np.abs(res.estimate - mle.params[1:]) < 0.25 * se)
    np.testing.assert_allclose(res.details["se"], se, rtol=0.1)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_debiased_glm_step_removes_the_lasso_bias(family):
    # at lam = 0.02 the lasso is shrunk by 0.01 to 0.16; the correction is a Newton step
    # with W^{-1/2} (y - mu) (it once used y - mu, a step sqrt(w) times too long or short)
    rng = np.random.default_rng(3)
    n = 4000
    X = rng.standard_normal((n, 3))
    eta = 0.2 + X @ np.array([1.0, -0.6, 0.0])
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        mle = sm.Logit(y, sm.add_constant(X)).fit(disp=0).params[1:]
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
        mle = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit().params[1:]
    res = debiased_lasso(X, y, family, lam=0.02, n_jobs=1)
    lasso_error = np.abs(res.details["lasso"] - mle)
    assert np.all(lasso_error[:2] > 0.007)
    assert np.all(np.abs(res.estimate - mle)[:2] <= 0.2 * lasso_error[:2])
    assert np.all(np.abs(res.estimate - mle) < 0.5 * res.details["se"])


def test_debiased_logistic_intervals_cover():
    rng = np.random.default_rng(0)
    n, beta = 300, np.array([1.0, -0.8, 0.5, 0.0, 0.0, 0.0])
    X = rng.standard_normal((n, beta.size))
    hits = []
    for _ in range(100):
        y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
        res = debiased_lasso(X, y, "binomial", lam=0.03, level=0.9, n_jobs=1)
        hits.append((res.lower <= beta) & (beta <= res.upper))
    cover = np.mean(hits, axis=0)
    assert np.mean(cover[:3]) >= 0.8 and np.mean(cover) >= 0.85  # 0.64-0.77 with the bug


def test_debiased_constant_feature_is_nan():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 5))
    X[:, 2] = 1.0
    res = debiased_lasso(X, X[:, 0] + rng.standard_normal(60), lam=0.05)
    assert np.isnan(res.estimate[2]) and np.all(np.isfinite(np.delete(res.estimate, 2)))


def test_bootstrap_counts_the_whole_procedure():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 8))
    y = 3 * X[:, 0] + rng.standard_normal(120)
    res = selection_bootstrap(X, y, n_boot=8, cv=5)
    again = selection_bootstrap(X, y, n_boot=8, cv=5)
    np.testing.assert_array_equal(res.details["coefs"], again.details["coefs"])
    assert res.probability[0] == 1.0
    assert np.all(res.probability == np.mean(res.details["coefs"] != 0, axis=0))
    assert np.all(res.lower <= res.upper)
    with pytest.raises(ValueError, match="n_boot"):
        selection_bootstrap(X, y, n_boot=1)
    with pytest.raises(ValueError, match="multinomial"):
        selection_bootstrap(X, y, family="multinomial")


def test_plots_draw_the_results():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((80, 10))
    y = X[:, 0] + rng.standard_normal(80)
    stab = stability_selection(X, y, n_pairs=4)
    ax = plot_stability_path(stab)
    assert len(ax.lines) == 10 + 1  # one per feature and the threshold
    deb = debiased_lasso(X, y, lam=0.05)
    ax = plot_selection_intervals(deb, only_selected=False, truth=np.eye(10)[0])
    assert len(ax.get_yticks()) == 10
    with pytest.raises(TypeError, match="stability_selection"):
        plot_stability_path(deb)
    summary = deb.summary()
    assert list(summary.columns[:5]) == ["estimate", "lower", "upper", "pvalue",
                                          "probability"]
