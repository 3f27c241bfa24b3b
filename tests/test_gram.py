"""Weighted Gram matrices (shrinkage.gram) and the covariance solver's use of them."""

import pickle
import threading

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.gram import SharedGram, dense_gram, dense_gram_columns


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
