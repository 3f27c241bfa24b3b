"""Saving torch networks without pickle: ``nn.Sequential`` of standard layers.

A network is stored as a list of layer specifications (an allow-listed layer class and its
constructor arguments) plus its ``state_dict`` as NumPy arrays; loading rebuilds the
layers from the allow-list -- never from a class name taken from the file -- and loads the
weights. This covers the multi-layer perceptrons of :mod:`shrinkage.torch.estimators`.
Imported by :mod:`shrinkage.io` only when a torch object is saved or loaded.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .codec import register_type

# layer class -> (constructor arguments read from an instance)
_LAYERS = {
    "Linear": (nn.Linear, lambda m: {"in_features": m.in_features,
                                     "out_features": m.out_features,
                                     "bias": m.bias is not None}),
    "ReLU": (nn.ReLU, lambda m: {}),
    "Tanh": (nn.Tanh, lambda m: {}),
    "Sigmoid": (nn.Sigmoid, lambda m: {}),
    "Identity": (nn.Identity, lambda m: {}),
    "GELU": (nn.GELU, lambda m: {"approximate": m.approximate}),
    "Dropout": (nn.Dropout, lambda m: {"p": float(m.p)}),
}
_BY_CLASS = {cls: name for name, (cls, _) in _LAYERS.items()}


def _to_state(seq):
    layers = []
    for module in seq:
        name = _BY_CLASS.get(type(module))
        if name is None:
            raise TypeError(
                f"cannot save a torch layer of type {type(module).__name__}: only "
                f"{', '.join(sorted(_LAYERS))} are supported"
            )
        layers.append({"type": name, "args": _LAYERS[name][1](module)})
    dtypes = sorted({str(t.dtype) for t in seq.state_dict().values()})
    if len(dtypes) > 1:
        raise TypeError(f"cannot save a network whose parameters mix dtypes ({', '.join(dtypes)}):"
                        " convert it to one with .double() or .float() first")
    if dtypes and dtypes[0] not in _DTYPES:
        raise TypeError(f"cannot save a {dtypes[0]} network: only float32 and float64 are "
                        "stored; convert it with .float() or .double() first")
    weights = {k: v.detach().cpu().numpy().copy() for k, v in seq.state_dict().items()}
    return {
        "layers": layers,
        "weights": weights,
        "dtype": dtypes[0] if dtypes else "torch.float32",
        "training": bool(seq.training),
    }


# layer type -> checks of its constructor arguments (name -> predicate)
_ARG_CHECKS = {
    "Linear": {"in_features": lambda v: type(v) is int and v > 0,
               "out_features": lambda v: type(v) is int and v > 0,
               "bias": lambda v: type(v) is bool},
    "GELU": {"approximate": lambda v: v in ("none", "tanh")},
    "Dropout": {"p": lambda v: type(v) in (int, float) and 0 <= v <= 1},
}
_DTYPES = {"torch.float64": torch.float64, "torch.float32": torch.float32}


def _check_state(state):
    """Refuse a network description that is not one ``_to_state`` writes, before any
    layer is built: a Linear layer allocates its weights from the sizes in the file, so
    those must agree with the weights the file actually holds."""
    if set(state) != {"layers", "weights", "dtype", "training"}:
        raise TypeError(f"a network is described by layers, weights, dtype and training, "
                        f"not {sorted(state)}")
    layers, weights = state["layers"], state["weights"]
    if not isinstance(layers, list) or not isinstance(weights, dict):
        raise TypeError("the layers of a network must be a list and its weights a dict")
    if not all(isinstance(w, np.ndarray) and w.dtype.kind == "f" for w in weights.values()):
        raise TypeError("the weights of a network must be float arrays")
    if state["dtype"] not in _DTYPES or not isinstance(state["training"], bool):
        raise TypeError(f"unsupported torch dtype {str(state['dtype'])[:40]!r} or "
                        "training flag")
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict) or set(spec) != {"type", "args"}:
            raise TypeError(f"layer {i} is not a layer description")
        if not isinstance(spec["type"], str) or spec["type"] not in _LAYERS:
            raise TypeError(f"unknown torch layer type {str(spec['type'])[:40]!r}")
        args, checks = spec["args"], _ARG_CHECKS.get(spec["type"], {})
        if not isinstance(args, dict) or set(args) != set(checks) or not all(
                check(args[name]) for name, check in checks.items()):
            raise TypeError(f"bad arguments for the {spec['type']} layer {i}")
        if spec["type"] == "Linear":
            shape = getattr(weights.get(f"{i}.weight"), "shape", None)
            if shape != (args["out_features"], args["in_features"]):
                raise TypeError(f"the Linear layer {i} does not match its weights")


def _from_state(state):
    _check_state(state)
    layers = [_LAYERS[spec["type"]][0](**spec["args"]) for spec in state["layers"]]
    seq = nn.Sequential(*layers).to(_DTYPES[state["dtype"]])
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in state["weights"].items()}
    seq.load_state_dict(tensors, strict=True)
    return seq.train(state["training"])


register_type(nn.Sequential, "torch.nn.Sequential", to_state=_to_state, from_state=_from_state)
