"""Fits on Parquet files larger than memory: time per pass, peak memory, pass counts.

Writes ``--files`` Parquet files of a gaussian problem (``--rows`` x ``--features``, one
file at a time, so the data never sit in memory whole), then measures with
``shrinkage.distributed``:

* one plain pass, ``dask.array.sum`` of X and y over the same blocks (reading and
  decoding the files: the floor any pass pays);
* the moments pass (the weighted Gram and its sums) alone, and with per-fold sums for
  10-fold CV (the pass of gaussian CV);
* the gaussian lasso path (one pass) and 10-fold CV (one pass);
* a binomial lasso path on the first ``--binomial-files`` files: its number of passes
  (a window of strengths per pass) and time;
* the peak resident memory of the process (``resource.getrusage``) after each stage,
  against the size of X.

Defaults run in a couple of minutes on 2 cores. The large case::

    python benchmarks/bench_distributed.py --rows 20000000 --features 50 --files 80 \
        --dir /tmp/bench_distributed

(8 GB of float64 data, 80 files of 250,000 rows; the folder is deleted afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time

import numpy as np


def peak_mb():
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_files(folder, rows, p, files, seed=0):
    """``files`` Parquet files of ``rows / files`` rows each, gaussian and binomial y."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    beta[:10] = np.linspace(1.0, -1.0, 10)
    per = rows // files
    for i in range(files):
        X = rng.normal(size=(per, p)) + rng.normal(size=p)
        eta = (X - X.mean(axis=0)) @ beta * 0.3
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        frame["y"] = X @ beta + rng.normal(size=per)
        frame["label"] = (rng.uniform(size=per) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
        frame.to_parquet(os.path.join(folder, f"part{i:04d}.parquet"))
    return per * files


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def stage(res, key, fn):
    """Run ``fn``, recording its wall time ``key_s`` and the CPU time of this process's
    threads ``key_cpu_s`` (the work, whatever else the machine runs: on a shared machine
    the wall time also counts the waits for a core)."""
    c0 = time.process_time()
    out, res[f"{key}_s"] = timed(fn)
    res[f"{key}_cpu_s"] = time.process_time() - c0
    return out


def binomial(folder, cols, args):
    """Time and passes of a binomial lasso path on the first ``--binomial-files`` files."""
    import shrinkage.distributed as dist

    files = sorted(os.listdir(folder))[: args.binomial_files]
    small = dist.read_parquet([os.path.join(folder, f) for f in files], "label",
                              columns=cols)
    bpath, seconds = timed(lambda: dist.regularization_path(
        small.X, small.y, "binomial", n_lams=args.n_lams, scheduler=args.scheduler))
    return {"binomial_path_s": seconds, "binomial_rows": int(small.X.shape[0]),
            "binomial_path_lams": bpath.n_lams,
            "binomial_path_passes": bpath.extra["passes"],
            "binomial_passes_per_lam": bpath.extra["passes"] / bpath.n_lams,
            "binomial_converged": bool(np.all(bpath.converged))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--binomial-files", type=int, default=1)
    ap.add_argument("--n-lams", type=int, default=100)
    ap.add_argument("--scheduler", default="threads")
    ap.add_argument("--dir", default=None,
                    help="folder for the files, deleted afterwards when empty (default: temporary)")
    ap.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = ap.parse_args()

    import dask

    import shrinkage.distributed as dist
    from shrinkage.distributed.blocks import block_data
    from shrinkage.distributed.fit import moments_pass

    folder = args.dir or tempfile.mkdtemp(prefix="bench_distributed_")
    os.makedirs(folder, exist_ok=True)
    res = {"rows": args.rows, "features": args.features, "files": args.files,
           "x_mb": args.rows * args.features * 8 / 2**20}
    try:
        # written by a child process, so that this process's peak memory is the fits'
        import multiprocessing

        child = multiprocessing.get_context("fork").Process(
            target=write_files, args=(folder, args.rows, args.features, args.files))
        _, res["write_s"] = timed(lambda: (child.start(), child.join()))
        res["peak_mb_before_fits"] = peak_mb()
        glob = os.path.join(folder, "*.parquet")
        cols = [f"x{j}" for j in range(args.features)]
        table, res["read_setup_s"] = timed(lambda: dist.read_parquet(glob, "y",
                                                                     columns=cols))
        sched = args.scheduler
        res["load_average_before"] = os.getloadavg()[0]
        stage(res, "dask_sum_pass", lambda: dask.compute(
            table.X.sum(axis=0), table.y.sum(), scheduler=sched))
        data = block_data(table.X, table.y, scheduler=sched)
        stage(res, "moments_pass", lambda: moments_pass(data, "gaussian"))
        stage(res, "cv10_moments_pass", lambda: moments_pass(
            data, "gaussian", ("row", 10, 0), 10))
        res["moments_over_sum"] = res["moments_pass_s"] / res["dask_sum_pass_s"]
        res["cv10_pass_over_sum"] = res["cv10_moments_pass_s"] / res["dask_sum_pass_s"]
        res["moments_over_sum_cpu"] = res["moments_pass_cpu_s"] / res["dask_sum_pass_cpu_s"]
        path = stage(res, "gaussian_path", lambda: dist.regularization_path(
            table.X, table.y, n_lams=args.n_lams, scheduler=sched, **table.fit_kwargs()))
        res["gaussian_path_passes"] = path.extra["passes"]
        res["gaussian_path_lams"] = path.n_lams
        cv = stage(res, "gaussian_cv10", lambda: dist.cross_validate(
            table.X, table.y, cv=10, random_state=0, n_lams=args.n_lams, scheduler=sched,
            **table.fit_kwargs()))
        res["gaussian_cv10_passes"] = cv.extra["passes"]
        res["peak_mb_after_gaussian"] = peak_mb()
        if args.binomial_files > 0:  # 0 skips the binomial path
            res.update(binomial(folder, cols, args))
        res["peak_mb"] = peak_mb()
        res["load_average_after"] = os.getloadavg()[0]
    finally:  # the files written here, and the folder when nothing else is left in it
        for name in os.listdir(folder):
            if name.startswith("part") and name.endswith(".parquet"):
                os.remove(os.path.join(folder, name))
        if not os.listdir(folder):
            shutil.rmtree(folder, ignore_errors=True)
    for k, v in res.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
