"""A least-recently-used cache of columns read from a wide design, within a byte budget.

Screening (``wide_screen``) reads the same few columns at many strengths: those whose
gradient bound does not yet prove them inactive. Keeping them in memory turns those
rereads into memory reads. The cache never holds more than ``cache_bytes`` of columns
(``8 n`` bytes each): the least recently used are dropped first. When one request alone
needs more columns than the budget holds, they are read from the source without being
cached and a :class:`CacheLimitWarning` says so once per cache.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

__all__ = ["ColumnCache", "CacheLimitWarning", "DEFAULT_CACHE_BYTES"]

#: Default budget of the column cache.
DEFAULT_CACHE_BYTES = 256 * 2**20


class CacheLimitWarning(UserWarning):
    """The columns a step needs do not fit the cache budget: they are reread from disk."""


class ColumnCache:
    """Columns of a :class:`~shrinkage.distributed.wide_source.ColumnSource`, least
    recently used dropped first, at most ``cache_bytes`` held.

    Attributes
    ----------
    nbytes : int
        Bytes held now.
    peak_bytes : int
        The most bytes ever held (never above ``cache_bytes``).
    hits, misses : int
        Columns served from memory and read from the source.
    """

    def __init__(self, source, cache_bytes=DEFAULT_CACHE_BYTES):
        if cache_bytes is None:
            cache_bytes = DEFAULT_CACHE_BYTES
        if not np.isscalar(cache_bytes) or not cache_bytes >= 0:
            raise ValueError(f"cache_bytes must be a number of bytes >= 0, got {cache_bytes!r}")
        self.source = source
        self.cache_bytes = int(cache_bytes)
        self.col_bytes = 8 * source.shape[0]
        self.store = OrderedDict()
        self.nbytes = 0
        self.peak_bytes = 0
        self.hits = 0
        self.misses = 0
        self.warned = False

    def capacity(self):
        """How many columns the budget holds."""
        return self.cache_bytes // self.col_bytes

    def get(self, idx):
        """The columns ``idx`` (sorted, distinct) as an ``(n, len(idx))`` Fortran array."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((self.source.shape[0], idx.size), order="F")
        missing = []
        for t, j in enumerate(idx.tolist()):
            col = self.store.get(j)
            if col is None:
                missing.append(t)
            else:
                self.store.move_to_end(j)
                out[:, t] = col
        self.hits += idx.size - len(missing)
        if not missing:
            return out
        miss = np.asarray(missing, dtype=np.int64)
        cols = self.source.columns(idx[miss])
        out[:, miss] = cols
        self.misses += miss.size
        if miss.size > self.capacity():
            if not self.warned:
                self.warned = True
                warnings.warn(
                    f"{miss.size} columns ({miss.size * self.col_bytes / 2**20:.1f} MiB) are "
                    f"needed at once but cache_bytes={self.cache_bytes} holds "
                    f"{self.capacity()}: they are reread from disk at each strength; raise "
                    "cache_bytes to keep them in memory", CacheLimitWarning, stacklevel=4)
            return out
        for t, j in enumerate(idx[miss].tolist()):
            while self.nbytes + self.col_bytes > self.cache_bytes:
                self.store.popitem(last=False)
                self.nbytes -= self.col_bytes
            self.store[j] = cols[:, t].copy()
            self.nbytes += self.col_bytes
        self.peak_bytes = max(self.peak_bytes, self.nbytes)
        return out
