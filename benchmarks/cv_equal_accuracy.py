"""Cross-validation speed at equal accuracy of the CV curve.

``bench_cv.py`` runs each library's CV at its default tolerance, where libraries return
curves of very different accuracy. What a CV curve is for is choosing a strength, so this
script measures the accuracy that matters: how far a library's CV mean curve lies from the
curve it gives when every fold is solved (nearly) exactly, in units of the curve's
standard error. Each library walks down a ladder of its own tolerances (same folds within
a library: fixed ``random_state``), the tightest run is its reference, and the report gives
its fastest run whose curve is within ``--targets`` standard errors of that reference at
every strength (one column per target).

Same cases, data and grid as the engine benchmark (``_cases.py``), 10 folds, ``--n-jobs``
jobs (2 by default, both libraries), one process, warm timings.

adelie runs in its own interpreter (numpy < 2, ``ADELIE_PYTHON``; ``_adelie_worker.py``),
timed there. ``cv_grpnet`` cannot take fixed folds (it draws them from ``np.random.seed``)
or a fixed grid (it builds its own ``lmda_path``), so adelie's CV here is a loop over
``grpnet`` on the benchmark's fixed folds (``_cases.fold_ids``, seed 0) and grid, each
training fit on the full X with the held-out rows weighted zero (what ``cv_grpnet`` does
inside), plus the full-data path; ``n_threads = --n-jobs``; ``tol`` and ``irls_tol`` set
together, ``early_exit=False``. Its curve is the held-out MSE (gaussian) or mean deviance.

Usage (in the environment with the ``bench`` extra and python-glmnet)::

    python benchmarks/cv_equal_accuracy.py --cases gaussian-lasso-sparse --targets 1e-2,1e-3
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

LADDERS = {
    "shrinkage": [1e-2, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6, 1e-7, 1e-10],
    "glmnet": [1e-7, 1e-8, 1e-9, 3e-10, 1e-10, 3e-11, 1e-11, 1e-13],
    "adelie": [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12],
}


def _cv_shrinkage(X, y, lams, family, l1_ratio, tol, n_jobs):
    from shrinkage import cross_validate

    res = cross_validate(X, y, family=family, l1_ratio=l1_ratio, lams=lams, cv=10,
                         standardize=False, n_jobs=n_jobs, random_state=0, tol=tol,
                         held_out_stop=False)  # (the whole curve, as the others fit it)
    return res.mean, res.se


def _cv_glmnet(X, y, lams, family, l1_ratio, tol, n_jobs):
    import glmnet

    kw = dict(alpha=l1_ratio, lambda_path=lams, standardize=False, n_splits=10,
              n_jobs=n_jobs, random_state=0, tol=tol, max_iter=10**7)
    if family == "gaussian":
        m = glmnet.ElasticNet(**kw).fit(X, y)
    else:
        # log loss, as shrinkage's default binomial metric (deviance = 2 x log loss);
        # python-glmnet's default, accuracy, is a step function of the fit
        m = glmnet.LogitNet(scoring="log_loss", **kw).fit(X, y.astype(np.int64))
    # python-glmnet returns its scores on its own (decreasing) lambda order
    return np.asarray(m.cv_mean_score_), np.asarray(m.cv_standard_error_)


CVS = {"shrinkage": _cv_shrinkage, "glmnet": _cv_glmnet, "adelie": None}


def adelie_cv_runs(X, y, lams, family, l1_ratio, tols, n_jobs, timeout=None):
    """adelie's fixed-fold CV once per tol: ``[(tol, seconds, mean, se)]``."""
    from _cases import fold_ids, save
    from _runners import call_adelie

    out = tempfile.mkdtemp(prefix="adelie-cv-")
    try:
        save(os.path.join(out, "data"), X, y)
        np.save(os.path.join(out, "lams.npy"), np.asarray(lams, dtype=np.float64))
        np.save(os.path.join(out, "folds.npy"), fold_ids(X.shape[0], 10, 0))
        res = call_adelie({"task": "cv_ladder", "data": os.path.join(out, "data"),
                           "lams": os.path.join(out, "lams.npy"),
                           "folds": os.path.join(out, "folds.npy"), "family": family,
                           "l1_ratio": l1_ratio, "tols": list(tols), "n_threads": n_jobs},
                          os.path.join(out, "res"), timeout=timeout, threads=n_jobs)
        return [(r["tol"], r["seconds"], np.load(os.path.join(out, "res", f"mean_{i}.npy")),
                 np.load(os.path.join(out, "res", f"se_{i}.npy")))
                for i, r in enumerate(res["runs"])]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def deviation(mean, se, ref_mean, ref_se):
    """Largest ``|mean - ref_mean| / ref_se`` over strengths both curves reach."""
    k = min(mean.size, ref_mean.size)
    ok = np.isfinite(mean[:k]) & np.isfinite(ref_mean[:k]) & (ref_se[:k] > 0)
    return float(np.max(np.abs(mean[:k][ok] - ref_mean[:k][ok]) / ref_se[:k][ok]))


def run_case(name, libs, targets, n_jobs, quick):
    from _cases import CASES, lam_grid, lam_max, make_data

    case = CASES[name]
    X, y = make_data(case, quick)
    n, p = X.shape
    lams = lam_grid(lam_max(X, y, case.family, case.l1_ratio), case.min_ratio(n, p), 100)
    rows = []
    for lib in libs:
        fit = CVS[lib]
        ladder = LADDERS[lib]
        if lib == "adelie":  # its own interpreter, its own warm-up and timings
            try:
                runs = adelie_cv_runs(X, y, lams, case.family, case.l1_ratio, ladder, n_jobs)
            except RuntimeError as exc:
                print(f"  {name} adelie failed: {exc}", flush=True)
                rows.append((lib, [None] * len(targets)))
                continue
        else:
            fit(X[:200], y[:200], lams, case.family, case.l1_ratio, ladder[0], 1)  # warm-up
            runs = []
            for tol in ladder:
                t = time.perf_counter()
                mean, se = fit(X, y, lams, case.family, case.l1_ratio, tol, n_jobs)
                runs.append((tol, time.perf_counter() - t, mean, se))
        ref = runs[-1]
        scored = []
        for tol, sec, mean, se in runs[:-1]:
            dev = deviation(mean, se, ref[2], ref[3])
            print(f"  {name} {lib:9s} tol {tol:7.0e}  {sec:8.2f} s  curve off by "
                  f"{dev:.1e} SE", flush=True)
            scored.append((sec, tol, dev))
        best = []
        for target in targets:
            good = [r for r in scored if r[2] <= target]
            best.append(min(good) if good else None)
        rows.append((lib, best))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="gaussian-lasso-sparse")
    ap.add_argument("--libs", default="shrinkage,glmnet")
    ap.add_argument("--targets", default="1e-2,1e-3",
                    help="largest deviations of the CV mean, in standard errors")
    ap.add_argument("--n-jobs", type=int, default=2)
    for lib in LADDERS:
        ap.add_argument(f"--{lib}-tols", help=f"{lib}'s ladder, loosest first; the last "
                        "one is its reference (default: " +
                        ",".join(f"{t:g}" for t in LADDERS[lib]) + ")")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    for lib in LADDERS:
        given = getattr(args, f"{lib}_tols")
        if given:
            LADDERS[lib] = [float(t) for t in given.split(",")]
    targets = [float(t) for t in args.targets.split(",")]
    out = ["| case | library | " + " | ".join(f"fastest within {t:g} SE (tol, deviation)"
                                             for t in targets) + " |",
           "|---|---|" + "---|" * len(targets)]
    for name in args.cases.split(","):
        for lib, best in run_case(name, args.libs.split(","), targets, args.n_jobs,
                                  args.quick):
            cells = ["none in ladder" if b is None else
                     f"{b[0]:.2f} s (tol {b[1]:.0e}, {b[2]:.1e} SE)" for b in best]
            out.append(f"| {name} | {lib} | " + " | ".join(cells) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
