"""Which compiled kernels take their fastmath flags from whichever caller compiled them first.

numba compiles a kernel that states no ``fastmath`` of its own with the flags of the caller
that first needs it, and caches that copy (``src/shrinkage/engine/kernels/flags.py``).
Every kernel states its flags since 2026-12-07 (``tests/test_kernel_flags.py`` reads the
source for it), so this script should list none; it checks the compiled code itself. It
runs fifteen kinds of fit (gaussian dense, sparse and wide, binomial dense and sparse,
poisson, multinomial grouped and not, Cox, group lasso gaussian and sparse binomial, MCP
gaussian and sparse binomial, a sparse elastic net, a binomial cross-validation) in several
orders, each in a fresh process with an empty kernel cache, reads the flags every compiled
shrinkage kernel was built with (from the ABI tag of its symbol, which numba derives from
the compile flags; the tag of the function itself, not of the callees linked beside it),
and lists the kernels whose flags differ between orders.

Usage (development environment; about 3 minutes per order on 2 cores)::

    python benchmarks/kernel_flags.py              # forward, backward and a shuffled order
    python benchmarks/kernel_flags.py --orders 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

FITS = ("g", "gs", "gw", "b", "bs", "p", "m", "mu", "c", "grp", "grpb", "mcp", "mcpb", "en",
        "cv")

_CHILD = r"""
import gc, json, re, sys, warnings
import numpy as np, scipy.sparse as sp
import shrinkage
from numba.core.registry import CPUDispatcher
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
n, p = 120, 40
X = rng.standard_normal((n, p))
Xs = sp.random(n, p, density=0.2, format="csc", random_state=1)
eta = X[:, :3].sum(axis=1)
yg = eta + rng.standard_normal(n)
yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
yp = rng.poisson(np.exp(0.3 * eta)).astype(float)
ym = (eta > 0).astype(int) + (eta > 1)
ycox = np.column_stack([rng.exponential(np.exp(-0.5 * eta)), rng.random(n) < 0.7])
grp = np.repeat(np.arange(10), 4)
R = shrinkage.regularization_path
fits = {
    "g": lambda: R(X, yg), "gs": lambda: R(Xs, yg), "gw": lambda: R(X[:30], yg[:30]),
    "b": lambda: R(X, yb, "binomial"), "bs": lambda: R(Xs, yb, "binomial"),
    "p": lambda: R(X, yp, "poisson"), "m": lambda: R(X, ym, "multinomial"),
    "mu": lambda: R(X, ym, "multinomial", multinomial_grouped=False),
    "c": lambda: R(X, ycox, "cox"), "grp": lambda: R(X, yg, feature_groups=grp),
    "grpb": lambda: R(Xs, yb, "binomial", feature_groups=grp),
    "mcp": lambda: R(X, yg, penalty="mcp"),
    "mcpb": lambda: R(Xs, yb, "binomial", penalty="mcp"),
    "en": lambda: R(Xs, yg, l1_ratio=0.5),
    "cv": lambda: shrinkage.cross_validate(X, yb, "binomial", n_jobs=1),
}
for name in sys.argv[1].split(","):
    fits[name]()
from numba.core.compiler import Flags
def fastmath(mangled):
    # the compile flags travel in the symbol's ABI tag ('B<length><tag>'), compressed
    at = 0
    while (m := re.search(r"B(\d+)", mangled[at:])) is not None:
        start = at + m.end()
        at = start + int(m.group(1))
        try:
            return "fastmath" in Flags.demangle(mangled[start:at])
        except Exception:  # (a version tag, not the flags)
            continue
    return None
flags = {}
for obj in gc.get_objects():
    if isinstance(obj, CPUDispatcher) and obj.py_func.__module__.startswith("shrinkage"):
        name = obj.py_func.__module__ + "." + obj.py_func.__qualname__
        for sig, cres in obj.overloads.items():
            flags[name + " " + str(sig)] = fastmath(cres.fndesc.mangled_name)
print(json.dumps(flags))
"""


def _flags(order):
    """``{kernel and signature: compiled with reassociation}`` after the fits of ``order``,
    in a fresh process with an empty kernel cache."""
    with tempfile.TemporaryDirectory(prefix="kernel-flags-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        done = subprocess.run([sys.executable, "-c", _CHILD, ",".join(order)], env=env,
                              capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=3,
                    help="forward, backward, then shuffled orders (seed 0)")
    args = ap.parse_args()
    orders = [list(FITS), list(FITS)[::-1]]
    rng = random.Random(0)
    while len(orders) < args.orders:
        orders.append(rng.sample(FITS, len(FITS)))
    seen = [_flags(order) for order in orders[:args.orders]]
    keys = sorted(set().union(*seen))
    differ = [k for k in keys if len({s[k] for s in seen if k in s}) > 1]
    print(f"{len(keys)} compiled kernels (with signatures) after {len(seen)} orders; "
          f"{len(differ)} with flags that depend on the order")
    for k in differ:
        print(" ", k.split(" ")[0], [s.get(k) for s in seen])


if __name__ == "__main__":
    main()
