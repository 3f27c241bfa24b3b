"""Sparse multinomial sweeps: the centring of each column (and the intercept's move) is kept
as a lazy offset of the model gradient and folded once per sweep. The path must be the dense
path's, whatever the weights, column means, grouping or intercept."""

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import objective
from shrinkage import regularization_path


def text_like(n=90, p=30, K=4, seed=0):
    """Mostly-zero columns with large non-zero values (means far from zero, so the centring
    moves every row), a few dense columns, and classes driven by some of them."""
    rng = np.random.default_rng(seed)
    X = rng.exponential(3.0, size=(n, p)) * (rng.uniform(size=(n, p)) < 0.25)
    X[:, :3] = rng.normal(5.0, 1.0, size=(n, 3))
    beta = np.zeros((p, K))
    beta[:6] = rng.normal(size=(6, K))
    eta = (X - X.mean(0)) @ beta
    y = np.argmax(eta + rng.gumbel(size=(n, K)), axis=1)
    return X, y


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_sparse_multinomial_path_is_the_dense_one(grouped, weighted, intercept):
    X, y = text_like(seed=int(grouped) + 2 * int(weighted) + 4 * int(intercept))
    w = np.random.default_rng(5).uniform(0.2, 3.0, size=y.size) if weighted else None
    kw = dict(family="multinomial", n_lams=20, tol=1e-10, lam_min_ratio=1e-2,
              multinomial_grouped=grouped, sample_weight=w, fit_intercept=intercept)
    dense = regularization_path(np.asfortranarray(X), y, **kw)
    sparse = regularization_path(sp.csc_matrix(X), y, **kw)
    assert sparse.converged.all() and dense.converged.all()
    np.testing.assert_allclose(sparse.lams, dense.lams, rtol=1e-12)
    np.testing.assert_allclose(sparse.coefs, dense.coefs, atol=1e-6)
    np.testing.assert_allclose(sparse.intercepts, dense.intercepts, atol=1e-6)
    assert np.max(sparse.certificate) <= 1e-10


@pytest.mark.parametrize("grouped", [False, True])
def test_sparse_multinomial_solution_is_optimal(grouped):
    """No small perturbation of a sparse fit lowers the objective, and the class
    intercepts are stationary (the lazy offset folded back exactly)."""
    X, y = text_like(n=120, p=40, K=3, seed=9)
    path = regularization_path(sp.csc_matrix(X), y, family="multinomial", n_lams=12,
                               tol=1e-10, lam_min_ratio=5e-2, multinomial_grouped=grouped)
    Y = np.eye(3)[y]
    sd = X.std(0)
    rng = np.random.default_rng(0)
    for k in range(0, path.n_lams, 3):
        B, b0, lam = path.coefs[k], path.intercepts[k], path.lams[k]
        f0 = objective("multinomial", X, Y, b0, B, lam, 1.0, grouped=grouped)
        for _ in range(20):
            D = rng.standard_normal(B.shape) * 1e-4 / sd[:, None]
            assert objective("multinomial", X, Y, b0, B + D, lam, 1.0,
                             grouped=grouped) >= f0 - 1e-12
        eta = X @ B + b0
        P = np.exp(eta - eta.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        np.testing.assert_allclose((Y - P).mean(0), 0.0, atol=1e-8)
