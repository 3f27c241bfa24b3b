"""
Groups: a factor in or out as a whole
=====================================

A categorical feature with several levels becomes several indicator columns. The lasso
decides about each indicator on its own, so a factor can be half in the model, and which
half depends on the reference level. ``feature_groups=`` penalises the indicators of one
factor as a group (the group lasso): the factor enters or leaves the model whole.
``group_mix`` between 0 and 1 adds L1 inside the groups (the sparse-group lasso).

The data are simulated: a numeric signal, a 5-level factor that matters for two of its
levels, and noise features (one of them a 4-level factor that does not matter).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import shrinkage

rng = np.random.default_rng(0)
n = 300
region = rng.integers(0, 5, n)               # a factor with 5 levels
colour = rng.integers(0, 4, n)               # a factor that does not matter
numeric = rng.standard_normal((n, 6))
X = np.column_stack([numeric, np.eye(5)[region], np.eye(4)[colour]])
names = ([f"x{j}" for j in range(6)] + [f"region={k}" for k in range(5)]
         + [f"colour={k}" for k in range(4)])
groups = [f"x{j}" for j in range(6)] + ["region"] * 5 + ["colour"] * 4
y = numeric[:, 0] - 0.5 * numeric[:, 1] + 0.6 * (region == 1) - 0.6 * (region == 3)
y = y + rng.standard_normal(n)

lasso = shrinkage.regularization_path(X, y, feature_names=names)
group = shrinkage.regularization_path(X, y, feature_groups=groups, feature_names=names)
sgl = shrinkage.regularization_path(X, y, feature_groups=groups, group_mix=0.5,
                                    feature_names=names)

# %%
# The paths of the indicator columns: with the lasso they enter one by one; with the
# group lasso the five ``region`` indicators enter together.
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
for ax, path, title in zip(axes, (lasso, group, sgl),
                           ("lasso", "group lasso", "sparse-group lasso (mix 0.5)")):
    for j in range(X.shape[1]):
        style = "-" if names[j].startswith("region") else ":"
        ax.plot(np.log10(path.lams), path.coefs[:, j], style, lw=1.2)
    ax.set_title(title)
    ax.set_xlabel("log10 lam")
    ax.invert_xaxis()
axes[0].set_ylabel("coefficient (solid: region indicators)")
plt.tight_layout()
plt.show()

# %%
# Cross-validation and the one-standard-error rule work the same way: the chosen
# strength keeps whole groups.
cv = shrinkage.cross_validate(X, y, feature_groups=groups, cv=5, random_state=0)
k = cv.index_chosen
full = shrinkage.regularization_path(X, y, feature_groups=groups, lams=cv.lams)
kept = sorted({g for g, b in zip(groups, full.coefs[k]) if b != 0})
print(f"chosen lam {cv.lam_chosen:.4g}: groups in the model: {', '.join(kept)}")
print("certificates (duality gap):", f"{full.certificate.max():.1e}")
