"""How far the gaussian duality gap lies above the true suboptimality along a path.

For each tolerance, fits the default path (on the grid of a ``tol=1e-13`` reference run,
early stopping off) and compares, strength by strength, the certified relative duality
gap with the true relative suboptimality ``(P(b) - P(b_ref)) / P(0)``, ``P`` the lasso
objective in the original units (``1/(2n) ||y - b0 - X b||^2 + lam sum_j sd_j |b_j|``,
standardize=True). A ratio far above 1 means the solver keeps sweeping after the
objective has settled; whether that matters depends on how held-out predictions move
(``default_tolerance.py``).

Two more columns say where the looseness comes from. The certified gap uses the dual
point ``t r`` (``r`` the residual, ``t`` the largest scale in (0, 1] keeping
``|x_j^T r| / n <= lam sd_j`` for every ``j``): its gap is ``P(b) - D(t r) = (pen - b^T g)
+ (D(r) - D(t r))``, ``g = Xc^T r / n`` and ``pen`` the penalty: the first term is second
order in the error of ``b``, the second first order; "share of (1 - t)" is the second
term's part of the gap. "projected gap" is the
gap of the dual point ``theta = r - Xc_A z`` instead, ``z`` the least-squares solution of
``Xc_A^T Xc_A z / n = Xc_A^T r / n - lam sd_A sign(b_A)`` on the active set ``A``
(exact, dense), rescaled to feasibility the same way: a valid certificate that makes the
active features' gradients exact, and second order in the error when the signs are right.

    python benchmarks/certificate_looseness.py --case gaussian-lasso-text --tols 1e-5,1e-6,1e-7
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    from _cases import CASES, make_data

    import shrinkage

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="gaussian-lasso-text")
    ap.add_argument("--tols", default="1e-5,1e-6,1e-7")
    ap.add_argument("--full", action="store_true", help="full-size data (default: quick)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    case = CASES[args.case]
    if case.family != "gaussian" or case.l1_ratio != 1.0:
        raise SystemExit("the duality gap compared here is the gaussian lasso's")
    X, y = make_data(case, quick=not args.full, raw=True)
    sd = np.sqrt(np.asarray(X.multiply(X).mean(axis=0)).ravel()
                 - np.asarray(X.mean(axis=0)).ravel() ** 2) if hasattr(X, "multiply") \
        else X.std(axis=0)

    def objective(path):
        return np.array([0.5 * np.mean((y - b0 - X @ b) ** 2) + lam * np.sum(sd * np.abs(b))
                         for b, b0, lam in zip(path.coefs, path.intercepts, path.lams)])

    ref = shrinkage.regularization_path(X, y, tol=1e-13, early_stop=False)
    best = objective(ref)
    null = 0.5 * np.var(y)
    print("| tol | sweeps | true suboptimality: max (median) | certified gap: max | "
          "gap / true: median | share of (1 - t): median | projected gap / true: median |")
    print("|---|---|---|---|---|---|---|")
    for tol in (float(t) for t in args.tols.split(",")):
        path = shrinkage.regularization_path(X, y, tol=tol, lams=ref.lams, early_stop=False)
        sub = np.maximum((objective(path) - best) / null, 1e-18)
        ratio = path.certificate / sub
        parts = np.array([_gap_parts(X, y, sd, b, b0, lam) for b, b0, lam
                          in zip(path.coefs, path.intercepts, path.lams)]) / null
        share = parts[:, 1] / np.maximum(parts[:, 0], 1e-300)
        print(f"| {tol:g} | {int(path.n_iter.sum())} | {sub.max():.1e} ({np.median(sub):.1e}) "
              f"| {path.certificate.max():.1e} | {np.median(ratio):.0e} "
              f"| {np.median(share):.3f} | {np.median(parts[:, 2] / sub):.1f} |", flush=True)


def _gap_parts(X, y, sd, b, b0, lam):
    """``(gap of t r, its (1 - t) part, gap of the projected dual point)``, unscaled.

    Columns enter centred and divided by ``sd`` (``sd = 0``: left out), without forming
    the centred matrix: ``Xc v = X (v / sd) - xm . (v / sd)``.
    """
    n = X.shape[0]
    xm = np.asarray(X.mean(axis=0)).ravel()
    live = sd > 0
    s = np.where(live, sd, 1.0)
    yc = y - y.mean()
    r = y - b0 - X @ b
    primal = 0.5 * np.mean(r * r) + lam * np.sum(sd * np.abs(b))

    def grad(v):
        return np.where(live, (np.asarray(X.T @ v).ravel() - xm * v.sum()) / (n * s), 0.0)

    def dual(theta):
        t = min(1.0, lam / np.abs(grad(theta)).max())
        return t * np.mean(theta * yc) - 0.5 * t * t * np.mean(theta * theta), t

    d, t = dual(r)
    inner = primal - (np.mean(r * yc) - 0.5 * np.mean(r * r))  # the gap at t = 1
    A = np.flatnonzero((b != 0) & live)
    if A.size == 0:
        return primal - d, primal - d - inner, primal - d
    XA = X[:, A]
    XA = XA.toarray() if hasattr(XA, "toarray") else np.asarray(XA)
    XA = (XA - xm[A]) / s[A]
    rhs = XA.T @ r / n - lam * np.sign(b[A])
    z = np.linalg.lstsq(XA.T @ XA / n, rhs, rcond=1e-10)[0]
    d_proj, _ = dual(r - XA @ z)
    return primal - d, primal - d - inner, primal - d_proj


if __name__ == "__main__":
    main()
