"""Exact fits on data that do not fit in memory (tall designs, ``n >> p``).

A design held as a :class:`dask.array.Array` (chunked by rows), a
:class:`numpy.memmap` or a zarr array is read block by block; every fit is the in-memory
fit of the same data to the certificate's tolerance:

* ``regularization_path`` -- gaussian in one pass over the data (the weighted Gram and
  its moments, then the engine's covariance-mode path on ``p x p``); binomial, poisson
  and multinomial by proximal Newton on a window of strengths, one Newton step of each
  per pass; Cox the same way from histograms over the event times (``cox_blocks``,
  ``cox_fit``, ``cox_route``);
* ``cross_validate`` -- per-fold sums from the same passes: a fold trains on the sums
  of the other folds, so gaussian K-fold CV costs one pass; classification folds are
  stratified by class (``stratify``);
* ``read_parquet`` -- Parquet (or CSV) files larger than memory into a blocked design;
* ``wide_path`` and ``wide_cross_validate`` -- the other shape (``p >> n``, biglasso's
  case): a gaussian lasso or elastic net on a design stored by columns on disk, reading
  only the columns that screening cannot prove inactive (``wide_source``, ``wide_stats``,
  ``wide_screen``, ``wide_cache``, ``wide_solve``, ``wide_cv``); no dask needed.

Dask is imported only when these functions run (``pip install shrinkage[dask]``).
"""

from __future__ import annotations

import importlib

__all__ = ["regularization_path", "cross_validate", "read_parquet", "BlockedTable",
           "wide_path", "wide_cross_validate", "open_columns", "ColumnSource",
           "CacheLimitWarning"]

_LAZY = {
    "regularization_path": "shrinkage.distributed.fit",
    "cross_validate": "shrinkage.distributed.cv",
    "read_parquet": "shrinkage.distributed.read",
    "BlockedTable": "shrinkage.distributed.read",
    "wide_path": "shrinkage.distributed.wide",
    "wide_cross_validate": "shrinkage.distributed.wide_cv",
    "open_columns": "shrinkage.distributed.wide_source",
    "ColumnSource": "shrinkage.distributed.wide_source",
    "CacheLimitWarning": "shrinkage.distributed.wide_cache",
}


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'shrinkage.distributed' has no attribute {name!r}") \
            from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
