"""Coordinate descent's focused sweeps (``kernels.cd``, ``_FOCUS_LEVEL``).

Deep in a text path most active coordinates settle in a sweep or two while a few coupled
ones drift for many more; every whole sweep pays for all of them. Here 1,200 columns with
rows of their own settle at once and one nearly collinear pair (correlation 0.9995)
drifts: the pair is swept alone between whole sweeps, Anderson extrapolation still works
across them, and the answer is the model's minimiser to its KKT conditions.
"""

import numpy as np
import scipy.sparse as sp

from shrinkage.engine.kernels.cd import cd_quadratic, weighted_moments
from shrinkage.engine.problem import unsigned_index


def _design(rng, lone=1200, shared=200):
    n = 2 * lone + shared
    rows, cols, vals = [], [], []
    for j in range(lone):
        rows += [2 * j, 2 * j + 1]
        cols += [j, j]
        vals += list(rng.uniform(0.5, 1.5, size=2))
    base = rng.standard_normal(shared)
    pair = (base, base + 0.03 * rng.standard_normal(shared))
    for k, col in enumerate(pair):
        rows += list(range(2 * lone, n))
        cols += [lone + k] * shared
        vals += list(col)
    X = sp.csc_matrix((vals, (rows, cols)), shape=(n, lone + 2))
    X.sort_indices()
    return X


def test_a_drifting_pair_is_swept_alone_and_the_minimiser_is_exact():
    rng = np.random.default_rng(5)
    X = _design(rng)
    n, p = X.shape
    beta = np.r_[rng.normal(size=p - 2), 20.0, -19.0]
    z = X @ beta + 0.01 * rng.standard_normal(n)
    v = np.full(n, 1.0 / n)
    xm = np.zeros(p)
    ws = np.arange(p, dtype=np.int64)
    xv, h = np.empty(p), np.empty(p)
    # the index types the engine hands its kernels (engine.problem.unsigned_index)
    xd, xi, xp = X.data, unsigned_index(X.indices), unsigned_index(X.indptr)
    weighted_moments(None, xd, xi, xp, True, v, xm, ws, p, xv, h)
    l1 = np.full(p, 1e-4)
    l2 = np.zeros(p)
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
    b = np.zeros(p)
    r = z.copy()
    st = np.array([0.0, float(np.dot(v, r)), 1.0, 0.0])
    sweeps = cd_quadratic(None, xd, xi, xp, True, v, 0.0, xm, xv, h, l1, l2, lo, hi, b, r,
                          st, ws, p, False, 1e-22, 100000)
    # 23 sweeps; Anderson extrapolation carries the pair across the focused sweeps (18
    # without focus; restarting its history at each focus left the pair to crawl: 2,455)
    assert 0 < sweeps < 100
    np.testing.assert_allclose(r, z - X @ b, atol=1e-12)
    g = X.T @ (v * r)
    nz = b != 0
    assert np.all(nz[-2:])
    np.testing.assert_allclose(g[nz], l1[nz] * np.sign(b[nz]), rtol=0, atol=1e-9)
    assert np.all(np.abs(g[~nz]) <= l1[~nz] + 1e-9)
