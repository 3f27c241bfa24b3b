"""The Cox path on blocked data: proximal Newton on a window of strengths per pass.

A first pass checks the survival response block by block and collects the weighted
moments of X and the distinct event times of each stratum (the grid of
:mod:`shrinkage.distributed.cox_blocks`). Every later pass evaluates the next trial
point of each strength of a window (``path_window``, up to 16 strengths): at each, the
histograms ``M, F`` over the grid give the loss, the exact gradient (so the
certificate) and the Hessian's rank-one terms, and at up to four *anchors* the pass
also sums the Hessian's diagonal part ``sum_j d_j u_j u_j^T``. Its row weights ``d_j``
need the risk-set sums ``sum_k A1_k`` of the whole data at the same point, known only
after the pass, so the pass uses those of the point the trial stepped from (lagged one
step; exact once the steps vanish). The null model's diagonal part comes from a Gram
pass of its own (``gram_block``).

Each strength's step minimises its quadratic model (exact gradient, the Hessian above)
plus the penalty locally on ``p x p`` by the in-memory Cox solver's covariance-mode
coordinate descent (``shrinkage.engine.cox.solve_model``, damped as in memory); the
next pass confirms the Armijo decrease (halving otherwise). A strength is done when the
KKT violation from the exact gradient at its point, in the in-memory normalisation
(standardized units, relative to the null model's largest standardized gradient), is at
most ``tol``: the certificate is never claimed without that pass. A window's
histograms take ``16 T (p + 1)`` bytes per strength and block (``T`` slots); past
``WINDOW_BYTES`` (shared by the folds of a cross-validation) fewer strengths share a
pass, down to one. ``run_cox`` runs several
fits (the folds of a cross-validation) in lockstep, one pass per round.
"""

from __future__ import annotations

import numpy as np

from ..engine.cox import curvature_floor, solve_model
from ..engine.kernels.certify import kkt_scan
from ..engine.problem import (
    certificate_reference,
    movable_penalised,
    start_gradient_reference,
)
from ..engine.stopping import RULES, path_stop_code
from ..model.cox import TIES, Cox
from ..model.penalties import RIDGE_LAM_MAX_RATIO
from .blocks import reduce_blocks
from .cox_blocks import CoxGrid, pass_block, setup_block, slot_terms
from .moments import Moments, select
from .pass_fit import PassFit
from .path_window import WINDOW, window_solve
from .problem import check_penalty_options, finish_path, fit_setup, gram_ridge_ends

__all__ = ["CoxFit", "cox_setup", "setup_pass", "run_cox", "saturated_loss",
           "WINDOW_BYTES"]

_EPS = float(np.finfo(float).eps)
# as the in-memory Cox solver (shrinkage.engine.cox, whose curvature_floor it takes): the
# Levenberg-Marquardt damping cap and the inner accuracy of the exact model
_MAX_DAMPING = 0.1
_INNER_ACCURACY = 1e-3
#: Bytes of one window's histograms per block (``16 T (p + 1)`` per point): fewer
#: strengths share a pass past it (one at least), so a worker's partial sums stay small.
WINDOW_BYTES = 1 << 27
#: A lagged curvature is trusted while the largest linear predictor moved by at most this
#: much from the point whose risk-set weights it used (and from its anchor's point):
#: beyond it the weights are off by ``exp`` of the move, the model is no model (curvatures
#: of 1e72 seen on a ``p ~ n`` path, the inner solve then ran to ``max_iter``), and the
#: strength re-evaluates its own point first (``path_window``, a refresh).
LAG_SHIFT = 5.0
_TINY_RISK = 2.0 ** -400


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
    check_penalty_options(options)
    return fit_setup(mom, options, p, fam, fit_intercept=False, centre=mom.xm)


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


def risk_scale(S, dk):
    """The shift (``<= 0``) of a point's scale that keeps its curvature finite: half the
    log of its smallest risk-set sum ``S`` (relative to its largest risk) over the slots
    with events, when that sum is below ``2^-400``, else 0. The curvature's weights hold
    ``1 / den^2``, which overflow past about ``exp(-355)`` (a fit near saturation, ``p ~
    n``; ``shrinkage.model.cox_math.cox_terms`` shifts the same way)."""
    live = S[dk > 0]
    small = float(live.min()) if live.size else np.inf
    return 0.5 * np.log(small) if 0.0 < small < _TINY_RISK else 0.0


class _Point:
    """A point ``b`` and its histogram pass: ``loss``, ``mag``, ``g`` (minus the
    gradient), ``M, F`` (columns ``1:``), the slot terms ``t``, the scale ``c`` of
    ``M, F`` and the terms (``exp(-c)``: the largest risk's, shifted by
    :func:`risk_scale`) and ``top``, the largest linear predictor's."""

    def __init__(self, b, raw, efron):
        self.b = b
        mf = raw["MF"]
        self.top = self.c = float(mf.c[0]) if np.isfinite(mf.c[0]) else 0.0
        M, F = mf.arrays["M"], mf.arrays["F"]
        self.Wk, self.dk = raw["Wk"], raw["dk"]
        # a trial point far out (an overlong step) can overflow: its loss reads inf and
        # the window rejects it, so its arithmetic warns no one
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            shift = risk_scale(M[:, 0], self.dk)
            if shift:
                M, F = M * np.exp(-shift), F * np.exp(-shift)
                self.c += shift
            t = slot_terms(M[:, 0], F[:, 0], self.Wk, self.dk, efron, self.c)
            self.t = t
            self.loss = t["loss"] - float(raw["ev_eta"])
            self.mag = t["mag"] + float(raw["ev_abs"])
            self.M, self.F = M[:, 1:], F[:, 1:]
            self.S_D = (M[:, 0], F[:, 0])
            if np.isfinite(self.loss):
                self.g = raw["ev_u"] - (t["terms"][0] @ self.M - t["Ac"] @ self.F)
        gd = raw.get("Gd")
        self.Gd = gd if gd is not None and np.all(np.isfinite(gd)) else None  # lagged


def positive_definite(G, s2):
    """Make the model's Hessian ``G`` positive definite in place; returns its diagonal.

    The diagonal part of the blocked Hessian is lagged (module docstring), so away from a
    solution ``G`` can be indefinite; coordinate descent on it then lowers the model along
    a direction the loss rises on (a positive first-order decrease, and the line search
    halved the step to nothing: strengths left unconverged where the in-memory fit
    converged). Where a Cholesky factorisation fails, ``G`` gains ``tau diag(s2)`` with
    ``tau`` just above minus the smallest eigenvalue of ``G`` in standardized units
    (``s2`` the squared scales): a Levenberg-Marquardt shift, the step then descends.
    Such a model is still a poor one (its steps can be thousands of units long); the
    window refreshes the curvature of a strength whose full step it misled
    (``path_window``).
    """
    try:
        np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        r = 1.0 / np.sqrt(s2)
        Gs = G * r[:, None] * r[None, :]
        low = float(np.linalg.eigvalsh(Gs)[0])
        top = float(np.max(np.diag(Gs), initial=0.0))
        G[np.diag_indices_from(G)] += (max(-low, 0.0) + 1e-6 * top) * s2
    return np.diag(G).copy()


class CoxFit(PassFit):
    """One Cox path (all rows, or the training rows of fold ``fold``) as a generator.

    ``request`` is ``(kind, args)``: ``("h", [(fold, W, b, lag), ...])`` for histogram
    passes at several points, ``("g", (fold, W, b, c, terms, curv))`` for a Gram pass;
    ``send`` resumes it with the pass's sums (a list for ``"h"``); ``result`` is the
    :class:`~shrinkage.results.Path` once done. The path is solved on a moving window of
    strengths (:func:`shrinkage.distributed.path_window.window_solve`): this class
    provides the window's ``evaluate``, ``kkt``, ``solve_model``, ``decrease`` and
    ``penalty`` for the partial likelihood.
    """

    #: the diagonal part of a trial's Hessian uses its base's risk-set weights
    lagged_curvature = True

    def __init__(self, mom, options, n, fold, fam, grid, share=1):
        self.st = cox_setup(mom, options, mom.shift.size, fam)
        self.n_events = grid.n_events
        p = mom.shift.size
        # ``share`` fits run in lockstep (the folds of a CV) split the histograms' budget
        budget = WINDOW_BYTES // max(int(share), 1)
        self.width = int(max(1, min(WINDOW, budget // (16 * grid.T * (p + 1)))))
        self.mom, self.options, self.n, self.fold = mom, options, n, fold
        self.efron = fam.ties == "efron"
        self._known = {}  # bases of the next trial points: b.tobytes() -> _Point
        self.start()

    def _wrap(self, request):
        return request  # already ``(kind, args)``

    def _stats(self, pt, base=None):
        dloss = 0.0 if base is None else pt.loss - base.loss
        return {"point": pt, "dloss": dloss,
                "dmag": pt.mag + (0.0 if base is None else base.mag)}

    def evaluate(self, points, which=None):
        """Histograms at the points ``b + db`` of ``points = [(b, b0, db, db0), ...]`` in
        one pass (a generator), each ``b`` a point met before; the anchors ``which``
        also get the Hessian's diagonal part with their base's risk-set weights, and the
        other points share their anchor's. Returns one stats dict per point: ``point``
        (its ``_Point``), ``dloss`` (the change from its base) and ``dmag``."""
        m = len(points)
        which = np.zeros(m, dtype=np.int64) if which is None else np.asarray(which)
        bases = [self._known[pt[0].tobytes()] for pt in points]
        trials = [pt[0] + pt[2] for pt in points]
        items = [(self.fold, self.mom.W, b, (base.c, base.t["terms"]) if l in which
                  else None) for l, (b, base) in enumerate(zip(trials, bases))]
        self.points += m
        self.curvatures += np.unique(which).size
        raws = yield ("h", items)
        out = [_Point(b, raw, self.efron) for b, raw in zip(trials, raws)]
        trusted = []
        for l, pt in enumerate(out):  # the anchor's, else the base's (an overflow)
            a = which[l]
            pt.Gd = next(g for g in (out[a].Gd, bases[l].Gd) if g is not None)
            trusted.append(out[a].Gd is not None and max(
                abs(out[a].top - bases[a].top), abs(pt.top - out[a].top)) <= LAG_SHIFT)
        self._known = {pt.b.tobytes(): pt for pt in bases + out}
        return [dict(self._stats(pt, base), trusted=ok)
                for pt, base, ok in zip(out, bases, trusted)]

    def gram(self, pt, curv=False):
        """The Gram pass at ``pt``: the raw sums of ``gram_block`` (a generator)."""
        return (yield ("g", (self.fold, self.mom.W, pt.b, pt.c, pt.t["terms"], curv)))

    def hessian(self, pt):
        """The Hessian of the loss in ``b`` at ``pt``: its rank-one terms from the
        point's histograms, its diagonal part ``pt.Gd`` (module docstring)."""
        t = pt.t
        live = t["beta"] > 0
        U = pt.M[live] - t["ratio"][live, None] * pt.F[live]
        H = pt.Gd - U.T @ (U * t["beta"][live, None])
        Fl = pt.F[live]
        H -= Fl.T @ (Fl * t["gamma"][live, None])
        return 0.5 * (H + H.T)

    def penalty(self, b, lam):
        """``lam * sum_j (l1u_j |b_j| + l2u_j / 2 b_j^2)``."""
        st = self.st
        return lam * float(st.l1u @ np.abs(b) + 0.5 * st.l2u @ (b * b))

    def kkt(self, s, b, lam, cand):
        """The certificate at the point of ``s``: the largest standardized KKT violation
        relative to the null model's largest standardized gradient (as in memory)."""
        st = self.st
        out = np.empty(b.size, dtype=np.int64)
        v, _ = kkt_scan(s["point"].g, b, lam * st.l1u, lam * st.l2u, st.lo, st.hi, cand,
                        cand, st.cert_scale, out)
        return v / self.grad_scale

    def decrease(self, s, b, db, db0, lam):
        """The model's first-order decrease along ``db``: ``-g.db + penalty(b + db) -
        penalty(b)`` (``g`` minus the loss's gradient; the Armijo reference)."""
        return -float(s["point"].g @ db) + self.penalty(b + db, lam) - self.penalty(b, lam)

    def solve_model(self, s, b, b0, lam, cand, cert):
        """The minimiser ``(b', 0, sweeps)`` of the quadratic model (exact gradient, the
        point's Hessian) plus the penalty over ``cand``, damped and solved as in memory
        (``shrinkage.engine.cox.solve_model``)."""
        st, pt = self.st, s["point"]
        idx = np.flatnonzero(cand)
        G = np.ascontiguousarray(self.hessian(pt)[np.ix_(idx, idx)])
        diag = np.diag(G).copy()
        s2 = st.cert_scale[idx] ** 2
        h = curvature_floor(diag, s2)
        h = h * (1.0 + min(cert, _MAX_DAMPING))
        G[np.diag_indices_from(G)] = h
        h = positive_definite(G, s2)
        hmax = max(float(np.max(h / s2)), 1e-300)
        thr = max(_INNER_ACCURACY * (cert * self.grad_scale) ** 2 / hmax, 1e-300)
        new = b[idx].copy()
        sweeps = solve_model(G, pt.g[idx].copy(), h, new, lam * st.l1u[idx],
                             lam * st.l2u[idx], st.lo[idx], st.hi[idx], thr, st.max_iter)
        out = b.copy()
        out[idx] = new
        return out, 0.0, sweeps

    def _null(self):
        """The null model's point, with the Hessian's diagonal part from a Gram pass
        (and the ridge grid's ends from its curvature, as in memory)."""
        st, options = self.st, self.options
        raws = yield ("h", [(self.fold, self.mom.W, np.zeros(self.mom.shift.size), None)])
        pt = _Point(np.zeros(self.mom.shift.size), raws[0], self.efron)
        if not np.isfinite(pt.loss):
            raise ValueError("the partial likelihood of the null model is not finite")
        S, D = pt.S_D
        if not np.any((pt.dk > 0) & (S > D * (1.0 + 1e-12))):
            raise ValueError("every risk set holds only its tied events (no one survives an "
                             "event time), so the partial likelihood carries no information")
        ridge = st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None
        s = yield from self.gram(pt, curv=ridge)
        pt.Gd = s["Gd"]
        ends = None
        if ridge:
            d = st.xw - self.mom.shift
            Gv = (s["suu"] - np.outer(s["su"], d) - np.outer(d, s["su"])
                  + float(s["sv"]) * np.outer(d, d))
            ends = gram_ridge_ends(Gv, st, self.mom.n_live)
        self._known = {pt.b.tobytes(): pt}
        return pt, ends

    def _run(self):
        st = self.st
        p = self.mom.shift.size
        pt, ends = yield from self._null()
        saturated = saturated_loss(pt.Wk, pt.dk, self.efron)  # data only: the same at every b
        null_dev = 2.0 * (pt.loss - saturated)
        cand = st.cand
        self.grad_scale = certificate_reference(pt.g, st.cert_scale, cand)
        start = (pt.b, 0.0, self._stats(pt))
        if np.any(st.unpen):
            done = []
            yield from window_solve(self, np.array([1.0]), cand & st.unpen, start,
                                    done.append, self.width)
            start = (done[0].b, 0.0, done[0].s)
            self._known[done[0].b.tobytes()] = done[0].s["point"]
            self.grad_scale = start_gradient_reference(  # (engine Solver.rebase_reference)
                self.grad_scale, start[2]["point"].g, st.cert_scale,
                movable_penalised(cand, st.unpen, st.lo, st.hi))
        lam_max, grid, early_stop = self.path_grid(np.abs(start[2]["point"].g),
                                                   cand & ~st.unpen, ends)
        L = grid.size
        out = (np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L),
               np.zeros(L, dtype=np.int64))
        steps = np.zeros(L, dtype=np.int64)
        stop = [L, 0]
        before = self.passes

        def record(e):  # strengths arrive in order; True stops the path
            k = e.k
            out[0][k], out[3][k], out[4][k], steps[k] = e.b, e.cert, e.sweeps, e.steps
            dev = 2.0 * (e.s["point"].loss - saturated)
            out[2][k] = 1.0 - dev / null_dev if null_dev > 0 else 0.0
            code = path_stop_code(out[2], k, L, RULES, out[0][k], st.lo, st.hi, st.l1u,
                                  st.l2u) if early_stop else 0
            if code:
                stop[:] = [k + 1, code]
            return bool(code)

        yield from window_solve(self, grid, cand, start, record, self.width)
        extra = {"newton_steps": steps[:stop[0]], "passes_before_path": before,
                 "points_evaluated": self.points, "curvature_sums": self.curvatures,
                 "event_times": int(self.n_events), "window": self.width}
        return finish_path(st, grid, out, stop[0], stop[1], null_dev, lam_max,
                           "kkt_violation", extra=extra)


def run_cox(data, fits, grid, spec=None):
    """Run ``CoxFit`` generators to the end in lockstep: each pass serves every
    unfinished fit's request (``pass_block``)."""
    active = [f for f in fits if f.result is None]
    while active:
        hists, grams, slots = [], [], []
        for f in active:
            kind, args = f.request
            if kind == "h":
                slots.append(("h", len(hists), len(args)))
                hists.extend(args)
            else:
                slots.append(("g", len(grams), 1))
                grams.append(args)
        total = reduce_blocks(data, pass_block, spec, data.shift, grid, hists, grams)
        parts = {}
        for key, v in total.items():  # "h/q/name": request q's sums
            kind, q, name = key.split("/", 2)
            parts.setdefault((kind, int(q)), {})[name] = v
        for f, (kind, q0, m) in zip(active, slots):
            raws = [parts[(kind, q)] for q in range(q0, q0 + m)]
            f.send(raws if kind == "h" else raws[0])
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
