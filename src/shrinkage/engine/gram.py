"""Weighted Gram matrices and column moments of a dense design, computed once and shared.

The covariance-update solver needs ``X^T W X``. For a cross-validation run every fold
weights the same X differently (zero on its held-out rows), so the expensive part, the
unweighted product ``X^T X`` (``n p^2`` flops), is computed once per design and each fold
only subtracts the product of its held-out rows (a tenth of the work for 10 folds).

The same holds for the column means, variances and ``X^T y`` that every gaussian fit
starts from: :func:`live_moments` takes them from full-data sums minus the held-out rows'
sums, so a fold reads its held-out rows (which it gathers anyway to score them) instead
of all of X three more times.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = [
    "SharedGram", "dense_gram", "dense_gram_columns", "live_moments", "sparse_gram_columns",
    "take_rows",
]

_CHUNK_DIVISOR = 20  # column chunks of X copied at a time are at most 1/20 of X
_BLOCK_BYTES = 1 << 24  # row blocks for arbitrary weights: ~16 MB of X each
_SMALL_CHUNK_ENTRIES = 1 << 14  # a column chunk this small (~200 kB) is never split


class SharedGram:
    """``X^T X`` of one dense design, computed on first use (thread-safe) and reused.

    The product is tied to the array it came from (its memory address, shape and
    strides, which stay unique while that array is alive, as it is for a whole
    cross-validation run); any other array gets its own product. No reference to X is
    kept, so the cache can travel to another process, where it simply recomputes.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._xtx = None
        self._key = None
        self._sums = None
        self._sums_key = None
        self._sums_y = None

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    @staticmethod
    def _key_of(X):
        return (X.__array_interface__["data"][0], X.shape, X.strides)

    def xtx(self, X):
        """``X^T X``: the cached product when ``X`` is the array it was computed from."""
        key = self._key_of(X)
        with self._lock:  # held while computing, so concurrent folds wait for one product
            if self._key == key:
                return self._xtx
            if self._key is None:
                self._xtx, self._key = X.T @ X, key
                return self._xtx
        return X.T @ X

    def centred_sums(self, X, y):
        """Full-data sums about the column means ``m`` and the mean ``ybar`` of ``y``.

        Returns ``(m, ybar, s1, s2, sxy)`` with ``s1 = sum_i (x_i - m)`` (zero up to
        rounding), ``s2 = sum_i (x_i - m)^2`` and ``sxy = sum_i (x_i - m)(y_i - ybar)``,
        cached for X (as in :meth:`xtx`) and the values of ``y`` (each fit prepares its own
        copy of the target, so its address says nothing).
        """
        key = self._key_of(X)
        with self._lock:
            if self._sums_key == key and np.array_equal(self._sums_y, y):
                return self._sums
            sums = _centred_sums(X, y, X.mean(axis=0), float(y.mean()))
            if self._sums_key is None:
                self._sums, self._sums_key, self._sums_y = sums, key, np.array(y, copy=True)
            return sums


def dense_gram(X, w, uniform_w, shared=None, held_block=None):
    """The whole weighted Gram ``X^T W X`` without copying X.

    Uniform weights: one symmetric BLAS product. Weights constant on their support (the
    training rows of a cross-validation fold): the full product minus that of the
    zero-weight rows. Other weights: blocks of rows, each scaled by its weights.

    Parameters
    ----------
    X : ndarray (n, p)
    w : ndarray (n,)
        Weights summing to one.
    uniform_w : float
        ``1 / n`` when every weight is equal, else 0.
    shared : SharedGram, optional
        Where ``X^T X`` is cached across calls on the same X.
    held_block : ndarray, optional
        ``X[w == 0]`` when the caller has gathered it already (weights must then be
        constant on the other rows).
    """
    # (in-place arithmetic: at most one p x p temporary besides the result)
    if uniform_w > 0:
        if shared is None:
            G = X.T @ X
            G *= uniform_w
            return G
        return np.multiply(shared.xtx(X), uniform_w)
    live = w > 0
    n_dead = X.shape[0] - int(np.count_nonzero(live))
    c = float(w[live][0])
    if n_dead <= X.shape[0] // 4 and np.all(w[live] == c):
        G = np.multiply(shared.xtx(X), c) if shared is not None else (X.T @ X) * c
        if n_dead:
            Xd = X[~live] if held_block is None else held_block
            Gd = Xd.T @ Xd
            Gd *= c
            G -= Gd
        return G
    p = X.shape[1]
    G = np.zeros((p, p))
    rows = max(64, _BLOCK_BYTES // (8 * max(p, 1)))
    sel_all = np.flatnonzero(live)
    for r0 in range(0, sel_all.size, rows):
        sel = sel_all[r0: r0 + rows]
        Xb = X[sel]
        G += Xb.T @ (Xb * w[sel, None])
    return G


def dense_gram_columns(X, w, uniform_w, idx, rows=None):
    """``X^T W X[:, idx]`` (or only its ``rows``: ``X[:, rows]^T W X[:, idx]``), ``idx``
    in chunks so that the copied columns stay small."""
    XT = X if rows is None else X[:, rows]
    p = XT.shape[1]
    out = np.empty((p, idx.size))
    chunk = max(1, X.shape[1] // _CHUNK_DIVISOR)
    for s0 in range(0, idx.size, chunk):
        part = idx[s0: s0 + chunk]
        Xn = X[:, part]
        if uniform_w > 0:
            out[:, s0: s0 + part.size] = (XT.T @ Xn) * uniform_w
        else:
            Xn *= w[:, None]
            out[:, s0: s0 + part.size] = XT.T @ Xn
    return out


def sparse_gram_columns(X, w, idx, rows=None):
    """``X^T W X[:, idx]`` (or only its ``rows``) for CSC ``X``, in column chunks (the
    sparse product's intermediate storage grows with the chunk, so chunks keep it a small
    part of X)."""
    import scipy.sparse as sp

    XT = X if rows is None else X[:, rows]
    p = XT.shape[1]
    out = np.empty((p, idx.size))
    # a chunk copies its columns of X and its product holds up to p entries per column:
    # each at most 1/40 of X or _SMALL_CHUNK_ENTRIES, so small designs take few products
    q = X.shape[1]
    share = q // (2 * _CHUNK_DIVISOR)
    chunk = max(1, min(max(share, _SMALL_CHUNK_ENTRIES * q // max(X.nnz, 1)),
                       max(share, _SMALL_CHUNK_ENTRIES // max(p, 1))))
    for s0 in range(0, idx.size, chunk):
        part = idx[s0: s0 + chunk]
        WXn = sp.csc_matrix(X[:, part].multiply(w[:, None]))
        out[:, s0: s0 + part.size] = (XT.T @ WXn).toarray()
    return out


def take_rows(X, rows):
    """``X[rows]``; for a Fortran-ordered float64 X a Fortran-ordered copy, gathered
    column by column without the GIL (cross-validation folds gather in parallel)."""
    if isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2 \
            and X.flags.f_contiguous:
        from .kernels.moments import take_rows_fortran

        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= X.shape[0]):
            raise IndexError(f"row indices outside [0, {X.shape[0]})")
        out = np.empty((rows.size, X.shape[1]), order="F")
        take_rows_fortran(X, rows, out)
        return out
    return X[rows]


# ------------------------------------------------------------------ column moments
def _centred_sums(X, y, m, ybar):
    from .kernels.moments import shifted_sums_by_column

    p = X.shape[1]
    s1, s2, sxy = np.empty(p), np.empty(p), np.empty(p)
    # checked designs and take_rows blocks are Fortran-ordered already (no copy)
    shifted_sums_by_column(np.asfortranarray(X), np.ascontiguousarray(y, dtype=np.float64),
                           m, ybar, s1, s2, sxy)
    return m, ybar, s1, s2, sxy


# a fold's moment is recomputed from its own rows when its downdated value keeps less
# than this share of the full-data sum (the subtraction loses digits in that proportion)
_CANCELLATION = 1e-6


def live_moments(shared, X, y, held_rows, held_block):
    """Column moments over the rows not held out, each weighted ``1 / n_live``.

    With ``m``, ``ybar`` the full-data means, ``L`` the sums over live rows (full-data sums
    from ``shared`` minus the held-out rows' sums), ``c = 1 / n_live``,
    ``dx = c L[x - m]`` and ``dy = c L[y - ybar]``::

        xw_j  = m_j + dx_j                                   (live mean)
        var_j = c L[(x_j - m_j)^2] - dx_j^2                  (live variance)
        g_j   = c L[(x_j - m_j)(y - ybar)] - dx_j dy         (live covariance with y)

    Sums about the full-data means keep the subtraction exact to rounding; a column
    whose live variance keeps less than ``_CANCELLATION`` of its full-data sum (nearly
    constant on the live rows, e.g. an indicator whose ones are all held out) is
    recomputed directly from its live rows, so the constant-column test sees its true
    variance.

    Returns
    -------
    xw, var, g : ndarray (p,)
    ybar_live : float
    lo, hi : ndarray (p,)
        The live range of the recomputed columns (the only ones that can be constant on
        the live rows); ``-inf, inf`` for the others.
    """
    n, p = X.shape
    m, ybar, a1, a2, axy = shared.centred_sums(X, y)
    held_rows = np.asarray(held_rows)
    if held_rows.size:
        d1, d2, dxy, = _centred_sums(held_block, y[held_rows], m, ybar)[2:]
        l1, l2, lxy = a1 - d1, a2 - d2, axy - dxy
    else:
        l1, l2, lxy = a1, a2, axy
    live = np.ones(n, dtype=bool)
    live[held_rows] = False
    n_live = n - held_rows.size
    c = 1.0 / n_live
    y_live = y[live] if held_rows.size else y
    ybar_live = float(np.mean(y_live))
    dx = c * l1
    dy = ybar_live - ybar
    xw = m + dx
    var = c * l2 - dx * dx
    g = c * lxy - dx * dy
    redo = np.flatnonzero(var <= _CANCELLATION * c * a2)
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
    if redo.size:
        cols = X[:, redo][live] if held_rows.size else X[:, redo]
        lo[redo], hi[redo] = cols.min(axis=0), cols.max(axis=0)
        xw[redo] = cols.mean(axis=0)
        cols -= xw[redo]
        var[redo] = np.einsum("ij,ij->j", cols, cols) * c
        g[redo] = (cols.T @ (y_live - ybar_live)) * c
    np.maximum(var, 0.0, out=var)
    return xw, var, g, ybar_live, lo, hi

