"""Binomial and poisson paths on blocked data: proximal Newton on many strengths per pass.

A pass (``points_block``) evaluates ``m`` points at once: at each, the loss, the
deviance and the gradient sums (``X^T wres`` with ``wres_i = w_i (y_i - mu_i)``); at the
first (the *anchor*) also the IRLS curvature ``v_i = w_i var(mu_i)`` and its sums ``V =
sum v``, ``sum v u``, ``sum v u u^T``. With the gradient of a point and the curvature of
its pass, the quadratic model of the loss is, up to a constant,
``1/2 sum_i v_i (wres_i / v_i - d0 - x_i . d)^2`` in the step ``(d0, d)``: exactly the
IRLS model at the anchor, and a quasi-Newton model (exact gradient, the anchor's
curvature) at the other points. Divided by ``V`` it is a weighted gaussian problem with
the centred Gram ``G = E_v[(x - xm_v)(x - xm_v)^T]``, ``c = E_v[(x - xm_v)(z - zbar)]``
and strength ``lam / V``, solved locally by the engine's covariance-mode driver
(``shrinkage.engine.covariance.covariance_path``), inexactly as in memory: to a duality
gap tied to the current KKT violation.

The path is solved on a moving window of strengths (``path_window``): each pass evaluates
the next iterate of every strength in the window (the anchor is the first's), each
strength steps from its own exact gradient, a step is kept when the next pass confirms
the Armijo decrease of ``F(t) = loss(eta + t deta) + penalty(b + t d)`` (else it is halved
and tried in the following pass), and a strength leaves the window when the KKT
violation computed from the exact gradient at its iterate is below ``tol``. The
certificate is the in-memory one (``shrinkage.engine.newton.ProximalNewton``): the
largest KKT violation in standardized units, with the intercept's gradient, relative to
the null model's largest standardized gradient.

Each fit is a generator that yields the points it needs evaluated; ``run_fits`` runs
several fits (the folds of a cross-validation) in lockstep, one pass per round.
"""

from __future__ import annotations

import numpy as np

from ..engine.covariance import GaussianCovariance, covariance_path
from ..engine.kernels.certify import kkt_scan
from ..engine.problem import (
    certificate_reference,
    movable_penalised,
    start_gradient_reference,
)
from ..engine.stopping import RULES, path_stop_code
from ..model.families import intercept_step_accepted
from ..model.penalties import RIDGE_LAM_MAX_RATIO
from .blocks import reduce_blocks
from .moments import points_block
from .pass_fit import PassFit
from .path_window import window_solve
from .problem import finish_path, fit_setup, free_arrays, gram_ridge_ends

__all__ = ["NewtonFit", "newton_path", "run_fits", "INNER_ACCURACY"]

#: Inner accuracy: the model's KKT error is kept below this share of the current one.
INNER_ACCURACY = 0.1
_POINT_STATS = ("dloss", "dmag", "loss", "dev", "sg", "sug", "sr2")
_STATS = _POINT_STATS + ("sv", "su", "suu")


class NewtonFit(PassFit):
    """One path (the full data, or the training rows of fold ``fold``) as a generator.

    ``request`` is the evaluation the fit waits for: ``(fold, W, B, B0, D, D0)`` (see
    ``points_block``); ``send`` gives it the pass's sums; ``result`` is the
    :class:`~shrinkage.results.Path` once done.
    """

    def __init__(self, mom, options, n, fold, has_offset):
        self.st = fit_setup(mom, options, mom.shift.size)
        self.mom, self.options, self.n, self.fold = mom, options, n, fold
        self.has_offset = has_offset
        self.shift = mom.shift
        self.start()

    def evaluate(self, points, which=None):
        """Evaluate ``points``, a list of ``(b, b0, db, db0)`` (the point ``(b0 + db0, b +
        db)`` reached from its base ``(b0, b)``), in one pass (a generator); returns one
        stats dict per point, each with the curvature sums of its anchor: point
        ``which[l]`` (default: the first point for every one)."""
        m = len(points)
        which = np.zeros(m, dtype=np.int64) if which is None else np.asarray(which)
        anchors, slot = np.unique(which, return_inverse=True)
        self.points += m
        self.curvatures += anchors.size
        B = np.array([pt[0] for pt in points], dtype=float)
        B0 = np.array([pt[1] for pt in points], dtype=float)
        D = np.array([pt[2] for pt in points], dtype=float)
        D0 = np.array([pt[3] for pt in points], dtype=float)
        s = yield (B, B0, D, D0, anchors, slot)
        return [{**{name: s[name][j] for name in _POINT_STATS},
                 **{name: s[name][slot[j]] for name in ("sv", "su", "suu")}}
                for j in range(m)]

    def gradient(self, s):
        """``g_j = sum_i (x_ij - xm_j) wres_i`` from the pass's sums."""
        return np.where(self.st.cand, s["sug"] + (self.shift - self.st.xm) * s["sg"], 0.0)

    def kkt(self, s, b, lam, cand):
        """The certificate: largest KKT violation (standardized, with the intercept's
        gradient) relative to the null model's largest standardized gradient."""
        st = self.st
        out = np.empty(b.size, dtype=np.int64)
        v, _ = kkt_scan(self.gradient(s), b, lam * st.l1u, lam * st.l2u, st.lo, st.hi,
                        cand, cand, st.cert_scale, out)
        if st.fit_intercept:
            v = max(v, abs(float(s["sg"])))
        return v / self.grad_scale

    def model_gram(self, s, cand):
        """The IRLS model's ``(G, cb, rbar, E_v[(r - rbar)^2], xm_v)`` at the current
        point (``cb`` its centred gradient ``E_v[(x - xm_v)(r - rbar)]``, ``r = wres /
        v``; uncentred moments without an intercept)."""
        V = float(s["sv"])
        mu = s["su"] / V
        M2 = s["suu"] / V
        c0 = self.shift
        if self.st.fit_intercept:
            rbar = float(s["sg"]) / V
            G = M2 - np.outer(mu, mu)
            cb = s["sug"] / V - mu * rbar
            erc2 = float(s["sr2"]) / V - rbar * rbar
            xm_v = c0 + mu
        else:
            rbar = 0.0
            G = M2 + np.outer(c0, mu) + np.outer(mu, c0) + np.outer(c0, c0)
            cb = (s["sug"] + c0 * float(s["sg"])) / V
            erc2 = float(s["sr2"]) / V
            xm_v = np.zeros(c0.size)
        G = 0.5 * (G + G.T)
        G[~cand, :] = 0.0
        G[:, ~cand] = 0.0
        return np.asfortranarray(G), np.where(cand, cb, 0.0), rbar, max(erc2, 0.0), xm_v

    def solve_model(self, s, b, b0, lam, cand, cert):
        """The minimiser ``(b', b0', sweeps)`` of the IRLS model plus the penalty."""
        st = self.st
        p = b.size
        V = float(s["sv"])
        G, cb, rbar, erc2, xm_v = self.model_gram(s, cand)
        c = cb + G @ b
        yw = erc2 + 2.0 * float(b @ cb) + float(b @ G @ b)
        h = np.diag(G).copy()
        obj_scale = 0.5 * erc2 if erc2 > 0 else 1.0
        hstd = h[cand] / st.cert_scale[cand] ** 2
        hmax = float(hstd.max()) if hstd.size and hstd.max() > 0 else 1.0
        viol = INNER_ACCURACY * cert * self.grad_scale / V
        rel = min(max(0.5 * viol * viol / hmax / obj_scale, 1e-20), 1e-6)
        ybar = b0 + float(xm_v @ b) + rbar if st.fit_intercept else 0.0
        bb, gg = b.copy(), cb.copy()
        out = (np.zeros((1, p)), np.zeros(1), np.zeros(1), np.zeros(1),
               np.zeros(1, dtype=np.int64))
        covariance_path(  # Fortran-ordered G, as in memory: one compiled specialisation
            np.asfortranarray(G), np.arange(p, dtype=np.int64), p, c, yw, h, st.l1u, st.l2u,
            st.lo, st.hi, cand, st.scale, np.array([lam / V]), 0, 1, rel, obj_scale, st.max_iter,
            GaussianCovariance.thr_start, GaussianCovariance.thr_shrink, st.fit_intercept,
            ybar, xm_v, 1.0, False, *RULES, *free_arrays(G, c, st, cand), bb, gg,
            np.empty(p, dtype=np.int64), *out)
        return bb, (float(out[1][0]) if st.fit_intercept else 0.0), int(out[4][0])

    def penalty(self, b, lam):
        """``lam * sum_j (l1u_j |b_j| + l2u_j / 2 b_j^2)``."""
        st = self.st
        return lam * float(st.l1u @ np.abs(b) + 0.5 * st.l2u @ (b * b))

    def objective(self, s, b, lam):
        """``loss + penalty`` at a point with stats ``s``."""
        return float(s["loss"]) + self.penalty(b, lam)

    def decrease(self, s, b, db, db0, lam):
        """The model's first-order decrease along ``(db0, db)``: ``-(X^T wres).db - (sum
        wres) db0 + penalty(b + db) - penalty(b)`` (the Armijo reference)."""
        xwres = s["sug"] + self.shift * float(s["sg"])
        return (-(float(xwres @ db) + float(s["sg"]) * db0) + self.penalty(b + db, lam)
                - self.penalty(b, lam))

    # ------------------------------------------------------------------ the solver
    def null_model(self):
        """The intercept-only model (closed form, or Newton on the intercept with an
        offset, as ``shrinkage.model.families.Family.null_eta``)."""
        st, mom = self.st, self.mom
        p = mom.shift.size
        self.b = np.zeros(p)
        zero = np.zeros(p)
        self.b0 = 0.0
        if st.fit_intercept:
            ybar = mom.ybar
            if st.family.name == "binomial":
                if not 0.0 < ybar < 1.0:
                    raise ValueError("only one class of y has positive sample_weight; the "
                                     "binomial family needs both classes")
                self.b0 = float(np.log(ybar / (1.0 - ybar)))
            else:
                if not ybar > 0.0:
                    raise ValueError("every positive count of y has zero sample_weight; the "
                                     "poisson model needs some weighted positive counts")
                self.b0 = float(np.log(ybar))
        self.s = (yield from self.evaluate([(self.b, self.b0, zero, 0.0)]))[0]
        if st.fit_intercept and self.has_offset:
            for _ in range(100):
                g = np.atleast_1d(float(self.s["sg"]))
                if abs(g[0]) < 1e-12:
                    break
                step = g[0] / float(self.s["sv"])
                t = 1.0  # Newton, halved until the loss drops (Armijo): one pass per try
                while t > 1e-6:
                    new = (yield from self.evaluate([(self.b, self.b0 + t * step, zero,
                                                      0.0)]))[0]
                    if intercept_step_accepted(float(self.s["loss"]), g, float(new["loss"]),
                                               np.atleast_1d(float(new["sg"])), t,
                                               g[0] * step):
                        break
                    t *= 0.5
                else:
                    break  # no decrease in floating point: as close as the loss can tell
                self.b0, self.s = self.b0 + t * step, new
                if abs(t * step) < 1e-12 * (1.0 + abs(self.b0)):
                    break

    def _run(self):
        st, options = self.st, self.options
        p = self.mom.shift.size
        yield from self.null_model()
        null_dev = float(self.s["dev"])
        g = self.gradient(self.s)
        cand = st.cand
        self.grad_scale = certificate_reference(g, st.cert_scale, cand)
        ends = None
        if st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None:
            d = st.xm - self.shift
            s = self.s
            Gv = (s["suu"] - np.outer(s["su"], d) - np.outer(d, s["su"])
                  + float(s["sv"]) * np.outer(d, d))
            ends = gram_ridge_ends(Gv, st, self.mom.n_live)
        start = (self.b, self.b0, self.s)
        if np.any(st.unpen):
            done = []
            yield from window_solve(self, np.array([1.0]), cand & st.unpen, start,
                                    lambda e: done.append(e))
            start = (done[0].b, done[0].b0, done[0].s)
        g = self.gradient(start[2])
        if np.any(st.unpen):  # relative to the unpenalised fit (engine Solver.rebase_reference)
            self.grad_scale = start_gradient_reference(
                self.grad_scale, g, st.cert_scale, movable_penalised(cand, st.unpen, st.lo, st.hi))
        lam_max, grid, early_stop = self.path_grid(np.abs(g), cand & ~st.unpen, ends)
        L = grid.size
        out = (np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L),
               np.zeros(L, dtype=np.int64))
        stop = [L, 0]
        steps = np.zeros(L, dtype=np.int64)
        before = self.passes

        def record(e):  # strengths arrive in order; True stops the path
            k = e.k
            out[0][k], out[1][k], out[3][k], out[4][k] = e.b, e.b0, e.cert, e.sweeps
            steps[k] = e.steps
            out[2][k] = 1.0 - float(e.s["dev"]) / null_dev if null_dev > 0 else 0.0
            code = path_stop_code(out[2], k, L, RULES, out[0][k], st.lo, st.hi, st.l1u,
                                  st.l2u, st.family.flat_relative) if early_stop else 0
            if code:
                stop[:] = [k + 1, code]
            return bool(code)

        yield from window_solve(self, grid, cand, start, record)
        classes = (np.array([0, 1]) if st.family.name == "binomial"
                   and float(self.mom.sums["non01"]) == 0 else None)
        extra = {"newton_steps": steps[:stop[0]], "passes_before_path": before,
                 "points_evaluated": self.points, "curvature_sums": self.curvatures}
        return finish_path(st, grid, out, stop[0], stop[1], null_dev, lam_max,
                           "kkt_violation", extra=extra, classes=classes)


def newton_path(mom, options, n, fold=-1, has_offset=False):
    """A ``NewtonFit`` of ``options`` on the rows summarised by ``mom``."""
    return NewtonFit(mom, options, n, fold, has_offset)


def run_fits(data, fits, spec=None):
    """Run ``NewtonFit`` generators to the end, all in lockstep: each pass evaluates
    every unfinished fit's request (``points_block``)."""
    active = [f for f in fits if f.result is None]
    fam = active[0].st.family.kernel_code if active else None
    while active:
        total = reduce_blocks(data, points_block, spec, fam, data.shift,
                              [f.request for f in active])
        for q, f in enumerate(active):
            f.send({name: total[f"{q}/{name}"] for name in _STATS})
        active = [f for f in active if f.result is None]
