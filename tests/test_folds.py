"""Fold assignment: balance, stratification, groups, repeats, given folds, bad input."""

import numpy as np
import pytest
from sklearn.model_selection import KFold, TimeSeriesSplit

from shrinkage.tuning.folds import make_folds


def _check_partition(folds, n):
    for r, splits in enumerate(folds.splits):
        seen = np.zeros(n, dtype=int)
        for f, (train, test) in enumerate(splits):
            assert np.intersect1d(train, test).size == 0
            assert train.size + test.size == n
            seen[test] += 1
            assert np.all(folds.fold_ids[r, test] == f)
        assert np.all(seen == 1)


def test_plain_folds_balanced_and_reproducible():
    f1 = make_folds(103, 10, random_state=7)
    f2 = make_folds(103, 10, random_state=7)
    _check_partition(f1, 103)
    sizes = np.bincount(f1.fold_ids[0])
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 103
    assert np.array_equal(f1.fold_ids, f2.fold_ids)
    f3 = make_folds(103, 10, random_state=8)
    assert not np.array_equal(f1.fold_ids, f3.fold_ids)


def test_stratified_folds_deal_each_class_evenly():
    y = np.r_[np.zeros(37), np.ones(13), np.full(10, 2)]
    folds = make_folds(60, 5, y=y, stratify=True, random_state=0)
    _check_partition(folds, 60)
    ids = folds.fold_ids[0]
    for c in (0, 1, 2):
        counts = np.bincount(ids[y == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    sizes = np.bincount(ids)
    assert sizes.max() - sizes.min() <= 1


def test_group_folds_never_split_a_group_and_balance_load():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 20, size=200)
    folds = make_folds(200, 4, groups=groups, random_state=3)
    _check_partition(folds, 200)
    ids = folds.fold_ids[0]
    for g in np.unique(groups):
        assert np.unique(ids[groups == g]).size == 1
    sizes = np.bincount(ids)
    assert sizes.max() - sizes.min() <= np.bincount(groups).max()


def test_repeats_give_distinct_reproducible_folds():
    f = make_folds(50, 5, repeats=3, random_state=11)
    assert f.fold_ids.shape == (3, 50) and f.n_repeats == 3 and f.n_folds == 5
    _check_partition(f, 50)
    assert not np.array_equal(f.fold_ids[0], f.fold_ids[1])
    assert np.array_equal(f.fold_ids, make_folds(50, 5, repeats=3, random_state=11).fold_ids)


def test_given_fold_ids_and_splitters():
    labels = np.array(["a", "b", "c"] * 5)
    f = make_folds(15, labels)
    assert f.n_folds == 3
    assert np.array_equal(f.fold_ids[0], np.tile([0, 1, 2], 5))
    kf = KFold(4, shuffle=True, random_state=0)
    f = make_folds(20, kf)
    _check_partition(f, 20)
    for (tr, te), (tr2, te2) in zip(f.splits[0], kf.split(np.zeros((20, 1)))):
        assert np.array_equal(np.sort(te2), te) and np.array_equal(np.sort(tr2), tr)
    pairs = list(kf.split(np.zeros((20, 1))))
    g = make_folds(20, pairs)
    assert np.array_equal(g.fold_ids, f.fold_ids)
    f = make_folds(20, TimeSeriesSplit(3))
    assert f.fold_ids[0][0] == -1  # the first block is never a test set
    assert f.n_folds == 3


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(cv=11), ValueError, "more than the number of samples"),
        (dict(cv=1), ValueError, ">= 2 folds"),
        (dict(cv=3, groups=np.arange(9)), ValueError, "groups must be one-dimensional"),
        (dict(cv=5, groups=np.repeat([0, 1, 2, 3, 4], 2)[:10] % 3), ValueError, "3 distinct"),
        (dict(cv=3, stratify=True), ValueError, "needs the class labels"),
        (dict(cv=np.zeros(10)), ValueError, "single fold"),
        (dict(cv=np.arange(9)), ValueError, "one entry per sample"),
        (dict(cv="kfold"), TypeError, "cv must be"),
        (dict(cv=3, random_state=1.5), TypeError, "random_state"),
        (dict(cv=3, repeats=0), ValueError, "repeats must be >= 1"),
        (dict(cv=np.arange(10) % 2, repeats=2), ValueError, "repeats > 1"),
        (dict(cv=[(np.arange(5), np.arange(5, 11))] * 2), ValueError, "outside"),
    ],
)
def test_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        make_folds(10, **kwargs)


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
def test_given_folds_must_keep_groups_whole():
    """groups with fold ids or a splitter: folds that split a group are refused (they were
    silently used: every group of six landed in five folds), folds that keep them pass."""
    from sklearn.model_selection import GroupKFold

    groups = np.arange(60) % 6
    for cv in (np.arange(60) % 5, KFold(5)):
        with pytest.raises(ValueError, match=r"splits 6 group\(s\) between training and test"):
            make_folds(60, cv, groups=groups)
    whole = make_folds(60, groups % 3, groups=groups)  # ids constant within each group
    assert whole.n_folds == 3
    kept = make_folds(60, GroupKFold(3), groups=groups)
    for train, test in kept.splits[0]:
        assert not set(groups[train]) & set(groups[test])


@pytest.mark.parametrize("groups,match", [
    (np.array([None] * 30 + list(range(30)), dtype=object), r"groups has 30 missing label"),
    (np.r_[np.full(10, np.nan), np.arange(50.0)], r"groups has 10 missing label.*a group"),
    (np.array([1, "a"] * 30, dtype=object), r"groups mixes labels of types int, str"),
])
def test_bad_group_labels_are_named(groups, match):
    with pytest.raises(ValueError, match=match):
        make_folds(60, 5, groups=groups)


def test_group_codes_give_the_same_folds_as_labels():
    """Labels of any type group the rows alike: the folds of string labels equal those of
    their integer codes (the sorted order is kept)."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 12, 80)
    names = np.array([f"g{c:02d}" for c in codes])
    a = make_folds(80, 4, groups=codes, random_state=1).fold_ids
    b = make_folds(80, 4, groups=names, random_state=1).fold_ids
    np.testing.assert_array_equal(a, b)
