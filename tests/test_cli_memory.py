"""Memory of `shrinkage fit`: the table is streamed and the design matrix built once.

A fresh Python process fits a generated CSV of about 21 MB whose design matrix is 72 MB
once (imports, numba kernels and any compilation they need, matplotlib: none of that is
the fit's memory), resets the kernel's peak-memory mark (/proc/self/clear_refs), fits it
again and reports its peak resident memory above what it held before. shrinkage 0.1.0
needed about 9 times the matrix here (13 times on the user's 240 MB file): the whole file
as Python strings, a typed copy, a row subset, the one-hot blocks stacked. The bound
leaves room for what cross-validation and the figures add on top of the matrix: each
fold's held-out rows and predictions (n / folds x n_lams numbers per running fold), and
the gap plot's blocks of at most 4M predictions.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")

N_ROWS, N_NUM, N_CAT, LEVELS = 100_000, 30, 3, 20
MATRIX_BYTES = N_ROWS * (N_NUM + N_CAT * LEVELS) * 8  # 72 MB

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pyarrow as pa, pyarrow.csv as pcsv
    from shrinkage.cli import main

    def fit(data, out, *extra):
        try:
            main(["fit", str(data), "-t", "y", "--folds", "3", "--out", str(out), *extra])
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code

    def table(n, seed):
        rng = np.random.default_rng(seed)
        cols = {f"x{j}": np.round(rng.standard_normal(n), 3) for j in range(%(num)d)}
        for j in range(%(cat)d):
            cols[f"c{j}"] = np.char.add("v", rng.integers(0, %(levels)d, n).astype(str))
        cols["y"] = np.round(cols["x0"] - cols["x1"] + rng.standard_normal(n), 3)
        return pa.table(cols)

    def status(key):
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith(key)) * 1024

    tmp = sys.argv[1]
    pcsv.write_csv(table(%(n)d, 2), f"{tmp}/big.csv")
    fit(f"{tmp}/big.csv", f"{tmp}/warm", "--n-lams", "30")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # VmHWM := VmRSS
    before = status("VmRSS")
    fit(f"{tmp}/big.csv", f"{tmp}/big", "--n-lams", "30")
    print("PEAK_INCREASE", status("VmHWM") - before)
    """
) % {"num": N_NUM, "cat": N_CAT, "levels": LEVELS, "n": N_ROWS}


def test_fit_memory_stays_under_four_matrices(tmp_path):
    # Two worker threads wherever the test runs: each running fold holds its own
    # held-out rows, so the core count would otherwise change the measurement.
    env = {**os.environ, "LOKY_MAX_CPU_COUNT": "2"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    size = (tmp_path / "big.csv").stat().st_size
    assert 15e6 < size < 40e6
    increase = int(proc.stdout.split("PEAK_INCREASE")[1])
    assert increase < 4 * MATRIX_BYTES, (
        f"peak increase {increase / 1e6:.0f} MB = {increase / MATRIX_BYTES:.2f} x the "
        f"{MATRIX_BYTES / 1e6:.0f} MB design matrix"
    )
