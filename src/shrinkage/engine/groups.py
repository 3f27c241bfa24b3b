"""The group solver: block coordinate descent with exact block updates, for penalties that
act on groups of coefficients (``penalty.block == "group"``).

One strategy serves every family it accepts:

* gaussian and multi-response gaussian (``family.quadratic``): the loss is its own
  quadratic model, so block coordinate descent on the residual solves it; the group
  Hessians ``Z_g^T W Z_g`` are computed once per path, when a group first enters a
  working set. Each ``lam`` starts on the secant through the last two solutions. Once a
  few sweeps leave the non-zero groups as they were, a Newton step on those groups
  (:mod:`shrinkage.engine.kernels.group_newton`) stands for the hundreds of sweeps an
  ill-conditioned design would need; sweeps decide the zero groups and end every solve.
  Certificate: the duality gap relative to the null objective (group_gap).
* binomial and poisson (compiled ``kernel_code``, vector response): proximal Newton. Each
  step builds the IRLS model at the current point, solves it by block coordinate descent
  and takes the longest backtracking step that decreases the true objective (Armijo).
  The working set's block Hessians are recomputed only when the IRLS weights ``v`` moved
  by more than a factor ``hessian_slack`` (in ``max(v / u) / min(v / u)``) from the
  weights ``u`` they were computed at; in between they are scaled by ``max(v / u)``, an
  upper bound of the true block Hessians, so each block update minimises a majorizer of
  the model along its block (same fixed point, no eigendecomposition). The IRLS models
  are solved as the gaussian ones (Newton steps on their non-zero groups between
  sweeps), and each ``lam`` starts on the secant where that lowers the true objective.
  Certificate: the largest group KKT violation (distance of the gradient from the group
  subdifferential, standardized units) relative to the null (or unpenalised) fit's.

Along the path, each ``lam`` starts from the group strong rule (a group whose gradient's
dual norm is below ``2 lam - lam_prev`` is left out) plus the groups ever active and the
unpenalised ones; after the working set is solved, one pass over X gives the exact
gradient of every feature, violating groups join the working set, and the certificate is
computed at that exact point (block updates: :mod:`shrinkage.engine.kernels.groups`).
"""

from __future__ import annotations

import numpy as np

from ..model.groups import block_tolerance_scales, group_kkt_violation, group_penalty_value
from .contract import Solver
from .drift import certify_settled
from .group_gap import GroupGap, soft_norm
from .kernels.group_blocks import group_features, weighted_values
from .kernels.group_newton import bcd_with_newton, extrapolate
from .kernels.groups import block_hessians, settle_residual, weighted_sums
from .kernels.moments import centred_combination

_EPS = float(np.finfo(float).eps)


def _weighted_design(xd, xi, v):
    """``(xdv, vc)`` with ``v_i xd_q = vc xdv_q`` for a CSC design's stored entries: with
    equal weights ``xd`` itself (no copy: a sweep streams one array), else ``v_i xd_q``, 1."""
    if v.size and np.all(v == v[0]):
        return xd, float(v[0])
    return weighted_values(xd, xi, v), 1.0


class GroupSolver(GroupGap, Solver):
    """Block coordinate descent with exact group updates (see the module docstring)."""

    name = "group"
    max_newton = 100
    drift_by_mean = True  # (GLMs) the residual is w (y - mu) row by row (engine.drift)
    max_halvings = 40  # of the proximal Newton step's backtracking
    inner_accuracy = 1e-3
    anderson = 5  # sweeps between Anderson extrapolations (0: none)
    # proximal Newton keeps the block Hessians of earlier IRLS weights ``u``, scaled by
    # ``rho = max_i v_i / u_i`` (``rho Z_g^T U Z_g >= Z_g^T V Z_g``: a majorizer) while
    # ``max(v / u) / min(v / u)`` stays below this
    hessian_slack = 3.0
    # Newton steps on the non-zero groups (of the quadratic model: the gaussian loss or an
    # IRLS model, vector response) after this many sweeps left them as they were (0:
    # never), ``newton_steps`` at a time, each by conjugate gradients (at
    # most ``newton_cg``) to ``newton_forcing`` times the gradient's norm
    newton_after, newton_steps, newton_cg, newton_forcing = 3, 1, 200, 0.5
    # ... once the non-zero groups hold this share of n features (below, Z_F is well
    # conditioned: a few sweeps settle it, each costing a conjugate gradient iteration)
    newton_share = 0.5
    # gaussian: whether the sweeps end on a sweep over the whole working set that moves no
    # block by more than the threshold (False: once the non-zero groups settle; the pass
    # over X for the certificate then checks the zero ones)
    confirm = False
    secant = True  # warm starts on the path's secant (moves the residual sweeps' state)

    @classmethod
    def accepts(cls, family, penalty, prob, setup):
        return penalty.block == "group" and penalty.shape == "elasticnet" and (
            family.quadratic or (family.kernel_code is not None
                                 and family.response == "vector"))

    def __init__(self, prob, setup):
        self.prob = prob
        pen = prob.penalty
        self.order, self.starts = pen.order, pen.starts
        self.G_n = self.starts.size - 1
        self.l1g_u, self.l1in_u, self.l2g_u = pen.unit_arrays()
        n, p = prob.n, prob.p
        self.vector = prob.y.ndim == 1
        self.K = 1 if self.vector else prob.y.shape[1]
        self.quadratic = bool(prob.family.quadratic)
        self.certificate_kind = "duality_gap" if self.quadratic else "kkt_violation"
        self.inv_s = np.where(prob.candidates, 1.0 / prob.scale, 0.0)
        self.sizes = sizes = np.diff(self.starts)
        self.eoff = np.zeros(self.G_n + 1, dtype=np.int64)
        np.cumsum(sizes * sizes, out=self.eoff[1:])
        self.H = np.zeros(self.eoff[-1])
        self.Q = np.zeros(self.eoff[-1])
        self.D = np.zeros(p)
        self.xv = np.zeros(p)
        self.fresh = np.zeros(self.G_n, dtype=bool)  # Hessian cached for the weights
        self.v_hess = None  # the IRLS weights of the cached Hessians (before scaling)
        self.hscale = 1.0  # the factor they carry (see hessian_slack)
        self.heads = np.full(n, -1, dtype=np.int64)  # block_hessians' row lists
        # a sparse design's values times ``v`` (for ``v``); the secant's points (``_secant``)
        self.xdv = self.xdv_of = self.prev_sol = self.cur_lam = None
        self.vc = 1.0  # the weight that ``xdv`` leaves out (see ``_weighted_design``)
        self.beta = np.zeros((p, self.K))
        self.b0 = np.atleast_1d(np.asarray(setup.b0, dtype=float)).copy()
        if self.b0.size != self.K:
            self.b0 = np.zeros(self.K)
        self.y2 = prob.y.reshape(n, self.K)
        self.eta = np.array(setup.eta, dtype=float).reshape(n, self.K)
        self.gcand = np.add.reduceat(prob.candidates[self.order].astype(int),
                                     self.starts[:-1]) > 0
        self.unpen_g = (self.l1g_u == 0) & (self.l1in_u == 0) & (self.l2g_u == 0) & self.gcand
        self.ever = np.zeros(self.G_n, dtype=bool)
        self.free = None  # the dual point's projection off unpenalised groups (lazy)
        self.thr_rel = 0.1  # sweep threshold / (tol * null objective) last certified
        self.sh = np.zeros(self.K)
        self.svR = np.zeros(self.K)
        if self.quadratic:
            self.v = prob.w
            self.vsum = float(np.sum(prob.w))
            self.R = np.asfortranarray(self.y2 - self.eta)
            yc = self.y2 if prob.offset is None else self.y2 - prob.offset.reshape(n, self.K)
            if prob.fit_intercept:
                yc = yc - prob.w @ yc
            null_obj = 0.5 * float(np.sum(prob.w @ (yc * yc)))
            self.obj_scale = null_obj if null_obj > 0 else 1.0
            self.svR = self.v @ self.R
        self.G = self._full_gradient()
        self.measure_in_units(not self.quadratic)

    def measure_in_units(self, kkt):
        """Set ``grad_scale`` (the null model's largest gradient), ``unit`` and
        ``block_scale``: with a KKT certificate (``kkt``) each feature's violation is
        measured per unit of its column's spread (``Problem.cert_scale``), so that one
        column on a huge scale cannot set a reference that hides the others' violations;
        the block solves measure theirs so too (``block_tolerance_scales``)."""
        prob = self.prob
        unit = prob.cert_unit
        self.unit = unit if kkt and np.any(unit[prob.candidates] != 1.0) else None
        gs = np.abs(self.G)[prob.candidates] * (1.0 if self.unit is None
                                                 else unit[prob.candidates][:, None])
        self.grad_scale = float(np.max(gs)) if gs.size and np.max(gs) > 0 else 1.0
        self.block_scale = block_tolerance_scales(self.G, unit, prob.candidates, self.order,
                                                  self.starts, self.grad_scale)

    # ---- the contract -------------------------------------------------------------------
    @property
    def b(self):
        """The coefficients on the original scale, (p,) or (p, K)."""
        b = self.beta * self.inv_s[:, None]
        return b[:, 0].copy() if self.vector else b

    def feature_gradient(self):
        g = self.G * self.prob.scale[:, None]
        return g[:, 0] if self.vector else g

    def intercept(self):
        b0 = self.b0 - self.prob.xm @ (self.beta * self.inv_s[:, None])
        return float(b0[0]) if self.vector else b0

    def deviance(self):
        if self.quadratic:
            return float(np.sum(self.prob.w @ (self.R * self.R)))
        return self.prob.family.deviance(self.prob.y, self._eta_out(), self.prob.w)

    def fit_unpenalized(self):
        self._solve(1.0, 1.0, self.unpen_g.copy())

    def rebase_reference(self):  # the gap's objective (super), block tolerances and KKT's
        super().rebase_reference()
        self.measure_in_units(not self.quadratic)

    def solve(self, lam, lam_prev):
        return self._solve(lam, lam_prev, None)

    # ---- pieces -------------------------------------------------------------------------
    def _model_sweeps(self):
        """The sweeps one Newton step's model may take (all of ``max_iter`` here)."""
        return self.prob.max_iter

    def _eta_out(self):
        return self.eta[:, 0] if self.vector else self.eta

    def _full_gradient(self):
        """Standardized ``-d loss / d beta`` of every feature (one pass over X)."""
        prob = self.prob
        if self.quadratic:
            rw = prob.w[:, None] * self.R
        else:
            rw = (prob.w * (prob.y - prob.family.mean(self._eta_out())))[:, None]
        g = prob.gradient(rw[:, 0].copy() if self.K == 1 else rw)
        return g.reshape(prob.p, self.K) * self.inv_s[:, None]

    def _arrays(self, lam):
        return lam * self.l1g_u, lam * self.l1in_u, lam * self.l2g_u

    def _violations(self, lam):
        l1g, l1in, l2g = self._arrays(lam)
        viol = group_kkt_violation(self.G, self.beta, self.order, self.starts, l1g, l1in, l2g,
                                   self.unit)
        viol[~self.gcand] = 0.0
        return viol

    def _hessians(self, groups):
        todo = groups[~self.fresh[groups]].astype(np.int64)
        if todo.size:
            X, xd, xi, xp, sparse = self.prob.kernel_design()
            block_hessians(X, xd, xi, xp, sparse, self.v, self.vsum, self.prob.xm,
                           self.inv_s, self.starts, self.order, self.eoff, todo, self.H,
                           self.Q, self.D, self.xv, self.heads)
            self.fresh[todo] = True

    def _irls_hessians(self, ws):
        """Block Hessians for the new IRLS weights ``v``: recomputed (with their
        eigenvectors) when ``v`` moved by more than ``hessian_slack`` from the weights
        ``u`` they were computed at; otherwise kept and scaled by ``rho = max v / u``.
        ``rho Z_g^T U Z_g - Z_g^T V Z_g = Z_g^T (rho U - V) Z_g`` is positive
        semi-definite, so each block update exactly minimises a majorizer of the IRLS
        model along its block; the sweeps' fixed point (the block optimality conditions
        with the exact gradient) is the model's minimiser whatever the block metric."""
        rho = self._hessian_ratio()
        if rho is None:
            self.fresh[:] = False
            self.v_hess, self.hscale = self.v.copy(), 1.0
            self._hessians(ws)
            return
        X, xd, xi, xp, sparse = self.prob.kernel_design()
        todo = ws[~self.fresh[ws]].astype(np.int64)
        if todo.size:  # new groups: at the cached weights, then scaled as the others
            block_hessians(X, xd, xi, xp, sparse, self.v_hess, float(np.sum(self.v_hess)),
                           self.prob.xm, self.inv_s, self.starts, self.order, self.eoff,
                           todo, self.H, self.Q, self.D, self.xv, self.heads)
            self.fresh[todo] = True
            for g in todo:
                self.H[self.eoff[g]:self.eoff[g + 1]] *= self.hscale
                self.D[self.starts[g]:self.starts[g + 1]] *= self.hscale
        f = rho / self.hscale
        self.H *= f
        self.D *= f
        self.hscale = rho
        weighted_sums(X, xd, xi, xp, sparse, self.v,
                      group_features(self.starts, self.order, ws.astype(np.int64)), self.xv)

    def _hessian_ratio(self):
        """``rho = max v / u`` when the cached Hessians may stand in (see
        ``_irls_hessians``), else None."""
        u = self.v_hess
        if (u is None or self.hessian_slack <= 1.0
                or type(self)._bcd is not GroupSolver._bcd):
            # only the elastic-net block update is known to take a majorizing metric
            return None
        pos = u > 0
        if np.any(self.v[~pos] > 0):
            return None
        r = self.v[pos] / u[pos]
        if r.size == 0 or not np.min(r) > 0:
            return None
        hi = float(np.max(r))
        return hi if hi <= self.hessian_slack * float(np.min(r)) else None

    def _bcd(self, ws, lam, thr, budget):
        X, xd, xi, xp, sparse = self.prob.kernel_design()
        l1g, l1in, l2g = self._arrays(lam)
        if xd is not None and self.xdv_of is not self.v:
            self.xdv_of = self.v
            self.xdv, self.vc = _weighted_design(xd, xi, self.v)
        # Newton steps (and the chunked sweeps that look for them) only where the working
        # set could hold enough features to take them
        newton = self.newton_after if self.sizes[ws].sum() >= self.newton_share * self.prob.n \
            else 0
        return bcd_with_newton(
            X, xd, xi, xp, self.xdv, self.vc, sparse, self.v, self.vsum, self.prob.xm, self.inv_s,
            self.xv, self.starts, self.order, self.eoff, self.H, self.Q, self.D, ws, l1g, l1in,
            l2g, self.beta, self.R, self.sh, self.svR, self.b0, self.prob.fit_intercept, thr,
            max(budget, 1), 1e-3 * self.prob.tol * self.block_scale, self.anderson,
            newton, self.newton_steps, self.newton_cg,
            self.newton_forcing, self.confirm or not self.quadratic,
            int(self.newton_share * self.prob.n))

    def _strong(self, lam, lam_prev):
        cut = max(2.0 * lam - lam_prev, 0.0)
        l1g, l1in, _ = self._arrays(cut)
        score = soft_norm(self.G, self.order, self.starts, l1in)
        keep = (score >= l1g) & (l1g + l1in > 0)
        keep |= self.ever | self.unpen_g
        return keep & self.gcand

    def _solve(self, lam, lam_prev, ws_mask):
        expand = ws_mask is None
        in_ws = self._strong(lam, lam_prev) if expand else ws_mask
        if self.quadratic:
            cert, sweeps = self._solve_quadratic(lam, in_ws, expand)
        else:
            moved = expand and self.secant and self._secant(lam)
            cert, sweeps = self._solve_newton(lam, in_ws, expand, moved)
        if expand:
            self.ever |= np.add.reduceat(np.any(self.beta != 0, axis=1)[self.order],
                                         self.starts[:-1]) > 0
        return cert, sweeps

    # ---- gaussian ------------------------------------------------------------------------
    def _solve_quadratic(self, lam, in_ws, expand):
        prob = self.prob
        unit = prob.tol * self.obj_scale
        # the sweeps' stopping threshold that certified the previous lam, loosened a little
        # so that it can drift back up: each failed certificate costs a pass over X
        thr = min(0.1, 4.0 * self.thr_rel) * unit
        sweeps = 0
        if expand and self.K == 1 and self.secant:
            self._secant(lam)
        while True:
            ws = np.flatnonzero(in_ws)
            self._hessians(ws)
            sweeps += self._bcd(ws, lam, thr, prob.max_iter - sweeps)
            self._settle()
            cert = self._gap(lam) if expand else self._ws_gap(lam, in_ws)
            if cert <= prob.tol or sweeps >= prob.max_iter:
                self.thr_rel = thr / unit if unit > 0 else 0.1
                return cert, sweeps
            new = (self._violations(lam) > 0) & ~in_ws if expand else np.zeros(1, bool)
            if np.any(new):
                in_ws = in_ws | new
            else:
                # the moves shrink about in proportion to the gap (linear convergence):
                # aim the threshold at the tolerance rather than a fixed tenth
                thr *= min(0.1, max(0.3 * prob.tol / cert, 1e-4))
                if thr < 1e-300:
                    return cert, sweeps

    def _secant(self, lam):
        """Start from the secant through the last two solutions (log-strength scale);
        whether it moved. A GLM keeps the move only where it lowers the objective at
        ``lam`` (the residual of a quadratic model moves with it exactly; a GLM's linear
        predictor does, but its loss is not the model's)."""
        prev, cur = self.prev_sol, self.cur_lam
        self.prev_sol = None if cur is None else (cur, self.beta.copy())
        self.cur_lam = lam
        ratio = np.log(lam / cur) / np.log(cur / prev[0]) if prev and prev[0] != cur else 0
        if not 0.0 < ratio <= 2.0:
            return False
        design = self.prob.kernel_design()[:4]
        if self.quadratic:
            extrapolate(*design, self.prob.xm, self.inv_s, self.beta, prev[1], ratio, self.R)
            self.svR = self.v @ self.R
            return True
        beta0, eta0 = self.beta.copy(), self.eta[:, 0]
        minus = np.zeros((self.prob.n, 1))  # -Z (beta - beta0), Z the centred design
        extrapolate(*design, self.prob.xm, self.inv_s, self.beta, prev[1], ratio, minus)
        eta = eta0 - minus[:, 0]
        if self._objective(eta, self.beta, lam) < self._objective(eta0, beta0, lam):
            self.eta = eta[:, None]
            return True
        self.beta = beta0
        return False

    def _settle(self):
        """Make the gradient exact after sweeps (running updates accumulate rounding; the
        certificate reads it)."""
        settle_residual(self.R, self.sh)
        self.svR = self.v @ self.R
        self.G = self._full_gradient()

    def _ws_gap(self, lam, in_ws):
        """The certificate of a fit restricted to ``in_ws`` (the unpenalised start)."""
        viol = self._violations(lam)
        return float(np.max(viol[in_ws], initial=0.0)) / self.grad_scale

    # ---- GLM: proximal Newton --------------------------------------------------------------
    def penalty_value(self, beta, lam):
        """The penalty at the standardized coefficients ``beta`` and strength ``lam``."""
        l1g, l1in, l2g = self._arrays(lam)
        return group_penalty_value(beta, self.order, self.starts, l1g, l1in, l2g)

    def _objective(self, eta, beta, lam):
        prob = self.prob
        return prob.family.loss(prob.y, eta, prob.w) + self.penalty_value(beta, lam)

    def _glm_cert(self, lam, mask=None):
        viol = self._violations(lam)
        if mask is not None:
            viol = viol[mask]
        v = float(np.max(viol, initial=0.0))
        if self.prob.fit_intercept:
            mu = self.prob.family.mean(self._eta_out())
            v = max(v, abs(float(self.prob.w @ (self.prob.y - mu))))
        return v / self.grad_scale

    def _solve_newton(self, lam, in_ws, expand, stale=False):
        """Proximal Newton steps until the KKT certificate is within ``prob.tol``; with
        ``stale`` (the secant moved the point, ``self.G`` is the gradient before) the
        certificate from ``self.G`` only sizes the first step, which is always taken."""
        restrict = None if expand else in_ws
        counts = [0, 0]  # sweeps, Newton steps
        cert = certify_settled(  # at the predictor X b itself (engine.drift)
            self, lambda first: self._newton_rounds(lam, in_ws, restrict, stale and first,
                                                    counts),
            self._at_adopted_eta, lambda: self._glm_cert(lam, restrict))
        return cert, counts[0]

    def _at_adopted_eta(self):
        """The gradient at ``eta`` after ``settle_predictor`` replaced it."""
        self.G = self._full_gradient()

    def _newton_rounds(self, lam, in_ws, restrict, stale, counts):
        """Newton steps on ``in_ws`` (grown in place by the violators unless ``restrict``
        fixes it) until certified at the running ``eta`` or a cap; returns the
        certificate, the sweeps and steps added to ``counts``."""
        prob = self.prob
        expand = restrict is None
        cert = self._glm_cert(lam, restrict)
        if stale:
            cert = max(cert, prob.tol)
        sweeps, steps = counts
        while ((cert > prob.tol or stale) and steps < self.max_newton
               and sweeps < prob.max_iter):
            stale = False
            steps += 1
            ws = np.flatnonzero(in_ws)
            moved, done = self._newton_step(lam, ws, cert)
            sweeps += done
            self.G = self._full_gradient()
            cert = self._glm_cert(lam, restrict)
            if expand:
                new = (self._violations(lam) > 0) & ~in_ws
                in_ws |= new
                if not moved and not np.any(new):
                    break
            elif not moved:
                break
        counts[:] = [sweeps, steps]
        return cert

    def _newton_step(self, lam, ws, cert):
        """One proximal Newton step on the groups ``ws``; ``(moved, sweeps)``, ``moved``
        None when the model moved but no backtracked step lowers the objective."""
        prob = self.prob
        fam = prob.family
        eta = self._eta_out()
        mu = fam.mean(eta)
        var = fam.curvature(eta)
        self.v = prob.w * var
        self.vsum = float(np.sum(self.v))
        z = (prob.y - mu) / var
        self.R = z[:, None].copy()
        self.sh[:] = 0.0
        self.svR = self.v @ self.R
        self._irls_hessians(ws)
        beta_old, b0_old = self.beta.copy(), self.b0.copy()
        hmax = float(np.max(self.D, initial=0.0)) or 1.0
        thr = max(self.inner_accuracy * (cert * self.grad_scale) ** 2 / hmax, 1e-300)
        sweeps = self._bcd(ws, lam, thr, self._model_sweeps())
        settle_residual(self.R, self.sh)
        d = self.beta - beta_old
        d0 = self.b0 - b0_old
        if not np.any(d) and not np.any(d0):
            return False, sweeps
        # the step of eta from the coefficients' moves, not as z - R: a row whose mean is
        # tiny has a huge working response z, and the difference loses its digits
        moved = np.flatnonzero(d[:, 0]).astype(np.int64)
        X, xd, xi, xp, sparse = prob.kernel_design()
        deta = np.empty(prob.n)
        centred_combination(X, xd, xi, xp, sparse, prob.xm, moved,
                            np.ascontiguousarray(d[moved, 0] * self.inv_s[moved]), deta)
        deta += d0[0]
        f0 = self._objective(eta, beta_old, lam)
        pen0 = self.penalty_value(beta_old, lam)
        pen1 = self.penalty_value(self.beta, lam)
        decrease = -float(prob.w @ ((prob.y - mu) * deta)) + pen1 - pen0
        slack = 8.0 * _EPS * abs(f0)
        t = 1.0
        # a predicted decrease below the objective's rounding cannot be checked by
        # evaluating it: the quadratic model is exact to that order, so the full step stands
        for _ in range(0 if -decrease <= 64.0 * _EPS * abs(f0) else self.max_halvings):
            beta_t = beta_old + t * d
            f1 = self._objective(eta + t * deta, beta_t, lam)
            if f1 <= f0 + 1e-4 * t * min(decrease, 0.0) + slack:
                break
            t *= 0.5
        else:
            if -decrease > 64.0 * _EPS * abs(f0):
                self.beta, self.b0 = beta_old, b0_old
                return None, sweeps  # a step was found but none of it descends
        if t != 1.0:
            self.beta = beta_old + t * d
        self.b0 = b0_old + t * d0
        self.eta = (eta + t * deta)[:, None]
        return True, sweeps
