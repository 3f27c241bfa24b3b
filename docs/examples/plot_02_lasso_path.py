"""
A lasso path and the strength cross-validation chooses
======================================================

The diabetes data (442 patients, 10 baseline variables; Efron et al. 2004). One call
fits the whole lasso path -- 100 strengths from ``lam_max``, where every coefficient is
zero, down to ``lam_max * 1e-4`` -- each point with its optimality certificate. A second
call cross-validates the path and keeps the strongest ``lam`` whose error is within one
standard error of the best (glmnet's ``lambda.1se``).
"""

# %%
import matplotlib.pyplot as plt

import shrinkage
from shrinkage.datasets import load_diabetes
from shrinkage.plotting import plot_cv, plot_path

data = load_diabetes()
path = shrinkage.regularization_path(data.X, data.y, family="gaussian", l1_ratio=1.0,
                                     feature_names=data.feature_names)
print(path.summary())

# %%
# Every point carries a certificate, here the duality gap relative to the null objective,
# and a converged flag (certificate below ``tol``):
print("largest certificate:", path.certificate.max(), "tol:", path.tol)
print("all converged:", bool(path.converged.all()))

# %%
# Cross-validation fits one whole warm-started path per fold on the same ``lam`` grid.
cv = shrinkage.cross_validate(data.X, data.y, cv=10, rule="1se", random_state=0)
print(f"lam_min    = {cv.lam_min:.4g}  ({cv.nnz[cv.index_min]} features)")
print(f"lam_chosen = {cv.lam_chosen:.4g}  ({cv.nnz[cv.index_chosen]} features, rule {cv.rule})")

# %%
# The path with the chosen ``lam`` marked (the features selected there are named), and
# the CV curve it was chosen from. Strength grows to the right, as in glmnet's plots.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
plot_path(path, ax=ax1, cv=cv)
plot_cv(cv, ax=ax2)
fig.tight_layout()
plt.show()

# %%
# The coefficients at the chosen strength, on the original scale of the features:
i = path.index_of(cv.lam_chosen)
for name, b in zip(path.feature_names, path.coefs[i]):
    if b != 0:
        print(f"{name:>4}: {b:9.2f}")
