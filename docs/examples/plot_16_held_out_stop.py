"""
Cross-validation stops where no rule can choose: folds past the minimum
=======================================================================

The weak end of a lasso path is its dearest part: the active set is largest, the fit
nearly interpolates the training rows, and the solver needs the most work per strength.
Cross-validation pays that end once per fold, yet by then the held-out loss has long
risen past its minimum, and neither ``"min"`` nor ``"1se"`` (which only ever moves toward
stronger settings) can choose it.

So :func:`shrinkage.cross_validate` ends each fold's path once its held-out loss has
stayed more than 3 standard errors above its best for 10 strengths, and ends the curve
there once the cross-validated curve has risen too; folds that turned early are fitted on
(:mod:`shrinkage.tuning.held_out_stop`). Here, a logistic lasso on a sparse design with
many rare columns, as bag-of-words text has: the same folds with and without the stop.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

import shrinkage
from shrinkage.plotting import plot_cv

rng = np.random.default_rng(0)
n, p = 1500, 6000
# column j is non-zero in about 600 / (j + 10) of the rows: a few frequent columns, many rare
density = np.minimum(0.5, 600.0 / (np.arange(p) + 10.0) / n)
X = sp.csc_matrix((rng.random((n, p)) < density) * rng.exponential(1.0, (n, p)))
eta = X[:, :20] @ rng.normal(0.0, 0.8, 20)
y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(eta - eta.mean())))).astype(float)

runs = {}
for stop in (False, True):
    start = time.process_time()
    runs[stop] = shrinkage.cross_validate(X, y, "binomial", cv=10, random_state=0,
                                          held_out_stop=stop, n_jobs=1)
    print(f"held_out_stop={stop}: {time.process_time() - start:.2f} CPU s")
# (on a small design whose strengths cost less than 20 held-out scores each, the folds
# would not be watched, and extra["held_out_stop"] would be None: nothing to save)
cut, full = runs[True], runs[False]

# %%
# The curve the stopped folds give is the whole curve up to where it ends (to the
# rounding of a freshly compiled kernel), and the choices are the same.
# ``extra["held_out_stop"]`` is the number of strengths the curve kept;
# ``extra["n_folds_reached"]`` shows where each fold ended.
S = cut.extra["held_out_stop"] or len(cut.lams)  # (None: nothing was cut)
print(f"the curve keeps {S} of {len(cut.lams)} strengths")
print("largest difference up to there:", np.max(np.abs(cut.mean[:S] - full.mean[:S])))
print("lam_min:", cut.lam_min == full.lam_min, " lam_1se:", cut.lam_chosen == full.lam_chosen)
print("folds reaching each strength:", cut.extra["n_folds_reached"][S - 3:S + 3])

# %%
# Past the stop the full curve only climbs: far more than the rule's 3 standard errors
# above the minimum.
fig, ax = plt.subplots(figsize=(7, 4))
plot_cv(full, ax=ax, color="0.6")
plot_cv(cut, ax=ax)
ax.axvline(cut.lams[S - 1], color="C3", ls=":", lw=1)
ax.set_title("10-fold CV: every fold to the end (grey), stopped past the minimum (red)")
plt.show()
