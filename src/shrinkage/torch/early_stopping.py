"""Early stopping as an object for any hand-written training loop.

Training for fewer epochs is a form of capacity control: for a linear model trained by
gradient descent from zero, ``t`` steps of size ``lr`` act like ridge with
``lam ~ 1 / (lr * t)``. So the number of epochs is a strength axis on which *fewer is
stronger*, and :func:`shrinkage.selection.strongest_within` applies to it as to any other::

    es = EarlyStopping(patience=5, restore="strongest_within", k=1.0)
    for epoch in range(max_epochs):
        train_one_epoch(model)
        batch_losses = [loss_fn(model(xb), yb).item() for xb, yb in val_loader]
        if es.step(batch_losses, model):
            break
    es.restore(model)   # the EARLIEST epoch whose mean val loss is within k*SE of the best

Epochs are counted from 1: epoch ``e`` is the state after ``e`` calls of :meth:`step`.

Saved states are ``state_dict()`` copies, kept in memory (on the CPU) or written with
``torch.save`` to a directory and read back with ``torch.load(..., weights_only=True)``:
only tensors and plain containers, never arbitrary pickled objects.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from ..tuning import selection

__all__ = ["EarlyStopping"]

_RESTORE = ("best", "strongest_within", None)


def _as_scores(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1:
        raise ValueError(
            f"value must be a number or a 1-D sequence of per-batch losses, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError("value is an empty sequence of per-batch losses")
    return arr


def _copy_state(model: nn.Module) -> dict:
    return {
        k: (v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor) else v)
        for k, v in model.state_dict().items()
    }


class EarlyStopping:
    """Stop training when the validation score stops improving; restore a chosen state.

    Parameters
    ----------
    mode : {"min", "max"}, default "min"
        ``"min"`` for losses, ``"max"`` for scores such as accuracy.
    patience : int >= 1, default 10
        Stop after this many consecutive epochs without improvement.
    min_delta : float >= 0, default 0
        An epoch improves when its score beats the best so far by more than ``delta``:
        ``delta = min_delta`` (``min_delta_mode="abs"``) or ``min_delta * |best|``
        (``"rel"``). An improvement resets the patience counter and becomes the best epoch.
    min_delta_mode : {"abs", "rel"}, default "abs"
    restore : {"best", "strongest_within", None}, default "best"
        Which state :meth:`restore` loads: the best epoch, or the earliest epoch (the
        strongest, since fewer epochs regularize more) whose mean is within ``k`` standard
        errors of the best epoch's, by :func:`shrinkage.selection.strongest_within` over
        epochs ``1..best_epoch``. It is never later than the best epoch. The standard
        error of an epoch is ``std(batch_losses, ddof=1) / sqrt(n_batches)`` from the
        per-batch (or per-example) validation losses passed to :meth:`step`. ``None``
        stores no state.
    k : float >= 0, default 1.0
        Multiplier of the standard error for ``restore="strongest_within"``.
    directory : str or os.PathLike or None, default None
        Where saved states live: ``None`` keeps them in memory (CPU copies); a directory
        (created if needed) stores one ``epoch_XXXXXX.pt`` file per kept state, for models
        too large to keep several copies in memory. ``"strongest_within"`` keeps every
        epoch's state, ``"best"`` only the current best.

    Attributes
    ----------
    scores, ses : list of float
        Mean validation score and its standard error per epoch (NaN when unknown).
    best_epoch : int or None
    best_score : float
    stopped : bool
        True once ``patience`` epochs passed without improvement.
    """

    def __init__(
        self,
        mode: str = "min",
        patience: int = 10,
        min_delta: float = 0.0,
        min_delta_mode: str = "abs",
        restore: str | None = "best",
        k: float = 1.0,
        directory: str | os.PathLike | None = None,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, Integral) or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, Real):
            raise TypeError(f"min_delta must be a real number, got {type(min_delta).__name__}")
        if not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta}")
        if min_delta_mode not in ("abs", "rel"):
            raise ValueError(f"min_delta_mode must be 'abs' or 'rel', got {min_delta_mode!r}")
        if restore not in _RESTORE:
            raise ValueError(
                f"restore must be 'best', 'strongest_within' or None, got {restore!r}"
            )
        if isinstance(k, bool) or not isinstance(k, Real) or not math.isfinite(k) or k < 0:
            raise ValueError(f"k must be a finite number >= 0, got {k!r}")
        self.mode = mode
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.min_delta_mode = min_delta_mode
        self.restore_mode = restore
        self.k = float(k)
        self.directory = None if directory is None else os.fspath(directory)
        if self.directory is not None:
            os.makedirs(self.directory, exist_ok=True)
        self._reset()

    def _reset(self):
        self.scores: list[float] = []
        self.ses: list[float] = []
        self.best_epoch: int | None = None
        self.best_score = math.nan
        self.wait = 0
        self.stopped = False
        self.stop_epoch: int | None = None
        self._states: dict[int, dict] = {}  # epoch -> state_dict (memory mode)
        self._on_disk: set[int] = set()  # epochs with a file (disk mode)

    # ------------------------------------------------------------------ configuration
    def config(self) -> dict:
        """The constructor arguments, for :meth:`clone` and for saving."""
        return {
            "mode": self.mode,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "min_delta_mode": self.min_delta_mode,
            "restore": self.restore_mode,
            "k": self.k,
            "directory": self.directory,
        }

    def clone(self, **overrides) -> EarlyStopping:
        """A fresh object with the same settings (and no history), overriding any of them."""
        cfg = self.config()
        unknown = set(overrides) - set(cfg)
        if unknown:
            raise TypeError(f"unknown EarlyStopping settings: {sorted(unknown)}")
        cfg.update(overrides)
        return EarlyStopping(**cfg)

    # ------------------------------------------------------------------ main loop
    @property
    def epoch(self) -> int:
        """Number of epochs recorded so far."""
        return len(self.scores)

    def _improves(self, score: float) -> bool:
        if math.isnan(score):
            return False
        if self.best_epoch is None:
            return True
        best = self.best_score
        delta = self.min_delta if self.min_delta_mode == "abs" else self.min_delta * abs(best)
        return score < best - delta if self.mode == "min" else score > best + delta

    def step(self, value, model: nn.Module | None = None, *, se: float | None = None) -> bool:
        """Record one epoch's validation result; return True when training should stop.

        Parameters
        ----------
        value : float, 0-d tensor, or 1-D sequence / tensor
            The epoch's validation score, or the per-batch (or per-example) validation
            losses, whose mean is the score and whose standard error of the mean is the SE.
            A NaN or infinite score (a diverged epoch) is recorded as NaN: it never
            improves, counts toward ``patience`` and is never restored.
        model : torch.nn.Module, optional
            The model whose state may be saved (required unless ``restore=None``).
        se : float, optional
            Standard error of a scalar ``value`` (instead of per-batch losses).

        Returns
        -------
        bool
            ``self.stopped``.
        """
        arr = _as_scores(value)
        if arr.ndim == 1:
            if se is not None:
                raise ValueError("pass either per-batch losses or se, not both")
            score = float(np.mean(arr))
            m = arr.size
            se_val = (float(np.std(arr, ddof=1) / math.sqrt(m))
                      if m >= 2 and math.isfinite(score) else math.nan)
        else:
            score = float(arr)
            se_val = math.nan if se is None else float(se)
            if not math.isnan(se_val) and (not math.isfinite(se_val) or se_val < 0):
                raise ValueError(f"se must be a finite number >= 0, got {se}")
        if not math.isfinite(score):  # a diverged epoch (an overflowed loss): a failed one
            score, se_val = math.nan, math.nan
        if self.restore_mode == "strongest_within" and math.isnan(se_val) and not math.isnan(
            score
        ):
            raise ValueError(
                "restore='strongest_within' needs a standard error per epoch: pass at least "
                "two per-batch validation losses, or se="
            )
        if self.restore_mode is not None and not isinstance(model, nn.Module):
            raise TypeError(
                f"step needs the model (a torch.nn.Module) to save its state when "
                f"restore={self.restore_mode!r}; got {type(model).__name__}"
            )
        self.scores.append(score)
        self.ses.append(se_val)
        epoch = len(self.scores)
        if self._improves(score):
            previous = self.best_epoch
            self.best_epoch, self.best_score, self.wait = epoch, score, 0
            if self.restore_mode == "best":
                self._save(epoch, model)
                if previous is not None:
                    self._drop(previous)
        else:
            self.wait += 1
        if self.restore_mode == "strongest_within":
            self._save(epoch, model)
        if not self.stopped and self.wait >= self.patience:
            self.stopped, self.stop_epoch = True, epoch
        return self.stopped

    @property
    def chosen_epoch(self) -> int | None:
        """The epoch :meth:`restore` loads (None before any finite score)."""
        if self.best_epoch is None:
            return None
        if self.restore_mode != "strongest_within":
            return self.best_epoch
        b = self.best_epoch
        idx = selection.strongest_within(
            np.arange(1, b + 1),
            np.asarray(self.scores[:b]),
            np.asarray(self.ses[:b]),
            k=self.k,
            stronger="smaller",
            greater_is_better=self.mode == "max",
        )
        return int(idx) + 1

    def restore(self, model: nn.Module) -> int:
        """Load the chosen epoch's state into ``model``; return that epoch (1-based)."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if self.restore_mode is None:
            raise RuntimeError("restore=None: no state was saved")
        epoch = self.chosen_epoch
        if epoch is None:
            raise RuntimeError("no epoch with a finite validation score was recorded")
        model.load_state_dict(self._load(epoch))
        return epoch

    @property
    def history(self) -> dict:
        """``{"epoch", "score", "se"}`` as NumPy arrays."""
        return {
            "epoch": np.arange(1, len(self.scores) + 1),
            "score": np.asarray(self.scores, dtype=float),
            "se": np.asarray(self.ses, dtype=float),
        }

    # ------------------------------------------------------------------ storage
    def _path(self, epoch: int) -> str:
        return os.path.join(self.directory, f"epoch_{epoch:06d}.pt")

    def _save(self, epoch: int, model: nn.Module):
        state = _copy_state(model)
        if self.directory is None:
            self._states[epoch] = state
        else:
            torch.save(state, self._path(epoch))
            self._on_disk.add(epoch)

    def _drop(self, epoch: int):
        if self.directory is None:
            self._states.pop(epoch, None)
        elif epoch in self._on_disk:
            self._on_disk.discard(epoch)
            try:
                os.remove(self._path(epoch))
            except FileNotFoundError:
                pass

    def _load(self, epoch: int) -> dict:
        if self.directory is None:
            if epoch not in self._states:
                raise RuntimeError(f"the state of epoch {epoch} was not kept")
            return self._states[epoch]
        if epoch not in self._on_disk or not os.path.exists(self._path(epoch)):
            raise RuntimeError(f"the state file of epoch {epoch} is missing: {self._path(epoch)}")
        return torch.load(self._path(epoch), map_location="cpu", weights_only=True)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict:
        """Everything needed to resume, as plain containers and tensors.

        Safe to store with ``torch.save`` next to the model and optimizer state and to read
        back with ``torch.load(..., weights_only=True)``. In memory mode the kept model
        states are included; in disk mode only the list of epochs with a file.
        """
        return {
            "config": self.config(),
            "scores": list(self.scores),
            "ses": list(self.ses),
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "wait": self.wait,
            "stopped": self.stopped,
            "stop_epoch": self.stop_epoch,
            "states": dict(self._states),
            "on_disk": sorted(self._on_disk),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict` (settings included; history replaced)."""
        if not isinstance(state, dict) or "config" not in state:
            raise TypeError("state must be a dict produced by EarlyStopping.state_dict()")
        fresh = EarlyStopping(**state["config"])
        self.__dict__.update(fresh.__dict__)
        self.scores = [float(s) for s in state["scores"]]
        self.ses = [float(s) for s in state["ses"]]
        if len(self.scores) != len(self.ses):
            raise ValueError("state has different numbers of scores and standard errors")
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
        self.best_score = float(state["best_score"])
        self.wait = int(state["wait"])
        self.stopped = bool(state["stopped"])
        self.stop_epoch = None if state["stop_epoch"] is None else int(state["stop_epoch"])
        self._states = {int(e): s for e, s in state["states"].items()}
        self._on_disk = {int(e) for e in state["on_disk"]}
        missing = [e for e in self._on_disk if not os.path.exists(self._path(e))]
        if missing:
            raise ValueError(f"state files for epochs {missing} are missing in {self.directory}")

    def __repr__(self):
        return (
            f"EarlyStopping(mode={self.mode!r}, patience={self.patience}, "
            f"restore={self.restore_mode!r}, epoch={self.epoch}, best_epoch={self.best_epoch})"
        )
