"""Row blocks of a design that need not fit in memory, and one reduction over them.

A design is a :class:`dask.array.Array` chunked by rows only (one chunk spans every
column), a :class:`numpy.memmap` (or any array, zarr included) read in row blocks through
:func:`dask.array.from_array`, or an in-memory array. The response, weights, offset and
fold labels travel with X's row blocks (rechunked to the same boundaries). A *pass*
(``reduce_blocks``) applies one function to every block and sums the results
pairwise (a tree of depth ``log2(blocks)``), so a worker holds one block and a few
partial sums at a time::

    total = sum_b f(X_b, y_b, w_b, offset_b, folds_b)

Dask is imported inside the functions: it is an optional dependency
(``pip install shrinkage[dask]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BlockData", "block_data", "reduce_blocks", "combine", "row_folds",
           "check_block", "DEFAULT_BLOCK_BYTES"]

#: Bytes of X per row block when an in-memory or memory-mapped array is wrapped.
DEFAULT_BLOCK_BYTES = 1 << 25


@dataclass
class BlockData:
    """X, y, weights, offset and fold labels as dask arrays with the same row blocks.

    ``shift`` (``p`` values) and ``y_shift`` are the column means of X and of
    ``y - offset`` over the first block: sums are accumulated about them so that centring
    never subtracts two large numbers. ``passes`` counts the reductions run so far.
    """

    X: object
    y: object
    w: object
    offset: object
    folds: object
    n: int
    p: int
    starts: np.ndarray
    scheduler: object = None
    progress: object = None
    shift: np.ndarray = None
    y_shift: float = 0.0
    passes: int = 0
    labels: dict = field(default_factory=dict)

    @property
    def n_blocks(self):
        """Number of row blocks."""
        return self.starts.size


def _as_dask_design(X, block_rows):
    import dask.array as da

    if isinstance(X, da.Array):
        return X, False
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"X must be a 2-D array (dask, numpy memmap, zarr), got {type(X)}")
    rows = block_rows or max(1, DEFAULT_BLOCK_BYTES // (8 * max(int(shape[1]), 1)))
    return da.from_array(X, chunks=(int(rows), int(shape[1]))), True


def _known_chunks(v, name):
    """Refuse a dask array whose block sizes are unknown (NaN), as after boolean indexing:
    the rows of each block must be known to align the vectors and the folds."""
    if any(np.isnan(c) for dim in v.chunks for c in dim):
        raise ValueError(f"{name} has blocks of unknown size (as after boolean indexing); "
                         f"call {name}.compute_chunk_sizes() first")


def _aligned(v, name, n, chunks):
    """``v`` (numpy or dask, length ``n``) as a dask vector with X's row blocks."""
    import dask.array as da

    if v is None:
        return None
    if isinstance(v, da.Array):
        _known_chunks(v, name)
        if v.ndim != 1 or v.shape[0] != n:
            raise ValueError(f"{name} must be 1-D of length {n} (X's rows), got shape "
                             f"{v.shape}")
        return v if v.chunks[0] == chunks else v.rechunk((chunks,))
    arr = np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be 1-D of length {n} (X's rows), got shape "
                         f"{arr.shape}")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return da.from_array(arr, chunks=(chunks,))


def block_data(X, y, sample_weight=None, offset=None, folds=None, *, block_rows=None,
               scheduler=None, progress=None):
    """Check a blocked design and align its vectors: a ``BlockData``.

    Parameters
    ----------
    X : dask.array.Array, numpy.memmap, zarr array or ndarray of shape (n, p)
        A dask array must be chunked by rows only (``X.rechunk({1: -1})``); any other
        array is read in blocks of ``block_rows`` rows (default: about 32 MB each) with
        the synchronous scheduler unless ``scheduler`` says otherwise.
    y, sample_weight, offset, folds : array-like or dask array of length n, optional
    block_rows : int, optional
    scheduler : str or None
        Passed to :func:`dask.compute` (None: the active client or dask's default).
    progress : callable, optional
        Called as ``progress(pass_number, blocks_done, n_blocks)`` as blocks finish
        (in-process schedulers: ``"synchronous"``, ``"threads"``).
    """
    Xd, wrapped = _as_dask_design(X, block_rows)
    _known_chunks(Xd, "X")
    if Xd.ndim != 2:
        raise ValueError(f"X must be 2-D, got {Xd.ndim} dimensions")
    if Xd.dtype.kind not in "fiub":
        raise TypeError(f"X must be numeric, got dtype {Xd.dtype}")
    if len(Xd.chunks[1]) != 1:
        raise ValueError(
            f"X is chunked along its columns ({len(Xd.chunks[1])} column chunks "
            f"{Xd.chunks[1]}): blocks must hold whole rows; use X.rechunk({{1: -1}})")
    n, p = (int(s) for s in Xd.shape)
    if n < 2 or p < 1:
        raise ValueError(f"X must have at least 2 rows and 1 column, got shape {(n, p)}")
    if y is None:
        raise ValueError("y is required")
    chunks = Xd.chunks[0]
    starts = np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64)
    if scheduler is None and wrapped:
        scheduler = "synchronous"
    data = BlockData(Xd, _aligned(y, "y", n, chunks), _aligned(sample_weight,
                     "sample_weight", n, chunks), _aligned(offset, "offset", n, chunks),
                     _aligned(folds, "folds", n, chunks), n, p, starts, scheduler, progress)
    import dask

    # the first block of each vector in one computation (a file is read once), on the
    # fit's scheduler: a persisted array's blocks live on the workers
    vectors = [data.y] + ([] if data.offset is None else [data.offset])
    first, *heads = dask.compute(Xd.blocks[0], *(v.blocks[0] for v in vectors),
                                 scheduler=scheduler, optimize_graph=False)
    first = np.asarray(first, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        data.shift = np.nan_to_num(first.mean(axis=0), nan=0.0, posinf=0.0, neginf=0.0)
        r = np.asarray(heads[0], dtype=float)
        if data.offset is not None:
            r = r - np.asarray(heads[1], dtype=float)
        data.y_shift = float(np.nan_to_num(np.mean(r), nan=0.0, posinf=0.0, neginf=0.0))
    return data


def check_block(i, start, Xb, yb, wb, ob):
    """The block as float64 arrays, or a ValueError naming the block and the bad entry."""
    Xb = np.asarray(Xb, dtype=np.float64)
    yb = np.asarray(yb, dtype=np.float64)
    wb = np.ones(yb.shape[0]) if wb is None else np.asarray(wb, dtype=np.float64)
    ob = None if ob is None else np.asarray(ob, dtype=np.float64)
    rows = f"block {i} (rows {start} to {start + Xb.shape[0] - 1})"
    for name, a in (("X", Xb), ("y", yb), ("sample_weight", wb), ("offset", ob)):
        if a is not None and not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            where = (f"row {start + int(bad[0])}" + (f", column {int(bad[1])}"
                                                    if a.ndim == 2 else ""))
            raise ValueError(f"{name} has NaN or inf in {rows}, first at {where}")
    if np.any(wb < 0):
        raise ValueError(f"sample_weight has negative entries in {rows}")
    return Xb, yb, wb, ob


def row_folds(i, start, nb, folds_block, spec):
    """Fold label of each row of block ``i`` (-1 when there are no folds).

    ``spec`` is ``None`` (no folds), ``("given", K)`` (labels read from ``folds_block``,
    0..K-1), ``("block", K, seed)`` (the whole block in fold ``(i + seed) % K``) or
    ``("row", K, seed)``: a hash of the row number, ``splitmix64(row + seed) % K``,
    the same for any blocking of the rows.
    """
    if spec is None:
        return np.full(nb, -1, dtype=np.int64)
    if spec[0] == "given":
        f = np.asarray(folds_block).astype(np.int64)
        if np.any((f < 0) | (f >= spec[1])):
            raise ValueError(f"fold labels in block {i} are outside 0..{spec[1] - 1}")
        return f
    if spec[0] == "block":
        return np.full(nb, (i + spec[2]) % spec[1], dtype=np.int64)
    with np.errstate(over="ignore"):
        z = np.arange(start, start + nb, dtype=np.uint64) + np.uint64(spec[2] * 7919 + 1)
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(spec[1])).astype(np.int64)


def combine(a, b):
    """Merge two partial results: keys starting ``min_``/``max_`` by min/max, others sum.

    A trial point whose sums overflowed in some block (``inf``, ``inf - inf = nan``)
    merges silently: the fits read such sums as an overflow and reject the point."""
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for k, v in a.items():
            if k.startswith("min_"):
                out[k] = np.minimum(v, b[k])
            elif k.startswith("max_"):
                out[k] = np.maximum(v, b[k])
            else:
                out[k] = v + b[k]
    return out


def _tree(parts, delayed):
    """Pairwise sums of ``parts`` (``delayed(combine)`` makes one merge)."""
    while len(parts) > 1:
        nxt = [delayed(combine)(parts[k], parts[k + 1]) for k in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def reduce_blocks(data, fn, *args):
    """One pass: ``sum_b fn(i, start, X_b, y_b, w_b, offset_b, folds_b, *args)``.

    ``fn`` returns a dict of arrays, merged by ``combine``. Counts the pass in
    ``data.passes``.
    """
    import dask

    def parts_of(v):
        # unoptimized: X, y, weights and offset cut from one array (a file read once)
        # keep that array's task; optimized graphs would each fuse their own copy of it,
        # reading every block once per vector
        if v is None:
            return [None] * data.n_blocks
        return list(v.to_delayed(optimize_graph=False).ravel())

    xs = parts_of(data.X)
    ys, ws, os_, fs = (parts_of(v) for v in (data.y, data.w, data.offset, data.folds))
    data.passes += 1
    if data.progress is not None and data.scheduler in _LOCAL:
        fn = _counted(fn, data.progress, data.passes, data.n_blocks)
    if data.scheduler not in _LOCAL:  # perhaps other processes: limit BLAS there too
        fn = _one_blas_thread(fn)
    parts = [dask.delayed(fn)(i, int(data.starts[i]), xs[i], ys[i], ws[i], os_[i], fs[i],
                              *args) for i in range(data.n_blocks)]
    client = _client() if data.progress is not None and data.scheduler is None else None
    if client is not None:
        return _counted_on(client, parts, data)
    from ..tuning.parallel import one_blas_thread

    with one_blas_thread():  # for the whole pass: in-process blocks run in this process
        return dask.compute(_tree(parts, dask.delayed), scheduler=data.scheduler)[0]


def _client():
    """The active :class:`distributed.Client`, or None (none, or not installed)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _counted_on(client, parts, data):
    """A pass on a cluster, reporting ``progress(pass, blocks_done, n_blocks)`` as the
    blocks' futures finish (the callback runs here, not on the workers); the partial
    sums are merged on the cluster, and only the total comes back."""
    from distributed import as_completed

    futures = client.compute(parts)
    for done, _ in enumerate(as_completed(futures), 1):
        data.progress(data.passes, done, data.n_blocks)

    def merge(a, b):
        return client.submit(combine, a, b)

    return _tree(futures, lambda _fn: merge).result()


_LOCAL = ("synchronous", "sync", "single-threaded", "threads", "threading")


def _one_blas_thread(fn):
    """``fn`` with BLAS on one thread: blocks run side by side (dask's threads or
    workers), and BLAS threads on top of them oversubscribe the cores; a block's
    ``n_b x p`` by ``p x n_b`` products are measured 3 to 30 times slower with two
    OpenBLAS threads than with one when the cores are shared."""
    from ..tuning.parallel import one_blas_thread

    def run(*args):
        with one_blas_thread():
            return fn(*args)

    return run


def _counted(fn, progress, pass_number, n_blocks):
    """``fn`` reporting ``progress(pass_number, blocks_done, n_blocks)`` after each block
    (in-process schedulers, where the callback runs in the caller's process)."""
    import threading

    lock = threading.Lock()
    done = [0]

    def run(*args):
        out = fn(*args)
        with lock:
            done[0] += 1
            progress(pass_number, done[0], n_blocks)
        return out

    return run
