"""
Less bias at the same sparsity: lasso, MCP and SCAD paths
=========================================================

Six real effects among forty features, one hundred rows. The lasso path shrinks every
coefficient by the same amount, so at the strength that removes the noise its real
effects are well below their true sizes. MCP and SCAD act like the lasso near zero and
stop shrinking beyond ``gamma * lam``: at the same strength their coefficients sit on
the truth (dashed lines).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import shrinkage
from shrinkage.engine.path import NonconvexWarning

rng = np.random.default_rng(0)
n, p = 100, 40
X = rng.standard_normal((n, p))
beta = np.zeros(p)
beta[:6] = [3.0, -2.5, 2.0, -1.5, 1.0, 0.8]
y = X @ beta + rng.standard_normal(n)

paths = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NonconvexWarning)
    lasso = shrinkage.regularization_path(X, y, n_lams=60)
    for penalty in ("elasticnet", "mcp", "scad"):
        paths[penalty] = shrinkage.regularization_path(X, y, penalty=penalty,
                                                       lams=lasso.lams)

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
for ax, (name, path) in zip(axes, paths.items()):
    ax.plot(np.log10(path.lams), path.coefs[:, 6:], color="0.75", lw=0.8)
    ax.plot(np.log10(path.lams), path.coefs[:, :6], lw=1.6)
    for b in beta[:6]:
        ax.axhline(b, color="k", ls="--", lw=0.6)
    ax.set_title({"elasticnet": "lasso"}.get(name, name.upper()))
    ax.set_xlabel("log10 lam")
    ax.invert_xaxis()
axes[0].set_ylabel("coefficient")
fig.tight_layout()
plt.show()

# %%
# Cross-validated (one-SE rule): features kept and the largest error in a real effect.
for penalty in ("elasticnet", "mcp", "scad"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonconvexWarning)
        res, path = shrinkage.cross_validate(X, y, penalty=penalty, cv=5, random_state=0,
                                             return_path=True)
    b = path.coefs[res.index_chosen]
    print(f"{penalty:>10}: {np.count_nonzero(b)} features, largest error on the real "
          f"effects {np.abs(b[:6] - beta[:6]).max():.2f}, certificate "
          f"{path.certificate[res.index_chosen]:.1e}")
