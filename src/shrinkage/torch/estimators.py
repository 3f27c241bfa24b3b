"""scikit-learn estimators for a small MLP whose regularization knob is chosen by a sweep.

``fit`` standardizes the features (and, for regression, the target), holds out
``validation_fraction`` of the rows, runs :func:`shrinkage.torch.sweep` over the knob named
by ``tune`` with ``n_seeds`` seeds, keeps the value chosen by
:func:`shrinkage.selection.strongest_within` (the strongest value within ``k`` standard
errors of the best), and refits on all rows with that value. With ``tune=None`` it trains
once with the fixed ``dropout`` and ``weight_decay``. Networks run in float64 so that
predictions are reproducible to the last digits (scikit-learn's estimator checks compare
predictions on subsets of rows and after pickling).

Penalty strengths are in units of the mean loss on standardized data, as everywhere in
shrinkage; ``weight_decay`` is decoupled (AdamW-style, see
:mod:`shrinkage.torch.penalties`) and spares biases.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from torch import nn

from ..validation import CheckedScoreWeights, check_numeric_frame, store_params
from .sweep import sweep
from .training import KNOBS, RunConfig, resolve_device, train

__all__ = ["MLPRegressor", "MLPClassifier", "DEFAULT_GRIDS"]

#: default values swept for each knob when ``tune_values`` is None
DEFAULT_GRIDS = {
    "weight_decay": (0.0, 1e-3, 1e-2, 1e-1, 1.0),
    "l2": (0.0, 1e-4, 1e-3, 1e-2, 1e-1),
    "l1": (0.0, 1e-4, 1e-3, 1e-2),
    "dropout": (0.0, 0.1, 0.2, 0.3, 0.5),
    "noise": (0.0, 0.05, 0.1, 0.2, 0.5),
    "mixup": (0.0, 0.1, 0.2, 0.4),
}

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def _build_mlp(n_in, hidden, n_out, activation, dropout, with_dropout):
    layers, d = [], n_in
    for h in hidden:
        layers += [nn.Linear(d, h), _ACTIVATIONS[activation]()]
        if with_dropout:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers).to(torch.float64)


class _MLPFactory:
    """A picklable ``make_model`` (joblib workers receive it by value)."""

    def __init__(self, *args):
        self.args = args

    def __call__(self):
        return _build_mlp(*self.args)


class _BaseMLP(BaseEstimator):
    _loss = "mse"

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        activation="relu",
        dropout=0.0,
        weight_decay=0.0,
        tune="weight_decay",
        tune_values=None,
        k=1.0,
        n_seeds=1,
        validation_fraction=0.2,
        epochs=100,
        batch_size=64,
        lr=1e-3,
        device=None,
        random_state=None,
        verbose=False,
    ):
        store_params(self, locals())

    # -------------------------------------------------------------- validation
    def _check_params(self):
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, Integral):
            hidden = (hidden,)
        hidden = tuple(hidden)
        if any(isinstance(h, bool) or not isinstance(h, Integral) or h < 1 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}"
            )
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.tune is not None and self.tune not in KNOBS:
            raise ValueError(f"tune must be None or one of {sorted(KNOBS)}, got {self.tune!r}")
        for name in ("dropout", "weight_decay", "k", "lr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.lr == 0:
            raise ValueError("lr must be > 0")
        for name in ("epochs", "n_seeds"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Integral) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        bs = self.batch_size
        if bs is not None and (isinstance(bs, bool) or not isinstance(bs, Integral) or bs < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {bs!r}")
        vf = self.validation_fraction
        if isinstance(vf, bool) or not isinstance(vf, Real) or not 0 < vf < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {vf!r}")
        return hidden

    def _grid(self):
        if self.tune_values is not None:
            return np.asarray(self.tune_values, dtype=float)
        if self.tune == "epochs":
            e = self.epochs
            return np.unique(np.maximum(1, [e // 8, e // 4, e // 2, e])).astype(float)
        return np.asarray(DEFAULT_GRIDS[self.tune], dtype=float)

    # -------------------------------------------------------------- fitting
    def _fit(self, X, y_t, n_out):
        hidden = self._check_params()
        n = X.shape[0]
        self.x_mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.x_scale_ = np.where(scale > 0, scale, 1.0)
        Xs = torch.from_numpy((X - self.x_mean_) / self.x_scale_)
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1 - self.n_seeds))
        with_dropout = self.dropout > 0 or self.tune == "dropout"
        make_model = _MLPFactory(
            X.shape[1], hidden, n_out, self.activation, self.dropout, with_dropout
        )
        cfg = RunConfig(
            epochs=int(self.epochs),
            loss=self._loss,
            optimizer="adam",
            lr=float(self.lr),
            batch_size=self.batch_size,
            weight_decay=float(self.weight_decay),
        )
        self.sweep_ = None
        knob, value = None, 0.0
        if self.tune is not None:
            if n < 2:
                raise ValueError(
                    f"tuning {self.tune!r} needs a validation split: at least 2 samples, got "
                    f"n_samples = {n} (1 sample); set tune=None to train without tuning"
                )
            perm = rng.permutation(n)
            n_val = min(n - 1, max(1, int(round(self.validation_fraction * n))))
            va, tr = perm[:n_val], perm[n_val:]
            self.sweep_ = sweep(
                make_model,
                (Xs[tr], y_t[tr]),
                (Xs[va], y_t[va]),
                knob=self.tune,
                values=self._grid(),
                seeds=[seed + i for i in range(self.n_seeds)],
                epochs=int(self.epochs),
                device=device,
                loss=self._loss,
                lr=float(self.lr),
                batch_size=self.batch_size,
                k=float(self.k),
                weight_decay=0.0 if self.tune == "weight_decay" else float(self.weight_decay),
                progress=bool(self.verbose),
            )
            knob, value = self.tune, self.sweep_.value_chosen
        self.chosen_ = {} if knob is None else {knob: value}
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            model = make_model().to(device)
            out = train(
                model, (Xs.to(device), y_t.to(device)), None, cfg, knob=knob, value=value, seed=seed
            )
        self.model_ = model.eval()
        self.n_epochs_ = out["epochs_trained"]
        self.train_loss_curve_ = np.asarray(out["train"])
        return self

    def _forward(self, X):
        check_is_fitted(self, "model_")
        check_numeric_frame(X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Xs = torch.from_numpy((X - self.x_mean_) / self.x_scale_)
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            return self.model_(Xs.to(device)).cpu().numpy()


class MLPRegressor(CheckedScoreWeights, RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor with a regularization knob chosen by a sweep.

    Minimises half the mean squared error (shrinkage's gaussian loss, so strengths are in
    ``lam`` units) on standardized features and target, plus the knob's regularization,
    with Adam. The knob named by ``tune`` is swept over
    ``tune_values`` on a held-out split and chosen by the strongest-within-``k``-SE rule;
    the final network is refit on all rows.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (64,)
    activation : {"relu", "tanh", "gelu"}, default "relu"
    dropout : float in [0, 1), default 0
        Dropout rate after each hidden layer (when not tuned).
    weight_decay : float >= 0, default 0
        Decoupled weight decay on weights (not biases), when not tuned.
    tune : {"weight_decay", "l2", "l1", "dropout", "noise", "mixup", "epochs"} or None
        The knob chosen by the sweep (default ``"weight_decay"``).
    tune_values : sequence of float or None
        Values to sweep; None uses ``DEFAULT_GRIDS[tune]`` (for ``"epochs"``:
        ``epochs // 8, epochs // 4, epochs // 2, epochs``).
    k : float, default 1.0
        Standard errors of slack in the strongest-within rule (0 picks the best value).
    n_seeds : int, default 1
        Seeds per value; with 2 or more the standard error is across seeds, else across
        validation examples.
    validation_fraction : float in (0, 1), default 0.2
    epochs : int, default 100
    batch_size : int or None, default 64
    lr : float, default 1e-3
    device : str or None
        None picks CUDA when available.
    random_state : int, RandomState or None
    verbose : bool
        Show the sweep's progress bar.

    Attributes
    ----------
    model_ : torch.nn.Module
    sweep_ : shrinkage.results.SweepResult or None
    chosen_ : dict
        ``{knob: value}`` used in the final fit (empty when ``tune=None``).
    n_epochs_ : int
    n_features_in_ : int
    """

    _loss = "mse"

    def fit(self, X, y):
        """Sweep the knob, then fit on all rows. Returns self."""
        check_numeric_frame(X)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        y = column_or_1d(y, warn=True).astype(np.float64)
        self.y_mean_ = float(y.mean())
        sd = float(y.std())
        self.y_scale_ = sd if sd > 0 else 1.0
        y_t = torch.from_numpy((y - self.y_mean_) / self.y_scale_)
        return self._fit(X, y_t, 1)

    def predict(self, X):
        """Predicted targets, shape (n_samples,)."""
        return self._forward(X)[:, 0] * self.y_scale_ + self.y_mean_


class MLPClassifier(CheckedScoreWeights, ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier with a regularization knob chosen by a sweep.

    Minimises the mean cross-entropy (softmax over classes) on standardized features,
    trained with Adam; otherwise as :class:`MLPRegressor` (same parameters).

    Attributes
    ----------
    classes_ : ndarray
    model_, sweep_, chosen_, n_epochs_, n_features_in_ : as in :class:`MLPRegressor`
    """

    _loss = "cross_entropy"

    def fit(self, X, y):
        """Sweep the knob, then fit on all rows. Returns self."""
        check_numeric_frame(X)
        X, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        enc = LabelEncoder().fit(y)
        self.classes_ = enc.classes_
        if self.classes_.size < 2:
            raise ValueError(
                f"MLPClassifier needs at least 2 classes, got 1 class: {self.classes_[0]!r}"
            )
        y_t = torch.from_numpy(enc.transform(y).astype(np.int64))
        return self._fit(X, y_t, int(self.classes_.size))

    def predict_proba(self, X):
        """Class probabilities (softmax of the network output), shape (n_samples, n_classes)."""
        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class labels."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self._forward(X), axis=1)]
