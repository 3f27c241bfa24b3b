"""Tables for the command line: read CSV / Parquet, encode columns, predict from a model.

A table is read into columns that are either numeric (float, NaN = missing) or
categorical (object arrays of str, None = missing). Encoding for a fit:

* numeric columns are used as they are;
* categorical columns are one-hot encoded with one indicator per level (no reference
  level: the penalty, not a dropped column, resolves the redundancy with the intercept,
  as in glmnet); the feature for level ``v`` of column ``c`` is named ``c=v``;
* missing values are refused unless ``impute`` is set, which fills numeric columns with
  their training mean and categorical columns with their most frequent training level
  (and drops rows whose *target* is missing).

:class:`TabularModel` keeps the encoding with the fitted path and its cross-validation,
so ``shrinkage predict`` applies exactly the training transformation. It is saved with
:mod:`shrinkage.io` like any result.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

import numpy as np

from .results import CVResult, Path

FAMILIES = ("gaussian", "binomial", "poisson", "multinomial")
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


class DataError(ValueError):
    """A problem with the user's data, stated in one line."""


# --------------------------------------------------------------------------- reading
@dataclass
class Table:
    """Columns in file order: float arrays (numeric) or object arrays of str/None."""

    columns: dict
    source: str

    @property
    def n_rows(self):
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def is_numeric(self, name):
        return self.columns[name].dtype.kind == "f"

    def missing(self, name):
        col = self.columns[name]
        if col.dtype.kind == "f":
            return np.isnan(col)
        return np.array([v is None for v in col], dtype=bool)


def _typed_column(values):
    """float array if every non-missing value parses as a number, else object of str."""
    missing = np.array([v.strip().lower() in _MISSING for v in values], dtype=bool)
    try:
        # numpy parses the strings itself (fast); missing entries become NaN.
        out = np.array(["nan" if m else v for v, m in zip(values, missing)], dtype=float)
    except ValueError:
        out = None
    if out is not None and np.all(np.isfinite(out[~missing])):
        return out
    return np.array([None if m else v.strip() for v, m in zip(values, missing)], dtype=object)


def _read_csv(path, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header):
        raise DataError(f"{path}: the header has an empty column name")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column names {', '.join(dup)}")
    body = rows[1:]
    if not body:
        raise DataError(f"{path} has a header but no data rows")
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise DataError(
                f"{path}: line {i} has {len(r)} fields, the header has {len(header)}"
            )
    cols = {h: _typed_column([r[j] for r in body]) for j, h in enumerate(header)}
    return Table(cols, os.fspath(path))


def _read_parquet(path):
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow: pip install 'shrinkage[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise DataError(f"{path} is not a readable Parquet file: {exc}") from None
    import pyarrow as pa

    cols = {}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pat.is_integer(t) or pat.is_floating(t) or pat.is_boolean(t) or pat.is_decimal(t):
            # Nulls become NaN in the cast to float64.
            cols[name] = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False),
                                    dtype=float)
        elif pat.is_temporal(t):
            raise DataError(
                f"{path}: column {name!r} holds dates or times ({t}); convert it to numbers "
                f"or leave it out (--exclude {name})"
            )
        else:
            cols[name] = np.array([None if v is None else str(v) for v in col.to_pylist()],
                                  dtype=object)
    if not cols or table.num_rows == 0:
        raise DataError(f"{path} has no data rows")
    return Table(cols, os.fspath(path))


def read_table(path):
    """Read a CSV (``.csv``, ``.tsv``, ``.txt``) or Parquet (``.parquet``, ``.pq``) file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, expected a CSV or Parquet file")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".parquet", ".pq"):
        return _read_parquet(path)
    if ext in (".csv", ".txt", ".tsv", ""):
        return _read_csv(path, "\t" if ext == ".tsv" else ",")
    raise DataError(f"{path}: unknown file type {ext!r}; use .csv, .tsv or .parquet")


def describe_columns(table):
    """One row per column: (name, "numeric"/"categorical", missing count, summary)."""
    rows = []
    for name, col in table.columns.items():
        miss = table.missing(name)
        present = col[~miss]
        if table.is_numeric(name):
            mean, sd = (np.mean(present), np.std(present)) if present.size else (0.0, 0.0)
            if abs(mean) < 1e-12 * sd:  # a centred column: print 0, not rounding noise
                mean = 0.0
            summary = (
                f"mean {mean:.4g}, sd {sd:.4g}, "
                f"range [{np.min(present):.4g}, {np.max(present):.4g}]"
                if present.size else "no values"
            )
            rows.append((name, "numeric", int(miss.sum()), summary))
        else:
            levels, counts = np.unique(present.astype(str), return_counts=True)
            order = np.argsort(-counts, kind="stable")[:5]
            top = ", ".join(f"{levels[i]} ({counts[i]})" for i in order)
            more = ", ..." if levels.size > 5 else ""
            rows.append((name, "categorical", int(miss.sum()),
                         f"{levels.size} levels: {top}{more}"))
    return rows


# --------------------------------------------------------------------------- encoding
def _rows(mask, limit=3):
    """1-based data-row numbers of the first few True entries."""
    idx = np.flatnonzero(mask)[:limit] + 1
    more = ", ..." if mask.sum() > limit else ""
    return ", ".join(str(i) for i in idx) + more


def _check_columns(table, names, what):
    for name in names:
        if name not in table.columns:
            raise DataError(
                f"unknown column {name!r} ({what}); the columns are: "
                f"{', '.join(table.columns)}"
            )


def _first_text(col):
    """The first value of a column that is not a number (for error messages)."""
    for v in col:
        if v is None:
            continue
        try:
            float(v)
        except ValueError:
            return v
    return None


def _label(v):
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _infer_family(table, target, family):
    col = table.columns[target]
    present = col[~table.missing(target)]
    n_classes = np.unique(present.astype(str) if col.dtype == object else present).size
    if family == "auto":
        if col.dtype == object:
            family = "binomial" if n_classes <= 2 else "multinomial"
        else:
            family = "binomial" if n_classes == 2 else "gaussian"
    if family in ("gaussian", "poisson"):
        if col.dtype == object:
            bad = _first_text(present)
            raise DataError(
                f"target {target!r} is not numeric (it holds {bad!r}); family {family!r} "
                "needs numbers (use --family binomial or multinomial for class labels)"
            )
        if family == "poisson" and np.any(present < 0):
            raise DataError(f"target {target!r} has negative values; poisson needs counts >= 0")
    else:
        if n_classes < 2:
            only = _label(present[0]) if present.size else "none"
            raise DataError(
                f"target {target!r} has a single class ({only}); classification needs "
                "at least two"
            )
        if family == "binomial" and n_classes > 2:
            raise DataError(
                f"target {target!r} has {n_classes} classes; use --family multinomial"
            )
    return family


@dataclass(frozen=True)
class Encoded:
    """The outcome of :func:`encode_for_fit`."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None
    family: str
    columns: list
    feature_names: list
    notes: list


def encode_for_fit(table, target, *, family="auto", exclude=(), groups=None, impute=False):
    """Encode a table for fitting; see the module docstring for the rules.

    Returns
    -------
    Encoded
        With ``columns`` the encoding spec (list of dicts) reused by :func:`apply_encoding`.
    """
    if family not in ("auto",) + FAMILIES:
        raise DataError(f"family must be auto or one of {', '.join(FAMILIES)}, got {family!r}")
    exclude = list(exclude)
    _check_columns(table, [target], "--target")
    _check_columns(table, exclude, "--exclude")
    if groups is not None:
        _check_columns(table, [groups], "--groups")
    if target in exclude:
        raise DataError(f"the target {target!r} is also excluded")
    notes = []
    keep = np.ones(table.n_rows, dtype=bool)
    miss_y = table.missing(target)
    if miss_y.any():
        if not impute:
            raise DataError(
                f"target {target!r} has {int(miss_y.sum())} missing values (rows "
                f"{_rows(miss_y)}); remove them, or pass --impute to drop those rows"
            )
        keep &= ~miss_y
        notes.append(f"dropped {int(miss_y.sum())} rows whose target {target!r} is missing")
    if not keep.any():
        raise DataError(f"target {target!r} has no values")
    sub = Table({k: v[keep] for k, v in table.columns.items()}, table.source)
    family = _infer_family(sub, target, family)

    group_ids = None
    if groups is not None:
        if groups == target:
            raise DataError("--groups cannot be the target column")
        if sub.missing(groups).any():
            raise DataError(f"groups column {groups!r} has missing values")
        group_ids = np.unique(sub.columns[groups].astype(str), return_inverse=True)[1]

    features = [c for c in sub.columns if c not in (target, groups) and c not in exclude]
    if not features:
        raise DataError("no feature columns are left after the target, --groups and --exclude")
    if exclude:
        notes.append(f"excluded columns: {', '.join(exclude)}")

    columns = []
    for name in features:
        col = sub.columns[name]
        miss = sub.missing(name)
        if miss.all():
            raise DataError(f"column {name!r} has no values")
        if miss.any() and not impute:
            raise DataError(
                f"column {name!r} has {int(miss.sum())} missing values (rows {_rows(miss)}); "
                "fill them, or pass --impute (numeric: mean, categorical: most frequent)"
            )
        if sub.is_numeric(name):
            fill = float(np.mean(col[~miss]))
            columns.append({"name": name, "kind": "numeric", "fill": fill})
            if miss.any():
                notes.append(f"imputed {int(miss.sum())} missing values of {name!r} with the "
                             f"mean {fill:.4g}")
        else:
            levels, counts = np.unique(col[~miss].astype(str), return_counts=True)
            fill = str(levels[np.argmax(counts)])
            columns.append({"name": name, "kind": "categorical",
                            "levels": [str(v) for v in levels], "fill": fill})
            shown = ", ".join(levels[:8]) + (", ..." if levels.size > 8 else "")
            notes.append(f"one-hot encoded {name!r} ({levels.size} levels: {shown})")
            if levels.size >= 20 and levels.size > 0.5 * (~miss).sum():
                notes.append(f"{name!r} has {levels.size} levels in {int((~miss).sum())} rows: "
                             f"an identifier or free text? Consider --exclude {name}")
            if miss.any():
                notes.append(f"imputed {int(miss.sum())} missing values of {name!r} with the "
                             f"most frequent level {fill!r}")
    X, names = apply_encoding(sub, columns, impute=True)
    y = sub.columns[target]
    if family in ("binomial", "multinomial"):
        y = np.array([_label(v) for v in y], dtype=str)
    return Encoded(X, y, group_ids, family, columns, names, notes)


def apply_encoding(table, columns, *, impute=False):
    """The design matrix of ``table`` under the encoding ``columns`` (from a fit).

    Raises
    ------
    DataError
        For a missing column, a missing value (unless ``impute``), a non-numeric value in
        a numeric column, or a level not seen during the fit.
    """
    _check_columns(table, [c["name"] for c in columns], "used by the model")
    blocks, names = [], []
    for spec in columns:
        name = spec["name"]
        col = table.columns[name]
        miss = table.missing(name)
        if miss.any() and not impute:
            raise DataError(
                f"column {name!r} has {int(miss.sum())} missing values (rows {_rows(miss)}); "
                "fill them, or pass --impute to use the training fill values"
            )
        if spec["kind"] == "numeric":
            if col.dtype.kind != "f":
                raise DataError(
                    f"column {name!r} should be numeric but holds {_first_text(col)!r}"
                )
            blocks.append(np.where(miss, spec["fill"], col)[:, None])
            names.append(name)
        else:
            levels = list(spec["levels"])
            values = np.array([spec["fill"] if m else _label(v) for v, m in zip(col, miss)])
            unseen = sorted({str(v) for v in values} - set(levels))
            if unseen:
                raise DataError(
                    f"column {name!r} has level {unseen[0]!r}, not seen during the fit "
                    f"(known levels: {', '.join(levels)})"
                )
            blocks.append((values[:, None] == np.array(levels)[None, :]).astype(float))
            names.extend(f"{name}={lv}" for lv in levels)
    return np.hstack(blocks), names


# --------------------------------------------------------------------------- model
@dataclass(frozen=True, eq=False)
class TabularModel:
    """A cross-validated path fitted from a table, with the table's encoding.

    Attributes
    ----------
    path : Path
        The full-data path.
    cv : CVResult
        Its cross-validation; ``cv.index_chosen`` is the model used for predictions.
    target : str
    family : str
    columns : list of dict
        The encoding (see :func:`apply_encoding`).
    classes : ndarray of str or None
        Class labels (classification), in the order of the path's class codes.
    notes : list of str
        What was done to the data (one-hot encoding, imputation, exclusions).
    command : str
        The command that produced the model.
    extra : dict
    """

    path: Path
    cv: CVResult
    target: str
    family: str
    columns: list
    classes: np.ndarray | None = None
    notes: list = field(default_factory=list)
    command: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def index(self):
        return int(self.cv.index_chosen)

    @property
    def lam(self):
        return float(self.cv.lam_chosen)

    @property
    def coef(self):
        return np.asarray(self.path.coefs[self.index])

    @property
    def intercept(self):
        return self.path.intercepts[self.index]

    @property
    def feature_names(self):
        return [str(n) for n in self.path.feature_names]

    def linear_predictor(self, X):
        """``b0 + X b`` at the chosen ``lam``: shape (n,) or (n, n_classes).

        ``X`` is the encoded design; a DataFrame must carry the encoded feature names.
        """
        from .validation import check_feature_names

        check_feature_names(X, self.feature_names, "the model")
        return np.asarray(X @ self.coef) + self.intercept

    def predict_table(self, table, *, impute=False):
        """Predictions for every row of ``table``, as named output columns.

        gaussian: ``prediction`` (the mean); poisson: ``prediction`` (the mean count,
        ``exp(eta)``); binomial and multinomial: ``prediction`` (the most probable class)
        and ``probability_<class>`` for each class.
        """
        X, _ = apply_encoding(table, self.columns, impute=impute)
        eta = self.linear_predictor(X)
        if self.family == "gaussian":
            return {"prediction": eta}
        if self.family == "poisson":
            return {"prediction": np.exp(eta)}
        if self.family == "binomial":
            p1 = 0.5 * (1.0 + np.tanh(0.5 * eta))  # expit without overflow
            probs = np.column_stack([1.0 - p1, p1])
        else:
            z = eta - eta.max(axis=1, keepdims=True)
            probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        out = {"prediction": np.asarray(self.classes)[np.argmax(probs, axis=1)]}
        for k, c in enumerate(self.classes):
            out[f"probability_{c}"] = probs[:, k]
        return out
