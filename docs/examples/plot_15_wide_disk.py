"""
Wide data on disk: a lasso path reading only the columns it needs
=================================================================

A gaussian lasso on 150 rows and 30,000 columns stored column-major in a ``.npy`` file
(6 true features). :func:`shrinkage.distributed.wide_path` solves each strength on its
candidate columns in memory and proves every other column inactive by a bound on its
gradient, so most columns are read only in the few passes. Left: the path. Right, per
strength: the nonzero coefficients, the candidate columns held in memory, and the
columns whose bound left them uncertain (read exactly, through the cache, at the
strengths where there were any), against all 30,000.
"""

# %%
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import shrinkage.distributed as dist
from shrinkage.plotting import plot_path

rng = np.random.default_rng(0)
n, p = 150, 30_000
folder = tempfile.mkdtemp()
path = os.path.join(folder, "X.npy")
X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, p),
                              fortran_order=True)
for j0 in range(0, p, 10_000):
    X[:, j0:j0 + 10_000] = rng.normal(size=(n, 10_000))
X.flush()
y = X[:, :6] @ np.array([1.0, -0.8, 0.7, -0.6, 0.5, 0.4]) + rng.normal(size=n)
del X

res = dist.wide_path(path, y)
info = res.extra["wide"]
shutil.rmtree(folder)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
plot_path(res, ax=axes[0])
axes[0].set_title(f"lasso path, {res.n_lams} strengths")
ax = axes[1]
ax.semilogy(res.lams, np.maximum(res.nnz, 0.8), label="nonzero coefficients")
ax.semilogy(res.lams, np.maximum(info["n_candidates"], 0.8), label="candidates in memory")
some = info["n_uncertain"] > 0
ax.semilogy(res.lams[some], info["n_uncertain"][some], ".", label="uncertain: read")
ax.axhline(p, color="k", lw=0.8, ls="--", label=f"all {p} columns")
ax.set_xscale("log")
ax.invert_xaxis()
ax.set_xlabel("lam")
ax.set_title(f"{info['passes']} passes; {info['columns_read'].size} columns read outside")
ax.legend(fontsize=8)
plt.show()
