"""Tied features: columns a fit cannot tell apart, and the one solution chosen among them.

Two features are *tied* when, on the rows that carry weight, their centred columns are
proportional, ``x_k - xm_k = t_k (x_j - xm_j)`` with ``t_k != 0``, and their penalties
agree in the common direction. The loss sees only ``gamma = sum_k t_k b_k`` along that
direction; per unit of ``gamma_k = t_k b_k`` the penalty weights are ``l1u_k / |t_k|`` and
``l2u_k / t_k^2`` and the bounds ``t_k [lo_k, hi_k]``, and these must be equal across the
group (so ``standardize=False`` with columns of different scales is not a tie: the column
with the cheaper unit takes everything, uniquely).

With an L1 part and no ridge part, the optimum is then not unique: any split of ``gamma``
of one sign within the group is optimal. The training fit cannot see the difference, but
held-out predictions can, because the columns differ on rows the fit did not see (two
rare terms in the same training document, only one of them in a held-out document;
``student=Yes`` and ``student=No`` with an intercept). Cross-validation curves and the
deployed model would then depend on the order of the columns and on the solver's route.
Power-law text has dozens of such groups in every fold.

The chosen solution replaces each group's ``gamma_k`` by their mean (and moves the
intercept so that ``b0 + sum_k b_k xm_k`` is unchanged). Every fitted value on the weighted
rows stays the same. The penalty is convex and symmetric in the group's ``gamma_k``, so
by Jensen the objective does not rise, and the duality gap or KKT violation computed at the
solver's point still bounds the averaged one. The result is the minimum-norm
solution among the ties. It is the limit of the elastic net's unique solution as the
ridge part vanishes, and it does not depend on the order of the columns.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from .problem import column_moments

__all__ = ["find_ties", "average_ties", "SharedProjections", "TIE_RTOL"]

#: Relative tolerance of the proportionality and penalty checks. Columns closer than this
#: to proportional are treated as exactly tied (the fit cannot tell them apart either).
TIE_RTOL = 1e-10


def find_ties(X, w, xm, excluded, l1u, l2u, lo, hi, xsq=None, projection=None):
    """Groups of tied features: a list of ``(idx, t)`` with ``x_idx[k] - xm = t[k] (x_idx[0]
    - xm)`` on the rows with ``w > 0``, ``t[0] = 1``, and equal penalties per unit.

    Candidates come from two random projections of the centred, normalised columns; each
    candidate group is then checked column by column, so a false match is impossible and
    a missed one only leaves its split as the solver found it.

    ``xsq`` (``sum_i w_i (x_ij - xm_j)^2``, the fit's own) and ``projection`` (``(X^T U,
    sum_i U_i)`` over the rows with ``w > 0`` for a random ``(n, 2)`` draw ``U``, from
    :class:`SharedProjections`) spare the two passes over X when the caller has them; any
    draw serves, since candidates are only candidates.
    """
    live = w > 0
    cand = np.flatnonzero(~excluded)
    if cand.size < 2:
        return []
    if projection is None:
        U, usum = _draw(w.size)
        if live.all():
            projection = (np.asarray(X.T @ U), usum)
        else:
            U = np.where(live[:, None], U, 0.0)
            projection = (np.asarray(X.T @ U), U.sum(axis=0))
    xtu, usum = projection
    proj = xtu[cand] - np.outer(xm[cand], usum)
    if xsq is None:
        xsq = column_moments(X, w, xm)
    norm = np.sqrt(xsq[cand])  # proportional for tied columns
    ok = norm > 0
    cand, proj, norm = cand[ok], proj[ok], norm[ok]
    key = proj / norm[:, None]
    key *= np.where(key[:, :1] < 0, -1.0, 1.0)  # a column and its negative share a key
    rounded = np.round(key, 7)
    first = np.sort(rounded[:, 0])
    if not np.any(first[1:] == first[:-1]):
        # no two keys share their first part, so no group: the common case, and on a
        # few columns the sort and split below would cost more than the whole check
        return []
    order = np.lexsort(rounded.T[::-1])
    r = rounded[order]
    starts = np.flatnonzero(np.r_[True, np.any(r[1:] != r[:-1], axis=1)])
    found = []
    for a, b in zip(starts, np.r_[starts[1:], order.size]):
        if b - a > 1:
            found.extend(_proportional(X, live, xm, np.sort(cand[order[a:b]])))
    return _same_penalty(found, l1u, l2u, lo, hi)


# the last projection draw, (n, draws), with its column sums, as one tuple (replaced
# whole, so concurrent fits never pair one n's draw with another's sums): the same seeded
# draw serves every fit on n rows (cross-validation folds, repeated paths), so it is
# drawn once (a third of a small fit's tie search)
_LAST_DRAW = [None]


def _draw(n):
    """``(U, U.sum(axis=0))`` for ``U = default_rng(0).standard_normal((n, 2))``, both
    read-only, drawn once per ``n`` in a row."""
    last = _LAST_DRAW[0]
    if last is None or last[0].shape[0] != n:
        U = np.random.default_rng(0).standard_normal((n, 2))
        usum = U.sum(axis=0)
        U.setflags(write=False)
        usum.setflags(write=False)
        last = (U, usum)
        _LAST_DRAW[0] = last
    return last


def _projections(n):
    """``default_rng(0).standard_normal((n, 2))``, read-only (see :func:`_draw`)."""
    return _draw(n)[0]


class SharedProjections:
    """The tie search's projection ``X^T U`` of one design, computed once and shared by
    fits on subsets of its rows (cross-validation folds).

    ``U`` is the tie search's seeded draw on all ``n`` rows. A fit on the rows
    outside ``held`` uses ``U`` restricted to its rows, whose projection is the full one
    minus the held-out rows' part::

        X_live^T U_live = X^T U - X_held^T U_held,   sum U_live = sum U - sum U_held

    (one pass over the held-out block, which the fold gathers anyway, instead of one over
    X per fold). Whether the fit sees its rows by zero weights on ``X`` or as a copy of
    ``X[live]``, the projection is the same. Thread-safe; the cache does not travel to
    other processes (it is recomputed there).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._x = None
        self._xtu = None
        self._usum = None

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def live(self, X, held=None, X_held=None):
        """``(X_live^T U_live, sum_i U_live_i)`` for the rows of ``X`` outside ``held``
        (``X_held = X[held]``); ``held=None``: all rows."""
        with self._lock:  # concurrent folds wait for one product
            if self._x is not X:
                U, usum = _draw(X.shape[0])
                self._xtu, self._usum, self._x = np.asarray(X.T @ U), usum, X
            xtu, usum = self._xtu, self._usum
        if held is None or np.size(held) == 0:
            return xtu, usum
        Uh = _projections(X.shape[0])[held]
        return xtu - np.asarray(X_held.T @ Uh), usum - Uh.sum(axis=0)


def _proportional(X, live, xm, idx):
    """The subgroups of the candidate features ``idx`` whose centred live columns are
    proportional: ``(idx, t)`` pairs, ``t`` relative to the subgroup's first column."""
    C = _live_centred(X, live, xm, idx)
    size = np.max(np.abs(C), axis=0)
    found = []
    rest = np.arange(idx.size)
    while rest.size > 1:
        ref = C[:, rest[0]]
        t = ref @ C[:, rest] / (ref @ ref)
        same = np.max(np.abs(C[:, rest] - np.outer(ref, t)), axis=0) <= TIE_RTOL * size[rest]
        if np.count_nonzero(same) > 1:
            found.append((idx[rest[same]], t[same]))
        rest = rest[~same]
    return found


def _live_centred(X, live, xm, idx):
    """The centred columns ``idx`` on the live rows, as a dense array. For a sparse ``X``
    only the rows where some of them is stored are kept, plus one row standing for all
    the others (where every column equals ``-xm``): proportionality is decided the same."""
    if not sp.issparse(X):
        return X[:, idx][live] - xm[idx]
    parts = [slice(X.indptr[j], X.indptr[j + 1]) for j in idx]
    rows = np.unique(np.concatenate([X.indices[s] for s in parts]))
    rows = rows[live[rows]]
    C = np.repeat(-xm[idx][None, :], rows.size + 1, axis=0)
    for k, s in enumerate(parts):
        ind, dat = X.indices[s], X.data[s]
        keep = live[ind]
        C[np.searchsorted(rows, ind[keep]), k] += dat[keep]
    return C if rows.size < np.count_nonzero(live) else C[:-1]


def _same_penalty(found, l1u, l2u, lo, hi):
    """Keep, of each proportional group, the members that carry its first member's
    penalty per unit of the common direction (weights ``l1u / |t|``, ``l2u / t^2``,
    bounds ``t [lo, hi]``), when at least two do."""
    if not found:
        return []
    j = np.concatenate([i for i, _ in found])
    t = np.concatenate([tt for _, tt in found])
    first = np.repeat([i[0] for i, _ in found], [i.size for i, _ in found])
    glo = np.where(t > 0, lo[j] * t, hi[j] * t)  # t is finite and non-zero: no nan
    ghi = np.where(t > 0, hi[j] * t, lo[j] * t)
    at = np.abs(t)
    same = (_close(l1u[j] / at, l1u[first]) & _close(l2u[j] / (t * t), l2u[first])
            & _close(glo, lo[first]) & _close(ghi, hi[first]))
    ties = []
    for part_j, part_t, part_same in zip(*(np.split(a, np.cumsum([i.size for i, _ in found])[:-1])
                                           for a in (j, t, same))):
        if np.count_nonzero(part_same) > 1:
            ties.append((part_j[part_same], part_t[part_same]))
    return ties


def _close(a, b):
    """Equal to ``TIE_RTOL`` relatively (bounds beyond 1e300 count as infinite: equal)."""
    a = np.clip(a, -1e300, 1e300)
    b = np.clip(b, -1e300, 1e300)
    return np.abs(a - b) <= TIE_RTOL * np.maximum(np.abs(a), np.abs(b))


def average_ties(coefs, intercepts, ties, xm=None):
    """Replace each tied group's ``gamma_k = t_k b_k`` by its mean, in place, at every
    strength of a path.

    ``coefs``: (L, p) or (L, p, K); ``intercepts``: (L,) or (L, K); ``xm``: the column
    centres of the fit when it has an intercept (None otherwise), used to keep
    ``b0 + sum_j b_j xm_j`` and hence every fitted value unchanged.
    """
    if not ties:
        return
    j = np.concatenate([i for i, _ in ties])
    sizes = np.array([i.size for i, _ in ties])
    t = np.concatenate([tt for _, tt in ties]).reshape((1, -1) + (1,) * (coefs.ndim - 2))
    gamma = coefs[:, j] * t
    mean = np.add.reduceat(gamma, np.r_[0, np.cumsum(sizes)[:-1]], axis=1)
    mean /= sizes.reshape((1, -1) + (1,) * (coefs.ndim - 2))
    new = np.repeat(mean, sizes, axis=1) / t
    if xm is not None:
        intercepts += np.sum((coefs[:, j] - new) * xm[j].reshape(t.shape), axis=1)
    coefs[:, j] = new
