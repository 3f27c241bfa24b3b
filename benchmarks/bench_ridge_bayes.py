"""Benchmarks for the exact ridge path, EvidenceRidge and the Bayesian lasso sampler.

Run on demand (not part of the tests)::

    python benchmarks/bench_ridge_bayes.py            # everything
    python benchmarks/bench_ridge_bayes.py ridge      # one section: ridge | evidence | lasso

Targets (issue 4): ridge path + exact LOO for 100 lams <= 1.5x one SVD of X; EvidenceRidge
at least as fast as scikit-learn's BayesianRidge at (n, p) = (10000, 500) and (200, 5000);
the Bayesian lasso draws >= 2000 samples/s at n = 200, p = 50 on one core. Each timing is
the best of ``REPEATS`` runs; shared machines make single timings noisy.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

REPEATS = 3


def best_time(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = rng.normal(size=p) * (rng.uniform(size=p) < 0.1)
    return X, X @ beta + rng.normal(size=n)


def bench_ridge():
    from shrinkage import ridge_path

    print("== ridge path + exact LOO (100 lams) vs one SVD of the centred X")
    for n, p in [(10000, 500), (200, 5000), (2000, 200)]:
        X, y = data(n, p)
        t_svd = best_time(lambda X=X: np.linalg.svd(X - X.mean(0), full_matrices=False))
        t_path = best_time(lambda X=X, y=y: ridge_path(X, y, n_lams=100))
        print(f"n={n:6d} p={p:5d}  svd {t_svd:7.3f}s  path+LOO {t_path:7.3f}s  "
              f"ratio {t_path / t_svd:5.2f}")


def bench_evidence():
    from sklearn.linear_model import BayesianRidge

    from shrinkage.bayes import EvidenceRidge

    print("== EvidenceRidge vs scikit-learn BayesianRidge (default settings)")
    for n, p in [(10000, 500), (200, 5000)]:
        X, y = data(n, p)
        t_ours = best_time(lambda X=X, y=y: EvidenceRidge().fit(X, y))
        t_sk = best_time(lambda X=X, y=y: BayesianRidge().fit(X, y), repeats=1 if p > n else 3)
        ours = EvidenceRidge(standardize=False).fit(X, y)
        sk = BayesianRidge().fit(X, y)
        print(f"n={n:6d} p={p:5d}  EvidenceRidge {t_ours:7.3f}s  BayesianRidge {t_sk:7.3f}s  "
              f"speedup {t_sk / t_ours:6.1f}x  | lam ours {ours.lam_:.3g} "
              f"sklearn {sk.lambda_ / sk.alpha_ / n:.3g}")


def bench_lasso():
    from shrinkage.bayes import BayesianLasso

    print("== BayesianLasso Gibbs sampler, n=200, p=50, one chain, one thread")
    X, y = data(200, 50)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        BayesianLasso(n_draws=10, burn_in=0, n_chains=1).fit(X, y)  # compile or load cache
        print(f"first call (numba compile or cache load): {time.perf_counter() - t:.2f}s")
        iters = 20000
        t_run = best_time(lambda: BayesianLasso(n_draws=iters, burn_in=0, n_chains=1).fit(X, y))
        print(f"{iters} draws in {t_run:.3f}s: {iters / t_run:,.0f} samples/s")
        Xw, yw = data(100, 1000)
        iters = 2000
        t_w = best_time(lambda: BayesianLasso(n_draws=iters, burn_in=0, n_chains=1).fit(Xw, yw),
                        repeats=1)
        print(f"wide n=100 p=1000: {iters / t_w:,.0f} samples/s")


SECTIONS = {"ridge": bench_ridge, "evidence": bench_evidence, "lasso": bench_lasso}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SECTIONS)
    for name in chosen:
        SECTIONS[name]()
