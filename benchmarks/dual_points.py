"""Which dual point certifies a gaussian lasso sooner: the rescaled residual or others.

At one strength of a lasso path (warm-started from the previous strength's exact
solution, as the path does), runs plain cyclic coordinate descent in NumPy and prints,
sweep by sweep, the true relative suboptimality ``(P(b) - P*) / P(0)`` and the relative
duality gap ``(P(b) - D(u)) / P(0)`` at four dual points ``u = t * r' / n``, each scaled
by the largest ``t`` in (0, 1] that keeps ``|x_j^T u| <= lam``:

* ``residual``: ``r' = r``, the current residual (what the solvers use);
* ``extrapolated``: ``r' = sum_k c_k r_k`` over the last K+1 sweeps' residuals, ``c``
  minimising ``||sum_k c_k (r_k - r_{k-1})||`` with ``sum c = 1`` (dual extrapolation,
  Massias et al. 2020, celer's dual point);
* ``active-set step``: ``r' = r - X_A z``, ``z`` from 30 conjugate-gradient steps on the
  active set's normal equations with the current signs (the residual of a Newton step);
* ``greedy``: the residual after 50 extra Gauss-Southwell updates of the largest KKT
  violators (the violations that set ``t``);
* ``row-clipped``: ``r`` scaled down only on the rows that the violating columns store
  (each row by the smallest ``lam / |x_j^T r / n|`` among them), then re-centred: the
  violators of power-law text are rare terms stored in one to four documents, and one
  extra pass over X gives their rows alone the scale that the plain point applies to all.

The gap of the rescaled residual falls like the square root of the suboptimality (its
scale ``t`` is off by the largest KKT violation, of the order of the residual error); a
point that tracked the suboptimality would let a solver stop sweeps earlier at the same
``tol``. Measured on ``gaussian-lasso-text`` (quick, 1,000 x 2,000, seconds per run):

* strength 50 (188 active): the active-set step's gap equals the suboptimality within a
  few per cent from sweep 5 on (2e-8 where the residual's is 8e-5); extrapolation gains
  2x early and 100x to 1000x once the sweeps are in their linear regime;
* strength 70 (528 active): active-set step 100x to 400x below the residual's gap once
  the active set has settled (sweep 15 on), extrapolation 2x to 45x;
* strength 90 (789 active on 1,000 rows, where the default path spends its sweeps):
  active-set step 10x to 20x from sweep 30 on, extrapolation 1.2x to 2x, greedy 2x.

The row-clipped point (measured 12-05 with the same command at strengths 50, 70, 90):
2.5x to 3x below the residual's gap at strength 50, 3x to 5x at 70 and 1.2x to 3.3x at
90, the most at the late sweeps: about what greedy gives, for one pass over X instead of
50 updates, and far from the active-set step once that has settled. Clipping rows moves
the gradients of the other terms of those documents, so the scale is then set by them; a
gain of 3x in the gap saves the sweeps of about half a decade of ``tol`` (on the quick
text path, 2,543 sweeps at ``tol=1e-5`` against 1,521 at ``1e-4``), minus the extra pass
at every failed check: not put in the solver.

Inside the compiled solver (whose sweeps alternate with working-set sweeps and Anderson
steps, so its residual sequence is less regular than plain sweeps), the extrapolated
point (last 6 residuals) beat the residual's gap at 21 of 34 failed full checks on that
path but certified only 5, saving 2.4% of the sweeps for 34 extra passes over X: not
kept. A tight certificate also changes what ``tol`` means: today's ``1e-5`` gap holds the
text path at a median suboptimality of 2e-12 (``certificate_looseness.py``), so the
speed a tight point buys is the sweeps between that and whatever suboptimality the
cross-validation bar needs on the least forgiving design (``default_tolerance.py``).

    python benchmarks/dual_points.py --index 90 --sweeps 60
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

K_EXTRAPOLATION = 5  # residual differences per extrapolation (celer's default)
CG_STEPS = 30
GREEDY_STEPS = 50


def _lasso(Xc, yc):
    """``(P, gap)`` of the lasso ``1/(2n) ||yc - Xc b||^2 + lam ||b||_1`` (centred data),
    both relative to ``P(0)``."""
    n = Xc.shape[0]
    null = 0.5 * (yc @ yc) / n

    def primal(b, lam):
        r = yc - Xc @ b
        return (0.5 * (r @ r) / n + lam * np.abs(b).sum()) / null

    def gap(b, rdual, lam):
        t = min(1.0, lam / max(np.abs(Xc.T @ rdual).max() / n, 1e-300))
        u = t * rdual
        return primal(b, lam) - ((u @ yc) / n - 0.5 * (u @ u) / n) / null

    return primal, gap


def _extrapolate(hist):
    """``sum_k c_k r_k`` with ``c`` minimising the norm of the combined differences."""
    R = np.array(hist)
    U = np.diff(R, axis=0)
    C = U @ U.T
    C += 1e-10 * np.trace(C) * np.eye(C.shape[0])
    z = np.linalg.solve(C, np.ones(C.shape[0]))
    return (z / z.sum()) @ R[1:]


def _newton_residual(Xc, r, b, lam):
    """``r - X_A z`` with ``z`` from conjugate gradients on ``X_A^T X_A z / n = X_A^T r /
    n - lam sign(b_A)``."""
    n = Xc.shape[0]
    A = np.flatnonzero(b)
    XA = Xc[:, A]
    rhs = XA.T @ r / n - lam * np.sign(b[A])
    z, res = np.zeros(A.size), rhs.copy()
    d, rr = res.copy(), res @ res
    for _ in range(CG_STEPS):
        Ad = XA.T @ (XA @ d) / n
        step = rr / (d @ Ad)
        z += step * d
        res -= step * Ad
        rr, rr_old = res @ res, rr
        d = res + rr / rr_old * d
    return r - XA @ z


def _greedy_residual(Xc, h, r, b, lam):
    """The residual after ``GREEDY_STEPS`` exact updates of the largest KKT violator."""
    n = Xc.shape[0]
    b, r = b.copy(), r.copy()
    for _ in range(GREEDY_STEPS):
        g = Xc.T @ r / n
        v = np.where(b > 0, np.abs(g - lam), np.where(b < 0, np.abs(g + lam),
                                                       np.maximum(np.abs(g) - lam, 0)))
        j = int(np.argmax(v))
        c = g[j] + h[j] * b[j]
        new = np.sign(c) * max(abs(c) - lam, 0.0) / h[j]
        r -= (new - b[j]) * Xc[:, j]
        b[j] = new
    return r


def _clipped_residual(Xc, rows_of, r, lam):
    """``r`` scaled row by row on the stored rows of the violating columns, re-centred.

    Each row is multiplied by the smallest ``lam / |g_j|`` over the violating columns
    ``j`` that store it (``rows_of[j]``: those rows), then the mean is taken off (a
    centred column is orthogonal to constants, so the gradients do not move and the
    intercept's constraint holds again). Any point is a valid dual point once scaled into
    the feasible set; this one leaves the rows of non-violating columns alone, where the
    uniform scale shrinks them all.
    """
    n = Xc.shape[0]
    g = Xc.T @ r / n
    c = np.ones(n)
    for j in np.flatnonzero(np.abs(g) > lam):
        rows = rows_of[j]
        c[rows] = np.minimum(c[rows], lam / abs(g[j]))
    u = c * r
    return u - u.mean()


def main():
    from _cases import CASES, make_data

    import shrinkage

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="gaussian-lasso-text")
    ap.add_argument("--index", type=int, default=90, help="strength on the default grid")
    ap.add_argument("--sweeps", type=int, default=60)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    case = CASES[args.case]
    if case.family != "gaussian" or case.l1_ratio != 1.0:
        raise SystemExit("the dual points compared here are the gaussian lasso's")
    X, y = make_data(case, quick=True, raw=False)  # standardized: standardize=False below
    ref = shrinkage.regularization_path(X, y, standardize=False, tol=1e-13, early_stop=False)
    k = args.index
    Xc = X.toarray() if hasattr(X, "toarray") else np.array(X, dtype=float)
    # the rows each column stores (a dense column stores them all)
    rows_of = ([X.indices[X.indptr[j]:X.indptr[j + 1]] for j in range(X.shape[1])]
               if hasattr(X, "indptr") else [np.arange(X.shape[0])] * X.shape[1])
    Xc -= Xc.mean(axis=0)
    yc = y - y.mean()
    h = (Xc * Xc).mean(axis=0)
    primal, gap = _lasso(Xc, yc)
    lam = ref.lams[k]
    best = primal(ref.coefs[k], lam)
    b = ref.coefs[k - 1].copy()
    r = yc - Xc @ b
    n = Xc.shape[0]
    hist = []
    print(f"{args.case}, strength {k} (lam {lam:.4g}), {np.count_nonzero(ref.coefs[k])} "
          f"active on {n} rows; relative to P(0):")
    print("| sweep | suboptimality | gap: residual | extrapolated | active-set step | greedy "
          "| row-clipped |")
    print("|---|---|---|---|---|---|---|")
    for sweep in range(args.sweeps):
        for j in (np.flatnonzero(b) if sweep % 2 else range(Xc.shape[1])):
            if h[j] <= 0:
                continue
            c = Xc[:, j] @ r / n + h[j] * b[j]
            new = np.sign(c) * max(abs(c) - lam, 0.0) / h[j]
            if new != b[j]:
                r -= (new - b[j]) * Xc[:, j]
                b[j] = new
        hist = (hist + [r.copy()])[-(K_EXTRAPOLATION + 1):]
        if sweep % 5 and sweep != args.sweeps - 1:
            continue
        acc = (f"{gap(b, _extrapolate(hist), lam):.2e}" if len(hist) > K_EXTRAPOLATION
               else "-")
        print(f"| {sweep} | {primal(b, lam) - best:.2e} | {gap(b, r, lam):.2e} | {acc} | "
              f"{gap(b, _newton_residual(Xc, r, b, lam), lam):.2e} | "
              f"{gap(b, _greedy_residual(Xc, h, r, b, lam), lam):.2e} | "
              f"{gap(b, _clipped_residual(Xc, rows_of, r, lam), lam):.2e} |")


if __name__ == "__main__":
    main()
