"""The intercept-only model with an offset: it must reach its optimum (the start of every
path's grid, ``lam_max``, is read from it), also for rare and empty classes."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from shrinkage import regularization_path
from shrinkage.model.families import Binomial, Multinomial, Poisson


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return rng, np.full(n, 1.0 / n)


@pytest.mark.parametrize("probs", [(0.7, 0.295, 0.005), (0.6, 0.4, 0.0)])
def test_multinomial_offset_null_model_reaches_its_optimum(probs):
    rng, w = _data()
    Y = np.eye(3)[rng.choice(3, size=w.size, p=probs)]
    offset = 2.0 * rng.standard_normal((w.size, 3))
    fam = Multinomial()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "stopped" warning
        eta, b0 = fam.null_eta(Y, w, offset, True)
    grad = w @ (Y - fam.mean(eta))
    assert np.max(np.abs(grad)) < 1e-10
    assert abs(b0.sum()) < 1e-12
    if probs[2] > 0:  # a finite optimum: the same as a general-purpose minimiser's
        ref = minimize(lambda a: fam.loss(Y, offset + a, w), np.zeros(3), method="BFGS",
                       jac=lambda a: -(w @ (Y - fam.mean(offset + a))),
                       options={"gtol": 1e-13, "maxiter": 10_000}).x
        np.testing.assert_allclose(b0, ref - ref.mean(), atol=1e-6)


@pytest.mark.parametrize("family, make_y", [
    (Binomial(), lambda rng, n: (rng.random(n) < 0.01).astype(float)),
    (Poisson(), lambda rng, n: rng.poisson(0.02, n).astype(float)),
    (Poisson(), lambda rng, n: rng.poisson(30.0, n).astype(float)),
])
def test_glm_offset_null_model_zero_gradient(family, make_y):
    rng, w = _data(1)
    y = make_y(rng, w.size)
    offset = 3.0 * rng.standard_normal(w.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eta, b0 = family.null_eta(y, w, offset, True)
    np.testing.assert_allclose(eta, offset + b0)
    assert abs(float(w @ (y - family.mean(eta)))) < 1e-12 * max(1.0, float(w @ y))


def test_rare_class_with_offset_gives_exact_lam_max():
    """lam_max is the largest gradient at the null model: with the null model exact, the
    first strength of the grid has all coefficients zero and the next does not."""
    rng = np.random.default_rng(3)
    n, p = 300, 6
    X = rng.standard_normal((n, p))
    y = rng.choice(3, size=n, p=[0.75, 0.24, 0.01])
    offset = rng.standard_normal((n, 3))
    res = regularization_path(X, y, family="multinomial", offset=offset, n_lams=5,
                              lam_min_ratio=0.5, tol=1e-10)
    assert np.all(res.coefs[0] == 0)
    assert np.any(res.coefs[1] != 0)
