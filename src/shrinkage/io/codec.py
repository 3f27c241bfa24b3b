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
import re

import numpy as np

from .. import moved
from .checks import (
    SAFE_KINDS,
    ModelFileError,
    check_dataclass_state,
    check_estimator_state,
    is_plain_name,
)
from .semantics import check_loaded

__all__ = ["MAX_DEPTH", "Decoder", "Encoder", "ModelFileError", "SAFE_KINDS",
           "register_builtin_types", "register_estimator", "register_type"]

# Values nest at most this deep (a list in a dict in a result is 3 levels), on saving and
# loading alike: deeper metadata would exhaust the interpreter's stack when decoded.
MAX_DEPTH = 100
# "shrinkage.tuning.cv": the only module names a file may make us import.
_MODULE_NAME = re.compile(r"shrinkage(\.[A-Za-z_][A-Za-z0-9_]*)+")

# --------------------------------------------------------------------------- registry
@dataclasses.dataclass(frozen=True)
class _TypeEntry:
    name: str
    cls: type
    to_state: object  # callable obj -> dict
    from_state: object  # callable dict -> obj
    # True when the state is a dataclass's fields, rebuilt by cls(**state): then they are
    # checked against the field annotations on saving and loading.
    fields_checked: bool = False


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
    fields_checked = from_state is None and dataclasses.is_dataclass(cls)
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
    entry = _TypeEntry(name, cls, to_state, from_state, fields_checked)
    _TYPES_BY_NAME[name] = entry
    _TYPES_BY_CLASS[cls] = entry
    return cls


# Types whose handlers live in a module imported only when needed (torch is optional; the
# survival module compiles kernels): stored name -> handler module, and module prefix ->
# handler module.
_LAZY_TYPES = {"torch.nn.Sequential": "shrinkage.io.torch_networks",
               "shrinkage.survival.baseline:BaselineHazard": "shrinkage.io.survival_types"}
_LAZY_LIBRARIES = {"torch.": "shrinkage.io.torch_networks",
                   "shrinkage.survival.baseline": "shrinkage.io.survival_types"}


def _auto_register(cls):
    """Register a result dataclass defined inside shrinkage under ``module:qualname``, or
    load the handler module of a type saved its own way (torch networks, the baseline
    hazard of a Cox model)."""
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


def _split_class_name(name):
    """``"shrinkage.mod:Class"`` -> ``("shrinkage.mod", "Class")``, or None for any name
    that is not a public class of a well-formed shrinkage module path."""
    if not isinstance(name, str) or name.count(":") != 1:
        return None
    module_name, qualname = name.split(":")
    if (_MODULE_NAME.fullmatch(module_name) is None or not is_plain_name(qualname)
            or qualname.startswith("_")):
        return None
    return module_name, qualname


def _import_class(module_name, qualname):
    """The class ``qualname`` defined in shrinkage module ``module_name`` (or where a
    0.1.0 module's names went), or None. Raises ImportError when the module (or the
    optional library it needs) is not available."""
    if module_name in moved.MOVED:  # a path of shrinkage 0.1.0
        module_name, cls = moved.resolve(module_name, qualname)
    else:
        cls = getattr(importlib.import_module(module_name), qualname, None)
    if isinstance(cls, type) and cls.__module__ == module_name:
        return cls
    return None


def _resolve_type(name):
    """The entry for a ``shrinkage.module:Class`` dataclass name read from a file.

    Only modules of the shrinkage package are imported, and only dataclasses defined in
    them are accepted: a file cannot make us import or call anything else.
    """
    if not isinstance(name, str):
        return None
    if name in _TYPES_BY_NAME:
        return _TYPES_BY_NAME[name]
    if name in _LAZY_TYPES:
        try:
            importlib.import_module(_LAZY_TYPES[name])
        except ImportError as exc:
            raise ModelFileError(f"loading a {name} needs its library: {exc}") from exc
        return _TYPES_BY_NAME.get(name)
    parts = _split_class_name(name)
    try:
        return _auto_register(_import_class(*parts)) if parts else None
    except ImportError:
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
    """Register the result classes every model file may hold (:class:`~shrinkage.Path`,
    :class:`~shrinkage.CVResult`, :class:`~shrinkage.SweepResult`, the data sets and
    :class:`~shrinkage.tabular.TabularModel`); called once when :mod:`shrinkage.io` is
    imported."""
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

    def encode(self, value, where="object", depth=0):
        """The JSON form of ``value``; its arrays are moved to ``self.arrays``.

        ``None``, booleans, strings, finite numbers stay as they are; non-finite floats,
        arrays, lists, tuples, dicts, registered dataclasses and estimators become marked
        nodes (``{"__array__": name}``, ``{"__list__": [...]}``, ...). ``where`` names the
        value in error messages; ``depth`` counts the nesting. Raises ``TypeError`` for
        anything that would need pickle or that :func:`~shrinkage.io.load` would refuse.
        """
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
        if depth >= MAX_DEPTH:
            raise TypeError(f"cannot save {where}: values nest more than {MAX_DEPTH} levels "
                            "deep (or contain themselves)")
        depth += 1
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{where}[{i}]", depth) for i, v in enumerate(value)]
            return {"__list__" if isinstance(value, list) else "__tuple__": items}
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise TypeError(f"cannot save {where}: dict keys must be str, got {k!r}")
                out[k] = self.encode(v, f"{where}[{k!r}]", depth)
            return {"__dict__": out}
        entry = _TYPES_BY_CLASS.get(type(value)) or _auto_register(type(value))
        if entry is not None:
            state = entry.to_state(value)
            if entry.fields_checked:
                # refuse now what load() would refuse, rather than write an unloadable file
                check_dataclass_state(entry.cls, {k: _as_loaded(v) for k, v in state.items()},
                                      error=TypeError)
            return {"__obj__": entry.name, "state": self.encode(state, entry.name, depth)}
        if hasattr(value, "get_params") and hasattr(value, "fit"):
            return self._encode_estimator(value, where, depth)
        raise TypeError(
            f"cannot save {where}: values of type {type(value).__name__} are not supported "
            "(register the class with shrinkage.io.register_type)"
        )

    def _encode_estimator(self, est, where, depth):
        cls = type(est)
        params = est.get_params(deep=False)
        # Fitted state: every instance attribute that is not a constructor parameter,
        # private ones included (an estimator may keep a factorisation in ``_V`` for
        # predictions); properties are computed, not stored, so they are not in __dict__.
        fitted = {k: v for k, v in vars(est).items() if k not in params}
        check_estimator_state(cls, params, fitted, error=TypeError)
        name = cls.__qualname__
        return {
            "__estimator__": _estimator_key(cls),
            "params": self.encode(params, f"{name} parameters", depth),
            "fitted": self.encode(fitted, f"{name} fitted attributes", depth),
        }


def _as_loaded(value):
    """The type of value :class:`Decoder` gives back for ``value``: NumPy numbers come
    back as Python numbers."""
    if isinstance(value, np.generic) and value.dtype.kind in SAFE_KINDS - {"U", "S", "m", "M"}:
        return value.item()
    return value


# The JSON nodes the encoder writes: marker key -> the other keys such a node may have
# (required, optional). Anything else in a file is refused.
_NODES = {
    "__array__": ((), ("object", "scalar")),
    "__float__": ((), ()),
    "__list__": ((), ()),
    "__tuple__": ((), ()),
    "__dict__": ((), ()),
    "__obj__": (("state",), ()),
    "__estimator__": (("params", "fitted"), ()),
}


def _describe(node):
    return f"{type(node).__name__} {str(node)[:80]}"


def _marker(node):
    """The marker key of a metadata node, after checking its keys are those it must have."""
    if not isinstance(node, dict):
        raise ModelFileError(f"unrecognised value in metadata: {_describe(node)}")
    markers = [k for k in node if k in _NODES]
    if len(markers) != 1:
        raise ModelFileError(f"unrecognised value in metadata: {_describe(node)}")
    marker = markers[0]
    required, optional = _NODES[marker]
    keys = set(node) - {marker}
    if not set(required) <= keys <= {*required, *optional}:
        raise ModelFileError(f"malformed {marker} node in metadata: it has the keys "
                             f"{sorted(keys)[:10]}, expected {sorted(required)} and "
                             f"optionally {sorted(optional)}")
    return marker


def _expect(value, kind, what):
    if not isinstance(value, kind):
        raise ModelFileError(f"{what} in metadata is {_describe(value)}, expected "
                             f"{kind.__name__}")
    return value


class Decoder:
    """Rebuild a value from the JSON the :class:`Encoder` wrote and the arrays read.

    Every node is checked against the forms the encoder writes, so a crafted file can only
    give a :class:`ModelFileError`, never another exception or an object of a class that
    was not allowed.
    """

    def __init__(self, arrays):
        self.arrays = arrays
        self.used: set[str] = set()

    def decode(self, node, depth=0):
        """The value that JSON ``node`` stands for (the inverse of
        :meth:`Encoder.encode`); raises :class:`~shrinkage.io.ModelFileError` for any node
        the encoder does not write, or one nested more than ``MAX_DEPTH`` levels deep."""
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if depth >= MAX_DEPTH:
            raise ModelFileError(f"metadata nests values more than {MAX_DEPTH} levels deep")
        marker = _marker(node)
        return getattr(self, "_" + marker.strip("_"))(node, depth + 1)  # self._array, ...

    def _array(self, node, depth):
        name = node["__array__"]
        if not isinstance(name, str) or name not in self.arrays:
            raise ModelFileError(f"metadata refers to a missing array {str(name)[:80]!r}")
        if name in self.used:
            raise ModelFileError(f"metadata refers to array {name!r} twice")
        self.used.add(name)
        arr = self.arrays[name]
        if _expect(node.get("object", False), bool, f"the object flag of array {name!r}"):
            if arr.dtype.kind != "U":
                raise ModelFileError(f"array {name!r} of dtype {arr.dtype} cannot hold "
                                     "strings")
            arr = arr.astype(object)
        if _expect(node.get("scalar", False), bool, f"the scalar flag of array {name!r}"):
            if arr.ndim != 0:
                raise ModelFileError(f"array {name!r} of shape {arr.shape} is no scalar")
            return arr[()]
        return arr

    def _float(self, node, depth):
        text = node["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ModelFileError(f"bad float marker {str(text)[:80]!r} in metadata")
        return float(text)

    def _list(self, node, depth):
        items = _expect(node["__list__"], list, "a list")
        return [self.decode(v, depth) for v in items]

    def _tuple(self, node, depth):
        items = _expect(node["__tuple__"], list, "a tuple")
        return tuple(self.decode(v, depth) for v in items)

    def _dict(self, node, depth):
        items = _expect(node["__dict__"], dict, "a dict")
        return {k: self.decode(v, depth) for k, v in items.items()}

    def _obj(self, node, depth):
        name = node["__obj__"]
        entry = _resolve_type(name)
        if entry is None:
            raise ModelFileError(f"the file holds an object of unknown type {str(name)[:200]!r}")
        state = self.decode(node["state"], depth)
        if entry.fields_checked:
            check_dataclass_state(entry.cls, state)
        elif not isinstance(state, dict):
            raise ModelFileError(f"the state of {entry.name} is {_describe(state)}, "
                                 "expected a dict")
        try:
            obj = entry.from_state(state)
        except ModelFileError:
            raise
        except Exception as exc:  # what a constructor does with bad state: refuse the file
            raise ModelFileError(f"cannot rebuild {entry.name} from the file: {exc}") from exc
        check_loaded(obj, entry.name)
        return obj

    def _estimator(self, node, depth):
        cls = _resolve_estimator(node["__estimator__"])
        params = self.decode(node["params"], depth)
        fitted = self.decode(node["fitted"], depth)
        check_estimator_state(cls, params, fitted)
        try:
            est = cls(**params)
            for k, v in fitted.items():
                setattr(est, k, v)
        except Exception as exc:  # what a constructor does with bad parameters
            raise ModelFileError(f"cannot rebuild {cls.__qualname__}: {exc}") from exc
        check_loaded(est, cls.__qualname__)
        return est


def _resolve_estimator(key):
    if not isinstance(key, str):
        raise ModelFileError(f"bad estimator class name {str(key)[:80]!r} in metadata")
    if key in _ESTIMATORS:
        return _ESTIMATORS[key]
    parts = _split_class_name(key)
    if parts is None:
        raise ModelFileError(
            f"refusing to load estimator class {key[:200]!r}: it is not a shrinkage "
            "estimator (register it with shrinkage.io.register_estimator before loading)"
        )
    try:
        cls = _import_class(*parts)
    except ImportError as exc:
        raise ModelFileError(f"estimator module {parts[0]!r} is not available: {exc}") \
            from exc
    if cls is None or not _is_estimator(cls):
        raise ModelFileError(f"{key!r} is not an estimator class of this shrinkage version")
    return cls


def _is_estimator(cls):
    try:
        from sklearn.base import BaseEstimator
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency
        return False
    return issubclass(cls, BaseEstimator)
