"""Per-block sums: the weighted moments of a pass, per fold, and the IRLS model's Gram.

Every sum is taken about a fixed shift ``c`` (the first block's column means) and
``c_y`` (the mean of ``y - offset`` there): with ``u_i = x_i - c`` and
``v_i = y_i - offset_i - c_y``, one pass gives, for each fold label ``k`` (all rows when
there are no folds)::

    sw = sum w_i          su = sum w_i u_i       suu = sum w_i u_i u_i^T
    sv = sum w_i v_i      suv = sum w_i u_i v_i  svv = sum w_i v_i^2
    sy = sum w_i y_i      min_x, max_x: column ranges over rows with w_i > 0

A fold's training sums are the sums over the other labels (added, never subtracted).
``Moments`` turns sums into the engine's quantities: the weighted means ``xm``,
variances, the centred Gram ``G = sum w (x - xm)(x - xm)^T / sum w`` and
``c = sum w (x - xm)(r - rbar) / sum w``.

``points_block`` is the pass of the proximal Newton solver: for one or more fits (each
on the rows not in its held-out fold) it evaluates ``m`` points ``eta_l = offset + b0_l +
X b_l`` at once (the ``m`` candidate solutions of a run of strengths: two ``m x p`` by
``p x n`` products), returning at each the loss, its change from a base point, the
deviance and the gradient sums ``sum u wres``, ``sum wres`` (``wres_i = w_i (y_i -
mu_i)``), and at the first point only the IRLS curvature sums ``sum v u u^T``, ``sum v
u``, ``sum v`` (``v_i = w_i var_i``), the one ``O(n p^2)`` product of the pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.kernels.glm import loss_step
from ..model.glm_math import loss_and_deviance, means
from .blocks import check_block, row_folds

__all__ = ["moment_block", "points_block", "score_block", "fold_score_sums", "Moments", "select",
           "SLICE_ROWS"]

_FAMILY_CODES = {"gaussian": -1, "binomial": 0, "poisson": 1}


def _check_response(i, start, fam, yb):
    rows = f"block {i} (rows {start} to {start + yb.shape[0] - 1})"
    if fam == 0 and np.any((yb < 0) | (yb > 1)):
        raise ValueError(f"y has values outside [0, 1] in {rows}: the distributed binomial "
                         "family takes 0/1 labels or proportions")
    if fam == 1 and np.any(yb < 0):
        raise ValueError(f"y has negative values in {rows}; poisson counts must be >= 0")


#: Rows of a block processed at a time: temporaries stay a few MB whatever the block.
SLICE_ROWS = 16384


def _slices(f, k):
    """Row selections of fold label ``k`` (every row for ``k < 0`` on unlabelled rows),
    ``SLICE_ROWS`` at a time: views (slices) when every row is selected."""
    n = f.shape[0]
    if k < 0 or np.all(f == k):
        return [slice(s0, min(s0 + SLICE_ROWS, n)) for s0 in range(0, n, SLICE_ROWS)]
    rows = np.flatnonzero(f == k)
    return [rows[s0: s0 + SLICE_ROWS] for s0 in range(0, rows.size, SLICE_ROWS)]


def moment_block(i, start, Xb, yb, wb, ob, fb, spec, n_groups, shift, y_shift, family):
    """The sums of the module docstring for one block, one row per fold label.

    The rows are ordered by fold label once (a stable sort, one copy of the block when
    the labels are not already in order), so that every fold's sums are taken over
    contiguous slices; the Gram of a slice is ``Us^T Us`` with ``Us = sqrt(w) u``, a
    product of a matrix with its own transpose, which BLAS computes as a symmetric rank-k
    update (half the flops of a general product)."""
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    _check_response(i, start, _FAMILY_CODES[family], yb)
    p = Xb.shape[1]
    K = n_groups
    out = {k: np.zeros((K,) + s) for k, s in (
        ("sw", ()), ("su", (p,)), ("suu", (p, p)), ("sv", ()), ("suv", (p,)), ("svv", ()),
        ("sy", ()), ("rows", ()), ("live", ()), ("non01", ()))}
    out["min_x"] = np.full((K, p), np.inf)
    out["max_x"] = np.full((K, p), -np.inf)
    out["max_absr"] = np.zeros(K)
    r = yb if ob is None else yb - ob
    bounds = np.array([0, yb.shape[0]])
    if K > 1:
        f = np.maximum(row_folds(i, start, Xb.shape[0], fb, spec), 0)
        order = np.argsort(f, kind="stable")
        if np.any(np.diff(order) != 1):
            Xb, yb, wb, r, f = Xb[order], yb[order], wb[order], r[order], f[order]
        bounds = np.searchsorted(f, np.arange(K + 1))
    unit = bool(np.all(wb == 1.0))
    for k in range(K):
        for s0 in range(bounds[k], bounds[k + 1], SLICE_ROWS):
            sel = slice(s0, min(s0 + SLICE_ROWS, bounds[k + 1]))
            _moment_slice(out, k, Xb[sel], yb[sel], wb[sel], r[sel], shift, y_shift, unit)
    return out


def _moment_slice(out, k, Xs, ys, w, r, shift, y_shift, unit):
    """Add one slice's sums to row ``k`` of ``out`` (``r = y - offset``)."""
    U = Xs - shift
    v = r - y_shift
    wv = w * v
    Us = U if unit else U * np.sqrt(w)[:, None]
    out["sw"][k] += w.sum()
    out["su"][k] += w @ U
    out["suu"][k] += Us.T @ Us
    out["sv"][k] += wv.sum()
    out["suv"][k] += wv @ U
    out["svv"][k] += wv @ v
    out["sy"][k] += w @ ys
    out["rows"][k] += w.size
    live = w > 0
    n_live = int(live.sum())
    out["live"][k] += n_live
    if n_live:
        all_live = n_live == w.size
        Xl = Xs if all_live else Xs[live]
        out["min_x"][k] = np.minimum(out["min_x"][k], Xl.min(axis=0))
        out["max_x"][k] = np.maximum(out["max_x"][k], Xl.max(axis=0))
        lr = r if all_live else r[live]
        ly = ys if all_live else ys[live]
        out["max_absr"][k] = max(out["max_absr"][k], float(np.max(np.abs(lr))))
        out["non01"][k] += np.count_nonzero((ly != 0) & (ly != 1))


def select(total, keep):
    """The sums over the fold labels in ``keep`` (a boolean mask or index array)."""
    out = {}
    for k, v in total.items():
        part = v[keep]
        if k.startswith("min_"):
            out[k] = part.min(axis=0)
        elif k.startswith("max_"):
            out[k] = part.max(axis=0)
        else:
            out[k] = part.sum(axis=0)
    return out


@dataclass
class Moments:
    """Weighted moments from the sums of one set of rows (see ``select``).

    ``xm`` is the weighted mean of X, ``var`` its weighted variance, ``G`` the weighted
    centred Gram ``E_w[(x - xm)(x - xm)^T]`` (uncentred, ``E_w[x x^T]``, when
    ``centred`` is False), ``c = E_w[(x - xm)(r - rbar)]`` (or ``E_w[x r]``), ``yw =
    E_w[(r - rbar)^2]`` (or ``E_w[r^2]``), ``rbar = E_w[r]`` with ``r = y - offset``.
    """

    sums: dict
    shift: np.ndarray
    y_shift: float

    def __post_init__(self):
        s = self.sums
        self.W = float(s["sw"])
        if not self.W > 0:
            raise ValueError("sample_weight sums to zero: no observation carries weight")
        self.mu = s["su"] / self.W  # E[u]
        self.xm = self.shift + self.mu
        self.M2 = s["suu"] / self.W  # E[u u^T]
        self.var = np.maximum(np.diag(self.M2) - self.mu * self.mu, 0.0)
        self.muv = float(s["sv"]) / self.W
        self.rbar = self.y_shift + self.muv
        self.ybar = float(s["sy"]) / self.W
        self.n_rows = int(round(float(s["rows"])))
        self.n_live = int(round(float(s["live"])))

    def gram(self, centred):
        """``(G, c, yw)`` of the module docstring (centred or uncentred)."""
        s, W, mu, c0 = self.sums, self.W, self.mu, self.shift
        if centred:
            G = self.M2 - np.outer(mu, mu)
            c = s["suv"] / W - mu * self.muv
            yw = float(s["svv"]) / W - self.muv ** 2
        else:
            G = self.M2 + np.outer(c0, mu) + np.outer(mu, c0) + np.outer(c0, c0)
            euv = s["suv"] / W
            c = euv + self.y_shift * mu + c0 * self.muv + c0 * self.y_shift
            yw = (float(s["svv"]) / W + 2.0 * self.y_shift * self.muv + self.y_shift ** 2)
        return np.asfortranarray(0.5 * (G + G.T)), c, max(yw, 0.0)

    def xsq(self, centred):
        """``E_w[(x - xm)^2]`` when centred, else ``E_w[x^2]``."""
        if centred:
            return self.var.copy()
        return np.maximum(np.diag(self.M2) + 2 * self.shift * self.mu + self.shift ** 2, 0.0)


def points_block(i, start, Xb, yb, wb, ob, fb, spec, fam, shift, requests):
    """The Newton pass of one block for every request (module docstring).

    Each request is ``(k, W, B, B0, D, D0, anchors, which)``: rows with fold label ``k``
    are left out (none when ``k < 0``), weights are divided by ``W`` (the fit's total
    weight), and the ``m`` points ``(B0_l + D0_l, B_l + D_l)`` (rows of ``B, D``) are
    evaluated, each as a step from its base ``(B0_l, B_l)``. Returns, per request ``q``
    and point ``l``: ``q/dloss``, ``q/dmag`` (``sum w (loss(base + step) -
    loss(base))``, summed from accurate per-row changes, and its rounding scale),
    ``q/loss``, ``q/dev``, ``q/sug`` (``sum u wres``, an ``m x p`` array), ``q/sg``
    (``sum wres``); with ``v^a`` the curvature ``w var`` at the point ``anchors[a]``:
    ``q/sv``, ``q/su``, ``q/suu`` (its sums ``sum v^a``, ``sum v^a u``, ``sum v^a u
    u^T``, one row per anchor) and ``q/sr2`` (``sum wres_l^2 / v^a`` with ``a =
    which[l]``, the anchor point ``l`` is modelled with).
    """
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    _check_response(i, start, fam, yb)
    f = row_folds(i, start, Xb.shape[0], fb, spec)
    p = Xb.shape[1]
    out = {}
    for q, (k, W, B, B0, D, D0, anchors, which) in enumerate(requests):
        m, a = B.shape[0], len(anchors)
        acc = {"dloss": np.zeros(m), "dmag": np.zeros(m), "loss": np.zeros(m),
               "dev": np.zeros(m), "sug": np.zeros((m, p)), "sg": np.zeros(m),
               "sr2": np.zeros(m), "sv": np.zeros(a), "su": np.zeros((a, p)),
               "suu": np.zeros((a, p, p))}
        rows = _slices(f, -1) if k < 0 else _slices((f != k).astype(np.int64), 1)
        for sel in rows:
            _points_slice(acc, fam, Xb[sel], yb[sel], wb[sel] / W,
                          None if ob is None else ob[sel], shift, (B, B0, D, D0),
                          anchors, which)
        for name, v in acc.items():
            out[f"{q}/{name}"] = v
    return out


def _points_slice(acc, fam, X, y, w, off, shift, points, anchors, which):
    """Add one slice of rows to the sums of :func:`points_block`: ``eta`` of every base
    point and every step in two products (``m x n``, one row per point)."""
    B, B0, D, D0 = points
    y = np.ascontiguousarray(y)
    w = np.ascontiguousarray(w)
    E0 = B @ X.T + B0[:, None]
    if off is not None:
        E0 += off
    dE = D @ X.T + D0[:, None]
    m, n = E0.shape
    wres = np.empty((m, n))
    var = np.empty((m, n))
    e1 = np.empty(n)
    for j in range(m):
        dl, dm = loss_step(fam, y, w, E0[j], dE[j], 1.0, e1)
        loss, dev = loss_and_deviance(fam, y, e1, w)
        mu, var[j] = means(fam, e1)
        wres[j] = w * (y - mu)
        acc["dloss"][j] += dl
        acc["dmag"][j] += dm
        acc["loss"][j] += loss
        acc["dev"][j] += dev
    U = X - shift
    acc["sug"] += wres @ U
    acc["sg"] += wres.sum(axis=1)
    V = w * var[anchors]
    # rows of zero weight have v = wres = 0 and add nothing
    inv = np.divide(1.0, V, out=np.zeros(V.shape), where=V > 0)
    acc["sr2"] += np.einsum("ln,ln->l", wres * wres, inv[which])
    acc["sv"] += V.sum(axis=1)
    acc["su"] += V @ U
    for a in range(V.shape[0]):
        acc["suu"][a] += U.T @ (U * V[a][:, None])


def score_block(i, start, Xb, yb, wb, ob, fb, spec, family, metric, fits):
    """Held-out score sums of one block: per fold ``k`` in ``fits`` (``k -> (coefs,
    intercepts)``), ``k/sum`` = ``sum_i w_i score_l(y_i, eta_il)`` over the rows labelled
    ``k`` (:func:`shrinkage.tuning.metrics.score_path` times their weight)."""
    Xb, yb, wb, ob = check_block(i, start, Xb, yb, wb, ob)
    f = row_folds(i, start, Xb.shape[0], fb, spec)
    return fold_score_sums(Xb, yb, wb, ob, f, family, metric, fits)


def fold_score_sums(Xb, yb, wb, ob, f, family, metric, fits):
    """``{k/sum}`` of :func:`score_block` from a checked block with fold labels ``f``.

    Coefficients ``(L, p)`` (or ``(L, p, K)`` for multinomial, with intercepts ``(L, K)``
    and an ``(n, K)`` offset) give the linear predictors ``(n, L[, K])`` of each held-out
    row at every strength.
    """
    from ..tuning.metrics import score_path

    out = {}
    for k, (coefs, intercepts) in fits.items():
        m = f == k
        sw = float(wb[m].sum())
        out[f"{k}/sum"] = np.zeros(coefs.shape[0])
        if not sw > 0:
            continue
        eta = np.tensordot(Xb[m], coefs, axes=([1], [1])) + intercepts
        if ob is not None:
            eta += ob[m][:, None]
        out[f"{k}/sum"] = score_path(metric, family, yb[m], eta, wb[m]) * sw
    return out
