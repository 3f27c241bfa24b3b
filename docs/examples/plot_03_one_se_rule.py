"""
The one-standard-error rule against the minimum, and how stable the choice is
=============================================================================

Cross-validation estimates the error of every strength with noise: the minimum of the
CV curve is itself a random variable. The strongest-within-``k``-SE rule keeps the
*strongest* ``lam`` whose mean CV error is within ``k`` standard errors of the best, a
simpler model that the data cannot tell apart from the best one.

Here the truth is known: a sparse linear model with 5 non-zero coefficients among 100
correlated features and 80 samples
(:func:`shrinkage.datasets.make_sparse_regression`). We compare what ``"min"`` and
``"1se"`` select, and repeat the 10-fold CV five times with fresh folds to
see how much each choice moves.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import shrinkage
from shrinkage.datasets import make_sparse_regression
from shrinkage.plotting import plot_cv

data = make_sparse_regression(n_samples=80, n_features=100, n_informative=5, rho=0.5,
                              snr=1.0, random_state=2)
truth = data.coef != 0

cv, path = shrinkage.cross_validate(data.X, data.y, cv=10, repeats=5, rule="1se",
                                    random_state=0, return_path=True)

for label, index in (("min", cv.index_min), ("1se", cv.index_chosen)):
    selected = path.coefs[index] != 0
    print(f"{label:>4}: lam = {cv.lams[index]:.4f}, {selected.sum():2d} features, "
          f"{(selected & truth).sum()} of 5 true ones, {(selected & ~truth).sum():2d} false")

# %%
# The CV curve pools the five repeats (``se`` is the mean of the per-repeat standard
# errors: repeats reuse the same samples, so they do not shrink it by ``sqrt(5)``). The
# shaded span and ticks show where each repeat alone would have put the chosen ``lam``.
fig, ax = plt.subplots(figsize=(7, 4))
plot_cv(cv, ax=ax)
plt.show()

# %%
# The rule applied to each repeat on its own: ``extra["repeat_lam_chosen"]``. The same
# for the minimum, from ``extra["repeat_index_min"]``.
rep_min = cv.lams[cv.extra["repeat_index_min"]]
rep_1se = cv.extra["repeat_lam_chosen"]
print("lam_min per repeat:", np.round(rep_min, 4))
print("   features:       ", cv.nnz[cv.extra["repeat_index_min"]])
print("lam_1se per repeat:", np.round(rep_1se, 4))
print("   features:       ", cv.nnz[cv.extra["repeat_index_chosen"]])
for label, values in (("min", rep_min), ("1se", rep_1se)):
    spread = np.log10(values.max() / values.min())
    print(f"{label}: the choice moves over {spread:.2f} decades of lam across repeats")

# %%
# The rule grammar is the same everywhere (``cross_validate``, the estimators, the
# report, ``shrinkage fit --rule``): ``"min"``, ``"<k>se"``, a bare number ``k`` of
# standard errors, or ``"<r>%"`` (the strongest within ``r`` percent of the best mean).
# The choices only need the scores, so re-applying a rule costs nothing:
from shrinkage.tuning.selection import apply_rule, describe_rule  # noqa: E402

for rule in ("min", "1se", "1.5se", 2, "2%"):
    i = apply_rule(rule, cv.lams, cv.mean, cv.se)
    print(f"{str(rule):>6}: lam = {cv.lams[i]:.4f}, {cv.nnz[i]:2d} features  "
          f"({describe_rule(rule, cv.metric)})")
