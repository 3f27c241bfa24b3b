"""First-ever fit time: numba compilation from an empty kernel cache, per family and shape.

Each case runs twice in a fresh Python process with ``NUMBA_CACHE_DIR`` pointing at a new
empty folder: the first run compiles every kernel it needs, the second loads them from that
cache. ``compile`` is the difference of the two (what a new user waits for once), reported
as wall time and as CPU time of the child process (CPU time is steadier on a loaded machine).
The ``all four`` case fits gaussian, binomial, poisson and multinomial in one process, the
issue's "four families in total" figure.

    python benchmarks/bench_compile.py            # every case
    python benchmarks/bench_compile.py gaussian_wide binomial
    python benchmarks/bench_compile.py --kernels gaussian_wide   # where the time goes

``--kernels`` runs each case once, from an empty cache, with a listener on numba's compile
events, and lists every compiled function (specialisations of numba's own overloads
grouped by name): its number of specialisations, the CPU seconds of its compilation
without and with the functions it compiled on the way (its callees, compiled when its
call to them is typed), and the instruction count of its optimised LLVM module. That
module holds the function *and a copy of every callee it links*, each optimised and
turned into machine code once more: a kernel's code is compiled once for itself and once
in every caller above it, so deep call chains and large callees cost more than their own
line suggests. A function inlined by numba (``inline="always"``) has no line: its cost
is in its callers'.
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


# prepended to a case by --kernels: a listener on numba's compile events that times each
# compilation without the compilations nested in it, and a report after the fit
_PROFILE = """
import time
from collections import defaultdict
from numba.core import event
_stack, _rows = [], []
class _Timer(event.Listener):
    def on_start(self, ev):
        _stack.append([time.process_time(), 0.0])
    def on_end(self, ev):
        start, nested = _stack.pop()
        took = time.process_time() - start
        if _stack:
            _stack[-1][1] += took
        _rows.append((ev.data["dispatcher"], ev.data["args"], took - nested, took))
event.register("numba:compile", _Timer())
"""

_REPORT = """
def _ir_size(disp, args):
    try:
        ir = disp.inspect_llvm(args)
    except Exception:  # numba's own overloads: not worth a line of their own
        return 0
    return sum(1 for line in ir.splitlines() if line.startswith("  "))  # instructions
agg = defaultdict(lambda: [0, 0.0, 0.0, 0])
for disp, args, own, total in _rows:
    name = disp.py_func.__module__ + "." + disp.py_func.__qualname__
    if not name.startswith("shrinkage"):
        name = "(numba overloads)"
    row = agg[name]
    row[0] += 1
    row[1] += own
    row[2] += total if name != "(numba overloads)" else own
    row[3] += _ir_size(disp, args) if name.startswith("shrinkage") else 0
print(f"{'compiled function':<58} {'specs':>5} {'own cpu':>8} {'with callees':>12} "
      f"{'llvm instr':>10}")
for name, (k, own, total, size) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"{name[-58:]:<58} {k:5d} {own:8.2f} {total:12.2f} {size:10d}")
print(f"{'all':<58} {sum(r[0] for r in agg.values()):5d} "
      f"{sum(r[1] for r in agg.values()):8.2f}")
"""


def _run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _SETUP + code], env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def kernels(name):
    """Compile case ``name`` from an empty cache and list what was compiled (see above)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        code = _PROFILE + _SETUP + CASES[name] + "\n" + _REPORT
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-c", code], env=env, check=True)


def main(names):
    print(f"{'case':<16} {'first wall':>10} {'first cpu':>10} {'cached wall':>11} "
          f"{'compile wall':>12} {'compile cpu':>11}")
    for name in names:
        with tempfile.TemporaryDirectory() as cache_dir:
            first = _run(CASES[name], cache_dir)
            cached = _run(CASES[name], cache_dir)
        print(f"{name:<16} {first[0]:10.1f} {first[1]:10.1f} {cached[0]:11.1f} "
              f"{first[0] - cached[0]:12.1f} {first[1] - cached[1]:11.1f}", flush=True)


def _parse(argv):
    """``(kernels, names)`` from the command line; exits with a usage line on ``--help`` or
    an unknown case."""
    show = argv[:1] == ["--kernels"]
    names = argv[1:] if show else argv
    unknown = [n for n in names if n not in CASES]
    if unknown:
        usage = (f"usage: bench_compile.py [--kernels] [CASE ...]; cases: {', '.join(CASES)}")
        if any(n in ("-h", "--help") for n in unknown):
            print(usage)
            raise SystemExit(0)
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; {usage}")
    return show, names or list(CASES)


if __name__ == "__main__":
    show_kernels, cases = _parse(sys.argv[1:])
    if show_kernels:
        for case in cases:
            kernels(case)
    else:
        main(cases)
