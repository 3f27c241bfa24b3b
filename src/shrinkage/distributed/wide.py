"""``wide_path``: the gaussian elastic-net path of a wide design on disk.

For ``p`` far above ``n`` (biglasso's case: genomics, text), X is read by columns
(``wide_source``). One pass gives every column's weighted mean and scale and ``X^T y``
(``wide_stats``); the path is then solved on the candidate columns in memory
(``wide_solve``), every other column proven inactive at every strength by a gradient
bound or its exact gradient (``wide_screen``), with the columns read for screening kept
in a byte-bounded cache (``wide_cache``). A pass over all columns happens only when the
bound leaves too many columns uncertain, and once at the end (the exact KKT check of
every column at the last strength).

What must fit in memory: the ``n x |C|`` candidate columns of each fit, the cache
(``cache_bytes``), one block of columns (``BLOCK_BYTES``) and a few vectors of length
``p``.
"""

from __future__ import annotations

import numpy as np

from ..engine.path import check_options
from ..model.families import get_family
from ..model.penalties import RIDGE_LAM_MAX_RATIO
from ..tuning.cv import path_options
from ..validation import check_offset, check_sample_weight, check_target
from .gaussian import Y_MAGNITUDE
from .wide_cache import ColumnCache
from .wide_solve import NEED_PASS, WideFit
from .wide_source import open_columns
from .wide_stats import gradient_pass, stats_pass

__all__ = ["wide_path", "check_wide", "centred_responses", "run_lockstep"]


def check_wide(source, y, family, path_kwargs, block_cols):
    """``(source, y, options)`` checked for a wide fit (errors name the problem)."""
    if family != "gaussian":
        raise ValueError(f"family={family!r}: wide designs on disk are fitted for the "
                         "gaussian family only (the lasso and elastic net)")
    options = path_options("gaussian", path_kwargs)
    if options.penalty != "elasticnet" or options.feature_groups is not None:
        raise ValueError("wide designs on disk are fitted with penalty='elasticnet' and no "
                         "feature_groups")
    if not options.l1_ratio >= RIDGE_LAM_MAX_RATIO:
        raise ValueError(f"l1_ratio={options.l1_ratio!r}: screening needs an L1 part "
                         f"(l1_ratio >= {RIDGE_LAM_MAX_RATIO}); a ridge keeps every column")
    src = open_columns(source, block_cols)
    n, p = src.shape
    fam = get_family("gaussian")
    check_options(options, fam, p)  # tol, max_iter, names... refused before any pass
    yv, _ = fam.prepare_target(check_target(y, n))
    if not np.all(np.isfinite(yv)):
        raise ValueError("y holds NaN or infinity")
    return src, yv, options


def centred_responses(y, offset, W, intercept):
    """``(n, F)`` responses ``y - offset`` centred by each column of weights ``W``."""
    r = y if offset is None else y - offset
    if r.size and not (np.max(np.abs(r)) == 0.0
                       or Y_MAGNITUDE[0] <= np.max(np.abs(r)) <= Y_MAGNITUDE[1]):
        raise ValueError(f"max |y - offset| is {np.max(np.abs(r)):.3g}: outside [1e-30, "
                         "1e30]; rescale y before fitting a wide design")
    if not intercept:
        return np.repeat(r[:, None], W.shape[1], axis=1)
    return r[:, None] - (W * r[:, None]).sum(axis=0)


def _send(gen, value):
    try:
        return gen.send(value)
    except StopIteration:
        return None


def run_lockstep(source, fits, hook=None):
    """Advance ``fits`` (``WideFit``) together.

    Each fit runs until it needs a pass or reaches a barrier; when any needs a pass, one
    pass computes the exact gradients of **every** live fit (those waiting at a barrier
    refresh their checkpoint for free); when all wait at a barrier, ``hook(fits)`` runs
    and all go on.
    """
    gens = [f.steps() for f in fits]
    state = [_send(g, None) for g in gens]
    alive = [i for i, s in enumerate(state) if s is not None]
    while alive:
        if any(state[i] == NEED_PASS for i in alive):
            vecs = [fits[i].pass_vectors() for i in alive]
            XM = np.vstack([np.tile(fits[i].st.xm, (v.shape[1], 1))
                            for i, v in zip(alive, vecs)])
            G = gradient_pass(source, np.column_stack(vecs), XM)
            del XM
            row = 0
            for i, v in zip(alive, vecs):
                rows = np.where(fits[i].st.cand, G[row:row + v.shape[1]], 0.0)
                row += v.shape[1]
                fits[i].receive(rows)
                if state[i] == NEED_PASS:
                    state[i] = _send(gens[i], rows[0])
        else:
            if hook is not None:
                hook(fits)
            for i in alive:
                state[i] = _send(gens[i], None)
        alive = [i for i in alive if state[i] is not None]


def wide_path(source, y, family="gaussian", *, block_cols=None, cache_bytes=None,
              **path_kwargs):
    """:func:`shrinkage.regularization_path` (gaussian) for a wide design read by columns.

    Minimises, for each ``lam`` of the grid::

        1/2 sum_i w_i (y_i - offset_i - b0 - x_i . b)^2
            + lam * sum_j pf_j * (l1_ratio * s_j |b_j| + (1 - l1_ratio) / 2 * s_j^2 b_j^2)

    (``w`` summing to one) with the grid, standardization, certificate and early stop of
    the in-memory path, reading only the columns that screening cannot rule out.

    Parameters
    ----------
    source : array, str or path, list, or ColumnSource
        The ``(n, p)`` design stored by columns: a column-major ``numpy.memmap`` or
        ``.npy`` file, a zarr array chunked by columns, a folder or list of ``.npy``
        column blocks (:func:`~shrinkage.distributed.open_columns`).
    y : array-like of shape (n,)
    family : {"gaussian"}
    block_cols : int, optional
        Columns per block of a pass (default: 64 MiB of float64).
    cache_bytes : int, optional
        Budget of the cache of columns read for screening (default 256 MiB).
    **path_kwargs
        The keyword arguments of :func:`shrinkage.regularization_path` (``l1_ratio`` at
        least ``1e-3``, ``lams``, ``n_lams``, ``penalty_factor``, ``lower``, ``upper``,
        ``standardize``, ``fit_intercept``, ``sample_weight``, ``offset``, ``tol``, ...).

    Returns
    -------
    Path
        The in-memory result type; ``extra["wide"]`` holds the passes over the columns,
        the columns read outside passes (``columns_read``), the candidates and uncertain
        columns per strength, and the final exact KKT check over every column
        (``final_violators``, ``final_kkt``: the largest violation in standardized
        units).
    """
    kwargs = dict(path_kwargs)
    weight, offset = kwargs.pop("sample_weight", None), kwargs.pop("offset", None)
    src, yv, options = check_wide(source, y, family, kwargs, block_cols)
    n = src.shape[0]
    w = check_sample_weight(weight, n)
    uniform = w is None or np.unique(w).size == 1
    w = np.full(n, 1.0 / n) if w is None else w
    offset = check_offset(offset, n)
    W = w[:, None]
    yc = centred_responses(yv, offset, W, bool(options.fit_intercept))
    cache = ColumnCache(src, cache_bytes)
    stats = stats_pass(src, W, yc, bool(options.fit_intercept))
    fit = WideFit(cache, yv, w, uniform, offset, options, {k: v[0] for k, v in stats.items()},
                  yc[:, 0])
    run_lockstep(src, [fit])
    return fit.path(src.passes, {"cache_peak_bytes": cache.peak_bytes,
                                 "cache_hits": cache.hits, "cache_misses": cache.misses})
