"""Stratified folds for blocked data: balanced per class, independent of the blocking.

The rows of each class are taken in row order and cut into runs of ``K`` consecutive
occurrences; the ``K`` rows of a run go to the ``K`` folds in a random order, the
permutation of folds drawn from a hash of ``(seed, class, run)``::

    o   = occurrence number of row i within its class c (0, 1, 2, ... in row order)
    run = o // K,  j = o % K
    fold(i) = argsort_f splitmix64(h(seed, c, run) + f)  [j]

Every complete run gives each fold one row of its class, and the last, partial run at
most one, so fold ``f`` holds ``floor(n_c / K)`` or ``ceil(n_c / K)`` rows of class ``c``
(``n_c`` its rows): within one row of ``n_c / K`` for every class and fold. The labels
depend on the seed and on the rows in order only, not on how they are blocked. For a
dask ``y`` the occurrence numbers need the class counts of the blocks before: one pass
over ``y`` (not X) counts them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_folds", "fold_of_occurrence", "stratified_cv", "block_class_counts"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def fold_of_occurrence(codes, occ, K, seed):
    """The fold of rows of classes ``codes`` (``-1``: no label, fold 0) that are the
    ``occ``-th occurrence of their class (module docstring)."""
    codes = np.asarray(codes, dtype=np.int64)
    occ = np.asarray(occ, dtype=np.int64)
    run = (occ // K).astype(np.uint64)
    j = occ % K
    with np.errstate(over="ignore"):
        base = _mix(np.uint64(seed * 7919 + 17) + _mix(codes.astype(np.uint64) + np.uint64(1))
                    * np.uint64(3) + run * np.uint64(0x632BE59BD9B4E019))
        keys = _mix(base[:, None] + np.arange(K, dtype=np.uint64)[None, :])
    perm = np.argsort(keys, axis=1, kind="stable")
    out = perm[np.arange(codes.size), j]
    return np.where(codes < 0, 0, out).astype(np.int64)


def _occurrences(codes, n_classes, before):
    """Occurrence number of each row within its class, counting ``before[c]`` earlier
    rows of class ``c``."""
    occ = np.zeros(codes.size, dtype=np.int64)
    ok = codes >= 0
    idx = np.flatnonzero(ok)
    c = codes[idx]
    order = np.argsort(c, kind="stable")
    counts = np.bincount(c, minlength=n_classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(idx.size, dtype=np.int64)
    rank[order] = np.arange(idx.size) - starts[c[order]]
    occ[idx] = rank + before[c]
    return occ


def _codes(values, classes):
    codes = np.searchsorted(classes, values)
    codes = np.minimum(codes, classes.size - 1)
    return np.where(classes[codes] == values, codes, -1)


def block_class_counts(y):
    """One pass over a dask ``y`` (not X): ``(classes, counts)``, the sorted finite
    values and each block's count of each (``blocks x classes``)."""
    import dask

    def count(b):
        b = np.asarray(b).ravel()
        if b.dtype.kind in "fc":
            b = b[np.isfinite(b)]
        return np.unique(b, return_counts=True)

    parts = dask.compute(*[dask.delayed(count)(b) for b in y.to_delayed().ravel()])
    classes = np.unique(np.concatenate([v for v, _ in parts]))
    counts = np.zeros((len(parts), classes.size), dtype=np.int64)
    for i, (v, c) in enumerate(parts):
        counts[i, np.searchsorted(classes, v)] = c
    return classes, counts


def stratified_folds(y, K, classes=None, random_state=None, counts=None):
    """Fold labels ``0..K-1`` per row of ``y`` (NumPy or dask, rows in order), balanced
    per class of ``classes`` (sorted; default: the values of ``y``; rows of other
    values, NaN included, go to fold 0). ``counts``: each dask block's count of each
    class, if known.

    Returns a NumPy array for a NumPy ``y``, a dask array with ``y``'s blocks otherwise.
    """
    import dask.array as da

    seed = 0 if random_state is None else int(random_state)
    if not isinstance(y, da.Array):
        y = np.asarray(y)
        classes = np.unique(y) if classes is None else np.asarray(classes)
        codes = _codes(y, classes)
        Kc = classes.size
        return fold_of_occurrence(codes, _occurrences(codes, Kc, np.zeros(Kc, np.int64)),
                                  K, seed)
    if classes is None or counts is None:
        classes, counts = block_class_counts(y)
    Kc = classes.size
    before = np.vstack([np.zeros((1, Kc), np.int64), np.cumsum(counts, axis=0)[:-1]])

    def block(b, block_info=None):
        i = block_info[0]["chunk-location"][0]
        codes = _codes(np.asarray(b), classes)
        return fold_of_occurrence(codes, _occurrences(codes, Kc, before[i]), K, seed)

    return y.map_blocks(block, dtype=np.int64)


def stratified_cv(stratify, family, cv, fold_by, y, random_state):
    """``(labels, classes)``: the stratified fold labels of an int ``cv`` and the classes
    found, or ``(None, None)`` where the folds are not stratified: ``stratify=None``
    means yes for binomial and multinomial with row folds (as
    :func:`shrinkage.cross_validate`); a binomial ``y`` with values other than 0 and 1
    (proportions) is not stratified then, and refused with ``stratify=True``."""
    import dask.array as da

    classification = family in ("binomial", "multinomial")
    if stratify and not classification:
        raise ValueError(f"stratify=True needs class labels; family {family!r} has a "
                         "continuous response")
    if not (classification if stratify is None else bool(stratify)):
        return None, None
    if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool):
        if stratify:
            raise ValueError("stratify=True draws the folds; give cv as a number of folds, "
                             "not fold labels")
        return None, None
    if fold_by != "row":
        if stratify:
            raise ValueError("stratify=True needs fold_by='row' (whole blocks cannot be "
                             "balanced per class)")
        return None, None
    counts = None
    if isinstance(y, da.Array):
        classes, counts = block_class_counts(y)
    else:
        y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).ravel()
        classes = np.unique(y[np.isfinite(y)] if y.dtype.kind in "fc" else y)
    if family == "binomial" and not np.all(np.isin(classes, (0.0, 1.0))):
        if stratify:
            raise ValueError("stratify=True needs 0/1 labels; this binomial y holds "
                             "proportions")
        return None, None
    return stratified_folds(y, int(cv), classes, random_state, counts), classes
