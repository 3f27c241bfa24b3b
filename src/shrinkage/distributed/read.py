"""Parquet (or CSV) files larger than memory as a blocked design.

``read_parquet`` reads a glob of files with :mod:`dask.dataframe` (nothing is loaded:
each partition is read when a pass reaches it), encodes the features into a dask array
with one row block per partition, and returns a ``BlockedTable`` ready for
:func:`shrinkage.distributed.regularization_path` and
:func:`shrinkage.distributed.cross_validate`. Numeric columns are used as float64;
text and categorical columns are one-hot encoded with a reference level (the first in
sorted order, left out, as ``shrinkage.tabular_encode``) from the levels found in a first
pass, so every block encodes the same columns. Missing values are refused by column name.

Passes: one to find the levels of the categorical columns (read only those columns) and
one for the partition lengths (the partitions the passes will read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BlockedTable", "read_parquet", "encode_partition"]


@dataclass
class BlockedTable:
    """A design read in blocks: ``X`` (dask array, chunked by rows), ``y``,
    ``sample_weight`` (dask vectors or None) and the encoded ``feature_names``;
    ``levels`` maps each categorical column to its levels (the first is the reference)."""

    X: object
    y: object
    sample_weight: object
    feature_names: list
    levels: dict

    def fit_kwargs(self):
        """``{"sample_weight": ..., "feature_names": ...}`` for the fitting functions."""
        return {"sample_weight": self.sample_weight, "feature_names": self.feature_names}


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def encode_partition(frame, numeric, levels):
    """The float64 design of one partition: numeric columns as they are, then for each
    categorical column one 0/1 column per non-reference level."""
    n = len(frame)
    lacking = [c for c in list(numeric) + list(levels) if c not in frame.columns]
    if lacking:
        raise ValueError(f"a part of the files lacks column(s) {lacking} (its columns: "
                         f"{list(frame.columns)}); every file needs the same columns")
    parts = []
    for col in numeric:
        try:
            v = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            text = next(x for x in frame[col] if isinstance(x, str) and not _is_number(x))
            raise ValueError(f"column {col!r} holds text ({text!r}) where numbers are "
                             "expected, in a part of the files") from None
        if not np.all(np.isfinite(v)):
            raise ValueError(f"column {col!r} has missing or infinite values; impute or "
                             "drop them before fitting")
        parts.append(v[:, None])
    for col, lv in levels.items():
        values = frame[col]
        if values.isna().any():
            raise ValueError(f"column {col!r} has missing values; impute or drop them")
        values = values.astype(str).to_numpy()
        codes = np.searchsorted(lv, values)
        codes = np.minimum(codes, len(lv) - 1)
        if np.any(lv[codes] != values):
            bad = values[lv[codes] != values][0]
            raise ValueError(f"column {col!r} has level {bad!r} not seen in the first pass")
        onehot = np.zeros((n, len(lv) - 1))
        rows = np.flatnonzero(codes > 0)
        onehot[rows, codes[rows] - 1] = 1.0
        parts.append(onehot)
    return np.hstack(parts) if parts else np.zeros((n, 0))


def read_parquet(path, target, *, columns=None, weight=None, csv=False, blocksize=None):
    """Read a glob of Parquet (or CSV, ``csv=True``) files as a ``BlockedTable``.

    Parameters
    ----------
    path : str or list of str
        File glob(s), as :func:`dask.dataframe.read_parquet` takes them.
    target : str
        The response column.
    columns : list of str, optional
        Feature columns (default: every column but ``target`` and ``weight``).
    weight : str, optional
        A column of sample weights.
    csv : bool
        Read CSV files (:func:`dask.dataframe.read_csv`, blocks of ``blocksize`` bytes).

    Returns
    -------
    BlockedTable
        ``X`` has ``p = (numeric columns) + sum_c (levels_c - 1)`` columns.
    """
    import dask
    import dask.array as da
    import dask.dataframe as dd

    if csv:
        df = dd.read_csv(path, blocksize=blocksize or "64MB")
    else:
        df = dd.read_parquet(path)
    names = list(df.columns)
    for col in [target] + ([weight] if weight else []):
        if col not in names:
            raise ValueError(f"column {col!r} is not in the files (columns: {names})")
    for col, role in ((target, "target"), (weight, "weight")):
        if col and df[col].dtype.kind not in "fiub":
            raise ValueError(f"{role} column {col!r} holds text (dtype {df[col].dtype}): "
                             "read_parquet needs numbers there (class labels coded "
                             "0..K-1); `shrinkage fit` reads labelled files")
    feats = [c for c in (columns or names) if c not in (target, weight)]
    missing = [c for c in feats if c not in names]
    if missing:
        raise ValueError(f"columns {missing} are not in the files")
    numeric = [c for c in feats if df[c].dtype.kind in "fiub"]
    cats = [c for c in feats if c not in numeric]
    found = dask.compute(*[df[c].dropna().astype(str).unique() for c in cats])
    levels = {c: np.sort(np.asarray(v, dtype=str)) for c, v in zip(cats, found)}
    for c, lv in levels.items():
        if lv.size < 2:
            raise ValueError(f"categorical column {c!r} has {lv.size} level(s); drop it")
    parts = df.to_delayed()
    try:
        lengths = dask.compute(*[dask.delayed(len)(part) for part in parts])
    except KeyError as err:  # a file without a column the first one has
        raise ValueError(f"the files do not all have the same columns: {err.args[0]} in "
                         f"one of them (the first has {names}); every file needs the same "
                         "columns") from None
    feature_names = list(numeric) + [f"{c}={lv}" for c, v in levels.items() for lv in v[1:]]
    p = len(feature_names)
    extra = [target] + ([weight] if weight else [])
    enc = dask.delayed(encode_partition)
    # one array per partition, the response (and weights) as its last columns, so that
    # a pass reads each partition once for X and y alike
    Z = da.concatenate([da.from_delayed(enc(part, numeric + extra, levels),
                                        shape=(int(m), p + len(extra)), dtype=np.float64)
                        for part, m in zip(parts, lengths) if m > 0], axis=0)
    X = Z[:, :p] if not levels else Z[:, _feature_order(len(numeric), p, len(extra))]
    y = Z[:, len(numeric)]
    w = Z[:, len(numeric) + 1] if weight else None
    return BlockedTable(X, y, w, feature_names, levels)


def _feature_order(n_numeric, p, n_extra):
    """Columns of the encoded partition that are features: the numeric ones, then (past
    the response and weight columns) the one-hot ones."""
    return np.r_[np.arange(n_numeric), np.arange(n_numeric + n_extra, p + n_extra)]
