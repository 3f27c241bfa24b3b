"""The Cox path on blocked data: proximal Newton with exact Hessians from two passes.

A first pass checks the survival response block by block and collects the weighted
moments of X and the distinct event times of each stratum (the grid of
:mod:`shrinkage.distributed.cox_blocks`). Then, at each point ``b`` the solver visits:

* a *histogram pass* gives the loss, the exact gradient (so the certificate) and the
  risk-set sums ``M, F`` over the grid (``2 T (p + 1)`` floats per fit and block);
* for a Newton step, a *Gram pass* gives ``sum_j d_j u_j u_j^T``; with the rank-one
  terms from ``M, F`` it is the exact Hessian of the loss in ``b``.

The step minimises the quadratic model plus the penalty locally on ``p x p`` by the
in-memory Cox solver's covariance-mode coordinate descent
(:func:`shrinkage.engine.cox.solve_model`, damped as in memory), and the histogram pass
at the trial point confirms the Armijo decrease (halving otherwise). A Newton step thus
costs two passes; a strength is done when the KKT violation from the exact gradient at
its point, in the in-memory normalisation (standardized units, relative to the null
model's largest standardized gradient), is at most ``tol``: the certificate is never
claimed without that pass. Strengths are solved one after the other, each from the
previous solution. ``run_cox`` runs several fits (the folds of a cross-validation) in
lockstep, one pass per round.
"""

from __future__ import annotations

import numpy as np

from ..engine.cox import solve_model
from ..engine.grid import strength_grid
from ..engine.kernels.certify import kkt_scan
from ..engine.newton import ProximalNewton
from ..engine.path import check_options
from ..engine.problem import constant_columns
from ..engine.stopping import RULES, early_stop_code
from ..model.build import penalty_for
from ..model.cox import TIES, Cox
from ..model.penalties import RIDGE_LAM_MAX_RATIO, PenaltyArrays
from .blocks import reduce_blocks
from .cox_blocks import CoxGrid, pass_block, setup_block, slot_terms
from .moments import Moments, select
from .problem import FitSetup, finish_path, gram_ridge_ends

__all__ = ["CoxFit", "cox_setup", "setup_pass", "run_cox", "saturated_loss"]

_EPS = float(np.finfo(float).eps)
# as the in-memory Cox solver (shrinkage.engine.cox): floor of the model's curvature, its
# Levenberg-Marquardt damping cap and the inner accuracy of the exact model
_MIN_CURVATURE = 1e-10
_MAX_DAMPING = 0.1
_INNER_ACCURACY = 1e-3
_MAX_HALVINGS = 30


def setup_pass(data, spec=None, n_groups=1):
    """The first pass: ``(total, grid)``, the per-fold moment sums (``moment_block``)
    and the :class:`~shrinkage.distributed.cox_blocks.CoxGrid` of the event times."""
    total = reduce_blocks(data, setup_block, spec, n_groups, data.shift)
    events = total.pop("events")
    if not events.times:
        raise ValueError("y has no events with positive weight (every row is censored); "
                         "the Cox model needs some")
    empty = [s for s in events.labels if s not in events.times]
    if empty:
        raise ValueError(f"stratum {empty[0]:g} has no events; drop it or merge it with "
                         "another stratum")
    return total, CoxGrid(events)


def cox_setup(mom, options, p, fam):
    """The :class:`~shrinkage.distributed.problem.FitSetup` of a Cox fit: the in-memory
    rules (``shrinkage.engine.path``) with no intercept and uncentred curvatures."""
    if options.feature_groups is not None:
        raise ValueError("feature_groups is not supported on blocked data")
    if options.penalty != "elasticnet":
        raise ValueError(f"penalty={options.penalty!r} is not supported on blocked data; "
                         "use penalty='elasticnet'")
    tol, max_iter, l1_ratio, n_lams, names = check_options(options, fam, p)
    penalty = penalty_for(fam, p, l1_ratio, options)
    if not np.all(np.isfinite(mom.xm)):
        raise ValueError("a weighted mean of X overflows double precision; rescale X")
    constant = constant_columns(mom.sums["min_x"], mom.sums["max_x"], mom.var, names)
    xs = np.sqrt(mom.var)
    scale = np.where(constant, 1.0, xs) if options.standardize else np.ones(p)
    arrays = penalty.lower_arrays(p, scale)
    lo = np.where(constant, 0.0, arrays.lo)
    hi = np.where(constant, 0.0, arrays.hi)
    xsq = mom.xsq(False)
    xsq[constant] = 0.0
    cand = ~constant
    unpen = (arrays.l1 == 0) & (arrays.l2 == 0) & cand
    return FitSetup(fam, penalty, float(tol), int(max_iter), float(l1_ratio), int(n_lams),
                    False, bool(options.standardize), names, mom.xm, mom.xm, scale, xsq,
                    arrays.l1, arrays.l2, lo, hi, cand, unpen, xs)


def saturated_loss(Wk, dk, efron):
    """The loss's infimum from the events' weights ``W_k`` and counts ``d_k`` per slot
    (``shrinkage.model.cox.Cox.saturated_loss``)."""
    k = dk > 0
    W, d = Wk[k], np.rint(dk[k]).astype(np.int64)
    sat = float(np.sum(W * np.log(W)))
    if efron:
        sat += float(sum(Wj / dj * np.sum(np.log1p(-np.arange(dj) / dj))
                         for Wj, dj in zip(W, d) if dj > 1))
    return sat


class _Point:
    """A point ``b`` and its histogram pass: ``loss``, ``mag``, ``g`` (minus the
    gradient), ``M, F`` (columns ``1:``), the slot terms ``t`` and the scale ``c``."""

    def __init__(self, b, raw, efron):
        self.b = b
        mf = raw["MF"]
        self.c = float(mf.c[0]) if np.isfinite(mf.c[0]) else 0.0
        M, F = mf.arrays["M"], mf.arrays["F"]
        self.Wk, self.dk = raw["Wk"], raw["dk"]
        t = slot_terms(M[:, 0], F[:, 0], self.Wk, self.dk, efron, self.c)
        self.t = t
        self.loss = t["loss"] - float(raw["ev_eta"])
        self.mag = t["mag"] + float(raw["ev_abs"])
        self.M, self.F = M[:, 1:], F[:, 1:]
        if np.isfinite(self.loss):
            self.g = raw["ev_u"] - (t["terms"][0] @ self.M - t["Ac"] @ self.F)
        gd = raw.get("Gd")
        self.Gd = gd if gd is not None and np.all(np.isfinite(gd)) else None


class CoxFit:
    """One Cox path (all rows, or the training rows of fold ``fold``) as a generator.

    ``request`` is ``(kind, args)``: ``("h", (fold, W, b))`` for a histogram pass,
    ``("g", (fold, W, b, c, terms, curv))`` for a Gram pass; ``send`` resumes it with
    the pass's sums; ``result`` is the :class:`~shrinkage.results.Path` once done.
    """

    #: Take the Hessian's diagonal part at a point from its histogram pass, with the
    #: risk-set weights of the point it was stepped from (one pass per Newton step),
    #: rather than from a Gram pass of its own (two).
    lagged = True

    def __init__(self, mom, options, n, fold, fam, grid):
        self.st = cox_setup(mom, options, mom.shift.size, fam)
        self.n_events = grid.n_events
        self.mom, self.options, self.n, self.fold = mom, options, n, fold
        self.efron = fam.ties == "efron"
        self.result = None
        self.passes = self.steps_total = 0
        self._gen = self._run()
        self.request = next(self._gen)

    def send(self, raw):
        """Resume with the sums of the requested pass."""
        self.passes += 1
        try:
            self.request = self._gen.send(raw)
        except StopIteration as stop:
            self.result = stop.value
            self.result.extra["passes"] = self.passes

    def point(self, b, base=None):
        """The ``_Point`` at ``b`` (one histogram pass; a generator), with the lagged
        diagonal part of the Hessian when stepped from the point ``base``."""
        lag = None if base is None or not self.lagged else (base.c, base.t["terms"])
        raw = yield ("h", (self.fold, self.mom.W, b, lag))
        return _Point(b, raw, self.efron)

    def gram(self, pt, curv=False):
        """The Gram pass at ``pt``: the raw sums of ``gram_block`` (a generator)."""
        return (yield ("g", (self.fold, self.mom.W, pt.b, pt.c, pt.t["terms"], curv)))

    def hessian(self, pt, Gd):
        """The exact Hessian of the loss in ``b`` at ``pt`` (module docstring)."""
        t = pt.t
        live = t["beta"] > 0
        U = pt.M[live] - t["ratio"][live, None] * pt.F[live]
        H = Gd - U.T @ (U * t["beta"][live, None])
        Fl = pt.F[live]
        H -= Fl.T @ (Fl * t["gamma"][live, None])
        return 0.5 * (H + H.T)

    def penalty(self, b, lam):
        """``lam * sum_j (l1u_j |b_j| + l2u_j / 2 b_j^2)``."""
        st = self.st
        return lam * float(st.l1u @ np.abs(b) + 0.5 * st.l2u @ (b * b))

    def kkt(self, pt, lam, cand):
        """The certificate at ``pt``: the largest standardized KKT violation relative to
        the null model's largest standardized gradient (as in memory)."""
        st = self.st
        out = np.empty(pt.b.size, dtype=np.int64)
        v, _ = kkt_scan(pt.g, pt.b, lam * st.l1u, lam * st.l2u, st.lo, st.hi, cand, cand,
                        st.scale, out)
        return v / self.grad_scale

    def step(self, pt, lam, cand, cert):
        """The minimiser of the exact quadratic model plus the penalty over ``cand``:
        ``(b', sweeps)`` (a generator: one Gram pass)."""
        st = self.st
        Gd = pt.Gd if pt.Gd is not None else (yield from self.gram(pt))["Gd"]
        H = self.hessian(pt, Gd)
        idx = np.flatnonzero(cand)
        G = np.ascontiguousarray(H[np.ix_(idx, idx)])
        diag = np.diag(G).copy()
        h = np.maximum(diag, _MIN_CURVATURE * float(np.max(diag, initial=0.0)))
        h = h * (1.0 + min(cert, _MAX_DAMPING))
        G[np.diag_indices_from(G)] = h
        hmax = max(float(np.max(h / st.scale[idx] ** 2)), 1e-300)
        thr = max(_INNER_ACCURACY * (cert * self.grad_scale) ** 2 / hmax, 1e-300)
        new = pt.b[idx].copy()
        sweeps = solve_model(G, pt.g[idx].copy(), h, new, lam * st.l1u[idx],
                             lam * st.l2u[idx], st.lo[idx], st.hi[idx], thr, st.max_iter)
        b = pt.b.copy()
        b[idx] = new
        return b, sweeps

    def solve(self, pt, lam, cand):
        """Proximal Newton at ``lam`` from ``pt``: ``(point, cert, steps, sweeps)``."""
        steps = sweeps = 0
        while True:
            cert = self.kkt(pt, lam, cand)
            if (cert <= self.st.tol or steps >= ProximalNewton.max_newton
                    or sweeps >= self.st.max_iter):
                return pt, cert, steps, sweeps
            b, k = yield from self.step(pt, lam, cand, cert)
            sweeps += k
            d = b - pt.b
            if not np.any(d):
                return pt, cert, steps, sweeps  # the model sees no descent
            p0 = self.penalty(pt.b, lam)
            dec = -float(pt.g @ d) + self.penalty(b, lam) - p0
            t = 1.0
            while True:
                trial = yield from self.point(pt.b + t * d, base=pt)
                change = trial.loss - pt.loss + self.penalty(trial.b, lam) - p0
                if (change <= 1e-4 * t * min(dec, 0.0)
                        or abs(change) <= 16.0 * _EPS * max(trial.mag, pt.mag)):
                    break
                t *= 0.5
                if t < 0.5 ** _MAX_HALVINGS:
                    return pt, cert, steps, sweeps  # no descent along the step
            pt = trial
            steps += 1

    def _ridge_ends(self, pt):
        """The df-based ends of a ridge grid from the curvature at the null model (as
        in memory: ``v``-weighted Gram of the columns centred at their weighted means)."""
        s = yield from self.gram(pt, curv=True)
        d = self.st.xw - self.mom.shift
        Gv = (s["suu"] - np.outer(s["su"], d) - np.outer(d, s["su"])
              + float(s["sv"]) * np.outer(d, d))
        return gram_ridge_ends(Gv, self.st, self.mom.n_live)

    def _run(self):
        st, options = self.st, self.options
        p = self.mom.shift.size
        pt = yield from self.point(np.zeros(p))
        if not np.isfinite(pt.loss):
            raise ValueError("the partial likelihood of the null model is not finite")
        null_dev = 2.0 * (pt.loss - saturated_loss(pt.Wk, pt.dk, self.efron))
        cand = st.cand
        top = float(np.max(np.abs(pt.g[cand]) / st.scale[cand])) if np.any(cand) else 1.0
        self.grad_scale = top if top > 0 else 1.0
        ends = None
        if st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None:
            ends = yield from self._ridge_ends(pt)
        if np.any(st.unpen):
            pt = (yield from self.solve(pt, 1.0, cand & st.unpen))[0]
        lam_max = st.penalty.lam_max(np.abs(pt.g), PenaltyArrays(st.l1u, st.l2u, st.lo,
                                                                 st.hi),
                                     cand & ~st.unpen, st.scale)
        lam_max = lam_max if ends is None else ends[0]
        grid, user_grid = strength_grid(options, lam_max, self.n, p, st.n_lams, ends)
        early_stop = (not user_grid) if options.early_stop is None else options.early_stop
        L = grid.size
        out = (np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L),
               np.zeros(L, dtype=np.int64))
        steps = np.zeros(L, dtype=np.int64)
        before = self.passes
        done, code = L, 0
        for k in range(L):
            pt, cert, steps[k], out[4][k] = yield from self.solve(pt, grid[k], cand)
            out[0][k], out[3][k] = pt.b, cert
            dev = 2.0 * (pt.loss - saturated_loss(pt.Wk, pt.dk, self.efron))
            out[2][k] = 1.0 - dev / null_dev if null_dev > 0 else 0.0
            code = early_stop_code(out[2], k, L, *RULES) if early_stop else 0
            if code:
                done = k + 1
                break
        extra = {"newton_steps": steps[:done], "passes_before_path": before,
                 "event_times": int(self.n_events)}
        return finish_path(st, grid, out, done, code, null_dev, lam_max, "kkt_violation",
                           extra=extra)


def run_cox(data, fits, grid, spec=None):
    """Run ``CoxFit`` generators to the end in lockstep: each pass serves every
    unfinished fit's request (``pass_block``)."""
    active = [f for f in fits if f.result is None]
    while active:
        hists = [f.request[1] for f in active if f.request[0] == "h"]
        grams = [f.request[1] for f in active if f.request[0] == "g"]
        total = reduce_blocks(data, pass_block, spec, data.shift, grid, hists, grams)
        qh = qg = 0
        for f in active:
            kind = f.request[0]
            q = qh if kind == "h" else qg
            prefix = f"{kind}/{q}/"
            f.send({k[len(prefix):]: v for k, v in total.items() if k.startswith(prefix)})
            if kind == "h":
                qh += 1
            else:
                qg += 1
        active = [f for f in active if f.result is None]


def cox_family(options, ties):
    """The :class:`~shrinkage.model.cox.Cox` family of ``ties`` (checked by name)."""
    ties = "efron" if ties is None else ties
    if ties not in TIES:
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    return Cox(ties)


def fold_moments(total, keep, shift):
    """The ``Moments`` of the fold labels ``keep`` from the setup pass's sums."""
    return Moments(select({k: v for k, v in total.items() if k != "events_fold"}, keep),
                   shift, 0.0)
