"""
Poisson counts with an exposure offset
======================================

Claim counts, visits, defects: a count ``y_i`` observed over an exposure ``t_i`` (years
insured, hours watched, area inspected) has mean ``t_i * exp(b0 + x_i . b)``, so the
*rate* per unit of exposure follows the log-linear model and ``log t_i`` enters the
linear predictor with coefficient 1 -- an offset, known, not fitted:

    log E[y_i] = log t_i + b0 + x_i . b

``PenalizedRegressor(family="poisson").fit(X, y, offset=np.log(exposure))`` fits it;
``predict(X, offset=np.log(exposure))`` returns expected counts, and ``offset=0`` rates
per unit exposure. Simulated data: 2,000 policies, 20 features of which 4 matter,
exposures between a month and a year.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import shrinkage

rng = np.random.default_rng(0)
n, p = 2000, 20
X = rng.standard_normal((n, p))
coef = np.zeros(p)
coef[:4] = [0.5, -0.4, 0.3, 0.2]
exposure = rng.uniform(1 / 12, 1.0, n)
rate = np.exp(-1.0 + X @ coef)
y = rng.poisson(exposure * rate)
print(f"{y.sum()} claims over {exposure.sum():.0f} policy-years")

model = shrinkage.PenalizedRegressor(family="poisson", random_state=0)
model.fit(X, y, offset=np.log(exposure))
print(f"lam_ = {model.lam_:.4g}, intercept {model.intercept_:.3f} (true -1.0)")
print("first six coefficients:", np.round(model.coef_[:6], 3))
print("true                   :", coef[:6])

# %%
# Expected counts need the exposure again; rates per policy-year use offset 0.
counts = model.predict(X[:3], offset=np.log(exposure[:3]))
rates = model.predict(X[:3], offset=np.zeros(3))
for t, c, r in zip(exposure[:3], counts, rates):
    print(f"exposure {t:.2f} years: expected {c:.3f} claims, rate {r:.3f} per year")

# %%
# Leaving the exposure out confounds it with the features' effects and shifts the
# intercept down to the average exposure; with the offset, the fitted rates follow the
# true ones.
naive = shrinkage.PenalizedRegressor(family="poisson", random_state=0).fit(X, y)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
ax.loglog(rate, model.predict(X, offset=np.zeros(n)), ".", ms=3, label="with the offset")
ax.loglog(rate, naive.predict(X), ".", ms=3, alpha=0.5, label="without (counts as rates)")
lims = [rate.min(), rate.max()]
ax.plot(lims, lims, "k--", lw=1)
ax.set_xlabel("true claim rate per year")
ax.set_ylabel("fitted rate per year")
ax.legend()
plt.show()
