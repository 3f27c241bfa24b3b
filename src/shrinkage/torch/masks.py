"""Which parameters of a network a regularizer touches.

A *mask* selects named parameters. The default leaves out what weight penalties should not
shrink: biases (they only shift an activation, shrinking them toward zero has no
capacity-control meaning) and the affine parameters of normalization layers (their scale is
undone by the next layer, so decaying them only fights the normalization). Frozen
parameters (``requires_grad=False``) are left out too, so a penalty step never moves a
parameter the optimizer does not train.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable

import torch
from torch import nn

__all__ = ["NORM_LAYERS", "default_mask", "select_parameters"]


def _norm_layer_types() -> tuple[type, ...]:
    names = (
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm",
        "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
        "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
        "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
        "LayerNorm", "GroupNorm", "LocalResponseNorm", "RMSNorm",
    )  # fmt: skip
    return tuple(getattr(nn, n) for n in names if hasattr(nn, n))


#: Module types whose parameters the default mask excludes.
NORM_LAYERS: tuple[type, ...] = _norm_layer_types()


def default_mask(name: str, param: torch.Tensor, module: nn.Module) -> bool:
    """The default selection: trainable weights that are neither biases nor norm parameters.

    Parameters
    ----------
    name : str
        Full parameter name as in ``model.named_parameters()`` (e.g. ``"0.weight"``).
    param : torch.Tensor
        The parameter.
    module : torch.nn.Module
        The module that owns the parameter directly.

    Returns
    -------
    bool
        True when the parameter is penalized.
    """
    leaf = name.rsplit(".", 1)[-1]
    if not param.requires_grad:
        return False
    if leaf == "bias" or leaf.endswith("_bias") or leaf.startswith("bias_"):
        return False
    return not isinstance(module, NORM_LAYERS)


MaskLike = None | str | Iterable[str] | Callable[[str, torch.Tensor, nn.Module], bool]


def _as_predicate(mask: MaskLike) -> Callable[[str, torch.Tensor, nn.Module], bool]:
    if mask is None:
        return default_mask
    if isinstance(mask, str):
        mask = [mask]
    if callable(mask):
        return mask
    try:
        patterns = list(mask)
    except TypeError:
        raise TypeError(
            "mask must be None, a callable (name, param, module) -> bool, or glob pattern(s) "
            f"on parameter names, got {type(mask).__name__}"
        ) from None
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise TypeError("mask patterns must be a non-empty sequence of strings")
    return lambda name, param, module: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def select_parameters(model: nn.Module, mask: MaskLike = None) -> list[tuple[str, nn.Parameter]]:
    """The ``(name, parameter)`` pairs of ``model`` that ``mask`` selects.

    Parameters
    ----------
    model : torch.nn.Module
    mask : None, str, sequence of str, or callable
        ``None`` uses :func:`default_mask`. Strings are glob patterns matched against full
        parameter names (``"*.weight"``, ``"encoder.*"``); a parameter is selected when any
        pattern matches. A callable receives ``(name, param, owning_module)`` and returns
        a bool.

    Returns
    -------
    list of (str, torch.nn.Parameter)

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module`` or ``mask`` has an unusable type.
    ValueError
        If the mask selects no parameter (usually a mistyped pattern).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    predicate = _as_predicate(mask)
    chosen, seen = [], set()
    for mod_name, module in model.named_modules():
        for leaf, param in module.named_parameters(recurse=False):
            if id(param) in seen:  # a shared (tied) parameter is penalized once
                continue
            seen.add(id(param))
            name = f"{mod_name}.{leaf}" if mod_name else leaf
            if bool(predicate(name, param, module)):
                chosen.append((name, param))
    if not chosen:
        names = [n for n, _ in model.named_parameters()]
        raise ValueError(
            f"mask selects no parameter of the model; its parameters are {names[:10]}"
            + (" ..." if len(names) > 10 else "")
        )
    return chosen
