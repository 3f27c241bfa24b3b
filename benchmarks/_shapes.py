"""Designs of the shapes users bring that the benchmark cases lack, each with a linear
predictor to draw any family's response from (fixed seeds; generated, never downloaded).

``shapes(rng)`` yields ``(name, X, eta)``: tall dense and tall sparse (n far above p), a
correlated wide design (AR(1), rho 0.9), columns on scales from 1e-3 to 1e3, 0/1
features, one-hot factors with Zipf-distributed levels, a sparse design a third full, a
square design with a strong signal, and near-duplicate column pairs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["shapes", "response"]


def _ar1(n, p, rho, rng):
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p))
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * Z[:, j]
    return X


def _onehot(n, levels, rng):
    rows = np.arange(n)
    blocks = []
    for L in levels:
        codes = np.minimum(rng.zipf(1.3, n) - 1, L - 1)
        blocks.append(sp.csc_matrix((np.ones(n), (rows, codes)), shape=(n, L)))
    return sp.hstack(blocks).tocsc()


def _sparse_eta(X, cols, coef):
    return np.asarray(X[:, cols] @ coef).ravel()


def shapes(rng):
    """Yield ``(name, X, eta)`` (module docstring)."""
    X = rng.standard_normal((20000, 50))
    yield "tall dense 20000x50", X, 0.5 * X[:, :10] @ rng.standard_normal(10)
    X = _ar1(200, 5000, 0.9, rng)
    yield "wide AR(1) 200x5000", X, X[:, ::500] @ np.ones(10)
    X = rng.standard_normal((1000, 200)) * np.logspace(-3, 3, 200)
    yield "unscaled 1000x200", X, 0.5 * (X / X.std(0))[:, :10] @ np.ones(10)
    X = (rng.random((2000, 500)) < 0.2).astype(float)
    yield "binary 2000x500", X, 0.5 * (X[:, :20] - 0.2) @ np.ones(20)
    X = _onehot(20000, [1000] * 5, rng)
    cols = np.arange(0, X.shape[1], 50)
    yield "one-hot Zipf 20000x5000", X, 0.5 * _sparse_eta(X, cols, rng.standard_normal(cols.size))
    X = sp.random(100000, 200, density=0.05, random_state=1, format="csc")
    yield "tall sparse 100000x200", X, _sparse_eta(X, np.arange(10), np.ones(10))
    X = sp.random(2000, 1000, density=0.3, random_state=2, format="csc")
    yield "sparse 30% 2000x1000", X, 2.0 * _sparse_eta(X, np.arange(10), np.ones(10))
    X = rng.standard_normal((1000, 1000))
    yield "square strong 1000x1000", X, X[:, :30] @ rng.standard_normal(30)
    X = rng.standard_normal((300, 3000))
    X[:, 1500:] = X[:, :1500] + 1e-3 * rng.standard_normal((300, 1500))
    yield "duplicates 300x3000", X, X[:, :5] @ np.ones(5)


def response(eta, family, rng):
    """A response of ``family`` on ``eta``: gaussian noise of eta's spread, a class drawn
    from the logistic (binomial, centred at eta's median) or three ordered classes
    (multinomial), or poisson counts on ``0.3 eta / sd(eta)``."""
    s = np.std(eta)
    if family == "gaussian":
        return eta + s * rng.standard_normal(eta.size)
    if family == "binomial":
        e = eta - np.median(eta)
        return (rng.random(eta.size) < 1 / (1 + np.exp(-e))).astype(float)
    if family == "multinomial":
        z = eta / s + rng.standard_normal(eta.size)
        return (z > -0.5).astype(int) + (z > 0.5)
    return rng.poisson(np.exp(0.3 * eta / s)).astype(float)
