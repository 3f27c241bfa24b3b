"""Fold assignment for cross-validation: plain, stratified, grouped, repeated, or given.

Every scheme ends as a list of *splits*, one ``(train_index, test_index)`` pair per fold,
and (when the splits partition the samples) an integer fold id per sample, as glmnet's
``foldid``. Randomness comes only from ``random_state`` through one
:class:`numpy.random.Generator` per repeat, seeded from
``numpy.random.SeedSequence(random_state).spawn(repeats)``; the same ``random_state``
therefore gives the same folds on every machine, whatever the parallel backend.

Assignment rules (``k`` folds, ``n`` samples):

* plain: ``fold_id[perm] = arange(n) % k`` for a random permutation ``perm`` -- glmnet's
  ``sample(rep(seq(nfolds), length = N))``; fold sizes differ by at most one.
* stratified: the same dealing, class by class, with the fold counter carried over from
  one class to the next, so every fold gets ``floor`` or ``ceil`` of each class's share
  and the fold sizes still differ by at most one.
* grouped: groups are shuffled, then dealt largest first (stable in the shuffled order)
  to the fold with the fewest samples so far; no group is split between folds.
* given: an array of fold labels (any hashable values, one per sample), any object
  with scikit-learn's ``split(X, y, groups)`` method (``KFold``, ``GroupKFold``,
  ``TimeSeriesSplit``, ...), or a list of ``(train_index, test_index)`` pairs; such
  folds need not partition the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_flag, check_int

__all__ = ["Folds", "make_folds"]


@dataclass(frozen=True, eq=False)
class Folds:
    """Train/test splits for one or more repeats of cross-validation.

    Attributes
    ----------
    splits : list of list of (ndarray, ndarray)
        ``splits[r][f]`` is the ``(train_index, test_index)`` pair of fold ``f`` in
        repeat ``r``; indices are sorted int64 arrays.
    fold_ids : ndarray of int, shape (n_repeats, n_samples), or None
        Fold of each sample in each repeat; None when the splits do not partition the
        samples (a splitter such as ``TimeSeriesSplit``). ``-1`` marks a sample that is
        in no test fold.
    random_state : int or None
    """

    splits: list
    fold_ids: np.ndarray | None
    random_state: int | None

    @property
    def n_repeats(self) -> int:
        """Number of repeats (fresh fold assignments) in :attr:`splits`."""
        return len(self.splits)

    @property
    def n_folds(self) -> int:
        """Number of folds in each repeat."""
        return len(self.splits[0])


def _check_random_state(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            "random_state must be None or a non-negative integer (a Generator or "
            f"RandomState cannot be recorded in the result), got {type(random_state).__name__}"
        )
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0, got {random_state}")
    return int(random_state)


def _deal(order, k, start=0):
    """Fold ids for samples in ``order``: dealt round-robin starting at fold ``start``."""
    return (np.arange(order.size) + start) % k


def _plain(n, k, rng):
    ids = np.empty(n, dtype=np.int64)
    perm = rng.permutation(n)
    ids[perm] = _deal(perm, k)
    return ids


def _stratified(labels, k, rng):
    n = labels.shape[0]
    ids = np.empty(n, dtype=np.int64)
    _, codes = np.unique(labels, return_inverse=True)
    start = 0
    for c in range(codes.max() + 1):
        members = np.flatnonzero(codes == c)
        members = members[rng.permutation(members.size)]
        ids[members] = _deal(members, k, start)
        # Carry the counter so the next class starts where this one stopped: fold sizes
        # then stay within one of each other overall, not only per class.
        start = (start + members.size) % k
    return ids


def _grouped(groups, k, rng):
    uniq, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if uniq.size < k:
        raise ValueError(
            f"groups has {uniq.size} distinct groups but cv={k} folds were requested; "
            "group folds need at least one group per fold"
        )
    shuffled = rng.permutation(uniq.size)
    # Largest groups first (stable sort keeps the random order among equal sizes).
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    load = np.zeros(k, dtype=np.int64)
    group_fold = np.empty(uniq.size, dtype=np.int64)
    for g in order:
        f = int(np.argmin(load))
        group_fold[g] = f
        load[f] += sizes[g]
    return group_fold[codes]


def _splits_from_ids(ids, k):
    all_idx = np.arange(ids.shape[0])
    return [(all_idx[ids != f], all_idx[ids == f]) for f in range(k)]


def _is_split_list(cv):
    """True for an iterable of (train, test) pairs, as scikit-learn's ``cv=`` accepts."""
    if not isinstance(cv, (list, tuple)) or len(cv) == 0:
        return False
    return all(isinstance(s, (list, tuple)) and len(s) == 2 and np.ndim(s[0]) == 1
               for s in cv)


def _from_splitter(splitter, X, y, groups, n):
    if _is_split_list(splitter):
        raw = list(splitter)
    else:
        try:
            raw = list(splitter.split(X, y, groups))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"cv splitter {splitter!r} failed to split the data: {exc}"
            ) from exc
    if len(raw) < 2:
        raise ValueError(f"cv splitter produced {len(raw)} split(s); at least 2 are needed")
    splits = []
    ids = np.full(n, -1, dtype=np.int64)
    partition = True
    for f, (train, test) in enumerate(raw):
        train = np.sort(np.asarray(train, dtype=np.int64))
        test = np.sort(np.asarray(test, dtype=np.int64))
        if train.size == 0 or test.size == 0:
            raise ValueError(f"cv splitter produced an empty train or test set in split {f}")
        if min(train.min(), test.min()) < 0 or max(train.max(), test.max()) >= n:
            raise ValueError(f"cv split {f} has indices outside [0, n_samples={n})")
        if np.any(ids[test] >= 0):
            partition = False
        ids[test] = f
        splits.append((train, test))
    return splits, (ids if partition else None)


def _check_length(name, arr, n):
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{name} must be one-dimensional with one entry per sample (n_samples={n}), "
            f"got shape {arr.shape}"
        )


def make_folds(
    n_samples,
    cv=10,
    *,
    y=None,
    stratify=False,
    groups=None,
    repeats=1,
    random_state=None,
    X=None,
):
    """Assign samples to cross-validation folds.

    Parameters
    ----------
    n_samples : int
    cv : int, array-like of shape (n_samples,), splitter, or list of splits, default 10
        Number of folds (``2 <= cv <= n_samples``), an array of fold labels (glmnet's
        ``foldid``), an object with scikit-learn's ``split(X, y, groups)`` method, or a
        list of ``(train_index, test_index)`` pairs.
    y : array-like of shape (n_samples,), optional
        Class labels; needed when ``stratify`` is true.
    stratify : bool, default False
        Deal each class evenly over the folds (ignored when ``cv`` is given as fold ids
        or a splitter).
    groups : array-like of shape (n_samples,), optional
        Group labels; a group is never split between folds. Exclusive with ``stratify``.
    repeats : int, default 1
        Independent repetitions with fresh random folds (only when ``cv`` is an int).
    random_state : int or None
        Seed; the same seed gives the same folds.
    X : array-like, optional
        Passed to a splitter's ``split`` method.

    Returns
    -------
    Folds
    """
    n = check_int("n_samples", n_samples, 1)
    repeats = check_int("repeats", repeats, 1)
    random_state = _check_random_state(random_state)
    stratify = check_flag(stratify, "stratify")
    codes = None
    if groups is not None:
        groups = np.asarray(groups)
        codes = _group_codes(groups, n)  # (the same partition, in the labels' order)
    if stratify:
        if y is None:
            raise ValueError("stratify=True needs the class labels y")
        y = np.asarray(y)
        _check_length("y", y, n)

    if isinstance(cv, (str, float, bool)) or cv is None:
        raise TypeError(
            "cv must be an int, an array of fold ids or a splitter with a split method, "
            f"got {cv!r}"
        )
    if hasattr(cv, "split") or _is_split_list(cv):
        if repeats != 1:
            raise ValueError("repeats > 1 needs cv as an int; a splitter repeats itself")
        splits, ids = _from_splitter(cv, X if X is not None else np.zeros((n, 1)), y, groups, n)
        if codes is not None:
            _refuse_split_groups(splits, codes)
        return Folds([splits], None if ids is None else ids[None, :], random_state)

    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        k = int(cv)
        if k < 2:
            raise ValueError(f"cv must be >= 2 folds, got {k}")
        if k > n:
            raise ValueError(
                f"cv={k} folds is more than the number of samples (n_samples={n})"
            )
        if stratify and groups is not None:
            raise ValueError("stratify and groups cannot be combined; choose one")
        seeds = np.random.SeedSequence(random_state).spawn(repeats)
        all_ids = np.empty((repeats, n), dtype=np.int64)
        for r, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            if groups is not None:
                all_ids[r] = _grouped(codes, k, rng)
            elif stratify:
                all_ids[r] = _stratified(y, k, rng)
            else:
                all_ids[r] = _plain(n, k, rng)
        splits = [_splits_from_ids(ids, k) for ids in all_ids]
        return Folds(splits, all_ids, random_state)

    labels = np.asarray(cv)
    _check_length("cv (fold ids)", labels, n)
    refuse_missing_labels(labels, "cv (fold ids)")
    if repeats != 1:
        raise ValueError("repeats > 1 needs cv as an int; given fold ids cannot be repeated")
    _, ids = np.unique(labels, return_inverse=True)
    k = int(ids.max()) + 1
    if k < 2:
        raise ValueError("cv fold ids name a single fold; at least 2 folds are needed")
    if codes is not None:
        _refuse_split_groups(_splits_from_ids(ids, k), codes)
    return Folds([_splits_from_ids(ids, k)], ids[None, :].astype(np.int64), random_state)


def _group_codes(groups, n):
    """Group labels as integer codes ``0..G-1`` (one per distinct label), checked: one
    label per row, none missing, and labels of one kind (a mix of numbers and strings
    has no order to group by)."""
    _check_length("groups", groups, n)
    refuse_missing_labels(groups, "groups", "a group")
    try:
        return np.unique(groups, return_inverse=True)[1].reshape(-1)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in groups.tolist()})
        raise ValueError(f"groups mixes labels of types {', '.join(kinds)}; give labels of "
                         "one type (all numbers or all strings)") from None


def _refuse_split_groups(splits, codes):
    """Refuse folds given as ids or by a splitter that put one group on both sides of a
    split: the groups were asked to stay together, and such folds would ignore them."""
    for f, (train, test) in enumerate(splits):
        both = np.intersect1d(codes[train], codes[test])
        if both.size:
            row = int(test[np.flatnonzero(np.isin(codes[test], both))[0]])
            raise ValueError(
                f"the given cv splits {both.size} group(s) between training and test rows "
                f"(fold {f}; the group of row {row}, for one): groups are kept whole only by "
                "folds drawn here (cv as an int) or by a group-aware splitter "
                "(GroupKFold), or by fold ids constant within each group")


def refuse_missing_labels(labels, name, what="a fold"):
    """Refuse fold labels ``labels`` (called ``name`` in the message) with a missing value:
    NaN in a float array, None or NaN in an object one (np.unique would make them a fold
    of their own, or fail to sort them)."""
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
    elif labels.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in labels],
                           dtype=bool)
    else:
        return
    if missing.any():
        raise ValueError(f"{name} has {int(missing.sum())} missing label(s) (NaN or None), "
                         f"first at row {int(np.flatnonzero(missing)[0])}; give every row "
                         f"{what}")
