"""Relaxed lasso: refits equal unpenalised references; CV reuses the lasso CV exactly."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor

from shrinkage import cross_validate, regularization_path, selection
from shrinkage.tuning.relaxed import blend, cross_validate_relaxed, relax_path

rng = np.random.default_rng(1)
N, P = 100, 6
X = rng.normal(size=(N, P))
Y = X[:, :2] @ np.array([1.0, -1.0]) + rng.normal(size=N)
YB = (X[:, 0] - X[:, 1] + rng.normal(size=N) > 0).astype(float)
YP = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)


def test_gaussian_refit_is_least_squares_on_the_support():
    path = regularization_path(X, Y, n_lams=15)
    rc, ri = relax_path(path, X, Y)
    for k in (0, 3, 8, path.n_lams - 1):
        S = np.flatnonzero(path.coefs[k])
        assert np.array_equal(np.flatnonzero(rc[k]), S)
        if S.size:
            ols = LinearRegression().fit(X[:, S], Y)
            assert np.allclose(rc[k][S], ols.coef_, atol=1e-10)
            assert np.isclose(ri[k], ols.intercept_, atol=1e-10)
        else:
            assert np.isclose(ri[k], Y.mean())
    c1, b1 = blend(path, (rc, ri), 1.0)
    assert np.array_equal(c1, path.coefs) and np.array_equal(b1, path.intercepts)
    c5, _ = blend(path, (rc, ri), 0.5)
    assert np.allclose(c5, 0.5 * (path.coefs + rc))


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_glm_refit_is_unpenalised_mle(family):
    y = YB if family == "binomial" else YP
    path = regularization_path(X, y, family=family, n_lams=10, tol=1e-10)
    rc, ri = relax_path(path, X, y)
    k = 5
    S = np.flatnonzero(path.coefs[k])
    assert S.size >= 1
    if family == "binomial":
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X[:, S], y)
        ref_coef, ref_b = ref.coef_[0], ref.intercept_[0]
    else:
        ref = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10_000).fit(X[:, S], y)
        ref_coef, ref_b = ref.coef_, ref.intercept_
    assert np.allclose(rc[k][S], ref_coef, atol=1e-6)
    assert np.isclose(ri[k], ref_b, atol=1e-6)


def test_relaxed_cv_gamma_one_is_the_lasso_cv():
    r = cross_validate_relaxed(X, Y, gammas=[0.0, 0.5, 1.0], cv=4, random_state=3, n_lams=20,
                               n_jobs=2)
    lasso = cross_validate(X, Y, cv=4, random_state=3, n_lams=20)
    assert np.allclose(r.results[2].fold_scores, lasso.fold_scores, rtol=1e-12)
    assert np.array_equal(r.results[0].fold_ids, lasso.fold_ids)
    mean = np.vstack([x.mean for x in r.results])
    se = np.vstack([x.se for x in r.results])
    lams = np.tile(lasso.lams, (3, 1))
    nnz = np.tile(lasso.nnz, (3, 1))
    assert r.index_chosen == selection.sparsest_within_grid(lams, mean, nnz, se=se, k=1.0)
    assert r.index_min == selection.sparsest_within_grid(lams, mean, nnz)
    assert mean[r.index_min] == np.nanmin(mean)
    # Two true features, strong signal: the relaxed fit keeps the sparse model unshrunk.
    coef, _ = r.coef()
    assert np.count_nonzero(coef) <= nnz[0, r.index_min[1]]
    assert r.lam_chosen >= lasso.lams[r.index_min[1]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(gammas=[0.5, 1.5]), "gammas must be distinct values in"),
        (dict(family="multinomial"), "supports"),
        (dict(rule="max"), "not understood"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cross_validate_relaxed(X, Y, **kwargs)
