"""The intercept's step inside a sparse sweep (``kernels.cd``).

A GLM's Newton model weighs rows by its IRLS weights ``v``, while columns are centred by
the fit's own weights: a column's ``v``-weighted mean is then not zero, and moving its
coefficient moves the model's best intercept. One-hot levels pull hardest (each is a
shift of its rows). On a sparse design the intercept's exact step is a scalar shift of the
residual's offset, so the sweep takes it after every coordinate move, and Anderson's
extrapolation takes it too before it is judged. Here, levels of five factors with
unequal frequencies under unequal weights: the model is solved to its KKT conditions,
the residual the kernel returns is the model's at the returned coefficients, and fewer
sweeps are needed than with the intercept stepped once per sweep.
"""

import numpy as np
import scipy.sparse as sp

from shrinkage.engine.kernels.cd import cd_quadratic, weighted_moments
from shrinkage.engine.problem import unsigned_index


def _factors(rng, n=3000, factors=5, levels=12):
    blocks = []
    for _ in range(factors):
        level = rng.zipf(1.6, n) % levels  # unequal level frequencies, every level seen
        level[:levels] = np.arange(levels)
        blocks.append(sp.csc_matrix((np.ones(n), (np.arange(n), level)), shape=(n, levels)))
    X = sp.hstack(blocks).tocsc()
    X.sort_indices()
    return X


def _solve(X, v, z, l1, xm):
    n, p = X.shape
    ws = np.arange(p, dtype=np.int64)
    xv, h = np.empty(p), np.empty(p)
    xd, xi, xp = X.data, unsigned_index(X.indices), unsigned_index(X.indptr)
    weighted_moments(None, xd, xi, xp, True, v, xm, ws, p, xv, h)
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
    b = np.zeros(p)
    r = z.copy()
    st = np.array([0.0, float(np.dot(v, r)), float(v.sum()), 0.0])
    sweeps = cd_quadratic(None, xd, xi, xp, True, v, 0.0, xm, xv, h, l1, np.zeros(p), lo,
                          hi, b, r, st, ws, p, True, 1e-24, 100000)
    return b, r + st[0], st[3], sweeps


def test_one_hot_levels_under_irls_weights_solve_the_model_exactly_and_quickly():
    rng = np.random.default_rng(3)
    X = _factors(rng)
    n, p = X.shape
    xm = np.asarray(X.mean(axis=0)).ravel()  # centred by the fit's (uniform) weights
    eta = X @ rng.normal(0.0, 1.0, p)
    mu = 1.0 / (1.0 + np.exp(-(eta - eta.mean())))
    v = mu * (1.0 - mu) / n  # the IRLS weights: the columns' v-means are not xm
    z = rng.standard_normal(n) + 0.5 * (eta - eta.mean())
    l1 = np.full(p, 2e-4)
    b, resid, b0, sweeps = _solve(X, v, z, l1, xm)
    # the residual is the model's at (b0, b): the intercept's steps moved b0 and the
    # offset together
    Xc = X.toarray() - xm
    np.testing.assert_allclose(resid, z - b0 - Xc @ b, rtol=0, atol=1e-10)
    # the model's KKT conditions, the intercept's included
    g = Xc.T @ (v * resid)
    nz = b != 0
    assert nz.sum() > 20
    np.testing.assert_allclose(g[nz], l1[nz] * np.sign(b[nz]), rtol=0, atol=1e-9)
    assert np.all(np.abs(g[~nz]) <= l1[~nz] + 1e-9)
    assert abs(np.dot(v, resid)) <= 1e-12
    # 120 to 130 sweeps (fastmath rounds a kernel compiled here and one loaded from the
    # cache in other last bits); the intercept stepped once per sweep, and not in
    # Anderson's proposals, took 174 to 215
    assert 0 < sweeps <= 165
