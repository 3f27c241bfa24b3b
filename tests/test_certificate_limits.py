"""Certificates at the limits of the problem: they mean something and are computed.

``lam = 0`` (ordinary least squares, with or without bounds) and a response the null
model fits exactly (a constant count) used to report infinite gaps or KKT violations of
1e15 on right answers.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.linear_model import LinearRegression

from shrinkage import PenalizedRegressor, regularization_path

rng = np.random.default_rng(3)
X = rng.standard_normal((80, 5))
Y = X[:, 0] - 0.4 * X[:, 3] + rng.standard_normal(80)


@pytest.mark.parametrize("solver_shape", [(80, 5), (120, 40)])
def test_lam_zero_is_least_squares_with_a_computed_gap(solver_shape):
    n, p = solver_shape
    Xs = rng.standard_normal((n, p))
    ys = Xs[:, 0] + rng.standard_normal(n)
    path = regularization_path(Xs, ys, lams=[0.5, 0.0], tol=1e-10)
    ref = LinearRegression().fit(Xs, ys)
    assert path.converged.all() and np.all(np.isfinite(path.certificate))
    np.testing.assert_allclose(path.coefs[-1], ref.coef_, atol=1e-8)
    assert path.certificate[-1] <= 1e-10


def test_lam_zero_gap_measures_the_suboptimality():
    """0.5 g^T G^+ g relative to the null objective: for a perturbed least-squares fit the
    gap equals the exact objective difference."""
    from shrinkage.engine.contract import FitHints
    from shrinkage.engine.naive import least_squares_gap
    from shrinkage.engine.path import PathOptions, _prepare_data, _problem
    from shrinkage.model.penalties import ElasticNet
    from shrinkage.validation import check_design

    Xc = check_design(X)
    options = PathOptions(lams=[0.0])
    data = _prepare_data(Xc, Y, options)
    prob, _, _ = _problem(Xc, data, ElasticNet(), options, FitHints(), 1e-7, 1000, None)
    ref = LinearRegression().fit(X, Y)
    yc = Y - Y.mean()
    null_obj = 0.5 * np.mean(yc**2)
    b = ref.coef_ + np.array([0.1, -0.2, 0.0, 0.05, 0.0])
    resid = yc - (X - X.mean(0)) @ b
    best = yc - (X - X.mean(0)) @ ref.coef_
    exact = 0.5 * np.mean(resid**2) - 0.5 * np.mean(best**2)
    assert least_squares_gap(prob, b, yc, null_obj) == pytest.approx(exact / null_obj, rel=1e-8)


def test_lam_zero_with_bounds_is_nonnegative_least_squares():
    y = X[:, 0] - 0.5 * X[:, 2] + rng.standard_normal(80)
    path = regularization_path(X, y, lams=[0.0], lower=0.0, tol=1e-10)
    Xc = X - X.mean(0)
    ref = nnls(Xc, y - y.mean())[0]
    assert path.converged.all() and path.certificate[0] <= 1e-10
    np.testing.assert_allclose(path.coefs[0], ref, atol=1e-8)


def test_estimator_with_lam_zero_converges():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = PenalizedRegressor(lam=0.0).fit(X, Y)
    np.testing.assert_allclose(est.coef_, LinearRegression().fit(X, Y).coef_, atol=1e-8)


@pytest.mark.parametrize(("family", "value"), [("poisson", 3.0), ("poisson", 1e-3),
                                               ("binomial", 0.3)])
def test_a_response_fitted_exactly_by_the_null_model(family, value):
    y = np.full(80, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = regularization_path(X, y, family=family)
    assert path.converged.all() and path.certificate.max() < 1e-12
    assert np.all(path.coefs == 0) and np.all(path.dev_ratio == 0)
    link = np.log(value) if family == "poisson" else np.log(value / (1 - value))
    np.testing.assert_allclose(path.intercepts, link, rtol=1e-12)
    # with a feature that does matter the usual path comes back
    y2 = np.where(X[:, 0] > 0, value * 2, value) if family == "poisson" else (X[:, 0] > 0) * 1.0
    assert regularization_path(X, y2, family=family, n_lams=10).nnz[-1] > 0
