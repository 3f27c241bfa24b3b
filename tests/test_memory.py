"""Memory: fitting never copies a float64 Fortran X and never densifies a sparse X.

``tracemalloc`` sees every NumPy/SciPy buffer allocated while the path is fitted (NumPy
reports its data allocations to it). The peak, measured after X exists, is what the fit
costs on top of X. Numba-internal allocations are not traced; the kernels take
preallocated output arrays, so the temporaries that matter are NumPy ones.
"""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage import regularization_path

N, P = 20_000, 200  # X is 32 MB in float64


def _peak_extra(fit):
    tracemalloc.start()
    try:
        result = fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


@pytest.fixture(scope="module")
def dense_problem():
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((N, P)))
    beta = np.zeros(P)
    beta[:10] = 1.0
    eta = X @ beta
    y = eta + rng.standard_normal(N)
    yb = (0.3 * eta + rng.standard_normal(N) > 0).astype(float)
    # compile (or load cached) kernels outside the measurement
    regularization_path(X[:200], y[:200], n_lams=3)
    regularization_path(X[:200], yb[:200], family="binomial", n_lams=3)
    return X, y, yb


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_dense_fortran_fit_allocates_under_a_quarter_of_X(dense_problem, family):
    X, y, yb = dense_problem
    assert X.dtype == np.float64 and X.flags.f_contiguous
    target = y if family == "gaussian" else yb
    peak, path = _peak_extra(
        lambda: regularization_path(X, target, family=family, n_lams=5, early_stop=False)
    )
    assert path.converged.all()
    assert np.isfinite(path.coefs).all()
    assert peak < 0.25 * X.nbytes, f"{family}: peak extra {peak / X.nbytes:.3f} x X.nbytes"


def test_c_ordered_float32_input_costs_one_conversion_only(dense_problem):
    # A documented copy: float32 / C order are converted once to float64 Fortran order.
    # The fit itself must add no more than it does for the native layout.
    X, y, _ = dense_problem
    Xc = np.ascontiguousarray(X[:5000]).astype(np.float32)
    peak, _ = _peak_extra(lambda: regularization_path(Xc, y[:5000], n_lams=5))
    converted = Xc.shape[0] * Xc.shape[1] * 8
    assert peak < 1.25 * converted


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_sparse_X_is_never_densified(family):
    rng = np.random.default_rng(1)
    S = sp.random(N, P, density=0.01, format="csc", random_state=1)
    y = np.asarray(S[:, :5].sum(axis=1)).ravel() * 3 + rng.standard_normal(N)
    if family == "binomial":
        y = (y > np.median(y)).astype(float)
    regularization_path(S[:200], y[:200], family=family, n_lams=3)  # warm the kernels
    peak, path = _peak_extra(
        lambda: regularization_path(S, y, family=family, n_lams=5, early_stop=False)
    )
    dense_bytes = N * P * 8
    assert path.converged.all()
    # a densified copy (or even one dense column block of n x p/8) would exceed this
    assert peak < 0.1 * dense_bytes, f"peak {peak / 1e6:.1f} MB vs dense {dense_bytes / 1e6} MB"


def test_csr_input_costs_one_csc_conversion_not_a_dense_copy():
    rng = np.random.default_rng(2)
    S = sp.random(N, P, density=0.01, format="csr", random_state=2)
    y = rng.standard_normal(N)
    peak, _ = _peak_extra(lambda: regularization_path(S, y, n_lams=3))
    assert peak < 0.1 * N * P * 8


@pytest.mark.parametrize("density", [0.01, 0.2, 0.5])
@pytest.mark.parametrize("fmt", ["csc", "csr"])
def test_sparse_gram_columns_copy_a_small_part_of_X(density, fmt):
    # denser sparse designs take covariance updates, whose Gram columns come from sparse
    # products in column chunks: no chunk may copy a large part of X (CSR adds its one
    # CSC conversion)
    S = sp.random(N, P, density=density, format=fmt, random_state=3)
    y = np.random.default_rng(3).standard_normal(N)
    regularization_path(S[:300], y[:300], n_lams=3)  # warm the kernels
    peak, path = _peak_extra(lambda: regularization_path(S, y, n_lams=3))
    x_bytes = S.nnz * 12
    limit = 0.1 * N * P * 8 + 0.25 * x_bytes + (x_bytes if fmt == "csr" else 0)
    assert path.converged.all()
    assert peak < limit, f"peak {peak / 1e6:.1f} MB vs limit {limit / 1e6:.1f} MB"
