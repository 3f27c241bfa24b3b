"""
Ridge: exact leave-one-out and GCV from one decomposition
=========================================================

For ridge every quantity along the path is a filter of one singular value decomposition
of the (standardized) design: coefficients, effective degrees of freedom, and the exact
leave-one-out residuals ``e_i / (1 - h_i)``. :func:`shrinkage.ridge_path` returns all of
them for 100 strengths at the cost of one decomposition, and chooses ``lam`` by the same
strongest-within-one-SE rule as the lasso (one "fold" per sample).

We check the leave-one-out error against brute force (refitting ``n`` times), and
compare with scikit-learn's ``RidgeCV`` (whose ``alpha`` is ``n * lam``:
:func:`shrinkage.units.to_sklearn_ridge`).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge, RidgeCV

import shrinkage
from shrinkage import units
from shrinkage.datasets import load_diabetes

data = load_diabetes()
X, y = data.X, data.y
n = X.shape[0]

# scikit-learn does not standardize, so neither do we here (see the units page)
ridge = shrinkage.ridge_path(X, y, standardize=False)
cv = ridge.cv
print(f"{ridge.path.n_lams} lams; df from {ridge.df[0]:.2f} to {ridge.df[-1]:.2f}")
print(f"lam_min = {cv.lam_min:.4g} (LOO MSE {cv.mean[cv.index_min]:.1f}), "
      f"lam_1se = {cv.lam_chosen:.4g} (LOO MSE {cv.mean[cv.index_chosen]:.1f})")

# %%
# Brute force at the minimiser: drop each row, refit with scikit-learn's Ridge at the
# same strength (``alpha = W * lam`` with ``W`` the weight the penalty keeps, here the
# full ``n``: leave-one-out in its classical PRESS meaning), predict the dropped row.
alpha = units.to_sklearn_ridge(cv.lam_min, n_samples=n)
errors = []
for i in range(n):
    keep = np.arange(n) != i
    model = Ridge(alpha=alpha).fit(X[keep], y[keep])
    errors.append((y[i] - model.predict(X[i:i + 1])[0]) ** 2)
print(f"exact LOO MSE {cv.mean[cv.index_min]:.6f}, brute force {np.mean(errors):.6f}")

# %%
# scikit-learn's RidgeCV (efficient LOO too) picks the minimum on the same grid:
sk = RidgeCV(alphas=units.to_sklearn_ridge(ridge.path.lams, n_samples=n)).fit(X, y)
print(f"RidgeCV alpha_ = {sk.alpha_:.6g} -> lam = {units.from_sklearn_ridge(sk.alpha_, n):.6g}")

# %%
# The leave-one-out curve, GCV and the effective degrees of freedom along the path.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.semilogx(ridge.path.lams, ridge.loo_mse, label="exact leave-one-out")
ax1.semilogx(ridge.path.lams, ridge.gcv, "--", label="GCV")
ax1.axvline(cv.lam_min, color="k", ls=":", label="lam_min")
ax1.axvline(cv.lam_chosen, color="C3", ls="--", label="lam_1se")
ax1.set_xlabel("lam")
ax1.set_ylabel("mean squared error")
ax1.legend()
ax2.semilogx(ridge.path.lams, ridge.df)
ax2.set_xlabel("lam")
ax2.set_ylabel("effective degrees of freedom (tr H)")
fig.tight_layout()
plt.show()
