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
    weights = {k: v.detach().cpu().numpy().copy() for k, v in seq.state_dict().items()}
    dtypes = {str(p.dtype) for p in seq.parameters()}
    return {
        "layers": layers,
        "weights": weights,
        "dtype": dtypes.pop() if len(dtypes) == 1 else "torch.float32",
        "training": bool(seq.training),
    }


def _from_state(state):
    layers = []
    for spec in state["layers"]:
        entry = _LAYERS.get(spec["type"])
        if entry is None:
            raise TypeError(f"unknown torch layer type {spec['type']!r}")
        layers.append(entry[0](**spec["args"]))
    dtype = {"torch.float64": torch.float64, "torch.float32": torch.float32}.get(state["dtype"])
    if dtype is None:
        raise TypeError(f"unsupported torch dtype {state['dtype']!r}")
    seq = nn.Sequential(*layers).to(dtype)
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in state["weights"].items()}
    seq.load_state_dict(tensors, strict=True)
    return seq.train(state["training"])


register_type(nn.Sequential, "torch.nn.Sequential", to_state=_to_state, from_state=_from_state)
