"""glmnet's early stop along a path, for every solver (compiled or not).

The path stops after at least ``MIN_LAMS`` strengths when the deviance explained exceeds
``DEV_MAX`` (code 1) or its change between consecutive strengths falls below
``DEV_CHANGE`` while some penalised coefficient is free to move (code 2); code 0 means go
on. The change is measured as glmnet measures it for the family (its ``flat_relative``):
relative to the deviance explained for the gaussian, poisson and cox families, as a
fraction of the null deviance itself for the binomial and multinomial ones (glmnet 4.1's
``dev(m) - dev(m-1) < fdev``). A relative bar kept low-signal classification paths going
long after glmnet's had ended: on a tall 100,000 x 200 sparse binomial design, whose
deviance explained tops out at 0.026, 71 strengths against glmnet's 51, the last twenty
adding 5e-5 of the null deviance between them. The 10-fold CV's chosen strengths, minimum
and one standard error, stayed the same on 21 binomial and multinomial designs
(``benchmarks/early_stop_rules.py``). glmnet's poisson rule (``1e-4`` of the deviance
explained over four strengths) moved a tall poisson case's minimum three strengths, so the
poisson family keeps the relative bar of consecutive strengths.

A flat deviance says the fit has saturated only when a penalised coefficient is
non-zero and strictly inside its bounds (:func:`moving`): one held at a bound, or none yet
non-zero, leaves the deviance flat until the next feature enters, however far the path
has still to go (without this proviso, paths whose first feature entered at its bound
ended after five strengths). A solver may also stop the path when the
data are separated (code :data:`SEPARATED`: a class fitted perfectly, whose coefficients
would only grow as ``lam`` decreases; the solver's ``separated_class``). The compiled
gaussian drivers call :func:`early_stop_code` inside their loop, the Python path loop
calls the same function. A path's strengths that stopped short of their tolerance are
reported by :func:`warn_unconverged` (a :class:`ConvergenceWarning`).
"""

import numpy as np
from numba import njit

from ..user_warnings import warn_user
from .kernels.flags import FASTMATH, KERNEL

DEV_MAX = 0.999
DEV_CHANGE = 1e-5
MIN_LAMS = 5
RULES = (MIN_LAMS, DEV_MAX, DEV_CHANGE)
SEPARATED = 4
#: the path's monitor ended it (:attr:`~shrinkage.engine.contract.FitHints.monitor`)
MONITOR = 5


def moving(b, lo, hi, l1u, l2u):
    """Whether a penalised coefficient (``l1u_j > 0`` or ``l2u_j > 0``) is non-zero and
    strictly inside ``(lo_j, hi_j)``; ``b`` is ``(p,)`` or ``(p, K)`` (a feature's row of
    class coefficients)."""
    b = np.ravel(b)
    return moving_flat(b, b.size // lo.shape[0], lo, hi, l1u, l2u)


# a flat b, not b.reshape((p, -1)): the reshape compiled numba's error paths, 0.25 s of a
# first fit (and 0.18 s more in record_point, which links it)
@njit(**KERNEL, fastmath=False)
def moving_flat(b, K, lo, hi, l1u, l2u):
    """:func:`moving` for ``b`` of shape ``(p K,)`` (feature ``j``, class ``c`` at
    ``j K + c``)."""
    for j in range(lo.shape[0]):
        if l1u[j] == 0.0 and l2u[j] == 0.0:
            continue
        for c in range(K):
            v = b[j * K + c]
            if v != 0.0 and lo[j] < v < hi[j]:
                return True
    return False


@njit(**KERNEL, fastmath=FASTMATH)
def early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change, free):
    """glmnet's early stop after ``lam`` index ``k``: 0 go on, 1 or 2 (module docstring);
    ``free`` is :func:`moving` at the point.

    Never before ``min_lams`` points nor at the last one. The deviance explained never
    falls as ``lam`` decreases (the training loss of an exact path does not rise), so a
    fall larger than the rule's own threshold is a strength that failed, not a flat
    deviance: glmnet's rule (``change < dev_change * dev_ratio``) stopped there and named
    a saturated fit; the size of the change is compared instead, and the path goes on.
    """
    if k + 1 < min_lams or k + 1 >= n_lams:
        return 0
    if dev_ratio[k] > dev_max:
        return 1
    if free and abs(dev_ratio[k] - dev_ratio[k - 1]) < dev_change * dev_ratio[k]:
        return 2
    return 0


def path_stop_code(dev_ratio, k, n_lams, rules, b, lo, hi, l1u, l2u, relative=True):
    """:func:`early_stop_code` after path point ``k`` (``rules``: ``(min_lams, dev_max,
    dev_change)``), asking :func:`moving` of its coefficients ``b`` only where the answer
    decides: a flat deviance (code 2) ends a path only while a coefficient moves. The scan
    at every strength had cost a small logistic path 3.6 % of its time.

    ``relative`` False (the family's ``flat_relative``) compares the change with
    ``dev_change`` itself: the bar is then ``dev_change / dev_ratio[k]`` of the deviance
    explained, and at least the relative one (the deviance explained is at most 1)."""
    min_lams, dev_max, dev_change = rules
    if not relative and dev_ratio[k] > 0.0:
        dev_change = dev_change / dev_ratio[k]
    code = early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change, True)
    if code == 2 and not moving(b, lo, hi, l1u, l2u):
        return 0
    return code


def stop_reason(code, dev_ratio, lam, note="", relative=True):
    """The message for an early-stop code ("" for none); ``note`` is a solver's own,
    ``relative`` the family's ``flat_relative`` (:func:`path_stop_code`)."""
    if code == SEPARATED:
        return f"{note} at lam={lam:.4g}"
    if code == MONITOR:
        return f"the fit's monitor ended the path at lam={lam:.4g}{note and ': ' + note}"
    if code == 1:
        return f"deviance explained {dev_ratio:.4f} exceeds {DEV_MAX} at lam={lam:.4g}"
    if code == 2:
        return (f"deviance explained changed by less than {DEV_CHANGE:g}"
                f"{' (relative)' if relative else ''} at lam={lam:.4g}")
    return ""


@njit(**KERNEL, fastmath=FASTMATH)
def record_point(k, b, b0, dev, null_dev, certificate, sweeps, coefs, intercepts, dev_ratio,
                 cert, n_iter, early_stop, n_lams, min_lams, dev_max, dev_change, bounds):
    """Write path point ``k`` of a compiled gaussian driver; returns its early-stop code.

    ``dev`` is the weighted residual sum of squares, so the deviance explained is
    ``1 - dev / null_dev``; the code is :func:`early_stop_code`'s, 0 when ``early_stop``
    is off. ``bounds`` is ``(lo, hi, l1u, l2u)`` for :func:`moving`.
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
    lo, hi, l1u, l2u = bounds
    return early_stop_code(dev_ratio, k, n_lams, min_lams, dev_max, dev_change,
                           moving_flat(b, 1, lo, hi, l1u, l2u))


class ConvergenceWarning(UserWarning):
    """A path point did not reach its certificate tolerance."""


def warn_unconverged(family, converged, grid, cert, tol, max_iter, kind, cap="",
                      n_iter=None):
    """Warn of unconverged strengths, naming the limit that stopped them: ``max_iter``
    sweeps, the solver's own cap (``cap``, :meth:`Solver.cap_note`), or neither: a
    strength that stopped short of both (``n_iter``, its sweeps) had steps that no longer
    lowered its certificate (a ``tol`` below the rounding of the objective)."""
    if converged.all():
        return
    bad = np.flatnonzero(~converged)
    k0 = int(bad[0])
    where = (f"first at index {k0} (lam={grid[k0]:.4g}) with {kind} {cert[k0]:.2e} > tol "
             f"{tol:.1e}")
    if not cap and n_iter is not None and np.all(n_iter[bad] < max_iter):
        warn_user(
            f"{family} path: {bad.size} of {converged.size} lams did not converge; {where}, "
            f"stopped after {int(n_iter[k0])} of max_iter={max_iter} sweeps: its steps no "
            "longer lowered the certificate (is tol below the rounding of the objective?)",
            ConvergenceWarning)
        return
    limit = f"max_iter={max_iter}" + (f" ({cap})" if cap else "")
    warn_user(
        f"{family} path: {bad.size} of {converged.size} lams did not converge within "
        f"{limit}; {where}", ConvergenceWarning)
