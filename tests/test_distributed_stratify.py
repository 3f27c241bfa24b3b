"""Stratified folds on blocked data: balanced per class to one row, independent of the
blocking, and the same CV as in memory given the same fold labels."""

import dask.array as da
import numpy as np
import pytest

import shrinkage
import shrinkage.distributed as dist
from shrinkage.distributed.stratify import stratified_folds


def test_every_fold_holds_floor_or_ceil_of_each_class():
    rng = np.random.default_rng(0)
    y = rng.choice(4, size=5003, p=[0.6, 0.25, 0.1, 0.05])
    y[:700] = 0  # sorted runs of one class are dealt as evenly as the rest
    for K in (3, 5, 10):
        folds = stratified_folds(y, K, np.arange(4), random_state=7)
        assert folds.min() == 0 and folds.max() == K - 1
        for c in range(4):
            n_c = np.sum(y == c)
            counts = np.bincount(folds[y == c], minlength=K)
            assert counts.sum() == n_c
            assert np.all((counts == n_c // K) | (counts == -(-n_c // K)))
        # the same labels whatever the blocking, and other labels for another seed
        for rows in (100, 999, 5003):
            blocked = stratified_folds(da.from_array(y, chunks=rows), K, np.arange(4),
                                       random_state=7).compute()
            np.testing.assert_array_equal(blocked, folds)
        other = stratified_folds(y, K, np.arange(4), random_state=8)
        assert np.mean(other != folds) > 0.5


@pytest.mark.parametrize("family", ["binomial", "multinomial"])
def test_stratified_cv_equals_in_memory_cv_on_its_folds(family):
    rng = np.random.default_rng(1)
    n, p = 1200, 4
    X = rng.normal(size=(n, p))
    eta = X[:, :2] @ [1.0, -0.7]
    if family == "binomial":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
        y[rng.uniform(size=n) < 0.7] = 0.0  # unbalanced classes
    else:
        y = np.digitize(eta + rng.normal(size=n), [-1.5, 1.0])
    w = rng.uniform(0.5, 2, n)
    kw = dict(sample_weight=w, tol=1e-10, n_lams=15)
    got = dist.cross_validate(da.from_array(X, chunks=(250, p)), y, family, cv=5,
                              random_state=4, scheduler="synchronous", **kw)
    assert got.extra["stratified"]
    folds = stratified_folds(y, 5, np.unique(y), random_state=4)
    np.testing.assert_array_equal(got.fold_ids, folds)
    ref = shrinkage.cross_validate(X, y, family, cv=folds, **kw)
    np.testing.assert_allclose(got.fold_scores, ref.fold_scores, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(got.fold_weights, ref.fold_weights, rtol=1e-12)
    assert (got.index_min, got.index_chosen) == (ref.index_min, ref.index_chosen)
    hashed = dist.cross_validate(da.from_array(X, chunks=(250, p)), y, family, cv=5,
                                 random_state=4, stratify=False, scheduler="synchronous",
                                 **kw)
    assert not hashed.extra["stratified"] and hashed.fold_ids is None


def test_stratify_is_refused_where_it_cannot_apply():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    Xd = da.from_array(X, chunks=(100, 3))
    with pytest.raises(ValueError, match="stratify=True needs class labels"):
        dist.cross_validate(Xd, X[:, 0], "gaussian", stratify=True)
    with pytest.raises(ValueError, match="stratify=True needs 0/1 labels"):
        dist.cross_validate(Xd, rng.uniform(size=300), "binomial", stratify=True)
    with pytest.raises(ValueError, match="fold_by='row'"):
        dist.cross_validate(Xd, (X[:, 0] > 0).astype(float), "binomial", stratify=True,
                            fold_by="block")
