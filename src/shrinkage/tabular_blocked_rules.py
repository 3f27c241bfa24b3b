"""The encoding rules of :mod:`shrinkage.tabular`, applied to summaries of many files.

A table spread over files is read one file at a time, so the rules that look at a whole
column (its kind, its levels, its mean for imputation, whether it identifies rows, the
family its target implies) are applied to a *summary* of each file, merged in file order:

* numeric columns: rows, non-finite cells (missing or infinite), the running mean and
  sum of squared deviations (Chan's pairwise update, so the standard deviation loses no
  digits), the range, whether every value is an integer, the first three distinct values,
  the first and last values and whether the values increase strictly within every file;
* categorical columns: the count of every level and of missing cells.

The merged summary gives the same column specs, notes, family and identifier columns as
:func:`shrinkage.tabular.encode_for_fit` on the concatenated table, with one difference
stated in the notes: a numeric identifier (a permutation of consecutive integers) is
recognised when its values are distinct within each file, span ``n`` consecutive
integers and sum to the sum of those integers (a whole-table distinct count would need
every value in memory).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .tabular_encode import ROW_NAME_COLUMNS, categorical_spec
from .tabular_read import DataError, label_text

__all__ = ["summarize_table", "merge_summaries", "infer_family", "identifier_names",
           "column_spec", "describe_summary", "class_labels", "MAX_LEVELS"]

#: A categorical column with more levels than this, not all distinct, is refused on
#: blocked data (its one-hot block would not fit a worker); exclude it or recode it.
MAX_LEVELS = 10_000


def summarize_table(table):
    """The summary of one file's :class:`~shrinkage.tabular_read.Table` (module
    docstring): ``{"n": rows, "source": file, "columns": {name: summary}}``."""
    out = {}
    for name, col in table.columns.items():
        miss = table.missing(name)
        if table.is_numeric(name):
            v = col[~miss]
            distinct = np.unique(v)
            out[name] = {
                "kind": "numeric", "missing": int(miss.sum()),
                "inf": int(np.isinf(col).sum()), "count": int(v.size),
                "mean": float(v.mean()) if v.size else 0.0,
                "m2": float(((v - v.mean()) ** 2).sum()) if v.size else 0.0,
                "min": float(v.min()) if v.size else np.inf,
                "max": float(v.max()) if v.size else -np.inf,
                "integer": bool(np.all(v == np.round(v))),
                "values": [float(x) for x in distinct[:3]],
                "distinct": bool(distinct.size == v.size),
                "first": float(col[0]) if col.size else np.nan,
                "last": float(col[-1]) if col.size else np.nan,
                "increasing": bool(np.all(np.diff(col) > 0)),
            }
        else:
            out[name] = {"kind": "categorical", "missing": int(miss.sum()),
                         "counts": Counter(col[~miss].tolist())}
    return {"n": table.n_rows, "source": table.source, "columns": out}


def _merge_numeric(a, b):
    n = a["count"] + b["count"]
    delta = b["mean"] - a["mean"]
    mean = a["mean"] + delta * b["count"] / n if n else 0.0
    m2 = a["m2"] + b["m2"] + (delta * delta * a["count"] * b["count"] / n if n else 0.0)
    return {
        "kind": "numeric", "missing": a["missing"] + b["missing"], "inf": a["inf"] + b["inf"],
        "count": n, "mean": mean, "m2": m2, "min": min(a["min"], b["min"]),
        "max": max(a["max"], b["max"]), "integer": a["integer"] and b["integer"],
        "values": sorted(set(a["values"]) | set(b["values"]))[:3],
        "distinct": a["distinct"] and b["distinct"], "first": a["first"], "last": b["last"],
        "increasing": a["increasing"] and b["increasing"] and a["last"] < b["first"],
    }


def merge_summaries(summaries):
    """One summary of the concatenated files, in file order.

    Raises
    ------
    DataError
        When the files do not have the same columns, or a column is numeric in one file
        and text in another.
    """
    first = summaries[0]
    names = list(first["columns"])
    merged = dict(first["columns"])
    for s in summaries[1:]:
        if list(s["columns"]) != names:
            extra = sorted(set(s["columns"]) ^ set(names))
            raise DataError(f"{s['source']} does not have the columns of {first['source']}"
                            + (f" (differs in {extra[0]!r})" if extra else " (order)"))
        for name in names:
            a, b = merged[name], s["columns"][name]
            if a["kind"] != b["kind"]:
                kinds = {a["kind"], b["kind"]}
                if "categorical" in kinds and _all_missing(a if a["kind"] == "numeric" else b):
                    a, b = (_as_categorical(a), b) if a["kind"] == "numeric" else (
                        a, _as_categorical(b))
                else:
                    raise DataError(
                        f"column {name!r} is numeric in some files and text in others "
                        f"(text in {s['source'] if b['kind'] == 'categorical' else first['source']}"
                        "); give it one type in every file")
            if a["kind"] == "numeric":
                merged[name] = _merge_numeric(a, b)
            else:
                merged[name] = {"kind": "categorical", "missing": a["missing"] + b["missing"],
                                "counts": a["counts"] + b["counts"]}
            if merged[name]["kind"] == "categorical" and len(merged[name]["counts"]) > \
                    MAX_LEVELS and max(merged[name]["counts"].values()) > 1:
                raise DataError(f"column {name!r} has more than {MAX_LEVELS:,} levels; leave "
                                f"it out (--exclude {name}) or recode it")
    return {"n": sum(s["n"] for s in summaries), "source": first["source"],
            "columns": merged}


def _all_missing(s):
    return s["count"] == 0


def _as_categorical(s):
    return {"kind": "categorical", "missing": s["missing"], "counts": Counter()}


def class_labels(s):
    """The sorted class labels of a target summary (as ``label_text`` writes them)."""
    if s["kind"] == "numeric":
        return sorted(label_text(v) for v in s["values"])
    return sorted(str(v) for v in s["counts"])


def infer_family(s, target, family):
    """The family of the target summary ``s``, as
    :func:`shrinkage.tabular.encode_for_fit` infers and checks it."""
    numeric = s["kind"] == "numeric"
    n_classes = len(s["values"]) if numeric else len(s["counts"])
    if family == "auto":
        if not numeric:
            family = "binomial" if n_classes <= 2 else "multinomial"
        else:
            family = "binomial" if n_classes == 2 else "gaussian"
    if family in ("gaussian", "poisson"):
        if not numeric:
            bad = next(iter(s["counts"]), None)
            raise DataError(
                f"target {target!r} is not numeric (it holds {bad!r}); family {family!r} "
                "needs numbers (use --family binomial or multinomial for class labels)")
        if family == "poisson" and s["min"] < 0:
            raise DataError(f"target {target!r} has negative values; poisson needs counts >= 0")
    elif n_classes < 2:
        raise DataError(f"target {target!r} has a single class; classification needs at "
                        "least two")
    elif family == "binomial" and n_classes > 2:
        raise DataError(f"target {target!r} has more than 2 classes; use --family multinomial")
    return family


def identifier_names(merged, names):
    """The identifier columns among ``names`` (rules of
    :func:`shrinkage.tabular.identifier_columns`; module docstring for numeric ones)."""
    n = merged["n"]
    found = []
    for name in names:
        s = merged["columns"][name]
        if n < 3 or s["missing"]:
            continue
        if s["kind"] == "categorical":
            if len(s["counts"]) == n:
                found.append(name)
            continue
        if not s["integer"]:
            continue
        lo, hi = s["min"], s["max"]
        consecutive = (hi - lo == n - 1 and s["distinct"]
                       and abs(s["mean"] * n - n * (lo + hi) / 2) <= 1e-9 * n * max(
                           abs(lo), abs(hi), 1.0))
        increasing = name in ROW_NAME_COLUMNS and s["increasing"]
        if consecutive or increasing:
            found.append(name)
    return found


def column_spec(name, s, impute, notes):
    """The encoding of one feature column from its merged summary (the rules and notes
    of :func:`shrinkage.tabular.encode_for_fit`)."""
    present = s["count"] if s["kind"] == "numeric" else sum(s["counts"].values())
    if present == 0:
        raise DataError(f"column {name!r} has no values")
    if s["missing"] and not impute:
        raise DataError(f"column {name!r} has {s['missing']} missing or non-finite values; "
                        "fill them, or pass --impute (numeric: mean, categorical: most "
                        "frequent)")
    if s["kind"] == "numeric":
        if s["missing"]:
            what = "missing or non-finite" if s["inf"] else "missing"
            notes.append(f"imputed {s['missing']} {what} values of {name!r} with the "
                         f"mean {s['mean']:.4g}")
        return {"name": name, "kind": "numeric", "fill": float(s["mean"])}
    return categorical_spec(name, s["counts"], int(s["missing"]), notes)


def describe_summary(merged):
    """The report's column rows ``(name, kind, missing, summary)`` of
    :func:`shrinkage.tabular.describe_columns`, from a merged summary."""
    rows = []
    for name, s in merged["columns"].items():
        if s["kind"] == "numeric":
            if s["count"]:
                sd = float(np.sqrt(s["m2"] / s["count"]))
                mean = 0.0 if abs(s["mean"]) < 1e-12 * sd else s["mean"]
                summary = (f"mean {mean:.4g}, sd {sd:.4g}, range [{s['min']:.4g}, "
                           f"{s['max']:.4g}]")
            else:
                summary = "no values"
            if s["inf"]:
                summary += f"; {s['inf']} infinite"
            rows.append((name, "numeric", s["missing"], summary))
        else:
            counts = s["counts"]
            order = sorted(sorted(counts), key=lambda v: -counts[v])[:5]
            top = ", ".join(f"{v} ({counts[v]})" for v in order)
            more = ", ..." if len(counts) > 5 else ""
            rows.append((name, "categorical", s["missing"],
                         f"{len(counts)} levels: {top}{more}"))
    return rows
