"""Whether a folded-concave GLM objective keeps decreasing along a ray from the current point.

MCP and SCAD stop growing beyond ``gamma * lam``: a coefficient past that point is not
penalised at all. When the features past it (with the unpenalised ones) separate some rows
of a binomial response, or push some zero counts of a poisson one towards a mean of 0, the
objective has no minimiser: along the separating direction the loss of those rows keeps
falling, no other row's loss rises and the penalty stays flat. A descent solver then
follows that ray for ever (coordinates grow like ``log`` of the sweeps; ncvreg's users meet
it as "failed to converge" at the end of logistic paths).

:func:`recession_direction` decides it exactly, as a linear program over the directions
``d`` that keep every flat coordinate flat (``d_j`` of ``b_j``'s sign, or free for an
unpenalised feature, and zero for a bounded one): with ``a = Xc d + d0`` the move of the
linear predictor,

* binomial: ``a_i >= 0`` where ``y_i = 1``, ``a_i <= 0`` where ``y_i = 0``, ``a_i = 0``
  for a proportion strictly between;
* poisson: ``a_i <= 0`` where ``y_i = 0``, ``a_i = 0`` elsewhere;

maximising ``sum_i w_i |a_i|`` over ``|d_j s_j| <= 1`` (standardized units). A positive
optimum, confirmed in floating point on the returned direction, is a ray of descent
(strict for every row it moves: a logistic or poisson loss is never at its infimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Recession", "flat_coordinates", "ray_length", "ray_note", "recession_direction"]

# a row moves when |a_i| exceeds this share of max |a| (the LP's solution is exact only to
# the solver's feasibility tolerance, about 1e-7 of the variables' unit box)
ROW_MOVES = 1e-6
# a violated row (its fit worsened along d) is tolerated up to this share of max |a|:
# beyond, the direction is not taken as a ray of descent
ROW_WORSENS = 1e-8
# the linear program is not attempted beyond this many entries of the flat columns (stored
# ones where X is sparse): HiGHS took 0.9 s at 46,000 (2,000 rows x 448 columns)
MAX_ENTRIES = 1_000_000


@dataclass
class Recession:
    """A ray of descent: ``features`` move by ``direction / scale[features]`` per unit
    (``direction`` in standardized units) and the intercept by ``intercept`` (the move of
    ``b0`` for the raw columns ``X``: ``a = X[:, features] @ (direction / scale) +
    intercept``); ``rows`` weighted rows approach their observed value."""

    features: np.ndarray
    direction: np.ndarray
    intercept: float
    rows: int


def flat_coordinates(b, scale, lam1, lam2, gamma, lo, hi, candidates):
    """The coordinates along which the penalty is flat outwards from ``b``, and the sign
    each must move with (0: either).

    Unpenalised candidates are flat both ways at any value; a penalised one is flat from
    ``b`` outwards when it has no ridge part and ``|b_j s_j| > gamma lam1_j`` (past MCP's and
    SCAD's last knot). Features with a finite bound are left out (a ray would reach it).
    """
    t = np.abs(b * scale)
    free = candidates & np.isinf(lo) & np.isinf(hi) & (lam2 == 0.0)
    unpen = free & (lam1 == 0.0)
    past = free & ~unpen & (b != 0.0) & (t > gamma * lam1)
    idx = np.flatnonzero(unpen | past)
    sign = np.where(unpen[idx], 0.0, np.sign(b[idx]))
    return idx, sign


def _row_signs(family, y):
    """Per row, the sign of ``a_i`` that brings its mean closer to ``y_i`` for ever (+1 or
    -1), or 0 where only ``a_i = 0`` does not worsen the fit."""
    s = np.zeros(y.shape[0])
    if family == "binomial":
        s[y >= 1.0] = 1.0
        s[y <= 0.0] = -1.0
    elif family == "poisson":
        s[y <= 0.0] = -1.0
    else:
        raise ValueError(f"no recession test for the {family} family")
    return s


def recession_direction(prob, b, lam1, lam2, gamma):
    """A :class:`Recession` from ``b`` (module docstring), or None when there is none or
    the test is out of reach (too large a linear program, or the solver gave up)."""
    from scipy.optimize import linprog

    family = prob.family.name
    live = prob.w > 0
    s = _row_signs(family, prob.y)
    if not np.any(s[live] != 0.0):
        return None
    idx, sign = flat_coordinates(b, prob.scale, lam1, lam2, gamma, prob.lo, prob.hi,
                                 prob.candidates)
    if idx.size == 0:
        return None
    X = prob.X
    rows = np.flatnonzero(live)
    if sp.issparse(X):
        A = sp.csc_matrix(X[:, idx])[rows]
        if A.nnz > MAX_ENTRIES:
            return None
    else:
        if rows.size * idx.size > MAX_ENTRIES:
            return None
        A = np.asarray(X[np.ix_(rows, idx)])
    # standardized variables e_j = d_j s_j; the centring of Xc is absorbed by the intercept
    # when there is one (xm is zero without)
    cols = 1.0 / prob.scale[idx]
    shift = prob.xm[idx] * cols
    A = A @ sp.diags(cols) if sp.issparse(A) else A * cols
    w, s = prob.w[rows], s[rows]
    k = idx.size
    bounds = [(0.0, 1.0) if g > 0 else (-1.0, 0.0) if g < 0 else (-1.0, 1.0) for g in sign]
    if prob.fit_intercept:  # a free move of the intercept, large enough for any centring
        top = float(abs(A).max()) if A.shape[0] * A.shape[1] else 0.0
        big = 1.0 + float(np.abs(shift).sum()) + top * k
        bounds.append((-big, big))
        A = (sp.hstack([A, np.ones((rows.size, 1))], format="csr") if sp.issparse(A)
             else np.hstack([A, np.ones((rows.size, 1))]))
    else:
        A = A.tocsr() if sp.issparse(A) else A
    eq = np.flatnonzero(s == 0.0)
    ineq_up = np.flatnonzero(s > 0.0)    # a_i >= 0  ->  -a_i <= 0
    ineq_down = np.flatnonzero(s < 0.0)  # a_i <= 0
    stack = sp.vstack if sp.issparse(A) else np.vstack
    A_ub = stack([-A[ineq_up], A[ineq_down]])
    c = -np.asarray((w * s) @ A).ravel()
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]),
                  A_eq=A[eq] if eq.size else None, b_eq=np.zeros(eq.size) if eq.size else None,
                  bounds=bounds, method="highs")
    if res.status != 0 or res.x is None or not -res.fun > 0.0:
        return None
    e = res.x
    a = np.asarray(A @ e).ravel()
    top = float(np.abs(a).max(initial=0.0))
    if not top > 0.0:
        return None
    improves = s * a
    if np.any(improves < -ROW_WORSENS * top) or np.any(np.abs(a[eq]) > ROW_WORSENS * top):
        return None
    moved = int(np.count_nonzero(improves > ROW_MOVES * top))
    if moved == 0:
        return None
    use = e[:k] != 0.0
    return Recession(features=idx[use], direction=e[:k][use],
                     intercept=float(e[k]) if prob.fit_intercept else 0.0, rows=moved)


def ray_length(family, y, eta, a, live, eps):
    """How far to move along a ray (``eta + t a``) for every row it moves by more than
    ``1e-3`` of its largest move to be fitted to within ``eps`` (``|y_i - mu_i| <= eps``:
    such rows then add at most ``eps`` to any standardized gradient, whose weights sum to
    one). 0 when no row needs a move."""
    s = _row_signs(family, y)
    sa = np.where(live, s * a, 0.0)
    top = float(np.max(np.abs(np.where(live, a, 0.0)), initial=0.0))
    moved = sa > 1e-3 * top
    if not np.any(moved):
        return 0.0
    # binomial: 1 - mu <= e^-eta (y = 1), mu <= e^eta (y = 0); poisson: mu = e^eta (y = 0)
    need = np.log(1.0 / eps)
    t = (need - s[moved] * eta[moved]) if family == "binomial" else (eta[moved] + need)
    return float(max(np.max(t / sa[moved]), 0.0))


def ray_note(pen, family, rays, rows):
    """The sentence for the path's warning where rays were followed (``rays[k]``: how many
    at strength ``k``), or None."""
    hit = np.flatnonzero(rays)
    if hit.size == 0:
        return None
    what = "rows of the response" if family == "binomial" else "zero counts"
    return (f"at {hit.size} lam(s) from index {int(hit[0])} on, the {pen.kind.upper()} "
            "objective has no minimiser: features past the penalty's flat region (or "
            f"unpenalised) bring up to {rows} {what} ever closer to their observed values "
            "without worsening any other fit (a linear program's ray of descent), so the "
            "solver moved along that ray until those rows were fitted to within tol; the "
            "size of those coefficients there reflects tol, not the data (Path.extra"
            "['ray_steps']). A ridge mix (l1_ratio < 1) gives a minimiser; a larger gamma "
            "only moves the flat region further out")
