"""Tables spread over many files (a glob or a folder of Parquet or CSV files).

* :func:`list_files`: the files a glob or a folder names, in sorted order;
* :func:`read_tables`: all of them as one :class:`~shrinkage.tabular_read.Table` (the
  in-memory route, for data that fit);
* :func:`blocked_design`: the blocked route. A first pass reads each file and summarises
  it (:mod:`shrinkage.tabular_blocked_rules`: kinds, levels, means, ranges); the merged
  summary gives the encoding, the same as :func:`shrinkage.tabular.encode_for_fit` on
  the concatenated table. The design is then a :class:`dask.array.Array` with one row
  block per file, each block encoded from its file when a pass reaches it
  (:func:`encode_file`), so no more than a file per worker is ever in memory. The
  response, weights and offset are the last columns of each block: a pass reads a file
  once for all of them.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np

from .tabular_blocked_rules import (
    class_labels,
    column_spec,
    describe_summary,
    identifier_names,
    infer_family,
    merge_summaries,
    summarize_table,
)
from .tabular_encode import check_distinct_features, design_matrix, numeric_column
from .tabular_read import (
    DataError,
    Table,
    label_text,
    parquet_columns,
    read_csv,
)

__all__ = ["SUFFIXES", "list_files", "is_many", "read_file", "read_tables", "data_bytes",
           "BlockedDesign", "blocked_design", "encode_file", "survey"]

#: File name endings read from a folder, and their kind.
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv",
            ".txt": "csv"}


def is_many(data):
    """Whether ``data`` names several files: a folder, or a glob pattern that is not the
    name of a file (``data[1].csv`` may be either)."""
    data = os.fspath(data)
    return os.path.isdir(data) or (glob.has_magic(data) and not os.path.isfile(data))


def list_files(data):
    """The files of a glob or a folder (Parquet or CSV, one kind), sorted by name.

    Raises
    ------
    DataError
        When nothing matches, or the files mix Parquet and CSV.
    """
    data = os.fspath(data)
    if os.path.isdir(data):
        files = [os.path.join(data, f) for f in os.listdir(data)
                 if os.path.splitext(f)[1].lower() in SUFFIXES]
        what = f"no Parquet or CSV files in the folder {data}"
    else:
        files = [f for f in glob.glob(data) if os.path.isfile(f)]
        what = f"no files match {data}"
    if not files:
        raise DataError(what)
    files.sort()
    kinds = {SUFFIXES.get(os.path.splitext(f)[1].lower(), "csv") for f in files}
    if len(kinds) > 1:
        raise DataError(f"{data} matches both Parquet and CSV files; name one kind")
    return files


def read_file(path, columns=None, text=()):
    """One file as a :class:`~shrinkage.tabular_read.Table` (only ``columns``, in file
    order, when given), with the readers of :func:`shrinkage.tabular.read_table`."""
    if SUFFIXES.get(os.path.splitext(path)[1].lower(), "csv") == "csv":
        table = read_csv(path, "\t" if path.lower().endswith(".tsv") else ",", text)
        if columns is None:
            return table
        return Table({c: v for c, v in table.columns.items() if c in columns}, path)
    return Table(parquet_columns(path, columns)[0], path)


def read_tables(data, text=()):
    """Every file of a glob or folder as one table (rows in file order); ``text`` as
    :func:`shrinkage.tabular.read_table`'s."""
    files = list_files(data)
    tables = [read_file(f, text=text) for f in files]
    merge_summaries([summarize_table(t) for t in tables])  # same columns and kinds
    names = list(tables[0].columns)
    cols = {}
    for c in names:
        parts = [t.columns[c] for t in tables]
        if any(p.dtype.kind != "f" for p in parts):  # text here, all missing elsewhere
            parts = [np.full(p.shape, None, dtype=object) if p.dtype.kind == "f" else p
                     for p in parts]
        cols[c] = np.concatenate(parts)
    return Table(cols, os.fspath(data))


def data_bytes(files):
    """The size of the data as float64 in memory: rows x columns x 8 from the Parquet
    footers, or the size of the CSV text (about the same per number)."""
    total = 0
    for f in files:
        if SUFFIXES.get(os.path.splitext(f)[1].lower(), "csv") == "csv":
            total += os.path.getsize(f)
            continue
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(f).metadata
        total += 8 * meta.num_rows * meta.num_columns
    return total


@dataclass
class BlockedDesign:
    """The encoded data of many files: ``X`` (dask, one row block per file), ``y``,
    ``weights``, ``offset`` (dask vectors or None), and what the encoding found."""

    X: object
    y: object
    weights: object
    offset: object
    family: str
    columns: list
    feature_names: list
    notes: list
    classes: list | None
    n_read: int
    describe: list
    files: list = field(default_factory=list)


def survey(files, compute):
    """The first pass: the merged summary of ``files`` and the rows of each file;
    ``compute`` runs a list of delayed summaries (on the scheduler of the fit)."""
    import dask

    summaries = compute([dask.delayed(_summary)(f) for f in files])
    return merge_summaries(summaries), [s["n"] for s in summaries]


def _summary(path):
    return summarize_table(read_file(path))


def _roles(merged, opts):
    names = list(merged["columns"])
    target, exclude, keep = opts["target"], list(opts["exclude"]), list(opts["keep"])
    for role, cols in (("--target", [target]), ("--exclude", exclude), ("--keep", keep),
                       ("--weights", [opts.get("weights")] if opts.get("weights") else []),
                       ("--offset", [opts.get("offset")] if opts.get("offset") else [])):
        for c in cols:
            if c not in names:
                raise DataError(f"{role} column {c!r} is not in the files (columns: "
                                f"{', '.join(names)})")
    special = {c for c in (opts.get("weights"), opts.get("offset")) if c}
    if target in special or target in exclude:
        raise DataError(f"the target {target!r} cannot also be a weights, offset or "
                        "excluded column")
    return [c for c in names if c != target and c not in special and c not in exclude]


def blocked_design(files, opts, compute, summary=None):
    """Encode ``files`` for a blocked fit under the options ``opts`` of ``shrinkage fit``
    (target, family, exclude, keep, impute, weights, offset); ``compute`` runs the
    first pass, unless its result ``summary = survey(files, compute)`` is given."""
    import dask
    import dask.array as da

    merged, lengths = survey(files, compute) if summary is None else summary
    candidates = _roles(merged, opts)
    target = opts["target"]
    ts = merged["columns"][target]
    if ts["missing"]:
        raise DataError(f"target {target!r} has {ts['missing']} missing or non-finite values;"
                        " remove those rows (blocked fits do not drop rows)")
    family = infer_family(ts, target, opts["family"])
    if family not in ("gaussian", "binomial", "poisson", "multinomial"):
        raise DataError(f"family {family} is not fitted on data read in blocks (gaussian, "
                        "binomial, poisson and multinomial are); fit a sample in memory")
    notes = []
    ids = [c for c in identifier_names(merged, candidates) if c not in opts["keep"]]
    features = [c for c in candidates if c not in ids]
    if not features:
        raise DataError("no feature columns are left after the target, --weights, --offset,"
                        " --exclude and identifier columns")
    if opts["exclude"]:
        notes.append(f"excluded columns: {', '.join(opts['exclude'])}")
    if ids:
        notes.append("left out identifier columns (a different value in every row): "
                     f"{', '.join(repr(c) for c in ids)}; pass --keep COL to use one")
    columns = [column_spec(c, merged["columns"][c], opts["impute"], notes) for c in features]
    for role in ("weights", "offset"):
        name = opts.get(role)
        if name and (merged["columns"][name]["kind"] != "numeric"
                     or merged["columns"][name]["missing"]):
            raise DataError(f"{role} column {name!r} must be numeric without missing values")
    if opts.get("weights") and merged["columns"][opts["weights"]]["min"] < 0:
        raise DataError(f"weights column {opts['weights']!r} must be >= 0")
    classes = class_labels(ts) if family in ("binomial", "multinomial") else None
    roles = {"target": target, "weights": opts.get("weights"), "offset": opts.get("offset"),
             "impute": bool(opts["impute"]), "classes": classes}
    probe, names = design_matrix(_empty_table(merged, features), columns)
    check_distinct_features(columns)
    q = probe.shape[1] + 1 + bool(roles["weights"]) + bool(roles["offset"])
    Z = da.concatenate([da.from_delayed(dask.delayed(encode_file)(f, columns, roles),
                                        shape=(m, q), dtype=np.float64)
                        for f, m in zip(files, lengths) if m > 0], axis=0)
    p = len(names)
    return BlockedDesign(
        X=Z[:, :p], y=Z[:, p], weights=Z[:, p + 1] if roles["weights"] else None,
        offset=Z[:, q - 1] if roles["offset"] else None, family=family, columns=columns,
        feature_names=names, notes=notes, classes=classes, n_read=merged["n"],
        describe=describe_summary(merged), files=list(files))


def _empty_table(merged, features):
    cols = {c: np.zeros(0) if merged["columns"][c]["kind"] == "numeric"
            else np.zeros(0, dtype=object) for c in features}
    return Table(cols, "probe")


def encode_file(path, columns, roles):
    """One row block: the design matrix of the file under ``columns``, then the response
    (the class codes ``0..K-1`` of ``classes``: for binomial, 0/1 codes of
    ``classes[1]``), the weights and the offset, as one C-ordered float64 array."""
    need = [c["name"] for c in columns] + [r for r in (roles["target"], roles["weights"],
                                                       roles["offset"]) if r]
    table = read_file(path, set(need))
    X, _ = design_matrix(table, columns, impute=roles["impute"])
    y = table.columns[roles["target"]]
    if roles["classes"] is not None:  # labels of the distinct values, not of every row
        values, codes = np.unique(y if y.dtype.kind == "f" else y.astype(str),
                                  return_inverse=True)
        index = {label: k for k, label in enumerate(roles["classes"])}
        y = np.array([index[label_text(v)] for v in values])[codes.ravel()].astype(float)
    parts = [X, np.asarray(y, dtype=np.float64)[:, None]]
    for role, what in (("weights", "weights"), ("offset", "offset")):
        if roles[role]:
            parts.append(numeric_column(table, roles[role], what)[:, None])
    return np.ascontiguousarray(np.hstack(parts))
