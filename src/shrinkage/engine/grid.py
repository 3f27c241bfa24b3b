"""The strength grid of a path: the user's ``lams`` checked, or log-spaced from lam_max."""

from __future__ import annotations

import numpy as np

from ..validation import as_real_array, check_scalar

__all__ = ["strength_grid", "check_lams", "log_grid"]


def strength_grid(options, lam_max, n, p, n_lams, ends=None):
    """``(grid, user_given)``: the user's ``lams`` or ``n_lams`` log-spaced from lam_max
    (down to the df-based end ``ends[1]`` of a ridge grid, unless lam_min_ratio is set)."""
    if options.lams is not None:
        return check_lams(options.lams), True
    ratio = options.lam_min_ratio
    if ratio is None and ends is not None:
        ratio = min(max(ends[1] / ends[0], 1e-12), 0.5)
    if ratio is None:
        ratio = 1e-4 if n > p else 1e-2
    ratio = check_scalar(ratio, "lam_min_ratio", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    return lam_max * log_grid(np.log10(ratio), n_lams), False


def log_grid(end, n):
    """``10 ** t`` for ``n`` exponents ``t`` evenly spaced from 0 to ``end`` (both included).

    The same numbers as ``np.logspace(0.0, end, n)``, computed as it does (``t_k = k *
    (end / (n - 1))``, the last one ``end`` itself), without its generic broadcasting
    (about 8 us of a small path's set-up).
    """
    step = end / (n - 1) if n > 1 else 0.0
    if step == 0.0:
        return np.logspace(0.0, end, n)
    t = np.arange(n, dtype=np.float64)
    t *= step
    t[-1] = end
    return np.power(10.0, t)


#: The most strengths a path takes (its coefficients are kept for every one).
N_LAMS_MAX = 100_000


def check_lams(lams):
    """A user's strengths as a float64 array: 1-D, non-empty, finite, non-negative and
    strictly decreasing, or a ValueError naming what is wrong."""
    arr = as_real_array(lams, "lams")
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("lams must be a non-empty 1-D sequence of strengths")
    if not np.isfinite(arr).all():
        raise ValueError("lams contains NaN or inf")
    if (arr < 0).any():
        raise ValueError("lams has negative values; strengths must be >= 0")
    if arr.size > 1 and (arr[1:] >= arr[:-1]).any():
        raise ValueError("lams must be strictly decreasing (strongest first), without repeats")
    return arr.copy()
