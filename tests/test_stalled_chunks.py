"""Coordinate descent between exact active-set steps gets room for its extrapolation.

The dense gaussian driver alternates chunks of sweeps (5 to 50, about the cost of one
exact step) with exact steps on the active set. Where the steps cannot settle it (the kept
factor refuses one column of a near-duplicate pair), chunks of 5 sweeps never held the
1 + 5 sweeps Anderson extrapolation needs, and coordinate descent crawled at the pair's
rate: 6,287 sweeps at one strength of a 300 x 2,000 path of pairs at correlation 0.9999
(glmnet took 5.7 times less time on the whole path). After ``STALL_CHUNKS`` chunks of a
strength ran out, chunks hold at least ``CHUNK_ANDERSON`` sweeps and double.
"""

import numpy as np

from shrinkage import regularization_path
from shrinkage.engine.kernels.active_set import (
    CHUNK_ANDERSON,
    CHUNK_MAX,
    STALL_CHUNKS,
    stalled_chunk,
)


def test_chunks_grow_only_after_repeated_stalls():
    for chunk in (5, 12, CHUNK_MAX):
        for s in range(STALL_CHUNKS):
            assert stalled_chunk(chunk, s) == chunk  # the usual route is unchanged
        assert stalled_chunk(chunk, STALL_CHUNKS) == max(chunk, CHUNK_ANDERSON)
        assert stalled_chunk(chunk, STALL_CHUNKS + 3) == 8 * max(chunk, CHUNK_ANDERSON)
    assert stalled_chunk(5, 100) == CHUNK_ANDERSON << 8  # bounded


def test_near_duplicate_pairs_do_not_crawl():
    rng = np.random.default_rng(44)
    n, p0 = 300, 1000
    Z = rng.standard_normal((n, p0))
    noise = np.sqrt(1 / 0.9999**2 - 1)  # columns j and j + 1000 at correlation 0.9999
    X = np.asfortranarray(np.hstack([Z, Z + noise * rng.standard_normal((n, p0))]))
    y = Z[:, :10].sum(1) + rng.standard_normal(n)
    path = regularization_path(X, y)
    assert path.converged.all()
    # 7,994 sweeps in all, 6,287 at one strength, before; 2,907 and 955 after
    assert path.n_iter.max() <= 2000 and path.n_iter.sum() <= 4000
    # the certified points are the exact ones: a tight path through the same strengths
    tight = regularization_path(X, y, lams=path.lams, tol=1e-10)
    dev = np.abs(path.dev_ratio - tight.dev_ratio)
    assert dev.max() <= 1e-3
