"""Worker process: run one library on one or more cases and write the results to disk.

Invoked by ``bench_path.py`` as ``python _worker.py SPEC.json``; never imported by it.
For each case of the spec, in order, it writes ``<out>/<case>__<lib>.started`` (so the
parent can tell which case hung), then fits the path

- once "cold": the first call in this process (for shrinkage this includes loading the
  numba kernels from the on-disk cache, or compiling them if the cache is empty),
- once after a full garbage collection, for the peak resident memory above the pre-call
  level, read from the kernel (``/proc/self/status`` VmHWM after resetting it via
  ``/proc/self/clear_refs``); its time is kept as ``warm_after_collect_s``,
- then "warm" ``repeats`` more times back to back with the cyclic garbage collector
  paused, as ``timeit`` times (the minimum is reported),

and writes ``<case>__<lib>.json`` (timings, memory, notes or the error) and
``<case>__<lib>.npz`` (coefs, intercepts, lams; plain arrays, no pickle).

With ``"defaults": true`` in the spec (``bench_path.py --defaults``) it calls the
library's ``DEFAULT_RUNNERS`` entry instead, on the raw data, and also records the
library's own grid (``grid``: lam_max, lam_min, number of lams, in its own units) and the
number of nonzero coefficients at its smallest strength. For adelie this script runs in
adelie's interpreter (``_runners.interpreter``).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _cases import load, load_grid  # noqa: E402
from _runners import DEFAULT_RUNNERS, RUNNERS, version  # noqa: E402


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _run_case(lib: str, item: dict, spec: dict) -> dict:
    X, y = load(item["folder"])
    lams = load_grid(item["folder"], item["l1_ratio"], spec["n_lams"])
    if spec.get("defaults"):
        fn = DEFAULT_RUNNERS[lib]
        args = (X, y, item["family"], item["l1_ratio"])
    else:
        def fn(*a):
            return (*RUNNERS[lib](*a), lams)

        args = (X, y, lams, item["family"], item["l1_ratio"])
    res = {"case": item["name"], "lib": lib, "status": "ok"}
    try:
        res["version"] = version(lib)
        t0 = time.perf_counter()
        coefs, inter, note, grid = fn(*args)
        res["cold_s"] = time.perf_counter() - t0
        # Memory: one call after a full collection, peak RSS above the level before it.
        del coefs, inter, grid
        gc.collect()
        mem_ok = _reset_peak()
        rss0 = _status_kb("VmRSS")
        t0 = time.perf_counter()
        coefs, inter, note, grid = fn(*args)
        collected = time.perf_counter() - t0
        peak = _status_kb("VmHWM")
        if mem_ok and rss0 is not None and peak is not None:
            res["mem_extra_bytes"] = (peak - rss0) * 1024
        # Warm time: back-to-back calls with the cyclic collector paused, as timeit times
        # (the minimum of up to `repeats` calls, until `min_warm_total_s` seconds are
        # spent). A collection right before a call walks every object of the process and
        # evicts the caches: on a path of a millisecond that added 0.3-0.7 ms, more to a
        # library with more Python code, so the collected call is kept apart
        # (`warm_after_collect_s`).
        warm = []
        repeats, enough = spec["repeats"], spec["min_warm_total_s"]
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            while len(warm) < repeats and (not warm or sum(warm) < enough):
                del coefs, inter, grid
                t0 = time.perf_counter()
                coefs, inter, note, grid = fn(*args)
                warm.append(time.perf_counter() - t0)
        finally:
            if was_enabled:
                gc.enable()
        res["warm_s"] = min(warm)
        res["warm_all_s"] = warm
        res["warm_after_collect_s"] = collected
        res["note"] = note
        coefs = np.asarray(coefs, dtype=np.float64)
        inter = np.asarray(inter, dtype=np.float64).ravel()
        if not (np.all(np.isfinite(coefs)) and np.all(np.isfinite(inter))):
            raise FloatingPointError("non-finite coefficients returned")
        res["n_fitted"] = int(coefs.shape[0])
        grid = np.asarray(grid, dtype=np.float64)[: coefs.shape[0]]
        res["grid"] = [float(grid[0]), float(grid[-1]), int(grid.size)]
        res["nnz_last"] = int(np.count_nonzero(coefs[-1]))
        np.savez(os.path.join(spec["out"], f"{item['name']}__{lib}.npz"), coefs=coefs,
                 inter=inter, lams=grid)
    except Exception as exc:  # a failing library is reported, not fatal
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        res["traceback"] = traceback.format_exc()[-3000:]
    return res


def main(spec_path: str) -> None:
    with open(spec_path) as fh:
        spec = json.load(fh)
    lib = spec["lib"]
    for item in spec["cases"]:
        base = os.path.join(spec["out"], f"{item['name']}__{lib}")
        with open(base + ".started", "w") as fh:
            fh.write(str(time.time()))
        res = _run_case(lib, item, spec)
        # Write then rename: the parent polls for this file and must never see it half-done.
        with open(base + ".json.tmp", "w") as fh:
            json.dump(res, fh)
        os.replace(base + ".json.tmp", base + ".json")


if __name__ == "__main__":
    main(sys.argv[1])
