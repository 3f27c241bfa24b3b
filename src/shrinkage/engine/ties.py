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
    a missed one only leaves its split as the solver found it. On a sparse ``X`` the groups
    whose columns store the same rows (nearly all of them on text) are checked together,
    with the same arithmetic.

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
    by_first = np.argsort(rounded[:, 0], kind="stable")
    first = rounded[by_first, 0]
    dup = first[1:] == first[:-1]
    if not np.any(dup):
        # no two keys share their first part, so no group: the common case, and on a
        # few columns the sort and split below would cost more than the whole check
        return []
    # only keys whose first part recurs can be in a group; sorted (stably) by both parts
    # they fall in the order a sort of all keys gives them
    sub = by_first[np.r_[False, dup] | np.r_[dup, False]]
    order = sub[np.lexsort(rounded[sub].T[::-1])]
    r = rounded[order]
    starts = np.flatnonzero(np.r_[True, np.any(r[1:] != r[:-1], axis=1)])
    ends = np.r_[starts[1:], order.size]
    seg = np.repeat(np.arange(starts.size), ends - starts)
    member = cand[order]
    member = member[np.lexsort((member, seg))]  # each group's members in column order
    groups = [member[a:b] for a, b in zip(starts.tolist(), ends.tolist()) if b - a > 1]
    done = _one_pattern_groups(X, live, xm, groups) if sp.issparse(X) else [None] * len(groups)
    found = []
    for idx, subgroups in zip(groups, done):
        found.extend(_proportional(X, live, xm, idx) if subgroups is None else subgroups)
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


def _one_pattern_groups(X, live, xm, groups):
    """:func:`_proportional` of every candidate group of a sparse ``X`` whose columns store
    the same live rows, all at once: per group ``[(idx, t)]`` when all its columns are
    proportional to its first, ``None`` when it needs the column-by-column search.

    Power-law text has thousands of such groups (terms seen in the same one or two
    documents only), and the search's numpy calls per group cost more than the arithmetic.
    Here the centred columns of all groups are gathered in one pass into one buffer, each
    group's block laid out as :func:`_live_centred` lays it out, and only the two products
    that give ``t`` are taken per group, on that block, as :func:`_proportional` takes
    them: the groups and ``t`` are the same to the last bit.
    """
    out = [None] * len(groups)
    if not groups or not X.has_canonical_format:
        return out
    J = np.concatenate(groups)
    r = np.array([g.size for g in groups])
    gid = np.repeat(np.arange(r.size), r)
    head = np.r_[0, np.cumsum(r)[:-1]]
    # every stored entry of the members, member by member, then its live ones
    lens = X.indptr[J + 1] - X.indptr[J]
    member = np.repeat(np.arange(J.size), lens)
    E = np.arange(member.size) - np.repeat(np.cumsum(lens) - lens - X.indptr[J], lens)
    ind = X.indices[E]
    keep = live[ind]
    ind, dat, member = ind[keep], X.data[E[keep]], member[keep]
    cnt = np.bincount(member, minlength=J.size)
    off = np.cumsum(cnt) - cnt
    first = head[gid]  # each member's group's first member
    ok = cnt == cnt[first]
    pos = np.arange(member.size) - off[member]
    ref_at = np.where(ok[member], off[first[member]] + pos, 0)
    ok &= np.bincount(member, weights=ind != ind[ref_at], minlength=J.size) == 0
    fast = np.logical_and.reduceat(ok, head)
    # each group's block: rows (its pattern, plus the row standing for all others), r cols
    m = cnt[head]
    rows = m + (m < np.count_nonzero(live))
    size = rows * r
    boff = np.cumsum(size) - size
    negm = -xm[J]
    # every cell of every block: member ecol (column k of its block), row erow; its place
    # in the block laid out row by row (at_c) and column by column (at_f)
    ecol = np.repeat(np.arange(J.size), rows[gid])
    erow = np.arange(ecol.size) - np.repeat(np.cumsum(rows[gid]) - rows[gid], rows[gid])
    k = np.arange(J.size) - head[gid]
    g_e = gid[ecol]
    at_c = boff[g_e] + k[ecol] + r[g_e] * erow
    at_f = boff[g_e] + k[ecol] * rows[g_e] + erow
    buf = np.empty(size.sum())
    buf[at_c] = negm[ecol]  # -xm everywhere, then the stored entries on the pattern rows
    f = fast[gid][member]
    mm = member[f]
    buf[boff[gid[mm]] + k[mm] + r[gid[mm]] * pos[f]] = negm[mm] + dat[f]
    # _proportional multiplies by C[:, rest], a copy that numpy lays out column by column:
    # the same layout here, so that matmul takes the same BLAS route (and last bit)
    by_col = np.empty_like(buf)
    by_col[at_f] = buf[at_c]
    t = np.zeros(J.size)
    fast_g = np.flatnonzero(fast)
    for a, b, h, m_g, r_g in zip(*(v[fast_g].tolist() for v in (boff, boff + size, head, rows,
                                                                   r))):
        ref = buf[a:b].reshape(m_g, r_g)[:, 0]
        t[h:h + r_g] = ref @ by_col[a:b].reshape(r_g, m_g).T / (ref @ ref)
    # max |C - ref t| <= TIE_RTOL max |C|, column by column, as _proportional decides
    val = buf[at_c]
    refv = buf[boff[g_e] + r[g_e] * erow]
    big = np.zeros(J.size)
    dev = np.zeros(J.size)
    np.maximum.at(big, ecol, np.abs(val))
    np.maximum.at(dev, ecol, np.abs(val - refv * t[ecol]))
    all_same = np.logical_and.reduceat(dev <= TIE_RTOL * big, head) & fast
    for g, h, r_g in zip(*(v[all_same].tolist() for v in (np.arange(r.size), head, r))):
        out[g] = [(groups[g], t[h:h + r_g])]
    return out


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
    ends = np.cumsum([i.size for i, _ in found])
    starts = ends - [i.size for i, _ in found]
    n_same = np.add.reduceat(same.astype(np.intp), starts)
    ties = []
    for a, b, k in zip(starts.tolist(), ends.tolist(), n_same.tolist()):
        if k == b - a:
            ties.append((j[a:b], t[a:b]))
        elif k > 1:
            ties.append((j[a:b][same[a:b]], t[a:b][same[a:b]]))
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
    old = coefs[:, j]  # one gather (of scattered columns: the costly part on wide text)
    mean = np.add.reduceat(old * t, np.r_[0, np.cumsum(sizes)[:-1]], axis=1)
    mean /= sizes.reshape((1, -1) + (1,) * (coefs.ndim - 2))
    new = np.repeat(mean, sizes, axis=1) / t
    if xm is not None:
        intercepts += np.sum((old - new) * xm[j].reshape(t.shape), axis=1)
    coefs[:, j] = new
