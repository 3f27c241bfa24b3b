"""Passes over the data of blocked binomial and multinomial paths and 10-fold CV, by the
number of lams.

A 20,000 x 20 binomial problem and a 20,000 x 20 multinomial one with 4 classes, each in
10 row blocks (in memory, synchronous scheduler: the count of passes does not depend on
where the blocks live), the default tolerance; CPU time (``time.process_time``) of each
fit, to be read with one BLAS and one numba thread::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/distributed_passes.py

For each path: the passes (one of moments, the null model's, then the rounds of the
window of strengths), the Newton steps per ``lam`` (each evaluated in some pass, many
strengths sharing a pass) and the work of the passes: points evaluated (an ``n x p``
product each) and curvature sums taken (an ``n x p^2`` product each).
"""

from __future__ import annotations

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


def main():
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


if __name__ == "__main__":
    main()
