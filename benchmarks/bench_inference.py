"""Inference cost against the fits it is built from (issue targets).

* stability selection with B complementary pairs on an n x p AR(1) design, against one
  full-data path on the same data (default grid);
* the debiased lasso on an n x p design, against one 10-fold cross-validation.

Run from the repository root (2 cores, numba caches warm: a first small run compiles)::

    python benchmarks/bench_inference.py [--pairs 100] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from shrinkage import cross_validate, regularization_path
from shrinkage.inference import debiased_lasso, stability_selection


def ar1(n, p, rho, rng):
    z = rng.standard_normal((n, p))
    X = np.empty((n, p), order="F")
    X[:, 0] = z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho * rho) * z[:, j]
    return X


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n, p = (100, 500) if args.quick else (200, 5000)
    X = ar1(n, p, 0.5, rng)
    beta = np.zeros(p)
    beta[:10] = rng.choice([-1.0, 1.0], 10)
    y = X @ beta + rng.standard_normal(n)
    stability_selection(X[:50, :40], y[:50], n_pairs=2)  # compile
    t_path, path = best(lambda: regularization_path(X, y), args.repeats)
    t_stab, res = best(lambda: stability_selection(X, y, n_pairs=args.pairs), args.repeats)
    tp = np.sum(res.selected[:10])
    print(f"stability selection {n} x {p}, B={args.pairs} pairs: {t_stab:.2f} s; one path "
          f"({path.n_lams} lams) {t_path:.3f} s; ratio {t_stab / t_path:.1f}x; stable set "
          f"{int(res.selected.sum())} ({tp} of 10 true), region {res.details['region']} "
          f"lams, PFER bound {res.details['pfer_bound']:.2f}")
    n, p = (100, 200) if args.quick else (200, 1000)
    X = ar1(n, p, 0.5, rng)
    beta = np.zeros(p)
    beta[:5] = [1.0, -1.0, 0.7, -0.7, 0.5]
    y = X @ beta + rng.standard_normal(n)
    t_cv, _ = best(lambda: cross_validate(X, y, random_state=0), args.repeats)
    t_deb, res = best(lambda: debiased_lasso(X, y), args.repeats)
    cover = np.mean((res.lower <= beta) & (beta <= res.upper))
    print(f"debiased lasso {n} x {p}: {t_deb:.2f} s; one 10-fold CV {t_cv:.3f} s; ratio "
          f"{t_deb / t_cv:.1f}x; 95% intervals cover {cover:.3f} of the coefficients")


if __name__ == "__main__":
    main()
