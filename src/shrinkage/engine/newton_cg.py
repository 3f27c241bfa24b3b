"""Newton steps on the active set: an exact solve where it is cheap, conjugate gradients
where it is not.

:func:`polish_active_set` solves the IRLS model exactly on the active set when that
costs little (``n |A|^2`` flops; by BLAS on a dense design); at the deep end of a path on
text data the active set holds thousands of features and that solve is out of reach,
while coordinate descent crawls there: near-separated binomial data make the model's
curvature tiny along many coordinates, and hundreds of sweeps per Newton step were
measured on a 20,000 x 45,000 tf-idf design. Conjugate gradients
(:func:`cg_active_step`) need only products with ``Z = [1, Xc_A]`` and ``Z^T`` (each
about one sweep over the active columns) and converge in about the square root of the
iterations coordinate descent needs on the same system.

The step is taken on the orthant of the current signs. Its point is projected on that
orthant (coordinates that would cross zero or a bound stop there) and kept if it lowers
the model's penalised objective; otherwise the step is cut at the first crossing, which
always lowers it (a conjugate-gradient iterate ``d`` satisfies ``d^T H d = -grad^T d``, so
the model decreases monotonically along ``t d`` for ``t`` in [0, 1]).
"""

from __future__ import annotations

import numpy as np

from .active_solve import range_solve
from .kernels.active_set import apply_step, step_cancels
from .kernels.certify import centred_dots
from .kernels.glm_polish import active_pcg
from .kernels.moments import active_normal_equations, centred_combination

#: conjugate-gradient iterations per step (each about one sweep over the active columns)
CG_MAX_ITER = 20
#: and for a model that has stalled (:data:`STALL_POLISHES` polishes without converging)
#: on an active set of at most ``n / 2`` features: on one-hot factors with a nested
#: interaction, coordinate descent with 20-iteration steps crawled through 1,002 sweeps at
#: one strength (2,000 x 632), which a longer conjugate-gradient run settles (300 did no
#: better than 100; ``ProximalNewton._polish``)
STALLED_CG_MAX_ITER = 100
#: polishes of one Newton model after which it counts as stalled
STALL_POLISHES = 3
#: stop when the preconditioned residual norm falls below this fraction of its start
CG_RTOL = 1e-3


#: ``n |A|^2`` flops allowed for one exact active-set solve
POLISH_MAX_WORK = 2e8


def dense_normal_equations(X, v, xm, r, A, off, H, rhs):
    """``H = Z^T V Z``, ``rhs = Z^T V r`` for ``Z = [1 (if off), X[:, A] - xm[A]]`` by BLAS.

    The centred columns are copied (``n |A|`` floats, which the ``n |A|^2`` product
    dwarfs) and centred element by element, as every dense kernel does, so that columns
    with large means lose nothing to cancellation.
    """
    Zc = X[:, A] - xm[A]
    VZ = Zc * v[:, None]
    H[off:, off:] = Zc.T @ VZ
    rhs[off:] = VZ.T @ r
    if off:
        col = VZ.sum(axis=0)
        H[0, 0] = v.sum()
        H[0, 1:] = col
        H[1:, 0] = col
        rhs[0] = np.dot(v, r)


def polish_active_set(prob, v, r, st, b, ws, l1, l2):
    """Exact minimiser of the weighted quadratic model on the current active set and signs.

    With ``A`` the non-zero coordinates of ``b`` strictly inside their bounds and ``s`` their
    signs, the model ``1/2 sum_i v_i r_i^2 + sum_j l1_j |b_j| + l2_j / 2 b_j^2`` is smooth
    on that orthant; one Newton step solves it::

        (Z^T V Z + diag(0, l2_A)) d = Z^T V r - (0, l2_A b_A + l1_A s_A),   Z = [1, Xc_A]

    Where a sign would flip or a bound be crossed, the step is cut there
    (:func:`first_crossing`; the coordinate that sets the cut lands on its zero or bound);
    the residual, its weighted sum and the intercept in ``st`` are updated to match.
    The system is solved on the directions the data determine
    (:func:`~shrinkage.engine.active_solve.range_solve`: nothing moves along a null
    direction of collinear active columns). Returns True if a step was taken, False if
    refused (a non-finite system, or a step that still cancels in ``Z d``:
    :func:`~shrinkage.engine.kernels.active_set.step_cancels`), None if the active set is
    too large for a direct solve (see :func:`cg_active_step`).
    """
    bw = b[ws]
    A = ws[(bw != 0) & (bw > prob.lo[ws]) & (bw < prob.hi[ws])]
    n = prob.n
    m = A.size + 1
    # one CD sweep over ws costs about the entries of its columns; solve only when the
    # exact step is cheaper than ~100 more sweeps
    sweep_cost = float(np.sum(np.diff(prob.kp)[ws])) if prob.sparse else float(n * ws.size)
    work = float(n) * m * m + float(m) ** 3
    if A.size == 0:
        return False
    if work > min(POLISH_MAX_WORK, 100.0 * sweep_cost) or 2 * m > n:
        return None  # too costly, or too many features for a direct solve of full rank
    off = 1 if prob.fit_intercept else 0
    m = A.size + off
    H = np.empty((m, m))
    rhs = np.empty(m)
    rt = r + st[0]
    X, xd, xi, xp, sparse = prob.kernel_design()
    A = A.astype(np.int64, copy=False)
    if X is None:
        active_normal_equations(X, xd, xi, xp, sparse, v, prob.xm, rt, A, prob.fit_intercept,
                                H, rhs)
    else:
        dense_normal_equations(X, v, prob.xm, rt, A, off, H, rhs)
    bA = b[A]
    sA = np.sign(bA)
    l2A = l2[A]
    rhs[off:] -= l2A * bA + l1[A] * sA
    H.flat[off * (m + 1)::m + 1] += l2A  # the diagonal past the intercept's row
    d = range_solve(H, rhs)
    if d is None or step_cancels(H, d, m, np.zeros(m)):  # (near-)collinear active columns
        return False
    moves = np.ascontiguousarray(d[off:])
    t = first_crossing(bA, moves, sA, prob.lo[A], prob.hi[A])
    if not t > 0.0:
        return False
    if t == 1.0:
        b[A] = bA + moves
    else:  # cut where a sign flips or a bound is hit: the model still decreases
        apply_step(b, A, A.size, moves, t, prob.lo, prob.hi)  # moves: b_new - b_old
    step = np.zeros(n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, A, moves, step)
    d0 = t * d[0] if off else 0.0
    r[:] = rt - step - d0
    st[0] = 0.0
    st[1] = float(np.dot(v, r))
    st[3] += d0
    return True


def first_crossing(bA, dA, sA, lo, hi):
    """The largest ``t`` in [0, 1] keeping ``bA + t dA`` on the orthant of the signs ``sA``
    and within ``[lo, hi]``: where a step to the model's minimiser on that orthant must be
    cut (the model decreases all along the segment, a convex quadratic minimised at 1)."""
    new = bA + dA
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(np.sign(new) != sA, bA / -dA, np.inf)
        up = np.where(new > hi, (hi - bA) / dA, np.inf)
        down = np.where(new < lo, (lo - bA) / dA, np.inf)
    return float(min(1.0, cross.min(), up.min(), down.min()))


def _model_value(v, resid, bA, l1, l2, A):
    """``1/2 sum_i v_i resid_i^2 + sum_{j in A} l1_j |b_j| + l2_j / 2 b_j^2``."""
    return (0.5 * float(np.dot(v, resid * resid))
            + float(np.dot(l1[A], np.abs(bA)) + 0.5 * np.dot(l2[A], bA * bA)))


class _ActiveColumns:
    """Products with ``Z = [1, Xc_A]`` (or ``Xc_A``) and ``Z^T``; those with the model's
    Hessian run compiled (:func:`~shrinkage.engine.kernels.glm.active_pcg`)."""

    def __init__(self, prob, A, off):
        self.design = prob.kernel_design()
        self.xm = prob.xm
        self.A = A
        self.off = off
        self.g = np.empty(prob.p)

    def apply_z(self, d, out):
        """``out = Z d``."""
        X, xd, xi, xp, sparse = self.design
        centred_combination(X, xd, xi, xp, sparse, self.xm, self.A,
                            np.ascontiguousarray(d[self.off:]), out)
        if self.off:
            out += d[0]

    def apply_zt(self, u, out):
        """``out = Z^T u``."""
        X, xd, xi, xp, sparse = self.design
        su = float(u.sum())
        centred_dots(X, xd, xi, xp, sparse, u, su, self.xm, self.A, self.A.size, self.g)
        out[self.off:] = self.g[self.A]
        if self.off:
            out[0] = su


def cg_active_step(prob, v, r, st, b, ws, l1, l2, h, max_iter=CG_MAX_ITER):
    """One conjugate-gradient Newton step on the active set of ``ws`` (at most
    ``max_iter`` iterations); True if taken.

    Same model and state as ``polish_active_set``: the working residual is
    ``r + st[0]``, ``st = [roff, sum v r, sum v, intercept]``; ``h`` holds the model's
    centred curvatures ``sum_i v_i (x_ij - xm_j)^2`` on ``ws`` (the preconditioner).
    On success ``b``, ``r`` and ``st`` describe the new point.
    """
    A = ws[(b[ws] != 0) & (b[ws] > prob.lo[ws]) & (b[ws] < prob.hi[ws])].astype(np.int64)
    if A.size == 0:
        return False
    off = 1 if prob.fit_intercept else 0
    m = A.size + off
    rt = r + st[0]
    cols = _ActiveColumns(prob, A, off)
    bA = b[A].copy()
    sA = np.sign(bA)
    rhs = np.empty(m)
    cols.apply_zt(v * rt, rhs)
    rhs[off:] -= l2[A] * bA + l1[A] * sA
    diag = np.empty(m)
    diag[off:] = h[A] + l2[A]
    if off:
        diag[0] = st[2]
    if not np.all(diag > 0.0):
        return False
    X, xd, xi, xp, sparse = prob.kernel_design()
    d = active_pcg(X, xd, xi, xp, sparse, prob.xm, v, A, l2[A], off, rhs, diag, max_iter,
                   CG_RTOL, cols.g)
    if not np.all(np.isfinite(d)):
        return False
    step = np.empty(prob.n)
    f_old = _model_value(v, rt, bA, l1, l2, A)
    # the projected point: coordinates that would cross zero or a bound stop there
    new = bA + d[off:]
    new = np.where(np.sign(new) != sA, 0.0, new)
    new = np.clip(new, prob.lo[A], prob.hi[A])
    proj = d.copy()
    proj[off:] = new - bA
    cols.apply_z(proj, step)
    if _model_value(v, rt - step, new, l1, l2, A) < f_old:
        b[A] = new
    else:  # cut at the first crossing: the model decreases all along the segment
        t = first_crossing(bA, d[off:], sA, prob.lo[A], prob.hi[A])
        if not t > 0.0:
            return False
        moves = np.ascontiguousarray(d[off:])
        apply_step(b, A, A.size, moves, t, prob.lo, prob.hi)  # moves: b_new - b_old
        proj[off:] = moves
        if off:
            proj[0] = t * d[0]
        cols.apply_z(proj, step)
    r[:] = rt - step
    st[0] = 0.0
    st[1] = float(np.dot(v, r))
    if off:
        st[3] += proj[0]
    return True
