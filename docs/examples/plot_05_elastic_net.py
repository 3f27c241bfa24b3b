"""
Elastic net: choosing ``l1_ratio`` and ``lam`` together
=======================================================

With groups of strongly correlated features the lasso tends to keep one feature of each
group and drop the rest; mixing in some ridge (``l1_ratio < 1``) spreads the weight over
the group. :func:`shrinkage.cross_validate_elastic_net` cross-validates one path per
``l1_ratio``, all on the same folds so their curves are comparable, and chooses the cell
of the ``l1_ratio`` x ``lam`` grid with the fewest non-zero coefficients among those
within one standard error of the best.

The data are simulated: 60 features in 20 groups of three near-copies; the response
depends on the first two groups.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import shrinkage

rng = np.random.default_rng(0)
n, groups = 120, 20
latent = rng.standard_normal((n, groups))
X = np.repeat(latent, 3, axis=1) + 0.3 * rng.standard_normal((n, 3 * groups))
y = latent[:, 0] + latent[:, 1] + 0.8 * rng.standard_normal(n)

enet = shrinkage.cross_validate_elastic_net(X, y, l1_ratios=(0.1, 0.3, 0.5, 0.9, 1.0),
                                            cv=10, random_state=0)
for a, res in zip(enet.l1_ratios, enet.results):
    print(f"l1_ratio {a:4.2f}: best mean CV mse {np.nanmin(res.mean):.4f}, "
          f"{res.nnz[res.index_chosen]:2d} features at its own 1se lam")
print(f"chosen: l1_ratio = {enet.l1_ratio_chosen}, lam = {enet.lam_chosen:.4g}")

# %%
# The CV curves, one per ``l1_ratio``, against the number of non-zero coefficients (a
# ``lam`` means a different amount of shrinkage for each ``l1_ratio``, so sparsity is the
# common axis).
fig, ax = plt.subplots(figsize=(7, 4))
for a, res in zip(enet.l1_ratios, enet.results):
    ax.plot(res.nnz, res.mean, ".-", label=f"l1_ratio = {a:g}")
chosen = enet.chosen
ax.plot(chosen.nnz[chosen.index_chosen], chosen.mean[chosen.index_chosen], "k*", ms=14,
        label="chosen")
ax.set_xlabel("non-zero coefficients")
ax.set_ylabel("mean CV mse")
ax.set_xlim(0, 40)
ax.legend()
plt.show()

# %%
# Where the weight goes, at each ``l1_ratio``'s own chosen ``lam``: the smaller
# ``l1_ratio``, the more evenly the three copies of a signal group share it.
for a, res in zip(enet.l1_ratios, enet.results):
    path = shrinkage.regularization_path(X, y, l1_ratio=a, lams=[res.lam_chosen])
    coef = path.coefs[0].reshape(groups, 3)
    print(f"l1_ratio {a:4.2f}: group 1 {np.round(coef[0], 2)}, group 2 {np.round(coef[1], 2)}, "
          f"{int((coef[2:] != 0).sum())} others")
