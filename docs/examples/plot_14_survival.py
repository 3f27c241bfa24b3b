"""
Survival: a penalised Cox model, its CV curve and its survival curves by risk group
===================================================================================

A Cox lasso on simulated survival data (4 true features among 60, 400 rows, 30%
censored): the cross-validated partial likelihood with the strength the one-standard-
error rule keeps (left), and the predicted survival curves of four risk groups (quartiles
of the risk score) against the Kaplan-Meier curves of the same rows (right): where the
dashed and solid curves agree, the model's risk ordering and baseline hazard fit the data.
"""

# %%
import matplotlib.pyplot as plt

from shrinkage import PenalizedCox
from shrinkage.datasets import make_sparse_regression
from shrinkage.plotting import plot_cv, plot_risk_groups

data = make_sparse_regression(400, 60, n_informative=4, family="cox", random_state=3)
model = PenalizedCox(random_state=0).fit(data.X, data.y)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
plot_cv(model.cv_, ax=axes[0])
axes[0].set_title("cross-validated partial likelihood deviance")
plot_risk_groups(data.y[:, 0], data.y[:, 1], model.predict(data.X), model.baseline_,
                 ax=axes[1])
axes[1].set_title(f"{int((model.coef_ != 0).sum())} features kept: survival by risk group")
plt.show()
