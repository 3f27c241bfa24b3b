"""How far the gaussian duality gap lies above the true suboptimality along a path.

For each tolerance, fits the default path (on the grid of a ``tol=1e-13`` reference run,
early stopping off) and compares, strength by strength, the certified relative duality
gap with the true relative suboptimality ``(P(b) - P(b_ref)) / P(0)``, ``P`` the lasso
objective in the original units (``1/(2n) ||y - b0 - X b||^2 + lam sum_j sd_j |b_j|``,
standardize=True). A ratio far above 1 means the solver keeps sweeping after the
objective has settled; whether that matters depends on how held-out predictions move
(``default_tolerance.py``).

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
          "gap / true: median |")
    print("|---|---|---|---|---|")
    for tol in (float(t) for t in args.tols.split(",")):
        path = shrinkage.regularization_path(X, y, tol=tol, lams=ref.lams, early_stop=False)
        sub = np.maximum((objective(path) - best) / null, 1e-18)
        ratio = path.certificate / sub
        print(f"| {tol:g} | {int(path.n_iter.sum())} | {sub.max():.1e} ({np.median(sub):.1e}) "
              f"| {path.certificate.max():.1e} | {np.median(ratio):.0e} |", flush=True)


if __name__ == "__main__":
    main()
