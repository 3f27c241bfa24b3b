"""adelie's side of the benchmarks: runs in adelie's own interpreter, never in the bench venv.

adelie 1.1 needs numpy < 2 while the benchmark environment has numpy 2, so adelie lives in a
separate virtual environment (``ADELIE_PYTHON``, default ``/work/venv-adelie/bin/python``;
see README.md). Two ways in:

- ``bench_path.py`` runs its ordinary ``_worker.py`` with that interpreter for
  ``--libs adelie``; ``_runners.run_adelie`` then imports :func:`fit_path` /
  :func:`fit_defaults` from here, so adelie is timed in-process exactly like the others.
- ``equal_accuracy.py``, ``cv_equal_accuracy.py`` and ``bench_cv.py`` call
  ``python _adelie_worker.py SPEC.json`` (``_runners.call_adelie``). The spec names a data
  folder written by ``_cases.prepare`` / ``_cases.save`` (``.npy`` files, never pickle), the
  grid and fold ids as ``.npy`` files and a task; every timing is taken in here, around the
  fits only (not the interpreter start or the data loading), and the results come back as
  ``.npy`` arrays plus ``result.json`` in the spec's ``out`` folder.

Equal-objective settings (``fit_path``, ``cv_fixed``): the benchmark's already standardized X
is passed as it is (no ``ad.matrix.standardize``), ``intercept=True``,
``early_exit=False``, ``lmda_path`` = the benchmark's grid (adelie's ``lmda`` is glmnet's
``lambda`` and shrinkage's ``lam``), ``alpha`` = ``l1_ratio``; ``tol`` and ``irls_tol`` are
set together. Defaults (``fit_defaults``, ``cv_defaults``): adelie's own defaults on the raw
data, with X wrapped in ``ad.matrix.standardize`` (the Python API has no ``standardize``
argument; adelie's R package standardizes by default) and the coefficients transformed
back to the raw scale.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

#: grpnet's max_iters for the equal-objective fits (default 100,000 coordinate sweeps in
#: total, which tight tolerances on long paths can exhaust)
MAX_ITERS = 10**7


def _matrix(X, n_threads: int = 1):
    import adelie as ad

    if sp.issparse(X):
        return ad.matrix.sparse(sp.csc_matrix(X), method="naive", n_threads=n_threads)
    X = np.asarray(X, dtype=np.float64)
    if not (X.flags.f_contiguous or X.flags.c_contiguous):  # a row slice: adelie needs one
        X = np.asfortranarray(X)
    return ad.matrix.dense(X, method="naive", n_threads=n_threads)


def _glm(family: str, y: np.ndarray, weights: np.ndarray | None = None):
    import adelie as ad

    make = {"gaussian": ad.glm.gaussian, "binomial": ad.glm.binomial,
            "poisson": ad.glm.poisson}[family]
    return make(np.asarray(y, dtype=np.float64), weights=weights)


def _check(state, n_expected: int | None = None) -> str:
    """adelie only logs its failures: raise on ``state.error``, describe a short path."""
    if state.error:
        raise RuntimeError(f"adelie: {state.error}")
    k = len(state.lmdas)
    if n_expected is not None and k < n_expected:
        return f"adelie fitted {k}/{n_expected} lams"
    return ""


def fit_path(X, y, lams, family, l1_ratio, tol, irls_tol, n_threads=1, weights=None):
    """The benchmark's objective on the benchmark's grid; ``(coefs (k, p), b0 (k,), note)``."""
    import adelie as ad

    lams = np.asarray(lams, dtype=np.float64)
    state = ad.grpnet(
        _matrix(X, n_threads),
        _glm(family, y, weights),
        alpha=l1_ratio,
        lmda_path=lams,
        tol=tol,
        irls_tol=irls_tol,
        max_iters=MAX_ITERS,
        early_exit=False,
        intercept=True,
        n_threads=n_threads,
        progress_bar=False,
    )
    note = _check(state, len(lams))
    k = len(state.lmdas)
    if not np.allclose(state.lmdas, lams[:k], rtol=1e-12, atol=0):
        raise RuntimeError("adelie returned a different grid than the one passed")
    coefs = state.betas.toarray()
    return coefs, np.asarray(state.intercepts, dtype=np.float64).copy(), note


def _back_transform(state, M):
    """Coefficients of a fit on ``ad.matrix.standardize(Z)`` on Z's own scale."""
    scales = np.asarray(M._scales, dtype=np.float64)
    centers = np.asarray(M._centers, dtype=np.float64)
    inv = np.divide(1.0, scales, out=np.zeros_like(scales), where=scales > 0)
    coefs = state.betas.toarray() * inv[None, :]
    inter = np.asarray(state.intercepts, dtype=np.float64) - coefs @ centers
    return coefs, inter


def fit_defaults(X, y, family, l1_ratio):
    """``grpnet(ad.matrix.standardize(X), glm)`` with adelie's defaults.

    Returns ``(coefs (k, p) on X's scale, intercepts (k,), note, lmdas (k,))``; only
    ``alpha`` (the model: l1_ratio) and ``progress_bar=False`` are passed.
    """
    import adelie as ad

    M = ad.matrix.standardize(_matrix(X))
    state = ad.grpnet(M, _glm(family, y), alpha=l1_ratio, progress_bar=False)
    _check(state)
    coefs, inter = _back_transform(state, M)
    k = len(state.lmdas)
    note = (
        f"X wrapped in ad.matrix.standardize; early_exit=True default stopped at {k} lams"
        if k < 100 else "X wrapped in ad.matrix.standardize"
    )
    return coefs, inter, note, np.asarray(state.lmdas, dtype=np.float64).copy()


# ----------------------------------------------------------------------------- CV
def _metric(family, y, eta):
    """Held-out metric per column of ``eta`` (n_val, L): MSE, or the mean deviance."""
    yc = y[:, None]
    if family == "gaussian":
        return np.mean((yc - eta) ** 2, axis=0)
    if family == "binomial":
        return 2.0 * np.mean(np.logaddexp(0.0, eta) - yc * eta, axis=0)
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)[:, None]
    return 2.0 * np.mean(ylogy - yc * eta - (yc - np.exp(eta)), axis=0)


def cv_fixed(X, y, lams, family, l1_ratio, folds, tol, irls_tol, n_threads=1):
    """K-fold CV on fixed folds and a fixed grid, as a loop over grpnet.

    ``cv_grpnet`` cannot be used here: it draws its own folds (from ``np.random.seed``) and
    its own grid (``lmda_path`` cannot be passed). The loop does what ``cv_grpnet`` does
    inside -- each training fit runs on the full X with the held-out rows given weight zero
    (weights normalised to sum one) -- on the benchmark's folds and grid, and then fits the
    full data once, as every other library's CV does. Returns ``(mean (L,), se (L,))`` of
    the held-out MSE (gaussian) or mean deviance (others); ``se`` is the standard deviation
    over folds / sqrt(K).
    """
    y = np.asarray(y, dtype=np.float64)
    folds = np.asarray(folds)
    per_fold = []
    for k in np.unique(folds):
        held = folds == k
        w = (~held).astype(np.float64)
        w /= w.sum()
        coefs, inter, note = fit_path(X, y, lams, family, l1_ratio, tol, irls_tol,
                                      n_threads, weights=w)
        if note:
            raise RuntimeError(note)
        idx = np.flatnonzero(held)
        Xv = X[idx]
        eta = np.asarray(Xv @ coefs.T) + inter[None, :]
        per_fold.append(_metric(family, y[idx], eta))
    fit_path(X, y, lams, family, l1_ratio, tol, irls_tol, n_threads)  # the full-data path
    per_fold = np.asarray(per_fold)
    mean = per_fold.mean(axis=0)
    se = per_fold.std(axis=0, ddof=1) / np.sqrt(per_fold.shape[0])
    return mean, se


def cv_defaults(X, y, family, l1_ratio, n_folds=10):
    """``cv_grpnet(ad.matrix.standardize(X), glm, n_folds=10)`` then ``.fit`` (defaults).

    Returns a dict: CV and refit seconds (and the CPU seconds of both), the CV grid, the
    chosen ``lmda`` (argmin of the mean CV loss, adelie's only rule) and the number of
    nonzeros of the refit at it.
    """
    import adelie as ad

    t0, c0 = time.perf_counter(), time.process_time()
    M = ad.matrix.standardize(_matrix(X))
    glm = _glm(family, y)
    res = ad.cv_grpnet(M, glm, alpha=l1_ratio, n_folds=n_folds, progress_bar=False)
    t1 = time.perf_counter()
    state = res.fit(M, glm, alpha=l1_ratio, progress_bar=False)
    t2, c2 = time.perf_counter(), time.process_time()
    _check(state)
    lmdas = np.asarray(res.lmdas)
    return {
        "cv_s": t2 - t0,
        "cv_cpu_s": c2 - c0,
        "cv_only_s": t1 - t0,
        "refit_s": t2 - t1,
        "grid": [float(lmdas[0]), float(lmdas[-1]), int(lmdas.size)],
        "chosen": float(lmdas[res.best_idx]),
        "rule": "min",
        "nnz": int(state.betas[-1].nnz),
        "note": "X wrapped in ad.matrix.standardize; cv_grpnet (own folds, default seed=None) "
        "+ CVGrpnetResult.fit (refit up to the chosen lmda); n_threads=1 default",
    }


# ----------------------------------------------------------------------------- tasks
def _best_of(repeats, fn, *args):
    best, out = np.inf, None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def task_ladder(spec, X, y, out):
    """Equal-accuracy ladder: one path per (tol, irls_tol), best of ``repeats``."""
    lams = np.load(spec["lams"])
    fam, a = spec["family"], spec["l1_ratio"]
    tols = spec["tols"]
    fit_path(X, y, lams[:5], fam, a, tols[-1], tols[-1])  # warm-up (first-call costs)
    runs = []
    for i, tol in enumerate(tols):
        dt, (coefs, inter, note) = _best_of(spec.get("repeats", 1), fit_path, X, y, lams, fam,
                                            a, tol, tol)
        np.save(os.path.join(out, f"coefs_{i}.npy"), coefs)
        np.save(os.path.join(out, f"inter_{i}.npy"), inter)
        runs.append({"tol": tol, "seconds": dt, "n_fitted": int(coefs.shape[0]),
                     "note": note})
    return {"runs": runs}


def task_cv_ladder(spec, X, y, out):
    """CV on fixed folds and grid, once per (tol, irls_tol); saves ``mean_i``, ``se_i``."""
    lams = np.load(spec["lams"])
    folds = np.load(spec["folds"])
    fam, a = spec["family"], spec["l1_ratio"]
    n_threads = int(spec.get("n_threads", 1))
    tols = spec["tols"]
    m = min(200, X.shape[0])
    fit_path(X[:m], y[:m], lams[:5], fam, a, tols[0], tols[0])  # warm-up
    runs = []
    for i, tol in enumerate(tols):
        t0 = time.perf_counter()
        mean, se = cv_fixed(X, y, lams, fam, a, folds, tol, tol, n_threads)
        runs.append({"tol": tol, "seconds": time.perf_counter() - t0})
        np.save(os.path.join(out, f"mean_{i}.npy"), mean)
        np.save(os.path.join(out, f"se_{i}.npy"), se)
    return {"runs": runs}


def task_cv_defaults(spec, X, y, out):
    """``cv_defaults`` run ``repeat`` times (default 1); the run of least wall time."""
    runs = [cv_defaults(X, y, spec["family"], spec["l1_ratio"], int(spec.get("n_folds", 10)))
            for _ in range(max(1, int(spec.get("repeat", 1))))]
    return min(runs, key=lambda r: r["cv_s"])


TASKS = {"ladder": task_ladder, "cv_ladder": task_cv_ladder, "cv_defaults": task_cv_defaults}


def main(spec_path: str) -> int:
    from _cases import load

    with open(spec_path) as fh:
        spec = json.load(fh)
    out = spec["out"]
    os.makedirs(out, exist_ok=True)
    X, y = load(spec["data"])
    import adelie

    res = {"version": adelie.__version__}
    try:
        res.update(TASKS[spec["task"]](spec, X, y, out))
        res["status"] = "ok"
    except Exception as exc:  # reported to the caller, which prints it
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    with open(os.path.join(out, "result.json.tmp"), "w") as fh:
        json.dump(res, fh)
    os.replace(os.path.join(out, "result.json.tmp"), os.path.join(out, "result.json"))
    return 0 if res["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
