"""What a model file may say: names, estimator attributes, dataclass fields.

The metadata digest of a file proves only that it was not damaged by accident: anyone who
edits a file can recompute it. So everything the decoder builds from a file is checked
here first, and every violation is a :class:`ModelFileError` that names what is wrong.
"""

from __future__ import annotations

import dataclasses
import inspect
import keyword
import re
import sys

import numpy as np

__all__ = ["ModelFileError", "SAFE_KINDS", "check_dataclass_state", "check_estimator_state",
           "field_types", "is_plain_name"]

# Array dtypes that .npy stores as raw bytes (no pickle): bool, ints, floats, complex,
# fixed-width unicode and bytes, datetimes.
SAFE_KINDS = frozenset("biufcUSmM")

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_ABSENT = object()


class ModelFileError(ValueError):
    """A file is not a readable shrinkage file: corrupt, tampered with, or too new."""


def is_plain_name(name):
    """Whether ``name`` is an ASCII Python identifier (not a keyword) of at most 200
    characters: the only names a file may give attributes, fields and parameters."""
    return (isinstance(name, str) and _PLAIN_NAME.fullmatch(name) is not None
            and not keyword.iskeyword(name))


# --------------------------------------------------------------------------- estimators
def constructor_parameters(cls):
    """The names ``cls.__init__`` accepts, and whether it also takes ``**kwargs``.

    Read from the signature, as scikit-learn's ``get_params`` does.
    """
    init = cls.__init__
    if init is object.__init__:
        return frozenset(), False
    # scikit-learn keeps the signature of a deprecated constructor here
    init = getattr(init, "deprecated_original", init)
    names, var_keyword = set(), False
    for p in inspect.signature(init).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_keyword = True
        elif p.kind is not p.VAR_POSITIONAL and p.name != "self":
            names.add(p.name)
    return frozenset(names), var_keyword


def check_estimator_state(cls, params, fitted, error=ModelFileError):
    """Refuse an estimator whose parameters or fitted attributes are not its own.

    ``params`` must be constructor parameters (a file written before a parameter was
    added may lack it: the default applies). A fitted attribute must be a plain name
    that is neither a constructor parameter nor anything the class or its bases define
    (method, property, class attribute): a file setting ``predict`` on an instance would
    otherwise replace the method. Private names are allowed, since estimators keep
    private fitted state (``_coef_engine``, ``_V``, ...).

    Raises
    ------
    ModelFileError (or ``error``)
    """
    where = cls.__qualname__
    for label, value in (("parameters", params), ("fitted attributes", fitted)):
        if not isinstance(value, dict):
            raise error(f"the {label} of {where} are a {type(value).__name__}, "
                        "expected a dict")
    names, var_keyword = constructor_parameters(cls)
    unknown = sorted(k for k in params
                     if k not in names and not (var_keyword and is_plain_name(k)))
    if unknown:
        raise error(f"{where} has no parameters {unknown}")
    for name in fitted:
        # Plain attribute names only: a file must not reach __class__ or __dict__.
        if not is_plain_name(name) or name.startswith("__"):
            raise error(f"bad attribute name {name!r} for {where}")
        if name in names:
            raise error(f"fitted attribute {name!r} of {where} is a constructor "
                        "parameter: parameters are stored under 'params'")
        # getattr_static runs no descriptor or __getattr__ code of the class
        if inspect.getattr_static(cls, name, _ABSENT) is not _ABSENT:
            raise error(f"fitted attribute {name!r} would shadow {where}.{name} "
                        "(a method, property or class attribute)")


# --------------------------------------------------------------------------- dataclasses
# Annotation names -> accepted types. Numbers are interchangeable (a float field may
# hold an int, a bool field 0 or 1): the check is for kinds of values, not for precision.
_NUMBER = (int, float)
_ANYTHING = frozenset({"object", "Any", "typing.Any"})
_BY_NAME = {
    "None": (type(None),), "NoneType": (type(None),),
    "float": _NUMBER, "int": _NUMBER, "bool": _NUMBER, "complex": (int, float, complex),
    "str": (str,), "dict": (dict,), "Mapping": (dict,), "Dict": (dict,),
    "list": (list, tuple), "tuple": (list, tuple), "List": (list, tuple),
    "Tuple": (list, tuple), "Sequence": (list, tuple),
    "np.ndarray": (np.ndarray,), "numpy.ndarray": (np.ndarray,), "ndarray": (np.ndarray,),
    "NDArray": (np.ndarray,), "npt.NDArray": (np.ndarray,),
}


def _split_union(text):
    """``"a[b | c] | None"`` -> ``["a", "None"]``: the union's members, generics dropped."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            parts.append(current)
            current = ""
        elif depth == 0 and ch != "]":
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def field_types(cls, annotation):
    """The types a field annotated ``annotation`` in dataclass ``cls`` may hold, or None
    for "anything" (``object``, ``Any``, an annotation this check does not understand)."""
    if isinstance(annotation, type):
        if annotation.__module__ != "builtins":
            return _checkable(annotation)
        annotation = annotation.__name__
    if not isinstance(annotation, str):
        return None  # typing constructs: not checked
    module = vars(sys.modules.get(cls.__module__, object))
    accepted = []
    for part in _split_union(annotation):
        if part.startswith("Optional") or part in _ANYTHING:
            return None
        if part in _BY_NAME:
            accepted.extend(_BY_NAME[part])
            continue
        found = _checkable(module.get(part) if part.isidentifier() else None)
        if found is None:
            return None
        accepted.extend(found)
    return tuple(accepted)


def _checkable(found):
    """``(found,)`` if ``isinstance`` can test it, else None (protocols, typing.Any)."""
    if not isinstance(found, type):
        return None
    try:
        isinstance(None, found)
    except TypeError:
        return None
    return (found,)


def check_dataclass_state(cls, state, error=ModelFileError):
    """Check that ``state`` can build dataclass ``cls``: known fields, required fields
    present, each value of the kind its annotation names.

    Raises
    ------
    ModelFileError (or ``error``)
        Naming the field and what it holds.
    """
    where = cls.__qualname__
    if not isinstance(state, dict):
        raise error(f"the state of {where} is a {type(state).__name__}, expected a dict")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(state) - set(fields))
    if unknown:
        raise error(f"{where} has no fields {unknown}")
    missing = sorted(name for name, f in fields.items() if name not in state
                     and f.default is dataclasses.MISSING
                     and f.default_factory is dataclasses.MISSING)
    if missing:
        raise error(f"the state of {where} lacks the fields {missing}")
    for name, value in state.items():
        accepted = field_types(cls, fields[name].type)
        if accepted is not None and not isinstance(value, accepted):
            raise error(f"field {name!r} of {where} holds a {type(value).__name__}, "
                        f"expected {fields[name].type}")
