"""Bad input to the inference, Bayesian and unit-conversion functions is refused by name
before any split or fit (found by a review: NaN in an inference half, a constant
response read as signal, unchecked noise levels, strings passed on to a kernel)."""

import numpy as np
import pytest

from shrinkage import units
from shrinkage.bayes import BayesianLasso, EvidenceRidge, glm_evidence
from shrinkage.inference import (
    debiased_lasso,
    selection_bootstrap,
    selective_lasso,
    stability_selection,
)


def _data(n=30, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    return X, X[:, 0] + rng.standard_normal(n)


@pytest.mark.parametrize("lam", ["cv", 0.1])
@pytest.mark.parametrize("bad, message", [
    ("nan", "NaN"), ("inf", "inf"), ("short", "entries but X has"), ("text", "strings"),
    ("constant", "constant"),
])
def test_selective_lasso_checks_y_before_splitting(lam, bad, message):
    X, y = _data()
    if bad == "nan":
        y[0] = np.nan  # (on the inference half of the default split, it once gave NaNs)
    elif bad == "inf":
        y[0] = np.inf
    elif bad == "short":
        y = y[:-1]
    elif bad == "text":
        y = np.array(["a"] * 30)
    else:
        y = np.full(30, 2.0)
    with pytest.raises((ValueError, TypeError), match=message):
        selective_lasso(X, y, lam=lam, sigma=1.0)


@pytest.mark.parametrize("sigma, error", [
    (-1.0, ValueError), (0.0, ValueError), (np.nan, ValueError), ("abc", TypeError),
])
def test_noise_sd_is_checked(sigma, error):
    X, y = _data()
    for fn in (debiased_lasso, selective_lasso):
        with pytest.raises(error, match="sigma"):
            fn(X, y, lam=0.1, sigma=sigma)


def test_a_constant_response_is_refused_everywhere_it_would_be_read_as_signal():
    X, _ = _data(40, 6)
    y = np.full(40, 3.0)
    for call in (lambda: stability_selection(X, y, n_pairs=5),
                 lambda: debiased_lasso(X, y, lam=0.1),
                 lambda: selection_bootstrap(X, y, n_boot=2)):
        with pytest.raises(ValueError, match="y is constant"):
            call()
    for family, value in (("binomial", 1.0), ("binomial", 0.0), ("poisson", 0.0)):
        with pytest.raises(ValueError, match="no posterior mode"):
            glm_evidence(X, np.full(40, value), family, lams=[0.1])
    # without an intercept the mode exists (the prior holds the coefficients)
    res = glm_evidence(X, np.ones(40), "binomial", lams=[0.1], fit_intercept=False)
    assert np.all(np.isfinite(res.coefs))


@pytest.mark.parametrize("estimator", [EvidenceRidge, BayesianLasso])
def test_bayesian_estimators_name_a_string_target(estimator):
    X, _ = _data()
    with pytest.raises(TypeError, match="y must be a numeric array"):
        estimator().fit(X, np.array(["a", "b", "c"] * 10))


@pytest.mark.parametrize("kwargs, message", [
    ({"eps": -1.0}, "eps"), ({"eps": np.nan}, "eps"), ({"step": np.nan}, "step"),
    ({"step": 0}, "step"), ({"step": 2.5}, "step"), ({"beta2": 1.0}, "beta2"),
])
def test_adamw_conversion_checks_its_constants(kwargs, message):
    args = dict(step=10, eps=1e-8, beta2=0.999)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        units.adamw_implied_lam(0.01, np.ones(3), **args)
    assert units.adamw_implied_lam(0.01, np.ones(3), step=10.0).shape == (3,)
