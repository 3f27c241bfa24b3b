"""Cross-validation's folds start beside the full-data path, on the grid it announces
(shrinkage.tuning.fold_paths, FitHints.on_grid): the result equals that of folds fitted
after the full-data path, whatever the full path's early stop or failure."""

import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import shrinkage
from shrinkage.engine.blas import SMALL_DESIGN
from shrinkage.engine.contract import FitHints
from shrinkage.engine.path import PathOptions, check_design, fit_path
from shrinkage.engine.shared import SharedDesign
from shrinkage.tuning import fold_paths
from test_held_out_stop import _overfitting


def _design(family, noise=1.0):
    """test_held_out_stop's overfitting design, widened past SMALL_DESIGN entries."""
    X, y = _overfitting(family, n=240, p=500, noise=noise)
    assert X.size > SMALL_DESIGN
    return X, y


@pytest.fixture
def beside(monkeypatch):
    """Counts the full-data paths fitted beside their folds."""
    calls = []
    real = fold_paths._GridSlot.full_path

    def spy(self, *args):
        calls.append(self)
        return real(self, *args)

    monkeypatch.setattr(fold_paths._GridSlot, "full_path", spy)
    return calls


def _cv(X, y, family, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return shrinkage.cross_validate(X, y, family, cv=5, random_state=0, **kw)


def test_the_grid_is_announced_before_the_first_strength_on_y_own_scale():
    X, y = _design("gaussian")
    seen = []
    first = []

    def monitor(k, coef, b0):
        first.append(k)
        return False

    # a response far from unit scale is fitted rescaled: the grid is shown on y's scale
    path = fit_path(check_design(X), 1e6 * y, PathOptions(n_lams=30),
                    FitHints(on_grid=lambda g: seen.append((g.copy(), len(first))),
                             monitor=monitor))
    (grid, points_before), = seen
    assert points_before == 0
    np.testing.assert_array_equal(grid, path.lams)


@pytest.mark.parametrize("family", ["binomial", "gaussian"])
def test_folds_beside_the_full_path_give_the_curve_of_folds_after_it(family, beside):
    X, y = _design(family)
    after = _cv(X, y, family, n_lams=60, n_jobs=1, held_out_stop=False)
    assert not beside  # one worker: the full path first
    whole = _cv(X, y, family, n_lams=60, n_jobs=2, held_out_stop=False)
    assert len(beside) == 1
    np.testing.assert_array_equal(whole.lams, after.lams)
    np.testing.assert_allclose(whole.mean, after.mean, rtol=1e-12, atol=0)
    np.testing.assert_allclose(whole.se, after.se, rtol=1e-10, atol=1e-15)
    assert (whole.index_min, whole.index_chosen) == (after.index_min, after.index_chosen)
    # watched beside the full path: the same points where the curve is kept
    cut = _cv(X, y, family, n_lams=60, n_jobs=2, lam_min_ratio=1e-3)
    full = _cv(X, y, family, n_lams=60, n_jobs=1, lam_min_ratio=1e-3, held_out_stop=False)
    S = cut.extra["held_out_stop"] or full.lams.size
    np.testing.assert_array_equal(cut.lams, full.lams)
    np.testing.assert_allclose(cut.mean[:S], full.mean[:S], rtol=1e-12, atol=0)
    assert (cut.index_min, cut.index_chosen) == (full.index_min, full.index_chosen)


def test_folds_end_where_the_full_path_stopped_early(beside):
    # nearly noiseless: the full path's deviance explained reaches its early stop, and
    # the folds, fitting the announced grid, are cut to the full path's length
    X, y = _design("gaussian", noise=1e-3)
    after = _cv(X, y, "gaussian", n_jobs=1)
    assert after.lams.size < 100, "the full path must stop early for this test"
    res = _cv(X, y, "gaussian", n_jobs=2)
    assert len(beside) == 1
    np.testing.assert_array_equal(res.lams, after.lams)
    assert res.mean.shape == after.mean.shape
    np.testing.assert_allclose(res.mean, after.mean, rtol=1e-12, atol=0)
    assert res.index_chosen == after.index_chosen


def test_a_null_full_path_announces_its_grid_at_its_end(beside):
    X, _ = _design("gaussian")
    y = np.full(X.shape[0], 3.0)  # a constant count: the null model is exact
    after = _cv(X, y, "poisson", n_jobs=1, n_lams=20)
    res = _cv(X, y, "poisson", n_jobs=2, n_lams=20)
    assert len(beside) == 1
    np.testing.assert_array_equal(res.lams, after.lams)
    np.testing.assert_allclose(res.mean, after.mean, rtol=1e-12, atol=0)


def test_a_failing_full_path_fails_the_cv_without_a_hang(monkeypatch, beside):
    X, y = _design("binomial")

    def broken(self, y, options, on_grid=None):
        raise ValueError("the full path broke")

    monkeypatch.setattr(SharedDesign, "path", broken)
    caught = []

    def run():
        try:
            _cv(X, y, "binomial", n_jobs=2)
        except Exception as e:  # noqa: BLE001 (recorded and checked below)
            caught.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join(120)
    assert not t.is_alive(), "the folds waited for a grid that never came"
    assert len(beside) == 1 and len(caught) == 1
    assert "full path broke" in str(caught[0]) or "before its grid" in str(caught[0])


def test_an_l1_ratio_grid_starts_each_ratio_s_folds_on_its_own_grid(beside):
    X, y = _design("binomial")
    kw = dict(l1_ratios=(0.3, 1.0), cv=4, random_state=0, n_lams=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after = shrinkage.cross_validate_elastic_net(X, y, "binomial", n_jobs=1, **kw)
        res = shrinkage.cross_validate_elastic_net(X, y, "binomial", n_jobs=2, **kw)
    assert len(beside) == 2  # one grid per ratio
    assert res.index_chosen == after.index_chosen and res.lam_chosen == after.lam_chosen
    for a, b in zip(res.results, after.results):
        np.testing.assert_array_equal(a.lams, b.lams)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(4))
def test_fuzzed_cross_validations_agree_beside_and_after_the_full_path(seed):
    # family, dense or sparse design, folds, repeats, weights, elastic-net mix, metric:
    # the folds beside the full path (n_jobs=2) keep the curve, its end and every choice
    # of the folds fitted after it (n_jobs=1); 100 such seeds ran before this test
    # (folds stopped in 79, and their kept curves matched the unstopped ones),
    # none differed
    rng = np.random.default_rng(seed)
    fam = ["gaussian", "binomial", "poisson", "multinomial"][seed % 4]
    n = int(rng.integers(150, 400))
    p = int(rng.integers(110_000 // n, 3 * 110_000 // n))
    X = rng.standard_normal((n, p))
    sparse = rng.random() < 0.4
    if sparse:
        X = X * (rng.random((n, p)) < 0.5)
    eta = X[:, :5] @ rng.uniform(-1, 1, 5) * 1.5
    if fam == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif fam == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    elif fam == "multinomial":
        z = eta + rng.standard_normal(n)
        y = (z > -0.5).astype(int) + (z > 0.8)
    else:
        y = eta + rng.standard_normal(n)
    kw = dict(cv=int(rng.integers(3, 8)), random_state=seed, n_lams=int(rng.integers(30, 90)),
              lam_min_ratio=float(10 ** rng.uniform(-4, -1.5)))
    if rng.random() < 0.3:
        kw["repeats"] = 2
    if rng.random() < 0.3:
        kw["sample_weight"] = rng.uniform(0.2, 2.0, n)
    if rng.random() < 0.3 and fam != "multinomial":
        kw["l1_ratio"] = 0.5
    if rng.random() < 0.3:
        kw["metric"] = {"gaussian": "mae", "binomial": "misclassification", "poisson": "mse",
                        "multinomial": "log_loss"}[fam]
    if sparse:
        X = sp.csc_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = shrinkage.cross_validate(X, y, fam, n_jobs=1, **kw)
        b = shrinkage.cross_validate(X, y, fam, n_jobs=2, **kw)
    np.testing.assert_array_equal(a.lams, b.lams)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-12, atol=0)  # NaN where a has NaN
    assert a.extra["held_out_stop"] == b.extra["held_out_stop"]
    np.testing.assert_array_equal(a.extra["n_folds_reached"], b.extra["n_folds_reached"])
    assert (a.index_min, a.index_chosen) == (b.index_min, b.index_chosen)
