"""Unpenalised features that separate the response are named (engine.free.warn_separating_free).

Along such a ray the loss falls for ever and every other penalty stays put, so no strength
has a minimiser; the solver's certificate is still met (the gradient vanishes along the
ray), at a point of no meaning. The warning must fire exactly when a ray exists.
"""

import warnings

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.engine.problem import Problem
from shrinkage.engine.recession import ray_excluded, unpenalised_ray
from shrinkage.model.families import Binomial, Poisson
from shrinkage.validation import DataWarning


def _design(seed=0, n=300, p=20):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
    X[:, 5] = 0.0
    X[0, 5] = 1.0  # an indicator of one row ...
    y[0] = 1.0     # ... of class 1: it separates that row
    return X, y


def _problem(X, y, family, l1u):
    """The engine's problem for ``ray_excluded`` (as tests/test_recession.py builds it)."""
    n, p = X.shape
    w = np.full(n, 1.0 / n)
    xm = w @ X
    scale = np.sqrt(w @ (X - xm) ** 2)
    inf = np.full(p, np.inf)
    return Problem(X=X, y=y, w=w, uniform_w=1.0 / n, offset=None, family=family, xm=xm,
                   xw=xm, xsq=scale**2, l1u=l1u, l2u=np.zeros(p), lo=-inf, hi=inf,
                   excluded=np.zeros(p, dtype=bool), fit_intercept=True, tol=1e-8,
                   max_iter=1000, scale=scale)


def _separation_warnings(X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = regularization_path(X, y, n_lams=20, **kw)
    said = [str(w.message) for w in caught
            if issubclass(w.category, DataWarning) and "separate" in str(w.message)]
    return path, said


def test_an_unpenalised_separating_indicator_is_named():
    X, y = _design()
    pf = np.ones(20)
    pf[5] = 0.0
    path, said = _separation_warnings(X, y, family="binomial", penalty_factor=pf)
    assert len(said) == 1
    assert "X column 5" in said[0] and "separate 1 row of y" in said[0]
    # the certificates are met all the same: the warning is what tells
    assert path.converged.all() and path.coefs[0, 5] > 5.0
    names = [f"f{j}" for j in range(20)]
    _, said = _separation_warnings(X, y, family="binomial", penalty_factor=pf,
                                   feature_names=names)
    assert "feature 'f5'" in said[0]


@pytest.mark.parametrize("kw", [
    dict(),                                                 # penalised: the penalty grows
    dict(upper=np.where(np.arange(20) == 5, 0.0, np.inf)),  # bounded against the ray
])
def test_a_penalised_or_bounded_indicator_is_not_named(kw):
    X, y = _design()
    pf = np.ones(20)
    if kw:
        pf[5] = 0.0
    _, said = _separation_warnings(X, y, family="binomial", penalty_factor=pf, **kw)
    assert said == []


def test_overlapping_unpenalised_columns_and_the_gaussian_family_are_not_named():
    X, y = _design()
    pf = np.ones(20)
    pf[[0, 1]] = 0.0  # unpenalised, but the classes overlap along them
    assert _separation_warnings(X, y, family="binomial", penalty_factor=pf)[1] == []
    pf[5] = 0.0
    assert _separation_warnings(X, y, family="gaussian", penalty_factor=pf)[1] == []


def test_zero_counts_pushed_to_a_mean_of_zero_are_named_for_poisson():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 8))
    y = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    zeros = np.flatnonzero(y == 0)[:3]
    X[:, 7] = 0.0
    X[zeros, 7] = 1.0  # non-zero only on rows counted 0
    pf = np.ones(8)
    pf[7] = 0.0
    _, said = _separation_warnings(X, y, family="poisson", penalty_factor=pf)
    assert len(said) == 1 and "X column 7" in said[0] and "separate 3 rows" in said[0]


@pytest.mark.parametrize("seed", range(16))
def test_fuzz_the_warning_fires_exactly_when_the_unpenalised_columns_have_a_ray(seed):
    """Random designs with a few rare columns and a random unpenalised subset: warned
    exactly when the unpenalised loss on those columns (a separate linear program, in
    other units) has a ray."""
    rng = np.random.default_rng(seed)
    n, p = 60, 10
    X = rng.normal(size=(n, p))
    for j in range(6, 10):  # rare columns: non-zero on one to three rows
        X[:, j] = 0.0
        X[rng.choice(n, rng.integers(1, 4), replace=False), j] = rng.uniform(0.5, 2.0)
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
    free = rng.choice(p, rng.integers(1, 4), replace=False)
    pf = np.ones(p)
    pf[free] = 0.0
    _, said = _separation_warnings(X, y, family="binomial", penalty_factor=pf)
    assert (len(said) == 1) == (unpenalised_ray(X[:, free], y, "binomial") is not None)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_fuzz_the_residual_proof_never_excludes_a_ray_that_exists(family):
    """``ray_excluded`` (Gordan's alternative at a converged fit, no linear program) may
    only say "no ray" where the linear program finds none; on these designs it says so
    for most of the draws without one, so the program is rarely needed."""
    excluded = without = 0
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        n, p = 80, 8
        X = rng.normal(size=(n, p))
        for j in range(5, 8):
            X[:, j] = 0.0
            X[rng.choice(n, rng.integers(1, 5), replace=False), j] = 1.0
        if family == "binomial":
            y = (X[:, 0] + rng.normal(size=n) > 0).astype(float)
        else:
            y = rng.poisson(np.exp(0.4 * X[:, 0])).astype(float)
        free = rng.choice(p, rng.integers(1, 4), replace=False)
        pf = np.ones(p)
        pf[free] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = regularization_path(X, y, family=family, penalty_factor=pf, n_lams=3)
        prob = _problem(X, y, Binomial() if family == "binomial" else Poisson(), pf)
        idx = np.flatnonzero(prob.unpenalized)
        eta = X @ path.coefs[0] + path.intercepts[0]
        has_ray = unpenalised_ray(X[:, free], y, family) is not None
        if ray_excluded(prob, idx, eta):
            assert not has_ray, seed
            excluded += 1
        without += not has_ray
    assert without >= 10 and excluded >= 0.8 * without
