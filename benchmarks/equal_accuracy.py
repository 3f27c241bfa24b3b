"""Speed at equal accuracy: each library's fastest tolerance that reaches a target.

``bench_path.py`` runs every library at one fixed, tight tolerance; libraries then finish
at very different suboptimalities (shrinkage's duality-gap certificate at 1e-9 lands near
1e-14, glmnet's threshold at 1e-12 near 1e-9). Issue 2's target is stated at an accuracy
level instead: "at equal or better suboptimality (<= 1e-6 relative)". This script walks
each library down a ladder of its own tolerances, measures the relative suboptimality of
every path point against the best objective found by any run, and reports the fastest
run whose worst point is within the target.

Same cases, data, grid and objective as ``bench_path.py`` (``_cases.py``), one process,
one BLAS thread, warm timings (best of ``--repeats``, each rung after one untimed run).

adelie (``--libs ...,adelie``) walks its ladder in its own interpreter (numpy < 2,
``ADELIE_PYTHON``; ``_adelie_worker.py``), timed there around each ``grpnet`` call: each
rung sets ``tol`` and ``irls_tol`` together, with ``early_exit=False``, the benchmark's
``lmda_path`` and the benchmark's (already standardized) X as given.

Usage (in the environment with the ``bench`` extra and python-glmnet)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/equal_accuracy.py \\
        --cases gaussian-lasso-sparse,gaussian-lasso-wide --target 1e-6
    python benchmarks/equal_accuracy.py --quick --cases binomial-l1-text \
        --libs shrinkage,glmnet,adelie
    python benchmarks/equal_accuracy.py --data news.svm --target 1e-4   # a file of yours
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _cases import add_data_arguments, data_cases  # noqa: E402

LADDERS = {
    "shrinkage": [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9],
    "glmnet": [1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12],
    # tol and irls_tol together (adelie's defaults are 1e-7 for both)
    "adelie": [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12],
}


def ladder(lib, fine=False):
    """``lib``'s tolerances, loosest first; ``fine`` adds a rung between each two
    (``tol / sqrt(10)``), for every library alike: with whole decades a library whose
    accuracy jumps past the target at one rung is timed at up to ten times the accuracy
    it was asked for."""
    rungs = LADDERS[lib]
    if not fine:
        return list(rungs)
    out = []
    for a, b in zip(rungs[:-1], rungs[1:]):
        out += [a, float(np.sqrt(a * b))]
    return out + [rungs[-1]]


def _fit_shrinkage(X, y, lams, family, l1_ratio, tol):
    import shrinkage

    path = shrinkage.regularization_path(X, y, family=family, l1_ratio=l1_ratio, lams=lams,
                                         standardize=False, fit_intercept=True, tol=tol)
    return np.asarray(path.coefs), np.asarray(path.intercepts)


def _fit_glmnet(X, y, lams, family, l1_ratio, tol):
    import glmnet

    kw = dict(alpha=l1_ratio, lambda_path=lams, standardize=False, fit_intercept=True,
              tol=tol, max_iter=10**7, n_splits=0)
    if family == "gaussian":
        m = glmnet.ElasticNet(**kw).fit(X, y)
        return m.coef_path_.T, m.intercept_path_
    m = glmnet.LogitNet(**kw).fit(X, y.astype(np.int64))
    return m.coef_path_[0].T, m.intercept_path_[0]


FITS = {"shrinkage": _fit_shrinkage, "glmnet": _fit_glmnet, "adelie": None}


def _adelie_ladder(folder, grid_file, family, l1_ratio, repeats, fine=False):
    """adelie's whole ladder in its interpreter: ``[(tol, seconds, coefs, intercepts)]``."""
    from _runners import call_adelie

    out = tempfile.mkdtemp(prefix="adelie-ladder-")
    try:
        res = call_adelie({"task": "ladder", "data": folder, "lams": grid_file,
                           "family": family, "l1_ratio": l1_ratio,
                           "tols": ladder("adelie", fine), "repeats": repeats}, out)
        return [(r["tol"], r["seconds"], np.load(os.path.join(out, f"coefs_{i}.npy")),
                 np.load(os.path.join(out, f"inter_{i}.npy")))
                for i, r in enumerate(res["runs"])]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _timed(fit, repeats, *args):
    """Best of ``repeats`` timed calls after one untimed call. The warm-up on a short
    grid does not reach every kernel a whole path at this tolerance needs (an active-set
    polish, a conjugate-gradient step), and numba loads a kernel from its cache, or
    compiles it, at its first call: with ``--repeats 1`` and no untimed call, the quick
    binomial pairs path read 0.53 s at shrinkage's rung 1e-3 and 1.39 s at 1e-4 (0.028 s
    and 0.082 s warm)."""
    out = fit(*args)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        out = fit(*args)
        best = min(best, time.perf_counter() - t)
    return best, out


def run_case(name, libs, target, repeats, data_dir, quick=False, fine=False):
    from _cases import CASES, load, load_grid, objective, prepare

    case = CASES[name]
    folder = prepare(case, quick, data_dir)
    X, y = load(folder)
    lams = load_grid(folder, case.l1_ratio)
    grid_file = os.path.join(folder, f"lams-{case.l1_ratio:g}-{lams.size}.npy")
    fam, a = case.family, case.l1_ratio
    # warm-up (compilation, caches) on a short grid; adelie warms up in its own process
    for lib in libs:
        if lib != "adelie":
            FITS[lib](X, y, lams[:5], fam, a, LADDERS[lib][-1])
    runs = []
    for lib in libs:
        if lib == "adelie":
            try:
                timed = _adelie_ladder(folder, grid_file, fam, a, repeats, fine)
            except RuntimeError as exc:
                print(f"adelie failed on {name}: {exc}")
                timed = []
        else:
            timed = []
            for tol in ladder(lib, fine):
                dt, (coefs, inter) = _timed(FITS[lib], repeats, X, y, lams, fam, a, tol)
                timed.append((tol, dt, coefs, inter))
        for tol, dt, coefs, inter in timed:
            k = coefs.shape[0]
            F = objective(X, y, coefs, inter, lams[:k], fam, a)
            runs.append((lib, tol, dt, k, F))
    best = np.full(lams.size, np.inf)
    for *_, k, F in runs:
        best[:k] = np.minimum(best[:k], F)
    print(f"\n## {name}\n")
    print("| library | tol | seconds | lams | max rel subopt |")
    print("|---|---|---|---|---|")
    chosen, loosest = {}, {}
    for lib, tol, dt, k, F in runs:
        sub = float(np.max((F - best[:k]) / np.maximum(np.abs(best[:k]), 1e-300)))
        ok = k == lams.size and sub <= target
        print(f"| {lib} | {tol:g} | {dt:.4g} | {k} | {sub:.1e}{'' if ok else ' (misses)'} |")
        loosest.setdefault(lib, ok)
        if ok and (lib not in chosen or dt < chosen[lib][1]):
            chosen[lib] = (tol, dt, sub)
    print(f"\nfastest run within {target:g} relative suboptimality:")
    for lib in libs:
        if lib in chosen:
            tol, dt, sub = chosen[lib]
            # a ladder whose loosest rung already meets the target may time a library
            # slower than it needs to be
            caveat = "; its loosest rung: a looser one might be faster" if loosest[lib] else ""
            print(f"- {lib}: {dt:.4g} s (tol {tol:g}, subopt {sub:.1e}{caveat})")
        else:
            print(f"- {lib}: no tolerance on the ladder reached it")
    if "shrinkage" in chosen and len(chosen) > 1:
        others = {k: v for k, v in chosen.items() if k != "shrinkage"}
        lib, (_, dt, _) = min(others.items(), key=lambda kv: kv[1][1])
        print(f"- shrinkage vs fastest other ({lib}): {dt / chosen['shrinkage'][1]:.2f}x")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=None,
                    help="comma-separated case names (default: gaussian-lasso-sparse, or "
                    "those of --data)")
    ap.add_argument("--libs", default="shrinkage,glmnet")
    ap.add_argument("--target", type=float, default=1e-6)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="small versions of the cases")
    ap.add_argument("--fine", action="store_true",
                    help="half-decade rungs for every library (twice the runs)")
    ap.add_argument("--data-dir",
                    default=os.path.join(tempfile.gettempdir(), "shrinkage-bench-data"))
    add_data_arguments(ap)
    args = ap.parse_args(argv)
    files = data_cases(args)
    if args.cases is None:
        args.cases = ",".join(files) or "gaussian-lasso-sparse"
    libs = [lib for lib in args.libs.split(",") if lib]
    for lib in libs:
        if lib not in FITS:
            ap.error(f"unknown library {lib!r}; choose from {sorted(FITS)}")
    for name in args.cases.split(","):
        run_case(name, libs, args.target, args.repeats, args.data_dir, args.quick, args.fine)


if __name__ == "__main__":
    main()
