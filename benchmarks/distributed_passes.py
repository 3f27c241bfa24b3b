"""Passes over the data of blocked binomial paths and 10-fold CV, by the number of lams.

A 20,000 x 20 binomial problem in 10 row blocks (in memory, synchronous scheduler: the
count of passes does not depend on where the blocks live), the default tolerance::

    python benchmarks/distributed_passes.py

For each path: the passes (one of moments, the null model's, then the rounds of the
window of strengths), the Newton steps per ``lam`` (each evaluated in some pass, many
strengths sharing a pass) and the work of the passes: points evaluated (an ``n x p``
product each) and curvature sums taken (an ``n x p^2`` product each).
"""

from __future__ import annotations

import numpy as np


def main():
    import dask.array as da

    import shrinkage.distributed as dist

    rng = np.random.default_rng(0)
    n, p = 20_000, 20
    X = rng.normal(size=(n, p))
    eta = X[:, :5] @ np.linspace(1, -1, 5) * 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    Xd = da.from_array(X, chunks=(2_000, p))
    for n_lams in (20, 100):
        path = dist.regularization_path(Xd, y, "binomial", n_lams=n_lams,
                                        scheduler="synchronous")
        cv = dist.cross_validate(Xd, y, "binomial", cv=10, n_lams=n_lams,
                                 scheduler="synchronous", random_state=0)
        ex = path.extra
        passes = ex["passes"]
        before = 1 + ex["passes_before_path"]
        steps = ex["newton_steps"]
        print(f"n_lams={n_lams}: {path.n_lams} lams reached, path {passes} passes "
              f"({passes / path.n_lams:.2f} per lam: {before} for the moments and the null "
              f"model, {passes - before} for the path), 10-fold CV {cv.extra['passes']} "
              f"passes")
        print(f"  Newton steps per lam: mean {steps.mean():.2f}, max {steps.max()}, "
              f"total {steps.sum()}; points evaluated {ex['points_evaluated']}, curvature "
              f"sums {ex['curvature_sums']}; all converged: {bool(np.all(path.converged))}")


if __name__ == "__main__":
    main()
