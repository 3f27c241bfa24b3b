"""A wide design on disk (p >> n): ``wide_path`` against the in-memory path.

Writes an ``--rows`` x ``--features`` float64 design, column-major, as one ``.npy`` file
under ``--dir`` (default: a fresh folder in the system temporary directory), a block of
columns at a time with a fixed seed (so it never sits in memory whole), then runs each
fit in its own process (peak resident memory is per process):

* ``wide``: :func:`shrinkage.distributed.wide_path` on the memory-mapped file; its
  number of passes over the columns, columns read outside passes, peak cache;
* ``memory``: the file loaded whole, then :func:`shrinkage.regularization_path`;

and reports time, peak RSS (``resource.getrusage``) and the largest coefficient
difference (both at ``--tol``). The file is deleted at the end. The large case (1.6 GB;
check ``df -h /tmp`` first)::

    python benchmarks/bench_wide_disk.py --rows 1000 --features 200000

Numba compilation is done by a warm-up fit on a small design in each process, outside
the timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def peak_gb():
    """Peak resident memory of this process so far, in GB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def write_design(path, n, p, seed=0, block=5000):
    """``(n, p)`` float64 column-major ``.npy`` and its response, block by block."""
    rng = np.random.default_rng(seed)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, p),
                                   fortran_order=True)
    beta = np.zeros(p)
    beta[:20] = np.linspace(1.0, -1.0, 20)
    eta = np.zeros(n)
    for j0 in range(0, p, block):
        j1 = min(p, j0 + block)
        cols = rng.normal(size=(n, j1 - j0)) * rng.uniform(0.5, 2.0, j1 - j0)
        mm[:, j0:j1] = cols
        eta += cols @ beta[j0:j1]
    mm.flush()
    del mm
    y = eta + rng.normal(size=n) * np.std(eta)
    np.save(str(path) + ".y.npy", y)


def _warm_up(mode, tol):
    import shrinkage
    import shrinkage.distributed as dist

    rng = np.random.default_rng(1)
    X = np.asfortranarray(rng.normal(size=(40, 300)))
    y = X[:, 0] + rng.normal(size=40)
    if mode == "wide":
        dist.wide_path(X, y, tol=tol)
    else:
        shrinkage.regularization_path(X, y, tol=tol)


def run_one(mode, path, tol, out):
    """One fit in this process; writes its measures and coefficients."""
    import shrinkage
    import shrinkage.distributed as dist

    _warm_up(mode, tol)
    y = np.load(str(path) + ".y.npy")
    t0 = time.perf_counter()
    if mode == "wide":
        res = dist.wide_path(path, y, tol=tol)
        info = res.extra["wide"]
        extra = {"passes": info["passes"], "columns_read": int(info["columns_read"].size),
                 "max_candidates": int(info["n_candidates"].max()),
                 "cache_peak_gb": info["cache_peak_bytes"] / 2**30,
                 "final_violators": info["final_violators"]}
    else:
        X = np.load(path)  # the whole design in memory (Fortran order, no copy in the fit)
        res = shrinkage.regularization_path(X, y, tol=tol)
        extra = {}
    seconds = time.perf_counter() - t0
    np.save(out + ".coefs.npy", res.coefs)
    with open(out, "w") as fh:
        json.dump({"mode": mode, "seconds": seconds, "peak_rss_gb": peak_gb(),
                   "n_lams": int(res.n_lams), "max_certificate": float(res.certificate.max()),
                   **extra}, fh)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--features", type=int, default=20000)
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--one", nargs=3, metavar=("MODE", "PATH", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--write", nargs=3, metavar=("PATH", "ROWS", "FEATURES"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        write_design(args.write[0], int(args.write[1]), int(args.write[2]))
        return
    if args.one:
        run_one(args.one[0], args.one[1], args.tol, args.one[2])
        return
    folder = tempfile.mkdtemp(prefix="wide_", dir=args.dir)
    try:
        path = os.path.join(folder, "X.npy")
        t0 = time.perf_counter()
        # written by a child process: Linux carries a process's peak resident memory
        # over fork and exec, so the fits' children must not start from a parent that
        # touched the whole file
        subprocess.run([sys.executable, __file__, "--write", path, str(args.rows),
                        str(args.features)], check=True)
        print(f"wrote {args.rows} x {args.features} float64 "
              f"({8 * args.rows * args.features / 1e9:.2f} GB) in "
              f"{time.perf_counter() - t0:.1f} s")
        results = {}
        for mode in ("wide", "memory"):
            out = os.path.join(folder, mode + ".json")
            subprocess.run([sys.executable, __file__, "--tol", str(args.tol), "--one", mode,
                            path, out], check=True)
            with open(out) as fh:
                results[mode] = json.load(fh)
            print(json.dumps(results[mode]))
        a = np.load(os.path.join(folder, "wide.json.coefs.npy"))
        b = np.load(os.path.join(folder, "memory.json.coefs.npy"))
        same = a.shape == b.shape
        diff = float(np.max(np.abs(a - b))) if same else float("nan")
        w, m = results["wide"], results["memory"]
        print(f"wide: {w['seconds']:.1f} s, peak {w['peak_rss_gb']:.2f} GB, "
              f"{w['passes']} passes for {w['n_lams']} strengths, "
              f"{w['columns_read']} columns read outside passes; in memory: "
              f"{m['seconds']:.1f} s, peak {m['peak_rss_gb']:.2f} GB; "
              f"max |coef difference| {diff:.2e}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
