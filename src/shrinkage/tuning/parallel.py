"""Running independent fits side by side: threads by default, any joblib backend on demand.

Folds run through :class:`joblib.Parallel` with ``prefer="threads"``: the numba kernels
release the GIL, so threads share ``X`` without copying it to other processes.
``n_jobs=None`` uses every core, except that a small design (at most 100,000 entries,
where a fold takes a millisecond or two) runs its folds in the calling thread: starting
threads would cost more than it saves. Any joblib backend works, selected either with the
``backend=`` argument or a context manager (``joblib.parallel_config(backend="dask")``).
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, effective_n_jobs, parallel_config

from ..engine.blas import SMALL_DESIGN, one_blas_thread

__all__ = ["SMALL_DESIGN", "one_blas_thread", "parallel_map"]



def parallel_map(tasks, n_jobs, backend, size=None):
    """Run joblib ``delayed`` tasks in order: threads, a named backend, or the active one.

    ``size`` (entries of X) lets ``n_jobs=None`` stay in the calling thread for small
    designs when no joblib backend has been chosen (by argument or context manager).
    """
    if (n_jobs is None and backend is None and size is not None and size <= SMALL_DESIGN
            and not _backend_chosen()):
        n_jobs = 1
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
