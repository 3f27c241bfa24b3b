"""The certificate is read at the returned coefficients.

A proximal Newton step moves ``eta`` with the coefficients. The group and MCP/SCAD GLM
solvers took that move as the difference of the IRLS working response ``z = eta + (y -
mu) / mu`` and the model's running residual after the sweeps; ``z`` is huge on a row
whose mean is tiny (here a poisson response with a single positive count, whose other
rows' means fall towards ``e^-35``), and the difference lost its digits. ``eta`` drifted
from ``X b + b0`` and the certificate, read at ``eta``, described another point than the
one returned: with groups, the intercept gradient of the returned point was up to 170
times the certificate. The move is now formed from the coefficients' moves; here the
intercept gradient of every returned point is recomputed in NumPy.
"""

import warnings

import numpy as np
import pytest

from shrinkage import regularization_path


def _data(seed):
    rng = np.random.default_rng(seed)
    n, p = 71, 16
    X = rng.standard_normal((n, p))
    X[:, 12] = 3.7 + 1e-2 * X[:, 12]  # small units on a large mean
    y = np.zeros(n)
    y[rng.integers(n)] = 1.0
    w = rng.uniform(0, 1, n)
    w[rng.uniform(size=n) < 0.4] = 0.0
    w[y > 0] = 1.0
    return X, y, w


def _intercept_certificate(X, y, w, path):
    """``|sum_i W_i (y_i - mu_i)|`` at each returned point over the null model's largest
    standardized gradient (``W`` the weights summing to one)."""
    W = w / w.sum()
    Xc = X - W @ X
    s = np.sqrt(W @ Xc**2)
    top = np.max(np.abs(Xc.T @ (W * (y - W @ y))) / s)
    return np.array([abs(W @ (y - np.exp(X @ b + b0))) / top
                     for b, b0 in zip(path.coefs, path.intercepts)])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kw", [dict(penalty="mcp", gamma=2.1),
                                dict(penalty="scad", gamma=3.7),
                                dict(feature_groups=np.arange(16) // 2)])
def test_poisson_certificate_is_the_returned_points(seed, kw):
    X, y, w = _data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a point may stop at max_iter: it then says so
        path = regularization_path(X, y, "poisson", sample_weight=w, tol=1e-10, n_lams=6,
                                   **kw)
    mine = _intercept_certificate(X, y, w, path)
    ok = path.converged
    assert ok.sum() >= 3
    assert np.all(mine[ok] <= 2.0 * path.tol)
    assert np.all(mine[ok] <= 2.0 * path.certificate[ok] + 1e-14)
