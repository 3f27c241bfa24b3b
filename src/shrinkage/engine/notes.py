"""Where a path's nonconvexity note goes: a warning, or the fit that gathers it.

A path fitted alone reports that its MCP/SCAD objective is not locally convex with a
``NonconvexWarning``. A cross-validation fits eleven or more such paths and says so once
(:mod:`shrinkage.tuning.nonconvex`): it gathers the notes of its paths in a list held by a
context variable, not by intercepting warnings. ``warnings.catch_warnings`` swaps the
process's filters and its showing function for every thread, so two cross-validations
running side by side in threads each restored what the other had set: per-fold warnings
leaked, and an ``"always"`` filter stayed in the process for good. A context variable is
per thread (and per task), so concurrent fits keep their notes apart; work sent to other
threads or processes gathers its own (:func:`gathering_notes`) and returns them with its
result, for the caller to :func:`pass_on`.

A note is ``(n_paths, first)``: the number of paths it stands for and the first path's
message.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from ..user_warnings import warn_user

__all__ = ["report_nonconvex", "gathering_notes", "is_gathering", "pass_on"]

_NOTES = contextvars.ContextVar("shrinkage_nonconvex_notes", default=None)


def report_nonconvex(message):
    """Report one path's nonconvexity ``message``: to the notes being gathered in this
    context, else as a ``NonconvexWarning`` at the user's line."""
    notes = _NOTES.get()
    if notes is not None:
        notes.append((1, message))
        return
    from .path import NonconvexWarning  # (the warning's home; path imports this module)

    warn_user(message, NonconvexWarning)


def is_gathering():
    """Whether notes reported in this context are being gathered."""
    return _NOTES.get() is not None


@contextmanager
def gathering_notes():
    """Gather the notes reported inside (in this thread or task) into the list yielded,
    instead of warning; an enclosing gathering does not see them."""
    notes = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def pass_on(notes):
    """Add ``notes`` gathered elsewhere (a worker's) to this context's gathering, or warn
    for each if none is active (a note for several paths says how many)."""
    mine = _NOTES.get()
    for n_paths, first in notes:
        if mine is not None:
            mine.append((int(n_paths), first))
        elif n_paths == 1:
            report_nonconvex(first)
        else:
            report_nonconvex(f"{n_paths} paths are not locally convex somewhere; the "
                             f"first: {first}")
