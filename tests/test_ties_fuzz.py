"""The tie search on many random designs with planted ties gives the groups and ratios, to
the last bit, of the column-by-column search it replaced for sparse designs (kept below as
the reference, frozen): the batched check of one-pattern groups only cuts per-group calls."""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage.engine.ties import TIE_RTOL, find_ties


def _reference_ties(X, w, xm, excluded, l1u, l2u, lo, hi, xsq, projection):
    """The tie search as it was before the batched check: each candidate group is checked
    column by column (projection as given; ``xsq`` as given)."""
    live = w > 0
    cand = np.flatnonzero(~excluded)
    if cand.size < 2:
        return []
    xtu, usum = projection
    proj = xtu[cand] - np.outer(xm[cand], usum)
    norm = np.sqrt(xsq[cand])
    ok = norm > 0
    cand, proj, norm = cand[ok], proj[ok], norm[ok]
    key = proj / norm[:, None]
    key *= np.where(key[:, :1] < 0, -1.0, 1.0)
    rounded = np.round(key, 7)
    order = np.lexsort(rounded.T[::-1])
    r = rounded[order]
    starts = np.flatnonzero(np.r_[True, np.any(r[1:] != r[:-1], axis=1)])
    found = []
    for a, b in zip(starts, np.r_[starts[1:], order.size]):
        if b - a > 1:
            found.extend(_reference_proportional(X, live, xm, np.sort(cand[order[a:b]])))
    return _reference_penalty(found, l1u, l2u, lo, hi)


def _reference_proportional(X, live, xm, idx):
    if sp.issparse(X):
        parts = [slice(X.indptr[j], X.indptr[j + 1]) for j in idx]
        rows = np.unique(np.concatenate([X.indices[s] for s in parts]))
        rows = rows[live[rows]]
        C = np.repeat(-xm[idx][None, :], rows.size + 1, axis=0)
        for k, s in enumerate(parts):
            ind, dat = X.indices[s], X.data[s]
            keep = live[ind]
            C[np.searchsorted(rows, ind[keep]), k] += dat[keep]
        C = C if rows.size < np.count_nonzero(live) else C[:-1]
    else:
        C = X[:, idx][live] - xm[idx]
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


def _reference_penalty(found, l1u, l2u, lo, hi):
    def close(a, b):
        a, b = np.clip(a, -1e300, 1e300), np.clip(b, -1e300, 1e300)
        return np.abs(a - b) <= TIE_RTOL * np.maximum(np.abs(a), np.abs(b))

    ties = []
    for idx, t in found:
        j0 = idx[0]
        glo = np.where(t > 0, lo[idx] * t, hi[idx] * t)
        ghi = np.where(t > 0, hi[idx] * t, lo[idx] * t)
        same = (close(l1u[idx] / np.abs(t), l1u[j0]) & close(l2u[idx] / (t * t), l2u[j0])
                & close(glo, lo[j0]) & close(ghi, hi[j0]))
        if np.count_nonzero(same) > 1:
            ties.append((idx[same], t[same]))
    return ties


def _planted_design(rng, sparse):
    """A random design with planted ties: scaled and negated copies of rare columns (one to
    three stored rows, as rare terms), of common ones, near-copies within and beyond
    TIE_RTOL, columns sharing a pattern with other values, complementary dummies."""
    n = int(rng.integers(8, 120))
    p = int(rng.integers(6, 60))
    density = rng.choice([0.02, 0.1, 0.4])
    X = sp.random(n, p, density=density, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.choice([1.0, 2.0, rng.standard_normal()], size=k)
                  ).toarray()
    for _ in range(int(rng.integers(1, 12))):
        j, k = rng.integers(p, size=2)
        kind = rng.integers(6)
        if kind == 0:  # a rare column and its scaled copy
            X[:, j] = 0.0
            X[rng.choice(n, size=int(rng.integers(1, 4)), replace=False), j] = rng.random() + 0.5
            X[:, k] = X[:, j] * rng.choice([-3.0, 0.5, 2.0, 1.0])
        elif kind == 1:  # a scaled copy
            X[:, k] = X[:, j] * rng.choice([-1.0, 0.25, 7.0])
        elif kind == 2:  # a copy off by a relative 1e-12 (tied) or 1e-6 (not) in one entry
            X[:, k] = X[:, j]
            nz = np.flatnonzero(X[:, k])
            if nz.size:
                X[nz[0], k] *= 1.0 + rng.choice([1e-12, 1e-6])
        elif kind == 3:  # the same pattern, other values
            nz = X[:, j] != 0
            X[:, k] = np.where(nz, rng.standard_normal(n), 0.0)
        elif kind == 4:  # complementary dummies
            X[:, j] = rng.random(n) < 0.5
            X[:, k] = 1.0 - X[:, j]
        else:  # a copy with an entry on another row (same count, other pattern)
            X[:, k] = X[:, j]
            nz, z = np.flatnonzero(X[:, k]), np.flatnonzero(X[:, k] == 0)
            if nz.size and z.size:
                X[z[0], k], X[nz[0], k] = X[nz[0], k], 0.0
    return (sp.csc_matrix(X) if sparse else np.asfortranarray(X)), n, p


def _bits(groups):
    return [(i.tolist(), np.asarray(t, dtype=np.float64).view(np.int64).tolist())
            for i, t in groups]


@pytest.mark.parametrize("sparse", [True, False])
def test_tie_groups_match_the_column_by_column_search_to_the_bit(sparse):
    rng = np.random.default_rng(20261205)
    n_groups = 0
    for trial in range(300):
        X, n, p = _planted_design(rng, sparse)
        w = rng.random(n) + 0.1
        if trial % 3 == 1:
            w[rng.random(n) < 0.3] = 0.0  # rows outside the fit
        if not np.any(w > 0):
            w[0] = 1.0
        w /= w.sum()
        xm = np.asarray(X.T @ w).ravel()
        xsq = np.asarray((X.multiply(X) if sparse else X * X).T @ w).ravel() - xm**2
        xsq = np.maximum(xsq, 0.0)
        excluded = xsq <= 1e-14 * (1.0 + xm**2)
        scale = np.sqrt(np.where(excluded, 1.0, xsq)) if trial % 2 else np.ones(p)
        pf = np.where(rng.random(p) < 0.1, 2.0, 1.0)
        lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
        if trial % 5 == 0:
            lo[:] = 0.0  # non-negative coefficients: a negative ratio is not a tie
        live = w > 0
        U = rng.standard_normal((n, 2)) * live[:, None]
        projections = [(np.asarray(X.T @ U), U.sum(axis=0)),
                       (np.zeros((p, 2)), np.zeros(2))]  # every column one candidate group
        for proj in projections:
            args = (X, w, xm, excluded, pf * scale, pf * scale**2, lo, hi, xsq, proj)
            got = find_ties(*args)
            assert _bits(got) == _bits(_reference_ties(*args)), trial
            n_groups += len(got)
    assert n_groups > 300  # the planted ties were found, not only agreed on


def _stored_otherwise(X, rng, how):
    """``X`` (CSC) with explicit zeros stored on some rows (canonical, another pattern for
    the batched check), or its indices unsorted within each column (not canonical: the
    column-by-column search)."""
    X = X.copy()
    if how == "explicit zeros":
        rows = rng.random(X.shape[0]) < 0.3
        dense = X.toarray()
        stored = (dense != 0) | rows[:, None]
        r, c = np.nonzero(stored.T)  # column by column, rows sorted
        X = sp.csc_matrix((dense[c, r], c, np.r_[0, np.cumsum(stored.sum(axis=0))]),
                          shape=X.shape)
        assert X.has_canonical_format and np.any(X.data == 0)
    else:
        for j in range(X.shape[1]):
            s = slice(X.indptr[j], X.indptr[j + 1])
            X.indices[s], X.data[s] = X.indices[s][::-1].copy(), X.data[s][::-1].copy()
        X.has_sorted_indices = False
        assert not X.has_canonical_format
    return X


@pytest.mark.parametrize("how", ["explicit zeros", "unsorted indices"])
def test_tie_groups_on_other_stored_forms_match_the_reference(how):
    rng = np.random.default_rng(7)
    n_groups = 0
    for trial in range(60):
        X, n, p = _planted_design(rng, True)
        X = _stored_otherwise(X, rng, how)
        w = rng.random(n) + 0.1
        if trial % 2:
            w[rng.random(n) < 0.3] = 0.0
        if not np.any(w > 0):
            w[0] = 1.0
        w /= w.sum()
        xm = np.asarray(X.T @ w).ravel()
        xsq = np.maximum(np.asarray(X.multiply(X).T @ w).ravel() - xm**2, 0.0)
        excluded = xsq <= 1e-14 * (1.0 + xm**2)
        lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
        U = rng.standard_normal((n, 2)) * (w > 0)[:, None]
        args = (X, w, xm, excluded, np.ones(p), np.zeros(p), lo, hi, xsq,
                (np.asarray(X.T @ U), U.sum(axis=0)))
        got = find_ties(*args)
        assert _bits(got) == _bits(_reference_ties(*args)), trial
        n_groups += len(got)
    assert n_groups > 30
