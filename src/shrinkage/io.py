"""Safe persistence: JSON metadata plus ``.npy`` arrays in one zip file, never pickle.

A shrinkage file is a zip archive (the ``.npz`` layout) holding

* ``metadata.json``: the format name and version, the library version, the kind of
  object, its scalar fields and structure as JSON, and for every array its dtype, shape
  and SHA-256 digest;
* one ``<name>.npy`` member per array, written and read with ``allow_pickle=False``.

Loading checks the format version, refuses any member it does not expect, any object
(pickled) array and any array whose bytes no longer match their recorded digest, so a
file can be loaded from an untrusted source without running code from it. Classes are
never imported by a name read from the file unless they are registered here or are
scikit-learn-style estimators defined inside the ``shrinkage`` package.

Writes are atomic: the file is written to a temporary file in the target directory and
moved into place, so a crash never leaves half a model behind; an existing file is kept
unless ``overwrite=True``.

Supported objects: :class:`~shrinkage.results.Path`, :class:`~shrinkage.results.CVResult`,
:class:`~shrinkage.results.SweepResult`, the datasets of :mod:`shrinkage.datasets`, every
other result dataclass defined in the package (``RidgeResult``, ``ElasticNetCVResult``,
``Prior``, ...; stored under ``"module:Class"``), torch ``nn.Sequential`` networks of
standard layers (weights as arrays, layers from an allow-list), any type registered with
:func:`register_type`, and fitted estimators (saved as their
``get_params()`` plus every other attribute in their ``__dict__``, which must itself be
saveable: arrays, numbers, strings, containers, registered objects).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path as FilePath

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "save",
    "load",
    "read_metadata",
    "register_type",
    "register_estimator",
]

FORMAT_NAME = "shrinkage"
FORMAT_VERSION = 1
_META = "metadata.json"
# Array dtypes that .npy stores as raw bytes (no pickle): bool, ints, floats, complex,
# fixed-width unicode and bytes, datetimes.
_SAFE_KINDS = frozenset("biufcUSmM")


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
_LAZY_TYPES = {"torch.nn.Sequential": "shrinkage._io_torch"}
_LAZY_LIBRARIES = {"torch.": "shrinkage._io_torch"}


def _auto_register(cls):
    """Register a result dataclass defined inside shrinkage under ``module:qualname``, or
    load the handler module of an optional library's type (torch networks)."""
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


def _register_builtin_types():
    from . import _tabular, datasets, results

    for cls in (results.Path, results.CVResult, results.SweepResult):
        register_type(cls)
    register_type(datasets.Dataset)
    register_type(datasets.NoisyCurve)
    register_type(_tabular.TabularModel)


# --------------------------------------------------------------------------- encoding
class _Encoder:
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
        if arr.dtype.kind not in _SAFE_KINDS or arr.dtype.fields is not None:
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
            if value.dtype.kind in _SAFE_KINDS - {"U", "S", "m", "M"}:
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


class _Decoder:
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


# --------------------------------------------------------------------------- digests
def _array_digest(arr):
    h = hashlib.sha256()
    h.update(arr.dtype.str.encode())
    h.update(repr(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _meta_digest(meta):
    body = {k: v for k, v in meta.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _library_version():
    from . import __version__

    return __version__


# --------------------------------------------------------------------------- save
def save(obj, path, *, overwrite=False, info=None):
    """Save a result or a fitted estimator to ``path`` without pickle.

    Parameters
    ----------
    obj : Path, CVResult, SweepResult, registered object or fitted estimator
    path : str or os.PathLike
        Target file (conventionally ending in ``.npz``). Its directory must exist.
    overwrite : bool, default False
        Replace an existing file. Without it an existing file is an error.
    info : dict, optional
        Extra JSON-compatible information stored as ``metadata["info"]`` (for instance
        the command that produced the model); returned by :func:`read_metadata`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    TypeError
        If ``obj`` holds a value that cannot be stored without pickle.
    """
    target = FilePath(os.fspath(path))
    if target.is_dir():
        raise IsADirectoryError(f"path {str(target)!r} is a directory, expected a file name")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"directory {str(target.parent)!r} does not exist")
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        )
    encoder = _Encoder()
    root = encoder.encode(obj, type(obj).__name__)
    if info is not None:
        if not isinstance(info, dict):
            raise TypeError(f"info must be a dict, got {type(info).__name__}")
        try:
            json.dumps(info, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"info is not JSON-compatible: {exc}") from exc
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "kind": _kind_of(root),
        "root": root,
        "arrays": {
            name: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _array_digest(a)}
            for name, a in encoder.arrays.items()
        },
        "info": info or {},
    }
    meta["digest"] = _meta_digest(meta)
    text = json.dumps(meta, indent=1, allow_nan=False)

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_META, text)
            for name, arr in encoder.arrays.items():
                big = arr.nbytes > (1 << 30)
                with zf.open(f"{name}.npy", "w", force_zip64=big) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)

    atomic_write(target, write, overwrite=overwrite)
    return target


def atomic_write(target, write, *, overwrite=False):
    """Create ``target`` by ``write(binary_file)`` on a temporary file, then rename.

    The temporary file lives in the target's directory (so the rename is atomic), gets
    the permissions a plain ``open`` would give (``0o666`` less the umask), is synced to
    disk before the rename and removed on any failure. Used for every file shrinkage
    writes (models, plots, reports).

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is false (checked atomically).
    """
    target = FilePath(os.fspath(target))
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def _move_into_place(tmp, target, overwrite):
    if overwrite:
        os.replace(tmp, target)
        return
    # A hard link creates the name only if it does not exist: an atomic "no clobber"
    # even if another process created the file after our first check.
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        ) from None
    except OSError:  # file systems without hard links
        if target.exists():
            raise FileExistsError(
                f"{str(target)!r} already exists; pass overwrite=True to replace it"
            ) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _kind_of(root):
    if isinstance(root, dict):
        if "__obj__" in root:
            return root["__obj__"]
        if "__estimator__" in root:
            return "estimator:" + root["__estimator__"]
    return "value"


# --------------------------------------------------------------------------- load
# What zipfile/zlib raise for damaged archives: a flipped byte can also look like an
# unsupported zip version or compression method (NotImplementedError) or an encrypted
# member (RuntimeError). All of them mean "this file is corrupt".
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               RuntimeError)


def _open(path):
    path = FilePath(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a shrinkage file")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError) as exc:
        raise ModelFileError(f"{str(path)!r} is corrupt: {exc}") from exc
    except ValueError as exc:
        # np.load falls back to unpickling for files that are neither .npy nor zip and
        # refuses because allow_pickle is False: say what the file is.
        raise ModelFileError(
            f"{str(path)!r} is not a shrinkage file (not a zip of .npy arrays; "
            "pickle files are never loaded)"
        ) from exc
    except OSError as exc:
        raise ModelFileError(f"{str(path)!r} cannot be read: {exc}") from exc


def _read_meta(npz, path):
    if not hasattr(npz, "files") or _META not in npz.files:
        raise ModelFileError(f"{str(path)!r} is not a shrinkage file (no {_META})")
    try:
        raw = npz[_META]
        meta = json.loads(bytes(raw).decode("utf-8"))
    except (*_ZIP_ERRORS, ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{str(path)!r} has unreadable metadata: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{str(path)!r} is not a shrinkage file")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{str(path)!r} has no valid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} uses file format {version} (written by shrinkage "
            f"{meta.get('library_version', '?')}); this shrinkage {_library_version()} "
            f"reads format {FORMAT_VERSION} and older: upgrade shrinkage to load it"
        )
    if meta.get("digest") != _meta_digest(meta):
        raise ModelFileError(f"{str(path)!r} has metadata that fails its checksum")
    return meta


def read_metadata(path):
    """The metadata of a shrinkage file (versions, kind, ``info``) without its arrays.

    Raises
    ------
    ModelFileError
        If the file is not a readable shrinkage file or is of a newer format.
    """
    with _open(path) as npz:
        meta = _read_meta(npz, path)
    return {k: meta[k] for k in ("format", "format_version", "library_version", "kind", "info")}


def load(path, *, expected=None):
    """Load an object saved by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike
    expected : type or tuple of types, optional
        Raise ``TypeError`` unless the loaded object is an instance of it.

    Returns
    -------
    object
        The result or estimator, with arrays identical to those saved.

    Raises
    ------
    ModelFileError
        Corrupt or tampered file, pickled (object) arrays, unexpected members, unknown
        types, or a file format newer than this library reads.
    """
    with _open(path) as npz:
        meta = _read_meta(npz, path)
        declared = meta.get("arrays")
        if not isinstance(declared, dict):
            raise ModelFileError(f"{str(path)!r} has no array table in its metadata")
        members = set(npz.files) - {_META}
        unexpected = members - set(declared)
        if unexpected:
            raise ModelFileError(
                f"{str(path)!r} holds members not listed in its metadata: "
                f"{sorted(unexpected)}"
            )
        arrays = {}
        for name, spec in declared.items():
            if name not in members:
                raise ModelFileError(f"{str(path)!r} is missing array {name!r}")
            if np.dtype(spec["dtype"]).kind not in _SAFE_KINDS:
                raise ModelFileError(
                    f"refusing to load array {name!r} of dtype {spec['dtype']}: it would "
                    "need pickle"
                )
            try:
                arr = npz[name]
            except ValueError as exc:
                raise ModelFileError(
                    f"refusing to load array {name!r} from {str(path)!r}: {exc}"
                ) from exc
            except _ZIP_ERRORS as exc:
                raise ModelFileError(f"array {name!r} in {str(path)!r} is corrupt") from exc
            if (
                arr.dtype.str != spec["dtype"]
                or list(arr.shape) != spec["shape"]
                or _array_digest(arr) != spec["sha256"]
            ):
                raise ModelFileError(
                    f"array {name!r} in {str(path)!r} does not match its recorded "
                    "checksum: the file was modified or corrupted"
                )
            arrays[name] = arr
    decoder = _Decoder(arrays)
    obj = decoder.decode(meta["root"])
    unused = set(arrays) - decoder.used
    if unused:
        raise ModelFileError(f"{str(path)!r} holds arrays nothing refers to: {sorted(unused)}")
    if expected is not None and not isinstance(obj, expected):
        raise TypeError(
            f"{str(path)!r} holds a {type(obj).__name__}, expected {expected!r}"
        )
    return obj


_register_builtin_types()
