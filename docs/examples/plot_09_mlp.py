"""
A small network: weight decay, dropout and early stopping chosen by the same rule
=================================================================================

The knobs that regularize a network are strength axes like ``lam``: more weight decay,
more dropout, more input noise or *fewer* epochs all regularize more.
:func:`shrinkage.torch.sweep` trains a fresh network per (seed, knob value), scores it on
validation data and keeps the *strongest* value whose mean validation loss is within one
standard error of the best -- :func:`shrinkage.tuning.selection.strongest_within`, the
rule that chooses ``lam`` for the linear models.

Tiny networks (two hidden layers of 32 units) on a noisy 1-D curve, full-batch Adam for
120 epochs, two seeds per value: small enough to run in seconds on a CPU. PyTorch is an
optional extra (``pip install "shrinkage[torch]"``).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from shrinkage.datasets import make_noisy_curve
from shrinkage.plotting import plot_learning_curves, plot_sweep
from shrinkage.torch import EarlyStopping, MLPRegressor, sweep

torch.set_num_threads(1)  # tiny networks: threads cost more than they save
train = make_noisy_curve(n_samples=30, noise_sd=0.3, random_state=0)
val = make_noisy_curve(n_samples=200, noise_sd=0.3, random_state=1)


def as_xy(d):
    """The curve's points as (n, 1) float32 tensors."""
    return (torch.tensor(d.x[:, None], dtype=torch.float32),
            torch.tensor(d.y[:, None], dtype=torch.float32))


def make_model():
    """A fresh network (sweep calls it once per run, with the run's seed set)."""
    return nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 1))


# %%
# Decoupled weight decay (AdamW-style, biases spared), in shrinkage's ``lam`` units. The
# training loss is half the squared error (shrinkage's gaussian loss); scores are the
# validation MSE.
decay = sweep(make_model, as_xy(train), as_xy(val), knob="weight_decay",
              values=[0.0, 1e-2, 1e-1, 1.0], seeds=(0, 1), epochs=120, lr=3e-2,
              batch_size=None, progress=False)
for v, m, s in zip(decay.values, decay.mean, decay.se):
    print(f"weight decay {v:5g}: validation MSE {m:.4f} +- {s:.4f}")
print(f"best {decay.value_min:g}, chosen {decay.value_chosen:g} (rule {decay.rule})")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
plot_sweep(decay, ax=ax1)
plot_learning_curves(decay, ax=ax2, indices=[0, decay.index_chosen, len(decay.values) - 1])
fig.tight_layout()
plt.show()

# %%
# Early stopping in a hand-written loop. Fewer epochs regularize more, so
# ``restore="strongest_within"`` goes back to the *earliest* epoch whose validation loss is
# within one standard error of the best epoch's (the standard error comes from the
# per-example losses passed to ``step``).
torch.manual_seed(0)
model = make_model()
opt = torch.optim.Adam(model.parameters(), lr=3e-2)
x_tr, y_tr = as_xy(train)
x_va, y_va = as_xy(val)
stopper = EarlyStopping(patience=20, restore="strongest_within", k=1.0)
for _ in range(300):
    model.train()
    opt.zero_grad()
    loss = 0.5 * ((model(x_tr) - y_tr) ** 2).mean()
    loss.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        per_example = (0.5 * (model(x_va) - y_va) ** 2).ravel()
    if stopper.step(per_example, model):
        break
print(f"stopped after epoch {stopper.epoch}; best epoch {stopper.best_epoch}; "
      f"restored epoch {stopper.restore(model)}")

# %%
# The scikit-learn estimator does it all in ``fit``: it holds out ``validation_fraction``
# of the rows, sweeps the knob named by ``tune`` (here the dropout rate after each hidden
# layer), keeps the strongest value within ``k`` standard errors of the best, and refits
# on every row. On this little data set the rule may well keep no dropout at all: it never
# regularizes more than the data allow.
data = make_noisy_curve(n_samples=80, noise_sd=0.3, random_state=0)
mlp = MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh", tune="dropout",
                   tune_values=[0.0, 0.05, 0.1, 0.2, 0.4], n_seeds=2, epochs=120,
                   batch_size=None, lr=3e-2, validation_fraction=0.3, random_state=0)
mlp.fit(data.x[:, None], data.y)
print("chosen:", mlp.chosen_)

fig, ax = plt.subplots(figsize=(6.4, 4))
ax.plot(data.x, data.y, "k.", label="training data")
ax.plot(data.x_grid, data.f_grid, "k--", lw=1, label="truth")
ax.plot(data.x_grid, mlp.predict(data.x_grid[:, None]), "C3",
        label=f"MLP, dropout {mlp.chosen_['dropout']:g}")
ax.legend()
plt.show()
print("distance from the truth (MSE on the grid):",
      round(float(np.mean((mlp.predict(data.x_grid[:, None]) - data.f_grid) ** 2)), 4))
