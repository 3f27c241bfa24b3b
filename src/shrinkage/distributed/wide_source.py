"""Wide designs on disk, read by columns: a column-block source with read counts.

A wide design (``p`` far above ``n``) is stored by columns so that one column, or a run
of neighbouring columns, is one contiguous read:

* a ``.npy`` file stored column-major (``fortran_order`` in its header), read with
  plain file reads (``NpyColumns``; any other ``.npy`` is memory-mapped);
* a :class:`numpy.memmap` (or any array) stored column-major (``order="F"``);
* a zarr (or any) array whose chunks span all rows and a run of columns (anything with
  ``shape``, ``dtype`` and ``X[:, a:b]``);
* a folder (or a list) of ``.npy`` files, each one block of columns of the same ``n``
  rows, in column order (sorted names for a folder).

:class:`~shrinkage.distributed.ColumnSource` gives every fit the same two ways in, and
counts both: a **pass** (every column, block by block, ``ColumnSource.blocks``) and a
**read** of chosen columns (``ColumnSource.columns``; ``reads[j]`` counts the reads of
column ``j``).
A row-major array is accepted but each column read then gathers ``n`` strided values.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

__all__ = ["ColumnSource", "NpyColumns", "open_columns", "BLOCK_BYTES"]

#: Bytes of one block of columns read per step of a pass (``n * block_cols * 8``).
BLOCK_BYTES = 64 * 2**20
#: Reads of at least this many bytes map the block instead of copying it.
MAP_BYTES = 2**20


class ColumnSource:
    """Columns of an ``(n, p)`` design held as one or more arrays side by side.

    Parameters
    ----------
    parts : list of arrays
        Column blocks with the same number of rows, in column order; each supports
        ``part[:, a:b]``.
    block_cols : int, optional
        Columns per block of a pass; default: ``BLOCK_BYTES / (8 n)``.

    Attributes
    ----------
    shape : tuple (n, p)
    reads : ndarray of shape (p,)
        How many times each column was read outside passes.
    passes : int
        Completed passes over every column.
    """

    def __init__(self, parts, block_cols=None):
        if not parts:
            raise ValueError("the wide design has no column blocks")
        n = int(parts[0].shape[0])
        for k, part in enumerate(parts):
            if len(part.shape) != 2:
                raise ValueError(f"column block {k} has shape {part.shape}: need 2 dimensions")
            if int(part.shape[0]) != n:
                raise ValueError(f"column block {k} has {part.shape[0]} rows, block 0 has {n}")
            if not np.issubdtype(np.dtype(part.dtype), np.floating):
                raise TypeError(f"column block {k} has dtype {np.dtype(part.dtype)}: a wide "
                                "design must be stored as float32 or float64")
        widths = np.array([int(part.shape[1]) for part in parts], dtype=np.int64)
        self.parts = list(parts)
        self.starts = np.concatenate([[0], np.cumsum(widths)])
        self.shape = (n, int(self.starts[-1]))
        if self.shape[1] == 0 or n == 0:
            raise ValueError(f"the wide design is empty (shape {self.shape})")
        if block_cols is None:
            block_cols = max(1, BLOCK_BYTES // (8 * n))
        if int(block_cols) < 1:
            raise ValueError(f"block_cols must be at least 1, got {block_cols}")
        self.block_cols = int(block_cols)
        self.reads = np.zeros(self.shape[1], dtype=np.int64)
        self.passes = 0

    @property
    def nbytes(self):
        """Size of the design in float64 (what loading it whole would take)."""
        return 8 * self.shape[0] * self.shape[1]

    def _slice(self, a, b, view=False):
        """Columns ``a:b`` as a float64 Fortran array (reads across part boundaries);
        with ``view``, the stored array itself when it already is one (no copy: a pass
        multiplies the mapped pages directly)."""
        k = int(np.searchsorted(self.starts, a, side="right")) - 1
        if b <= int(self.starts[k + 1]):
            s0 = int(self.starts[k])
            if isinstance(self.parts[k], NpyColumns):
                return np.asfortranarray(self.parts[k].read(a - s0, b - s0), dtype=np.float64)
            part = self.parts[k][:, a - s0:b - s0]
            if view and isinstance(part, np.ndarray) and part.dtype == np.float64 \
                    and part.flags.f_contiguous:
                return np.asarray(part)
        out = np.empty((self.shape[0], b - a), order="F")
        j = a
        while j < b:
            end = min(b, int(self.starts[k + 1]))
            s0 = int(self.starts[k])
            out[:, j - a:end - a] = self.parts[k][:, j - s0:end - s0]
            j = end
            k += 1
        return out

    def blocks(self):
        """Yield ``(j0, block)`` over every column, ``block_cols`` at a time (one pass);
        a block may be a read-only view of the stored array."""
        p = self.shape[1]
        for j0 in range(0, p, self.block_cols):
            yield j0, self._slice(j0, min(p, j0 + self.block_cols), view=True)
        self.passes += 1

    def columns(self, idx):
        """The columns ``idx`` (sorted, distinct) as an ``(n, len(idx))`` Fortran array;
        runs of neighbouring columns are read as one slice."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((self.shape[0], idx.size), order="F")
        if idx.size == 0:
            return out
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        first = 0
        for last in [*breaks.tolist(), idx.size]:
            a, b = int(idx[first]), int(idx[last - 1]) + 1
            out[:, first:last] = self._slice(a, b)
            first = last
        self.reads[idx] += 1
        return out


class NpyColumns:
    """A column-major ``.npy`` file read a block of columns at a time, never mapped whole.

    Columns ``a:b`` are contiguous bytes: a large read maps just those bytes (a pass then
    multiplies the file's cached pages without copying them, and the mapping is dropped
    with the block), a small one is a single ``readinto``. Either way at most a block or
    two of the file count in the process's resident memory, where a memory map of the
    whole file counts every page it has touched.
    """

    def __init__(self, path, header):
        self.shape, self.dtype, self.offset = header
        self.path = str(path)
        self.fh = open(self.path, "rb")  # kept open: one read per block

    def read(self, a, b):
        """Columns ``a:b`` as an ``(n, b - a)`` Fortran array of the stored dtype (read-only
        when mapped)."""
        n = self.shape[0]
        start = self.offset + a * n * self.dtype.itemsize
        size = n * (b - a) * self.dtype.itemsize
        if size >= MAP_BYTES:
            skip = start % mmap.ALLOCATIONGRANULARITY
            view = mmap.mmap(self.fh.fileno(), size + skip, access=mmap.ACCESS_READ,
                             offset=start - skip)
            out = np.frombuffer(view, dtype=self.dtype, count=n * (b - a), offset=skip)
            return out.reshape((n, b - a), order="F")
        out = np.empty(n * (b - a), dtype=self.dtype)
        self.fh.seek(start)
        got = self.fh.readinto(memoryview(out).cast("B"))
        if got != out.nbytes:
            raise OSError(f"{self.path!r} ended after {got} of {out.nbytes} bytes of "
                          f"columns {a}:{b}; the file is truncated")
        return out.reshape((n, b - a), order="F")

    def __getitem__(self, key):
        rows, cols = key
        if rows != slice(None) or cols.step not in (None, 1):
            raise IndexError("NpyColumns reads whole columns a:b only")
        return self.read(cols.start, cols.stop)

    def __del__(self):
        fh = getattr(self, "fh", None)
        if fh is not None:
            fh.close()


def _npy_header(path):
    """``(shape, dtype, offset)`` of a 2-D column-major ``.npy`` file, else None."""
    fmt = np.lib.format
    with open(path, "rb") as fh:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            return None
        offset = fh.tell()
    if len(shape) != 2 or not (fortran or shape[1] == 1) or dtype.hasobject:
        return None
    return shape, dtype, offset


def _npy(path):
    header = _npy_header(path)
    if header is not None:
        return NpyColumns(path, header)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def open_columns(source, block_cols=None):
    """A :class:`~shrinkage.distributed.ColumnSource` for ``source``.

    Parameters
    ----------
    source : ColumnSource, array, str or path, or list
        An open source (returned as it is); a 2-D array (``numpy.memmap``, zarr, ...); a
        ``.npy`` file; a folder of ``.npy`` column blocks (sorted by name); or a list of
        arrays or ``.npy`` paths, one column block each.
    block_cols : int, optional
        Columns per block of a pass.

    Returns
    -------
    ColumnSource
    """
    if isinstance(source, ColumnSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(path.glob("*.npy"))
            if not files:
                raise ValueError(f"the folder {str(path)!r} holds no .npy column blocks")
            return ColumnSource([_npy(f) for f in files], block_cols)
        if not path.exists():
            raise FileNotFoundError(f"no wide design at {str(path)!r}")
        return ColumnSource([_npy(path)], block_cols)
    if isinstance(source, (list, tuple)):
        parts = [_npy(s) if isinstance(s, (str, os.PathLike)) else s for s in source]
        return ColumnSource(parts, block_cols)
    if hasattr(source, "shape") and hasattr(source, "dtype"):
        return ColumnSource([source], block_cols)
    raise TypeError(f"cannot read a wide design from {type(source).__name__}: give an "
                    "array, a .npy file, a folder of .npy column blocks or a list of them")
