"""glmnet's early stop along a path, for every solver (compiled or not).

The path stops after at least ``MIN_LAMS`` strengths when the deviance explained exceeds
``DEV_MAX`` (code 1) or its relative change between consecutive strengths falls below
``DEV_CHANGE`` (code 2); code 0 means go on. A solver may also stop the path when the
data are separated (code :data:`SEPARATED`: a class fitted perfectly, whose coefficients
would only grow as ``lam`` decreases; the solver's ``separated_class``). The compiled
gaussian drivers call :func:`early_stop_code` inside their loop, the Python path loop
calls the same function.
"""

from numba import njit

from .kernels.flags import KERNEL

DEV_MAX = 0.999
DEV_CHANGE = 1e-5
MIN_LAMS = 5
RULES = (MIN_LAMS, DEV_MAX, DEV_CHANGE)
SEPARATED = 4


@njit(**KERNEL)
def early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change):
    """glmnet's early stop after ``lam`` index ``k``: 0 go on, 1 or 2 (module docstring).

    Never before ``min_lams`` points nor at the last one.
    """
    if k + 1 < min_lams or k + 1 >= n_lams:
        return 0
    if dev_ratio[k] > dev_max:
        return 1
    if dev_ratio[k] - dev_ratio[k - 1] < dev_change * dev_ratio[k]:
        return 2
    return 0


def stop_reason(code, dev_ratio, lam, note=""):
    """The message for an early-stop code ("" for none); ``note`` is a solver's own."""
    if code == SEPARATED:
        return f"{note} at lam={lam:.4g}"
    if code == 1:
        return f"deviance explained {dev_ratio:.4f} exceeds {DEV_MAX} at lam={lam:.4g}"
    if code == 2:
        return (f"deviance explained changed by less than {DEV_CHANGE:g} (relative) "
                f"at lam={lam:.4g}")
    return ""


@njit(**KERNEL)
def record_point(k, b, b0, dev, null_dev, certificate, sweeps, coefs, intercepts, dev_ratio,
                 cert, n_iter, early_stop, n_lams, min_lams, dev_max, dev_change):
    """Write path point ``k`` of a compiled gaussian driver; returns its early-stop code.

    ``dev`` is the weighted residual sum of squares, so the deviance explained is
    ``1 - dev / null_dev``; the code is :func:`early_stop_code`'s, 0 when ``early_stop``
    is off.
    """
    # a loop: a slice copy would compile numba's string-formatting error path
    for j in range(b.shape[0]):
        coefs[k, j] = b[j]
    intercepts[k] = b0
    dev_ratio[k] = 1.0 - dev / null_dev if null_dev > 0.0 else 0.0
    cert[k] = certificate
    n_iter[k] = sweeps
    if not early_stop:
        return 0
    return early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change)
