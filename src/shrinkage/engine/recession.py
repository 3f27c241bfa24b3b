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
For group MCP/SCAD (:func:`group_recession_direction`) the flat groups' features move
freely within the box, each penalised group keeping ``beta_g . e_g >= 0`` so that its norm
never falls back inside the knot.

The solvers follow a ray found at a slow strength (:class:`RayWatch` says when) until the
rows it moves are fitted to within ``0.1 tol`` (:func:`ray_length`), then go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .kernels.moments import centred_combination
from .stopping import DEV_MAX

__all__ = ["Recession", "flat_coordinates", "flat_groups", "free_ray",
           "group_recession_direction",
           "RayWatch", "ray_decidable", "ray_diagnostics", "ray_excluded", "ray_length",
           "ray_move", "ray_note", "recession_direction", "row_signs", "unpenalised_ray"]

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


def row_signs(family, y):
    """Per row, the sign of ``a_i`` that brings its mean closer to ``y_i`` for ever (+1 or
    -1), or 0 where only ``a_i = 0`` does not worsen the fit; None for a family other than
    binomial and poisson."""
    s = np.zeros(y.shape[0])
    if family == "binomial":
        s[y >= 1.0] = 1.0
        s[y <= 0.0] = -1.0
    elif family == "poisson":
        s[y <= 0.0] = -1.0
    else:  # a family without the test (its rays, if any, are not looked for)
        return None
    return s


def recession_direction(prob, b, lam1, lam2, gamma):
    """A :class:`Recession` from ``b`` (module docstring), or None when there is none or
    the linear program is too large to attempt."""
    idx, sign = flat_coordinates(b, prob.scale, lam1, lam2, gamma, prob.lo, prob.hi,
                                 prob.candidates)
    box = [(0.0, 1.0) if g > 0 else (-1.0, 0.0) if g < 0 else (-1.0, 1.0) for g in sign]
    return _ray(prob, idx, box, None)


#: :func:`ray_excluded` is not attempted past this many entries of its dense design
EXCLUDE_MAX_ENTRIES = 50_000_000


def free_ray(prob, eta=None):
    """:func:`recession_direction` over the unpenalised features with no bound alone (and
    the intercept): a ray along which the loss falls at every strength, the penalty of
    every other feature held; None where there is none or the program is too large.

    ``eta``, the predictor of a point where the gradient of those features vanishes (a
    converged fit), lets :func:`ray_excluded` prove there is none first, without the
    linear program (on 100,000 rows and two unpenalised columns the program took 0.6 s,
    most of that path's time)."""
    idx = np.flatnonzero(prob.unpenalized & np.isinf(prob.lo) & np.isinf(prob.hi))
    if idx.size == 0 or (eta is not None and ray_excluded(prob, idx, eta)):
        return None
    return _ray(prob, idx, [(-1.0, 1.0)] * idx.size, None)


def ray_excluded(prob, idx, eta):
    """Whether the residual at ``eta`` proves that no ray exists over the columns ``idx``
    and the intercept (Gordan's alternative; no linear program).

    With ``z_i`` the rows of ``Z = [X_idx, 1]`` and ``s_i`` the signs of
    :func:`row_signs` (0: a row that may move either way but must not), there is no ray
    exactly when some multipliers ``c_i``, positive where ``s_i != 0``, give
    ``sum_i c_i s_i z_i = 0`` (with ``s_i`` read as 1 where it is 0): along a ray each
    term ``c_i s_i z_i . d`` would be ``>= 0`` and one ``> 0``. The residual ``q = w (y -
    mu)`` at ``eta`` is such a combination up to the gradient ``Z^T q``, small at a
    converged fit: its part ``r`` orthogonal to ``Z`` (``q`` less its least-squares fit on
    ``Z``) has ``Z^T r = 0``, and where every ``s_i r_i`` with ``s_i != 0`` is still
    positive, ``c_i = s_i r_i`` proves it. A fit stopped along a ray has fitted the rows
    it moves almost exactly, their ``q_i`` near 0, and fails the test (the program then
    decides)."""
    s = row_signs(prob.family.name, prob.y)
    rows = np.flatnonzero(prob.w > 0)
    if s is None or rows.size * (idx.size + 1) > EXCLUDE_MAX_ENTRIES:
        return False
    q = prob.w[rows] * (prob.y[rows] - prob.family.mean(np.asarray(eta)[rows]))
    Z = prob.X[:, idx]
    Z = np.asarray(Z.toarray() if sp.issparse(Z) else Z)[rows]
    if prob.fit_intercept:
        Z = np.hstack([Z, np.ones((rows.size, 1))])
    r = q - Z @ np.linalg.lstsq(Z, q, rcond=None)[0]
    strict = s[rows] != 0.0
    top = float(np.max(np.abs(q), initial=0.0))
    return bool(top > 0.0 and np.all(s[rows][strict] * r[strict] > 1e-12 * top))


def flat_groups(beta, order, starts, l1g, l2g, gamma, lo, hi, candidates):
    """The groups along which a group MCP/SCAD penalty is flat outwards from ``beta``
    (standardized, shape (p,) or (p, 1)): unpenalised groups, and groups with no ridge part
    whose norm is past ``gamma l1g``; a group with a bounded feature is left out. Returns
    ``(groups, penalised)``: their indices and whether each is penalised (its moves
    ``e_g`` must then keep ``beta_g . e_g >= 0``, so that its norm never falls back)."""
    B = np.asarray(beta, dtype=float).reshape(beta.shape[0], -1)[:, 0]
    out, pen = [], []
    for g in range(starts.size - 1):
        f = order[starts[g]:starts[g + 1]]
        f = f[candidates[f]]
        if f.size == 0 or l2g[g] != 0.0 or not (np.all(np.isinf(lo[f]))
                                                 and np.all(np.isinf(hi[f]))):
            continue
        if l1g[g] == 0.0 or np.sqrt(np.sum(B[f] ** 2)) > gamma * l1g[g]:
            out.append(g)
            pen.append(l1g[g] != 0.0)
    return np.asarray(out, dtype=np.int64), np.asarray(pen, dtype=bool)


def group_recession_direction(prob, beta, order, starts, l1g, l2g, gamma):
    """:func:`recession_direction` for group MCP/SCAD: the variables are the candidate
    features of :func:`flat_groups`, each penalised group constrained to ``beta_g . e_g >=
    0``."""
    groups, penalised = flat_groups(beta, order, starts, l1g, l2g, gamma, prob.lo, prob.hi,
                                    prob.candidates)
    feats, rows = [], []
    B = np.asarray(beta, dtype=float).reshape(beta.shape[0], -1)[:, 0]
    for g, pg in zip(groups, penalised):
        f = order[starts[g]:starts[g + 1]]
        f = f[prob.candidates[f]]
        if pg:
            rows.append((len(feats), f))
        feats.extend(f.tolist())
    idx = np.asarray(feats, dtype=np.int64)
    cone = None
    if rows:  # -beta_g . e_g <= 0, one row per penalised group
        cone = np.zeros((len(rows), idx.size))
        for r, (at, f) in enumerate(rows):
            cone[r, at:at + f.size] = -B[f]
    return _ray(prob, idx, [(-1.0, 1.0)] * idx.size, cone)


def _ray(prob, idx, box, cone):
    """The linear program of the module docstring over the standardized moves of the
    features ``idx`` (bounds ``box``; ``cone @ e <= 0`` as well where given)."""
    return _lp_ray(prob.family.name, prob.X, prob.y, prob.w, prob.scale, prob.xm,
                   prob.fit_intercept, idx, box, cone)


def unpenalised_ray(X, y, family, sample_weight=None, fit_intercept=True):
    """A ray of descent of the unpenalised ``family`` loss on every column of ``X``.

    The maximum-likelihood fit on ``X`` (and an intercept) has no minimiser exactly when
    some move ``a = X d + d0`` of the linear predictor brings rows closer to their
    response for ever and worsens none (module docstring: the columns separate some rows
    of a binomial response, or push zero counts of a poisson one towards a mean of 0).
    Returns that ray as a :class:`Recession` (in units of each column's root mean
    square), or None where there is none. Decided by one linear program; call
    :func:`ray_decidable` first: beyond :data:`MAX_ENTRIES` it is not attempted and None
    means nothing.
    """
    y = np.asarray(y, dtype=float)
    w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    p = X.shape[1]
    sq = (np.asarray(X.multiply(X).mean(axis=0)).ravel() if sp.issparse(X)
          else np.mean(np.asarray(X) ** 2, axis=0))
    scale = np.where(sq > 0.0, np.sqrt(sq), 1.0)
    # no centring: with an intercept the LP's free intercept move absorbs it
    return _lp_ray(family, X, y, w, scale, np.zeros(p), fit_intercept,
                   np.arange(p, dtype=np.int64), [(-1.0, 1.0)] * p, None)


def ray_decidable(X, sample_weight=None):
    """Whether :func:`unpenalised_ray` attempts its linear program on ``X``: at most
    :data:`MAX_ENTRIES` entries (stored ones where ``X`` is sparse) in the live rows."""
    rows = X.shape[0] if sample_weight is None else int(np.count_nonzero(
        np.asarray(sample_weight) > 0))
    if sp.issparse(X):
        return X.nnz <= MAX_ENTRIES
    return rows * X.shape[1] <= MAX_ENTRIES


def _lp_ray(family, X, y, w, scale, xm, fit_intercept, idx, box, cone):
    """:func:`_ray` on plain arrays: ``X`` raw, ``scale`` and ``xm`` its columns' scales
    and means (of the standardized units), ``w`` the row weights."""
    from scipy.optimize import linprog

    live = w > 0
    s = row_signs(family, y)
    if s is None or idx.size == 0 or not np.any(s[live] != 0.0):
        return None
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
    cols = 1.0 / scale[idx]
    shift = xm[idx] * cols
    A = A @ sp.diags(cols) if sp.issparse(A) else A * cols
    w, s = w[rows], s[rows]
    k = idx.size
    bounds = list(box)
    if fit_intercept:  # a free move of the intercept, large enough for any centring
        top = float(abs(A).max()) if A.shape[0] * A.shape[1] else 0.0
        big = 1.0 + float(np.abs(shift).sum()) + top * k
        bounds.append((-big, big))
        A = (sp.hstack([A, np.ones((rows.size, 1))], format="csr") if sp.issparse(A)
             else np.hstack([A, np.ones((rows.size, 1))]))
        if cone is not None:
            cone = np.hstack([cone, np.zeros((cone.shape[0], 1))])
    else:
        A = A.tocsr() if sp.issparse(A) else A
    eq = np.flatnonzero(s == 0.0)
    ineq_up = np.flatnonzero(s > 0.0)    # a_i >= 0  ->  -a_i <= 0
    ineq_down = np.flatnonzero(s < 0.0)  # a_i <= 0
    stack = sp.vstack if sp.issparse(A) else np.vstack
    blocks = [-A[ineq_up], A[ineq_down]]
    if cone is not None:
        blocks.append(sp.csr_matrix(cone) if sp.issparse(A) else cone)
    A_ub = stack(blocks)
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
    if cone is not None and np.any(cone @ e > ROW_WORSENS * float(np.abs(e).max())):
        return None
    moved = int(np.count_nonzero(improves > ROW_MOVES * top))
    if moved == 0:
        return None
    use = e[:k] != 0.0
    return Recession(features=idx[use], direction=e[:k][use],
                     intercept=float(e[k]) if fit_intercept else 0.0, rows=moved)


class RayWatch:
    """When a solver tests a strength for a ray, and what it followed.

    A strength is tested once it has taken ``at = (sweeps, model steps)``, the sweeps at
    least ``per_row`` per weighted row (the linear program's cost grows with the rows
    times the flat columns' entries, a sweep's with the entries: 0.9 s, some 6,000
    sweeps, for 2,000 rows and a sparse active set of 450 columns); then again at 4 times
    the work, or after as much again where a ray was followed (following one may uncover
    the next as features enter). After ``misses`` tests in a row find nothing, the path
    stops testing: a nearly separable fit that has a minimiser is slow because its
    curvature vanishes, and each test would only cost time. ``rays[k]`` counts the rays
    followed at strength ``k``.
    """

    def __init__(self, enabled, live_rows, at=(5000, 50), per_row=3, misses=3):
        self.enabled = enabled
        self.first = (max(at[0], per_row * live_rows), at[1])
        self.max_misses = self.misses_left = misses
        self.next = (np.inf, np.inf)
        self.rays = []
        self.rows = 0

    def start(self):
        """A new strength."""
        self.rays.append(0)
        self.next = self.first if self.enabled and self.misses_left > 0 else (np.inf, np.inf)

    def due(self, sweeps, steps, solver):
        """Whether to test now: the strength's work reached the schedule, and the fit
        has not saturated (deviance explained past glmnet's 0.999, where the path ends
        after this strength anyway and the point the solver reaches is as good)."""
        if not (sweeps >= self.next[0] or steps >= self.next[1]):
            return False
        null = solver.null_dev
        return not (null > 0.0 and 1.0 - solver.deviance() / null > DEV_MAX)

    def tested(self, ray, sweeps, steps):
        """Record a test's outcome (``ray`` or None) at the strength's work so far."""
        if ray is None:
            self.misses_left -= 1
            self.next = (4 * max(sweeps, 1), 4 * max(steps, 1))
            return
        self.misses_left = self.max_misses
        self.next = (sweeps + self.first[0], steps + self.first[1])

    def followed(self, ray):
        """Count a ray followed at the current strength."""
        self.rays[-1] += 1
        self.rows = max(self.rows, ray.rows)

    def step(self, solver, sweeps, steps, find, eta):
        """At a slow strength, the move along a ray of descent from the current point, or
        None (not due, no ray, or no row to fit).

        ``find()`` runs the linear program (:func:`recession_direction` or
        :func:`group_recession_direction`) at the solver's coefficients; ``eta`` is its
        running predictor. Returns ``(ray, t, d, a, db0)``: the ray, how far to go
        (:func:`ray_length`, every row it moves fitted to within ``0.1 tol`` in the
        certificate's units) and :func:`ray_move`'s moves per unit, for the solver to
        apply.
        """
        if not self.due(sweeps, steps, solver):
            return None
        ray = find()
        self.tested(ray, sweeps, steps)
        if ray is None:
            return None
        prob = solver.prob
        d, a, db0 = ray_move(prob, ray)
        t = ray_length(prob.family.name, prob.y, eta, a, prob.w > 0,
                       0.1 * prob.tol * solver.grad_scale)
        if not t > 0.0:
            return None
        self.followed(ray)
        return ray, t, d, a, db0


def ray_move(prob, ray):
    """``(d, a, db0)``: the raw coefficients' moves per unit along ``ray``, the linear
    predictor's (``Xc d + db0``) and the centred intercept's."""
    X, xd, xi, xp, sparse = prob.kernel_design()
    d = ray.direction / prob.scale[ray.features]
    a = np.empty(prob.n)
    centred_combination(X, xd, xi, xp, sparse, prob.xm, ray.features, d, a)
    db0 = ray.intercept + float(prob.xm[ray.features] @ d)
    a += db0
    return d, a, db0


def ray_length(family, y, eta, a, live, eps):
    """How far to move along a ray (``eta + t a``) for every row it moves by more than
    ``1e-3`` of its largest move to be fitted to within ``eps`` (``|y_i - mu_i| <= eps``:
    such rows then add at most ``eps`` to any standardized gradient, whose weights sum to
    one). 0 when no row needs a move."""
    s = row_signs(family, y)
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


def ray_diagnostics(pen, family, margins, watch):
    """A folded-concave solver's ``(extra, warning)``: the convexity margins, the rays
    followed per strength (``"ray_steps"``, where any was) and the sentences of both."""
    from .concave_steps import nonconvex_note

    rays = np.asarray(watch.rays, dtype=np.int64)
    notes = [nonconvex_note(pen, margins), ray_note(pen, family, rays, watch.rows)]
    extra = {"convexity_margin": margins}
    if rays.any():
        extra["ray_steps"] = rays
    return extra, "; ".join(n for n in notes if n) or None
