"""A tall Cox path on a memory-mapped design, read in row blocks.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/distributed_cox_tall.py \
        --rows 1000000 --features 50 --dir /tmp/coxbench

Writes ``X`` (float64) to a memory map in ``--dir``, survival times rounded to 1/100
(tied events, a few hundred distinct event times) with about 30% censoring, then fits
the Efron lasso path with :func:`shrinkage.distributed.regularization_path` in blocks of
``--block-rows`` rows (synchronous scheduler) and reports the passes, the CPU time
(``time.process_time``) of the blocked path and of one ``dask.array.sum`` pass over the
same blocks, the peak resident memory, and (``--compare``) the in-memory fit's CPU time
and the largest coefficient difference.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--block-rows", type=int, default=100_000)
    parser.add_argument("--n-lams", type=int, default=100)
    parser.add_argument("--dir", default="/tmp/coxbench")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    import dask.array as da

    import shrinkage
    import shrinkage.distributed as dist

    n, p = args.rows, args.features
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, f"X_{n}_{p}.f64")
    rng = np.random.default_rng(0)
    X = np.memmap(path, dtype=np.float64, mode="w+", shape=(n, p))
    beta = np.zeros(p)
    beta[:5] = [0.5, -0.4, 0.3, 0.2, -0.2]
    eta = np.empty(n)
    for s in range(0, n, args.block_rows):
        e = min(n, s + args.block_rows)
        X[s:e] = rng.normal(size=(e - s, p))
        eta[s:e] = X[s:e] @ beta
    X.flush()
    T = np.round(rng.exponential(np.exp(-eta)) * 100) / 100 + 0.01
    C = np.round(rng.exponential(1.5, n) * 100) / 100 + 0.01
    y = np.c_[np.minimum(T, C), (T <= C).astype(float)]
    Xr = np.memmap(path, dtype=np.float64, mode="r", shape=(n, p))
    Xd = da.from_array(Xr, chunks=(args.block_rows, p))
    t0 = time.process_time()
    Xd.sum(axis=0).compute(scheduler="synchronous")
    t_sum = time.process_time() - t0
    t0 = time.process_time()
    fit = dist.regularization_path(Xr, y, "cox", n_lams=args.n_lams,
                                   block_rows=args.block_rows)
    t_fit = time.process_time() - t0
    ex = fit.extra
    print(f"{n} x {p}, {n // args.block_rows} blocks, {ex['event_times']} event times, "
          f"{int(y[:, 1].sum())} events: {fit.n_lams} lams in {ex['passes']} passes "
          f"({ex['passes'] / fit.n_lams:.2f} per lam, window {ex['window']}), Newton steps "
          f"per lam {ex['newton_steps'].mean():.2f}, curvature sums {ex['curvature_sums']}, "
          f"all converged {bool(np.all(fit.converged))}")
    print(f"CPU: blocked path {t_fit:.1f} s ({t_fit / ex['passes']:.2f} s per pass), one "
          f"dask.array.sum pass {t_sum:.2f} s; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    if args.compare:
        t0 = time.process_time()
        ref = shrinkage.regularization_path(np.asarray(Xr), y, "cox", n_lams=args.n_lams)
        k = min(ref.n_lams, fit.n_lams)
        print(f"in memory: {ref.n_lams} lams, CPU {time.process_time() - t0:.1f} s; largest "
              f"coefficient difference {np.abs(ref.coefs[:k] - fit.coefs[:k]).max():.1e}")


if __name__ == "__main__":
    main()
