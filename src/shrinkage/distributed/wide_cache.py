"""A least-recently-used cache of columns read from a wide design, within a byte budget.

Screening (``wide_screen``) reads the same few columns at many strengths: those whose
gradient bound does not yet prove them inactive. Keeping them in memory turns those
rereads into memory reads. The cache never holds more than ``cache_bytes`` of columns
(``8 n`` bytes each): the least recently used are dropped first. When one request alone
needs more columns than the budget holds, they are read from the source without being
cached and a :class:`~shrinkage.distributed.CacheLimitWarning` says so once per cache.
"""

from __future__ import annotations

import numpy as np

from ..user_warnings import warn_user

__all__ = ["ColumnCache", "CacheLimitWarning", "DEFAULT_CACHE_BYTES"]

#: Default budget of the column cache.
DEFAULT_CACHE_BYTES = 256 * 2**20


class CacheLimitWarning(UserWarning):
    """The columns a step needs do not fit the cache budget: they are reread from disk."""


class ColumnCache:
    """Columns of a :class:`~shrinkage.distributed.ColumnSource`, least
    recently used dropped first, at most ``cache_bytes`` held.

    The columns live in one ``(n, capacity)`` array (its pages are touched only as
    slots fill), with the slot of each column and the last use of each slot, so a
    request of many columns is a few array operations.

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
        n, p = source.shape
        self.source = source
        self.cache_bytes = int(cache_bytes)
        self.col_bytes = 8 * n
        cap = min(self.cache_bytes // self.col_bytes, p)
        self.store = np.empty((n, cap), order="F")
        self.slot_of = np.full(p, -1, dtype=np.int64)
        self.col_of = np.full(cap, -1, dtype=np.int64)
        self.used = np.zeros(cap, dtype=np.int64)
        self.tick = 0
        self.nbytes = 0
        self.peak_bytes = 0
        self.hits = 0
        self.misses = 0
        self.warned = False

    def capacity(self):
        """How many columns the budget holds."""
        return self.col_of.size

    def get(self, idx):
        """The columns ``idx`` (sorted, distinct) as an ``(n, len(idx))`` Fortran array."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((self.source.shape[0], idx.size), order="F")
        self.tick += 1
        slots = self.slot_of[idx]
        hit = slots >= 0
        if np.any(hit):
            out[:, hit] = self.store[:, slots[hit]]
            self.used[slots[hit]] = self.tick
        self.hits += int(np.count_nonzero(hit))
        miss = np.flatnonzero(~hit)
        if miss.size == 0:
            return out
        cols = self.source.columns(idx[miss])
        out[:, miss] = cols
        self.misses += miss.size
        if miss.size > self.capacity():
            if not self.warned:
                self.warned = True
                warn_user(
                    f"{miss.size} columns ({miss.size * self.col_bytes / 2**20:.1f} MiB) are "
                    f"needed at once but cache_bytes={self.cache_bytes} holds "
                    f"{self.capacity()}: they are reread from disk at each strength; raise "
                    "cache_bytes to keep them in memory", CacheLimitWarning)
            return out
        self._insert(idx[miss], cols)
        return out

    def _insert(self, new, cols):
        """Store the columns ``new``, in free slots first, then in the least recently used
        ones not used by the current request."""
        free = np.flatnonzero(self.col_of < 0)
        if free.size < new.size:
            old = np.flatnonzero((self.col_of >= 0) & (self.used < self.tick))
            k = min(new.size - free.size, old.size)
            if k:
                old = old[np.argpartition(self.used[old], k - 1)[:k]]
                self.slot_of[self.col_of[old]] = -1
                self.col_of[old] = -1
                free = np.concatenate([free, old])
        k = min(free.size, new.size)
        chosen = free[:k]
        self.store[:, chosen] = cols[:, :k]
        self.slot_of[new[:k]] = chosen
        self.col_of[chosen] = new[:k]
        self.used[chosen] = self.tick
        self.nbytes = int(np.count_nonzero(self.col_of >= 0)) * self.col_bytes
        self.peak_bytes = max(self.peak_bytes, self.nbytes)
