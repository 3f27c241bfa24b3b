"""Path time of MCP and SCAD against the lasso path and against skglm, at equal stationarity.

For each design (equicorrelated gaussian columns): shrinkage's default lasso path, then
the MCP and SCAD paths on the same ``lams`` (each at shrinkage's default tolerance, with
the solver the registry picks: ``ConcaveCovariance`` where ``n >= 2p`` and ``p <= 2000``,
else ``ConcaveSolver``; in the covariance domain ``ConcaveSolver`` forced is timed too);
then skglm's ``MCPenalty`` / ``SCAD`` with ``AndersonCD`` over the same ``lams``,
warm-started, in a subprocess of the benchmark environment, with its tolerance set to
the absolute stationarity violation our certificate guarantees (``tol`` times the null
model's largest standardized gradient), so that both sides are asked for the same
first-order accuracy. Both sides get centred, standardized X and centred y (no
intercept) so that the objectives are identical. Reported: best of ``--repeats`` times
(wall, or with ``--clock cpu`` each process's CPU time, on both sides) after a warm-up
(compilation excluded; shrinkage's paths of one design timed in turns), the ratio to the
lasso path, and the largest violation each side actually reached (recomputed here with
NumPy).

With ``--groups SIZE``, group MCP/SCAD instead (consecutive groups of ``SIZE`` columns):
the group lasso path, then group MCP and SCAD on its ``lams`` with the solver the
registry picks (``GroupConcaveGram`` where ``n >= 2p`` and ``p <= 2000``, else
``GroupConcaveSolver``) and, on tall designs, the residual mode forced, next to it.

Usage::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/concave_path_time.py \
        [--skglm-python /work/venv-bench/bin/python] [--clock cpu] [--groups 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial

import numpy as np

CASES = [  # n, p, rho (equicorrelation), sparse support size
    (500, 2000, 0.3, 10),
    (2000, 200, 0.3, 10),
    (200, 5000, 0.3, 10),
]
#: where skglm is installed (the first that exists)
SKGLM_PYTHONS = ("/work/venv-bench/bin/python", "/work/main/venv-bench/bin/python")

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


def best_time(fn, repeats, clock=time.perf_counter):
    fn()
    times = []
    for _ in range(repeats):
        t = clock()
        out = fn()
        times.append(clock() - t)
    return min(times), out


def best_times(fns, repeats, clock=time.perf_counter):
    """Best of ``repeats`` times of each function after a warm-up, timed in turns so
    that a change of load on a shared machine falls on all of them alike."""
    outs = {k: f() for k, f in fns.items()}
    times = dict.fromkeys(fns, np.inf)
    for _ in range(repeats):
        for k, f in fns.items():
            t = clock()
            f()
            times[k] = min(times[k], clock() - t)
    return times, outs


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


def skglm_worker(src, dst):
    """In skglm's interpreter: the warm-started path of ``src`` (npz), best of 1 after a
    warm-up, written to ``dst``."""
    d = np.load(src)
    kind, gamma, tol = str(d["kind"]), float(d["gamma"]), float(d["tol"])
    clock = time.process_time if str(d["clock"]) == "cpu" else time.perf_counter
    t, coefs = best_time(partial(skglm_path, kind, gamma, d["X"], d["y"], d["lams"], tol),
                         int(d["repeats"]), clock)
    np.savez(dst, coefs=coefs, time=t)


def run_skglm(python, kind, gamma, X, y, lams, tol, clock="wall", repeats=1):
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(src, X=X, y=y, lams=lams, kind=kind, gamma=gamma, tol=tol, clock=clock,
                 repeats=repeats)
        subprocess.run([python, os.path.abspath(__file__), "--skglm-worker", src, dst],
                       check=True, timeout=3600)
        out = np.load(dst)
        return float(out["time"]), out["coefs"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skglm-python", default=next(
        (p for p in SKGLM_PYTHONS if os.path.exists(p)), None))
    ap.add_argument("--skglm-worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--cases", default=None, help="n x p pairs, e.g. 2000x200,500x2000")
    ap.add_argument("--groups", type=int, default=0,
                    help="group MCP/SCAD with groups of this many columns (no skglm)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="shrinkage's times: wall clock, or this process's CPU time (steadier "
                         "on a loaded machine; with OPENBLAS_NUM_THREADS=1)")
    args = ap.parse_args(argv)
    if args.skglm_worker:
        return skglm_worker(*args.skglm_worker)
    import shrinkage
    from shrinkage.engine.contract import FitHints
    from shrinkage.engine.path import PathOptions, check_design, fit_path

    cases = CASES if args.cases is None else [
        c for c in CASES if f"{c[0]}x{c[1]}" in args.cases.split(",")]
    warnings.simplefilter("ignore")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.groups:
        return group_rows(cases, args.groups, args.repeats, clock)
    print("| n | p | penalty | L | solver | shrinkage (s) | / lasso | ConcaveSolver (s) | "
          "max viol | skglm (s) | skglm max viol | skglm / shrinkage |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, p, rho, s in cases:
        X, y = simulate(n, p, rho, s)
        lams = shrinkage.regularization_path(X, y).lams
        covariance = n >= 2 * p and p <= 2000
        fns = {"lasso": partial(shrinkage.regularization_path, X, y, lams=lams)}
        for kind, gamma in (("mcp", 3.0), ("scad", 3.7)):
            fns[kind] = partial(shrinkage.regularization_path, X, y, penalty=kind,
                                gamma=gamma, lams=lams)
            if covariance:
                fns[kind + " old"] = partial(
                    fit_path, check_design(X), y, PathOptions(penalty=kind, gamma=gamma,
                                                              lams=lams),
                    FitHints(solver="concave"))
        times, paths = best_times(fns, args.repeats, clock)
        t_lasso = times["lasso"]
        print(f"| {n} | {p} | lasso | {lams.size} | - | {t_lasso:.3f} | 1.00 | - | - | - | - "
              "| - |", flush=True)
        for kind, gamma in (("mcp", 3.0), ("scad", 3.7)):
            t, path = times[kind], paths[kind]
            old = f"{times[kind + ' old']:.3f}" if covariance else "-"
            ours = violation(kind, gamma, X, y, path.coefs, path.lams)
            # the stationarity our certificate guarantees (absolute, standardized units):
            # skglm is asked for as much (asking for the rounding level our exact steps
            # often reach would only time skglm's struggle with rounding)
            tol = path.tol * float(np.max(np.abs(X.T @ y))) / n
            sk = "| - | - | - |"
            if args.skglm_python:
                t_sk, coefs = run_skglm(args.skglm_python, kind, gamma, X, y, path.lams, tol,
                                        args.clock, args.repeats)
                theirs = violation(kind, gamma, X, y, coefs, path.lams)
                sk = f"| {t_sk:.3f} | {theirs.max():.1e} | {t_sk / t:.1f} |"
            name = "ConcaveCovariance" if covariance else "ConcaveSolver"
            print(f"| {n} | {p} | {kind} | {path.n_lams} | {name} | {t:.3f} | "
                  f"{t / t_lasso:.2f} | {old} | {ours.max():.1e} (tol {tol:.1e}) {sk}",
                  flush=True)
    return 0


def group_rows(cases, size, repeats, clock):
    """The ``--groups`` table (see the module docstring)."""
    import shrinkage
    from shrinkage.engine.contract import FitHints
    from shrinkage.engine.path import PathOptions, check_design, fit_path

    print("| n | p | group size | penalty | L | solver | shrinkage (s) | / group lasso | "
          "residual mode (s) | max certificate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, p, rho, s in cases:
        X, y = simulate(n, p, rho, s)
        labels = np.arange(p) // size
        lams = shrinkage.regularization_path(X, y, feature_groups=labels).lams
        tall = n >= 2 * p and p <= 2000
        fns = {"lasso": partial(shrinkage.regularization_path, X, y, feature_groups=labels,
                                lams=lams)}
        for kind in ("mcp", "scad"):
            fns[kind] = partial(shrinkage.regularization_path, X, y, penalty=kind,
                                feature_groups=labels, lams=lams)
            if tall:
                fns[kind + " old"] = partial(
                    fit_path, check_design(X), y, PathOptions(
                        penalty=kind, feature_groups=labels, lams=lams),
                    FitHints(solver="group_concave"))
        times, paths = best_times(fns, repeats, clock)
        t_lasso = times["lasso"]
        print(f"| {n} | {p} | {size} | group lasso | {lams.size} | - | {t_lasso:.3f} | 1.00 "
              "| - | - |", flush=True)
        for kind in ("mcp", "scad"):
            t, path = times[kind], paths[kind]
            old = f"{times[kind + ' old']:.3f}" if tall else "-"
            name = "GroupConcaveGram" if tall else "GroupConcaveSolver"
            print(f"| {n} | {p} | {size} | {kind} | {path.n_lams} | {name} | {t:.3f} | "
                  f"{t / t_lasso:.2f} | {old} | {path.certificate.max():.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
