"""Cost of cross-validation: 10-fold CV of a 100-lam path against one full path, and
against scikit-learn's LassoCV / LogisticRegressionCV(l1), python-glmnet's CV and adelie.

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

adelie runs in its own interpreter (numpy < 2, ``ADELIE_PYTHON``; ``_adelie_worker.py``)
and is timed there. ``cv_grpnet`` can take neither the benchmark's grid nor fixed folds, so
here adelie's CV is a loop over ``grpnet`` on fixed folds (``_cases.fold_ids``) and the
common grid, held-out rows weighted zero as ``cv_grpnet`` does, plus the full-data path,
at adelie's default ``tol = irls_tol = 1e-7``, ``early_exit=False``, ``n_threads =
--n-jobs``.

``--defaults`` asks "where users start" instead: each library's own CV with its own
defaults (grid, tolerance, standardization, folds, selection rule, jobs) on the raw data
(``_cases.make_data(raw=True)``), 10 folds: shrinkage ``cross_validate(X, y, family,
cv=10)``, glmnet ``ElasticNet / LogitNet(n_splits=10)``, adelie ``cv_grpnet(
ad.matrix.standardize(X), glm, n_folds=10)`` + ``.fit`` (we wrap X: adelie's Python API
has no standardize argument, adelie in R standardizes by default), scikit-learn
``LassoCV(cv=10)`` / ``ElasticNetCV(l1_ratio=0.5, cv=10)`` /
``LogisticRegressionCV(l1_ratios=(1,), solver='saga', cv=10)`` (1.9's spelling of
``penalty='l1'``). It prints wall time, each library's grid and chosen strength (in its
own units) and the number of nonzero coefficients there, with the CPU seconds of the
same run and the cores the library used (shrinkage runs its folds in threads on every core
by default, in the calling thread when they are expected to take under 0.05 s in all;
python-glmnet's ``n_jobs`` and adelie's ``n_threads`` default to 1), so that a
wall-time comparison on a few cores can be read honestly. ``--repeat k`` keeps each
library's fastest of ``k`` runs (after shrinkage's and glmnet's warm-up; adelie's runs
follow each other in one interpreter)::

    python benchmarks/bench_cv.py --defaults --quick --cases gaussian-lasso-text
    python benchmarks/bench_cv.py --defaults --quick --repeat 5 --libs shrinkage glmnet adelie
    python benchmarks/bench_cv.py --defaults --data news.svm   # on a data file of yours

shrinkage's folds end once their held-out loss has risen well past its best (its default,
``shrinkage.tuning.held_out_stop``; the note column says how many strengths the curve
kept); ``--no-held-out-stop`` fits every fold to the end of the grid, as before
2026-12-07.
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

DEFAULT_LIBS = ["shrinkage", "sklearn", "glmnet", "adelie"]
#: shrinkage's folds may end once their held-out loss has risen past its best (its
#: default); --no-held-out-stop fits every fold to the end of the grid
HELD_OUT_STOP = True

DEFAULT_CASES = [
    "gaussian-lasso-diabetes",
    "gaussian-lasso-tall",
    "gaussian-lasso-wide",
    "gaussian-lasso-sparse",
    "binomial-l1-breast_cancer",
    "binomial-l1-tall",
]


def _data(name, quick, n_lams, raw=False):
    from _cases import CASES, lam_grid, lam_max, make_data

    case = CASES[name]
    X, y = make_data(case, quick, raw=raw)
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
        cv_kw = dict(kw, held_out_stop=HELD_OUT_STOP)
        # Warm-up: load numba's caches for every code path both timings use (the folds
        # run weighted paths, the full path an unweighted one).
        # The full grid, so that the compiled whole-path drivers are loaded too.
        regularization_path(X, y, lams=lams, **kw)
        cross_validate(X, y, cv=folds, lams=lams, n_jobs=n_jobs, random_state=0, **cv_kw)
        t_path = min(_time(lambda: regularization_path(X, y, lams=lams, **kw))
                     for _ in range(3))
        t_cv = _time(lambda: cross_validate(X, y, cv=folds, lams=lams, n_jobs=n_jobs,
                                            random_state=0, **cv_kw))
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
    if lib == "adelie":
        from cv_equal_accuracy import adelie_cv_runs

        runs = adelie_cv_runs(X, y, lams, fam, case.l1_ratio, [1e-7], n_jobs)
        return {"cv": runs[0][1]}
    raise ValueError(f"unknown library {lib!r}")


def _grid(lams):
    lams = np.asarray(lams, dtype=np.float64)
    return [float(lams.max()), float(lams.min()), int(lams.size)]


def _fastest(repeat, fn):
    """``(wall s, CPU s, result)`` of the fastest (by wall time) of ``repeat`` calls."""
    best = None
    for _ in range(max(1, repeat)):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        run = (time.perf_counter() - t, time.process_time() - c, out)
        if best is None or run[0] < best[0]:
            best = run
    return best


def run_one_defaults(name, lib, quick, folds, repeat=1):
    """One library's own default CV on the raw data: time, grid, choice, nonzeros."""
    case, X, y, _ = _data(name, quick, 2, raw=True)
    fam, a = case.family, case.l1_ratio
    n = X.shape[0]
    if lib == "shrinkage":
        from shrinkage import cross_validate

        # warm-up: the timed CV itself, once, untimed: numba loads (or compiles) a kernel
        # at its first call, and a small subset's CV does not reach every kernel the
        # whole folds call (active-set polishes, conjugate-gradient steps)
        stop = HELD_OUT_STOP
        cross_validate(X, y, fam, l1_ratio=a, cv=folds, held_out_stop=stop)
        sec, cpu, res = _fastest(repeat, lambda: cross_validate(X, y, fam, l1_ratio=a,
                                                                cv=folds, held_out_stop=stop))
        i = res.index_chosen
        return {"cv": sec, "cpu": cpu, "cores": f"<={os.cpu_count()}", "grid": _grid(res.lams),
                "chosen": float(res.lams[i]),
                "rule": res.rule, "min": float(res.lams[res.index_min]),
                "nnz": None if res.nnz is None else int(res.nnz[i]),
                "note": f"metric {res.metric}; n_jobs=None (all cores); standardize=True; "
                        f"held_out_stop={stop} (curve kept {res.extra['held_out_stop'] or 'all'}"
                        f" of {res.lams.size} lams)"}
    if lib == "glmnet":
        import glmnet

        if fam == "gaussian":
            make, yy = (lambda: glmnet.ElasticNet(alpha=a, n_splits=folds)), y
        elif fam == "binomial":
            make, yy = (lambda: glmnet.LogitNet(alpha=a, n_splits=folds)), y.astype(np.int64)
        else:
            return {"error": "python-glmnet has no poisson"}
        if repeat > 1:
            make().fit(X, yy)  # warm-up (imports, first allocations)
        sec, cpu, model = _fastest(repeat, lambda: make().fit(X, yy))
        k = int(model.n_lambda_)
        score = "R^2" if fam == "gaussian" else "accuracy"
        return {"cv": sec, "cpu": cpu, "cores": 1, "grid": _grid(model.lambda_path_[:k]),
                "chosen": float(np.ravel(model.lambda_best_)[0]), "rule": "1se (cut_point=1)",
                "min": float(np.ravel(model.lambda_max_)[0]),
                "nnz": int(np.count_nonzero(model.coef_)),
                "note": f"scoring {score} (default); n_jobs=1; standardize=True"}
    if lib == "adelie":
        import shutil
        import tempfile

        from _cases import save
        from _runners import call_adelie

        out = tempfile.mkdtemp(prefix="adelie-cvdef-")
        try:
            save(os.path.join(out, "data"), X, y)
            res = call_adelie({"task": "cv_defaults", "data": os.path.join(out, "data"),
                               "family": fam, "l1_ratio": a, "n_folds": folds,
                               "repeat": repeat}, os.path.join(out, "res"))
        finally:
            shutil.rmtree(out, ignore_errors=True)
        res["cv"] = res.pop("cv_s")
        res["cpu"] = res.pop("cv_cpu_s", float("nan"))
        res["cores"] = 1
        res["min"] = res["chosen"]
        res["note"] += (f"; CV {res['cv_only_s']:.2f} s + refit {res['refit_s']:.2f} s")
        return res
    if lib == "sklearn":
        if fam == "gaussian":
            from sklearn.linear_model import ElasticNetCV, LassoCV

            model = LassoCV(cv=folds) if a == 1.0 else ElasticNetCV(l1_ratio=a, cv=folds)
            sec, cpu, _ = _fastest(repeat, lambda: model.fit(X, y))
            return {"cv": sec, "cpu": cpu, "cores": 1, "grid": _grid(model.alphas_),
                    "chosen": float(model.alpha_),
                    "rule": "min", "min": float(model.alpha_),
                    "nnz": int(np.count_nonzero(model.coef_)),
                    "note": f"{type(model).__name__}(cv={folds}); alpha = lam on raw X"}
        if fam == "binomial":
            from sklearn.linear_model import LogisticRegressionCV

            model = LogisticRegressionCV(l1_ratios=(a,), solver="saga", cv=folds)
            sec, cpu, _ = _fastest(repeat, lambda: model.fit(X, y))
            lam = 1.0 / (n * float(np.ravel(model.C_)[0]))
            return {"cv": sec, "cpu": cpu, "cores": 1,
                    "grid": _grid(1.0 / (n * np.asarray(model.Cs_))),
                    "chosen": lam, "rule": "min (best score)", "min": lam,
                    "nnz": int(np.count_nonzero(model.coef_)),
                    "note": "LogisticRegressionCV(l1_ratios=(1,), solver='saga'); lam = "
                    "1/(n C) on raw X; scoring accuracy (default)"}
        return {"error": "no poisson CV in scikit-learn"}
    return {"error": f"no --defaults runner for {lib}"}


def _child(name, lib, args):
    cmd = [sys.executable, __file__, "--one", name, lib, "--n-lams", str(args.n_lams),
           "--folds", str(args.folds), "--n-jobs", str(args.n_jobs),
           "--repeat", str(args.repeat)]
    if args.quick:
        cmd.append("--quick")
    if args.defaults:
        cmd.append("--defaults")
    if args.no_held_out_stop:
        cmd.append("--no-held-out-stop")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f">{args.timeout}s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(r, key="cv"):
    if "error" in r:
        return r["error"] if r["error"].startswith(">") else "n/a"
    return f"{r[key]:.2f}s"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=None,
                    help="case names (default: a selection, or those of --data)")
    ap.add_argument("--libs", nargs="+", default=DEFAULT_LIBS)
    ap.add_argument("--quick", action="store_true", help="small versions of the cases")
    ap.add_argument("--defaults", action="store_true",
                    help="each library's own default CV on the raw data (see the docstring)")
    ap.add_argument("--n-lams", type=int, default=100)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="--defaults: keep each library's fastest of this many runs")
    ap.add_argument("--no-held-out-stop", action="store_true",
                    help="shrinkage fits every fold to the end of the grid "
                         "(cross_validate(held_out_stop=False))")
    ap.add_argument("--one", nargs=2, metavar=("CASE", "LIB"), help=argparse.SUPPRESS)
    from _cases import add_data_arguments, data_cases

    add_data_arguments(ap)
    args = ap.parse_args(argv)
    global HELD_OUT_STOP
    HELD_OUT_STOP = not args.no_held_out_stop
    if args.one:
        if args.defaults:
            res = run_one_defaults(args.one[0], args.one[1], args.quick, args.folds,
                                   args.repeat)
        else:
            res = run_one(args.one[0], args.one[1], args.quick, args.n_lams, args.folds,
                          args.n_jobs)
        print(json.dumps(res))
        return 0
    from _cases import CASES, describe

    files = data_cases(args)
    if args.cases is None:
        args.cases = files or DEFAULT_CASES
    if args.defaults:
        return main_defaults(args, CASES)

    refs = [lib for lib in args.libs if lib != "shrinkage"]
    head = ["case", "n x p", "path", "cv", "cv/path"]
    for lib in refs:
        head += [f"{lib} cv", f"{lib}/ours"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in args.cases:
        case = CASES[name]
        dims = describe(case, args.quick)
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


def main_defaults(args, cases) -> int:
    """--defaults: one row per (case, library)."""
    from _cases import describe

    print(f"# bench_cv --defaults: each library's own {args.folds}-fold CV with its own "
          "defaults on the raw data; grids, tolerances, folds, rules and jobs differ.")
    print("# adelie: X wrapped in ad.matrix.standardize (its Python API has no standardize "
          "argument; adelie in R standardizes by default). Strengths are in each library's "
          "own units: shrinkage, glmnet and adelie on standardized features, scikit-learn "
          "on raw X.")
    print()
    print(f"# wall and CPU seconds of the fastest of {args.repeat} run(s); cores: what the "
          "library ran on (its default)")
    print()
    print("| case | n x p | library | cv s | CPU s | cores | grid lam_max | lam_min | lams | "
          "chosen (rule) | min | nnz at chosen | note |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        case = cases[name]
        dims = describe(case, args.quick)
        for lib in args.libs:
            r = _child(name, lib, args)
            if "error" in r:
                print(f"| {name} | {dims} | {lib} | {r['error']} | | | | | | | | | |",
                      flush=True)
                continue
            lmax, lmin, k = r["grid"]
            if not np.all(np.isfinite([lmax, lmin, r["chosen"]])):
                # not a fit (adelie on a constant column: NaN strengths, in milliseconds)
                print(f"| {name} | {dims} | {lib} | invalid: non-finite strengths returned "
                      f"| | | | | | | | | {r.get('note', '')} |", flush=True)
                continue
            nnz = "-" if r.get("nnz") is None else r["nnz"]
            print(f"| {name} | {dims} | {lib} | {r['cv']:.3f} | {r.get('cpu', np.nan):.3f} | "
                  f"{r.get('cores', '?')} | {lmax:.4g} | {lmin:.4g} | "
                  f"{k} | {r['chosen']:.4g} ({r['rule']}) | {r['min']:.4g} | {nnz} | "
                  f"{r.get('note', '')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
