"""Running independent fits side by side: threads by default, any joblib backend on demand.

Folds run through :class:`joblib.Parallel` with ``prefer="threads"``: the numba kernels
release the GIL, so threads share ``X`` without copying it to other processes.
``n_jobs=None`` uses every core, except that a small design (at most 100,000 entries)
whose tasks together are expected to take less than :data:`MIN_THREADED_WORK` runs them
in the calling thread: a gaussian fold there takes a millisecond or two, less than
starting and feeding worker threads. The caller may pass that expectation (``work``);
cross-validation measures it on its full-data path, which is what lets a small logistic
cross-validation (a fold path of 10-50 ms, 40-80% of it in kernels that release the GIL)
use every core. Any joblib backend works, selected either with the
``backend=`` argument or a context manager (``joblib.parallel_config(backend="dask")``).
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, effective_n_jobs, parallel_config

from ..engine.blas import SMALL_DESIGN, one_blas_thread

__all__ = ["MIN_THREADED_WORK", "SMALL_DESIGN", "decided_by_work", "one_blas_thread",
           "parallel_map", "shares_threads"]

#: Expected CPU seconds of a batch of tasks on a small design at or above which
#: ``n_jobs=None`` runs them in worker threads: starting and feeding the threads (and
#: limiting BLAS to one thread) cost about 5-10 ms of CPU, measured on 10-fold
#: cross-validations of 100-strength paths on 2 cores.
MIN_THREADED_WORK = 0.05


def parallel_map(tasks, n_jobs, backend, size=None, work=None):
    """Run joblib ``delayed`` tasks in order: threads, a named backend, or the active one.

    ``size`` (entries of X) lets ``n_jobs=None`` stay in the calling thread for small
    designs when no joblib backend has been chosen (by argument or context manager);
    ``work``, the tasks' expected CPU seconds in all, overrules that for a small design
    when it is at least :data:`MIN_THREADED_WORK`.
    """
    if n_jobs is None and backend is None and _stays_in_thread(size, work):
        # in order in the calling thread, as joblib's sequential backend runs them, without
        # its dispatch (about 0.1 ms per call of Parallel, 10% of a small gaussian fold)
        return [fn(*args, **kwargs) for fn, args, kwargs in tasks]
    n_jobs = _check_n_jobs(n_jobs)
    if backend is None:
        tasks = list(tasks)
        if len(tasks) > 1 and effective_n_jobs(n_jobs) > 1:
            # Folds already run side by side: BLAS threads on top would oversubscribe the
            # cores (and OpenBLAS's spinning threads then slow every product down).
            with one_blas_thread():
                return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
        return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
    # A backend named through parallel_config rather than Parallel(backend=...): joblib 1.6
    # hands the dask backend a stray ``nesting_level`` keyword on the latter path. Parallel
    # resolves its backend when constructed, so it is built inside the context.
    with parallel_config(backend=backend):
        return Parallel(n_jobs=n_jobs, prefer="threads")(tasks)


def decided_by_work(n_jobs, backend, size):
    """Whether :func:`parallel_map` would choose between the calling thread and worker
    threads by the tasks' expected ``work``: ``n_jobs=None``, no joblib backend chosen
    (by argument or context manager) and a small design (``size`` entries)."""
    return (n_jobs is None and backend is None and size is not None
            and size <= SMALL_DESIGN and not _backend_chosen())


def shares_threads(n_jobs, backend):
    """Whether :func:`parallel_map` runs tasks in several worker threads of this process
    (so that a task may wait for another's result): no joblib backend chosen, by argument
    or context manager, and more than one worker."""
    return (backend is None and not _backend_chosen()
            and effective_n_jobs(_check_n_jobs(n_jobs)) > 1)


def _stays_in_thread(size, work):
    """Whether ``n_jobs=None`` runs tasks of this design ``size`` and expected CPU
    seconds ``work`` in the calling thread (small, light, and no backend chosen)."""
    if size is None or size > SMALL_DESIGN:
        return False
    if work is not None and work >= MIN_THREADED_WORK:
        return False
    return not _backend_chosen()


def _backend_chosen():
    """True inside a joblib context that sends work elsewhere (Dask, Ray, ...).

    A context naming joblib's own local backends cannot be told apart from the default;
    for a small design the folds then run in the calling thread, with identical results.
    """
    from joblib.parallel import get_active_backend

    active, _ = get_active_backend()
    return type(active).__name__ not in ("LokyBackend", "ThreadingBackend",
                                         "SequentialBackend", "MultiprocessingBackend")


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return -1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    return int(n_jobs)
