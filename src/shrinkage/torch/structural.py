"""Structural regularizers: dropout rate, Monte Carlo dropout, input noise and mixup.

Batch transforms are small callables ``transform(x, y) -> (x, y)`` applied to a training
batch only (never to validation data); :class:`Compose` chains them.

* :class:`GaussianNoise` adds ``sigma * N(0, 1)`` to the inputs. For a linear model and
  the half squared error (shrinkage's gaussian loss), the expected loss on noisy inputs is
  ``E[(y - (x + e).w)^2] / 2 = (y - x.w)^2 / 2 + sigma^2 / 2 * ||w||^2`` (Bishop 1995):
  input noise is ridge in disguise, with ``lam = sigma^2`` in shrinkage's mean-loss units.
* :class:`Mixup` (Zhang et al. 2018) trains on convex combinations
  ``lam * (x_i, y_i) + (1 - lam) * (x_j, y_j)`` with ``lam ~ Beta(alpha, alpha)`` and ``j``
  a random permutation of the batch; larger ``alpha`` mixes more (stronger).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

__all__ = [
    "DROPOUT_LAYERS",
    "set_dropout",
    "mc_dropout_predict",
    "GaussianNoise",
    "Mixup",
    "Compose",
]

#: Module types whose rate :func:`set_dropout` changes.
DROPOUT_LAYERS: tuple[type, ...] = tuple(
    getattr(nn, n)
    for n in (
        "Dropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "AlphaDropout",
        "FeatureAlphaDropout",
    )
    if hasattr(nn, n)
)


def _check_model(model):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _dropout_modules(model):
    """The modules that drop units in training mode: dropout layers and multi-head
    attention (its attention dropout; training mode changes nothing else in it)."""
    return [m for m in model.modules()
            if isinstance(m, DROPOUT_LAYERS + (nn.MultiheadAttention,))]


def set_dropout(model: nn.Module, p: float) -> int:
    """Set the drop probability of every dropout module of ``model`` to ``p``.

    Covers ``nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``
    and the attention dropout of ``nn.MultiheadAttention`` (its ``dropout`` attribute).

    Parameters
    ----------
    model : torch.nn.Module
    p : float in [0, 1)
        Probability of zeroing a unit during training.

    Returns
    -------
    int
        The number of modules changed.

    Raises
    ------
    ValueError
        If ``p`` is outside ``[0, 1)`` or the model has no dropout module.
    """
    _check_model(model)
    if isinstance(p, bool) or not isinstance(p, Real):
        raise TypeError(f"p must be a real number, got {type(p).__name__}")
    p = float(p)
    if not (0.0 <= p < 1.0):
        raise ValueError(f"dropout rate p must lie in [0, 1), got {p}")
    count = 0
    for m in model.modules():
        if isinstance(m, DROPOUT_LAYERS):
            m.p = p
            count += 1
        elif isinstance(m, nn.MultiheadAttention):
            m.dropout = p
            count += 1
    if count == 0:
        raise ValueError("model has no dropout module, so its dropout rate cannot be set")
    return count


def mc_dropout_predict(
    model: nn.Module,
    x: torch.Tensor,
    *,
    n_samples: int = 50,
    seed: int | None = None,
    return_samples: bool = False,
):
    """Monte Carlo dropout prediction (Gal & Ghahramani 2016): mean and std of T passes.

    The model runs in evaluation mode (batch norm uses its running statistics) except its
    dropout modules and the attention dropout of ``nn.MultiheadAttention``, which stay
    active; ``n_samples`` stochastic forward passes are made
    without gradients and the model's train/eval flags are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        A model with at least one dropout module.
    x : torch.Tensor
        Input batch.
    n_samples : int >= 2
        Number of stochastic passes ``T``.
    seed : int or None
        Seeds torch's global generator inside a forked RNG state (the caller's random
        stream is left untouched), for reproducible predictions.
    return_samples : bool
        Also return the stacked passes, shape ``(n_samples, *output_shape)``.

    Returns
    -------
    mean, std : torch.Tensor
        Shape of one forward output. ``std`` is the sample standard deviation over passes
        (divisor ``T - 1``).
    samples : torch.Tensor, only if ``return_samples``
    """
    _check_model(model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    drops = _dropout_modules(model)
    if not drops:
        raise ValueError("model has no dropout module: Monte Carlo dropout needs one")
    flags = {m: m.training for m in model.modules()}
    devices = [x.device] if x.device.type != "cpu" else []
    try:
        model.eval()
        for m in drops:
            m.train()
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            if seed is not None:
                torch.manual_seed(int(seed))
            samples = torch.stack([model(x) for _ in range(int(n_samples))])
    finally:
        for m, flag in flags.items():
            m.training = flag
    mean = samples.mean(dim=0)
    std = samples.std(dim=0, correction=1)
    return (mean, std, samples) if return_samples else (mean, std)


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


class GaussianNoise:
    """Add ``sigma * N(0, 1)`` noise to the inputs of a training batch.

    Parameters
    ----------
    sigma : float >= 0
        Noise standard deviation, in the units of the inputs (standardize them first).
    generator : torch.Generator or None
        Source of randomness (torch's global generator when None). Noise is drawn on the
        generator's device and moved to the batch's device.
    """

    def __init__(self, sigma: float, *, generator: torch.Generator | None = None):
        if isinstance(sigma, bool) or not isinstance(sigma, Real):
            raise TypeError(f"sigma must be a real number, got {type(sigma).__name__}")
        sigma = float(sigma)
        if not math.isfinite(sigma) or sigma < 0:
            raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
        self.sigma = sigma
        self.generator = _check_generator(generator)

    def __call__(self, x: torch.Tensor, y=None):
        if self.sigma == 0:
            return x, y
        if not torch.is_floating_point(x):
            raise TypeError(f"GaussianNoise needs floating-point inputs, got {x.dtype}")
        if self.generator is None:
            noise = torch.randn_like(x)
        else:
            noise = torch.randn(
                x.shape, generator=self.generator, dtype=x.dtype, device=self.generator.device
            ).to(x.device)
        return x + self.sigma * noise, y

    def __repr__(self):
        return f"GaussianNoise(sigma={self.sigma:g})"


class Mixup:
    """Mixup of a batch: ``lam * (x, y) + (1 - lam) * (x[perm], y[perm])``, ``lam ~ Beta(a, a)``.

    One ``lam`` per batch. Targets are mixed too, so they must be floating point:
    regression targets, or class probabilities. Integer class labels are one-hot encoded
    first when ``num_classes`` is given (``torch.nn.CrossEntropyLoss`` accepts the mixed
    probabilities as targets).

    Parameters
    ----------
    alpha : float >= 0
        Beta concentration; 0 disables mixing.
    num_classes : int or None
        Number of classes for integer labels.
    seed : int or None
        Seed of the transform's own generators (Beta draw and permutation), so runs are
        reproducible independently of torch's global generator.
    """

    def __init__(self, alpha: float, *, num_classes: int | None = None, seed: int | None = None):
        if isinstance(alpha, bool) or not isinstance(alpha, Real):
            raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}")
        alpha = float(alpha)
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, Integral)
            or num_classes < 2
        ):
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.alpha = alpha
        self.num_classes = None if num_classes is None else int(num_classes)
        self._rng = np.random.default_rng(seed)
        self._gen = torch.Generator()
        self._gen.manual_seed(int(self._rng.integers(2**62)))

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        if not isinstance(y, torch.Tensor):
            raise TypeError("Mixup needs the targets y as a torch.Tensor")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
        if not torch.is_floating_point(y):
            if self.num_classes is None:
                raise ValueError(
                    "Mixup got integer labels; pass num_classes to one-hot encode them "
                    "(mixed targets must be probabilities)"
                )
            y = nn.functional.one_hot(y.long(), self.num_classes).to(x.dtype)
        if self.alpha == 0 or x.shape[0] < 2:
            return x, y
        lam = float(self._rng.beta(self.alpha, self.alpha))
        perm = torch.randperm(x.shape[0], generator=self._gen).to(x.device)
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]

    def __repr__(self):
        return f"Mixup(alpha={self.alpha:g})"


class Compose:
    """Apply batch transforms in order: ``Compose(GaussianNoise(0.1), Mixup(0.2))``."""

    def __init__(self, *transforms):
        for t in transforms:
            if not callable(t):
                raise TypeError(f"every transform must be callable, got {type(t).__name__}")
        self.transforms = tuple(transforms)

    def __call__(self, x, y=None):
        for t in self.transforms:
            x, y = t(x, y)
        return x, y

    def __repr__(self):
        return "Compose(" + ", ".join(map(repr, self.transforms)) + ")"
