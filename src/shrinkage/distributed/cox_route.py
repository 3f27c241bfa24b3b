"""``family="cox"`` on blocked data: the survival response in row blocks, the path and CV.

The response travels with X's row blocks as one ``(n, 4)`` array of columns ``start,
stop, event, stratum`` (``start = -inf`` without entry times), built from the in-memory
forms (``[time, event]``, ``[start, stop, event]``, a structured array) as NumPy or dask
arrays; ``strata`` are numeric labels (NumPy labels of any kind are coded in sorted
order). Bad times, events or strata are refused by block and row in the first pass.

Cross-validation: the full path, the fold paths in lockstep (``run_cox``), then scoring
passes for the Verweij & van Houwelingen deviance (``metric="deviance"``, as
:func:`shrinkage.cross_validate`): per fold and ``lam``, ``2 (L(b_f; all rows) -
L(b_f; training rows)) / W_f`` from the histograms ``S, D`` of the fit's linear
predictor over all rows and over the training rows (``deviance_block``), ``L`` minus
the log partial likelihood with the weights scaled to sum ``n`` (as in memory).
Harrell's and Uno's C compare every pair of held-out rows and are refused.
"""

from __future__ import annotations

import numpy as np

from ..model.cox import SURVIVAL_DTYPE, survival_response
from ..tuning.cv import path_options
from .blocks import block_data, reduce_blocks
from .cox_blocks import deviance_block, slot_terms
from .cox_fit import CoxFit, cox_family, fold_moments, run_cox, setup_pass

__all__ = ["cox_block_data", "cox_path", "cox_cross_validate", "SCORE_BYTES"]

#: Bytes of a scoring pass's per-block sums (``4 K T L_c`` floats): the ``lam``s are
#: scored ``L_c`` at a time, in as many passes as this needs.
SCORE_BYTES = 1 << 26


def _columns(y, strata, n):
    """The response as four columns (NumPy or dask vectors)."""
    import dask.array as da

    if isinstance(y, da.Array):
        if y.ndim != 2 or y.shape[1] not in (2, 3):
            raise ValueError(f"a dask survival y must have 2 columns [time, event] or 3 "
                             f"[start, stop, event], got shape {y.shape}")
        cols = [y[:, c].astype(float) for c in range(y.shape[1])]
        if len(cols) == 2:
            cols.insert(0, da.full(n, -np.inf, chunks=y.chunks[0]))
    else:
        arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if arr.dtype.names is not None:
            enc = arr if arr.dtype == SURVIVAL_DTYPE else survival_response(arr)
            cols = [enc["start"], enc["stop"], enc["event"]]
        else:
            if arr.ndim != 2 or arr.shape[1] not in (2, 3) or arr.dtype.kind not in "fiub":
                raise ValueError(f"survival y must have 2 numeric columns [time, event] or 3 "
                                 f"[start, stop, event], got shape {arr.shape}, dtype "
                                 f"{arr.dtype}")
            a = arr.astype(float)
            cols = ([np.full(a.shape[0], -np.inf)] if a.shape[1] == 2 else []) + list(a.T)
    if strata is None:
        cols.append(np.zeros(n))
    elif isinstance(strata, da.Array):
        cols.append(strata.astype(float))
    else:
        s = np.asarray(strata)
        if s.shape != (n,):
            raise ValueError(f"strata must have one label per row ({n}), got shape {s.shape}")
        cols.append(s.astype(float) if s.dtype.kind in "fiub"
                    else np.unique(s, return_inverse=True)[1].astype(float))
    return cols


def cox_block_data(X, y, strata, sample_weight, offset, folds, **kwargs):
    """``block_data`` with the survival response as its ``(n, 4)`` ``y`` blocks."""
    import dask.array as da

    n = int(X.shape[0])
    cols = _columns(y, strata, n)
    if any(int(c.shape[0]) != n for c in cols):
        raise ValueError(f"y and strata must have {n} rows (X's)")
    data = block_data(X, cols[1], sample_weight, offset, folds, **kwargs)
    chunks = data.X.chunks[0]
    dcols = [c.rechunk((chunks,)) if isinstance(c, da.Array) else
             da.from_array(np.ascontiguousarray(c, dtype=float), chunks=(chunks,))
             for c in cols]
    data.y = da.stack(dcols, axis=1).rechunk((chunks, (4,)))
    return data


def _split(kwargs):
    kwargs = dict(kwargs)
    strata, ties = kwargs.pop("strata", None), kwargs.pop("ties", None)
    return kwargs, strata, ties


def cox_path(X, y, *, block_rows=None, scheduler=None, progress=None, **path_kwargs):
    """The Cox path of :func:`shrinkage.distributed.regularization_path` (module
    docstring of :mod:`shrinkage.distributed.cox_fit`)."""
    kwargs, strata, ties = _split(path_kwargs)
    options = path_options("cox", kwargs)
    fam = cox_family(options, ties)
    data = cox_block_data(X, y, strata, options.sample_weight, options.offset, None,
                          block_rows=block_rows, scheduler=scheduler, progress=progress)
    total, grid = setup_pass(data)
    fit = CoxFit(fold_moments(total, np.array([0]), data.shift), options, data.n, -1, fam,
                 grid)
    run_cox(data, [fit], grid)
    path = fit.result
    path.extra["passes"] = data.passes
    return path


def _deviance_table(data, total, K, spec, grid, paths, L, efron):
    """The (K, L) table of held-out deviances (NaN past a fold's last point)."""
    table = np.full((K, L), np.nan)
    # weights summing to n, as the in-memory scores (the deviance depends on their scale)
    wscale = float(np.sum(total["rows"])) / float(np.sum(total["sw"]))
    chunk = max(1, SCORE_BYTES // (8 * 4 * K * grid.T))
    for l0 in range(0, L, chunk):
        coefs = {k: path.coefs[l0:l0 + chunk] for k, path in enumerate(paths)
                 if path.n_lams > l0}
        sums = reduce_blocks(data, deviance_block, spec, data.shift, grid, coefs, wscale)
        for k, B in coefs.items():
            loss = {}
            for part in ("all", "train"):
                sc = sums[f"{k}/{part}"]
                Wk, dk = sums[f"{k}/{part}_Wk"], sums[f"{k}/{part}_dk"]
                loss[part] = np.array([
                    slot_terms(sc.arrays["S"][:, j], sc.arrays["D"][:, j], Wk, dk, efron,
                               float(sc.c[j]))["loss"] for j in range(B.shape[0])])
                loss[part] -= sums[f"{k}/{part}_eta"]
            held = float(total["sw"][k]) * wscale
            table[k, l0:l0 + B.shape[0]] = 2.0 * (loss["all"] - loss["train"]) / held
    return table


def cox_cross_validate(X, y, cv, spec_of, finish, metric, rule, random_state, fold_by,
                       return_path, block_rows, scheduler, progress, path_kwargs):
    """The Cox route of :func:`shrinkage.distributed.cross_validate`: ``spec_of`` is its
    fold assignment (``fold_spec``) and ``finish`` builds its result."""
    if metric is None:
        metric = "deviance"
    if metric in ("c_index", "uno_c"):
        raise ValueError(f"metric={metric!r} compares every pair of held-out rows and is "
                         "not computed on blocked data; use metric='deviance'")
    if metric != "deviance":
        raise ValueError(f"metric {metric!r} does not fit the cox family on blocked data; "
                         "use 'deviance'")
    kwargs, strata, ties = _split(path_kwargs)
    weight, offset = kwargs.pop("sample_weight", None), kwargs.pop("offset", None)
    options = path_options("cox", {**kwargs, "sample_weight": weight, "offset": offset})
    fam = cox_family(options, ties)
    n = int(X.shape[0])
    spec, K, folds, ids = spec_of(cv, n, random_state, fold_by)
    data = cox_block_data(X, y, strata, weight, offset, folds, block_rows=block_rows,
                          scheduler=scheduler, progress=progress)
    total, grid = setup_pass(data, spec, K)
    for k in range(K):
        if not total["sw"][k] > 0:
            raise ValueError(f"fold {k} has no rows with positive weight; choose other folds")
        if not float(np.sum(np.delete(total["events_fold"], k))) > 0:
            raise ValueError(f"the training rows of fold {k} have no events; choose other "
                             "folds")
    full = CoxFit(fold_moments(total, np.arange(K), data.shift), options, n, -1, fam, grid)
    run_cox(data, [full], grid, spec)
    full = full.result
    fold_options = options.replace(lams=full.lams)
    fits = [CoxFit(fold_moments(total, np.arange(K) != k, data.shift), fold_options,
                   int(round(float(np.sum(np.delete(total["rows"], k))))), k, fam, grid,
                   share=K)
            for k in range(K)]
    run_cox(data, fits, grid, spec)
    paths = [f.result for f in fits]
    table = _deviance_table(data, total, K, spec, grid, paths, full.n_lams,
                            fam.ties == "efron")
    if weight is None:
        weights = np.asarray(total["rows"], dtype=float)
    else:
        weights = np.asarray(total["sw"], dtype=float) / float(np.sum(total["sw"])) * n
    res = finish(full, table, weights, metric, False, rule, ids, random_state,
                 {"family": "cox", "n_folds": K, "fold_by": spec[0], "passes": data.passes})
    full.extra["passes"] = data.passes
    return (res, full) if return_path else res
