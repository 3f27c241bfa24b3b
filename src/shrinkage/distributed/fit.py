"""``regularization_path`` on blocked data: the same signature and results as in memory.

Gaussian: one pass (``gaussian``). Binomial and poisson: one pass of moments, then
proximal Newton on a window of strengths, one step of each per pass (``newton``,
``path_window``); multinomial the same with ``K`` classes (``multinomial``). The result is the
:class:`~shrinkage.results.Path` that :func:`shrinkage.regularization_path` returns on the
same data in memory, to the certificate's tolerance; ``path.extra["passes"]`` counts the
passes over the data.
"""

from __future__ import annotations

import numpy as np

from ..tuning.cv import path_options
from .blocks import block_data, reduce_blocks
from .cox_route import cox_path
from .gaussian import gaussian_path
from .moments import Moments, moment_block, select
from .problem import check_family

__all__ = ["regularization_path", "moments_pass"]


def moments_pass(data, family, spec=None, n_groups=1):
    """The sums of ``moment_block`` over every block,
    one row per fold label (one pass)."""
    return reduce_blocks(data, moment_block, spec, n_groups, data.shift, data.y_shift,
                         family)


def regularization_path(X, y, family="gaussian", *, block_rows=None, scheduler=None,
                        progress=None, **path_kwargs):
    """:func:`shrinkage.regularization_path` for a design read in row blocks.

    Minimises, for each ``lam`` of the grid, the objective of the in-memory function::

        (1 / sum(w)) * sum_i w_i * loss(y_i, b0 + x_i . b + offset_i)
            + lam * sum_j pf_j * (l1_ratio * s_j |b_j| + (1 - l1_ratio) / 2 * s_j^2 b_j^2)

    from sums over row blocks: one pass for gaussian (the weighted Gram ``X^T W X``,
    ``X^T W y``, ``y^T W y``), and for binomial and poisson one pass per round of
    proximal Newton steps on a window of strengths (the loss and the gradient
    ``X^T (w (y - mu))`` at each strength's trial point, the IRLS Gram ``X^T V X`` at a
    few of them).

    Parameters
    ----------
    X : dask.array.Array, numpy.memmap, zarr array or ndarray of shape (n, p)
        Chunked by rows only; a non-dask array is read in blocks of ``block_rows`` rows
        with the synchronous scheduler.
    y, sample_weight, offset : array-like or dask arrays of length n
        ``y``: real (gaussian), 0/1 or proportions (binomial), counts (poisson).
    family : {"gaussian", "binomial", "poisson", "multinomial", "cox"}
        Multinomial: ``y`` holds class labels (any labels in a NumPy array, numbers in a
        dask array), ``offset`` has shape ``(n, K)``; see ``multinomial``.
        ``"cox"``: ``y`` is ``[time, event]`` or ``[start, stop, event]`` (``(n, 2)`` or
        ``(n, 3)``, NumPy or dask) or a structured array; ``ties`` and ``strata`` (one
        numeric label per row, NumPy or dask) as in memory
        (:mod:`shrinkage.distributed.cox_fit`).
    block_rows : int, optional
        Rows per block for a non-dask X.
    scheduler : str, optional
        Passed to :func:`dask.compute`; None uses the active client or dask's default.
    progress : callable, optional
        ``progress(pass_number, blocks_done, n_blocks)`` (in-process schedulers).
    **path_kwargs
        The keyword arguments of :func:`shrinkage.regularization_path` (the elastic net
        without groups; ``penalty`` must be ``"elasticnet"``), checked by name.

    Returns
    -------
    Path
        With ``extra["passes"]``, the number of passes over the data.
    """
    if family == "cox":  # risk sets: histograms over the event times (cox_route)
        return cox_path(X, y, block_rows=block_rows, scheduler=scheduler,
                        progress=progress, **path_kwargs)
    options = path_options(family, path_kwargs)
    if family == "multinomial":
        from .multinomial_cv import multinomial_path

        return multinomial_path(X, y, options, block_rows=block_rows, scheduler=scheduler,
                                progress=progress)
    check_family(options)
    data = block_data(X, y, options.sample_weight, options.offset, block_rows=block_rows,
                      scheduler=scheduler, progress=progress)
    total = moments_pass(data, family)
    mom = Moments(select(total, np.array([0])), data.shift, data.y_shift)
    if family == "gaussian":
        return gaussian_path(mom, options, data.n)
    from .newton import newton_path, run_fits

    fit = newton_path(mom, options, data.n, fold=-1, has_offset=options.offset is not None)
    run_fits(data, [fit])
    path = fit.result
    path.extra["passes"] = data.passes
    return path
