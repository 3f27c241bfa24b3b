"""How far glmnet's default 10-fold CV curve lies from an exactly solved one.

The yardstick of ``default_tolerance.py`` applied to python-glmnet: every fold is fitted
by glmnet at its own defaults on the full-data lambda sequence (what ``cv.glmnet`` does),
scored on its held-out rows (mean squared error, or binomial deviance ``-2 mean log
likelihood``), and the mean curve is compared with shrinkage's tightly solved curve on the
same grid and the same folds. The deviation is reported in units of the reference's
standard error, with both minimum-CV indices.

Run it in the benchmark environment (python-glmnet, with shrinkage importable)::

    python benchmarks/glmnet_default_accuracy.py --cases breast_cancer,diabetes,text-binomial
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def glmnet_cv_curve(X, y, family, folds, lams):
    """``(K, L)`` held-out scores of glmnet fitted at its defaults on each training fold."""
    import glmnet

    model = glmnet.ElasticNet if family == "gaussian" else glmnet.LogitNet
    K = int(folds.max()) + 1
    scores = np.full((K, len(lams)), np.nan)
    for k in range(K):
        train, test = folds != k, folds == k
        m = model(n_splits=0, lambda_path=lams).fit(X[train], y[train])
        reached = m.lambda_path_
        yt = y[test][:, None]
        if family == "gaussian":
            s = ((m.predict(X[test], lamb=reached) - yt) ** 2).mean(axis=0)
        else:
            prob = np.clip(m.predict_proba(X[test], lamb=reached)[:, 1, :], 1e-15, 1 - 1e-15)
            s = -2.0 * (yt * np.log(prob) + (1 - yt) * np.log1p(-prob)).mean(axis=0)
        scores[k, : len(reached)] = s
    return scores


def main():
    import glmnet
    from default_tolerance import REFERENCE_TOL, make_case

    from shrinkage import cross_validate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="breast_cancer,diabetes,text-binomial")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print("| case | glmnet CV CPU s | max deviation / SE | median / SE | index min (exact) |")
    print("|---|---|---|---|---|")
    for name in args.cases.split(","):
        X, y, family = make_case(name)
        folds = np.random.default_rng(0).permutation(np.arange(X.shape[0]) % 10)
        model = glmnet.ElasticNet if family == "gaussian" else glmnet.LogitNet
        lams = model(n_splits=0).fit(X, y).lambda_path_
        ref = cross_validate(X, y, family, cv=folds, lams=lams, tol=REFERENCE_TOL[family],
                             n_jobs=1)
        t0 = time.process_time()
        mean = glmnet_cv_curve(X, y, family, folds, lams).mean(axis=0)
        cpu = time.process_time() - t0
        m = min(mean.size, ref.mean.size)
        ok = ~np.isnan(mean[:m])
        dev = np.abs(mean[:m][ok] - ref.mean[:m][ok]) / ref.se[:m][ok]
        print(f"| {name} | {cpu:.2f} | {dev.max():.2g} | {np.median(dev):.2g} | "
              f"{int(np.nanargmin(mean))} ({ref.index_min}) |", flush=True)


if __name__ == "__main__":
    main()
