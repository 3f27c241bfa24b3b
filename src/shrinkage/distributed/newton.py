"""Binomial and poisson paths on blocked data: proximal Newton, one pass per step.

At the current point ``(b0, b)`` one pass (``glm_block``)
returns the IRLS model: with ``v_i = w_i var(mu_i)``, ``wres_i = w_i (y_i - mu_i)`` and
``V = sum v``, the quadratic model of the loss is, up to a constant,
``1/2 sum_i v_i (wres_i / v_i - d0 - x_i . d)^2`` in the step ``(d0, d)``. Divided by
``V`` it is a weighted gaussian problem with the centred Gram
``G = E_v[(x - xm_v)(x - xm_v)^T]``, ``c = E_v[(x - xm_v)(z - zbar)]`` and strength
``lam / V``, solved locally by the engine's covariance-mode driver
(``shrinkage.engine.covariance.covariance_path``), inexactly as in memory: to a
duality gap tied to the current KKT violation. The line search ``F(t) = loss(eta + t
deta) + penalty(b + t d)`` (Armijo, ``t = 1, 1/2, ...``) is evaluated in the next pass,
which also returns the model at ``t = 1``; only when ``t = 1`` is refused does a step
cost a second pass. The certificate is the in-memory one
(``shrinkage.engine.newton.ProximalNewton``): the largest KKT violation in
standardized units, with the intercept's gradient, relative to the null model's largest
standardized gradient.

Each fit is a generator that yields the point it needs evaluated; ``run_fits`` runs
several fits (the folds of a cross-validation) in lockstep, one pass per round.
"""

from __future__ import annotations

import numpy as np

from ..engine.covariance import GaussianCovariance, covariance_path
from ..engine.grid import strength_grid
from ..engine.kernels.certify import kkt_scan
from ..engine.newton import ProximalNewton
from ..engine.stopping import RULES, early_stop_code
from ..model.penalties import RIDGE_LAM_MAX_RATIO, PenaltyArrays
from .blocks import reduce_blocks
from .moments import glm_block
from .problem import finish_path, fit_setup, free_arrays, gram_ridge_ends

__all__ = ["NewtonFit", "newton_path", "run_fits", "MAX_HALVINGS", "INNER_ACCURACY"]

#: Step lengths tried by the line search: ``t = 2^-k`` for ``k = 0 .. MAX_HALVINGS``.
MAX_HALVINGS = 30
#: Inner accuracy: the model's KKT error is kept below this share of the current one.
INNER_ACCURACY = 0.1
_EPS = float(np.finfo(float).eps)
_STATS = ("dloss", "dmag", "loss", "dev", "sv", "su", "suu", "sug", "sg", "sr2")


class NewtonFit:
    """One path (the full data, or the training rows of fold ``fold``) as a generator.

    ``request`` is the evaluation the fit waits for: ``(fold, W, b, b0, db, db0, ts)``
    (see ``glm_block``); ``send`` gives it the
    pass's sums; ``result`` is the :class:`~shrinkage.results.Path` once done.
    """

    def __init__(self, mom, options, n, fold, has_offset):
        self.st = fit_setup(mom, options, mom.shift.size)
        self.mom, self.options, self.n, self.fold = mom, options, n, fold
        self.has_offset = has_offset
        self.shift = mom.shift
        self.result = None
        self.passes = 0
        self._gen = self._run()
        self.request = self._wrap(next(self._gen))

    def _wrap(self, point):
        b, b0, db, db0, ts = point
        return (self.fold, self.mom.W, b, float(b0), db, float(db0), np.asarray(ts))

    def send(self, stats):
        """Resume with the sums of the requested evaluation."""
        self.passes += 1
        try:
            self.request = self._wrap(self._gen.send(stats))
        except StopIteration as stop:
            self.result = stop.value
            self.result.extra["passes"] = self.passes

    # ------------------------------------------------------------ pieces of a step
    def gradient(self, s):
        """``g_j = sum_i (x_ij - xm_j) wres_i`` from the pass's sums."""
        return np.where(self.st.cand, s["sug"] + (self.shift - self.st.xm) * s["sg"], 0.0)

    def kkt(self, s, b, lam, cand):
        """The certificate: largest KKT violation (standardized, with the intercept's
        gradient) relative to the null model's largest standardized gradient."""
        st = self.st
        out = np.empty(b.size, dtype=np.int64)
        v, _ = kkt_scan(self.gradient(s), b, lam * st.l1u, lam * st.l2u, st.lo, st.hi,
                        cand, cand, st.scale, out)
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
        hstd = h[cand] / st.scale[cand] ** 2
        hmax = float(hstd.max()) if hstd.size and hstd.max() > 0 else 1.0
        viol = INNER_ACCURACY * cert * self.grad_scale / V
        rel = min(max(0.5 * viol * viol / hmax / obj_scale, 1e-20), 1e-6)
        ybar = b0 + float(xm_v @ b) + rbar if st.fit_intercept else 0.0
        bb, gg = b.copy(), cb.copy()
        out = (np.zeros((1, p)), np.zeros(1), np.zeros(1), np.zeros(1),
               np.zeros(1, dtype=np.int64))
        covariance_path(  # Fortran-ordered G, as in memory: one compiled specialisation
            np.asfortranarray(G), np.arange(p, dtype=np.int64), p, c, yw, h, st.l1u, st.l2u,
            st.lo, st.hi, cand, st.scale, np.array([lam / V]), 0, rel, obj_scale, st.max_iter,
            GaussianCovariance.thr_start, GaussianCovariance.thr_shrink, st.fit_intercept,
            ybar, xm_v, 1.0, False, *RULES, *free_arrays(G, c, st, cand), bb, gg,
            np.empty(p, dtype=np.int64), *out)
        return bb, (float(out[1][0]) if st.fit_intercept else 0.0), int(out[4][0])

    def penalty(self, b, lam):
        """``lam * sum_j (l1u_j |b_j| + l2u_j / 2 b_j^2)``."""
        st = self.st
        return lam * float(st.l1u @ np.abs(b) + 0.5 * st.l2u @ (b * b))

    def line_search(self, s, new, b, db, db0, lam):
        """The first accepted ``t`` (index into the step lengths), or None.

        Accepts ``F(t) - F(0) <= 1e-4 t min(decrease, 0)`` (Lee, Sun & Saunders 2014), or a
        change within the rounding of its own terms, as the engine's ``armijo`` does;
        ``F(t) - F(0)`` is summed from accurate per-row loss changes.
        """
        xwres = s["sug"] + self.shift * float(s["sg"])
        p0 = self.penalty(b, lam)
        decrease = -(float(xwres @ db) + float(s["sg"]) * db0) + self.penalty(b + db,
                                                                          lam) - p0
        for j, t in enumerate(self.ts):
            pt = self.penalty(b + t * db, lam)
            change = float(new["dloss"][j]) + pt - p0
            noise = 4.0 * _EPS * (float(new["dmag"][j]) + abs(pt) + abs(p0))
            if change <= 1e-4 * t * min(decrease, 0.0) or abs(change) <= noise:
                return j
        return None

    # ------------------------------------------------------------------ the solver
    def solve(self, lam, mask):
        """Newton steps at ``lam`` until the certificate is below ``tol`` (a generator
        yielding evaluations); returns ``(certificate, sweeps)``. ``mask`` restricts the
        moving features (the unpenalised start)."""
        st = self.st
        cand = st.cand if mask is None else st.cand & mask
        steps = sweeps = 0
        while True:
            cert = self.kkt(self.s, self.b, lam, cand)
            if (cert <= st.tol or steps >= ProximalNewton.max_newton
                    or sweeps >= st.max_iter):
                return cert, sweeps
            steps += 1
            bn, b0n, k = self.solve_model(self.s, self.b, self.b0, lam, cand, cert)
            sweeps += k
            db, db0 = bn - self.b, b0n - self.b0
            if not np.any(db) and db0 == 0.0:
                return cert, sweeps
            new = yield (self.b, self.b0, db, db0, self.ts)
            j = self.line_search(self.s, new, self.b, db, db0, lam)
            if j is None:
                return cert, sweeps  # no descent along the step: reported unconverged
            if j == 0:
                self.b, self.b0, self.s = bn, b0n, new
            else:
                t = self.ts[j]
                self.b, self.b0 = self.b + t * db, self.b0 + t * db0
                self.s = yield (self.b, self.b0, np.zeros_like(db), 0.0, self.ts[:1])

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
        self.s = yield (self.b, self.b0, zero, 0.0, self.ts[:1])
        if st.fit_intercept and self.has_offset:
            for _ in range(100):
                step = float(self.s["sg"]) / float(self.s["sv"])
                self.b0 += step
                self.s = yield (self.b, self.b0, zero, 0.0, self.ts[:1])
                if abs(step) < 1e-12 * (1.0 + abs(self.b0)):
                    break

    def _run(self):
        st, options = self.st, self.options
        p = self.mom.shift.size
        self.ts = 0.5 ** np.arange(MAX_HALVINGS + 1)
        yield from self.null_model()
        null_dev = float(self.s["dev"])
        g = self.gradient(self.s)
        cand = st.cand
        top = float(np.max(np.abs(g[cand]) / st.scale[cand])) if np.any(cand) else 1.0
        self.grad_scale = top if top > 0 else 1.0
        ends = None
        if st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None:
            d = st.xm - self.shift
            s = self.s
            Gv = (s["suu"] - np.outer(s["su"], d) - np.outer(d, s["su"])
                  + float(s["sv"]) * np.outer(d, d))
            ends = gram_ridge_ends(Gv, st, self.mom.n_live)
        if np.any(st.unpen):
            yield from self.solve(1.0, st.unpen)
        lam_max = st.penalty.lam_max(np.abs(self.gradient(self.s)),
                                     PenaltyArrays(st.l1u, st.l2u, st.lo, st.hi),
                                     cand & ~st.unpen, st.scale)
        lam_max = lam_max if ends is None else ends[0]
        grid, user_grid = strength_grid(options, lam_max, self.n, p, st.n_lams, ends)
        early_stop = (not user_grid) if options.early_stop is None else options.early_stop
        L = grid.size
        out = (np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L),
               np.zeros(L, dtype=np.int64))
        done, code = L, 0
        for k, lam in enumerate(grid):
            out[3][k], out[4][k] = yield from self.solve(float(lam), None)
            out[0][k], out[1][k] = self.b, self.b0
            out[2][k] = 1.0 - float(self.s["dev"]) / null_dev if null_dev > 0 else 0.0
            if early_stop:
                code = early_stop_code(out[2], k, L, *RULES)
                if code:
                    done = k + 1
                    break
        classes = (np.array([0, 1]) if st.family.name == "binomial"
                   and float(self.mom.sums["non01"]) == 0 else None)
        return finish_path(st, grid, out, done, code, null_dev, lam_max, "kkt_violation",
                           classes=classes)


def newton_path(mom, options, n, fold=-1, has_offset=False):
    """A ``NewtonFit`` of ``options`` on the rows summarised by ``mom``."""
    return NewtonFit(mom, options, n, fold, has_offset)


def run_fits(data, fits, spec=None):
    """Run ``NewtonFit`` generators to the end, all in lockstep: each pass evaluates
    every unfinished fit's request (``glm_block``)."""
    active = [f for f in fits if f.result is None]
    fam = active[0].st.family.kernel_code if active else None
    while active:
        total = reduce_blocks(data, glm_block, spec, fam, data.shift,
                              [f.request for f in active])
        for q, f in enumerate(active):
            f.send({name: total[f"{q}/{name}"] for name in _STATS})
        active = [f for f in active if f.result is None]
