"""
Two curves on noisy data: what regularization is for
====================================================

Twenty noisy points from a smooth curve, fitted with fifteen Legendre polynomials
twice: by least squares (no penalty), which bends to chase every point, and by ridge,
whose strength ``lam`` minimises the exact leave-one-out error. The penalty costs a
little fit on the training points and buys a curve that is close to the truth between
them.

:func:`shrinkage.tuning.curves.compare_fits` does the fitting (the engine's exact ridge,
one decomposition for every ``lam``); :func:`shrinkage.plotting.plot_overfit` only draws
the result -- plots never refit.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from shrinkage.datasets import make_noisy_curve
from shrinkage.plotting import plot_overfit
from shrinkage.tuning.curves import compare_fits

data = make_noisy_curve(n_samples=20, noise_sd=0.3, random_state=0)
fits = compare_fits(data.x, data.y, basis="polynomial", degree=15,
                    truth=(data.x_grid, data.f_grid))
print(f"ridge lam chosen by exact leave-one-out: {fits.lam:.3g}")

fig, ax = plt.subplots(figsize=(6.4, 4))
plot_overfit(fits, ax=ax)
ax.set_title("15 polynomials, 20 points: without and with ridge")
plt.show()

# %%
# Training error against distance from the truth (mean squared, the truth on a fine
# grid over the range of the data): least squares wins on the points it was fitted to
# and loses everywhere else.
inside = (data.x_grid >= data.x.min()) & (data.x_grid <= data.x.max())
for name, regularized in (("least squares", False), ("ridge", True)):
    train = np.mean((fits.predict(data.x, regularized=regularized) - data.y) ** 2)
    curve = fits.predict(data.x_grid[inside], regularized=regularized)
    truth = np.mean((curve - data.f_grid[inside]) ** 2)
    print(f"{name:>13}: training MSE {train:.4f}, distance from the truth {truth:.4f}")

# %%
# The leave-one-out error along the ridge grid; ``fits.lam`` is its minimiser.
fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.loglog(fits.lams, fits.loo_mse)
ax.axvline(fits.lam, ls="--", color="C3", label=f"chosen lam = {fits.lam:.3g}")
ax.set_xlabel("lam")
ax.set_ylabel("leave-one-out MSE")
ax.legend()
plt.show()
