"""The public fitting entry points: in memory, or block by block for data larger than it.

:func:`regularization_path` and :func:`cross_validate` are the engine's and tuning's
functions of the same names (same signature, same documentation), except that a design
held as a dask array (or a dask array response) is routed to
:mod:`shrinkage.distributed`, which fits it exactly from passes over its row blocks
without loading it. Other inputs, ``numpy.memmap`` included, are fitted in memory; pass a
memory map larger than memory to :func:`shrinkage.distributed_path` explicitly.
"""

from __future__ import annotations

import functools

from .engine import path as engine_path
from .tuning import cv as tuning_cv

__all__ = ["regularization_path", "cross_validate", "is_blocked"]


def is_blocked(a):
    """Whether ``a`` is a dask collection (fitted block by block)."""
    return type(a).__module__.partition(".")[0] == "dask"


@functools.wraps(engine_path.regularization_path)
def regularization_path(X, y, *args, **kwargs):
    if is_blocked(X) or is_blocked(y):
        from .distributed.fit import regularization_path as blocked_path

        return blocked_path(X, y, *args, **kwargs)
    return engine_path.regularization_path(X, y, *args, **kwargs)


@functools.wraps(tuning_cv.cross_validate)
def cross_validate(X, y, *args, **kwargs):
    if is_blocked(X) or is_blocked(y):
        from .distributed.cv import cross_validate as blocked_cv

        return blocked_cv(X, y, *args, **kwargs)
    return tuning_cv.cross_validate(X, y, *args, **kwargs)
