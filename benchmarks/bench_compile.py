"""First-ever fit time: numba compilation from an empty kernel cache, per family and shape.

Each case runs twice in a fresh Python process with ``NUMBA_CACHE_DIR`` pointing at a new
empty folder: the first run compiles every kernel it needs, the second loads them from that
cache. ``compile`` is the difference of the two (what a new user waits for once), reported
as wall time and as CPU time of the child process (CPU time is steadier on a loaded machine).
The ``all four`` case fits gaussian, binomial, poisson and multinomial in one process, the
issue's "four families in total" figure.

    python benchmarks/bench_compile.py            # every case
    python benchmarks/bench_compile.py gaussian_wide binomial
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

_SETUP = """
import numpy as np, scipy.sparse as sp, shrinkage
rng = np.random.default_rng(0)
def data(n, p, family):
    X = rng.standard_normal((n, p))
    eta = X[:, :5] @ np.ones(5)
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    elif family == "multinomial":
        z = eta + 2 * rng.standard_normal(n)  # noisy: separable classes are a slow special case
        y = (z > 0).astype(int) + (z > 1)
    else:
        y = eta + rng.standard_normal(n)
    return X, y
"""

#: name -> the fit it times (after _SETUP)
CASES = {
    "gaussian_tall": "X, y = data(1000, 20, 'gaussian'); shrinkage.regularization_path(X, y)",
    "gaussian_wide": "X, y = data(100, 1000, 'gaussian'); shrinkage.regularization_path(X, y)",
    "gaussian_sparse": ("X, y = data(500, 200, 'gaussian'); X[np.abs(X) < 1.5] = 0; "
                        "shrinkage.regularization_path(sp.csc_matrix(X), y)"),
    "binomial": ("X, y = data(300, 50, 'binomial'); "
                 "shrinkage.regularization_path(X, y, family='binomial')"),
    "poisson": ("X, y = data(300, 50, 'poisson'); "
                "shrinkage.regularization_path(X, y, family='poisson')"),
    "multinomial": ("X, y = data(300, 50, 'multinomial'); "
                    "shrinkage.regularization_path(X, y, family='multinomial')"),
    "all_four": ("\n".join(
        f"X, y = data(300, 50, '{f}'); shrinkage.regularization_path(X, y, family='{f}')"
        for f in ("gaussian", "binomial", "poisson", "multinomial"))),
}


def _run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _SETUP + code], env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(names):
    print(f"{'case':<16} {'first wall':>10} {'first cpu':>10} {'cached wall':>11} "
          f"{'compile wall':>12} {'compile cpu':>11}")
    for name in names:
        with tempfile.TemporaryDirectory() as cache_dir:
            first = _run(CASES[name], cache_dir)
            cached = _run(CASES[name], cache_dir)
        print(f"{name:<16} {first[0]:10.1f} {first[1]:10.1f} {cached[0]:11.1f} "
              f"{first[0] - cached[0]:12.1f} {first[1] - cached[1]:11.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
