"""A gaussian offset is a shift of the response: fitting ``y`` with offset ``o`` is fitting
``y - o`` without one, in every solver (residual and Gram modes, groups, MCP, vector
responses). The Gram-mode group solver once took the intercept of the null model from
``y`` instead of ``y - o`` and certified every point of a wrong path (its gap never sees
the intercept, which the Gram matrix of centred columns leaves out)."""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage import regularization_path

SHAPES = {"tall": (200, 6), "wide": (30, 60)}
SOLVERS = [
    dict(),
    dict(penalty="mcp", gamma=3.0),
    dict(feature_groups=[0, 0, 1, 1, 2, 2]),
    dict(feature_groups=[0, 0, 1, 1, 2, 2], penalty="mcp", gamma=3.0),
    dict(feature_groups=[0, 0, 1, 1, 2, 2], group_mix=0.5),
]


def _data(shape, K=None, seed=0):
    rng = np.random.default_rng(seed)
    n, p = SHAPES[shape]
    X = rng.standard_normal((n, p)) + rng.normal(size=p)
    beta = np.zeros(p)
    beta[:4] = [1.0, -1.0, 0.5, 0.7]
    size = (n,) if K is None else (n, K)
    noise = rng.standard_normal(size)
    y = (X @ beta)[:, None] + noise if K else X @ beta + noise
    offset = rng.standard_normal(size) + 2.0  # a mean far from 0
    return X, y, offset


def _groups(kw, p):
    if "feature_groups" not in kw:
        return kw
    return {**kw, "feature_groups": np.arange(p) // 2}


# MCP on the wide design is not locally convex at its later strengths, and says so
@pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kw", SOLVERS)
def test_offset_is_a_shift_of_the_response(shape, sparse, kw):
    X, y, offset = _data(shape)
    kw = _groups(kw, X.shape[1])
    design = sp.csc_matrix(X) if sparse else X
    with_offset = regularization_path(design, y, offset=offset, n_lams=8, tol=1e-10, **kw)
    shifted = regularization_path(design, y - offset, n_lams=8, tol=1e-10, **kw)
    assert with_offset.converged.all() and shifted.converged.all()
    np.testing.assert_allclose(with_offset.lams, shifted.lams, rtol=1e-10)
    np.testing.assert_allclose(with_offset.coefs, shifted.coefs, atol=1e-6)
    np.testing.assert_allclose(with_offset.intercepts, shifted.intercepts, atol=1e-6)
    # the intercept is the exact one given the coefficients: the residual has mean zero
    for b, b0 in zip(with_offset.coefs, with_offset.intercepts):
        assert abs(np.mean(y - offset - X @ b - b0)) < 1e-8


@pytest.mark.parametrize("shape", list(SHAPES))
def test_vector_response_offset(shape):
    X, Y, offset = _data(shape, K=3, seed=1)
    with_offset = regularization_path(X, Y, "mgaussian", offset=offset, n_lams=8, tol=1e-10)
    shifted = regularization_path(X, Y - offset, "mgaussian", n_lams=8, tol=1e-10)
    assert with_offset.converged.all()
    np.testing.assert_allclose(with_offset.coefs, shifted.coefs, atol=1e-6)
    np.testing.assert_allclose(with_offset.intercepts, shifted.intercepts, atol=1e-6)
