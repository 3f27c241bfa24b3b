"""Passes over the data of blocked binomial, multinomial and Cox paths and 10-fold CV, by
the number of lams.

A 20,000 x 20 binomial problem and a 20,000 x 20 multinomial one with 4 classes, each in
10 row blocks (in memory, synchronous scheduler: the count of passes does not depend on
where the blocks live), the default tolerance; CPU time (``time.process_time``) of each
fit, to be read with one BLAS and one numba thread::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/distributed_passes.py \
        [--family glm|cox|all]

The Cox case (``--family cox``): 20,000 x 20 survival times on a grid of 1/50 (tied
events, about 30% censored), Breslow and Efron ties, the default tolerance and
``1e-10``; with the CPU time of the blocked fit and of the in-memory fit of the same
data, and the largest coefficient difference between them.

For each path: the passes (one of moments, the null model's, then the rounds of the
window of strengths), the Newton steps per ``lam`` (each evaluated in some pass, many
strengths sharing a pass) and the work of the passes: points evaluated (an ``n x p``
product each) and curvature sums taken (an ``n x p^2`` product each).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _problems():
    rng = np.random.default_rng(0)
    n, p = 20_000, 20
    X = rng.normal(size=(n, p))
    eta = X[:, :5] @ np.linspace(1, -1, 5) * 0.5
    yield "binomial", X, (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    B = np.zeros((p, 4))
    B[:5] = rng.normal(size=(5, 4)) * 0.5
    E = X @ B
    P = np.exp(E - E.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    yield "multinomial", X, (rng.uniform(size=(n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)


def glm():
    """The binomial and multinomial cases."""
    import dask.array as da

    import shrinkage.distributed as dist

    for family, X, y in _problems():
        Xd = da.from_array(X, chunks=(2_000, X.shape[1]))
        for n_lams in (20, 100):
            _report(dist, family, Xd, y, n_lams)


def _report(dist, family, Xd, y, n_lams):
    """Print the passes and CPU time of the path and of its 10-fold CV."""
    t0 = time.process_time()
    path = dist.regularization_path(Xd, y, family, n_lams=n_lams, scheduler="synchronous")
    t1 = time.process_time()
    cv = dist.cross_validate(Xd, y, family, cv=10, n_lams=n_lams, scheduler="synchronous",
                             random_state=0)
    t2 = time.process_time()
    ex = path.extra
    passes = ex["passes"]
    before = 1 + ex["passes_before_path"]
    steps = ex["newton_steps"]
    print(f"{family} n_lams={n_lams}: {path.n_lams} lams reached, path {passes} passes "
          f"({passes / path.n_lams:.2f} per lam: {before} for the moments and the null "
          f"model, {passes - before} for the path; {t1 - t0:.1f} s CPU), 10-fold CV "
          f"{cv.extra['passes']} passes ({t2 - t1:.1f} s CPU)")
    print(f"  Newton steps per lam: mean {steps.mean():.2f}, max {steps.max()}, "
          f"total {steps.sum()}; points evaluated {ex['points_evaluated']}, curvature "
          f"sums {ex['curvature_sums']}; all converged: {bool(np.all(path.converged))}")


def _survival(n, p, rng):
    X = rng.normal(size=(n, p))
    eta = X[:, :5] @ np.array([0.8, -0.5, 0.3, 0.3, -0.2])
    T = np.round(rng.exponential(np.exp(-eta)) * 50) / 50 + 0.02
    C = rng.exponential(1.5, size=n)
    return X, np.c_[np.minimum(T, C), (T <= C).astype(float)]


def cox():
    import dask.array as da

    import shrinkage
    import shrinkage.distributed as dist

    n, p = 20_000, 20
    X, y = _survival(n, p, np.random.default_rng(0))
    Xd = da.from_array(X, chunks=(2_000, p))
    for ties in ("breslow", "efron"):
        for n_lams, tol in ((20, None), (100, None), (100, 1e-10)):
            t0 = time.process_time()
            path = dist.regularization_path(Xd, y, "cox", ties=ties, n_lams=n_lams, tol=tol,
                                            scheduler="synchronous")
            t1 = time.process_time()
            ref = shrinkage.regularization_path(X, y, "cox", ties=ties, n_lams=n_lams,
                                                tol=tol)
            t2 = time.process_time()
            k = min(path.n_lams, ref.n_lams)
            ex = path.extra
            print(f"cox {ties} n_lams={n_lams} tol={tol or 'default'}: {path.n_lams} lams "
                  f"({ex['event_times']} event times), path {ex['passes']} passes "
                  f"({ex['passes'] / path.n_lams:.2f} per lam), Newton steps per lam "
                  f"{ex['newton_steps'].mean():.2f}, curvature sums {ex['curvature_sums']}; "
                  f"CPU {t1 - t0:.2f} s blocked, {t2 - t1:.2f} s in memory; largest "
                  f"coefficient difference {np.abs(path.coefs[:k] - ref.coefs[:k]).max():.1e}"
                  f"; all converged: {bool(np.all(path.converged))}")
        t0 = time.process_time()
        cv = dist.cross_validate(Xd, y, "cox", ties=ties, cv=10, n_lams=100,
                                 scheduler="synchronous", random_state=0)
        print(f"cox {ties} 10-fold CV (deviance, n_lams=100): {cv.extra['passes']} passes, "
              f"CPU {time.process_time() - t0:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=("glm", "cox", "all"), default="all")
    family = parser.parse_args().family
    if family in ("glm", "all"):
        glm()
    if family in ("cox", "all"):
        cox()


if __name__ == "__main__":
    main()
