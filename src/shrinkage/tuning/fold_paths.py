"""Fitting cross-validation's paths: the full-data ones, then every fold's, scored on its
held-out rows (:func:`run_paths`); fold paths that ended on their held-out loss
(:mod:`shrinkage.tuning.held_out_stop`) are fitted on where the curve has not risen for
good."""

from __future__ import annotations

import time

import numpy as np
from joblib import delayed

from ..engine.blas import SMALL_DESIGN
from ..engine.gram import take_rows
from ..model.cox import cox_index
from .cox_scores import cox_fold_scores
from .held_out_stop import (
    PAST,
    HeldOutStop,
    curve_has_risen,
    monitored,
    reached,
    score_batch,
    score_seconds,
    worth_watching,
)
from .metrics import score_path
from .nonconvex import passed_on, with_notes
from .parallel import decided_by_work, parallel_map
from .summary import cv_summary

__all__ = ["run_paths"]


def fold_job_scores(design, y, train, test, options, metric, weight, offset, cox_idx=None,
                    stop_from=None, greater=False, batch=1):
    """Fit one fold's whole path on ``train`` with the given ``lams``; score on ``test``
    (``cox_idx``: the Cox response's index, built once for every fold). Where
    ``stop_from`` is given, the path may end on its held-out loss from that many points on
    (:class:`~shrinkage.tuning.held_out_stop.HeldOutStop`, scoring ``batch`` points at
    once). Returns ``(scores, stopped)``: ``stopped`` says the held-out loss ended the
    path."""
    monitors = []

    def watch(X_test):
        monitors.append(HeldOutStop(
            metric, options.family, greater, y[test], X_test,
            None if weight is None else weight[test],
            None if offset is None else offset[test], stop_from, batch))
        return monitors[0]

    path, X_test = design.fold_path(y, train, test, options, weight, offset,
                                    None if stop_from is None else watch)
    stopped = bool(monitors) and monitors[0].fired
    lams = np.asarray(options.lams)
    n_done = path.n_lams
    # (np.allclose's test with atol=0, without its broadcasting and NaN handling)
    if n_done > lams.size or not (np.abs(path.lams - lams[:n_done])
                                  <= 1e-12 * np.abs(lams[:n_done])).all():
        raise RuntimeError("the fold's path did not follow the requested lam grid")
    scores = np.full(lams.size, np.nan)
    if options.family == "cox":  # risk sets mix rows: scored from every row's eta
        eta = path.linear_predictor(design.X, offset=offset)
        scores[:n_done] = cox_fold_scores(metric, y, eta, weight, train, test,
                                          options.ties or "efron", cox_idx)
        return scores, stopped
    eta = path.linear_predictor(X_test, offset=None if offset is None else offset[test])
    w_te = None if weight is None else weight[test]
    scores[:n_done] = score_path(metric, options.family, y[test], eta, w_te)
    return scores, stopped


def run_paths(setup, l1_ratios, n_jobs, backend):
    """Full-data paths and every (l1_ratio, repeat, fold) path, in parallel:
    ``(fulls, score_rows, stops)``, ``stops[i]`` the number of strengths of ``l1_ratios[i]``
    every fold reached where their held-out losses ended them
    (:mod:`~shrinkage.tuning.held_out_stop`), else None.

    The folds need the full-data ``lams`` (or the full paths' cost, to choose threads for
    a small design), so the full paths run first; else everything runs in one stage.
    """
    design = setup.design
    # every Cox fold is scored on the whole response: its risk-set index is built once
    cox_idx = cox_index(setup.y) if setup.family == "cox" else None
    watch = setup.held_out_stop and monitored(setup.family, setup.metric)
    specs = [(i, train, test) for i in range(len(l1_ratios))
             for splits in setup.folds.splits for train, test in splits]

    def full_job(a):
        options = setup.options.replace(l1_ratio=a, sample_weight=setup.weight,
                                        offset=setup.offset, **setup.grid)
        return delayed(with_notes)(design.path, setup.y, options)

    def fold_job(spec, grids, start=0):
        i, train, test = spec
        return delayed(with_notes)(fold_job_scores, design, setup.y, train, test,
                                   setup.options.replace(l1_ratio=l1_ratios[i], lams=grids[i]),
                                   setup.metric, setup.weight, setup.offset, cox_idx,
                                   start if watched else None, setup.greater, batch)

    def again(jobs):  # refits of stopped folds: their share of the folds' expected work
        share = None if work is None else work * len(jobs) / len(specs)
        return passed_on(parallel_map(jobs, n_jobs, backend, size, share))

    m = len(l1_ratios)
    size = design.shape[0] * design.shape[1]
    work = None
    given = setup.grid.get("lams")
    if given is not None:
        given = np.atleast_1d(np.asarray(given, dtype=float))
        if not decided_by_work(n_jobs, backend, size):
            watched, batch = watch and size > SMALL_DESIGN, 1
            grids = [given] * m
            jobs = [full_job(a) for a in l1_ratios] + [fold_job(sp, grids) for sp in specs]
            out = passed_on(parallel_map(jobs, n_jobs, backend, size))
            return (out[:m], *_settle_held_out(setup, specs, grids, out[m:], fold_job, again))
    start, wall = time.thread_time(), time.perf_counter()
    fulls = passed_on(parallel_map([full_job(a) for a in l1_ratios], n_jobs, backend, size))
    # the folds' expected work: a full path's CPU time (this thread's, where they ran)
    work = (time.thread_time() - start) / m * setup.folds.n_repeats * setup.folds.n_folds
    watched, batch = False, 1
    if watch:
        _, train, test = specs[0]
        K = {"multinomial": None if setup.classes is None else len(setup.classes),
             "mgaussian": setup.y.shape[-1]}.get(setup.family)
        per_strength = (time.perf_counter() - wall) / sum(f.n_lams for f in fulls)
        per_score = score_seconds(setup.metric, setup.family, setup.greater, setup.y[test],
                                  take_rows(design.X, test), design.shape[1], K)
        watched = worth_watching(per_strength, per_score)
        batch = score_batch(per_strength, per_score)
    grids = [given] * m if given is not None else [np.asarray(f.lams) for f in fulls]
    out = passed_on(parallel_map([fold_job(sp, grids) for sp in specs], n_jobs, backend,
                                 size, work))
    return (fulls, *_settle_held_out(setup, specs, grids, out, fold_job, again))


def _settle_held_out(setup, specs, grids, out, fold_job, again):
    """``(score_rows, stops)`` from the fold jobs' ``(scores, stopped)``: where folds that
    ended on their held-out loss cut the curve before it has risen past its best for
    good (:func:`~shrinkage.tuning.held_out_stop.curve_has_risen`, each repeat's), those
    folds are fitted again, not to stop before the furthest any fold reached (at least
    ``PAST`` points further), and at the third try to the end of the grid."""
    R, F = setup.folds.n_repeats, setup.folds.n_folds
    per = R * F
    weights = setup.fold_weights()
    rows, stops = [], []
    for i, grid in enumerate(grids):
        block = list(out[i * per:(i + 1) * per])
        stop = None
        for attempt in range(3):
            reach = [reached(r) for r, _ in block]
            S, L = min(reach), np.size(grid)
            cut = [j for j in range(per) if block[j][1]]
            if not any(reach[j] == S for j in cut):
                break  # the curve ends where every fold's path ended by itself
            table = np.vstack([r for r, _ in block])[:, :S]
            if all(curve_has_risen(*cv_summary(table[r * F:(r + 1) * F],
                                               weights[r * F:(r + 1) * F]), setup.greater)
                   for r in range(R)):
                stop = S
                break
            target = L if attempt == 1 else min(L, max(max(reach), S + PAST))
            redo = [j for j in cut if reach[j] < target]
            for j, res in zip(redo, again([fold_job(specs[i * per + j], grids, target)
                                           for j in redo])):
                block[j] = res
        rows.extend(r for r, _ in block)
        stops.append(stop)
    return rows, stops
