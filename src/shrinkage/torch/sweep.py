"""Sweep one regularization knob of a network and choose it by the strongest-within rule.

For each knob value and seed, :func:`sweep` builds a fresh model, trains it, and scores it
on validation data. The setting kept is the *strongest* one whose mean validation score is
within ``k`` standard errors of the best (:func:`shrinkage.selection.strongest_within`),
the same rule that chooses ``lam`` for the linear models; the best setting is reported too.

Knobs and their strong direction:

=================  ===========================================================  ========
knob               what it does                                                 stronger
=================  ===========================================================  ========
``weight_decay``   :class:`DecoupledWeightDecay` after each optimizer step      larger
``l2``             coupled :class:`L2` loss term ``lam/2 ||w||^2``              larger
``l1``             proximal :class:`L1` step after each optimizer step          larger
``dropout``        :func:`set_dropout` on every dropout module                  larger
``noise``          :class:`GaussianNoise` on training inputs (sigma)            larger
``mixup``          :class:`Mixup` of training batches (alpha)                   larger
``epochs``         number of training epochs                                    smaller
=================  ===========================================================  ========

Strengths are in shrinkage's ``lam`` units: with ``loss="mse"`` the network is trained on
half the squared error (shrinkage's gaussian loss; scores and curves report the plain mean
squared error), with ``loss="cross_entropy"`` on the mean cross-entropy.

Standard errors: across seeds (``std(ddof=1) / sqrt(n_seeds)``) when there are two or more
seeds; with a single seed, the standard error of the mean validation loss over validation
examples. ``SweepResult.extra["se_source"]`` says which.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from ..results import SweepResult
from ..tuning import selection
from .early_stopping import EarlyStopping
from .training import (
    KNOBS,
    LOSSES,
    METRICS,
    RunConfig,
    as_tensors,
    evaluate,
    mean_se,
    resolve_device,
    train,
)

__all__ = ["sweep", "KNOBS"]


class _Progress:
    """tqdm when it is installed, else a one-line bar on stderr."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.n, self.desc, self.enabled = total, 0, desc, enabled
        self._bar = None
        self._t0 = time.perf_counter()
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._draw()
            else:
                self._bar = tqdm(total=total, desc=desc)

    def _draw(self):
        width = 30
        filled = int(width * self.n / max(self.total, 1))
        elapsed = time.perf_counter() - self._t0
        sys.stderr.write(
            f"\r{self.desc} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.n}/{self.total} {elapsed:.1f}s"
        )
        sys.stderr.flush()

    def update(self):
        self.n += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
        else:
            self._draw()

    def close(self):
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _check_values(knob, values) -> np.ndarray:
    try:
        vals = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"values must be a 1-D sequence of numbers, got {values!r}") from None
    if vals.ndim != 1 or vals.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {vals.shape}")
    if not np.all(np.isfinite(vals)):
        raise ValueError("values contains NaN or inf")
    if np.unique(vals).size != vals.size:
        raise ValueError("values must be distinct")
    if knob == "epochs":
        if np.any(vals < 1) or np.any(vals != np.round(vals)):
            raise ValueError("values for knob='epochs' must be positive integers")
    elif knob == "dropout":
        if np.any(vals < 0) or np.any(vals >= 1):
            raise ValueError("values for knob='dropout' must lie in [0, 1)")
    elif np.any(vals < 0):
        raise ValueError(f"values for knob={knob!r} must be >= 0")
    return vals


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if not out or any(not isinstance(s, Integral) or isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    if any(s < 0 for s in out):
        raise ValueError(f"seeds must be integers >= 0 (they also seed numpy generators), "
                         f"got {min(out)}")
    if len(set(out)) != len(out):
        raise ValueError("seeds must be distinct")
    return out


def _check_early_stopping(early_stopping):
    if early_stopping is None or isinstance(early_stopping, EarlyStopping):
        return early_stopping
    if isinstance(early_stopping, dict):
        return EarlyStopping(**early_stopping)
    raise TypeError(
        "early_stopping must be None, an EarlyStopping (used as a template) or a dict of its "
        f"settings, got {type(early_stopping).__name__}"
    )


# torch's default generator is process-wide: under a threading backend, seeding and
# building a model must not interleave with another thread's, or initialisations would
# depend on scheduling. The caller's generator state is saved and restored once around all
# runs (_run_all), not per run: a per-run restore by a thread that finished could land
# between another's seeding and its model's construction, and which thread restored last
# would decide the state the caller got back. (Dropout and input noise still draw from the
# generator during training, so only process-based backends reproduce those runs bit for
# bit.)
_INIT_LOCK = threading.Lock()


def _one_run(make_model, train_xy, val_xy, cfg, knob, value, seed, device, es_template, tag):
    """Train one model (one seed, one knob value); return its scores and curves."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        model = make_model()
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"make_model() must return a torch.nn.Module, got {type(model).__name__}"
        )
    model = model.to(device)
    dtype = next(model.parameters()).dtype
    Xtr, ytr = (t.to(device) for t in train_xy)
    Xva, yva = (t.to(device) for t in val_xy)
    Xtr, Xva = Xtr.to(dtype), Xva.to(dtype)
    if cfg.loss == "mse":
        ytr, yva = ytr.to(dtype), yva.to(dtype)
    else:
        ytr, yva = ytr.long(), yva.long()
    es = None
    if es_template is not None:
        es = es_template.clone(
            directory=None
            if es_template.directory is None
            else f"{es_template.directory}/run_{tag}"
        )
    out = train(
        model, (Xtr, ytr), (Xva, yva), cfg, knob=knob, value=value, seed=seed, early_stopping=es
    )
    bs = cfg.batch_size
    vals = evaluate(model, Xva, yva, loss=cfg.loss, metric=cfg.metric, batch_size=bs)
    out["score"], out["se"] = mean_se(vals)
    return out


def _check_weight_decay(value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_sweep(make_model, train_data, val_data, knob, values, seeds, loss, metric,
                 optimizer, lr, epochs, batch_size, k, early_stopping, device,
                 weight_decay=0.0):
    """Validate every argument of :func:`sweep`; returns what the runs need."""
    if knob not in KNOBS:
        raise ValueError(f"knob must be one of {sorted(KNOBS)}, got {knob!r}")
    if not callable(make_model):
        raise TypeError("make_model must be a callable returning a torch.nn.Module")
    vals = _check_values(knob, values)
    seed_list = _check_seeds(seeds)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if metric == "accuracy" and loss != "cross_entropy":
        raise ValueError("metric='accuracy' needs loss='cross_entropy'")
    if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if isinstance(k, bool) or not isinstance(k, Real) or not math.isfinite(k) or k < 0:
        raise ValueError(f"k must be a finite number >= 0, got {k!r}")
    es_template = _check_early_stopping(early_stopping)
    if es_template is not None and es_template.mode != ("max" if metric == "accuracy" else "min"):
        raise ValueError(
            f"early_stopping has mode={es_template.mode!r} but metric={metric!r} is "
            + ("maximised: use mode='max'" if metric == "accuracy" else "minimised: use mode='min'")
        )
    if knob == "epochs":
        if es_template is not None:
            raise ValueError("knob='epochs' sweeps the epoch count itself; drop early_stopping")
        max_epochs = int(vals.max())
    else:
        if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        max_epochs = int(epochs)
    dev = resolve_device(device)
    train_xy = as_tensors(train_data, "train_data")
    val_xy = as_tensors(val_data, "val_data")
    if train_xy[0].shape[1:] != val_xy[0].shape[1:]:
        raise ValueError(
            f"train_data X has feature shape {tuple(train_xy[0].shape[1:])} but val_data X has "
            f"{tuple(val_xy[0].shape[1:])}"
        )
    if loss == "cross_entropy":
        for name, (_, y) in (("train_data", train_xy), ("val_data", val_xy)):
            if torch.is_floating_point(y) and not torch.equal(y, y.round()):
                raise ValueError(f"{name}: loss='cross_entropy' needs integer class labels")
            if y.dim() != 1 or (y < 0).any():
                raise ValueError(f"{name}: class labels must be a 1-D array of ints >= 0")
    if knob == "weight_decay" and weight_decay:
        raise ValueError("weight_decay is the swept knob: leave the fixed weight_decay at 0")
    cfg = RunConfig(
        epochs=max_epochs,
        loss=loss,
        metric=metric,
        optimizer=optimizer,
        lr=float(lr),
        batch_size=None if batch_size is None else int(batch_size),
        weight_decay=_check_weight_decay(weight_decay),
    )

    return vals, seed_list, es_template, dev, train_xy, val_xy, cfg


def _collect(knob, vals, n_s, max_epochs, tasks, results):
    """Scores and learning curves per (seed, value) from the runs' outputs."""
    n_v = vals.size
    seed_scores = np.full((n_s, n_v), np.nan)
    example_se = np.full((n_s, n_v), np.nan)
    train_c = np.full((n_s, n_v, max_epochs), np.nan)
    val_c = np.full((n_s, n_v, max_epochs), np.nan)
    trained = np.zeros((n_s, n_v), dtype=int)
    chosen_ep = np.zeros((n_s, n_v), dtype=int)
    for (s, j, _), out in zip(tasks, results):
        if knob == "epochs":
            for jj, v in enumerate(vals):
                e = int(v)
                seed_scores[s, jj] = out["val"][e - 1]
                example_se[s, jj] = out["val_se"][e - 1]
                train_c[s, jj, :e] = out["train"][:e]
                val_c[s, jj, :e] = out["val"][:e]
                trained[s, jj] = chosen_ep[s, jj] = e
        else:
            e = out["epochs_trained"]
            seed_scores[s, j] = out["score"]
            example_se[s, j] = out["se"]
            train_c[s, j, :e] = out["train"]
            val_c[s, j, :e] = out["val"]
            trained[s, j], chosen_ep[s, j] = e, out["chosen_epoch"]

    return seed_scores, example_se, train_c, val_c, trained, chosen_ep


def _run_all(make_model, train_xy, val_xy, cfg, knob, vals, seed_list, dev, es_template,
             n_jobs, progress):
    """Every (seed, value) training run, in parallel, with a progress bar."""
    max_epochs = cfg.epochs
    # Tasks: (seed index, value index or None for the single epochs run, knob value)
    if knob == "epochs":
        tasks = [(s, None, float(max_epochs)) for s in range(len(seed_list))]
    else:
        tasks = [(s, j, float(v)) for s in range(len(seed_list)) for j, v in enumerate(vals)]

    from joblib import Parallel, delayed

    bar = _Progress(len(tasks), f"sweep {knob}", progress)
    devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        runs = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_one_run)(
                make_model, train_xy, val_xy, cfg, knob, v, seed_list[s], dev, es_template,
                f"s{seed_list[s]}_v{j}",
            )
            for s, j, v in tasks
        )  # fmt: skip
        results = []
        try:
            for out in runs:
                results.append(out)
                bar.update()
        finally:
            bar.close()
    return tasks, results


def sweep(
    make_model,
    train_data,
    val_data,
    *,
    knob: str,
    values,
    seeds=(0,),
    epochs: int | None = 20,
    early_stopping=None,
    device=None,
    n_jobs: int | None = None,
    loss: str = "mse",
    metric: str = "loss",
    optimizer="adam",
    lr: float = 1e-3,
    batch_size: int | None = 64,
    k: float = 1.0,
    progress: bool = True,
    weight_decay: float = 0.0,
) -> SweepResult:
    """Train one network per (seed, knob value); choose the strongest value within k SE.

    Parameters
    ----------
    make_model : callable () -> torch.nn.Module
        Builds a fresh model; called with torch's generator seeded by the run's seed (so the
        initialisation is reproducible). For ``knob="dropout"`` it must contain dropout
        modules.
    train_data, val_data : (X, y)
        Arrays or tensors. ``y`` is float for ``loss="mse"`` and integer class labels for
        ``loss="cross_entropy"``. X is cast to the model's parameter dtype.
    knob : {"weight_decay", "l2", "l1", "dropout", "noise", "mixup", "epochs"}
    values : sequence of float
        Distinct knob values (any order).
    seeds : int or sequence of int, default (0,)
    epochs : int, default 20
        Training epochs per run (the maximum, with early stopping). Ignored for
        ``knob="epochs"``, where each value is an epoch count; one run per seed is trained
        for ``max(values)`` epochs and scored after each count in ``values``.
    early_stopping : EarlyStopping, dict or None
        A template (cloned for every run) or its settings. The validation data both stops
        the run and scores it. Not allowed with ``knob="epochs"``.
    device : str, torch.device or None
        ``None`` picks ``"cuda"`` when available, else ``"cpu"``.
    n_jobs : int or None
        Runs in parallel through joblib; ``None`` follows the active joblib configuration
        (sequential by default; inside ``joblib.parallel_config(backend="dask")`` the runs
        go to the Dask cluster). Process-based backends (loky, Dask workers) reproduce
        every run exactly; with threads, model initialisation is still reproducible but
        dropout and input noise draw from torch's shared global generator.
    loss : {"mse", "cross_entropy"}
    metric : {"loss", "accuracy"}
        Validation score; ``"accuracy"`` (greater is better) needs ``loss="cross_entropy"``.
    optimizer : {"adam", "sgd"} or callable params -> torch.optim.Optimizer
    lr : float
        Learning rate for the named optimizers (and the step size of L1 / decay steps is
        read from the optimizer's parameter groups).
    batch_size : int or None
        Mini-batch size; ``None`` for full-batch training.
    k : float >= 0, default 1.0
        Standard errors of slack for the strongest-within rule.
    progress : bool, default True
        Show a progress bar (tqdm if installed, else stderr).
    weight_decay : float >= 0, default 0
        A fixed decoupled weight decay (:class:`DecoupledWeightDecay`) applied in every
        run next to the swept knob (not with ``knob="weight_decay"``), so that the value
        is chosen for the model that will be trained.

    Returns
    -------
    shrinkage.results.SweepResult
        ``seed_scores`` of shape (n_seeds, n_values), ``mean``, ``se``, ``index_min``
        (:func:`shrinkage.selection.best`) and ``index_chosen``
        (:func:`shrinkage.selection.strongest_within`, never weaker than ``index_min``);
        ``curves["train"]`` / ``curves["val"]`` of shape (n_seeds, n_values, max_epochs),
        NaN after a run stopped.
    """
    vals, seed_list, es_template, dev, train_xy, val_xy, cfg = _check_sweep(
        make_model, train_data, val_data, knob, values, seeds, loss, metric, optimizer, lr,
        epochs, batch_size, k, early_stopping, device, weight_decay,
    )
    stronger = KNOBS[knob]
    tasks, results = _run_all(make_model, train_xy, val_xy, cfg, knob, vals, seed_list, dev,
                              es_template, n_jobs, progress)
    seed_scores, example_se, train_c, val_c, trained, chosen_ep = _collect(
        knob, vals, len(seed_list), cfg.epochs, tasks, results)
    n_s = len(seed_list)
    mean = seed_scores.mean(axis=0)
    if n_s >= 2:
        se = seed_scores.std(axis=0, ddof=1) / math.sqrt(n_s)
        se_source = "seeds"
    else:
        se = example_se[0]
        se_source = "validation examples"
    gib = metric == "accuracy"
    i_min = selection.best(vals, mean, stronger=stronger, greater_is_better=gib)
    rule = selection.Rule("se", float(k)).text
    i_chosen = selection.apply_rule(rule, vals, mean, se, stronger=stronger,
                                    greater_is_better=gib)
    return SweepResult(
        knob=knob, values=vals, stronger=stronger, seed_scores=seed_scores, mean=mean, se=se,
        metric=loss if metric == "loss" else metric, greater_is_better=gib,
        index_min=int(i_min), index_chosen=int(i_chosen), rule=rule,
        seeds=np.asarray(seed_list, dtype=int), curves={"train": train_c, "val": val_c},
        extra={
            "k": float(k),
            "se_source": se_source,
            "epochs_trained": trained,
            "chosen_epoch": chosen_ep,
            "device": str(dev),
            "optimizer": optimizer if isinstance(optimizer, str) else "custom",
            "lr": float(lr),
            "batch_size": batch_size,
            "weight_decay": cfg.weight_decay,
        },
    )
