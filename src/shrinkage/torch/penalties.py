r"""Weight penalties for PyTorch models, as loss terms or as steps after ``optimizer.step()``.

Every penalty acts on the parameters a *mask* selects (:func:`select_parameters`); the
default mask excludes biases and normalization-layer parameters. A penalty is added to
the **mean** loss over examples you train on::

    L1(lam)                  lam * sum |w|
    L2(lam)                  lam / 2 * sum w^2
    ElasticNet(lam, a)       lam * sum (a * |w| + (1 - a) / 2 * w^2)
    GroupLasso(lam)          lam * sum_g sqrt(|g|) * ||w_g||_2     (g = one output unit)
    MaxNorm(c)               constraint ||w_g||_2 <= c              (g = one output unit)

Units: ``lam`` is shrinkage's ``lam`` when the training loss is shrinkage's per-example
loss -- half the squared error for regression, the mean negative log-likelihood
(``CrossEntropyLoss``, ``BCEWithLogitsLoss``) for classification. ``torch.nn.MSELoss`` is
*twice* half the squared error, so with it use
``shrinkage.units.to_torch_weight_decay(lam, loss="mse")`` (``= 2 * lam``) as the strength
(the same factor applies to :class:`L1`).

Two ways to use each one
------------------------
*As a loss term* (``loss = data_loss + penalty(model)``): autograd adds the penalty's
gradient to the data gradient, and the optimizer sees the sum. This is *coupled*
regularization.

*As a step* (``optimizer.step(); penalty.step(model, lr)``): after the optimizer's step on
the data loss alone, apply the proximal map of ``lr * penalty``::

    prox_{t*lam*|.|}(w)          = sign(w) * max(|w| - t*lam, 0)      (exact zeros)
    prox_{t*lam/2*||.||^2}(w)    = w / (1 + t*lam)
    prox_{t*lam*||.||_2}(w_g)    = w_g * max(0, 1 - t*lam*c_g / ||w_g||) (whole units zeroed)
    projection for MaxNorm       : w_g * min(1, c / ||w_g||)

With plain full-batch gradient descent (``torch.optim.SGD`` without momentum) the step form
is the proximal gradient method (ISTA), which converges to the exact minimiser of
``data_loss + penalty`` -- for a one-layer linear network with squared error and
:class:`L1`, the lasso. L1 as a loss term never produces exact zeros (the subgradient of
``|w|`` at 0 is not a step that lands on 0); the step form does. After an adaptive
optimizer (Adam) the proximal step still yields exact zeros, but the fixed point is no
longer the exact lasso minimiser, because Adam rescales each coordinate's gradient step.

Coupled L2 versus decoupled weight decay
----------------------------------------
shrinkage's ``lam`` for a mean loss is the coefficient of ``0.5 * ||w||^2``, whose gradient
is ``lam * w``. Hence:

* **Coupled** (``L2(lam)`` as a loss term, or ``torch.optim.SGD/Adam(weight_decay=wd)``):
  the optimizer receives ``g + wd * w``. ``L2(lam)`` as a loss term is *identical* to the
  optimizer's ``weight_decay = lam`` (except that the mask spares biases and norm layers).
* **Decoupled** (:class:`DecoupledWeightDecay`, ``torch.optim.AdamW``): each step multiplies
  the weights by ``1 - lr * wd`` separately from the gradient step, so the per-step decay is
  ``lr * wd * w`` whatever the optimizer does with ``g``.

For SGD without momentum the two coincide exactly: ``w - lr*(g + wd*w) = w*(1 - lr*wd) -
lr*g``, so ``weight_decay = lam`` in both forms (the decay uses the weights the gradient was
taken at, i.e. it sits just before ``optimizer.step()``; just after it, the two differ by
``lr^2 * wd * g`` per step). Under Adam they differ at first order: in one step from
fresh moment estimates (bias-corrected first step, ``m_hat = g``, ``v_hat = g^2``)::

    coupled   (Adam, weight_decay=wd):  w - lr * (g + wd*w) / (|g + wd*w| + eps)
    decoupled (AdamW, weight_decay=wd): w * (1 - lr*wd) - lr * g / (|g| + eps)

Coupled decay is divided by Adam's running gradient scale, so weights with large gradients
are barely decayed; decoupled decay shrinks every weight by the same fraction ``lr * wd``.
``DecoupledWeightDecay(wd).step(model, lr)`` called before ``Adam.step()`` reproduces
``AdamW(weight_decay=wd)`` exactly; called after it, the two differ by
``O(lr^2 * wd * |update|)`` per step. ``shrinkage.units.decoupled_to_coupled_decay``
converts between the two for plain SGD steps, and ``shrinkage.units.adamw_implied_lam``
gives the per-coordinate ridge strength an AdamW fixed point actually minimises.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import nn

from .masks import MaskLike, select_parameters

__all__ = [
    "Penalty",
    "L1",
    "L2",
    "ElasticNet",
    "GroupLasso",
    "MaxNorm",
    "DecoupledWeightDecay",
]


def _check_nonneg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _learning_rates(params, lr) -> list[float]:
    """One learning rate per parameter: ``lr`` itself, or the rate of its optimizer group."""
    if isinstance(lr, torch.optim.Optimizer):
        by_id = {}
        for group in lr.param_groups:
            for p in group["params"]:
                by_id[id(p)] = float(group["lr"])
        out = []
        for name, p in params:
            if id(p) not in by_id:
                raise ValueError(
                    f"parameter {name!r} is penalized but not held by the optimizer passed "
                    "as lr; pass a float lr or use a mask that leaves it out"
                )
            out.append(_check_lr(by_id[id(p)]))
        return out
    lr = _check_lr(lr)
    return [lr] * len(params)


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, Real):
        raise TypeError(
            f"lr must be a number >= 0 or a torch.optim.Optimizer, got {type(lr).__name__}"
        )
    lr = float(lr)
    # 0 is a step of length zero (a scheduler's warm-up starts there): the identity
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr}")
    return lr


def _rows(w: torch.Tensor) -> torch.Tensor:
    """View of ``w`` with one row per output unit (first axis); a scalar is one group."""
    return w.reshape(1, -1) if w.dim() == 0 else w.reshape(w.shape[0], -1)


class Penalty:
    """Base class: a penalty on the parameters selected by ``mask``.

    Subclasses define :meth:`term` (the penalty of one tensor, strength included) and
    :meth:`prox` (its proximal map for step size ``t``).

    Parameters
    ----------
    lam : float
        Strength, ``>= 0``, in units of a mean loss.
    mask : None, str, sequence of str, or callable, default None
        Which parameters to penalize; see :func:`select_parameters`. ``None`` excludes
        biases, normalization-layer parameters and frozen parameters.
    """

    def __init__(self, lam: float, *, mask: MaskLike = None):
        self.lam = _check_nonneg("lam", lam)
        self.mask = mask

    def selected(self, model: nn.Module) -> list[str]:
        """Names of the parameters of ``model`` this penalty acts on."""
        return [name for name, _ in select_parameters(model, self.mask)]

    def __call__(self, model: nn.Module) -> torch.Tensor:
        """The penalty value as a differentiable scalar tensor (add it to the loss)."""
        params = select_parameters(model, self.mask)
        total = None
        for _, p in params:
            v = self.term(p)
            total = v if total is None else total + v.to(total.device)
        return total

    def step(self, model: nn.Module, lr) -> None:
        """Apply the proximal map of ``lr * penalty`` in place (call after ``optimizer.step()``).

        Parameters
        ----------
        model : torch.nn.Module
        lr : float or torch.optim.Optimizer
            Step size ``t``. With an optimizer, each parameter uses the ``lr`` of its
            parameter group (so learning-rate schedulers are followed).
        """
        params = select_parameters(model, self.mask)
        rates = _learning_rates(params, lr)
        with torch.no_grad():
            for (_, p), t in zip(params, rates):
                p.copy_(self.prox(p.detach(), t))

    def term(self, w: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The penalty of one parameter tensor ``w``, strength included (a scalar tensor).

        Calling the penalty on a model (``penalty(model)``) sums it over the selected
        parameters; the class docstring gives the formula.
        """
        raise NotImplementedError

    def prox(self, w: torch.Tensor, t: float) -> torch.Tensor:  # pragma: no cover - abstract
        """The proximal map of ``t`` times the penalty at ``w``, as a new tensor.

        With ``term`` the penalty of one parameter tensor::

            prox(w, t) = argmin_v ||v - w||^2 / 2 + t * term(v)

        :meth:`step` applies it in place to every selected parameter.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam:g})"


def _soft_threshold(w: torch.Tensor, thr: float) -> torch.Tensor:
    # sign(w) * max(|w| - thr, 0): exactly zero wherever |w| <= thr
    return torch.sign(w) * torch.clamp(w.abs() - thr, min=0.0)


class L1(Penalty):
    """Lasso penalty ``lam * sum |w|``; its step soft-thresholds to exact zeros.

    Proximal map: ``sign(w) * max(|w| - t*lam, 0)``.
    """

    def term(self, w):
        """``lam * sum |w|``."""
        return self.lam * w.abs().sum()

    def prox(self, w, t):
        """Soft-thresholding: ``sign(w) * max(|w| - t*lam, 0)``."""
        return _soft_threshold(w, t * self.lam)


class L2(Penalty):
    """Ridge penalty ``lam / 2 * sum w^2`` (gradient ``lam * w``: coupled weight decay ``lam``).

    Proximal map: ``w / (1 + t*lam)``. For the AdamW-style multiplicative decay
    ``w * (1 - t*wd)`` use :class:`DecoupledWeightDecay`.
    """

    def term(self, w):
        """``lam / 2 * sum w^2``."""
        return 0.5 * self.lam * (w * w).sum()

    def prox(self, w, t):
        """Shrinkage by a factor: ``w / (1 + t*lam)``."""
        return w / (1.0 + t * self.lam)


class ElasticNet(Penalty):
    """Elastic net ``lam * sum (l1_ratio*|w| + (1 - l1_ratio)/2 * w^2)``.

    Proximal map: ``sign(w) * max(|w| - t*lam*l1_ratio, 0) / (1 + t*lam*(1 - l1_ratio))``.

    Parameters
    ----------
    lam : float
    l1_ratio : float in [0, 1]
        1 is :class:`L1`, 0 is :class:`L2` (shrinkage's and scikit-learn's convention).
    mask : see :class:`Penalty`
    """

    def __init__(self, lam: float, l1_ratio: float = 0.5, *, mask: MaskLike = None):
        super().__init__(lam, mask=mask)
        a = _check_nonneg("l1_ratio", l1_ratio)
        if a > 1:
            raise ValueError(f"l1_ratio must lie in [0, 1], got {a}")
        self.l1_ratio = a

    def term(self, w):
        """``lam * sum (l1_ratio*|w| + (1 - l1_ratio)/2 * w^2)``."""
        a = self.l1_ratio
        return self.lam * (a * w.abs().sum() + 0.5 * (1.0 - a) * (w * w).sum())

    def prox(self, w, t):
        """``sign(w) * max(|w| - t*lam*l1_ratio, 0) / (1 + t*lam*(1 - l1_ratio))``."""
        a = self.l1_ratio
        return _soft_threshold(w, t * self.lam * a) / (1.0 + t * self.lam * (1.0 - a))

    def __repr__(self):
        return f"ElasticNet(lam={self.lam:g}, l1_ratio={self.l1_ratio:g})"


class GroupLasso(Penalty):
    """Group lasso over output units: ``lam * sum_g c_g * ||w_g||_2``.

    A group is one output unit: one row of a ``Linear`` weight ``(out, in)``, one output
    channel of a convolution weight ``(out, in, k...)``. ``c_g = sqrt(|g|)`` (the number of
    weights in the group; Yuan & Lin 2006) when ``scale_by_size`` else 1. The proximal
    map zeroes whole units::

        w_g * max(0, 1 - t*lam*c_g / ||w_g||_2)

    Biases are outside the default mask: a unit whose incoming weights are all zero still
    emits its (constant) bias, which the next layer can absorb.
    """

    def __init__(self, lam: float, *, scale_by_size: bool = True, mask: MaskLike = None):
        super().__init__(lam, mask=mask)
        self.scale_by_size = bool(scale_by_size)

    def _c(self, rows):
        return math.sqrt(rows.shape[1]) if self.scale_by_size else 1.0

    def term(self, w):
        """``lam * sum_g c_g * ||w_g||_2`` over the output units ``g`` of ``w``."""
        rows = _rows(w)
        return self.lam * self._c(rows) * torch.linalg.vector_norm(rows, dim=1).sum()

    def prox(self, w, t):
        """Block soft-thresholding: ``w_g * max(0, 1 - t*lam*c_g / ||w_g||_2)``."""
        rows = _rows(w)
        norms = torch.linalg.vector_norm(rows, dim=1, keepdim=True)
        thr = t * self.lam * self._c(rows)
        # max(0, 1 - thr/||w_g||); a zero row stays zero (avoid 0/0)
        scale = torch.clamp(1.0 - thr / torch.clamp(norms, min=torch.finfo(w.dtype).tiny), 0.0)
        return (rows * scale).reshape(w.shape)


class MaxNorm(Penalty):
    """Max-norm constraint on each output unit's incoming weights: ``||w_g||_2 <= max_norm``.

    Srivastava et al. (2014) pair it with dropout. :meth:`step` projects onto the
    constraint set, ``w_g * min(1, max_norm / ||w_g||)`` (``lr`` is ignored). Calling the
    object returns the total violation ``sum_g max(||w_g|| - max_norm, 0)``, zero when the
    constraint holds (an exact-penalty form, to be multiplied by a weight if used as a
    loss term).

    Parameters
    ----------
    max_norm : float > 0
    mask : see :class:`Penalty`
    """

    def __init__(self, max_norm: float, *, mask: MaskLike = None):
        c = _check_nonneg("max_norm", max_norm)
        if c == 0:
            raise ValueError("max_norm must be > 0 (0 would zero every selected weight)")
        super().__init__(c, mask=mask)
        self.max_norm = c

    def term(self, w):
        """The violation ``sum_g max(||w_g||_2 - max_norm, 0)`` (zero when feasible)."""
        norms = torch.linalg.vector_norm(_rows(w), dim=1)
        return torch.clamp(norms - self.max_norm, min=0.0).sum()

    def prox(self, w, t):
        """The projection ``w_g * min(1, max_norm / ||w_g||_2)`` (``t`` is ignored)."""
        rows = _rows(w)
        norms = torch.linalg.vector_norm(rows, dim=1, keepdim=True)
        scale = torch.clamp(self.max_norm / torch.clamp(norms, min=self.max_norm), max=1.0)
        return (rows * scale).reshape(w.shape)

    def step(self, model: nn.Module, lr=None) -> None:
        """Project every selected output unit onto ``||w_g|| <= max_norm`` (in place)."""
        with torch.no_grad():
            for _, p in select_parameters(model, self.mask):
                p.copy_(self.prox(p.detach(), 1.0))

    def __repr__(self):
        return f"MaxNorm(max_norm={self.max_norm:g})"


class DecoupledWeightDecay:
    """Decoupled weight decay for any optimizer: ``w <- w * (1 - lr * weight_decay)``.

    This is the decay of ``torch.optim.AdamW`` (Loshchilov & Hutter 2019), restricted to
    the masked parameters. Called just before ``optimizer.step()`` (after ``backward``) it
    reproduces AdamW exactly when the optimizer is Adam, and coupled ``L2(weight_decay)``
    exactly when it is SGD without momentum; called after the step, it differs from those by
    ``O(lr^2 * weight_decay)`` per step. It is a step, not a loss term: the loss-term twin
    is :class:`L2` (coupled).

    Parameters
    ----------
    weight_decay : float >= 0
    mask : see :func:`select_parameters`
    """

    def __init__(self, weight_decay: float, *, mask: MaskLike = None):
        self.weight_decay = _check_nonneg("weight_decay", weight_decay)
        self.mask = mask

    def selected(self, model: nn.Module) -> list[str]:
        """Names of the parameters of ``model`` that decay."""
        return [name for name, _ in select_parameters(model, self.mask)]

    def step(self, model: nn.Module, lr) -> None:
        """Multiply each selected parameter by ``1 - lr * weight_decay`` in place.

        Parameters
        ----------
        model : torch.nn.Module
        lr : float or torch.optim.Optimizer
            With an optimizer, each parameter uses the ``lr`` of its parameter group.

        Raises
        ------
        ValueError
            If ``lr * weight_decay > 1`` (the factor would flip signs).
        """
        params = select_parameters(model, self.mask)
        rates = _learning_rates(params, lr)
        with torch.no_grad():
            for (name, p), t in zip(params, rates):
                factor = 1.0 - t * self.weight_decay
                if factor < 0:
                    raise ValueError(
                        f"lr * weight_decay = {t * self.weight_decay:g} > 1 for {name!r}: "
                        "the decay factor 1 - lr*weight_decay would be negative"
                    )
                p.mul_(factor)

    def __call__(self, model):
        raise TypeError(
            "DecoupledWeightDecay is a step applied next to optimizer.step(), not a loss term; "
            "use L2(lam) for the coupled loss-term form"
        )

    def __repr__(self):
        return f"DecoupledWeightDecay(weight_decay={self.weight_decay:g})"
