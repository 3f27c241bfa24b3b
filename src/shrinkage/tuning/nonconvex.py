"""One nonconvexity warning per cross-validated fit, not one per path.

A cross-validation of MCP or SCAD fits the full-data path and one path per fold (per
``gamma`` on a grid); each path whose objective is not locally convex somewhere
(``shrinkage.engine.path.NonconvexWarning``, ncvreg's diagnostic) would warn on its
own -- eleven identical warnings for one 10-fold CV. :func:`one_nonconvex_warning` gathers
them while the CV runs and issues one that counts them. Other warnings pass through
unchanged. Nested uses (a CV inside a CV) add up: the outer one issues the only warning.

Warnings raised in worker *threads* are gathered too (Python's warning state is
process-wide); a joblib backend running folds in other processes keeps theirs there.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext

from ..engine.path import NonconvexWarning

__all__ = ["one_nonconvex_warning", "nonconvex_guard", "NonconvexSummary"]


class NonconvexSummary(NonconvexWarning):
    """The one warning of a cross-validated fit: ``n_paths`` of its paths were not
    locally convex somewhere (``first`` is the first path's own message)."""

    def __init__(self, message, n_paths, first):
        super().__init__(message)
        self.n_paths = int(n_paths)
        self.first = first


@contextmanager
def one_nonconvex_warning(what, stacklevel=3):
    """Gather the ``NonconvexWarning`` of every path fitted inside; issue one.

    Parameters
    ----------
    what : str
        The fit in words, e.g. ``"MCP cross-validation"`` (the warning starts with it).
    stacklevel : int
        Passed to ``warnings.warn`` for the summary.
    """
    with warnings.catch_warnings(record=True) as caught:
        # every NonconvexWarning is recorded (none lost to the once-per-location registry);
        # other warnings go through the filters in force, as they would have
        warnings.simplefilter("always", NonconvexWarning)
        yield
    count, first, registry = 0, None, {}
    for w in caught:
        if not issubclass(w.category, NonconvexWarning):  # shown once per text and place
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   registry=registry)
            continue
        msg = w.message
        count += msg.n_paths if isinstance(msg, NonconvexSummary) else 1
        if first is None:
            first = msg.first if isinstance(msg, NonconvexSummary) else str(msg)
    if count:
        text = (f"{what}: {count} of the fitted paths (full data and folds) are not "
                f"locally convex somewhere; each reports the local solution reached by warm "
                f"starts from lam_max. First: {first}")
        warnings.warn(NonconvexSummary(text, count, first), stacklevel=stacklevel)


def nonconvex_guard(penalty, what="cross-validation", stacklevel=4):
    """:func:`one_nonconvex_warning` for ``penalty="mcp"`` or ``"scad"``, else a context
    that does nothing (convex penalties never warn, and their warnings keep their own
    once-per-location behaviour)."""
    if isinstance(penalty, str) and penalty.lower() in ("mcp", "scad"):
        return one_nonconvex_warning(f"{penalty.upper()} {what}", stacklevel)
    return nullcontext()
