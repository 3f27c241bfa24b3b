"""Default paths on the shapes of ``_shapes.py``: shrinkage against python-glmnet, each at
its own defaults (grid, tolerance, early stop), warm, best of three.

    OPENBLAS_NUM_THREADS=1 /work/venv-bench/bin/python benchmarks/bench_shapes.py
    ... bench_shapes.py --families binomial --only tall

Prints, per design and family, each library's seconds and number of strengths, and the
ratio (below 1: shrinkage faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _best(fit, *args, repeats=3):
    fit(*args)  # compile / warm
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fit(*args)
        times.append(time.perf_counter() - t)
    return min(times), out


def _glmnet(X, y, family):
    import glmnet

    if family == "gaussian":
        return glmnet.ElasticNet(alpha=1.0, n_splits=0).fit(X, y)
    return glmnet.LogitNet(alpha=1.0, n_splits=0).fit(X, y.astype(np.int64))


def main():
    from _shapes import response, shapes

    import shrinkage

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="gaussian,binomial")
    ap.add_argument("--only", default="", help="designs whose name contains this")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print(f"{'design':26s} {'family':9s} {'shrinkage s (lams)':>19s} {'glmnet s (lams)':>17s}"
          "  ratio")
    for name, X, eta in shapes(rng):
        for family in args.families.split(","):
            y = response(eta, family, rng)
            if args.only not in name:
                continue
            ts, path = _best(shrinkage.regularization_path, X, y, family)
            tg, m = _best(_glmnet, X, y, family)
            print(f"{name:26s} {family:9s} {ts:12.4f} ({path.n_lams:3d}) "
                  f"{tg:10.4f} ({len(m.lambda_path_):3d})  {ts / tg:5.2f}", flush=True)


if __name__ == "__main__":
    main()
