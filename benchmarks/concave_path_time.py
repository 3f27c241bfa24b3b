"""Path time of MCP and SCAD against the lasso path and against skglm, at equal stationarity.

For each design: shrinkage's default lasso path, then the MCP and SCAD paths on the same
``lams`` (each at shrinkage's default tolerance); then skglm's ``MCPenalty`` / ``SCAD``
with ``AndersonCD`` over the same ``lams``, warm-started, with its tolerance set to the
largest absolute stationarity violation of our path (so both reach at least the same
first-order accuracy). Both sides get centred, standardized X and centred y (no
intercept) so that the objectives are identical. Reported: best of ``--repeats`` wall
times after a warm-up (compilation excluded), the ratio to the lasso path, and the
largest violation each side actually reached (recomputed here with NumPy).

Usage (skglm lives in the benchmark environment)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src /work/venv-bench/bin/python \\
        benchmarks/concave_path_time.py
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from functools import partial

import numpy as np

CASES = [  # n, p, rho (equicorrelation), sparse support size
    (500, 2000, 0.3, 10),
    (2000, 200, 0.3, 10),
    (200, 5000, 0.3, 10),
]


def simulate(n, p, rho, s, seed=0):
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal(
        (n, 1))
    beta = np.zeros(p)
    beta[:s] = rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 1.5, s)
    y = X @ beta + rng.standard_normal(n)
    Xs = np.asfortranarray((X - X.mean(0)) / X.std(0))
    return Xs, y - y.mean()


def violation(kind, gamma, X, y, coefs, lams):
    """Largest absolute first-order violation per lam (standardized, no intercept)."""
    from shrinkage.model.concave import stationarity_violation

    n = X.shape[0]
    out = []
    for b, lam in zip(coefs, lams):
        g = X.T @ (y - X @ b) / n
        out.append(stationarity_violation(kind, gamma, g, b, lam, 0.0).max())
    return np.array(out)


def best_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def skglm_path(kind, gamma, X, y, lams, tol):
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Quadratic
    from skglm.penalties import SCAD, MCPenalty
    from skglm.solvers import AndersonCD

    coefs = []
    w = np.zeros(X.shape[1])
    for lam in lams:
        pen = MCPenalty(lam, gamma) if kind == "mcp" else SCAD(lam, gamma)
        est = GeneralizedLinearEstimator(Quadratic(), pen, AndersonCD(
            tol=tol, fit_intercept=False, warm_start=True, max_iter=1000))
        est.coef_ = w.copy()
        est.fit(X, y)
        w = est.coef_.copy()
        coefs.append(w)
    return np.array(coefs)


def main(argv=None):
    import shrinkage

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print("| n | p | penalty | L | shrinkage (s) | / lasso | max viol | skglm (s) | "
          "skglm max viol |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, p, rho, s in CASES:
        X, y = simulate(n, p, rho, s)
        t_lasso, lasso = best_time(partial(shrinkage.regularization_path, X, y),
                                   args.repeats)
        lams = lasso.lams
        print(f"| {n} | {p} | lasso | {lams.size} | {t_lasso:.3f} | 1.00 | - | - | - |",
              flush=True)
        for kind, gamma in (("mcp", 3.0), ("scad", 3.7)):
            t, path = best_time(partial(shrinkage.regularization_path, X, y, penalty=kind,
                                        gamma=gamma, lams=lams), args.repeats)
            ours = violation(kind, gamma, X, y, path.coefs, path.lams)
            tol = float(ours.max())
            t_sk, sk = best_time(partial(skglm_path, kind, gamma, X, y, path.lams, tol), 1)
            theirs = violation(kind, gamma, X, y, sk, path.lams)
            print(f"| {n} | {p} | {kind} | {path.n_lams} | {t:.3f} | {t / t_lasso:.2f} | "
                  f"{tol:.1e} | {t_sk:.3f} | {theirs.max():.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
