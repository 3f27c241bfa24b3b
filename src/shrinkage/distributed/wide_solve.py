"""One gaussian elastic-net path on a wide design, solved on its candidate columns.

A ``WideFit`` holds in memory only its *candidate* columns ``C`` (the unpenalised
ones, the strong set of each strength, and every column that ever violated its KKT
condition; ``C`` only grows) as an ``(n, |C|)`` array, and solves each strength on them
with the engine's residual-updating coordinate descent
(``GaussianNaive``, warm-started from the previous
strength). Every other column is certified after the solve (``wide_screen``): by its
gradient bound, by its exact gradient read through the cache, or by a pass. A violator
joins ``C`` and the strength is solved again. With every column outside ``C`` at zero
and satisfying its KKT condition, the duality gap of the problem on ``C`` is the gap of
the whole problem (those columns add nothing to the penalty nor to the conjugate), so
the :class:`~shrinkage.results.Path` carries the in-memory certificate.

The fit is a generator (``WideFit.steps``) that yields ``NEED_PASS`` when it needs
the exact gradients of every column at its residual and ``BARRIER`` when its grid is
set (first) and after each strength, so that the driver (``wide``) advances many fits
(the full data and the folds of cross-validation) in lockstep and serves all of them
with each pass.
"""

from __future__ import annotations

import numpy as np

from ..engine.contract import FitHints, SolverSetup
from ..engine.grid import strength_grid
from ..engine.naive import GaussianNaive
from ..engine.path import check_options
from ..engine.problem import Problem, constant_columns, start_objective_reference
from ..engine.stopping import RULES, path_stop_code
from ..model.build import penalty_for
from ..model.families import get_family
from ..model.penalties import PenaltyArrays
from .problem import FitSetup, finish_path
from .wide_screen import GradientBound, directions, exact_violators

__all__ = ["WideFit", "NEED_PASS", "BARRIER", "REFRESH_SHARE"]

#: Yielded by ``WideFit.steps``: send back the exact gradients of every column.
NEED_PASS = "pass"
#: Yielded by ``WideFit.steps``: the grid is set, or a strength is done.
BARRIER = "barrier"
#: A pass refreshes the checkpoint when more than this share of the columns is uncertain.
REFRESH_SHARE = 0.05


def wide_setup(options, stats, p):
    """The ``FitSetup`` of one fit from its
    ``stats_pass`` row (weighted means, moments and live ranges of every column)."""
    fam = get_family("gaussian")
    tol, max_iter, l1_ratio, n_lams, names = check_options(options, fam, p)
    penalty = penalty_for(fam, p, l1_ratio, options)
    intercept = bool(options.fit_intercept)
    constant = constant_columns(stats["lo"], stats["hi"], stats["var"], names,
                                stats["xw"] if intercept else None, intercept)
    xw = stats["xw"]
    xs = np.sqrt(stats["var"])
    scale = np.where(constant, 1.0, xs) if options.standardize else np.ones(p)
    arrays = penalty.lower_arrays(p, scale)
    xsq = stats["xsq"].copy()
    xsq[constant] = 0.0
    cand = ~constant
    unpen = (arrays.l1 == 0) & (arrays.l2 == 0) & cand
    return FitSetup(fam, penalty, float(tol), int(max_iter), float(l1_ratio), int(n_lams),
                    intercept, bool(options.standardize), names,
                    xw if intercept else np.zeros(p), xw, scale, xsq, arrays.l1, arrays.l2,
                    np.where(constant, 0.0, arrays.lo), np.where(constant, 0.0, arrays.hi),
                    cand, unpen, xs)


class WideFit:
    """The path of one weighting of a wide design (see the module docstring).

    Parameters
    ----------
    cache : ColumnCache
        Reads columns (shared by every fit of one design).
    y, w, offset : ndarray of shape (n,)
        Response, weights summing to one, offset (or None).
    uniform : bool
        Whether ``w`` is ``1 / n`` everywhere.
    options : PathOptions
    stats : dict
        This fit's row of ``stats_pass``.
    yc : ndarray of shape (n,)
        The centred response of ``stats``.
    """

    def __init__(self, cache, y, w, uniform, offset, options, stats, yc):
        n, p = cache.source.shape
        self.cache, self.y, self.w, self.offset = cache, y, w, offset
        self.uniform, self.options, self.n, self.p = uniform, options, n, p
        self.st = st = wide_setup(options, stats, p)
        self.yc = yc
        self.ybar = float(np.dot(w, (y if offset is None else y - offset))) \
            if st.fit_intercept else 0.0
        eta, _ = st.family.null_eta(y, w, offset, st.fit_intercept)
        self.null_dev = st.family.deviance(y, eta, w)
        g = np.where(st.cand, stats["g"], 0.0)
        self.bound = GradientBound(g, yc, np.sqrt(st.xsq), w, st.fit_intercept)
        self.C = np.zeros(0, dtype=np.int64)
        self.inC = np.zeros(p, dtype=bool)
        self.XC = np.empty((n, 0), order="F")
        self.r = yc.copy()
        self.b = np.zeros(p)
        self.solver = None
        self.start_obj = None  # the unpenalised fit's objective, where there is one
        self.read = np.zeros(p, dtype=bool)
        self.refresh_limit = max(16, int(REFRESH_SHARE * p))
        self.hist = []
        self.stop_after = False
        self.grid = self.lam_max = None
        self.early_stop = False
        self.done, self.code = 0, 0

    # ------------------------------------------------------------------ columns
    def grow(self, new):
        """Add the columns ``new`` (outside ``C``) to the candidates and rebuild the
        solver on ``C``, warm-started at the current coefficients and residual."""
        new = np.asarray(new, dtype=np.int64)
        if new.size:
            self.read[new] = True
            C = np.union1d(self.C, new)
            XC = np.empty((self.n, C.size), order="F")
            XC[:, np.searchsorted(C, self.C)] = self.XC
            XC[:, np.searchsorted(C, new)] = self.cache.get(new)
            self.C, self.XC = C, XC
            self.inC[new] = True
        st, C = self.st, self.C
        prob = Problem(
            X=self.XC, y=self.y, w=self.w, uniform_w=(1.0 / self.n if self.uniform else 0.0),
            offset=self.offset, family=st.family, xm=st.xm[C], xw=st.xw[C], xsq=st.xsq[C],
            l1u=st.l1u[C], l2u=st.l2u[C], lo=st.lo[C], hi=st.hi[C],
            excluded=np.zeros(C.size, dtype=bool), fit_intercept=st.fit_intercept,
            tol=st.tol, max_iter=st.max_iter, scale=st.scale[C], penalty=st.penalty)
        setup = SolverSetup(eta=self.yc, b0=0.0, n_lams=1, g0=None, hints=FitHints())
        solver = GaussianNaive(prob, setup)
        solver.b = self.b[C].copy()
        solver.r = self.r.copy()
        solver.st = np.array([0.0, float(np.dot(self.w, self.r)), 1.0, 0.0])
        solver.g = prob.gradient(self.w * self.r)
        self.solver = solver
        self._measure_from_start()

    def _measure_from_start(self):
        """The solver's gap relative to the unpenalised fit's objective, where there is one
        (engine ``Solver.rebase_reference``; a rebuilt solver starts from the null's)."""
        if self.start_obj is not None:
            self.solver.obj_scale = start_objective_reference(self.solver.obj_scale,
                                                              self.start_obj)

    def sync(self):
        """Copy the solver's coefficients and residual back."""
        self.b[self.C] = self.solver.b
        self.r = self.solver.r.copy()

    def exact_gradient(self, idx):
        """Exact gradients of the columns ``idx`` at the current residual (read through
        the cache)."""
        if idx.size == 0:
            return np.zeros(0)
        self.read[idx] = True
        u = self.w * self.r
        return self.cache.get(idx).T @ u - self.st.xm[idx] * float(u.sum())

    def pass_vectors(self):
        """``w * [r, Q]``: what a pass needs for this fit's gradients (the residual and
        the directions of its last steps, ``wide_screen``)."""
        steps = [self.r - h for h in self.hist[-1:]] + \
            [a - b for a, b in zip(self.hist[-1:], self.hist[-2:-1])]
        self.pending_q = directions(steps, self.w, self.st.fit_intercept)
        return self.w[:, None] * np.column_stack([self.r, self.pending_q])

    def receive(self, G):
        """Refresh the checkpoint from a pass's rows ``G`` (for ``pass_vectors``)."""
        self.bound.refresh(G[0], self.r, self.pending_q, G[1:].T.copy())

    # ------------------------------------------------------------------ the path
    def set_grid(self, grid, user_grid):
        """Fit on ``grid``; a user grid stops early only when ``early_stop`` says so."""
        self.grid = np.asarray(grid, dtype=float)
        es = self.options.early_stop
        self.early_stop = (not user_grid) if es is None else bool(es)

    def steps(self):
        """The path as a generator (module docstring)."""
        st = self.st
        if np.any(st.unpen):  # the null model: only unpenalised columns move
            self.grow(np.flatnonzero(st.unpen))
            self.solver.fit_unpenalized()
            self.sync()
            self.start_obj = 0.5 * self.solver.deviance()
            self._measure_from_start()
            yield NEED_PASS
        self.lam_max = st.penalty.lam_max(self.bound.abs_g,
                                          PenaltyArrays(st.l1u, st.l2u, st.lo, st.hi),
                                          st.cand & ~st.unpen, st.scale)
        self.set_grid(*strength_grid(self.options, self.lam_max, self.n, self.p, st.n_lams))
        yield BARRIER
        L = self.grid.size
        self.out = (np.zeros((L, self.p)), np.zeros(L), np.zeros(L), np.zeros(L),
                    np.zeros(L, dtype=np.int64))
        self.n_cand = np.zeros(L, dtype=np.int64)
        self.n_uncertain = np.zeros(L, dtype=np.int64)
        lam_prev = max(self.lam_max, self.grid[0])
        for k in range(L):
            yield from self.strength(k, lam_prev)
            lam_prev = self.grid[k]
            self.done = k + 1
            if self.early_stop:
                self.code = path_stop_code(self.out[2], k, L, RULES, self.out[0][k],
                                           st.lo, st.hi, st.l1u, st.l2u,
                                           st.family.flat_relative)
            if self.code or k + 1 == L:
                self.stop_after = True
            yield BARRIER
            if self.stop_after:
                break
        g = yield NEED_PASS  # the final check: every column, exactly, at the last strength
        outside = np.flatnonzero(st.cand & ~self.inC)
        viol, vmax = exact_violators(g[outside], outside, self.grid[self.done - 1], st.l1u,
                                     st.l2u, st.lo, st.hi, st.scale)
        self.final = (int(viol.size), vmax)

    def strength(self, k, lam_prev):
        """Solve strength ``k`` on the candidates and certify every other column."""
        st = self.st
        lam = self.grid[k]
        # the strong set from exact gradients: the bound only picks the columns to read;
        # when it picks too many, the check after the solve (a pass) finds the entrants
        maybe = self.bound.strong(self.r, st.l1u, lam, lam_prev, st.cand & ~self.inC)
        new = maybe[:0]
        if maybe.size <= self.refresh_limit:
            g_maybe = self.exact_gradient(maybe)
            new = maybe[np.abs(g_maybe) >= st.l1u[maybe] * (2.0 * lam - lam_prev)]
        if new.size or self.solver is None:
            self.grow(new)
        sweeps = 0
        while True:
            out = (np.zeros((1, self.C.size)), np.zeros(1), np.zeros(1), np.zeros(1),
                   np.zeros(1, dtype=np.int64))
            self.solver.run_path(self.grid[k:k + 1], lam_prev, self.null_dev,
                                           False, out)
            sweeps += int(out[4][0])
            self.sync()
            outside = st.cand & ~self.inC
            unc = self.bound.uncertain(self.r, st.l1u, lam, outside)
            if unc.size > self.refresh_limit:
                g = yield NEED_PASS
                unc = self.bound.uncertain(self.r, st.l1u, lam, outside)
                g_unc = g[unc]
            else:
                g_unc = self.exact_gradient(unc)
            viol, _ = exact_violators(g_unc, unc, lam, st.l1u, st.l2u, st.lo, st.hi,
                                      st.scale)
            if viol.size == 0:
                break
            self.grow(viol)
        self.out[0][k, self.C] = out[0][0]
        for a, b in zip(self.out[1:4], out[1:4]):
            a[k] = b[0]
        self.out[4][k] = sweeps
        self.hist = (self.hist + [self.r.copy()])[-2:]
        self.n_cand[k] = self.C.size
        self.n_uncertain[k] = unc.size

    def path(self, passes, extra=None):
        """The :class:`~shrinkage.results.Path` of the strengths done."""
        info = {"passes": int(passes), "columns_read": np.flatnonzero(self.read),
                "n_candidates": self.n_cand[:self.done].copy(),
                "n_uncertain": self.n_uncertain[:self.done].copy(),
                "final_violators": self.final[0], "final_kkt": self.final[1],
                **(extra or {})}
        return finish_path(self.st, self.grid, self.out, self.done, self.code, self.null_dev,
                           self.lam_max, "duality_gap", extra={"wide": info})
