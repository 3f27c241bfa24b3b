"""Weighted Gram matrices (shrinkage.engine.gram) and the covariance solver's use of them."""

import pickle
import threading

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.engine.contract import FitHints
from shrinkage.engine.gram import (
    SharedGram,
    dense_gram,
    dense_gram_columns,
    live_moments,
    take_rows,
)
from shrinkage.engine.path import PathOptions, fit_path
from shrinkage.validation import check_design


def _path(X, y, solver="auto", shared=None, held_out=None, **kw):
    """The engine's entry for repeated fits, as cross-validation calls it."""
    hints = FitHints(solver=solver, shared_gram=shared, held_out=held_out)
    return fit_path(check_design(X), y, PathOptions(**kw), hints)


def _design(n=120, p=9, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)) + 3.0)
    return X, rng


def _reference(X, w):
    return (X * w[:, None]).T @ X


def test_uniform_weights():
    X, _ = _design()
    n = X.shape[0]
    w = np.full(n, 1.0 / n)
    np.testing.assert_allclose(dense_gram(X, w, 1.0 / n), _reference(X, w), rtol=1e-13)


def test_fold_weights_subtract_held_out_rows():
    X, rng = _design()
    n = X.shape[0]
    w = np.zeros(n)
    train = rng.permutation(n)[: 9 * n // 10]
    w[train] = 1.0 / train.size
    shared = SharedGram()
    G = dense_gram(X, w, 0.0, shared)
    np.testing.assert_allclose(G, _reference(X, w), rtol=1e-12)
    # the held-out product is subtracted from the cached full product
    np.testing.assert_allclose(shared.xtx(X), X.T @ X, rtol=1e-14)


def test_arbitrary_weights_in_row_blocks(monkeypatch):
    import shrinkage.gram as gram

    X, rng = _design(n=300)
    w = rng.uniform(0.0, 2.0, X.shape[0])
    w[::7] = 0.0
    w /= w.sum()
    monkeypatch.setattr(gram, "_BLOCK_BYTES", 8 * X.shape[1] * 64)  # several blocks
    np.testing.assert_allclose(dense_gram(X, w, 0.0), _reference(X, w), rtol=1e-12)


@pytest.mark.parametrize("uniform", [True, False])
def test_columns(uniform):
    X, rng = _design()
    n = X.shape[0]
    w = np.full(n, 1.0 / n) if uniform else rng.dirichlet(np.ones(n))
    idx = np.array([4, 0, 7])
    got = dense_gram_columns(X, w, 1.0 / n if uniform else 0.0, idx)
    np.testing.assert_allclose(got, _reference(X, w)[:, idx], rtol=1e-12)


def test_shared_gram_is_tied_to_its_array():
    X, _ = _design()
    other = np.asfortranarray(X[::-1])  # same shape, different data
    shared = SharedGram()
    np.testing.assert_allclose(shared.xtx(X), X.T @ X)
    np.testing.assert_allclose(shared.xtx(other), other.T @ other)
    assert shared.xtx(X) is shared.xtx(X)  # cached, not recomputed
    # travels without its product (another process holds another copy of X)
    clone = pickle.loads(pickle.dumps(shared))
    np.testing.assert_allclose(clone.xtx(other), other.T @ other)


def test_shared_gram_concurrent_first_use():
    X, _ = _design(n=2000, p=60)
    shared = SharedGram()
    out = [None] * 4

    def job(i):
        out[i] = shared.xtx(X)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o is out[0] for o in out)


@pytest.mark.parametrize("weighted", [False, True])
def test_full_gram_path_equals_lazy_columns(weighted):
    """A long path (whole Gram at once) and a short grid (lazy columns) agree."""
    X, rng = _design(n=400, p=30, seed=3)
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 1.5]) + rng.standard_normal(400)
    w = rng.uniform(0.5, 2.0, 400) if weighted else None
    full = regularization_path(X, y, sample_weight=w, n_lams=30, tol=1e-10, early_stop=False)
    assert np.all(full.converged)
    for k in (3, 12, 29):
        one = regularization_path(X, y, sample_weight=w, lams=full.lams[: k + 1][-3:],
                                  tol=1e-10)
        np.testing.assert_allclose(one.coefs[-1], full.coefs[k], rtol=1e-6, atol=1e-8)


def _fold_design(n=500, p=8, seed=4, big_mean=1e4, small_sd=1e-2):
    """Columns that stress the downdate: a large mean, an indicator whose ones are all
    held out (constant on the live rows), a constant column, and ordinary ones."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] = big_mean + small_sd * X[:, 1]
    held = rng.permutation(n)[: n // 10]
    X[:, 2] = 0.0
    X[held[:3], 2] = 1.0
    X[:, 3] = 7.0
    y = X[:, 0] - 2.0 * X[:, 4] + 50.0 + rng.standard_normal(n)
    return np.asfortranarray(X), y, held


def _direct_moments(X, y, live):
    Xl, yl = X[live], y[live]
    xw = Xl.mean(axis=0)
    var = ((Xl - xw) ** 2).mean(axis=0)
    g = (Xl - xw).T @ (yl - yl.mean()) / live.sum()
    return xw, var, g


@pytest.mark.parametrize("with_held", [True, False])
def test_live_moments_equal_direct_moments(with_held):
    X, y, held = _fold_design()
    if not with_held:
        held = np.empty(0, dtype=np.int64)
    live = np.ones(X.shape[0], dtype=bool)
    live[held] = False
    xw, var, g, ybar, lo, hi = live_moments(SharedGram(), X, y, held, X[held])
    ref_xw, ref_var, ref_g = _direct_moments(X, y, live)
    assert ybar == pytest.approx(y[live].mean(), rel=1e-14)
    np.testing.assert_allclose(xw, ref_xw, rtol=1e-13, atol=1e-15)
    # variances to 1e-10 of their own size, also for the nearly constant large-mean column
    np.testing.assert_allclose(var, ref_var, rtol=1e-10, atol=0)
    np.testing.assert_allclose(g, ref_g, rtol=1e-9, atol=1e-12)
    # the constant column, and the indicator once its ones are held out, are exactly
    # constant (the engine's constant-column test relies on it)
    assert var[3] == 0.0 and lo[3] == hi[3] == 7.0
    if with_held:
        assert var[2] == 0.0 and lo[2] == hi[2]
    # columns not recomputed carry an infinite range: certainly not constant
    assert np.all(np.isinf(lo[[0, 1, 4]])) and np.all(np.isinf(hi[[0, 1, 4]]))


def test_live_moments_reuse_the_full_sums_for_one_pair_of_arrays():
    X, y, held = _fold_design()
    shared = SharedGram()
    first = shared.centred_sums(X, y)
    assert shared.centred_sums(X, y) is first
    y2 = y + 1.0  # another target gets its own sums
    np.testing.assert_allclose(shared.centred_sums(X, y2)[1], y2.mean())
    assert shared.centred_sums(X, y) is first


@pytest.mark.parametrize("mode", ["covariance", "naive"])
def test_fold_path_from_shared_sums_equals_direct_fold_path(mode):
    """A fold given its held-out rows (downdated moments and Gram) fits the same path as
    one computing everything from its weights, including the constant-on-train column."""
    # (a mean 1e3 sds away: covariance mode's centring keeps ample digits)
    X, y, held = _fold_design(n=800, p=12, big_mean=100.0, small_sd=0.1)
    w = np.ones(X.shape[0])
    w[held] = 0.0
    direct = _path(X, y, mode, sample_weight=w, n_lams=40, tol=1e-10)
    shared = SharedGram()
    full = _path(X, y, mode, shared, n_lams=40, tol=1e-10)
    fold = _path(X, y, mode, shared, (held, X[held]), sample_weight=w, lams=direct.lams,
                 tol=1e-10)
    assert np.all(fold.converged) and np.all(full.converged)
    assert np.all(fold.coefs[:, [2, 3]] == 0.0)  # excluded as constant on the live rows
    np.testing.assert_allclose(fold.coefs, direct.coefs[: fold.n_lams], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fold.intercepts, direct.intercepts[: fold.n_lams], rtol=1e-8)
    # and the full path, also from the shared sums, matches a plain fit
    plain = _path(X, y, mode, n_lams=40, tol=1e-10)
    np.testing.assert_allclose(full.coefs, plain.coefs, rtol=1e-6, atol=1e-8)


def test_held_out_rows_that_do_not_match_the_weights_are_ignored():
    X, y, held = _fold_design(n=400, p=6)
    w = np.ones(X.shape[0])
    w[held] = 0.0
    w[held[-1]] = 1.0  # one held-out row still weighted: not a fold's weights
    direct = regularization_path(X, y, sample_weight=w, n_lams=20, tol=1e-10)
    given = _path(X, y, shared=SharedGram(), held_out=(held, X[held]), sample_weight=w,
                  n_lams=20, tol=1e-10)
    np.testing.assert_allclose(given.coefs, direct.coefs, rtol=1e-8, atol=1e-10)


def test_auto_mode_avoids_gram_centring_that_loses_digits():
    """A tall design with a column whose mean is 1e6 sds from zero: the covariance
    solver's centred Gram would be off in the 4th digit, so auto mode fits it with the
    naive solver, whose path matches scikit-learn's lasso."""
    from sklearn.linear_model import Lasso

    X, y, _ = _fold_design(n=800, p=12)
    path = regularization_path(X, y, n_lams=15, tol=1e-12, standardize=False)
    naive = _path(X, y, "naive", lams=path.lams, tol=1e-12, standardize=False)
    np.testing.assert_array_equal(path.coefs, naive.coefs)
    for k in (5, 14):
        ref = Lasso(alpha=path.lams[k], tol=1e-14, max_iter=200_000).fit(X, y)
        np.testing.assert_allclose(path.coefs[k], ref.coef_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("order", ["F", "C"])
def test_take_rows(order):
    X = np.asarray(np.arange(60.0).reshape(12, 5), order=order)
    rows = np.array([7, 0, 3, 3, 11])
    got = take_rows(X, rows)
    np.testing.assert_array_equal(got, X[rows])
    if order == "F":
        assert got.flags.f_contiguous
        with pytest.raises(IndexError, match="outside"):
            take_rows(X, np.array([0, 12]))


def test_auto_mode_takes_residual_updates_on_thin_sparse_columns():
    """A tall sparse design whose columns hold few entries (a covariance move costs p, a
    residual move about 2 nnz_j): auto mode is the naive solver, bit for bit; a tall
    sparse design with full columns is the covariance solver."""
    import scipy.sparse as sp

    rng = np.random.default_rng(7)
    y = rng.standard_normal(600)
    for density, solver in ((0.02, "naive"), (0.9, "covariance")):
        X = sp.random(600, 60, density=density, format="csc", random_state=rng)
        auto = _path(X, y, n_lams=12, tol=1e-10)
        chosen = _path(X, y, solver, lams=auto.lams, tol=1e-10)
        np.testing.assert_array_equal(auto.coefs, chosen.coefs)
        assert np.all(auto.converged)
