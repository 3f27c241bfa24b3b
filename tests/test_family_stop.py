"""The path's early stop measures a flat deviance as glmnet does for each family: relative
to the deviance explained (gaussian, poisson, cox), absolute (binomial, multinomial)."""

import dask.array as da
import numpy as np
import pytest

import shrinkage
import shrinkage.distributed as dist
from shrinkage.engine import stopping as st
from shrinkage.model.families import get_family


def _glmnet_stop(dev, relative, min_lams=st.MIN_LAMS):
    """Where glmnet 4.1's rule ends a path whose deviance explained is ``dev`` (every
    coefficient free): the number of strengths kept."""
    L = dev.size
    for k in range(min_lams - 1, L - 1):
        if dev[k] > st.DEV_MAX:
            return k + 1
        bar = st.DEV_CHANGE * (dev[k] if relative else 1.0)
        if abs(dev[k] - dev[k - 1]) < bar:
            return k + 1
    return L


def test_each_family_declares_glmnets_measure():
    assert not get_family("binomial").flat_relative
    assert not get_family("multinomial").flat_relative
    for name in ("gaussian", "poisson", "cox"):
        assert get_family(name).flat_relative


def test_the_absolute_bar_against_the_relative_one():
    """At a deviance explained of 0.026 a change of 5e-6 is flat for the absolute bar
    (5e-6 < 1e-5) and not for the relative one (5e-6 > 2.6e-7); a fall larger than the
    bar stops neither, and a disabled rule (concave solvers' -inf) never fires."""
    k = st.MIN_LAMS
    base = np.linspace(0.01, 0.026, k)
    lo, hi = np.full(2, -np.inf), np.full(2, np.inf)
    l1u, l2u, b = np.ones(2), np.zeros(2), np.array([0.3, 0.0])

    def code(curve, relative, rules=st.RULES):
        return st.path_stop_code(curve, k, 100, rules, b, lo, hi, l1u, l2u, relative)

    small, large, fell = (np.r_[base, 0.026 + d] for d in (5e-6, 2e-5, -2e-5))
    assert code(small, False) == 2 and code(small, True) == 0
    assert code(large, False) == 0 and code(large, True) == 0
    assert code(fell, False) == 0
    assert code(small, False, (st.MIN_LAMS, st.DEV_MAX, -np.inf)) == 0
    assert "(relative)" not in st.stop_reason(2, 0.026, 0.1, relative=False)
    assert "(relative)" in st.stop_reason(2, 0.026, 0.1)


def test_the_code_matches_glmnets_rule_on_random_curves():
    """Fuzz: over increasing curves of every height, path_stop_code (with a moving
    coefficient) ends where glmnet's rule written out here ends, both measures."""
    rng = np.random.default_rng(5)
    lo, hi = np.full(1, -np.inf), np.full(1, np.inf)
    one = np.ones(1)
    for _ in range(300):
        top = rng.uniform(1e-3, 0.9995)
        steps = rng.exponential(1.0, 60) * np.exp(-rng.uniform(0.05, 0.4) * np.arange(60))
        dev = top * np.cumsum(steps) / steps.sum()
        for relative in (True, False):
            stop = next((k + 1 for k in range(dev.size)
                         if st.path_stop_code(dev, k, dev.size, st.RULES, one, lo, hi, one,
                                              0 * one, relative)), dev.size)
            assert stop == _glmnet_stop(dev, relative)


def _tall_weak(n=20000, p=12, seed=3):
    """A tall design with a weak signal: the deviance explained stays near 0.02, where
    the two measures part."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = 0.25 * X[:, :4] @ np.array([1.0, -0.8, 0.6, 0.5])
    return X, eta, rng


@pytest.mark.parametrize("family", ["binomial", "multinomial"])
def test_classification_paths_end_where_glmnet_ends_them(family):
    """The path is the prefix of the unstopped one that glmnet's absolute rule keeps,
    shorter than the relative rule's (so the test tells the two apart), and says why."""
    X, eta, rng = _tall_weak()
    if family == "binomial":
        y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        z = eta + rng.logistic(size=eta.size)
        y = (z > -0.4).astype(int) + (z > 0.4)
    full = shrinkage.regularization_path(X, y, family=family, early_stop=False)
    path = shrinkage.regularization_path(X, y, family=family)
    keep = _glmnet_stop(full.dev_ratio, relative=False)
    assert path.n_lams == keep < _glmnet_stop(full.dev_ratio, relative=True)
    assert path.stopped_early and "changed by less than 1e-05 at" in path.stop_reason
    np.testing.assert_allclose(path.dev_ratio, full.dev_ratio[:keep], rtol=1e-9, atol=1e-12)


def test_gaussian_and_poisson_keep_the_relative_measure():
    X, eta, rng = _tall_weak(seed=4)
    for family, y in (("gaussian", eta + 2.0 * rng.standard_normal(eta.size)),
                      ("poisson", rng.poisson(np.exp(eta)).astype(float))):
        full = shrinkage.regularization_path(X, y, family=family, early_stop=False)
        path = shrinkage.regularization_path(X, y, family=family)
        assert path.n_lams == _glmnet_stop(full.dev_ratio, relative=True), family


def test_blocked_binomial_path_stops_where_the_in_memory_one_does():
    X, eta, rng = _tall_weak(n=6000, seed=6)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    ref = shrinkage.regularization_path(X, y, family="binomial", n_lams=60)
    got = dist.regularization_path(da.from_array(X, chunks=(1500, X.shape[1])), y,
                                   "binomial", n_lams=60, scheduler="synchronous")
    assert ref.stopped_early and got.n_lams == ref.n_lams
    assert got.stop_reason == ref.stop_reason
