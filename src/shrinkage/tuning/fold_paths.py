"""Fitting cross-validation's paths: the full-data ones, then every fold's, scored on its
held-out rows (:func:`run_paths`); fold paths that ended on their held-out loss
(:mod:`shrinkage.tuning.held_out_stop`) are fitted on where the curve has not risen for
good."""

from __future__ import annotations

import threading
import time

import numpy as np
from joblib import delayed

from ..engine.blas import SMALL_DESIGN
from ..engine.gram import take_rows
from ..model.cox import cox_index
from .cox_scores import cox_fold_scores
from .held_out_stop import (
    BATCH_MAX,
    PAST,
    HeldOutStop,
    curve_has_risen,
    may_overfit,
    monitored,
    past_limit,
    reached,
    score_seconds,
    worth_watching,
)
from .metrics import score_path
from .nonconvex import passed_on, with_notes
from .parallel import decided_by_work, parallel_map, shares_threads
from .summary import cv_summary

__all__ = ["run_paths"]


def fold_job_scores(design, y, train, test, options, metric, weight, offset, cox_idx=None,
                    stop_from=None, greater=False, score_cost=None, limit=None):
    """Fit one fold's whole path on ``train`` with the given ``lams``; score on ``test``
    (``cox_idx``: the Cox response's index, built once for every fold). Where
    ``stop_from`` is given, the path may end on its held-out loss from that many points on
    (:class:`~shrinkage.tuning.held_out_stop.HeldOutStop`, with ``score_cost``); where
    ``limit`` is given, it ends at ``limit()`` strengths once that is known. Returns
    ``(scores, stopped)``: ``stopped`` says the held-out loss ended the path."""
    monitors = []

    def watch(X_test):
        if stop_from is None:
            monitors.append(_Within(limit))
        else:
            monitors.append(HeldOutStop(
                metric, options.family, greater, y[test], X_test,
                None if weight is None else weight[test],
                None if offset is None else offset[test], stop_from, score_cost, limit))
        return monitors[0]

    path, X_test = design.fold_path(y, train, test, options, weight, offset,
                                    None if stop_from is None and limit is None else watch)
    # (the points of a last, unfilled batch are judged too: the same as one at a time)
    stopped = bool(monitors) and monitors[0].flush()
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
    if stopped:  # kept to where the rule fired, not where its batch ended: no timing decides
        scores[monitors[0].fired_at + 1:] = np.nan
    return scores, stopped


class _Within:
    """A fold's monitor that only ends its path at the full-data path's length."""

    batch = BATCH_MAX  # (a compiled driver asks it every few strengths)

    def __init__(self, limit):
        self.limit = limit

    def flush(self):
        return False

    def __call__(self, k, coef, intercept):
        return past_limit(self.limit, k)


class _GridSlot:
    """A full-data path's grid, handed from the worker thread fitting it to the folds'
    (:attr:`~shrinkage.engine.contract.FitHints.on_grid`), and its length once done."""

    def __init__(self):
        self._ready = threading.Event()
        self.grid = None
        self.n_lams = None

    def announce(self, grid):
        self.grid = np.asarray(grid)
        self._ready.set()

    def length(self):
        return self.n_lams

    def wait(self):
        self._ready.wait()
        if self.grid is None:
            raise RuntimeError("the full-data path failed before its grid was known")
        return self.grid

    def full_path(self, design, y, options):
        """The full-data path, announcing its grid on the way (and at its end, for a
        path that ends before it has one: an exact null model's)."""
        path = None
        try:
            path = design.path(y, options, on_grid=self.announce)
            return path
        finally:
            if path is not None:
                self.n_lams = path.n_lams
                if self.grid is None:
                    self.grid = np.asarray(path.lams)
            self._ready.set()  # (a failed path leaves grid None: the folds raise)

    def fold(self, design, y, train, test, options, *args):
        """:func:`fold_job_scores` on the announced grid, ended at the full path's
        length."""
        return fold_job_scores(design, y, train, test, options.replace(lams=self.wait()),
                               *args, limit=self.length)


def run_paths(setup, l1_ratios, n_jobs, backend):
    """Full-data paths and every (l1_ratio, repeat, fold) path, in parallel:
    ``(fulls, score_rows, stops)``, ``stops[i]`` the number of strengths of ``l1_ratios[i]``
    every fold reached where their held-out losses ended them
    (:mod:`~shrinkage.tuning.held_out_stop`), else None.

    The folds need the full-data ``lams``. Where the paths run in worker threads of this
    process (the default, on a design of more than ``SMALL_DESIGN`` entries), the folds
    start as soon as a full path's grid is known, beside it, and end at its length. A
    small design's full paths run first, timed: their cost decides between threads and
    the calling thread, and whether the folds are watched. Any other joblib backend runs
    the full paths first, or everything in one stage where the grid is given.
    """
    design = setup.design
    # every Cox fold is scored on the whole response: its risk-set index is built once
    cox_idx = cox_index(setup.y) if setup.family == "cox" else None
    watch = setup.held_out_stop and monitored(setup.family, setup.metric)
    specs = [(i, train, test) for i in range(len(l1_ratios))
             for splits in setup.folds.splits for train, test in splits]
    m = len(l1_ratios)
    size = design.shape[0] * design.shape[1]
    large = size > SMALL_DESIGN  # (else watched by a timing, below)
    watched = watch and large and may_overfit(*design.shape)
    per_score = None
    if watched or watch and not large:  # (the score's cost sets batches and the timing)
        _, train, test = specs[0]
        K = {"multinomial": None if setup.classes is None else len(setup.classes),
             "mgaussian": setup.y.shape[-1]}.get(setup.family)
        per_score = score_seconds(setup.metric, setup.family, setup.greater, setup.y[test],
                                  take_rows(design.X, test), design.shape[1], K)

    def full_options(a):
        return setup.options.replace(l1_ratio=a, sample_weight=setup.weight,
                                     offset=setup.offset, **setup.grid)

    def full_job(a):
        return delayed(with_notes)(design.path, setup.y, full_options(a))

    def fold_args(spec, start, grids=None):  # (no grid: the one its full path announces)
        i, train, test = spec
        options = setup.options.replace(l1_ratio=l1_ratios[i])
        if grids is not None:
            options = options.replace(lams=grids[i])
        return (design, setup.y, train, test, options, setup.metric, setup.weight,
                setup.offset, cox_idx, start if watched else None, setup.greater, per_score)

    def fold_job(spec, grids, start=0):
        return delayed(with_notes)(fold_job_scores, *fold_args(spec, start, grids))

    def again(jobs):  # refits of stopped folds: their share of the folds' expected work
        share = None if work is None else work * len(jobs) / len(specs)
        return passed_on(parallel_map(jobs, n_jobs, backend, size, share))

    work = None
    given = setup.grid.get("lams")
    if given is not None:
        given = np.atleast_1d(np.asarray(given, dtype=float))
    if not decided_by_work(n_jobs, backend, size):
        if given is not None:
            grids = [given] * m
            jobs = [full_job(a) for a in l1_ratios] + [fold_job(sp, grids) for sp in specs]
            out = passed_on(parallel_map(jobs, n_jobs, backend, size))
            return (out[:m], *_settle_held_out(setup, specs, grids, out[m:], fold_job, again))
        if shares_threads(n_jobs, backend):
            slots = [_GridSlot() for _ in l1_ratios]
            jobs = ([delayed(with_notes)(slot.full_path, design, setup.y, full_options(a))
                     for slot, a in zip(slots, l1_ratios)]
                    + [delayed(with_notes)(slots[sp[0]].fold, *fold_args(sp, 0))
                       for sp in specs])
            out = passed_on(parallel_map(jobs, n_jobs, backend, size))
            fulls = out[:m]
            grids = [np.asarray(f.lams) for f in fulls]
            folds = [_within_grid(res, grids[sp[0]].size) for sp, res in zip(specs, out[m:])]
            return (fulls, *_settle_held_out(setup, specs, grids, folds, fold_job, again))
    start, wall = time.thread_time(), time.perf_counter()
    fulls = passed_on(parallel_map([full_job(a) for a in l1_ratios], n_jobs, backend, size))
    # the folds' expected work: a full path's CPU time (this thread's, where they ran)
    work = (time.thread_time() - start) / m * setup.folds.n_repeats * setup.folds.n_folds
    if watch and not large:
        per_strength = (time.perf_counter() - wall) / sum(f.n_lams for f in fulls)
        watched = worth_watching(per_strength, per_score)
    grids = [given] * m if given is not None else [np.asarray(f.lams) for f in fulls]
    out = passed_on(parallel_map([fold_job(sp, grids) for sp in specs], n_jobs, backend,
                                 size, work))
    return (fulls, *_settle_held_out(setup, specs, grids, out, fold_job, again))


def _within_grid(result, n_lams):
    """A fold's ``(scores, stopped)`` fitted beside its full-data path, cut to that path's
    ``n_lams`` (it may have run past an early stop of the full path); a fold whose
    held-out loss ended it at or past that length did not end the curve."""
    scores, stopped = result
    scores = scores[:n_lams]
    return scores, stopped and reached(scores) < n_lams


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
