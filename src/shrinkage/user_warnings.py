"""Warnings that point at the user's own line.

Python prints a warning with the file and line that ``stacklevel`` selects, and its
default filter shows a warning once per such location. Fixed ``stacklevel`` counts break
whenever a call takes a different route: the public ``shrinkage.regularization_path``
wraps the engine's (one frame more), a context manager warns from its exit (through
``contextlib``), cross-validation fits folds through joblib. With fixed counts every
warning of a public call named a line inside the package (``entry.py``). :func:`warn_user`
instead names the first frame outside the package, passing over ``contextlib``'s and
joblib's frames as well; a warning raised where no such frame exists (a fold fitted in a
worker thread) names the outermost frame.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import joblib

__all__ = ["warn_user", "user_stacklevel"]

_PASSED_OVER = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (__file__, joblib.__file__)
) + (os.path.abspath(contextlib.__file__),)

_seen: dict[str, bool] = {}


def _passed_over(filename):
    hit = _seen.get(filename)
    if hit is None:
        hit = _seen[filename] = os.path.abspath(filename).startswith(_PASSED_OVER)
    return hit


def user_stacklevel():
    """The ``stacklevel`` of the first frame outside the package, counted as
    ``warnings.warn`` counts it from the function that calls this one."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _passed_over(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message, category=UserWarning):
    """``warnings.warn(message, category)`` at the first frame outside the package."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
