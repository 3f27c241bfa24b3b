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
scikit-learn-style estimators defined inside the ``shrinkage`` package. The metadata
digest only detects accidents (whoever edits a file can recompute it), so the structure
and types of everything the metadata says are checked as well (:mod:`.checks`): an
estimator gets only its constructor parameters and attributes that are not the class's
own, a dataclass only fields of the kinds its annotations name. Sizes are bounded before
anything is inflated or allocated (:mod:`.limits`). Every malformed file raises
:class:`ModelFileError`.

Writes are atomic: the file is written to a temporary file in the target directory and
moved into place, so a crash never leaves half a model behind; an existing file is kept
unless ``overwrite=True``. Temporary files that a killed process left (older than ten
minutes, of the same target name) are removed by the next write of that target.

Supported objects: :class:`~shrinkage.results.Path`, :class:`~shrinkage.results.CVResult`,
:class:`~shrinkage.results.SweepResult`, the datasets of :mod:`shrinkage.datasets`, every
other result dataclass defined in the package (``RidgeResult``, ``ElasticNetCVResult``,
``Prior``, ...; stored under ``"module:Class"``), torch ``nn.Sequential`` networks of
standard layers (weights as arrays, layers from an allow-list), the baseline hazard of a
Cox model (``BaselineHazard``, as arrays checked on loading:
``.survival_types``), any type registered with
:func:`register_type`, and fitted estimators (saved as their
``get_params()`` plus every other attribute in their ``__dict__``, which must itself be
saveable: arrays, numbers, strings, containers, registered objects).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path as FilePath

import numpy as np

from ..validation import check_flag
from . import limits
from .codec import (
    Decoder,
    Encoder,
    ModelFileError,
    register_builtin_types,
    register_estimator,
    register_type,
)
from .files import atomic_write
from .limits import ZIP_ERRORS, array_specs, read_array, read_member

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "save",
    "load",
    "read_metadata",
    "register_type",
    "register_estimator",
    "atomic_write",
]

FORMAT_NAME = "shrinkage"
#: The version of the file format :func:`save` writes; :func:`load` refuses newer ones.
FORMAT_VERSION = 1
_META = "metadata.json"


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
    from ..version import __version__

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

    Examples
    --------
    >>> import numpy as np
    >>> import shrinkage
    >>> from shrinkage.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> model = shrinkage.PenalizedRegressor(random_state=0).fit(data.X, data.y)
    >>> shrinkage.save(model, "model.npz").name
    'model.npz'
    >>> again = shrinkage.load("model.npz", expected=shrinkage.PenalizedRegressor)
    >>> bool(np.array_equal(again.predict(data.X), model.predict(data.X)))
    True
    """
    overwrite = check_flag(overwrite, "overwrite")
    target = FilePath(os.fspath(path))
    if target.is_dir():
        raise IsADirectoryError(f"path {str(target)!r} is a directory, expected a file name")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"directory {str(target.parent)!r} does not exist")
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        )
    encoder = Encoder()
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


def _kind_of(root):
    if isinstance(root, dict):
        if "__obj__" in root:
            return root["__obj__"]
        if "__estimator__" in root:
            return "estimator:" + root["__estimator__"]
    return "value"


# --------------------------------------------------------------------------- load
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip


def _open(path):
    """The file as an open :class:`zipfile.ZipFile` (the caller closes it)."""
    path = FilePath(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a shrinkage file")
    if not path.is_file():  # a FIFO or a device would block or stream without end
        raise ModelFileError(f"{str(path)!r} is not a regular file (a pipe, socket or "
                             "device), not a shrinkage file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelFileError(f"{str(path)!r} cannot be read: {exc}") from exc
    if magic not in _ZIP_MAGIC:
        raise ModelFileError(
            f"{str(path)!r} is not a shrinkage file (not a zip of .npy arrays; "
            "pickle files are never loaded)"
        )
    try:
        zf = zipfile.ZipFile(path)
    except (*ZIP_ERRORS, ValueError) as exc:  # ValueError: a name that is not UTF-8
        raise ModelFileError(f"{str(path)!r} is corrupt: {exc}") from exc
    names = zf.namelist()
    if len(set(names)) != len(names):
        zf.close()
        raise ModelFileError(f"{str(path)!r} holds a member twice: a crafted zip")
    return zf


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")  # the writer encodes NaN and infinities


def _read_meta(zf, path):
    """The metadata of an open file, its header fields and checksum verified."""
    if _META not in zf.namelist():
        raise ModelFileError(f"{str(path)!r} is not a shrinkage file (no {_META})")
    try:
        raw = read_member(zf, _META, limits.MAX_METADATA_BYTES)
        meta = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    # ModelFileError (too large, corrupt), bad UTF-8 or JSON, or nesting too deep
    except (ModelFileError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{str(path)!r} has unreadable metadata: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{str(path)!r} is not a shrinkage file")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{str(path)!r} has no valid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} uses file format {version} (written by shrinkage "
            f"{str(meta.get('library_version', '?'))[:40]}); this shrinkage "
            f"{_library_version()} reads format {FORMAT_VERSION} and older: upgrade "
            "shrinkage to load it"
        )
    try:
        intact = meta.get("digest") == _meta_digest(meta)
    except RecursionError:  # nesting json.loads just managed to read
        intact = False
    if not intact:
        raise ModelFileError(f"{str(path)!r} has metadata that fails its checksum")
    # The digest is no proof of origin (anyone can recompute it): check every field.
    for key, kind in (("library_version", str), ("kind", str), ("info", dict)):
        if not isinstance(meta.get(key), kind):
            raise ModelFileError(f"{str(path)!r} has no valid {key} in its metadata")
    if "root" not in meta:
        raise ModelFileError(f"{str(path)!r} has no root value in its metadata")
    return meta


def _read_arrays(zf, meta, path):
    """Every array the metadata declares, each checked against its declaration."""
    try:
        specs = array_specs(meta.get("arrays"))
    except ModelFileError as exc:
        raise ModelFileError(f"{str(path)!r}: {exc}") from exc
    members = set(zf.namelist()) - {_META}
    unexpected = members - {f"{name}.npy" for name in specs}
    if unexpected:
        raise ModelFileError(
            f"{str(path)!r} holds members not listed in its metadata: {sorted(unexpected)}"
        )
    arrays = {}
    for name, spec in specs.items():
        if f"{name}.npy" not in members:
            raise ModelFileError(f"{str(path)!r} is missing array {name!r}")
        try:
            arr = read_array(zf, name, spec)
        except ModelFileError as exc:
            raise ModelFileError(f"{str(path)!r}: {exc}") from exc
        if _array_digest(arr) != spec.sha256:
            raise ModelFileError(
                f"array {name!r} in {str(path)!r} does not match its recorded "
                "checksum: the file was modified or corrupted"
            )
        arrays[name] = arr
    return arrays


def read_metadata(path):
    """The metadata of a shrinkage file (versions, kind, ``info``) without its arrays.

    Raises
    ------
    ModelFileError
        If the file is not a readable shrinkage file or is of a newer format.
    """
    with _open(path) as zf:
        meta = _read_meta(zf, path)
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
        Corrupt or tampered file, metadata of the wrong structure or types, pickled
        (object) arrays, unexpected members, members that inflate past what their
        declaration allows, arrays over :data:`limits.MAX_ARRAY_BYTES`, unknown types,
        estimator attributes that are not the estimator's own, or a file format newer
        than this library reads.
    """
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if expected is not None and not all(isinstance(t, type) for t in kinds):
        raise TypeError("expected must be a class or a tuple of classes (for instance "
                        f"shrinkage.results.Path), got {expected!r}")
    with _open(path) as zf:
        meta = _read_meta(zf, path)
        arrays = _read_arrays(zf, meta, path)
    decoder = Decoder(arrays)
    try:
        obj = decoder.decode(meta["root"])
    except ModelFileError as exc:
        raise ModelFileError(f"{str(path)!r}: {exc}") from exc
    unused = set(arrays) - decoder.used
    if unused:
        raise ModelFileError(f"{str(path)!r} holds arrays nothing refers to: {sorted(unused)}")
    if expected is not None and not isinstance(obj, expected):
        raise TypeError(
            f"{str(path)!r} holds a {type(obj).__name__}, expected {expected!r}"
        )
    return obj


register_builtin_types()
