"""
The Bayesian lasso: posterior intervals beside the lasso path
=============================================================

The lasso estimate is the posterior *mode* under independent Laplace priors on the
(standardized) coefficients. :class:`shrinkage.bayes.BayesianLasso` samples the whole
posterior instead (Park & Casella's Gibbs sampler, four chains, with R-hat and effective
sample sizes), with the prior's strength itself given a hyperprior. Its posterior
summarises two things the path cannot: how sure we are of each coefficient, and which
strengths ``lam`` the data support.

On the diabetes data we draw the lasso path, mark the posterior median strength and the
90% range of the strength's posterior, and set the posterior credible intervals next to
the lasso coefficients at that strength.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import shrinkage
from shrinkage.bayes import BayesianLasso
from shrinkage.datasets import load_diabetes
from shrinkage.plotting import plot_intervals, plot_path

data = load_diabetes()
bl = BayesianLasso(random_state=0).fit(data.X, data.y)
print(f"posterior median lam {bl.lam_:.4g}; every coefficient converged: {bl.converged_}")
print(f"largest R-hat {bl.rhat_.max():.3f}, smallest effective sample size {bl.ess_.min():.0f}")

path = shrinkage.regularization_path(data.X, data.y, feature_names=data.feature_names)
lasso = shrinkage.regularization_path(data.X, data.y, lams=[bl.lam_]).coefs[0]

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.5), layout="constrained")
plot_path(path, ax=ax1, lam=bl.lam_)
lo, hi = np.quantile(bl.lam_samples_, [0.05, 0.95])
ax1.axvspan(lo, hi, color="C1", alpha=0.15, label="90% of the posterior of lam")
ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=4)
plot_intervals(bl, ax=ax2, feature_names=data.feature_names, level=0.9)
rows = np.arange(lasso.size)[::-1]
ax2.plot(lasso, rows, "s", mfc="none", color="C3", label="lasso at the same lam")
ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=3)
plt.show()

# %%
# The posterior supports weak strengths on these data, where the lasso keeps every
# feature; the intervals say more than the point estimates: for several features they
# straddle zero, so the data do not even settle the sign of the effect. The posterior
# median sits closer to the lasso (the mode) than the mean does.
iv = bl.credible_intervals(0.9)
print(f"{'':>4} {'lasso':>8} {'median':>8} {'mean':>8}   90% interval")
for name, b, med, mean, (a, c) in zip(data.feature_names, lasso, bl.coef_median_, bl.coef_,
                                      iv):
    note = "  (straddles 0)" if a < 0 < c else ""
    print(f"{name:>4} {b:8.1f} {med:8.1f} {mean:8.1f}   [{a:7.1f}, {c:7.1f}]{note}")
