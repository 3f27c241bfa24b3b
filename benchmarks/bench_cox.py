"""Cox paths and 10-fold CV: shrinkage against scikit-survival's Coxnet and adelie.

Run on demand (never in CI), from the repository root, in the development environment
(scikit-survival is in the ``dev`` extra); adelie runs in its own interpreter
(``ADELIE_PYTHON``, default ``/work/venv-adelie/bin/python``; see README.md)::

    python benchmarks/bench_cox.py                       # wide 300 x 10,000 and tall 100,000 x 50
    python benchmarks/bench_cox.py --cases wide --folds 0

Designs: AR(1)-correlated gaussian features (rho 0.5, "expression"-like, standardized to
unit population variance), 10 true log hazard ratios, exponential event times, ~30%
censoring, continuous times (no ties: Efron = Breslow, so all three solve one problem).
Every library fits the same 100 strengths (shrinkage's default grid), unstandardized on
the standardized X (so ``lam`` = Coxnet's ``alpha`` = adelie's ``lmda``), early stopping
off (Coxnet still ends a path early once the deviance stops changing: its accuracy is
then measured on the strengths it fitted, and shrinkage is timed on those strengths too,
modes ``@K``). Reported per library: CPU seconds (``time.process_time`` of the process that fits;
run with ``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` on a shared machine) for the
path, and its accuracy -- the largest relative suboptimality ``(F(b) - F*) / |F*|`` over
the grid, ``F*`` the best objective any run reached -- at its default tolerance, at a
tight one and (shrinkage) a ladder of looser ones, for comparisons at equal accuracy.

With ``--folds K`` each library also runs K-fold CV on the same folds, ``--repeats R``
times (CPU seconds: the smallest and the median of the R): the full-data path plus the K
training parts' paths (what ``cross_validate`` and ``cv.glmnet`` fit), at each library's
defaults; shrinkage's time also includes scoring every fold (the others' excludes it),
and a line per run gives shrinkage's fits alone, timed like the others' (no scoring).
Equal accuracy: shrinkage's CV is run again at the loosest ``tol`` of its ladder whose
path is at least as accurate as each other library's default path (on the strengths that
library fitted), and as the most accurate of them (modes ``matched``). Tightening a
library's tolerance only costs it time, so CV faster than a library's defaults at that
accuracy is faster than it at equal accuracy. Where Coxnet ends its path early (``K``
strengths), shrinkage's CV also runs on those ``K`` (modes ``@K``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

ADELIE_PYTHON = os.environ.get("ADELIE_PYTHON", "/work/venv-adelie/bin/python")
CASES = {"wide": (300, 10_000), "tall": (100_000, 50)}


def make_case(n, p, seed=0):
    """AR(1) features, 10 true effects, exponential times with ~30% censoring."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = 0.5 * X[:, j - 1] + np.sqrt(0.75) * Z[:, j]
    X = (X - X.mean(0)) / X.std(0)
    beta = np.zeros(p)
    beta[np.linspace(0, p - 1, 10).astype(int)] = rng.choice([-1, 1], 10) * 0.4
    T = rng.exponential(np.exp(-X @ beta))
    C = rng.exponential(np.quantile(T, 0.8), size=n)
    return np.asfortranarray(X), np.minimum(T, C), (T <= C).astype(float)


def objective(X, t, e, coefs, lams):
    """The penalised Cox objective of every path point (lasso, weights 1/n)."""
    from shrinkage.model.cox import Cox, survival_response

    fam, y = Cox("breslow"), survival_response(np.c_[t, e])
    w = np.full(t.size, 1.0 / t.size)
    return np.array([fam.loss(y, X @ b, w) + lam * np.abs(b).sum()
                     for b, lam in zip(coefs, lams)])


def cpu_repeats(fn, repeats):
    """CPU seconds of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def run_shrinkage(X, t, e, lams, tol, folds, repeats=1):
    from shrinkage import cross_validate, regularization_path

    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = regularization_path(X, np.c_[t, e], "cox", lams=lams, tol=tol,
                                   standardize=False, ties="breslow")
    sec = time.process_time() - t0
    print(f"  shrinkage tol={tol}: {int(path.converged.sum())} of {path.n_lams} strengths "
          "converged", flush=True)
    cv_sec = None
    if folds is not None:
        def cv():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cross_validate(X, np.c_[t, e], "cox", cv=folds, lams=lams, tol=tol,
                               standardize=False, ties="breslow", n_jobs=1)
        cv_sec = cpu_repeats(cv, repeats)

        def fits():  # the fits alone, as the other libraries' CV times are taken
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for rows in [np.arange(t.size)] + [np.flatnonzero(folds != f)
                                                   for f in np.unique(folds)]:
                    regularization_path(X[rows], np.c_[t[rows], e[rows]], "cox", lams=lams,
                                        tol=tol, standardize=False, ties="breslow")
        fits_sec = cpu_repeats(fits, repeats)
        print(f"  shrinkage tol={tol}: CV {min(cv_sec):.2f} s CPU with scoring, "
              f"{min(fits_sec):.2f} s for its {1 + np.unique(folds).size} fits alone "
              f"(best of {repeats})", flush=True)
    return path.coefs, sec, cv_sec, lams.size


def run_coxnet(X, t, e, lams, tol, folds, repeats=1):
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    def fit(rows):
        kw = {} if tol is None else {"tol": tol, "max_iter": 10**6}
        model = CoxnetSurvivalAnalysis(alphas=lams, l1_ratio=1.0, normalize=False,
                                       fit_baseline_model=False, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X[rows], Surv.from_arrays(e[rows] == 1, t[rows]))

    t0 = time.process_time()
    model = fit(np.arange(t.size))
    sec = time.process_time() - t0
    coefs = np.zeros((lams.size, X.shape[1]))
    # Coxnet ends its path early once the deviance stops changing: the rest stay 0 and
    # its accuracy is measured on the strengths it fitted (see bench)
    coefs[:model.coef_.shape[1]] = model.coef_.T
    print(f"  coxnet tol={tol}: fitted {model.coef_.shape[1]} of {lams.size} strengths",
          flush=True)
    cv_sec = None
    if folds is not None:
        def cv():
            fit(np.arange(t.size))
            for f in np.unique(folds):
                fit(np.flatnonzero(folds != f))
        cv_sec = cpu_repeats(cv, repeats)
    return coefs, sec, cv_sec, model.coef_.shape[1]


ADELIE_CODE = r"""
import json, sys, time
import numpy as np
import adelie as ad
d = sys.argv[1]
spec = json.load(open(d + "/spec.json"))
X = np.load(d + "/X.npy"); t = np.load(d + "/t.npy"); e = np.load(d + "/e.npy")
lams = np.load(d + "/lams.npy"); folds = np.load(d + "/folds.npy") if spec["folds"] else None
def fit(rows):
    Xr = np.asfortranarray(X[rows])
    glm = ad.glm.cox(np.zeros(rows.size), t[rows], e[rows], tie_method="breslow")
    kw = {} if spec["tol"] is None else {"tol": spec["tol"], "irls_tol": spec["tol"]}
    return ad.grpnet(ad.matrix.dense(Xr, method="naive"), glm, lmda_path=lams,
                     early_exit=False, intercept=False, progress_bar=False,
                     max_iters=10**7, **kw)
t0 = time.process_time(); st = fit(np.arange(t.size)); sec = time.process_time() - t0
np.save(d + "/coefs.npy", st.betas.toarray())
cv = None
if folds is not None:
    cv = []
    for _ in range(spec["repeats"]):
        t0 = time.process_time()
        fit(np.arange(t.size))
        for f in np.unique(folds):
            fit(np.flatnonzero(folds != f))
        cv.append(time.process_time() - t0)
json.dump({"sec": sec, "cv_sec": cv, "error": st.error}, open(d + "/out.json", "w"))
"""


def run_adelie(X, t, e, lams, tol, folds, repeats=1):
    with tempfile.TemporaryDirectory() as d:
        for name, a in (("X", X), ("t", t), ("e", e), ("lams", lams)):
            np.save(f"{d}/{name}.npy", a)
        if folds is not None:
            np.save(f"{d}/folds.npy", folds)
        json.dump({"tol": tol, "folds": folds is not None, "repeats": repeats},
                  open(f"{d}/spec.json", "w"))
        res = subprocess.run([ADELIE_PYTHON, "-c", ADELIE_CODE, d], capture_output=True,
                             text=True)
        if res.returncode != 0:
            return None, res.stderr.strip().splitlines()[-1:], None, 0
        out = json.load(open(f"{d}/out.json"))
        coefs = np.load(f"{d}/coefs.npy")
    full = np.zeros((lams.size, X.shape[1]))
    full[:coefs.shape[0]] = coefs
    return full, out["sec"], out["cv_sec"], coefs.shape[0]


RUNNERS = {"shrinkage": run_shrinkage, "coxnet": run_coxnet, "adelie": run_adelie}
#: each library's modes: its default tolerance (None), a tight one, and for shrinkage a
#: ladder of loose ones (its KKT tolerance is far stricter than the others' defaults):
#: the loosest whose path is as accurate as the others' defaults runs CV ("matched")
MODES = {"shrinkage": (("default", None), ("tight", 1e-10), ("tol=1e-2", 1e-2),
                       ("tol=1e-3", 1e-3), ("tol=1e-4", 1e-4), ("tol=1e-5", 1e-5)),
         "coxnet": (("default", None), ("tight", 1e-12)),
         "adelie": (("default", None), ("tight", 1e-12))}


def suboptimality(runs, X, t, e, lams):
    """Each run's relative suboptimality ``(F - F*) / |F*|`` at every strength it fitted."""
    F = {k: objective(X, t, e, v[0][:v[3]], lams[:v[3]]) for k, v in runs.items()
         if v[0] is not None}
    best = np.array([min(f[k] for f in F.values() if f.size > k) for k in range(lams.size)])
    return {k: (f - best[:f.size]) / np.abs(best[:f.size]) for k, f in F.items()}


def matched_grids(runs, subopt, libs, lams):
    """``{(tol, K)}``: for each other library, the loosest tol of shrinkage's ladder whose
    path is, on that library's ``K`` fitted strengths, at least as accurate as its
    default path; and the loosest as accurate as the most accurate of them all."""
    ladder = [(tol, mode) for mode, tol in MODES["shrinkage"] if tol is not None]

    def loosest(target, K):
        ok = [tol for tol, mode in ladder
              if float(np.max(subopt[("shrinkage", mode)][:K])) <= target]
        return max(ok) if ok else 1e-6

    others = {lib: (float(np.max(subopt[(lib, "default")])), runs[(lib, "default")][3])
              for lib in libs if lib != "shrinkage" and (lib, "default") in subopt}
    out = {(loosest(target, K), K) for target, K in others.values()}
    if others:
        target = min(v[0] for v in others.values())
        out |= {(loosest(target, lams.size), K) for _, K in others.values()}
    return sorted(out)


def bench(case, n_folds, libs, repeats, default_cv=True):
    n, p = CASES[case]
    X, t, e = make_case(n, p)
    from shrinkage import regularization_path

    lams = regularization_path(X, np.c_[t, e], "cox", standardize=False, n_lams=100,
                               early_stop=False, lams=None).lams
    folds = None
    if n_folds:
        folds = np.random.default_rng(1).permutation(np.arange(n) % n_folds)
    runs = {}
    for lib in libs:
        for mode, tol in MODES[lib]:
            # CV at each library's defaults only (the tight modes take minutes per path)
            cv = mode == "default" and (default_cv or lib != "shrinkage")
            runs[(lib, mode)] = RUNNERS[lib](X, t, e, lams, tol, folds if cv else None,
                                             repeats)
            print(f"  {case} {lib:9s} {mode:8s} path {runs[(lib, mode)][1]} s, "
                  f"cv {runs[(lib, mode)][2]} s", flush=True)
    short = min(v[3] for v in runs.values() if v[0] is not None)
    if "shrinkage" in libs and short < lams.size:
        # a library stopped its path early: shrinkage on the same strengths, for times
        # on equal work
        for mode, tol in MODES["shrinkage"][:2]:
            cv = mode == "default" and default_cv
            coefs, sec, cv_sec, _ = run_shrinkage(X, t, e, lams[:short], tol,
                                                  folds if cv else None, repeats)
            full = np.zeros((lams.size, X.shape[1]))
            full[:short] = coefs
            runs[("shrinkage", f"{mode}@{short}")] = (full, sec, cv_sec, short)
    subopt = suboptimality(runs, X, t, e, lams)
    if "shrinkage" in libs and folds is not None:
        # equal accuracy: CV at each matched tolerance, on the matched strengths
        for tol, K in matched_grids(runs, subopt, libs, lams):
            coefs, sec, cv_sec, _ = run_shrinkage(X, t, e, lams[:K], tol, folds, repeats)
            full = np.zeros((lams.size, X.shape[1]))
            full[:K] = coefs
            mode = f"matched tol={tol:g}" + ("" if K == lams.size else f"@{K}")
            runs[("shrinkage", mode)] = (full, sec, cv_sec, K)
        subopt = suboptimality(runs, X, t, e, lams)
    rows = []
    for (lib, mode), (_, sec, cv_sec, fitted) in runs.items():
        rows.append({"case": case, "n": n, "p": p, "lib": lib, "mode": mode,
                     "path_sec": sec, "cv_sec": cv_sec, "lams_fitted": fitted,
                     "max_rel_subopt": (float(np.max(subopt[(lib, mode)]))
                                        if (lib, mode) in subopt else None)})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="wide,tall")
    ap.add_argument("--libs", default="shrinkage,coxnet,adelie")
    ap.add_argument("--folds", type=int, default=10, help="CV folds (0: no CV)")
    ap.add_argument("--repeats", type=int, default=3, help="CV timings per library")
    ap.add_argument("--no-default-cv", action="store_true",
                    help="no CV for shrinkage at its default tol (matched modes only)")
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    rows = []
    for case in args.cases.split(","):
        rows += bench(case, args.folds, args.libs.split(","), args.repeats,
                      not args.no_default_cv)
    print(f"{'case':5s} {'library':9s} {'mode':22s} {'lams':>4s} {'path cpu s':>10s} "
          f"{'cv cpu s min':>12s} {'cv median':>9s} {'max rel subopt':>15s}")
    for r in rows:
        cv, med = "-", "-"
        if r["cv_sec"] is not None:
            cv, med = f"{min(r['cv_sec']):.2f}", f"{float(np.median(r['cv_sec'])):.2f}"
        so = "failed" if r["max_rel_subopt"] is None else f"{r['max_rel_subopt']:.1e}"
        sec = r["path_sec"] if isinstance(r["path_sec"], float) else float("nan")
        print(f"{r['case']:5s} {r['lib']:9s} {r['mode']:22s} {r['lams_fitted']:4d} "
              f"{sec:10.2f} {cv:>12s} {med:>9s} {so:>15s}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
