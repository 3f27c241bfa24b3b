"""Multinomial paths on blocked data: proximal Newton on a window of strengths per pass.

The objective is the in-memory one (``shrinkage.engine.multinomial``)::

    (1 / sum(w)) sum_i w_i (logsumexp_k(eta_ik) - eta_i,y_i)
        + lam sum_j (l1u_j pen(B_j) + l2u_j / 2 ||B_j||^2),   eta_i = offset_i + b0 + x_i B

with ``pen`` the group norm over the ``K`` classes (``multinomial_grouped=True``) or the
sum of absolute values. A fit works on ``T = (a, B)`` (``(p + 1) x K``), ``a = b0 + xm B``
about the weighted column means ``xm`` (zero without an intercept), so that its local
solves see centred columns. Each pass (``multinomial_points_block``) gives, at every
trial point of the window, the loss, its change and the exact gradient, and at up to
``ANCHORS`` of them the curvature ``sum_i z_i z_i^T (x) (diag(P_i) - P_i P_i^T)`` (``K (K +
1) / 2`` weighted ``p x p`` Grams). Between passes each strength minimises its quadratic
model (exact gradient, the nearest anchor's curvature) plus the penalty locally, by
coordinate descent on the Gram blocks (``cd_multinomial_gram``), and the window of
``path_window`` confirms the Armijo decrease in the next pass. The certificate is the
in-memory one, always from the exact gradient at the returned point: the largest KKT
violation over features (the group norm's, or the largest over classes) and the class
intercepts' gradient, relative to the null model's largest feature gradient.
"""

from __future__ import annotations

import numpy as np

from ..engine.kernels.multinomial_gram import cd_multinomial_gram
from ..engine.multinomial import centre_free_rows, free_rows
from ..engine.problem import (
    certificate_reference,
    movable_penalised,
    start_gradient_reference,
)
from ..engine.stopping import RULES, SEPARATED, path_stop_code, stop_reason
from ..model.families import get_family, intercept_step_accepted
from ..model.penalties import RIDGE_LAM_MAX_RATIO, kkt_violation, penalty_value
from ..results import Path, nonzero_features
from ..validation import check_coefficient_scale
from .multinomial_blocks import multinomial_points_block
from .newton import INNER_ACCURACY
from .pass_fit import PassFit
from .path_window import window_solve
from .problem import fit_setup, gram_ridge_ends

__all__ = ["MultinomialFit", "run_multinomial_fits", "SEPARATION_TOL"]

#: A class whose fitted probabilities are within this of its 0/1 indicator on every
#: weighted row is separated (the in-memory solver's rule): the path stops there.
SEPARATION_TOL = 1e-5
_POINT = ("dloss", "dmag", "loss", "dev", "sug", "sg")


class MultinomialFit(PassFit):
    """One multinomial path (all rows, or the training rows of fold ``fold``) as a
    generator of passes, with the interface ``path_window`` drives: iterates are packed
    vectors ``b = T.ravel()`` (``b0`` unused, always 0)."""

    def __init__(self, mom, options, n, fold, classes, class_sums, has_offset):
        self.fam = get_family("multinomial")
        p = mom.shift.size
        self.st = fit_setup(mom, options, p, family=self.fam)
        st = self.st
        self.grouped = bool(st.penalty.group_responses)
        if self.grouped and (np.any(np.isfinite(st.lo[st.cand]))
                             or np.any(np.isfinite(st.hi[st.cand]))):
            raise ValueError("lower/upper bounds are not supported with the grouped "
                             "multinomial penalty; use multinomial_grouped=False")
        self.mom, self.options, self.n, self.fold = mom, options, n, fold
        self.classes, self.class_sums = classes, class_sums
        self.K = classes.size
        self.has_offset = has_offset
        self.shift = mom.shift
        self.d = mom.shift - st.xm  # u = x - c, so x - xm = u + d
        self.start()

    def evaluate(self, points, which=None):
        """Evaluate ``points`` (``(b, b0, db, db0)`` packed) in one pass (a generator):
        one stats dict per point, with the curvature sums of anchor ``which[l]``."""
        m, K = len(points), self.K
        which = np.zeros(m, dtype=np.int64) if which is None else np.asarray(which)
        anchors, slot = np.unique(which, return_inverse=True)
        self.points += m
        self.curvatures += anchors.size
        T = np.array([pt[0] for pt in points]).reshape(m, -1, K)
        dT = np.array([pt[2] for pt in points]).reshape(m, -1, K)
        # eta = a + (x - xm) B = (a + d B) + u B
        A0 = T[:, 0] + np.einsum("j,ljk->lk", self.d, T[:, 1:])
        dA0 = dT[:, 0] + np.einsum("j,ljk->lk", self.d, dT[:, 1:])
        s = yield (A0, np.ascontiguousarray(T[:, 1:]), dA0, np.ascontiguousarray(dT[:, 1:]),
                   anchors, slot)
        return [{**{name: s[name][j] for name in (*_POINT, "max_res")},
                 **{name: s[name][slot[j]] for name in ("sv", "su", "suu")}}
                for j in range(m)]

    # ------------------------------------------------------------- model pieces
    def gradient(self, s):
        """The negative loss gradient in ``T``: ``(q, K)``, row 0 the intercepts'."""
        G = s["sug"] + self.d[:, None] * s["sg"][None, :]
        G = np.where(self.st.cand[:, None], G, 0.0)
        return np.vstack([s["sg"][None, :], G])

    def feature_gradient(self, s):
        """Per-feature gradient magnitude (group norm, or largest class entry)."""
        G = self.gradient(s)[1:]
        return np.sqrt(np.sum(G * G, axis=1)) if self.grouped else np.max(np.abs(G), axis=1)

    def _features(self, cand):
        return cand.reshape(-1, self.K)[1:, 0]

    def kkt(self, s, b, lam, cand):
        """The in-memory certificate at ``b`` from the exact gradient in ``s``."""
        st, K = self.st, self.K
        feat = self._features(cand) & st.cand
        g = self.gradient(s)[1:]
        B = b.reshape(-1, K)[1:]
        l1, l2 = lam * st.l1u, lam * st.l2u
        if self.grouped:
            z = g - l2[:, None] * B
            nb = np.sqrt(np.sum(B * B, axis=1))
            nz = nb > 0
            viol = np.maximum(np.sqrt(np.sum(z * z, axis=1)) - l1, 0.0)
            unit = B[nz] / nb[nz, None]
            viol[nz] = np.sqrt(np.sum((z[nz] - l1[nz, None] * unit) ** 2, axis=1))
        else:
            viol = np.max(np.stack([kkt_violation(g[:, k], B[:, k], l1, l2, st.lo, st.hi)
                                    for k in range(K)]), axis=0)
        viol = viol / st.cert_scale  # standardized units, as the in-memory solver's
        v = float(np.max(viol[feat])) if np.any(feat) else 0.0
        if st.fit_intercept:
            v = max(v, float(np.max(np.abs(s["sg"]))))
        return v / self.grad_scale

    def hessian(self, s, feat):
        """The curvature blocks ``(K, K, q, q)`` in ``T`` from the anchor's sums."""
        K, p, d = self.K, self.d.size, self.d
        H = np.zeros((K, K, p + 1, p + 1))
        for k in range(K):
            for c in range(K):
                v, su, S = float(s["sv"][k, c]), s["su"][k, c], s["suu"][k, c]
                top = su + v * d
                H[k, c, 0, 0] = v
                H[k, c, 0, 1:] = top
                H[k, c, 1:, 0] = top
                H[k, c, 1:, 1:] = S + np.outer(d, su) + np.outer(su, d) + v * np.outer(d, d)
        off = ~np.concatenate([[True], feat])
        H[:, :, off, :] = 0.0
        H[:, :, :, off] = 0.0
        return H

    def solve_model(self, s, b, b0, lam, cand, cert):
        """The minimiser ``(b', 0, sweeps)`` of the quadratic model plus the penalty."""
        st, K = self.st, self.K
        feat = self._features(cand) & st.cand
        H = self.hessian(s, feat)
        g = self.gradient(s)
        T = b.reshape(-1, K).copy()
        zero = np.zeros(1)
        l1 = np.concatenate([zero, lam * st.l1u])
        l2 = np.concatenate([zero, lam * st.l2u])
        lo = np.concatenate([[-np.inf], st.lo])
        hi = np.concatenate([[np.inf], st.hi])
        active = np.concatenate([[st.fit_intercept], feat])
        # curvatures in standardized units (H_jj / s_j^2; the intercept's scale is 1), as
        # the violation they are compared with
        s2 = np.concatenate([[1.0], st.cert_scale ** 2])
        diag = np.array([H[k, k, j, j] / s2[j] for k in range(K)
                         for j in np.flatnonzero(active)])
        hmax = float(diag.max()) if diag.size and diag.max() > 0 else 1.0
        viol = INNER_ACCURACY * cert * self.grad_scale
        thr = max(viol * viol / hmax, 1e-300)
        sweeps = cd_multinomial_gram(H, g, T, l1, l2, lo, hi, active, self.grouped, thr,
                                     st.max_iter, True)
        return T.ravel(), 0.0, int(sweeps)

    def penalty(self, b, lam):
        """``lam * sum_j (l1u_j pen(B_j) + l2u_j / 2 ||B_j||^2)``."""
        B = b.reshape(-1, self.K)[1:]
        return penalty_value(B, lam * self.st.l1u, lam * self.st.l2u, self.grouped)

    def decrease(self, s, b, db, db0, lam):
        """The model's first-order decrease along ``db`` (the Armijo reference)."""
        return (-float(np.sum(self.gradient(s).ravel() * db)) + self.penalty(b + db, lam)
                - self.penalty(b, lam))

    # ------------------------------------------------------------- the solver
    def null_model(self):
        """The intercept-only model: ``a = log(pbar) - mean(log(pbar))`` in closed form,
        or Newton on the intercepts with an offset (as ``Multinomial.null_eta``)."""
        st, K, p = self.st, self.K, self.d.size
        a = np.zeros(K)
        if st.fit_intercept and not self.has_offset:
            pbar = np.clip(self.class_sums / self.mom.W, 1e-300, None)
            a = np.log(pbar) - np.mean(np.log(pbar))
        zero = np.zeros((p + 1) * K)
        self.b = np.concatenate([a, np.zeros(p * K)])
        self.s = (yield from self.evaluate([(self.b, 0.0, zero, 0.0)]))[0]
        if st.fit_intercept and self.has_offset:
            for _ in range(100):
                g = self.s["sg"]
                if np.max(np.abs(g)) < 1e-12:
                    break
                step = np.linalg.pinv(self.s["sv"]) @ g
                t = 1.0  # Newton, halved until the loss drops (Armijo): one pass per try
                while t > 1e-6:
                    b = np.concatenate([a + t * step - np.mean(a + t * step), np.zeros(p * K)])
                    new = (yield from self.evaluate([(b, 0.0, zero, 0.0)]))[0]
                    if intercept_step_accepted(self.s["loss"], g, new["loss"], new["sg"], t,
                                               float(g @ step)):
                        break
                    t *= 0.5
                else:
                    break  # no decrease in floating point: as close as the loss can tell
                a, self.b, self.s = b[:K], b, new

    def _ridge_ends(self):
        """The in-memory ridge grid ends, with the rows weighted by ``w mean_k P_k (1 -
        P_k)`` at the null model."""
        s, K = self.s, self.K
        V = float(np.trace(s["sv"])) / K
        su = np.einsum("kkj->j", s["su"]) / K
        S = np.einsum("kkij->ij", s["suu"]) / K
        e = -self.d
        Gv = S - np.outer(su, e) - np.outer(e, su) + V * np.outer(e, e)
        return gram_ridge_ends(Gv, self.st, self.mom.n_live)

    def _run(self):
        st, options, K = self.st, self.options, self.K
        p = self.d.size
        yield from self.null_model()
        null_dev = float(self.s["dev"])
        self.grad_scale = certificate_reference(self.feature_gradient(self.s), st.cert_scale,
                                                st.cand)
        ends = None
        if st.l1_ratio < RIDGE_LAM_MAX_RATIO and options.lams is None:
            ends = self._ridge_ends()
        start = (self.b, 0.0, self.s)
        icpt = np.full(K, bool(st.fit_intercept))
        if np.any(st.unpen):
            done = []
            mask = np.concatenate([icpt, np.repeat(st.unpen & st.cand, K)])
            yield from window_solve(self, np.array([1.0]), mask, start,
                                    lambda e: done.append(e))
            start = (done[0].b, 0.0, done[0].s)
        gn = self.feature_gradient(start[2])
        if np.any(st.unpen):  # relative to the unpenalised fit (engine Solver.rebase_reference)
            self.grad_scale = start_gradient_reference(
                self.grad_scale, gn, st.cert_scale,
                movable_penalised(st.cand, st.unpen, st.lo, st.hi))
        lam_max, grid, early_stop = self.path_grid(gn, st.cand & ~st.unpen, ends)
        L = grid.size
        out = {"coefs": np.zeros((L, p, K)), "intercepts": np.zeros((L, K)),
               "dev_ratio": np.zeros(L), "cert": np.zeros(L),
               "n_iter": np.zeros(L, dtype=np.int64), "steps": np.zeros(L, dtype=np.int64)}
        stop = [L, 0, None]
        before = self.passes
        free = free_rows(st.lo, st.hi, st.unpen)

        def record(e):  # strengths arrive in order; True stops the path
            k = e.k
            T = e.b.reshape(p + 1, K)
            b0 = T[0] - st.xm @ T[1:]
            out["coefs"][k], out["intercepts"][k] = T[1:], b0 - b0.mean()
            centre_free_rows(out["coefs"][k:k + 1], free)
            out["cert"][k], out["n_iter"][k], out["steps"][k] = e.cert, e.sweeps, e.steps
            out["dev_ratio"][k] = 1.0 - float(e.s["dev"]) / null_dev if null_dev > 0 else 0.0
            if not early_stop:
                return False
            code = path_stop_code(out["dev_ratio"], k, L, RULES, out["coefs"][k], st.lo,
                                  st.hi, st.l1u, st.l2u, st.family.flat_relative)
            if code:
                stop[:2] = [k + 1, code]
                return True
            sep = np.flatnonzero(np.asarray(e.s["max_res"]) < SEPARATION_TOL)
            if sep.size and k + 1 < L:
                stop[:] = [k + 1, SEPARATED, int(sep[0])]
                return True
            return False

        allc = np.concatenate([icpt, np.repeat(st.cand, K)])
        yield from window_solve(self, grid, allc, start, record)
        extra = {"newton_steps": out["steps"][:stop[0]], "passes_before_path": before,
                 "points_evaluated": self.points, "curvature_sums": self.curvatures}
        return self._finish(grid, out, stop, null_dev, lam_max, extra)

    def _finish(self, grid, out, stop, null_dev, lam_max, extra):
        """The :class:`~shrinkage.results.Path` of the first ``stop[0]`` strengths."""
        from .problem import finish_path

        st = self.st
        done, code, sep = stop
        flat = (out["coefs"].reshape(grid.size, -1), out["intercepts"][:, 0],
                out["dev_ratio"], out["cert"], out["n_iter"])
        path = finish_path(st, grid, flat, done, 0, null_dev, lam_max, "kkt_violation",
                           extra=extra, classes=self.classes)
        coefs = out["coefs"][:done]
        check_coefficient_scale(coefs)
        note = ""
        if sep is not None:
            label = self.classes[sep]
            rows = int(round(float(self.mom.sums["nc"][sep])))
            note = (f"class {label!r} ({rows} row{'s' if rows != 1 else ''}) is separated "
                    "from the others: its fitted probabilities are 0 or 1 to 1e-5 and its "
                    "coefficients would grow without bound as lam decreases")
        dev = out["dev_ratio"][:done]
        return Path(
            lams=path.lams, coefs=coefs, intercepts=out["intercepts"][:done],
            nnz=nonzero_features(coefs), dev_ratio=dev,
            null_deviance=path.null_deviance, certificate=path.certificate,
            certificate_kind="kkt_violation", converged=path.converged,
            n_iter=path.n_iter, family="multinomial", l1_ratio=path.l1_ratio,
            tol=path.tol, standardize=path.standardize, fit_intercept=path.fit_intercept,
            stopped_early=done < grid.size,
            stop_reason=(stop_reason(code, dev[-1], grid[done - 1], note,
                                     self.fam.flat_relative) if done else ""),
            classes=self.classes, feature_names=st.names, lam_max=float(lam_max),
            extra=path.extra, penalty="elasticnet", gamma=float("nan"))


def run_multinomial_fits(data, fits, classes, spec=None):
    """Run ``MultinomialFit`` generators to the end in lockstep: each pass evaluates
    every unfinished fit's request (``multinomial_points_block``)."""
    from .blocks import reduce_blocks

    active = [f for f in fits if f.result is None]
    while active:
        total = reduce_blocks(data, multinomial_points_block, spec, data.shift, classes,
                              [f.request for f in active])
        for q, f in enumerate(active):
            f.send({**{name: total[f"{q}/{name}"] for name in
                       (*_POINT, "sv", "su", "suu")}, "max_res": total[f"max_res/{q}"]})
        active = [f for f in active if f.result is None]
