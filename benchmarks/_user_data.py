"""Benchmark cases on a data file of the user's: the check on data the benchmarks never saw.

``--data PATH`` (``bench_path.py``, ``bench_cv.py``, ``equal_accuracy.py``) reads a design and
a response from a file and adds cases on it next to the synthetic ones:
``<family>-lasso-<name>`` and ``<family>-enet-<name>`` for the gaussian family,
``<family>-l1-<name>`` for the binomial and poisson ones, where ``<name>`` is the file's
name without its suffix. Formats (no pickle anywhere):

* svmlight / libsvm text (``.svm``, ``.svmlight``, ``.libsvm``, ``.txt``), as real text
  and click data sets are distributed (read by scikit-learn's ``load_svmlight_file``;
  the design becomes CSC);
* ``.npz`` written by ``numpy.savez``, holding ``y`` and either a dense ``X`` or a
  scipy sparse matrix's ``data``, ``indices``, ``indptr`` and ``shape`` (with
  ``format`` ``csr`` or ``csc``; ``scipy.sparse.save_npz`` writes those keys, so
  ``np.savez(path, y=y, **dict(np.load(saved_npz)))`` adds the response to one).

The family is ``--family`` or, without it, binomial when ``y`` takes exactly two values
(mapped to 0 and 1 in sorted order: svmlight's -1/+1 labels) and gaussian otherwise. The
benchmark then treats the file as it treats its own designs: the data as read for
``--defaults`` (every library standardizes on its own), columns scaled (sparse) or
standardized (dense) and a gaussian ``y`` standardized for the common objective.

Worker processes learn the cases from the environment variable :data:`DATA_ENV` (a JSON
list of ``[path, family]``), which :func:`register_data` sets in the process that parses
the command line, so every process resolves the same names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import scipy.sparse as sp

__all__ = ["DATA_ENV", "FAMILIES", "SVMLIGHT_SUFFIXES", "binary_response", "case_suffix",
           "check_family", "file_tag", "infer_family", "read_data_file", "registered",
           "remember"]

#: the environment variable that carries the user's data files to worker processes
DATA_ENV = "SHRINKAGE_BENCH_DATA"
#: suffixes read as svmlight / libsvm text
SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm", ".txt")
#: family -> the (penalty name, l1_ratio) cases registered for a file
FAMILIES = {"gaussian": (("lasso", 1.0), ("enet", 0.5)), "binomial": (("l1", 1.0),),
            "poisson": (("l1", 1.0),)}


def read_data_file(path: str):
    """``(X, y)`` from ``path``: X CSC float64 with sorted indices or dense Fortran float64,
    y float64; a ``ValueError`` names what is wrong with the file."""
    suffix = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file: {path}")
    if suffix in SVMLIGHT_SUFFIXES:
        from sklearn.datasets import load_svmlight_file

        X, y = load_svmlight_file(path, dtype=np.float64)
    elif suffix == ".npz":
        X, y = _read_npz(path)
    else:
        raise ValueError(f"--data: {path}: unknown format {suffix!r}; use svmlight text "
                         f"({', '.join(SVMLIGHT_SUFFIXES)}) or .npz (numpy.savez)")
    if sp.issparse(X):
        X = sp.csc_matrix(X, dtype=np.float64)
        X.sort_indices()
        values = X.data
    else:
        X = np.asfortranarray(X, dtype=np.float64)
        values = X
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"--data: {path}: X must be 2-D with at least 2 rows and 1 column, "
                         f"got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"--data: {path}: y must be 1-D with one value per row of X "
                         f"({X.shape[0]}), got shape {y.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"--data: {path}: X holds NaN or infinite values")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"--data: {path}: y holds NaN or infinite values")
    return X, y


def _read_npz(path: str):
    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        if "y" not in keys:
            raise ValueError(f"--data: {path}: the .npz holds no 'y' (the response); "
                             f"keys: {sorted(keys)}")
        y = f["y"]
        if "X" in keys:
            X = f["X"]
            if not np.issubdtype(X.dtype, np.number):
                raise ValueError(f"--data: {path}: X is not numeric (dtype {X.dtype})")
            return X, y
        parts = {"data", "indices", "indptr", "shape"}
        if not parts <= keys:
            raise ValueError(f"--data: {path}: the .npz needs 'X' (dense) or the sparse "
                             f"arrays {sorted(parts)}; keys: {sorted(keys)}")
        fmt = f["format"].item() if "format" in keys else "csc"
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        kinds = {"csc": sp.csc_matrix, "csr": sp.csr_matrix}
        if fmt not in kinds:
            raise ValueError(f"--data: {path}: sparse format {fmt!r}; csr or csc expected")
        shape = tuple(int(s) for s in f["shape"])
        X = kinds[fmt]((f["data"], f["indices"], f["indptr"]), shape=shape)
        return X, y


def infer_family(y: np.ndarray) -> str:
    """binomial when ``y`` takes exactly two values, else gaussian."""
    return "binomial" if np.unique(y).size == 2 else "gaussian"


def binary_response(y: np.ndarray, path: str) -> np.ndarray:
    """``y`` as 0/1 (its two values in sorted order); a ``ValueError`` otherwise."""
    values = np.unique(y)
    if values.size != 2:
        raise ValueError(f"--data: {path}: the binomial family needs exactly two values of "
                         f"y, found {values.size}")
    return (y == values[1]).astype(np.float64)


def check_family(y: np.ndarray, family: str, path: str) -> None:
    """A ``ValueError`` when ``y`` cannot be a response of ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"--family: {family!r}; one of {sorted(FAMILIES)}")
    if family == "binomial":
        binary_response(y, path)
    elif family == "poisson" and (np.any(y < 0) or np.all(y == 0)):
        raise ValueError(f"--data: {path}: the poisson family needs non-negative counts, "
                         "not all zero")
    elif family == "gaussian" and np.ptp(y) == 0:
        raise ValueError(f"--data: {path}: y is constant")


def case_suffix(path: str) -> str:
    """The ``<name>`` of a file's cases: its name without suffix, reduced to ``[A-Za-z0-9_.]``
    runs joined by ``_``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[^A-Za-z0-9_.]+", "_", stem).strip("_") or "data"


def file_tag(path: str) -> str:
    """A folder-safe tag for a file's prepared data, which changes when the file does."""
    st = os.stat(path)
    key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode()
    return f"file-{case_suffix(path)}-{hashlib.sha1(key).hexdigest()[:10]}"


def registered() -> list[tuple[str, str]]:
    """The ``(path, family)`` pairs in :data:`DATA_ENV`."""
    raw = os.environ.get(DATA_ENV, "")
    if not raw:
        return []
    return [(str(p), str(f)) for p, f in json.loads(raw)]


def remember(path: str, family: str) -> None:
    """Add ``(path, family)`` to :data:`DATA_ENV` for the worker processes."""
    entries = [list(e) for e in registered()]
    if [path, family] not in entries:
        entries.append([path, family])
    os.environ[DATA_ENV] = json.dumps(entries)
