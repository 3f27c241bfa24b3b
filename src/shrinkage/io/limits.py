"""How much a model file may make us read: every size checked before it is inflated.

A deflated zip member can grow a thousandfold and a ``.npy`` header can declare any
shape, so a small file could make :func:`~shrinkage.io.load` decompress or allocate
gigabytes before any checksum is compared. Here every array the metadata declares is
bounded by fixed limits (:data:`MAX_ARRAY_BYTES`, :data:`MAX_DIMS`), every member is
bounded by what its declaration allows (its size recorded in the zip is checked before
reading, and reading stops at the bound whatever that record says), and ``metadata.json``
by :data:`MAX_METADATA_BYTES`. Each refusal is a :class:`ModelFileError` that names the
member.
"""

from __future__ import annotations

import lzma
import math
import re
import struct
import typing
import zipfile
import zlib

import numpy as np

from .checks import SAFE_KINDS, ModelFileError, is_plain_name

__all__ = ["MAX_ARRAY_BYTES", "MAX_DIMS", "MAX_METADATA_BYTES", "NPY_HEADER_ALLOWANCE",
           "ZIP_ERRORS", "ArraySpec", "array_specs", "read_array", "read_member"]

# Generous: the metadata of a large model is a few hundred kilobytes (arrays are separate).
MAX_METADATA_BYTES = 64 << 20
# For all the arrays of one file together: 20 times the coefficient path of a million
# features, far below what a crafted shape such as (2**40, 2**40) would ask for. Raise it
# (``shrinkage.io.limits.MAX_ARRAY_BYTES = ...``) to load a larger model.
MAX_ARRAY_BYTES = 16 << 30
MAX_DIMS = 32  # NumPy 1.x's limit
# Magic, header length and header of a .npy member: numpy itself refuses headers over
# 10000 bytes, and the ones it writes for supported dtypes take 128.
NPY_HEADER_ALLOWANCE = 16 << 10
_CHUNK = 1 << 20

# What zipfile and its decompressors raise for damaged archives: a flipped byte can also
# look like an unsupported zip version or compression method (NotImplementedError), an
# encrypted member (RuntimeError) or a short structure (struct.error). All of them mean
# "this file is corrupt".
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
              NotImplementedError, RuntimeError, struct.error)
_SHA256 = re.compile(r"[0-9a-f]{64}")
# .npy version -> bytes of its header length field
_NPY_VERSIONS = {b"\x01\x00": 2, b"\x02\x00": 4}
# The header numpy writes: the dict's repr with sorted keys, padded with spaces. A shape
# is "()", "(6,)" or "(2, 3)"; a dtype of a supported kind has no quote or backslash.
_DIM = r"\d{1,20}"
_NPY_HEADER = re.compile(
    r"\{'descr': '([^'\\]{1,32})', 'fortran_order': (True|False), "
    rf"'shape': \((|{_DIM},|{_DIM}(?:, {_DIM})+)\), \}} *\n"
)


class ArraySpec(typing.NamedTuple):
    """What the metadata declares for one array."""

    dtype: np.dtype
    shape: tuple
    sha256: str
    nbytes: int  # the bytes its data takes (at least one per element, for the limits)


def array_specs(table):
    """Check the ``"arrays"`` table of a file's metadata: name -> :class:`ArraySpec`.

    Raises
    ------
    ModelFileError
        For a malformed entry, an unsafe or unknown dtype, an absurd shape, or arrays
        that together exceed :data:`MAX_ARRAY_BYTES`.
    """
    if not isinstance(table, dict):
        raise ModelFileError("the metadata has no array table")
    specs, total = {}, 0
    for name, spec in table.items():
        specs[name] = _array_spec(name, spec)
        total += specs[name].nbytes
        if total > MAX_ARRAY_BYTES:
            raise ModelFileError(f"the arrays of the file would take more than "
                                 f"{MAX_ARRAY_BYTES} bytes (the limit "
                                 "shrinkage.io.limits.MAX_ARRAY_BYTES)")
    return specs


def _array_spec(name, spec):
    if not is_plain_name(name):
        raise ModelFileError(f"bad array name {name[:80]!r} in metadata")
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "sha256"}:
        raise ModelFileError(f"the metadata entry of array {name!r} is malformed: "
                             f"{str(spec)[:80]}")
    dtype = _dtype(name, spec["dtype"])
    shape = spec["shape"]
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise ModelFileError(f"array {name!r} has a bad shape in metadata: "
                             f"{str(shape)[:80]}")
    nbytes = math.prod(shape) * max(dtype.itemsize, 1)
    if nbytes > MAX_ARRAY_BYTES:
        raise ModelFileError(f"array {name!r} declares shape {tuple(shape)} of dtype "
                             f"{dtype.str}: {nbytes} bytes, more than the limit of "
                             f"{MAX_ARRAY_BYTES} (shrinkage.io.limits.MAX_ARRAY_BYTES)")
    digest = spec["sha256"]
    if not isinstance(digest, str) or _SHA256.fullmatch(digest) is None:
        raise ModelFileError(f"array {name!r} has a bad checksum in metadata")
    return ArraySpec(dtype, tuple(shape), digest, nbytes)


def _dtype(name, text):
    """The dtype the metadata declares, as written by save() (``dtype.str``)."""
    if not isinstance(text, str) or len(text) > 32:
        raise ModelFileError(f"array {name!r} has a bad dtype in metadata: {str(text)[:40]}")
    dtype = _parse_dtype(text)
    if dtype is None:
        raise ModelFileError(f"array {name!r} has an unknown dtype {text!r}")
    if dtype.kind == "O" or dtype.hasobject:
        raise ModelFileError(f"refusing to load array {name!r} of dtype {text}: it would "
                             "need pickle")
    if dtype.kind not in SAFE_KINDS or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.str != text:
        raise ModelFileError(f"refusing to load array {name!r} of dtype {text}: not a "
                             "supported dtype")
    return dtype


def _parse_dtype(text):
    """``np.dtype(text)``, or None where numpy cannot parse it."""
    try:
        return np.dtype(text)
    # Warning: a deprecated alias ("a3") under -W error; its dtype.str differs anyway
    except (TypeError, ValueError, SyntaxError, OverflowError, Warning):
        return None


# --------------------------------------------------------------------------- reading
def read_member(zf, member, limit):
    """The bytes of ``member`` of open zip ``zf``, refused if they exceed ``limit``.

    The size the zip records is checked before anything is decompressed; the read itself
    stops one byte past the limit, so a member whose record lies is caught as well.
    """
    with _open_member(zf, member, limit) as fh:
        try:
            data = fh.read(limit + 1)
        except ZIP_ERRORS as exc:
            raise ModelFileError(f"member {member!r} is corrupt: {exc}") from exc
    if len(data) > limit:
        raise ModelFileError(f"member {member!r} inflates to more than {limit} bytes")
    return data


def _open_member(zf, member, limit):
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise ModelFileError(f"the file has no member {member!r}") from None
    if info.file_size > limit:
        raise ModelFileError(f"member {member!r} would inflate to {info.file_size} bytes, "
                             f"more than the {limit} allowed for it")
    try:
        return zf.open(info)
    except ZIP_ERRORS as exc:
        raise ModelFileError(f"member {member!r} is corrupt: {exc}") from exc


def read_array(zf, name, spec):
    """Array ``name``, stored in member ``<name>.npy``, which must match ``spec``.

    Its header must declare exactly the dtype and shape of ``spec`` before any data is
    read (so the allocation is the declared one), and the data must fill it exactly.
    Pickled (object) arrays are never read. The digest is the caller's to check.
    """
    member = f"{name}.npy"
    with _open_member(zf, member, spec.nbytes + NPY_HEADER_ALLOWANCE) as fh:
        try:
            dtype, shape, fortran = _npy_header(fh, name)
            if dtype != spec.dtype or dtype.str != spec.dtype.str or shape != spec.shape:
                raise ModelFileError(
                    f"refusing to load array {name!r}: it holds {dtype.str} {shape} but "
                    f"the metadata declares {spec.dtype.str} {spec.shape}")
            arr = _npy_data(fh, member, dtype, shape, fortran)
            if fh.read(1):
                raise ModelFileError(f"array member {member!r} has bytes after its data")
        except ZIP_ERRORS as exc:
            raise ModelFileError(f"array member {member!r} is corrupt: {exc}") from exc
    return arr


def _npy_header(fh, name):
    """(dtype, shape, fortran_order) from the header of a ``.npy`` stream.

    The header is matched against the exact text numpy writes for the dtypes a file may
    hold, never evaluated: numpy's own parser runs ``ast.literal_eval`` on it and, fed
    crafted bytes, raises tokenize.TokenError, SyntaxError or warnings.
    """
    magic = fh.read(8)
    if len(magic) != 8 or not magic.startswith(b"\x93NUMPY") or magic[6:] not in _NPY_VERSIONS:
        raise _bad_header(name, f"no .npy magic of version 1.0 or 2.0: {magic!r}")
    width = _NPY_VERSIONS[magic[6:]]
    length = int.from_bytes(fh.read(width), "little")
    if length > NPY_HEADER_ALLOWANCE:
        raise _bad_header(name, f"it claims {length} bytes")
    text = fh.read(length).decode("latin1")
    match = _NPY_HEADER.fullmatch(text)
    if match is None:
        raise _bad_header(name, repr(text[:100]))
    descr, fortran, shape = match.groups()
    dtype = _parse_dtype(descr)
    if dtype is None:
        raise _bad_header(name, f"unknown dtype {descr!r}")
    return dtype, tuple(int(n) for n in re.findall(r"\d+", shape)), fortran == "True"


def _bad_header(name, why):
    return ModelFileError(f"refusing to load array {name!r}: bad .npy header ({why})")


def _npy_data(fh, member, dtype, shape, fortran):
    """Read the data of an array already checked against its declaration, in chunks
    straight into its buffer (no second copy of a large array)."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    buf = np.empty(nbytes, dtype=np.uint8)
    view, pos = memoryview(buf), 0
    while pos < nbytes:
        chunk = fh.read(min(_CHUNK, nbytes - pos))
        if not chunk:
            raise ModelFileError(f"array member {member!r} is truncated: {pos} of "
                                 f"{nbytes} bytes")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    return buf.view(dtype).reshape(shape, order="F" if fortran else "C")
