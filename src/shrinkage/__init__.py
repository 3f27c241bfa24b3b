"""shrinkage: regularization done exactly and fast.

The public names are loaded lazily so that ``import shrinkage`` stays cheap: numba and
scikit-learn are imported only when a fit is first requested.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "Path": "shrinkage.results",
    "CVResult": "shrinkage.results",
    "SweepResult": "shrinkage.results",
    "regularization_path": "shrinkage.path",
    "selection": "shrinkage.selection",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'shrinkage' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
