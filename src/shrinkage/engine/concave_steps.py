"""Exact steps and diagnostics of the MCP/SCAD solver (:mod:`shrinkage.engine.concave`).

On a fixed active set, with the signs and the quadratic pieces of ``rho`` fixed, the
model is a quadratic: :func:`polish_piece` (from X) and :func:`gram_polish` (from a cached
Gram block, :class:`ActiveGram`) solve it in one Newton step when coordinate descent is
slow. :func:`convexity_margin` is ncvreg's local convexity diagnostic.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..model.concave import concave_slope, concave_value
from .active_solve import range_solve
from .gram import dense_gram_columns, sparse_gram_columns
from .kernels.active_set import step_cancels
from .kernels.certify import centred_dots
from .kernels.concave_gram import rayleigh_quotient, shifted_gram_block
from .kernels.concave_pieces import piece_steps
from .kernels.moments import active_normal_equations, centred_combination

__all__ = ["ActiveGram", "MarginTracker", "convexity_margin", "gram_polish", "nonconvex_note",
           "polish_piece"]


_MAX_DIAG_WORK = 5e8  # n * |A|^2 flops allowed for one eigenvalue diagnostic


def convexity_margin(prob, weights, b, lam2, concavity, gram=None, vector=False):
    """ncvreg's local convexity diagnostic at a solution ``b``.

    The smallest eigenvalue of the loss's curvature on the active set in standardized
    units (the intercept profiled out: ``Xc_A^T W Xc_A`` minus its projection on the
    intercept, ``W = diag(weights)``), plus the ridge part ``lam2``, minus the penalty's
    concavity for penalised features. Negative: the objective is not locally convex there
    and the solution is one local minimiser among possibly several. NaN when the
    eigenvalue would cost more than ``_MAX_DIAG_WORK``; 0 curvature is used when the
    active set has more features than rows with weight. With ``vector``, returns
    ``(margin, v)``: ``v`` the eigenvector on the active set where the eigenvalue came
    from the cache ``gram`` (its ``source``), else None.
    """
    A = np.flatnonzero(b != 0)
    out = _margin_shortcut(prob, weights, A, lam2, concavity)
    if out is not None:
        return (out, None) if vector else out
    pen = ~prob.unpenalized[A]
    shift = lam2[A] - np.where(pen, concavity, 0.0)
    src = None if gram is None else gram.source(A.astype(np.int64))
    if src is not None:  # gaussian: the cached Gram, standardized, intercept profiled out
        H = shifted_gram_block(*src, *_intercept_terms(prob, weights, A), shift)
        if vector:
            val, vec = scipy.linalg.eigh(H, subset_by_index=[0, 0], driver="evr")
            return float(val[0]), vec[:, 0]
        return _smallest_eigenvalue(H)
    if float(prob.n) * A.size ** 2 > _MAX_DIAG_WORK:
        out = float("nan")
    else:
        XA = prob.X[:, A]
        XA = XA.toarray() if hasattr(XA, "toarray") else np.asarray(XA, dtype=float)
        XA = (XA - prob.xm[A]) / prob.scale[A]
        WX = weights[:, None] * XA
        H = XA.T @ WX
        if prob.fit_intercept:
            u = WX.sum(axis=0)
            H -= np.outer(u, u) / max(float(weights.sum()), 1e-300)
        H[np.diag_indices_from(H)] += shift
        out = _smallest_eigenvalue(H)
    return (out, None) if vector else out


def _smallest_eigenvalue(H):
    """``lambda_min`` of the symmetric ``H`` (LAPACK's ``syevr`` for that one eigenvalue:
    no other eigenvalue is computed)."""
    return float(scipy.linalg.eigvalsh(H, subset_by_index=[0, 0], driver="evr")[0])


def _margin_shortcut(prob, weights, A, lam2, concavity):
    """The margin where no eigenvalue is needed (no penalised active feature: inf; more
    active features than rows with weight: the floor), else None."""
    if A.size == 0 or not np.any(~prob.unpenalized[A]):
        return np.inf
    n_live = int(np.sum(weights > 0)) - (1 if prob.fit_intercept else 0)
    if A.size > n_live:
        return float(np.min(lam2[A][~prob.unpenalized[A]] - concavity))
    return None


def _intercept_terms(prob, weights, A):
    """``(u, V)``: the standardized columns' weighted sums and the weights' sum, the
    intercept's projection ``u u^T / V`` (``V = 0``: no intercept)."""
    V = float(weights.sum())
    u = (prob.xw[A] - prob.xm[A] * V) / prob.scale[A]
    return u, (max(V, 1e-300) if prob.fit_intercept else 0.0)


class MarginTracker:
    """:func:`convexity_margin` along a path, an eigenvalue only where no bound decides.

    While the ridge part is zero (and the weights fixed: the gaussian family) the matrix
    ``M`` whose principal blocks ``M_A`` the diagnostic reads does not move with
    ``lam``. For the next active set ``A``:

    * the same set as the last: the same margin;
    * after a negative margin computed with its eigenvector ``v`` (on the set ``B``), the
      Rayleigh quotient ``q`` of ``v`` restricted to ``A & B`` is an upper bound on
      ``lambda_min(M_A)`` (``x^T M_A x / x^T x`` for any ``x``); where ``q < 0`` it
      decides that the objective is not locally convex, and ``q`` is the margin
      reported (negative, an upper bound on the smallest eigenvalue, as
      :func:`~shrinkage.engine.kernels.concave_gram.convexity_margins`);
    * otherwise the eigenvalue, and its eigenvector kept.

    The warning (some margin negative) is therefore exactly the eigenvalue test's.
    """

    def __init__(self, fixed_weights):
        self.fixed_weights = fixed_weights
        self.key = None
        self.value = None
        self.vec = None  # (B, v): the last negative margin's eigenvector

    def margin(self, prob, weights, b, lam2, concavity, gram):
        """The margin at the solution ``b`` (arguments as :func:`convexity_margin`'s)."""
        A = np.flatnonzero(b)
        if not self.fixed_weights or np.any(lam2):
            self.key = self.vec = None
            return convexity_margin(prob, weights, b, lam2, concavity, gram)
        if self.key is not None and np.array_equal(A, self.key):
            return self.value
        value = self._bound(prob, weights, A, lam2, concavity, gram)
        if value is None:
            value, vec = convexity_margin(prob, weights, b, lam2, concavity, gram,
                                          vector=True)
            self.vec = (A, vec) if vec is not None and value < 0 else None
        self.key, self.value = A, value
        return value

    def _bound(self, prob, weights, A, lam2, concavity, gram):
        """``q`` where it is negative (see the class docstring), else None."""
        if self.vec is None or _margin_shortcut(prob, weights, A, lam2, concavity) is not None:
            return None
        B, v = self.vec
        inter, _, ib = np.intersect1d(A, B, assume_unique=True, return_indices=True)
        x = v[ib]
        if not np.any(x):
            return None
        src = gram.source(inter.astype(np.int64))
        if src is None:
            return None
        shift = np.where(prob.unpenalized[inter], 0.0, -concavity)
        q = float(rayleigh_quotient(*src, *_intercept_terms(prob, weights, inter), shift,
                                    np.ascontiguousarray(x)))
        return q if q < 0.0 else None


def nonconvex_note(pen, margins):
    """The sentence the path driver warns with where some ``margins < 0`` (the objective
    is not locally convex there), or None."""
    bad = np.flatnonzero(margins < 0)
    if bad.size == 0:
        return None
    return (
        f"the {pen.kind.upper()} objective (gamma={float(pen.gamma):g}) is not locally "
        f"convex at {bad.size} of {margins.size} lams, from index {int(bad[0])} on: the "
        "curvature of the loss on the active set (standardized) falls below the "
        f"penalty's concavity {pen.concavity:.3g} (ncvreg's diagnostic). There the "
        "path gives the local solution reached by warm starts from lam_max; consider a "
        "larger gamma or a ridge mix (l1_ratio < 1)")


def gram_polish(pen, G, g, b, s, l1, l2):
    """:func:`polish_piece` in Gram space (local indexing, no intercept: the gaussian
    model's centred columns are orthogonal to it); ``g`` kept exact. True if kept."""
    A = np.flatnonzero(b)
    if A.size == 0:
        return False
    sA, lA, l2A = s[A], l1[A], l2[A]
    t = b[A] * sA
    piece, curv = _pieces(pen.kind, np.abs(t), lA, pen.gamma)
    GA = G[np.ix_(A, A)]
    H = GA.copy()
    H[np.diag_indices_from(H)] += sA * sA * (curv + l2A)
    rhs = g[A] - sA * (concave_slope(pen.kind, t, lA, pen.gamma) * np.sign(t) + l2A * t)
    d = range_solve(H, rhs)
    if d is None or step_cancels(H, d, A.size, sA * sA * curv):  # collinear active columns
        return False
    tn = (b[A] + d) * sA
    if (not np.all(np.isfinite(d)) or np.any(np.sign(tn) != np.sign(t))
            or np.any(_pieces(pen.kind, np.abs(tn), lA, pen.gamma)[0] != piece)):
        return False
    dq = -float(g[A] @ d) + 0.5 * float(d @ GA @ d) + float(np.sum(
        concave_value(pen.kind, tn, lA, pen.gamma) + 0.5 * l2A * tn * tn
        - concave_value(pen.kind, t, lA, pen.gamma) - 0.5 * l2A * t * t))
    if not dq <= 0.0:
        return False
    b[A] += d
    g -= G[:, A] @ d
    return True


_POLISH_MAX_WORK = 2e8  # n * |A|^2 flops allowed for one exact step


_CUT_SHARE = 0.9  # a coordinate heading for zero goes this share of the way


def _piece_cut(kind, a0, a1, piece, lam1, gamma):
    """The largest ``tau`` in [0, 1] for which ``a0 + tau (a1 - a0)`` (the magnitudes
    ``|t|`` along a step, ``a1`` signed: negative past zero) stays in each coordinate's
    piece of ``rho`` (edges included) and above zero (cut at ``_CUT_SHARE`` of the way)."""
    if kind == "mcp":
        lo = np.where(piece == 0, 0.0, gamma * lam1)
        hi = np.where(piece == 0, gamma * lam1, np.inf)
    else:
        lo = np.choose(piece, [np.zeros_like(lam1), lam1, gamma * lam1])
        hi = np.choose(piece, [lam1, gamma * lam1, np.full_like(lam1, np.inf)])
    da = a1 - a0
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(a1 > hi, (hi - a0) / da, 1.0)
        down = np.where(a1 < lo, np.where(lo > 0, (lo - a0) / da, -_CUT_SHARE * a0 / da),
                        1.0)
    return float(min(1.0, np.min(up, initial=1.0), np.min(down, initial=1.0)))


def _pieces(kind, a, lam1, gamma):
    """Which quadratic piece of ``rho`` each ``a = |t| > 0`` lies on, and ``rho''`` there."""
    if kind == "mcp":
        piece = (a > gamma * lam1).astype(np.int8)
        return piece, np.where(piece == 0, -1.0 / gamma, 0.0)
    piece = np.where(a <= lam1, 0, np.where(a <= gamma * lam1, 1, 2)).astype(np.int8)
    return piece, np.where(piece == 1, -1.0 / (gamma - 1.0), 0.0)


class ActiveGram:
    """Centred weighted Gram entries ``Xc_j^T W Xc_k`` among the features ever asked for
    (the gaussian family: the weights never change).

    Only blocks on such features are ever needed (working sets, active sets), so the
    cache is square, ``k x k`` for the ``k`` features seen: a feature's entry costs
    ``O(n k)``, not a whole Gram column's ``O(n p)`` (which dominated wide paths).
    """

    max_entries = 5e7

    def __init__(self, prob):
        self.prob = prob
        self.pos = np.full(prob.p, -1, dtype=np.int64)
        self.idx = np.zeros(0, dtype=np.int64)  # the cached features, in cache order
        self.k = 0
        # grown by doubling: copying the whole cache at each growth (as concatenation
        # does) dominated wide (p >> n) paths
        self.buf = np.zeros((0, 0))

    def block(self, A):
        """``Xc_A^T W Xc_A``, or None when the cache would pass ``max_entries``."""
        if not self.cache(A):
            return None
        pos = self.pos[A]
        return self.buf[np.ix_(pos, pos)]

    def source(self, A):
        """``(buf, pos, w)`` with ``w_i w_j buf[pos_i, pos_j]`` the standardized block on
        ``A`` (``w = 1 / scale``), or None when the cache would pass ``max_entries``."""
        if not self.cache(A):
            return None
        return self.buf, self.pos[A], 1.0 / self.prob.scale[A]

    def cache(self, A):
        """Brings the entries among ``A`` into ``buf`` (at rows and columns ``pos[A]``);
        False when the cache would pass ``max_entries``."""
        new = A[self.pos[A] < 0]
        if new.size:
            k = self.k
            m = k + new.size
            if float(m) * m > self.max_entries:
                return False
            self._grow(m)
            idx = np.concatenate([self.idx[:k], new])
            self._fill(idx, new, k)
            self.idx = idx
            self.pos[new] = np.arange(k, m)
            self.k = m
        return True

    def _grow(self, m):
        cap = self.buf.shape[0]
        if m <= cap:
            return
        cap = max(m, min(2 * cap + 16, int(np.sqrt(self.max_entries))))
        buf = np.empty((cap, cap))
        buf[:self.k, :self.k] = self.buf[:self.k, :self.k]
        self.buf = buf

    def _fill(self, idx, new, k):
        """Rows ``idx`` (the cached features and then ``new``) of the columns ``new``."""
        prob = self.prob
        X = prob.X
        raw = (sparse_gram_columns(X, prob.w, new, idx) if prob.sparse
               else dense_gram_columns(X, prob.w, prob.uniform_w, new, idx))
        # sum_i w_i (x_ij - m_j)(x_ik - m_k) = G_jk - m_j xw_k - m_k xw_j + m_j m_k V
        xm, xw = prob.xm[idx], prob.xw[idx]
        V = float(prob.w.sum())
        raw -= (np.outer(xm, prob.xw[new]) + np.outer(xw, prob.xm[new])
                - V * np.outer(xm, prob.xm[new]))
        m = idx.size
        self.buf[:m, k:m] = raw
        self.buf[k:m, :k] = raw[:k].T


def polish_piece(prob, v, r, st, b, ws, lam1, lam2, gram=None):
    """Exact minimiser of the quadratic model on the current active set, signs and pieces.

    On the active set ``A`` (non-zero coordinates of ``ws``) with their signs and the
    pieces of ``rho`` they lie on fixed, the model ``1/2 sum_i v_i r_i^2 + P(b)`` is a
    quadratic; one Newton step solves it::

        (Z^T V Z + diag(0, s_A^2 (rho''_A + lam2_A))) d = Z^T V r - (0, P'(b_A))

    The step is cut where the first coordinate would leave its piece (landing on the
    edge, where ``rho`` is continuously differentiable) or come within
    ``1 - _CUT_SHARE`` of zero (coordinate descent then decides whether it leaves), and
    kept only if the model decreases (the piece may be nonconvex: then its stationary
    point can be a saddle, and is refused); a step along a near-null direction of the
    active columns (:func:`~shrinkage.engine.kernels.active_set.step_cancels`) is refused
    too. ``r``,
    ``st`` and ``b`` are updated as :func:`~shrinkage.engine.kernels.concave.concave_cd`
    keeps them. Returns True if kept. With a Gram cache (the gaussian family) the steps
    go on through piece changes instead (:func:`_polish_gram`).
    """
    pen = prob.penalty
    A = ws[b[ws] != 0]
    n = prob.n
    m = A.size + 1
    sweep_cost = float(np.sum(np.diff(prob.kp)[ws])) if prob.sparse else float(n * ws.size)
    work = float(n) * m * m + float(m) ** 3
    if A.size == 0 or work > min(_POLISH_MAX_WORK, 1000.0 * sweep_cost) or m >= n:
        return False
    rt = r + st[0]
    idx = A.astype(np.int64)
    l1, l2 = lam1[A], lam2[A]
    if gram is not None and gram.cache(idx):
        return _polish_gram(prob, v, r, st, b, idx, l1, l2, gram, rt)
    off = 1 if prob.fit_intercept else 0
    m = A.size + off
    s = prob.scale[A]
    t = b[A] * s
    piece, curv = _pieces(pen.kind, np.abs(t), l1, pen.gamma)
    H = np.empty((m, m))
    rhs = np.empty(m)
    X, xd, xi, xp, sparse = prob.kernel_design()
    active_normal_equations(X, xd, xi, xp, sparse, v, prob.xm, rt, idx,
                            prob.fit_intercept, H, rhs)
    rhs[off:] -= s * (concave_slope(pen.kind, t, l1, pen.gamma) * np.sign(t) + l2 * t)
    H[np.arange(off, m), np.arange(off, m)] += s * s * (curv + l2)
    d = range_solve(H, rhs)
    if d is None:
        return False
    concave_part = np.zeros(m)
    concave_part[off:] = s * s * curv
    if step_cancels(H, d, m, concave_part):  # collinear active columns (or not finite)
        return False
    tau = _piece_cut(pen.kind, np.abs(t), np.sign(t) * (t + d[off:] * s), piece, l1,
                     pen.gamma)
    if not tau > 0.0:
        return False
    d *= tau
    new = b[A] + d[off:]
    tn = new * s
    step = np.zeros(n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, idx, np.ascontiguousarray(d[off:]),
                        step)
    r_new = rt - step - (d[0] if off else 0.0)

    def model(res, tt):
        return 0.5 * float(np.dot(v, res * res)) + float(np.sum(
            concave_value(pen.kind, tt, l1, pen.gamma) + 0.5 * l2 * tt * tt))

    if not model(r_new, tn) <= model(rt, t):
        return False
    b[A] = new
    r[:] = r_new
    st[0] = 0.0
    st[1] = float(np.dot(v, r))
    if off:
        st[3] += d[0]
    return True



_MAX_PIECE_STEPS = 500  # exact steps (one piece change each) per polish


def _polish_gram(prob, v, r, st, b, idx, l1, l2, gram, rt):
    """:func:`polish_piece` for the gaussian model from the cached Gram entries of the
    active set ``idx``, followed through piece changes
    (:func:`~shrinkage.engine.kernels.concave_pieces.piece_steps`).

    The centred columns are orthogonal to the intercept (weighted means), so the
    intercept's step is ``sum_i v_i r_i / V`` on its own and the features' steps need
    the Gram block alone (``O(|A|^3)`` each, no pass over the rows); the residual is
    updated once at the end. True if anything moved.
    """
    X, xd, xi, xp, sparse = prob.kernel_design()
    u = v * rt
    su = float(u.sum())
    g = np.empty(prob.p)
    centred_dots(X, xd, xi, xp, sparse, u, su, prob.xm, idx, idx.size, g)
    pen = prob.penalty
    b_old = b[idx]
    bA = b_old.copy()
    if not piece_steps(pen.code, float(pen.gamma), gram.buf, gram.pos[idx], g[idx], bA,
                       prob.scale[idx], l1, l2, _MAX_PIECE_STEPS):
        return False
    step = np.empty(prob.n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, idx,
                        np.ascontiguousarray(bA - b_old), step)
    d0 = su / float(st[2]) if prob.fit_intercept and st[2] > 0 else 0.0
    b[idx] = bA
    np.subtract(rt, step, out=r)
    if d0 != 0.0:
        r -= d0
        st[3] += d0
    st[0] = 0.0
    st[1] = float(np.dot(v, r))
    return True
