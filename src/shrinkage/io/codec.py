"""Values to JSON plus arrays and back, without pickle; which classes a file may name.

The encoder turns a value into JSON, moving every array aside; the decoder rebuilds it,
importing classes only when they are registered (:func:`register_type`,
:func:`register_estimator`), result dataclasses of the ``shrinkage`` package, or
scikit-learn-style estimators defined inside it. Module paths of shrinkage 0.1.0 are
translated by :mod:`shrinkage.moved`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math

import numpy as np

from .. import moved

__all__ = ["Decoder", "Encoder", "ModelFileError", "SAFE_KINDS", "register_builtin_types",
           "register_estimator", "register_type"]

# Array dtypes that .npy stores as raw bytes (no pickle): bool, ints, floats, complex,
# fixed-width unicode and bytes, datetimes.
SAFE_KINDS = frozenset("biufcUSmM")


class ModelFileError(ValueError):
    """A file is not a readable shrinkage file: corrupt, tampered with, or too new."""


# --------------------------------------------------------------------------- registry
@dataclasses.dataclass(frozen=True)
class _TypeEntry:
    name: str
    cls: type
    to_state: object  # callable obj -> dict
    from_state: object  # callable dict -> obj


_TYPES_BY_NAME: dict[str, _TypeEntry] = {}
_TYPES_BY_CLASS: dict[type, _TypeEntry] = {}
_ESTIMATORS: dict[str, type] = {}


def _dataclass_to_state(obj):
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def register_type(cls, name=None, *, to_state=None, from_state=None):
    """Make ``cls`` saveable by :func:`save` and loadable by :func:`load`.

    Parameters
    ----------
    cls : type
        The class. Dataclasses need nothing else: their fields are saved and the class is
        rebuilt with ``cls(**fields)``.
    name : str, optional
        The name stored in files (default ``cls.__qualname__``); keep it stable.
    to_state : callable, optional
        ``obj -> dict`` of saveable values (None, bool, int, float, str, ndarray, list,
        tuple, dict with str keys, registered objects, estimators).
    from_state : callable, optional
        ``dict -> obj``, the inverse of ``to_state``.

    Returns
    -------
    type
        ``cls``, so this can be used as a decorator.
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a class, got {type(cls).__name__}")
    name = cls.__qualname__ if name is None else str(name)
    if to_state is None or from_state is None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(
                f"{cls.__qualname__} is not a dataclass: pass to_state and from_state"
            )
        to_state = to_state or _dataclass_to_state
        from_state = from_state or (lambda state, _cls=cls: _cls(**state))
    existing = _TYPES_BY_NAME.get(name)
    if existing is not None and existing.cls is not cls:
        raise ValueError(f"the name {name!r} is already registered for {existing.cls!r}")
    entry = _TypeEntry(name, cls, to_state, from_state)
    _TYPES_BY_NAME[name] = entry
    _TYPES_BY_CLASS[cls] = entry
    return cls


# Types whose handlers live in a module imported only when needed (torch is optional):
# stored name -> handler module, and library prefix -> handler module.
_LAZY_TYPES = {"torch.nn.Sequential": "shrinkage.io.torch_networks"}
_LAZY_LIBRARIES = {"torch.": "shrinkage.io.torch_networks"}


def _auto_register(cls):
    """Register a result dataclass defined inside shrinkage under ``module:qualname``, or
    load the handler module of an optional library's type (torch networks)."""
    if cls is None:
        return None
    module = getattr(cls, "__module__", "") or ""
    for prefix, handler in _LAZY_LIBRARIES.items():
        if module.startswith(prefix):
            importlib.import_module(handler)
            return _TYPES_BY_CLASS.get(cls)
    if dataclasses.is_dataclass(cls) and module.startswith("shrinkage.") and "<" not in \
            cls.__qualname__:
        register_type(cls, f"{module}:{cls.__qualname__}")
        return _TYPES_BY_CLASS[cls]
    return None


def _resolve_type(name):
    """The entry for a ``shrinkage.module:Class`` dataclass name read from a file.

    Only modules of the shrinkage package are imported, and only dataclasses defined in
    them are accepted: a file cannot make us import or call anything else.
    """
    if name in _LAZY_TYPES:
        try:
            importlib.import_module(_LAZY_TYPES[name])
        except ImportError as exc:
            raise ModelFileError(f"loading a {name} needs its library: {exc}") from exc
        return _TYPES_BY_NAME.get(name)
    if not isinstance(name, str) or ":" not in name:
        return None
    module_name, qualname = name.split(":", 1)
    if not module_name.startswith("shrinkage.") or "." in qualname:
        return None
    if module_name in moved.MOVED:  # a path of shrinkage 0.1.0
        return _auto_register(moved.resolve(module_name, qualname)[1])
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    cls = getattr(module, qualname, None)
    if isinstance(cls, type) and cls.__module__ == module_name:
        return _auto_register(cls)
    return None


def _estimator_key(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def register_estimator(cls):
    """Allow estimators of class ``cls`` (defined outside ``shrinkage``) to be loaded.

    Estimator classes defined in a ``shrinkage.*`` module are allowed without
    registration. Returns ``cls`` (usable as a decorator).
    """
    if not isinstance(cls, type) or not hasattr(cls, "get_params"):
        raise TypeError("register_estimator expects an estimator class with get_params()")
    _ESTIMATORS[_estimator_key(cls)] = cls
    return cls


def register_builtin_types():
    from .. import datasets, results, tabular

    for cls in (results.Path, results.CVResult, results.SweepResult):
        register_type(cls)
    register_type(datasets.Dataset)
    register_type(datasets.NoisyCurve)
    register_type(tabular.TabularModel)


# --------------------------------------------------------------------------- encoding
class Encoder:
    """Turn a value into JSON, moving every array into ``self.arrays``."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _add_array(self, arr, where):
        if arr.dtype.kind == "O":
            # Object arrays of strings (scikit-learn's feature_names_in_) are saved as
            # unicode and restored as object; anything else in an object array is code.
            if not all(isinstance(v, str) for v in arr.ravel()):
                raise TypeError(
                    f"cannot save {where}: an object array that is not all strings "
                    "would need pickle"
                )
            ref = self._add_array(np.asarray(arr, dtype=str), where)
            ref["object"] = True
            return ref
        if arr.dtype.kind not in SAFE_KINDS or arr.dtype.fields is not None:
            raise TypeError(f"cannot save {where}: arrays of dtype {arr.dtype} are not supported")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(arr)
        return {"__array__": name}

    def encode(self, value, where="object"):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.ndarray):
            return self._add_array(value, where)
        if isinstance(value, np.generic):
            if value.dtype.kind in SAFE_KINDS - {"U", "S", "m", "M"}:
                return self.encode(value.item(), where)
            return self._add_array(np.asarray(value), where) | {"scalar": True}
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"__float__": repr(value)}  # 'nan', 'inf', '-inf'
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"__list__" if isinstance(value, list) else "__tuple__": items}
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise TypeError(f"cannot save {where}: dict keys must be str, got {k!r}")
                out[k] = self.encode(v, f"{where}[{k!r}]")
            return {"__dict__": out}
        entry = _TYPES_BY_CLASS.get(type(value)) or _auto_register(type(value))
        if entry is not None:
            state = entry.to_state(value)
            return {"__obj__": entry.name, "state": self.encode(state, entry.name)}
        if hasattr(value, "get_params") and hasattr(value, "fit"):
            return self._encode_estimator(value, where)
        raise TypeError(
            f"cannot save {where}: values of type {type(value).__name__} are not supported "
            "(register the class with shrinkage.io.register_type)"
        )

    def _encode_estimator(self, est, where):
        cls = type(est)
        params = est.get_params(deep=False)
        # Fitted state: every instance attribute that is not a constructor parameter,
        # private ones included (an estimator may keep a factorisation in ``_V`` for
        # predictions); properties are computed, not stored, so they are not in __dict__.
        fitted = {k: v for k, v in vars(est).items() if k not in params}
        name = cls.__qualname__
        return {
            "__estimator__": _estimator_key(cls),
            "params": self.encode(params, f"{name} parameters"),
            "fitted": self.encode(fitted, f"{name} fitted attributes"),
        }


class Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.used: set[str] = set()

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and len(node) >= 1:
            if "__array__" in node:
                name = node["__array__"]
                if name not in self.arrays:
                    raise ModelFileError(f"metadata refers to a missing array {name!r}")
                self.used.add(name)
                arr = self.arrays[name]
                if node.get("object"):
                    arr = arr.astype(object)
                if node.get("scalar"):
                    return arr[()]
                return arr
            if "__float__" in node:
                text = node["__float__"]
                if text not in ("nan", "inf", "-inf"):
                    raise ModelFileError(f"bad float marker {text!r} in metadata")
                return float(text)
            if "__list__" in node:
                return [self.decode(v) for v in node["__list__"]]
            if "__tuple__" in node:
                return tuple(self.decode(v) for v in node["__tuple__"])
            if "__dict__" in node:
                return {k: self.decode(v) for k, v in node["__dict__"].items()}
            if "__obj__" in node:
                entry = _TYPES_BY_NAME.get(node["__obj__"]) or _resolve_type(node["__obj__"])
                if entry is None:
                    raise ModelFileError(
                        f"the file holds an object of unknown type {node['__obj__']!r}"
                    )
                state = self.decode(node["state"])
                try:
                    return entry.from_state(state)
                except TypeError as exc:
                    raise ModelFileError(
                        f"cannot rebuild {entry.name} from the file: {exc}"
                    ) from exc
            if "__estimator__" in node:
                return self._decode_estimator(node)
        raise ModelFileError(f"unrecognised value in metadata: {str(node)[:80]}")

    def _decode_estimator(self, node):
        cls = _resolve_estimator(node["__estimator__"])
        params = self.decode(node["params"])
        fitted = self.decode(node["fitted"])
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ModelFileError(f"cannot rebuild {cls.__qualname__}: {exc}") from exc
        for k, v in fitted.items():
            # Plain attribute names only: a file must not reach __class__ or __dict__.
            if not k.isidentifier() or k.startswith("__"):
                raise ModelFileError(f"bad attribute name {k!r} for {cls.__qualname__}")
            setattr(est, k, v)
        return est


def _resolve_estimator(key):
    if not isinstance(key, str) or ":" not in key:
        raise ModelFileError(f"bad estimator class name {key!r} in metadata")
    if key in _ESTIMATORS:
        return _ESTIMATORS[key]
    module_name, qualname = key.split(":", 1)
    if not module_name.startswith("shrinkage.") or "." in qualname:
        raise ModelFileError(
            f"refusing to load estimator class {key!r}: it is not a shrinkage estimator "
            "(register it with shrinkage.io.register_estimator before loading)"
        )
    module_name = moved.resolve(module_name, qualname)[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelFileError(f"estimator module {module_name!r} is not available") from exc
    cls = getattr(module, qualname, None)
    if not (isinstance(cls, type) and cls.__module__ == module_name and _is_estimator(cls)):
        raise ModelFileError(f"{key!r} is not an estimator class of this shrinkage version")
    return cls


def _is_estimator(cls):
    try:
        from sklearn.base import BaseEstimator
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency
        return False
    return issubclass(cls, BaseEstimator)
