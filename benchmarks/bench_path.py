"""Benchmark regularization paths: shrinkage against scikit-learn, skglm, celer, glum, glmnet,
adelie.

Run (from the repository root, in an environment with the ``bench`` extra)::

    python benchmarks/bench_path.py            # full cases (long: tens of minutes)
    python benchmarks/bench_path.py --quick    # small versions of every case (smoke test)
    python benchmarks/bench_path.py --defaults --cases 'gaussian-lasso-text,binomial-l1-text' \
        --libs shrinkage,glmnet,adelie         # every library's own defaults, raw data
    python benchmarks/bench_path.py --defaults --data news.svm --libs shrinkage,glmnet,adelie
                                               # the same on a data file of yours

For every case, every library fits the same 100-strength grid (from the exact ``lam_max``
down to ``lam_max * 1e-3``, or ``1e-2`` when p > n) on the same standardized data with
``standardize=False`` (see ``_cases.py`` for the objective and ``_runners.py`` for each
library's unit conversion and tolerance). Each (library, case) runs in a worker
subprocess with a timeout, so one slow or failing library cannot hang the run; a library
that fails, times out or cannot express the problem says why in the table.

Reported per library: cold time (first call in a fresh process; for shrinkage this includes
loading the numba kernels from a warm on-disk cache, which this script fills first), warm
time (the minimum of up to ``--repeats`` back-to-back calls with the garbage collector
paused, as ``timeit`` times; one call for long paths), the
one-pass-floor ratio ``warm / (L * time of one X^T v)`` (docs/design.md 7), the maximum relative
suboptimality ``(F - F_best) / max(|F_best|, tiny)`` along the path, where ``F`` is
recomputed here from each library's coefficients and ``F_best`` is the lowest objective
any library reached at that strength, and the peak resident memory above the pre-call
level during a call made right after a full collection, divided by the size of X.

``--defaults`` answers a different question, "how fast is each library where users start":
every library is called with its own defaults (its own grid, tolerance, standardization
and early stopping) on the raw data a user would have (``_cases.make_data(raw=True)``: the
design before the benchmark's standardization, y as generated). The libraries then solve
different problems on different grids, so there is no suboptimality column; instead each
library's grid (lam_max, lam_min, number of lams, in its own units), its number of
nonzero coefficients at its smallest strength, and "max KKT": the largest KKT violation
of its points, each at its own strength, in shrinkage's certificate units (relative to
the null model's largest standardized gradient, ``_cases.kkt_violations``; shrinkage's
default ``tol`` bounds the curvature-weighted violation by 3e-5 for binomial and the
plain one by 3e-6 for poisson; its gaussian certificate is a duality gap, 3e-5) are
printed. adelie runs in its own
interpreter (numpy < 2, ``ADELIE_PYTHON``) in both modes.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _cases import (  # noqa: E402
    CASES,
    add_data_arguments,
    data_cases,
    kkt_violations,
    load,
    load_grid,
    nbytes,
    objective,
    prepare,
)
from _runners import (  # noqa: E402
    DEFAULT_RUNNERS,
    DEFAULT_SETTINGS,
    RUNNERS,
    SETTINGS,
    adelie_missing,
    interpreter,
    supports,
)

SUBOPT_TARGET = 1e-6
TINY = 1e-300


# ----------------------------------------------------------------------------- processes
def _worker_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        env[var] = str(threads)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_group(lib, items, spec_base, out, timeout, env, log, grace=0.0) -> None:
    """Run ``lib`` on ``items`` in worker processes, one case timing out at a time.

    A worker runs the cases in order. If the case it is on exceeds ``timeout`` seconds
    (``timeout + grace`` for a worker's first case of each family, dense and sparse
    apart, which pays for imports and JIT compilation), or the worker dies, that case gets
    a "timeout" or "crash" record and a fresh worker continues with the remaining cases.
    """
    remaining = list(items)
    logged = set()

    def flush_log():
        for it in items:
            if it["name"] not in logged and os.path.exists(_base(out, it, lib) + ".json"):
                logged.add(it["name"])
                log(lib, it["name"], out)

    while remaining:
        spec = dict(spec_base, lib=lib, cases=remaining, out=out)
        fd, spec_path = tempfile.mkstemp(suffix=".json", dir=out)
        with os.fdopen(fd, "w") as fh:
            json.dump(spec, fh)
        err_path = spec_path + ".stderr"
        failed = None
        # The first case of each family in a worker pays for imports and JIT compilation,
        # and so does its first sparse case (the sparse kernels are other specialisations).
        first, seen = set(), set()
        for it in remaining:
            kind = (it["family"], it.get("sparse", False))
            if kind not in seen:
                seen.add(kind)
                first.add(it["name"])
        with open(err_path, "w") as err:
            proc = subprocess.Popen(
                [interpreter(lib), os.path.join(HERE, "_worker.py"), spec_path],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                start_new_session=True,  # own process group: a timeout kills its children
            )
            try:
                while True:
                    rc = proc.poll()
                    flush_log()
                    current = _current(remaining, lib, out)
                    limit = timeout + (grace if current and current[0] in first else 0.0)
                    if current is not None and time.time() - current[1] > limit:
                        _kill(proc)
                        failed = (current[0], "timeout", f"timed out after {limit:g} s")
                        break
                    if rc is not None:
                        current = _current(remaining, lib, out)
                        if current is not None:
                            failed = (current[0], "crash", f"worker exited with code {rc}")
                        break
                    time.sleep(0.05)
            finally:
                if proc.poll() is None:  # interrupted: never leave a worker behind
                    _kill(proc)
        done = {it["name"] for it in remaining if os.path.exists(_base(out, it, lib) + ".json")}
        if failed is not None:
            name, status, msg = failed
            with open(err_path) as fh:
                tail = fh.read()[-2000:]
            if status == "crash" and tail.strip():
                msg += ": " + tail.strip().splitlines()[-1][:200]
            rec = {"case": name, "lib": lib, "status": status, "error": msg, "stderr": tail}
            with open(os.path.join(out, f"{name}__{lib}.json"), "w") as fh:
                json.dump(rec, fh)
            done.add(name)
        flush_log()
        remaining = [it for it in remaining if it["name"] not in done]


def _base(out, item, lib):
    return os.path.join(out, f"{item['name']}__{lib}")


def _current(items, lib, out):
    """The case the worker is on: started but without a result yet."""
    for it in items:
        b = _base(out, it, lib)
        if os.path.exists(b + ".started") and not os.path.exists(b + ".json"):
            with open(b + ".started") as fh:
                txt = fh.read().strip()
            return it["name"], float(txt) if txt else time.time()
    return None


def import_times(env, n_runs: int = 5) -> dict:
    """Median wall time of ``import shrinkage`` (and of resolving the path function)."""
    code = (
        "import time; t0 = time.perf_counter(); import shrinkage; t1 = time.perf_counter(); "
        "ok = True\n"
        "try:\n    shrinkage.regularization_path\n"
        "except Exception:\n    ok = False\n"
        "t2 = time.perf_counter(); print(t1 - t0, t2 - t0, ok)"
    )
    a, b, ok = [], [], True
    for _ in range(n_runs):
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        if res.returncode != 0:
            return {"error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"}
        x, y, z = res.stdout.split()
        a.append(float(x))
        b.append(float(y))
        ok = ok and z == "True"
    return {
        "import_s": statistics.median(a),
        "import_and_resolve_s": statistics.median(b) if ok else None,
    }


def xtv_time(X, threads: int) -> float:
    """Best-of-N time of one ``X^T v`` (the unit of the one-pass floor)."""
    from threadpoolctl import threadpool_limits

    v = np.random.default_rng(0).standard_normal(X.shape[0])
    best = np.inf
    with threadpool_limits(limits=threads):
        t_end = time.perf_counter() + 0.5
        for i in range(200):
            t0 = time.perf_counter()
            X.T @ v
            best = min(best, time.perf_counter() - t0)
            if i >= 5 and time.perf_counter() > t_end:
                break
    return best


# ----------------------------------------------------------------------------- scoring
def reject_nonfinite(case, results) -> None:
    """A library whose returned strengths, coefficients or intercepts are not all finite has
    not fitted the path (adelie's standardization of a constant column gives NaN
    strengths and all-zero coefficients, in a few milliseconds, without an error): its
    status becomes ``invalid``, so that no time of it is compared."""
    for lib, res in results.items():
        if res.get("status") != "ok":
            continue
        npz = np.load(os.path.join(res["_out"], f"{case.name}__{lib}.npz"))
        bad = [k for k in ("lams", "coefs", "inter") if k in npz.files
               and not np.all(np.isfinite(npz[k]))]
        if bad:
            res["status"] = "invalid"
            res["error"] = f"non-finite {', '.join(bad)} returned"


def score_case(case, folder, results, n_lams) -> None:
    """Add ``max_rel_subopt`` (and per-lam values) to each successful result, in place."""
    X, y = load(folder)
    lams = load_grid(folder, case.l1_ratio, n_lams)
    F = {}
    for lib, res in results.items():
        if res.get("status") != "ok":
            continue
        npz = np.load(os.path.join(res["_out"], f"{case.name}__{lib}.npz"))
        coefs, inter = npz["coefs"], npz["inter"]
        k = coefs.shape[0]
        F[lib] = objective(X, y, coefs, inter, lams[:k], case.family, case.l1_ratio)
    if not F:
        return
    best = np.full(len(lams), np.inf)
    for f in F.values():
        best[: len(f)] = np.minimum(best[: len(f)], f)
    for lib, f in F.items():
        k = len(f)
        rel = (f - best[:k]) / np.maximum(np.abs(best[:k]), TINY)
        results[lib]["max_rel_subopt"] = float(np.max(rel))
        results[lib]["n_above_target"] = int(np.sum(rel > SUBOPT_TARGET))
        results[lib]["objective"] = f.tolist()


def score_defaults(case, folder, results) -> None:
    """--defaults: add ``max_kkt`` (each library's worst point, in shrinkage's certificate
    units, ``_cases.kkt_violations``) to every result that solves the standardized problem
    with an intercept; scikit-learn's path functions fit neither, so they get none."""
    X, y = load(folder)
    for lib, res in results.items():
        if res.get("status") != "ok" or lib == "sklearn":
            continue
        npz = np.load(os.path.join(res["_out"], f"{case.name}__{lib}.npz"))
        l2_scale = 1.0
        if lib == "glmnet" and case.family == "gaussian" and case.l1_ratio < 1.0:
            l2_scale = 1.0 / float(np.std(y))
        v = kkt_violations(X, y, npz["coefs"], npz["inter"], npz["lams"], case.family,
                           case.l1_ratio, l2_scale)
        res["max_kkt"] = float(np.max(v))
        res["kkt"] = v.tolist()


# ----------------------------------------------------------------------------- output
def _fmt_t(x):
    if x is None:
        return "-"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _floor(res, t_xtv):
    """``warm / (L * time of one X^T v)`` with L the number of lams the library fitted."""
    k = res["n_fitted"]
    return res["warm_s"] / (k * t_xtv) if t_xtv > 0 and k > 0 else float("nan")


def _row(lib, res, n_lams, t_xtv, xbytes, defaults=False):
    status = res.get("status", "?")
    if status != "ok":
        note = res.get("error", "")
        dashes = " - |" * (9 if defaults else 6)
        return f"| {lib} | {status} |{dashes} {note} |"
    k = res["n_fitted"]
    floor = _floor(res, t_xtv)
    mem = res.get("mem_extra_bytes")
    mem = None if mem is None else max(mem, 0)
    mem_s = f"{mem / 2**20:.1f} ({mem / xbytes:.2f})" if mem is not None else "n/a"
    times = f"{_fmt_t(res['cold_s'])} | {_fmt_t(res['warm_s'])} | {_fmt_t(floor)}"
    if defaults:
        lmax, lmin, _ = res["grid"]
        kkt = res.get("max_kkt")
        kkt_s = f"{kkt:.1e}" if kkt is not None else "-"
        return (
            f"| {lib} | ok | {k} | {lmax:.4g} | {lmin:.4g} ({lmin / lmax:.0e}) | {times} | "
            f"{kkt_s} | {res['nnz_last']} | {mem_s} | {res.get('note', '')} |"
        )
    sub = res.get("max_rel_subopt")
    sub_s = f"{sub:.1e}" if sub is not None else "-"
    lams = f"{k}" if k == n_lams else f"{k}/{n_lams}"
    return (
        f"| {lib} | ok | {lams} | {times} | {sub_s} | {mem_s} | {res.get('note', '')} |"
    )


def render(report, n_lams, defaults=False) -> str:
    lines = []
    imp = report.get("import")
    if imp:
        if "error" in imp:
            lines.append(f"import shrinkage: failed ({imp['error']})")
        else:
            r = imp["import_and_resolve_s"]
            lines.append(
                f"import shrinkage: {imp['import_s']:.3f} s (median of 5 fresh processes); "
                "with shrinkage.regularization_path resolved: "
                + (f"{r:.3f} s" if r is not None else "not available")
            )
    versions = {}
    for c in report["cases"].values():
        for lib, res in c["results"].items():
            if "version" in res:
                versions[lib] = res["version"]
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for name, c in report["cases"].items():
        lines.append("")
        kind = "sparse CSC" if c["sparse"] else "dense"
        if defaults:
            lines.append(
                f"### {name} (--defaults, raw data): n={c['n']} p={c['p']} {kind}, "
                f"l1_ratio={c['l1_ratio']:g}; each library on its own grid; one X^T v = "
                f"{c['t_xtv'] * 1e3:.3g} ms; X = {c['x_bytes'] / 2**20:.1f} MiB"
            )
            lines.append("")
            lines.append(
                "| library | status | lams | lam_max | lam_min (ratio) | cold s | warm s | "
                "x floor | max KKT | nnz at lam_min | mem extra MiB (/X) | note |"
            )
            lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        else:
            lines.append(
                f"### {name}: n={c['n']} p={c['p']} {kind}, l1_ratio={c['l1_ratio']:g}, "
                f"{n_lams} lams from {c['lam_max']:.4g} down to {c['lam_min']:.4g}; one X^T v"
                f" = {c['t_xtv'] * 1e3:.3g} ms; X = {c['x_bytes'] / 2**20:.1f} MiB"
            )
            lines.append("")
            lines.append(
                "| library | status | lams | cold s | warm s | x floor | max rel subopt | "
                "mem extra MiB (/X) | note |"
            )
            lines.append("|---|---|---|---|---|---|---|---|---|")
        for lib, res in c["results"].items():
            lines.append(_row(lib, res, n_lams, c["t_xtv"], c["x_bytes"], defaults))
    lines.append("")
    lines.extend(defaults_summary(report) if defaults else summary(report, n_lams))
    return "\n".join(lines)


def defaults_summary(report) -> list[str]:
    """Warm time (and x floor) of every library on every case, --defaults."""
    libs = []
    for c in report["cases"].values():
        libs += [lib for lib in c["results"] if lib not in libs]
    out = ["### Summary (--defaults: warm s / x floor / lams / max KKT violation; grids and "
           "tolerances differ)", ""]
    out.append("| case | " + " | ".join(libs) + " |")
    out.append("|---|" + "---|" * len(libs))
    for name, c in report["cases"].items():
        cells = []
        for lib in libs:
            r = c["results"].get(lib, {})
            if r.get("status") == "ok":
                kkt = r.get("max_kkt")
                cells.append(f"{_fmt_t(r['warm_s'])} / {_fmt_t(_floor(r, c['t_xtv']))} / "
                             f"{r['n_fitted']} / " + (f"{kkt:.0e}" if kkt is not None else "-"))
            else:
                cells.append(r.get("status", "-"))
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def summary(report, n_lams) -> list[str]:
    """Shrinkage's warm time against the fastest other library at <= 1e-6 suboptimality."""
    out = ["### Summary (warm time; 'ok' = full grid and max rel subopt <= 1e-6)", ""]
    out.append("| case | shrinkage s | fastest other ok | its s | speed-up | vs sklearn |")
    out.append("|---|---|---|---|---|---|")

    def good(r):
        return (
            r.get("status") == "ok"
            and r.get("n_fitted") == n_lams
            and r.get("max_rel_subopt", np.inf) <= SUBOPT_TARGET
        )

    for name, c in report["cases"].items():
        res = c["results"]
        ours = res.get("shrinkage", {})
        others = {k: v for k, v in res.items() if k != "shrinkage" and good(v)}
        fastest = min(others, key=lambda k: others[k]["warm_s"]) if others else None
        ours_s = ours["warm_s"] if good(ours) else None
        tag = "" if ours_s is not None or ours.get("status") != "ok" else " (not ok)"
        t_ours = _fmt_t(ours_s) if ours_s is not None else (ours.get("status", "-") + tag)
        t_best = _fmt_t(others[fastest]["warm_s"]) if fastest else "-"
        up = f"{others[fastest]['warm_s'] / ours_s:.2f}x" if fastest and ours_s else "-"
        sk = res.get("sklearn", {})
        vs_sk = f"{sk['warm_s'] / ours_s:.2f}x" if ours_s and sk.get("status") == "ok" else "-"
        out.append(f"| {name} | {t_ours} | {fastest or '-'} | {t_best} | {up} | {vs_sk} |")
    return out


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small versions of every case")
    ap.add_argument(
        "--defaults",
        action="store_true",
        help="call every library with its own defaults on the raw (unstandardized) data "
        "instead of the common objective and grid; skglm, celer and glum are skipped",
    )
    ap.add_argument(
        "--cases",
        default=None,
        help="comma-separated case names or shell patterns (default: all, or those of "
        f"--data); known: {', '.join(CASES)}",
    )
    add_data_arguments(ap)
    ap.add_argument(
        "--libs", default=",".join(RUNNERS), help=f"comma-separated subset of {list(RUNNERS)}"
    )
    ap.add_argument("--out", default=None, help="write the full results as JSON here")
    ap.add_argument(
        "--timeout", type=float, default=None, help="seconds per (library, case); default "
        "600 (full) or 10 (--quick)"
    )
    ap.add_argument(
        "--grace",
        type=float,
        default=None,
        help="extra seconds for a worker's first case of each family (imports, JIT "
        "compilation); default "
        "120 (full) or 60 (--quick)",
    )
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/numba threads (1)")
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="max warm calls for short paths (default 3; 1 with --quick)",
    )
    ap.add_argument(
        "--n-lams", type=int, default=None, help="grid size (default 100; 20 with --quick)"
    )
    ap.add_argument(
        "--data-dir",
        default=os.path.join(tempfile.gettempdir(), "shrinkage-bench-data"),
        help="cache of generated data sets (.npy)",
    )
    ap.add_argument(
        "--grouped",
        action="store_true",
        help="one worker process per library for all cases (faster; cold times then are "
        "'first call on this case', not 'first call in a fresh process'); default with "
        "--quick",
    )
    args = ap.parse_args(argv)
    if args.cases is None:
        args.cases = ",".join(data_cases(args)) or "*"
    else:
        data_cases(args)
    if args.timeout is None:
        args.timeout = 10.0 if args.quick else 600.0
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.grace is None:
        args.grace = 60.0 if args.quick else 120.0
    if args.n_lams is None:
        args.n_lams = 20 if args.quick else 100
    if args.quick:
        args.grouped = True
    return args


def select_cases(pattern: str):
    names = []
    for pat in pattern.split(","):
        hits = [n for n in CASES if fnmatch.fnmatch(n, pat.strip())]
        if not hits:
            raise SystemExit(f"--cases: no case matches {pat!r}; known: {', '.join(CASES)}")
        names += [h for h in hits if h not in names]
    return [CASES[n] for n in names]


def main(argv=None) -> int:
    args = parse_args(argv)
    cases = select_cases(args.cases)
    libs = [lib.strip() for lib in args.libs.split(",") if lib.strip()]
    for lib in libs:
        if lib not in RUNNERS:
            raise SystemExit(f"--libs: unknown library {lib!r}; known: {list(RUNNERS)}")
    env = _worker_env(args.threads)
    t_start = time.perf_counter()
    print(
        f"# shrinkage path benchmark ({'quick' if args.quick else 'full'}), "
        f"{platform.python_version()}, {os.cpu_count()} CPUs visible, threads={args.threads}"
    )
    settings = DEFAULT_SETTINGS if args.defaults else SETTINGS
    if args.defaults:
        print("--defaults: every library with its own defaults on the raw data (design "
              "before the benchmark's standardization, y as generated); grids differ")
    print("Settings:")
    for lib in libs:
        print(f"- {lib}: {settings.get(lib) or supports(lib, 'gaussian', args.defaults)}")
    sys.stdout.flush()

    folders, meta = {}, {}
    for case in cases:
        folder = prepare(case, args.quick, args.data_dir, args.n_lams, raw=args.defaults)
        X, y = load(folder)
        lams = load_grid(folder, case.l1_ratio, args.n_lams)
        folders[case.name] = folder
        meta[case.name] = {
            "n": X.shape[0],
            "p": X.shape[1],
            "sparse": bool(sp.issparse(X)),
            "family": case.family,
            "l1_ratio": case.l1_ratio,
            "lam_max": float(lams[0]),
            "lam_min": float(lams[-1]),
            "x_bytes": nbytes(X),
            "t_xtv": xtv_time(X, args.threads),
            "folder": folder,
        }
        del X, y

    report = {"settings": {k: settings.get(k) for k in libs}, "args": vars(args), "cases": {}}
    out = tempfile.mkdtemp(prefix="shrinkage-bench-")
    spec_base = {"n_lams": args.n_lams, "repeats": args.repeats, "min_warm_total_s": 1.0,
                 "defaults": args.defaults}

    if "shrinkage" in libs:
        report["import"] = import_times(env)
    if "shrinkage" in libs and not args.quick:
        # Fill numba's on-disk cache (small data, same dtypes and layouts) so that every
        # cold time below is "first call in a fresh process with a warm cache".
        warm_out = tempfile.mkdtemp(prefix="shrinkage-bench-warmup-")
        items = []
        for case in cases:
            qf = prepare(case, True, args.data_dir, args.n_lams, raw=args.defaults)
            items.append(_item(case, qf))
        t0 = time.perf_counter()
        run_group(
            "shrinkage", items, spec_base, warm_out, args.timeout, env, lambda *a: None, args.grace
        )
        report["warmup_s"] = time.perf_counter() - t0
        print(f"numba cache warm-up (shrinkage on the quick cases): {report['warmup_s']:.1f} s")

    def log(lib, name, out_dir):
        with open(os.path.join(out_dir, f"{name}__{lib}.json")) as fh:
            r = json.load(fh)
        msg = (
            f"warm {r['warm_s']:.3g} s, cold {r['cold_s']:.3g} s"
            if r["status"] == "ok"
            else f"{r['status']}: {r.get('error', '')}"
        )
        print(f"  [{time.perf_counter() - t_start:6.1f} s] {lib:9s} {name}: {msg}", flush=True)

    results = {c.name: {} for c in cases}
    for lib in libs:
        items = []
        skipped = args.defaults and lib not in DEFAULT_RUNNERS
        missing = None if skipped else _missing(lib)
        for case in cases:
            why = supports(lib, case.family, args.defaults)
            if skipped:
                results[case.name][lib] = {"status": "skipped", "error": why or
                                           "no --defaults runner"}
            elif missing:
                results[case.name][lib] = {"status": "missing", "error": missing}
            elif why:
                results[case.name][lib] = {"status": "n/a", "error": why}
            else:
                items.append(_item(case, folders[case.name]))
        groups = [items] if args.grouped else [[it] for it in items]
        for group in groups:
            if group:
                run_group(lib, group, spec_base, out, args.timeout, env, log, args.grace)
        for it in items:
            with open(os.path.join(out, f"{it['name']}__{lib}.json")) as fh:
                r = json.load(fh)
            r["_out"] = out
            results[it["name"]][lib] = r

    for case in cases:
        res = {lib: results[case.name][lib] for lib in libs}
        reject_nonfinite(case, res)
        if args.defaults:  # different grids: each point scored by its own KKT conditions
            score_defaults(case, folders[case.name], res)
        else:
            score_case(case, folders[case.name], res, args.n_lams)
        report["cases"][case.name] = dict(meta[case.name], results=res)

    table = render(report, args.n_lams, args.defaults)
    print()
    print(table)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; worker files in {out}")
    if args.out:
        for c in report["cases"].values():
            for r in c["results"].values():
                r.pop("_out", None)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
        print(f"results written to {args.out}")
    return 0


def _missing(lib: str) -> str | None:
    """Why ``lib`` cannot be imported at all (None when its module is installed)."""
    import importlib.util

    if lib == "adelie":  # its own interpreter (numpy < 2)
        return adelie_missing()
    module = {"sklearn": "sklearn"}.get(lib, lib)
    if importlib.util.find_spec(module) is None:
        pkg = {"glmnet": "python-glmnet", "sklearn": "scikit-learn"}.get(lib, lib)
        return f"not installed (pip install {pkg})"
    return None


def _item(case, folder):
    with open(os.path.join(folder, "meta.json")) as fh:
        sparse = bool(json.load(fh)["sparse"])  # (a --data file may be either)
    return {
        "name": case.name,
        "family": case.family,
        "l1_ratio": case.l1_ratio,
        "folder": folder,
        "sparse": sparse,
    }


if __name__ == "__main__":
    sys.exit(main())
