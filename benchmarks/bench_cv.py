"""Cost of cross-validation: 10-fold CV of a 100-lam path against one full path, and
against scikit-learn's LassoCV / LogisticRegressionCV(l1) and python-glmnet's CV.

Same data and grid as the engine benchmark (``_cases.py``: standardized X, the common
``lam`` grid, ``standardize=False`` everywhere). Each (case, library) runs in its own
subprocess with a time limit, after warm-up fits so that numba's first-call compilation
and cache loading are not counted. Libraries run with their default tolerances (what a
user gets) on the same grid, the same number of folds and the same number of jobs.

Columns: ``path`` one shrinkage path on all data; ``cv`` shrinkage's 10-fold
``cross_validate`` (which includes its own full-data path); ``cv/path`` the ratio (target
<= 3 on 2 cores); then each reference's CV time and its ratio to ours.

Usage::

    python benchmarks/bench_cv.py --quick                  # small versions, ~1 minute
    python benchmarks/bench_cv.py --cases gaussian-lasso-diabetes binomial-l1-breast_cancer
    python benchmarks/bench_cv.py --libs shrinkage sklearn glmnet --timeout 600

Reference libraries are optional (``pip install python-glmnet``); a missing one is shown
as ``n/a``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DEFAULT_CASES = [
    "gaussian-lasso-diabetes",
    "gaussian-lasso-tall",
    "gaussian-lasso-wide",
    "gaussian-lasso-sparse",
    "binomial-l1-breast_cancer",
    "binomial-l1-tall",
]


def _data(name, quick, n_lams):
    from _cases import CASES, lam_grid, lam_max, make_data

    case = CASES[name]
    X, y = make_data(case, quick)
    n, p = X.shape
    lams = lam_grid(lam_max(X, y, case.family, case.l1_ratio), case.min_ratio(n, p), n_lams)
    return case, X, y, lams


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_one(name, lib, quick, n_lams, folds, n_jobs):
    """Time one library on one case; returns a dict (printed as JSON by the child)."""
    case, X, y, lams = _data(name, quick, n_lams)
    fam = case.family
    if lib == "shrinkage":
        from shrinkage import cross_validate, regularization_path

        kw = dict(family=fam, l1_ratio=case.l1_ratio, standardize=False)
        # Warm-up: load numba's caches for every code path both timings use (the folds
        # run weighted paths, the full path an unweighted one).
        # The full grid, so that the compiled whole-path drivers are loaded too.
        regularization_path(X, y, lams=lams, **kw)
        cross_validate(X[:200], y[:200], cv=3, lams=lams, n_jobs=1, random_state=0, **kw)
        t_path = min(_time(lambda: regularization_path(X, y, lams=lams, **kw))
                     for _ in range(3))
        t_cv = _time(lambda: cross_validate(X, y, cv=folds, lams=lams, n_jobs=n_jobs,
                                            random_state=0, **kw))
        return {"path": t_path, "cv": t_cv}
    if lib == "sklearn":
        from sklearn.model_selection import KFold, StratifiedKFold

        if fam == "gaussian":
            from sklearn.linear_model import ElasticNetCV

            m = ElasticNetCV(alphas=lams, l1_ratio=case.l1_ratio, cv=KFold(folds), n_jobs=n_jobs)
            return {"cv": _time(lambda: m.fit(X, y))}
        if fam == "binomial":
            from sklearn.linear_model import LogisticRegressionCV

            m = LogisticRegressionCV(Cs=1.0 / (X.shape[0] * lams), l1_ratios=[case.l1_ratio],
                                     solver="saga", cv=StratifiedKFold(folds), n_jobs=n_jobs)
            return {"cv": _time(lambda: m.fit(X, y))}
        return {"error": "no poisson CV in scikit-learn"}
    if lib == "glmnet":
        import glmnet

        kw = dict(alpha=case.l1_ratio, lambda_path=lams, standardize=False, n_splits=folds,
                  n_jobs=n_jobs, random_state=0)
        if fam == "gaussian":
            return {"cv": _time(lambda: glmnet.ElasticNet(**kw).fit(X, y))}
        if fam == "binomial":
            return {"cv": _time(lambda: glmnet.LogitNet(**kw).fit(X, y.astype(np.int64)))}
        return {"error": "python-glmnet has no poisson"}
    raise ValueError(f"unknown library {lib!r}")


def _child(name, lib, args):
    cmd = [sys.executable, __file__, "--one", name, lib, "--n-lams", str(args.n_lams),
           "--folds", str(args.folds), "--n-jobs", str(args.n_jobs)]
    if args.quick:
        cmd.append("--quick")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f">{args.timeout}s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(r, key="cv"):
    if "error" in r:
        return r["error"] if r["error"].startswith(">") else "n/a"
    return f"{r[key]:.2f}s"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    ap.add_argument("--libs", nargs="+", default=["shrinkage", "sklearn", "glmnet"])
    ap.add_argument("--quick", action="store_true", help="small versions of the cases")
    ap.add_argument("--n-lams", type=int, default=100)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--one", nargs=2, metavar=("CASE", "LIB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        res = run_one(args.one[0], args.one[1], args.quick, args.n_lams, args.folds,
                      args.n_jobs)
        print(json.dumps(res))
        return 0
    from _cases import CASES

    refs = [lib for lib in args.libs if lib != "shrinkage"]
    head = ["case", "n x p", "path", "cv", "cv/path"]
    for lib in refs:
        head += [f"{lib} cv", f"{lib}/ours"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in args.cases:
        case = CASES[name]
        shape = case.shape(args.quick)
        dims = "x".join(map(str, shape)) if shape else case.data
        ours = _child(name, "shrinkage", args)
        row = [name, dims, _fmt(ours, "path"), _fmt(ours)]
        row.append(f"{ours['cv'] / ours['path']:.1f}" if "error" not in ours else "n/a")
        for lib in refs:
            r = _child(name, lib, args)
            row.append(_fmt(r))
            both = "error" not in r and "error" not in ours
            row.append(f"{r['cv'] / ours['cv']:.1f}x" if both else "")
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
