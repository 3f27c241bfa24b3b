"""One nonconvexity warning per cross-validated fit, not one per path.

A cross-validation of MCP or SCAD fits the full-data path and one path per fold (per
``gamma`` on a grid); each path whose objective is not locally convex somewhere
(``shrinkage.engine.path.NonconvexWarning``, ncvreg's diagnostic) would warn on its
own -- eleven identical warnings for one 10-fold CV. :func:`one_nonconvex_warning` gathers
their notes while the CV runs (``shrinkage.engine.notes``) and issues one warning that
counts them. Other warnings are not touched. Nested uses (a CV inside a CV) add up: the
outer one issues the only warning.

Fold paths run in worker threads or processes gather their own notes and return them with
their scores (``shrinkage.tuning.cv.run_paths``), whatever the joblib backend; nothing
process-wide is changed, so cross-validations running side by side in threads each count
their own paths.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

from ..engine.notes import gathering_notes, is_gathering, pass_on
from ..engine.path import NonconvexWarning
from ..user_warnings import warn_user

__all__ = ["one_nonconvex_warning", "nonconvex_guard", "NonconvexSummary", "with_notes",
           "passed_on"]


class NonconvexSummary(NonconvexWarning):
    """The one warning of a cross-validated fit: ``n_paths`` of its paths were not
    locally convex somewhere (``first`` is the first path's own message)."""

    def __init__(self, message, n_paths, first):
        super().__init__(message)
        self.n_paths = int(n_paths)
        self.first = first


@contextmanager
def one_nonconvex_warning(what):
    """Gather the nonconvexity notes of every path fitted inside; issue one warning, at
    the user's line.

    Parameters
    ----------
    what : str
        The fit in words, e.g. ``"MCP cross-validation"`` (the warning starts with it).
    """
    with gathering_notes() as notes:
        yield
    count = sum(n for n, _ in notes)
    if not count:
        return
    first = notes[0][1]
    if is_gathering():  # inside another gathering fit: it issues the only warning
        pass_on([(count, first)])
        return
    text = (f"{what}: {count} of the fitted paths (full data and folds) are not "
            f"locally convex somewhere; each reports the local solution reached by warm "
            f"starts from lam_max. First: {first}")
    warn_user(NonconvexSummary(text, count, first))


def nonconvex_guard(penalty, what="cross-validation"):
    """:func:`one_nonconvex_warning` for ``penalty="mcp"`` or ``"scad"``, else a context
    that does nothing (convex penalties never warn, and their warnings keep their own
    once-per-location behaviour)."""
    if isinstance(penalty, str) and penalty.lower() in ("mcp", "scad"):
        return one_nonconvex_warning(f"{penalty.upper()} {what}")
    return nullcontext()


def with_notes(job, *args):
    """``(job(*args), notes)``: a worker's result with the nonconvexity notes of the paths
    it fitted (a worker thread or process does not share its caller's gathering)."""
    with gathering_notes() as notes:
        out = job(*args)
    return out, notes


def passed_on(results):
    """The results of :func:`with_notes` jobs; their notes go to the caller's gathering
    (a cross-validation's one warning), or are warned one by one outside one."""
    for _, notes in results:
        pass_on(notes)
    return [out for out, _ in results]
