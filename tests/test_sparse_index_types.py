"""The kernels read a CSC matrix's int32 index arrays as uint32 (no wrap-around test per
stored entry) and int64 ones as they are: both routes must fit the same model."""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage import regularization_path
from shrinkage.engine.problem import unsigned_index


def _with_int64_indices(X):
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    return X64


def test_int32_indices_are_viewed_as_uint32_without_a_copy():
    a = np.array([0, 5, 2**31 - 1], dtype=np.int32)
    u = unsigned_index(a)
    assert u.dtype == np.uint32 and np.shares_memory(a, u)
    assert np.array_equal(u.astype(np.int64), a.astype(np.int64))
    b = np.array([0, 2**40], dtype=np.int64)
    assert unsigned_index(b) is b


@pytest.mark.parametrize("family", ["gaussian", "binomial", "multinomial"])
def test_int32_and_int64_index_arrays_fit_the_same_path(family):
    rng = np.random.default_rng(11)
    n, p = 150, 60
    X = sp.random(n, p, density=0.15, format="csc", random_state=rng)
    eta = X[:, :4] @ np.array([2.0, -1.5, 1.0, 3.0])
    if family == "gaussian":
        y = eta + 0.3 * rng.standard_normal(n)
    elif family == "binomial":
        y = (eta + 0.5 * rng.standard_normal(n) > np.median(eta)).astype(float)
    else:
        y = np.digitize(eta + 0.3 * rng.standard_normal(n), np.quantile(eta, [0.33, 0.66]))
    X64 = _with_int64_indices(X)
    assert X.indices.dtype == np.int32 and X64.indices.dtype == np.int64
    a = regularization_path(X, y, family=family, n_lams=20, tol=1e-10)
    b = regularization_path(X64, y, family=family, n_lams=20, tol=1e-10)
    assert a.converged.all() and b.converged.all()
    assert a.n_lams == b.n_lams
    # the same arithmetic up to the order the compiled loops sum in: the same model
    ca, cb = np.asarray(a.coefs), np.asarray(b.coefs)
    scale = np.abs(ca).max()
    np.testing.assert_allclose(ca, cb, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(a.intercepts, b.intercepts, rtol=0, atol=1e-7 * scale)
