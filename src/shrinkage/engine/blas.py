"""BLAS threads for small problems: one, whatever the process's default.

On a design of at most ``SMALL_DESIGN`` entries every dense product or solve the engine
hands to BLAS is small (a few hundred unknowns at most), and a multithreaded BLAS gains
nothing there while its spinning threads compete for the cores: a 600 x 80 three-class
multinomial cross-validation measured 21 s wall and 21 CPU s with one OpenBLAS thread
against 27 s and 44 CPU s with two on a 2-core machine. Folds running side by side in
threads limit BLAS the same way (:mod:`shrinkage.tuning.parallel`).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

__all__ = ["SMALL_DESIGN", "one_blas_thread"]

#: Entries of X at or below which a path's BLAS calls run in one thread (and a
#: cross-validation with ``n_jobs=None`` runs its folds in turn: a fold's path takes a
#: millisecond or two, less than starting and feeding worker threads)
SMALL_DESIGN = 100_000

_LIMIT_LOCK = threading.Lock()
_limit = {"depth": 0, "limiter": None, "controller": None, "modules": -1}


def _controller():
    """The process's thread-pool controller, rescanned only when modules were imported.

    Building one lists the loaded shared libraries from ``/proc/self/maps``: about 2 ms in
    a process that has compiled numba kernels, more than a whole small path. A native
    library is loaded by an import, so the scan is repeated only when ``sys.modules`` has
    grown since the last one (called under ``_LIMIT_LOCK``).
    """
    if _limit["controller"] is None or len(sys.modules) != _limit["modules"]:
        _limit["modules"] = len(sys.modules)
        _limit["controller"] = ThreadpoolController()
    return _limit["controller"]


def blas_limiter():
    """Set every BLAS library that runs more than one thread to one; returns the
    ``(library controller, original thread count)`` pairs to restore (empty when each
    already runs one: nothing to set, nothing to restore).

    Each library's own ``set_num_threads``, not ``ThreadpoolController.limit``: the
    limiter object also collects every library's info, 51 against about 21 us per small
    path on a 2-core machine with two OpenBLAS libraries loaded.
    """
    changed = []
    for lib in _controller().lib_controllers:
        if lib.user_api == "blas":
            before = lib.num_threads
            if before != 1:
                lib.set_num_threads(1)
                changed.append((lib, before))
    return changed


def restore(changed):
    """Give the libraries that :func:`blas_limiter` changed their thread counts back."""
    for lib, before in changed:
        lib.set_num_threads(before)


@contextmanager
def one_blas_thread():
    """BLAS limited to one thread while any caller, in any thread, is inside.

    threadpoolctl's limits are process-wide and each context restores what it found on
    entry, so two overlapping contexts in two threads would leave the process limited
    for good (the second saves the first's limit and restores it last). A count of the
    callers inside sets the limit on the first entry and restores the original on the
    last exit.
    """
    with _LIMIT_LOCK:
        if _limit["depth"] == 0:
            _limit["limiter"] = blas_limiter()
        _limit["depth"] += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _limit["depth"] -= 1
            if _limit["depth"] == 0:
                restore(_limit["limiter"])
                _limit["limiter"] = None
