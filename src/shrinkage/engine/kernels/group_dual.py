"""Per-group reductions of the group solver's duality gap (numba, plain arrays).

The gap of a group elastic net fit (:mod:`shrinkage.engine.group_gap`) needs, per group
``g`` (features ``order[starts[g]:starts[g + 1]]``, all K responses), the soft-thresholded
gradient norm ``||S(G_g, t_g)||`` (``S(x, t) = sign(x) max(|x| - t, 0)`` entrywise) and
the penalty ``l1g ||B_g|| + l1in ||B_g||_1 + l2g / 2 ||B_g||^2``. Each is one pass over the
(p, K) array in group order, with no per-feature temporaries.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=False)
def group_soft_norms(A, order, starts, thr):
    """``||S(A_g, thr_g)||`` per group for ``A`` of shape (p, K)."""
    G_n = starts.shape[0] - 1
    out = np.empty(G_n)
    for g in range(G_n):
        t = thr[g]
        acc = 0.0
        for q in range(starts[g], starts[g + 1]):
            j = order[q]
            for k in range(A.shape[1]):
                a = abs(A[j, k]) - t
                if a > 0.0:
                    acc += a * a
        out[g] = np.sqrt(acc)
    return out


@njit(cache=True, nogil=True, fastmath=False)
def group_penalty_sum(B, order, starts, l1g, l1in, l2g):
    """``sum_g l1g_g ||B_g|| + l1in_g ||B_g||_1 + l2g_g / 2 ||B_g||^2`` for ``B`` of shape
    (p, K)."""
    total = 0.0
    for g in range(starts.shape[0] - 1):
        sq = 0.0
        ab = 0.0
        for q in range(starts[g], starts[g + 1]):
            j = order[q]
            for k in range(B.shape[1]):
                b = B[j, k]
                sq += b * b
                ab += abs(b)
        total += l1g[g] * np.sqrt(sq) + l1in[g] * ab + 0.5 * l2g[g] * sq
    return total
