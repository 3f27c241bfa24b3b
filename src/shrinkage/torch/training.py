"""The small training loop behind :func:`sweep` and the scikit-learn wrappers.

One run = build a model under a fixed seed, apply one regularization knob, train with
mini-batches for a number of epochs (optionally with early stopping), and report the
validation score per epoch and at the end. Kept private: users with their own loops use
the penalties, transforms and :class:`EarlyStopping` directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .early_stopping import EarlyStopping
from .penalties import L1, L2, DecoupledWeightDecay
from .structural import GaussianNoise, Mixup, set_dropout

#: Each knob of :func:`sweep` and the direction that regularizes more ("larger" or "smaller").
KNOBS = {
    "weight_decay": "larger",  # decoupled decay after each optimizer step (AdamW-style)
    "l2": "larger",  # coupled L2 loss term lam/2 ||w||^2
    "l1": "larger",  # proximal L1 step after each optimizer step
    "dropout": "larger",
    "noise": "larger",  # Gaussian input noise sigma
    "mixup": "larger",  # mixup alpha
    "epochs": "smaller",
}

LOSSES = ("mse", "cross_entropy")
METRICS = ("loss", "accuracy")


def as_tensors(data, name: str):
    """``(X, y)`` as two tensors with the same number of rows (y may be None)."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y) of arrays or tensors")
    X, y = data
    X = X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))
    y = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if X.dim() < 2:
        raise ValueError(
            f"{name}: X must have a sample axis and features, got shape {tuple(X.shape)}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[0]} rows but y has {y.shape[0]}")
    if torch.is_floating_point(X) and not torch.isfinite(X).all():
        raise ValueError(f"{name}: X contains NaN or inf")
    if torch.is_floating_point(y) and not torch.isfinite(y).all():
        raise ValueError(f"{name}: y contains NaN or inf")
    return X, y


@torch.no_grad()
def _class_count(model, X, y):
    """The number of classes of a classifier: its output width (a label may be absent
    from the data), read in evaluation mode so that no batch statistic moves."""
    was_training = model.training
    model.eval()
    try:
        width = int(model(X[:1]).shape[-1])
    finally:
        model.train(was_training)
    top = int(y.max())
    if top >= width:
        raise ValueError(f"class label {top} is out of range for a model with {width} "
                         "outputs (labels must be 0..n_outputs-1)")
    return width


def per_example_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Loss of each example: squared error averaged over outputs, or cross-entropy."""
    if loss == "mse":
        if y.numel() != out.numel():
            raise ValueError(f"the model gives outputs of shape {tuple(out.shape)} but y has "
                             f"shape {tuple(y.shape)}: loss='mse' needs one target per output")
        err = (out - y.reshape(out.shape)) ** 2
        return err.reshape(err.shape[0], -1).mean(dim=1)
    # cross-entropy with integer labels or class probabilities (mixup)
    return nn.functional.cross_entropy(out, y, reduction="none")


@torch.no_grad()
def evaluate(model, X, y, *, loss: str, metric: str, batch_size: int | None) -> np.ndarray:
    """Per-example validation values (losses, or 0/1 correctness for accuracy)."""
    was_training = model.training
    model.eval()
    try:
        values = []
        bs = X.shape[0] if batch_size is None else batch_size
        for start in range(0, X.shape[0], bs):
            out = model(X[start : start + bs])
            yb = y[start : start + bs]
            if metric == "accuracy":
                values.append((out.argmax(dim=1) == yb).to(torch.float64))
            else:
                values.append(per_example_loss(out, yb, loss).to(torch.float64))
        return torch.cat(values).cpu().numpy()
    finally:
        model.train(was_training)


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (``std(ddof=1) / sqrt(n)``; 0 for one value)."""
    n = values.size
    m = float(np.mean(values))
    se = float(np.std(values, ddof=1) / math.sqrt(n)) if n >= 2 else 0.0
    return m, se


@dataclass
class RunConfig:
    """Everything one training run needs besides the data and the knob value."""

    epochs: int
    loss: str = "mse"
    metric: str = "loss"
    optimizer: object = "adam"
    lr: float = 1e-3
    batch_size: int | None = 64
    #: fixed decoupled weight decay applied in every run (unless the knob is weight_decay)
    weight_decay: float = 0.0


class _Both:
    def __init__(self, first, second):
        self.first, self.second = first, second

    def step(self, model, lr):
        self.first.step(model, lr)
        self.second.step(model, lr)


def make_optimizer(spec, params, lr):
    if spec == "adam":
        return torch.optim.Adam(params, lr=lr)
    if spec == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if callable(spec):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError("optimizer factory must return a torch.optim.Optimizer")
        return opt
    raise ValueError(
        f"optimizer must be 'adam', 'sgd' or a callable params -> Optimizer, got {spec!r}"
    )


def train(
    model: nn.Module,
    train_xy,
    val_xy,
    cfg: RunConfig,
    *,
    knob: str | None,
    value: float,
    seed: int,
    early_stopping: EarlyStopping | None = None,
) -> dict:
    """Train ``model`` in place; return per-epoch curves and the run's summary.

    ``val_xy`` may be None (no validation: curves hold NaN, no early stopping).
    Returns ``{"train": list, "val": list, "val_se": list, "epochs_trained": int,
    "chosen_epoch": int}``.
    """
    Xtr, ytr = train_xy
    epochs = int(value) if knob == "epochs" else cfg.epochs
    step_reg, loss_reg, transform = None, None, None
    if knob == "dropout":
        set_dropout(model, value)
    elif knob == "weight_decay":
        step_reg = DecoupledWeightDecay(value)
    elif knob == "l1":
        step_reg = L1(value)
    elif knob == "l2":
        loss_reg = L2(value)
    elif knob == "noise":
        # the noise generator lives on the data's device: no host-to-device copy per batch
        gen = torch.Generator(device=Xtr.device)
        gen.manual_seed(seed + 7919)
        transform = GaussianNoise(value, generator=gen)
    elif knob == "mixup":
        classes = None if cfg.loss == "mse" else _class_count(model, Xtr, ytr)
        transform = Mixup(value, num_classes=classes, seed=seed)
    if knob != "weight_decay" and cfg.weight_decay > 0:
        # a fixed decay next to the swept knob; L1's prox and the decay commute up to
        # O(lr^2) and both sit after the optimizer step
        decay = DecoupledWeightDecay(cfg.weight_decay)
        step_reg = decay if step_reg is None else _Both(step_reg, decay)
    opt = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr)
    gen = torch.Generator()
    gen.manual_seed(seed)
    n = Xtr.shape[0]
    bs = n if cfg.batch_size is None else min(cfg.batch_size, n)
    curves = {"train": [], "val": [], "val_se": []}
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(Xtr.device)
        total = 0.0
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            xb, yb = Xtr[idx], ytr[idx]
            if transform is not None:
                xb, yb = transform(xb, yb)
            loss = per_example_loss(model(xb), yb, cfg.loss).mean()
            total += float(loss.detach()) * idx.shape[0]
            if cfg.loss == "mse":
                # train on half the squared error (shrinkage's gaussian loss) so that knob
                # strengths are in shrinkage's lam units; curves still report the MSE
                loss = 0.5 * loss
            if loss_reg is not None:
                loss = loss + loss_reg(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step_reg is not None:
                step_reg.step(model, opt)
        curves["train"].append(total / n)
        if val_xy is None:
            curves["val"].append(math.nan)
            curves["val_se"].append(math.nan)
            continue
        vals = evaluate(model, *val_xy, loss=cfg.loss, metric=cfg.metric, batch_size=cfg.batch_size)
        m, se = mean_se(vals)
        curves["val"].append(m)
        curves["val_se"].append(se)
        if early_stopping is not None:
            if vals.size >= 2:  # SE from the per-example validation losses
                early_stopping.step(vals, model)
            else:
                early_stopping.step(m, model, se=se)
            if early_stopping.stopped:
                break
    model.eval()
    chosen = len(curves["train"])
    if early_stopping is not None and early_stopping.restore_mode is not None:
        if early_stopping.chosen_epoch is not None:
            chosen = early_stopping.restore(model)
    return {**curves, "epochs_trained": len(curves["train"]), "chosen_epoch": chosen}


def resolve_device(device) -> torch.device:
    """A torch device: the one named, or CUDA when available and nothing is named."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"device {device!r} is not a valid torch device: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available")
    return dev
