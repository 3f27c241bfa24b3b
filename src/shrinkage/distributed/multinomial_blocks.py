"""Per-block sums of the blocked multinomial fit: class sums, Newton passes, scores.

The labels ``y`` are coded ``0..K-1`` by the sorted ``classes`` (``Y_ik = 1`` for the
row's class). With ``u_i = x_i - c`` (``c`` the first block's column means, as for the
other families), a point ``(A0, B)`` has the linear predictor ``eta_i = offset_i + A0 +
u_i B`` (``K`` values per row), probabilities ``P_i = softmax(eta_i)`` and the weighted
residuals ``Q_i = w_i (Y_i - P_i)``. ``points_block`` evaluates ``m`` points reached as
steps ``(dA0, dB)`` from base points, and returns per point::

    loss = sum w (logsumexp(eta) - Y.eta)     dloss = sum of the per-row changes
    sug = sum u_i Q_i^T  (p x K)               sg = sum Q_i  (K)
    max_res/k = max over rows with w > 0 of |Y_ik - P_ik|

and at each anchor point the curvature sums, for every class pair ``k <= c``, of
``h_ikc = w_i P_ik (delta_kc - P_ic)``: ``sv = sum h``, ``su = sum h u``, ``suu = sum h
u u^T``, ``K (K + 1) / 2`` weighted ``p x p`` Grams (the ``O(n p^2 K^2 / 2)`` part of a
pass; the Hessian of the loss is ``sum_i (z_i z_i^T) (x) (diag(P_i) - P_i P_i^T)``).
"""

from __future__ import annotations

import numpy as np

from ..engine.kernels.multinomial_gram import multinomial_rows
from .blocks import check_block, row_folds
from .moments import SLICE_ROWS, fold_score_sums, moment_block

__all__ = ["class_codes", "class_moment_block", "multinomial_points_block",
           "multinomial_score_block"]


def class_codes(i, start, yb, classes):
    """Codes ``0..K-1`` of the labels of one block; a label outside ``classes`` is
    refused by block and row."""
    codes = np.searchsorted(classes, yb)
    codes = np.minimum(codes, classes.size - 1)
    bad = classes[codes] != yb
    if np.any(bad):
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(f"y has the label {yb[r]!r} in block {i} (rows {start} to "
                         f"{start + yb.shape[0] - 1}), first at row {start + r}, which is not "
                         f"one of the classes {list(classes)}")
    return codes


def class_moment_block(i, start, Xb, yb, wb, ob, fb, spec, n_groups, shift, classes):
    """The moments of :func:`~shrinkage.distributed.moments.moment_block` (of X and the
    weights) plus, per fold label, each class's weight ``sc`` and live rows ``nc``."""
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    codes = class_codes(i, start, yb, classes)
    out = moment_block(i, start, Xb, codes.astype(float), wb, None, fb, spec, n_groups,
                       shift, 0.0, "gaussian")
    K = classes.size
    f = np.maximum(row_folds(i, start, Xb.shape[0], fb, spec), 0)
    out["sc"] = np.zeros((n_groups, K))
    out["nc"] = np.zeros((n_groups, K))
    np.add.at(out["sc"], (f, codes), wb)
    np.add.at(out["nc"], (f, codes), (wb > 0).astype(float))
    return out


def multinomial_points_block(i, start, Xb, yb, wb, ob, fb, spec, shift, classes, requests):
    """The Newton pass of one block for every request (module docstring).

    Each request is ``(k, W, A0, B, dA0, dB, anchors, which)``: rows with fold label
    ``k`` are left out (none when ``k < 0``), weights are divided by ``W``, and the ``m``
    points ``(A0_l + dA0_l, B_l + dB_l)`` are evaluated (``A0, dA0``: ``m x K``; ``B,
    dB``: ``m x p x K``). Returns per request ``q`` the sums ``q/dloss, q/dmag, q/loss,
    q/dev`` (``m``), ``q/sug`` (``m x p x K``), ``q/sg`` (``m x K``), ``max_res/q`` (``m
    x K``) and, per anchor, ``q/sv`` (``a x K x K``), ``q/su`` (``a x K x K x p``),
    ``q/suu`` (``a x K x K x p x p``)."""
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    codes = class_codes(i, start, yb, classes)
    f = row_folds(i, start, Xb.shape[0], fb, spec)
    p, K = Xb.shape[1], classes.size
    out = {}
    for q, (k, W, A0, B, dA0, dB, anchors, _which) in enumerate(requests):
        m, a = B.shape[0], len(anchors)
        acc = {"dloss": np.zeros(m), "dmag": np.zeros(m), "loss": np.zeros(m),
               "dev": np.zeros(m), "sug": np.zeros((m, p, K)), "sg": np.zeros((m, K)),
               "sv": np.zeros((a, K, K)), "su": np.zeros((a, K, K, p)),
               "suu": np.zeros((a, K, K, p, p))}
        res = np.zeros((m, K))
        keep = np.ones(Xb.shape[0], dtype=bool) if k < 0 else f != k
        rows = np.flatnonzero(keep)
        for s0 in range(0, rows.size, SLICE_ROWS):
            sel = rows[s0: s0 + SLICE_ROWS]
            _points_slice(acc, res, Xb[sel] - shift, codes[sel], wb[sel] / W,
                          None if ob is None else ob[sel], (A0, B, dA0, dB), anchors)
        for name, v in acc.items():
            out[f"{q}/{name}"] = v
        out[f"max_res/{q}"] = res
    return out


def _points_slice(acc, res, U, codes, w, off, points, anchors):
    """Add one slice of rows (``U = X - c``) to the sums of the pass (the per-row
    arithmetic in ``multinomial_rows``)."""
    A0, B, dA0, dB = points
    n = U.shape[0]
    K = A0.shape[1]
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    w = np.ascontiguousarray(w)
    anchor_P = {}
    for j in range(B.shape[0]):
        E0 = A0[j] + U @ B[j]
        if off is not None:
            E0 = E0 + off
        dE = np.ascontiguousarray(dA0[j] + U @ dB[j])
        P1 = np.empty((n, K))
        Q = np.empty((n, K))
        dl, dm, loss = multinomial_rows(np.ascontiguousarray(E0), dE, codes, w, P1, Q, res[j])
        acc["dloss"][j] += dl
        acc["dmag"][j] += dm
        acc["loss"][j] += loss
        acc["dev"][j] += 2.0 * loss
        acc["sug"][j] += U.T @ Q
        acc["sg"][j] += Q.sum(axis=0)
        anchor_P[j] = P1
    for a, j in enumerate(anchors):
        P = anchor_P[int(j)]
        for k in range(K):
            for c in range(k, K):
                h = w * P[:, k] * ((1.0 if k == c else 0.0) - P[:, c])
                S = U.T @ (U * h[:, None])
                su = h @ U
                v = float(h.sum())
                acc["suu"][a, k, c] += S
                acc["su"][a, k, c] += su
                acc["sv"][a, k, c] += v
                if c != k:
                    acc["suu"][a, c, k] += S
                    acc["su"][a, c, k] += su
                    acc["sv"][a, c, k] += v


def multinomial_score_block(i, start, Xb, yb, wb, ob, fb, spec, classes, metric, fits):
    """Held-out score sums of one block: per fold ``k`` in ``fits`` (``k -> (coefs
    (L, p, K), intercepts (L, K))``), ``k/sum = sum_i w_i score_l(y_i, eta_il)`` over the
    rows labelled ``k``."""
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    codes = class_codes(i, start, yb, classes).astype(float)
    f = row_folds(i, start, Xb.shape[0], fb, spec)
    return fold_score_sums(Xb, codes, wb, ob, f, "multinomial", metric, fits)
