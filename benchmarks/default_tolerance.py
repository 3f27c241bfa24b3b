"""How far default-tolerance cross-validation curves lie from exactly solved ones.

For each case and tolerance, runs shrinkage's 10-fold ``cross_validate`` (fixed folds,
one job) and reports the largest deviation of its mean curve from the curve of a tightly
solved reference run on the same grid (every fold to the grid's end:
``held_out_stop=False``), in units of the reference's standard error, with
the minimum-CV and one-standard-error indices and the CPU seconds. This is the yardstick
the family defaults (``default_tol``, ``weighted_tol``, ``ridge_mix_tol``) are set
by: the loosest rung keeping every case of the family within half the bar (5e-3 standard
errors; the bar is 1e-2) with the same chosen strengths (docs/guide/speed.md,
"Tolerances"; until 2026-12-07 the rule was about 1e-3).

Usage (development environment; about 6 minutes for every case and rung on 2 cores)::

    python benchmarks/default_tolerance.py
    python benchmarks/default_tolerance.py --cases breast_cancer,diabetes
    python benchmarks/default_tolerance.py --cases wine,digits,ar1-multinomial
    python benchmarks/default_tolerance.py --cases text-binomial --tols 1e-6,1e-5,1e-4
    python benchmarks/default_tolerance.py --cases text-poisson,ar1-poisson,tall-poisson
    python benchmarks/default_tolerance.py --cases tfidf-poisson --tols 1e-6,3e-6,1e-5
    python benchmarks/default_tolerance.py --cases whas500-cox,gbsg2-cox,ar1-cox,tall-cox,text-cox
    python benchmarks/default_tolerance.py --l1-ratio 0.5 --tols 3e-5,1e-6,1e-7 --cases \
        tfidf-gaussian,text-gaussian,ar1-gaussian,pairs-gaussian,factors-gaussian
    python benchmarks/default_tolerance.py --tols 3e-5,1e-4,3e-4,1e-3 --cases \
        tfidf-gaussian,pairs-gaussian,text-gaussian,ar1-gaussian,factors-gaussian
    python benchmarks/default_tolerance.py --weighted \
        --cases text-binomial,ar1-binomial,breast_cancer,diabetes,factors-binomial \
        --tols 1e-5,3e-5,1e-4

``--l1-ratio`` and ``--penalty`` measure the elastic net and MCP/SCAD (the reference and
every rung with them). ``--weighted`` measures the binomial family's curvature-weighted
certificate (its default, ``Binomial.weighted_tol``): each rung is set as that default
and the folds run with no ``tol``, since an explicit ``tol`` bounds the plain KKT
violation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REFERENCE_TOL = {"gaussian": 1e-11, "binomial": 1e-9, "multinomial": 1e-9, "poisson": 1e-9,
                 "cox": 1e-9}


def make_case(name):
    """``(X, y, family)``: power-law text (5,000 x 11,000, ``text-<family>``), a correlated
    wide design (300 x 1,000, ``ar1-<family>``), one-hot factors (the benchmark's quick
    2,000 x 632 design, ``factors-<family>``) or scikit-learn's bundled data
    (``breast_cancer``, ``breast_cancer-gaussian``, ``diabetes`` (y > median, binomial),
    ``diabetes-gaussian``, ``wine`` and ``digits`` (multinomial)); ``text-multinomial`` and
    ``ar1-multinomial`` have 4 classes (:func:`_multinomial_case`); ``text-poisson`` and
    ``ar1-poisson`` draw counts on those designs, ``<name>-cox`` survival times
    (:func:`_cox_case`), ``tall-poisson`` is the benchmark's quick
    dense 2,000 x 20 count case, ``tfidf-poisson`` sparse counts with ``p > n``
    (:func:`_tfidf_counts`) and ``tfidf-gaussian`` a response on the same tf-idf rows
    (signal-to-noise ratio 4), ``pairs-gaussian`` the benchmark's quick 300 x 2,000 design
    of columns each followed by a near copy."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine

    if name.endswith("-cox"):
        return (*_cox_case(name.rpartition("-")[0]), "cox")
    if name in ("wine", "digits"):
        X, y = (load_wine if name == "wine" else load_digits)(return_X_y=True)
        return X, y, "multinomial"
    if name.endswith("multinomial"):
        return (*_multinomial_case(name), "multinomial")
    if name.startswith("breast_cancer"):
        X, y = load_breast_cancer(return_X_y=True)
        return X, y.astype(float), name.partition("-")[2] or "binomial"
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X, (y > np.median(y)).astype(float), "binomial"
    if name == "diabetes-gaussian":
        return *load_diabetes(return_X_y=True), "gaussian"
    import _cases

    if name == "tall-poisson":  # the benchmark's dense 2,000 x 20 counts, quick size
        return *_cases.make_data(_cases.CASES["poisson-l1-tall"], True, raw=True)[:2], "poisson"
    if name == "tfidf-poisson":
        return (*_tfidf_counts(1500, 8000), "poisson")
    if name == "tfidf-gaussian":
        X, eta, rng = _tfidf_design(1500, 8000)
        return X, _cases._response("gaussian", eta / eta.std(), rng), "gaussian"
    if name == "pairs-gaussian":  # the benchmark's near-copies of columns, quick size
        return *_cases.make_data(_cases.CASES["gaussian-lasso-pairs"], True, raw=True)[:2], \
            "gaussian"

    if name.startswith("factors-"):  # the benchmark's one-hot factors, quick size
        family = name.partition("-")[2]
        case = _cases.CASES["gaussian-lasso-factors" if family == "gaussian"
                            else "binomial-l1-factors"]
        return *_cases.make_data(case, True, raw=True)[:2], family

    family = name.split("-")[1]
    X, eta, rng = _synthetic(name, 1)
    return X, _cases._response(family, eta[:, 0], rng), family


def _cox_case(name):
    """``(X, y)`` of a Cox case, ``y = [time, event]``: scikit-survival's bundled
    ``whas500`` (500 x 14, heart attacks, follow-up in days: tied times) and ``gbsg2``
    (686 x 8, breast cancer recurrence), categorical columns one-hot encoded; or, drawn
    with exponential hazards ``exp(eta)`` and about 30 % censored rows
    (``shrinkage.datasets``' survival draw), ``ar1`` and ``text`` (:func:`_synthetic`'s
    designs) and ``tall`` (dense 5,000 x 20, times rounded to 20 distinct values: many
    ties, Efron's handling at work). ``<design>.<k>`` draws the times of a drawn design
    afresh (seed ``k``), the design unchanged."""
    from shrinkage.datasets import _survival_times

    if name in ("whas500", "gbsg2"):
        import pandas as pd
        from sksurv import datasets

        X, y = getattr(datasets, "load_" + name)()
        event, time = y.dtype.names
        X = pd.get_dummies(X, drop_first=True, dtype=float).to_numpy(dtype=float)
        return X, np.column_stack([y[time].astype(float), y[event].astype(float)])
    if name == "tall":
        rng = np.random.default_rng(11)
        X = rng.standard_normal((5000, 20))
        y = _survival_times(rng, X[:, :5] @ np.array([0.8, -0.6, 0.4, -0.3, 0.2]))
        edges = np.quantile(y[:, 0], np.linspace(0.0, 1.0, 21)[1:-1])
        y[:, 0] = 1.0 + np.searchsorted(edges, y[:, 0])
        return X, y
    name, _, redraw = name.partition(".")
    X, eta, rng = _synthetic(name, 1)
    eta = eta[:, 0]
    if redraw:
        rng = np.random.default_rng(int(redraw))
    return X, _survival_times(rng, eta / eta.std())


def _tfidf_counts(n, p, seed=90):
    """``(X, y)``: :func:`_tfidf_design`'s rows and counts ``Poisson(exp(X b))``: ``p > n``
    with a strong signal, about 37 % zero counts, rows that separate (their fitted means go
    to 0) at the deep end of the path."""
    X, eta, rng = _tfidf_design(n, p, seed)
    return X, rng.poisson(np.exp(eta)).astype(float)


def _tfidf_design(n, p, seed=90):
    """``(X, eta, rng)``: tf-idf rows (Poisson(50) terms per document drawn from Zipf(1.1)
    frequencies, idf-weighted, each row scaled to unit norm; CSC) and ``eta = X b`` with 30
    of the 2,000 most frequent terms carrying ``3 N(0, 1)``; ``rng`` continues the draws."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, p + 1) ** 1.1
    freq /= freq.sum()
    rows, cols = [], []
    for i in range(n):
        k = max(1, rng.poisson(50))
        rows.append(np.full(k, i))
        cols.append(rng.choice(p, size=k, p=freq))
    X = sp.csr_matrix((np.ones(sum(r.size for r in rows)),
                       (np.concatenate(rows), np.concatenate(cols))), shape=(n, p))
    X.sum_duplicates()
    df = np.asarray((X > 0).sum(axis=0)).ravel()
    X = X.multiply(np.log((1 + n) / (1 + df)) + 1).tocsr()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    X = (sp.diags(1.0 / norms) @ X).tocsc()
    b = np.zeros(p)
    b[rng.choice(2000, 30, replace=False)] = 3.0 * rng.standard_normal(30)
    return X, np.asarray(X @ b), rng


def _synthetic(name, k):
    """``(X, eta, rng)``: the correlated wide design (corr 0.5**|j-k|, ``ar1-*``) with 20
    true features, or power-law text with 40 terms of middling frequency, and ``k`` linear
    predictors, each from coefficients of its own; ``rng`` continues the draws."""
    import _cases

    rng = np.random.default_rng(7)
    if name.startswith("ar1"):
        X = _cases._ar1_design(300, 1000, rng)
        B = np.column_stack([_cases._true_coef(1000, 20, rng) for _ in range(k)])
        return X, X @ B, rng
    X, rank = _cases.text_design(5000, 11000, rng)
    B = np.column_stack([_cases._text_coef(rank, 40, rng) for _ in range(k)])
    return X, np.asarray(_cases._scale_sparse(X) @ B), rng


def _multinomial_case(name):
    """4 classes on :func:`_synthetic`'s designs, linear predictors scaled to standard
    deviation 2 (the binomial's logit), Gumbel noise (a multinomial logit)."""
    X, eta, rng = _synthetic(name, 4)
    eta = 2.0 * eta / eta.std(axis=0)
    return X, np.argmax(eta + rng.gumbel(size=eta.shape), axis=1)


def main():
    from shrinkage import cross_validate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="text-gaussian,ar1-gaussian,diabetes-gaussian,"
                    "breast_cancer-gaussian,text-binomial,ar1-binomial,breast_cancer,diabetes")
    ap.add_argument("--tols", default="1e-7,1e-6,3e-6,1e-5,3e-5,1e-4,1e-3")
    ap.add_argument("--l1-ratio", type=float, default=1.0,
                    help="the elastic net's mix (1: the lasso); the benchmark's enet cases use 0.5")
    ap.add_argument("--penalty", default="elasticnet", choices=("elasticnet", "mcp", "scad"))
    ap.add_argument("--weighted", action="store_true",
                    help="binomial: the rungs of the curvature-weighted default certificate")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print("| case | tol | CPU s | max deviation / SE | index min (ref) | index 1se (ref) |")
    print("|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        X, y, family = make_case(name)
        model = dict(l1_ratio=args.l1_ratio, penalty=args.penalty)
        ref = cross_validate(X, y, family, tol=REFERENCE_TOL[family], n_jobs=1, random_state=0,
                             held_out_stop=False, **model)
        for tol in (float(t) for t in args.tols.split(",")):
            t0 = time.process_time()
            cv = _rung(X, y, family, tol, ref.lams, args.weighted, model)
            cpu = time.process_time() - t0
            m = min(cv.mean.size, ref.mean.size)
            dev = np.abs(cv.mean[:m] - ref.mean[:m]) / ref.se[:m]
            print(f"| {name} | {tol:g} | {cpu:.2f} | {dev.max():.2e} | {cv.index_min} "
                  f"({ref.index_min}) | {cv.index_chosen} ({ref.index_chosen}) |", flush=True)


def _rung(X, y, family, tol, lams, weighted, model):
    """The 10-fold CV at one rung: ``tol`` given, or (``weighted``, binomial) set as the
    family's weighted default and no ``tol`` given; ``model`` holds ``l1_ratio`` and
    ``penalty``."""
    from shrinkage import cross_validate
    from shrinkage.model.families import Binomial

    if not weighted:
        return cross_validate(X, y, family, tol=tol, lams=lams, n_jobs=1, random_state=0,
                              held_out_stop=False, **model)
    if family != "binomial":
        raise SystemExit("--weighted measures the binomial family only")
    saved = Binomial.weighted_tol
    Binomial.weighted_tol = tol
    try:
        return cross_validate(X, y, family, lams=lams, n_jobs=1, random_state=0,
                              held_out_stop=False, **model)
    finally:
        Binomial.weighted_tol = saved


if __name__ == "__main__":
    main()
