"""Regularization for PyTorch networks (optional extra: ``pip install "shrinkage[torch]"``).

* Penalties on masked parameters -- :class:`L1`, :class:`L2`, :class:`ElasticNet`,
  :class:`GroupLasso`, :class:`MaxNorm` -- as loss terms (``penalty(model)``) or as
  proximal steps after ``optimizer.step()`` (``penalty.step(model, lr)``; L1 gives exact
  zeros), and :class:`DecoupledWeightDecay` for any optimizer. The default mask spares
  biases and normalization layers. See :mod:`shrinkage.torch.penalties` for coupled L2
  versus decoupled decay and the conversion between them.
* Structural regularizers: :func:`set_dropout`, :func:`mc_dropout_predict`,
  :class:`GaussianNoise`, :class:`Mixup`, :class:`Compose`.
* :class:`EarlyStopping` for hand-written loops (restore the best epoch or the earliest
  one within k standard errors of it).
* :func:`sweep` over one knob, chosen by :func:`shrinkage.selection.strongest_within`.
* :class:`MLPRegressor` and :class:`MLPClassifier`: scikit-learn estimators whose knob is
  chosen by the sweep.

``import shrinkage`` never imports torch; importing this subpackage does.
"""

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "shrinkage.torch needs PyTorch, which is an optional extra: "
        'pip install "shrinkage[torch]"'
    ) from err

from .early_stopping import EarlyStopping
from .estimators import MLPClassifier, MLPRegressor
from .masks import NORM_LAYERS, default_mask, select_parameters
from .penalties import L1, L2, DecoupledWeightDecay, ElasticNet, GroupLasso, MaxNorm, Penalty
from .structural import (
    DROPOUT_LAYERS,
    Compose,
    GaussianNoise,
    Mixup,
    mc_dropout_predict,
    set_dropout,
)
from .sweep import KNOBS, sweep

__all__ = [
    "NORM_LAYERS",
    "DROPOUT_LAYERS",
    "KNOBS",
    "default_mask",
    "select_parameters",
    "Penalty",
    "L1",
    "L2",
    "ElasticNet",
    "GroupLasso",
    "MaxNorm",
    "DecoupledWeightDecay",
    "set_dropout",
    "mc_dropout_predict",
    "GaussianNoise",
    "Mixup",
    "Compose",
    "EarlyStopping",
    "sweep",
    "MLPRegressor",
    "MLPClassifier",
]
