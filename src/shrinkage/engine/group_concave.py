"""Group MCP and group SCAD paths: block coordinate descent with radial thresholding.

:class:`GroupConcaveSolver` accepts a folded-concave penalty on groups
(:class:`~shrinkage.model.group_concave.GroupFoldedConcave`: ``block == "group"``,
``shape`` ``"mcp"`` or ``"scad"``) with the gaussian family or a compiled GLM (binomial,
poisson), vector response. It is :class:`~shrinkage.engine.groups.GroupSolver`'s working
set loop (group strong rule from the lasso-like slope ``l1g`` at zero, ever-active groups
kept, one pass over X per round, violators join) with three changes:

* the block update is the radial firm (MCP) or SCAD thresholding of the majorized block
  problem, repeated on the block until it settles
  (:mod:`shrinkage.engine.kernels.group_concave`): it never increases the model;
* the certificate of every family is the largest violation of the first-order
  conditions of the nonconvex objective with the group subdifferential
  (:func:`~shrinkage.model.group_concave.group_concave_violation`), the intercept's
  gradient included, relative to the null model's largest standardized gradient;
* for GLMs, when no backtracked proximal Newton step lowers the true objective, the
  model is solved again with a proximal term ``damp L / 2 ||b - b_now||^2`` (larger each
  time), whose step is smaller and eventually descends;
* gaussian: where the sweeps crawl with the support settled (correlated groups, the
  nonconvex end of a path), Newton steps on the non-zero groups from their cached Gram
  block (:mod:`shrinkage.engine.kernels.group_concave_newton`: positive definite
  Hessian only, cut at the edges of the pieces of ``rho``, kept only where the objective
  drops); the sweeps still decide which groups are zero and end every solve.

The path follows the stationary point reached by warm starts from ``b = 0`` at
``lam_max`` (ncvreg's and grpreg's convention); :meth:`GroupConcaveSolver.diagnostics`
gives ncvreg's local convexity margin per path point (the penalty's only negative
curvature is along each group's radius, at most its concavity).
"""

from __future__ import annotations

import numpy as np

from ..model.group_concave import group_concave_value, group_concave_violation
from .concave_steps import ActiveGram, MarginTracker
from .group_gram import GroupGramSolver, prefers_gram
from .groups import GroupSolver
from .kernels.certify import centred_dots
from .kernels.group_blocks import nonzero_groups
from .kernels.group_concave import concave_group_bcd, gram_concave_bcd
from .kernels.group_concave_newton import group_newton
from .kernels.groups import settle_residual
from .kernels.moments import centred_combination
from .recession import RayWatch, group_recession_direction, ray_diagnostics
from .stopping import DEV_MAX, MIN_LAMS

__all__ = ["GroupConcaveSolver", "GroupConcaveGram"]

_MAX_DAMP = 1e12  # a proximal weight this large moves no group measurably
_EPS = float(np.finfo(float).eps)


class GroupConcaveSolver(GroupSolver):
    """Working-set block coordinate descent for group MCP/SCAD, certified by
    stationarity (see the module docstring)."""

    name = "group_concave"
    anderson = 0
    secant = False  # its own sweeps (a nonconvex path is not followed by extrapolation)
    # sweeps between Anderson extrapolations of the residual mode's active sweeps, kept
    # only where they lower the nonconvex model objective (a descent, so the same
    # stationary points); none while a proximal term damps a GLM's model
    residual_anderson = 10
    # a model step that only descends when shrunk below 2^-12 of itself jumped to another
    # basin of the nonconvex model: refuse it and damp (as for single coefficients)
    max_halvings = 12
    # as for single coefficients: the plateaus between entries are not the path's end
    stop_rules = (MIN_LAMS, DEV_MAX, -np.inf)
    # gaussian: sweeps before a Newton step on the active groups (then twice as long after
    # each refusal), its steps at most, and the work it may cost, in sweeps
    sweeps_before_newton = 20
    newton_steps = 20
    newton_max_sweeps = 100.0
    model_sweeps = 2000  # GLMs: block sweeps per model step at most (see _model_sweeps)

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return (penalty.block == "group" and penalty.shape in ("mcp", "scad")
                and family.response == "vector" and prob.y.ndim == 1
                and (family.quadratic or family.kernel_code is not None))

    def __init__(self, prob, setup):
        super().__init__(prob, setup)
        pen = prob.penalty
        self.pen = pen
        self.kind = pen.code
        self.gamma = float(pen.gamma)
        self.certificate_kind = "kkt_violation"
        self.measure_in_units(True)
        self.damp = 0.0
        self.anchor = np.zeros_like(self.beta)
        self._margins = []
        self._margin_tracker = MarginTracker(self.quadratic)
        # the centred Gram entries among the features ever active (gaussian)
        self._gram = ActiveGram(prob) if self.quadratic else None
        self._watch = RayWatch(not self.quadratic, int(np.count_nonzero(prob.w)))
        self._work = [0, 0]  # a GLM strength's sweeps and model steps so far

    # ---- what differs from the group elastic net --------------------------------------
    def penalty_value(self, beta, lam):
        l1g, _, l2g = self._arrays(lam)
        return group_concave_value(self.pen.kind, self.gamma, beta, self.order, self.starts,
                                   l1g, l2g)

    def _violations(self, lam):
        l1g, _, l2g = self._arrays(lam)
        viol = group_concave_violation(self.pen.kind, self.gamma, self.G, self.beta,
                                       self.order, self.starts, l1g, l2g, self.unit)
        viol[~self.gcand] = 0.0
        return viol

    def _bcd(self, ws, lam, thr, budget):
        """Block sweeps (:meth:`_sweeps`) on ``ws``; for the gaussian family, every
        ``sweeps_before_newton`` sweeps without settling, Newton steps on the active
        groups (:meth:`_newton`; after a refusal, twice as many sweeps before the next).
        Block descent still decides which groups are zero and ends every solve: the
        stopping test is the sweeps' own."""
        budget = max(budget, 1)
        if not self.quadratic:
            return self._sweeps(ws, lam, thr, budget)
        total = 0
        wait = self.sweeps_before_newton
        support = self._support(ws)
        while total < budget:
            chunk = min(budget - total, wait)
            done = self._sweeps(ws, lam, thr, chunk)
            total += done
            if done < chunk:
                break
            before, support = support, self._support(ws)
            # while groups still enter or leave, the sweeps choose the local solution
            if np.array_equal(before, support) and not self._newton(ws, lam, thr):
                wait *= 2
        return total

    def _support(self, ws):
        return np.any(self.beta[self.order] != 0, axis=1)

    def _active(self, ws):
        """The non-zero groups of ``ws``, their features and each group's first feature
        in that list (and the end)."""
        act = np.empty(ws.size, dtype=np.int64)
        act = act[:nonzero_groups(self.beta, self.starts, self.order, ws.astype(np.int64),
                                  act)]
        sizes = np.diff(self.starts)[act]
        off = np.zeros(act.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=off[1:])
        feats = np.concatenate([self.order[self.starts[g]:self.starts[g + 1]] for g in act]
                               ) if act.size else np.zeros(0, dtype=np.int64)
        return act, feats.astype(np.int64), off

    def _newton(self, ws, lam, thr):
        """Newton steps on the non-zero groups of ``ws``
        (:func:`~shrinkage.engine.kernels.group_concave_newton.group_newton`) from the
        cached centred Gram entries, then one update of the residual; kept only where the
        objective, recomputed from the residual, did not rise (the steps lowered it
        exactly in Gram space; the recomputation guards the cache's rounding). True if
        kept."""
        act, feats, off = self._active(ws)
        m = feats.size
        prob = self.prob
        sweep = 2.0 * prob.n * np.sum(np.diff(self.starts)[ws])
        # more active features than live rows: the loss is flat along the null space of
        # the active columns, where a flat piece of rho leaves the Hessian singular (a
        # rounding-sized pivot would send the step along it without raising the model)
        n_live = int(np.count_nonzero(prob.w)) - (1 if prob.fit_intercept else 0)
        if (m == 0 or m > n_live or m ** 3 / 3.0 > self.newton_max_sweeps * sweep
                or not self._gram.cache(feats)):
            return False
        settle_residual(self.R, self.sh)
        X, xd, xi, xp, sparse = prob.kernel_design()
        r = self.R[:, 0]
        u = self.v * r
        g = np.empty(prob.p)
        centred_dots(X, xd, xi, xp, sparse, u, float(u.sum()), prob.xm, feats, m, g)
        w = self.inv_s[feats]
        b_old = self.beta[feats, 0]
        b = b_old.copy()
        l1g, _, l2g = self._arrays(lam)
        if not group_newton(self.kind, self.gamma, self._gram.buf, self._gram.pos[feats], w,
                            g[feats] * w, b, off, l1g[act], l2g[act], 1e-3 * thr,
                            self.newton_steps):
            return False
        step = np.empty(prob.n)
        centred_combination(X, xd, xi, xp, sparse, prob.xm, feats,
                            np.ascontiguousarray((b - b_old) * w), step)
        r_new = r - step
        beta_new = self.beta.copy()
        beta_new[feats, 0] = b
        f0 = 0.5 * float(u @ r) + self.penalty_value(self.beta, lam)
        f1 = 0.5 * float(self.v @ (r_new * r_new)) + self.penalty_value(beta_new, lam)
        if not f1 <= f0 + 8.0 * _EPS * abs(f0):
            return False
        self.beta = beta_new
        self.R[:, 0] = r_new
        self.svR = self.v @ self.R
        return True

    def _settle(self):
        """The residual recomputed from the coefficients before the gradient
        (gaussian): the sweeps' running updates and the extrapolations of the residual
        drift by rounding, and on a tight path that drift (not the solution) is what the
        certificate would read."""
        if self.quadratic:
            prob = self.prob
            X, xd, xi, xp, sparse = prob.kernel_design()
            feats = np.flatnonzero(self.beta[:, 0])
            fit = np.zeros(prob.n)
            if feats.size:
                centred_combination(X, xd, xi, xp, sparse, prob.xm, feats,
                                    self.beta[feats, 0] * self.inv_s[feats], fit)
            off = 0.0 if prob.offset is None else prob.offset
            self.R[:, 0] = self.y2[:, 0] - off - self.b0[0] - fit
            self.sh[:] = 0.0
        super()._settle()

    def _sweeps(self, ws, lam, thr, budget):
        X, xd, xi, xp, sparse = self.prob.kernel_design()
        l1g, _, l2g = self._arrays(lam)
        return concave_group_bcd(self.kind, self.gamma, X, xd, xi, xp, sparse, self.v,
                                 self.vsum, self.prob.xm, self.inv_s, self.xv, self.starts,
                                 self.order, self.eoff, self.H, self.Q, self.D, ws, l1g, l2g,
                                 self.beta, self.R, self.sh, self.svR, self.b0,
                                 self.prob.fit_intercept, thr, budget, self.damp,
                                 self.anchor, self.residual_anderson)

    def _gap(self, lam):
        """Gaussian: the stationarity certificate (no duality gap for a nonconvex
        objective), the intercept's gradient ``sum_i w_i r_i`` included."""
        v = float(np.max(self._violations(lam), initial=0.0))
        if self.prob.fit_intercept:
            v = max(v, float(np.max(np.abs(self.svR))))
        return v / self.grad_scale

    def _newton_step(self, lam, ws, cert):
        """A proximal Newton step, damped (proximal term around the current point, four
        times heavier each refusal) until it lowers the objective; at a slow strength,
        then a ray of descent followed where there is one (as for single coefficients:
        :mod:`~shrinkage.engine.recession`)."""
        moved, total = self._damped_step(lam, ws, cert)
        self._work[0] += total
        self._work[1] += 1
        if self._follow_ray(lam):
            moved = True
        return moved, total

    def _damped_step(self, lam, ws, cert):
        self.anchor[:] = self.beta
        total = 0
        while True:
            moved, done = super()._newton_step(lam, ws, cert)
            total += done
            if moved is not None:
                if moved:
                    self.damp = self.damp / 4.0 if self.damp > 1e-3 else 0.0
                return moved, total
            if self.damp > _MAX_DAMP or total >= self.prob.max_iter:
                return False, total
            self.damp = max(1.0, 4.0 * self.damp)

    def _model_sweeps(self):
        """At most ``model_sweeps`` per model (as the single-coefficient solver's chunk):
        where the IRLS weights of separated rows vanish the model is so ill-conditioned
        that block sweeps crawl to ``max_iter`` inside one step, while an inexact model
        step, backtracked on the true objective, still descends."""
        return min(self.prob.max_iter, self.model_sweeps)

    def _ray(self, lam):
        """:func:`~shrinkage.engine.recession.group_recession_direction` at ``lam``."""
        l1g, _, l2g = self._arrays(lam)
        return group_recession_direction(self.prob, self.beta, self.order, self.starts, l1g,
                                         l2g, self.gamma)

    def _follow_ray(self, lam):
        """At a slow strength, move along a ray along which the flat groups separate rows
        (:meth:`~shrinkage.engine.recession.RayWatch.step`); True if it moved."""
        move = self._watch.step(self, *self._work, lambda: self._ray(lam), self._eta_out())
        if move is None:
            return False
        ray, t, _, a, db0 = move
        self.beta[ray.features, 0] += t * ray.direction  # (standardized, as the ray's)
        self.b0[0] += t * db0
        self.eta = (self._eta_out() + t * a)[:, None]
        return True
    def solve(self, lam, lam_prev):
        self._watch.start()
        self._work[:] = [0, 0]
        out = super().solve(lam, lam_prev)
        self._margins.append(self._margin(lam))
        return out

    def _margin(self, lam):
        """:func:`~shrinkage.engine.concave_steps.convexity_margin` at the current point,
        through :class:`~shrinkage.engine.concave_steps.MarginTracker` (the same while the
        gaussian support and a zero ridge part stay the same; a bound where one decides
        the sign)."""
        prob = self.prob
        lam2 = lam * prob.l2u / (prob.scale * prob.scale)
        weights = prob.w if self.quadratic else prob.w * prob.family.curvature(
            self._eta_out())
        return self._margin_tracker.margin(prob, weights, self.b, lam2, self.pen.concavity,
                                           self._gram_blocks())

    def _gram_blocks(self):
        """Where the diagnostic reads the active Gram block from (None: from X)."""
        return self._gram

    def diagnostics(self):
        """``(extra, warning)``: the margins per path point and, where the objective is
        not locally convex, the sentence the path driver warns with."""
        margins = np.asarray(self._margins, dtype=float)
        return ray_diagnostics(self.pen, self.prob.family.name, margins, self._watch)


class GroupConcaveGram(GroupConcaveSolver, GroupGramSolver):
    """Group MCP/SCAD for the gaussian family on tall dense designs, on the Gram matrix.

    :class:`GroupConcaveSolver`'s working sets, block updates and stationarity
    certificate, with :class:`~shrinkage.engine.group_gram.GroupGramSolver`'s Gram mode:
    the standardized Gram ``C = Z^T W Z`` is formed once, the gradient of every feature
    is kept exact as ``G = c0 - C beta`` (recomputed so before each certificate), the
    block Hessians are blocks of ``C``, and X is never read again. Z is centred, so the
    intercept is the target's weighted mean and its gradient is zero. Chosen where the
    group lasso's Gram mode would be (``n >= TALL_RATIO * p``, ``p <= GRAM_MAX_P``, no
    column too large in mean for the centred Gram to keep its digits).
    """

    name = "group_concave_gram"
    # sweeps between Anderson extrapolations of the active sweeps, kept only where they
    # lower the objective (a descent, so the same stationary points)
    gram_anderson = 5

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        if (penalty.block != "group" or penalty.shape not in ("mcp", "scad")
                or not family.quadratic or prob.y.ndim != 1 or prob.sparse):
            return False
        return setup.hints.solver == cls.name or prefers_gram(prob)

    def __init__(self, prob, setup):
        super().__init__(prob, setup)
        self.svR = np.zeros(self.K)  # the intercept is exact: Z is centred

    def _sweeps(self, ws, lam, thr, budget):
        l1g, _, l2g = self._arrays(lam)
        Gt = np.ascontiguousarray(self.G.T)  # the kernel's layout: one row per response
        sweeps = gram_concave_bcd(self.kind, self.gamma, self.C, self.starts, self.order,
                                  self.eoff, self.H, self.D, ws, l1g, l2g, self.beta, Gt,
                                  self.c0t, thr, budget, self.damp, self.anchor,
                                  self.gram_anderson)
        self.G = Gt.T
        return sweeps

    def _newton(self, ws, lam, thr):
        """:meth:`GroupConcaveSolver._newton` on the Gram matrix: the gradient is kept
        exact through ``C`` (no residual), so the steps' own exact descent stands."""
        act, feats, off = self._active(ws)
        m = feats.size
        if m == 0 or m ** 3 / 3.0 > self.newton_max_sweeps * self.prob.p * m:
            return False
        b_old = self.beta[feats, 0]
        b = b_old.copy()
        l1g, _, l2g = self._arrays(lam)
        if not group_newton(self.kind, self.gamma, self.C, feats, np.ones(m),
                            self.G[feats, 0], b, off, l1g[act], l2g[act], 1e-3 * thr,
                            self.newton_steps):
            return False
        G = self.G - self.C[:, feats] @ (b - b_old)[:, None]
        self.G = G
        self.beta[feats, 0] = b
        return True

    _settle = GroupGramSolver._settle  # the gradient from the Gram: no residual to drift

    def _gram_blocks(self):
        return _RawBlocks(self.C)


class _RawBlocks:
    """The standardized centred weighted Gram ``C`` as
    :func:`~shrinkage.engine.concave_steps.convexity_margin` reads a
    cache: ``source(A)`` gives ``(C, A, 1)``."""

    def __init__(self, C):
        self.C = C

    def source(self, A):
        return self.C, A, np.ones(A.size)
