"""Encoding tables for a fit: column roles, identifiers, indicators, the design matrix.

The rules are stated in :mod:`shrinkage.tabular`; :func:`encode_for_fit` applies them
and :func:`design_matrix` builds the float64 Fortran-ordered matrix the solvers read,
once, column by column.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .tabular_read import (
    DataError,
    absent_values,
    check_columns,
    first_text,
    label_text,
    row_numbers,
)

__all__ = ["FAMILIES", "ROW_NAME_COLUMNS", "Encoded", "categorical_spec", "encode_for_fit",
           "design_matrix", "identifier_columns", "numeric_column"]

FAMILIES = ("gaussian", "binomial", "poisson", "multinomial")
# Names that writers give a column of row names: R's write.csv ("" or "X" once read back),
# pandas ("Unnamed: 0", "__index_level_0__"), R's tibble ("rownames").
ROW_NAME_COLUMNS = frozenset({"", "X", "Unnamed: 0", "rownames", "__index_level_0__"})


def numeric_column(table, name, what, rows=None):
    """The finite float values of ``table[name]`` (a weights or offset column).

    Raises
    ------
    DataError
        If the column is not numeric or holds a missing or non-finite value (never
        imputed: a guessed weight or exposure would change the model silently).
    """
    check_columns(table, [name], what)
    if not table.is_numeric(name):
        raise DataError(f"{what} column {name!r} is not numeric (it holds "
                        f"{first_text(table.columns[name])!r})")
    col = table.columns[name]
    miss = table.missing(name) & _mask(rows, table.n_rows)
    if miss.any():
        raise DataError(f"{what} column {name!r} has {absent_values(col, miss)}; fill them")
    return np.array(col if rows is None else col[rows], dtype=float)


def _infer_family(table, target, family, rows):
    col = table.columns[target][rows]
    present = col[~table.missing(target)[rows]]
    n_classes = len(set(present.tolist()))
    if family == "auto":
        if col.dtype == object:
            family = "binomial" if n_classes <= 2 else "multinomial"
        else:
            family = "binomial" if n_classes == 2 else "gaussian"
    if family in ("gaussian", "poisson"):
        if col.dtype == object:
            bad = first_text(present)
            raise DataError(
                f"target {target!r} is not numeric (it holds {bad!r}); family {family!r} "
                "needs numbers (use --family binomial or multinomial for class labels)"
            )
        if family == "poisson" and np.any(present < 0):
            raise DataError(f"target {target!r} has negative values; poisson needs counts >= 0")
        if present.size and np.all(present == present[0]):
            raise DataError(f"target {target!r} is constant (every value {present[0]:g}): "
                            "there is nothing to predict")
    else:
        if n_classes < 2:
            only = label_text(present[0]) if present.size else "none"
            raise DataError(
                f"target {target!r} has a single class ({only}); classification needs "
                "at least two"
            )
        if family == "binomial" and n_classes > 2:
            raise DataError(
                f"target {target!r} has {n_classes} classes; use --family multinomial"
            )
    return family


def identifier_columns(table, names):
    """The columns among ``names`` that identify rows rather than describe them.

    A column is an identifier when it has no missing value and

    * it is categorical with a different level in every row (one-hot encoding would
      give one indicator per row), or
    * it holds integers that are a permutation of consecutive integers (a row number,
      ``1..n`` or ``0..n-1``, or a shuffled one), or
    * it is named as writers name row names (:data:`ROW_NAME_COLUMNS`: ``""`` and
      ``"X"`` from R's ``write.csv``, ``"Unnamed: 0"`` from pandas, ``"rownames"``) and
      holds strictly increasing integers (the row names of a subset).

    Tables of fewer than 3 rows have no identifiers.
    """
    n = table.n_rows
    found = []
    for name in names:
        col = table.columns[name]
        if n < 3 or table.missing(name).any():
            continue
        if not table.is_numeric(name):
            if len(set(col.tolist())) == n:
                found.append(name)
            continue
        if not np.all(col == np.round(col)):
            continue
        lo, hi = float(np.min(col)), float(np.max(col))
        consecutive = hi - lo == n - 1 and np.unique(col).size == n
        increasing = name in ROW_NAME_COLUMNS and np.all(np.diff(col) > 0)
        if consecutive or increasing:
            found.append(name)
    return found


# --------------------------------------------------------------------------- encoding
@dataclass(frozen=True)
class Encoded:
    """The outcome of :func:`encode_for_fit`.

    ``X`` is float64 in Fortran order (what the solvers read without a copy);
    ``weights`` and ``offset`` are None unless their columns were named; ``n_read`` is
    the number of rows in the table, ``X.shape[0]`` the number used; ``strata_levels``
    are the sorted strata labels of a Cox response (:mod:`shrinkage.tabular_survival`).
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None
    family: str
    columns: list
    feature_names: list
    notes: list
    weights: np.ndarray | None = None
    offset: np.ndarray | None = None
    n_read: int = 0
    identifiers: list = field(default_factory=list)
    strata_levels: list = field(default_factory=list)


def _roles(table, target, exclude, keep, groups, weights, offset):
    """Check the column roles: one role per column, every named column exists."""
    check_columns(table, [target], "--target")
    check_columns(table, exclude, "--exclude")
    check_columns(table, keep, "--keep")
    roles = {"--groups": groups, "--weights": weights, "--offset": offset}
    for option, name in roles.items():
        if name is not None:
            check_columns(table, [name], option)
            if name == target:
                raise DataError(f"{option} cannot be the target column")
    named = [n for n in roles.values() if n is not None]
    if len(set(named)) < len(named):
        raise DataError("--groups, --weights and --offset must name different columns")
    if target in exclude:
        raise DataError(f"the target {target!r} is also excluded")
    both = sorted(set(exclude) & set(keep))
    if both:
        raise DataError(f"column {both[0]!r} is given to both --exclude and --keep")
    return set(named)


def _column_spec(table, name, rows, impute, notes):
    """The encoding of one feature column (see :func:`apply_encoding`), with its notes."""
    miss_all = table.missing(name) & _mask(rows, table.n_rows)
    col, miss = table.columns[name][rows], miss_all[rows]
    if miss.all():
        raise DataError(f"column {name!r} has no values: "
                        f"{absent_values(table.columns[name], miss_all)}")
    if miss.any() and not impute:
        raise DataError(
            f"column {name!r} has {absent_values(table.columns[name], miss_all)}; "
            "fill them, or pass --impute (numeric: mean, categorical: most frequent)"
        )
    if table.is_numeric(name):
        fill = float(np.mean(col[~miss]))
        if miss.any():
            what = "missing or non-finite" if np.isinf(col).any() else "missing"
            notes.append(f"imputed {int(miss.sum())} {what} values of {name!r} with the "
                         f"mean {fill:.4g}")
        return {"name": name, "kind": "numeric", "fill": fill}
    return categorical_spec(name, Counter(col[~miss].tolist()), int(miss.sum()), notes)


def categorical_spec(name, counts, missing, notes):
    """The encoding of a categorical column from its level counts (missing values apart).

    Levels sorted; the fill for missing values is the first of the most frequent levels;
    two levels become one indicator against the first. Appends the notes the user reads
    (encoding, a likely identifier column, imputation) to ``notes``. Shared by the
    in-memory and the block-by-block readers so both encode a column identically.
    """
    levels = sorted(counts)
    present = int(sum(counts.values()))
    fill = max(levels, key=lambda v: counts[v])
    spec = {"name": name, "kind": "categorical", "levels": levels, "fill": fill}
    if len(levels) == 2:
        spec["reference"] = levels[0]
        notes.append(f"encoded {name!r} as one indicator {name}={levels[1]} (reference "
                     f"level: {levels[0]})")
    else:
        shown = ", ".join(levels[:8]) + (", ..." if len(levels) > 8 else "")
        notes.append(f"one-hot encoded {name!r} ({len(levels)} levels: {shown})")
    if len(levels) >= 20 and len(levels) > 0.5 * present:
        notes.append(f"{name!r} has {len(levels)} levels in {present} rows: "
                     f"an identifier or free text? Consider --exclude {name}")
    if missing:
        notes.append(f"imputed {missing} missing values of {name!r} with the "
                     f"most frequent level {fill!r}")
    return spec


def _mask(rows, n):
    if rows is None or (isinstance(rows, slice) and rows == slice(None)):
        return np.ones(n, dtype=bool)
    m = np.zeros(n, dtype=bool)
    m[rows] = True
    return m


def encode_for_fit(table, target, *, family="auto", exclude=(), groups=None, impute=False,
                   keep=(), weights=None, offset=None):
    """Encode a table for fitting; see the module docstring for the rules.

    Parameters
    ----------
    table : Table
    target : str
    family : {"auto", "gaussian", "binomial", "poisson", "multinomial"}
    exclude : sequence of str
        Columns left out.
    groups : str, optional
        Column of CV groups (not a feature).
    impute : bool
        Fill missing values of features; drop rows whose target is missing.
    keep : sequence of str
        Identifier columns (:func:`identifier_columns`) to use as features anyway.
    weights, offset : str, optional
        Columns of sample weights (>= 0) and of the offset (not features).

    Returns
    -------
    Encoded
        With ``columns`` the encoding spec (list of dicts) reused by :func:`apply_encoding`.
    """
    if family not in ("auto",) + FAMILIES:
        raise DataError(f"family must be auto or one of {', '.join(FAMILIES)}, got {family!r}")
    exclude, keep = list(exclude), list(keep)
    special = _roles(table, target, exclude, keep, groups, weights, offset)
    notes = []
    miss_y = table.missing(target)
    rows = slice(None)
    if miss_y.any():
        if not impute:
            raise DataError(
                f"target {target!r} has {absent_values(table.columns[target], miss_y)}; "
                "remove them, or pass --impute to drop those rows"
            )
        if miss_y.all():
            raise DataError(f"target {target!r} has no values")
        rows = np.flatnonzero(~miss_y)
        notes.append(f"dropped {int(miss_y.sum())} rows whose target {target!r} is missing "
                     f"or non-finite ({rows.size} of {table.n_rows} rows used)")
    family = _infer_family(table, target, family, rows)
    if family == "multinomial" and offset is not None:
        raise DataError("--offset does not apply to multinomial models: adding the same "
                        "offset to every class changes no class probability")

    group_ids = None
    if groups is not None:
        if table.missing(groups)[rows].any():
            raise DataError(f"groups column {groups!r} has missing values")
        group_ids = np.unique(table.columns[groups][rows].astype(str), return_inverse=True)[1]
    w = None if weights is None else numeric_column(table, weights, "weights", rows)
    if w is not None and (np.any(w < 0) or not np.any(w > 0)):
        raise DataError(f"weights column {weights!r} must be >= 0 with a positive value")
    off = None if offset is None else numeric_column(table, offset, "offset", rows)

    candidates = [c for c in table.columns
                  if c != target and c not in special and c not in exclude]
    for name in candidates:
        refuse_stray_text(table, name, rows)
    ids = [c for c in identifier_columns(table, candidates) if c not in keep]
    features = [c for c in candidates if c not in ids]
    if not features:
        raise DataError("no feature columns are left after the target, --groups, --weights, "
                        "--offset, --exclude and identifier columns")
    if exclude:
        notes.append(f"excluded columns: {', '.join(exclude)}")
    if ids:
        shown = ", ".join(repr(c) + (" (unnamed)" if c == "" else "") for c in ids)
        notes.append(f"left out identifier columns (a different value in every row): "
                     f"{shown}; pass --keep COL to use one")
    columns = [_column_spec(table, name, rows, impute, notes) for name in features]
    X, names = design_matrix(table, columns, rows=rows, impute=True)
    check_distinct_features(columns)
    y = table.columns[target][rows]
    if family in ("binomial", "multinomial"):
        y = np.array([label_text(v) for v in y], dtype=str)
    return Encoded(X, y, group_ids, family, columns, names, notes, weights=w, offset=off,
                   n_read=table.n_rows, identifiers=ids)


#: A text column is taken for numbers with stray text when at most this share of its
#: values (and at least ``STRAY_MIN_NUMBERS`` of them are numbers) fail to parse.
STRAY_SHARE = 0.05
STRAY_MIN_NUMBERS = 10


def refuse_stray_text(table, name, rows):
    """Refuse a text column that holds numbers except in a few cells (``"oops"``, ``"n/a"``
    typed into a column of measurements).

    Read as text, such a column would become categories: one indicator per distinct
    number, or an identifier column left out when every number differs, and the fit
    would go on with the strongest predictor lost. A column with at least
    ``STRAY_MIN_NUMBERS`` numbers and at most ``STRAY_SHARE`` of other cells is refused,
    naming the cells; a truly categorical column (levels that are words, or numeric
    codes of a few levels mixed with words) is not affected.
    """
    col = table.columns[name]
    if col.dtype != object:
        return
    col = col[rows] if rows is not None else col
    text = np.zeros(col.shape[0], dtype=bool)
    # past this many text cells the column is categorical: stop parsing (a column of
    # words would otherwise try every cell)
    most = STRAY_SHARE * (col.shape[0] - int(np.count_nonzero(np.equal(col, None))))
    numbers = bad = 0
    for i, v in enumerate(col):
        if v is None:
            continue
        try:
            float(v)
            numbers += 1
        except ValueError:
            text[i] = True
            bad += 1
            if bad > most:
                return
    if bad and numbers >= STRAY_MIN_NUMBERS and bad <= STRAY_SHARE * (numbers + bad):
        first = col[np.flatnonzero(text)[0]]
        raise DataError(
            f"column {name!r} holds numbers except {bad} cell(s) (rows {row_numbers(text)}: "
            f"{first!r}): read as text it would become categories; correct or empty those "
            "cells (an empty cell is missing: --impute fills it), or --exclude the column")


def factor_labels(columns):
    """The column each design-matrix column comes from (a factor's indicators share its
    name): the ``feature_groups`` that penalise every factor as one group."""
    return [spec["name"] for spec in columns for _ in _spec_names(spec)]


def check_distinct_features(columns):
    """Refuse an encoding in which two design-matrix columns share a name.

    A numeric column named ``"x=a"`` beside a categorical ``x`` with level ``a`` would
    give two features of one name: the summary, the report and the model file could not
    tell them apart.
    """
    seen = {}
    for spec in columns:
        for name in _spec_names(spec):
            if name in seen:
                raise DataError(
                    f"two features would be named {name!r}, from columns {seen[name]!r} and "
                    f"{spec['name']!r} (a categorical column's indicators are named "
                    "column=level); rename one of the columns")
            seen[name] = spec["name"]


def _spec_names(spec):
    if spec["kind"] == "numeric":
        return [spec["name"]]
    ref = spec.get("reference")  # absent in files of shrinkage 0.1.0: one per level
    return [f"{spec['name']}={lv}" for lv in spec["levels"] if lv != ref]


def _codes(table, spec, rows, impute):
    """Index of each row's level among the spec's indicators (-1: the reference level)."""
    name = spec["name"]
    col = table.columns[name][rows]
    if col.dtype.kind == "f":  # a categorical column read as numbers: "1", "2", ...
        col = np.array([None if not np.isfinite(v) else label_text(v) for v in col], dtype=object)
    indicator = {lv: k for k, lv in enumerate(lv for lv in spec["levels"]
                                              if lv != spec.get("reference"))}
    lookup = {lv: indicator.get(lv, -1) for lv in spec["levels"]}
    if impute:
        lookup[None] = lookup[spec["fill"]]
    codes = np.fromiter((lookup.get(v, -2) for v in col), dtype=np.intp, count=col.shape[0])
    if np.any(codes == -2):
        unseen = sorted({str(v) for v, c in zip(col, codes) if c == -2 and v is not None})
        if unseen:
            raise DataError(
                f"column {name!r} has level {unseen[0]!r}, not seen during the fit "
                f"(known levels: {', '.join(spec['levels'])})"
            )
    return codes


def design_matrix(table, columns, *, rows=slice(None), impute=False):
    """The design matrix of ``table[rows]`` under the encoding ``columns``.

    Built once, in Fortran order and float64 (what the solvers read without a copy),
    column by column: no temporary larger than one column, indicator blocks written in
    place.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
    names : list of str
    """
    check_columns(table, [c["name"] for c in columns], "used by the model")
    n = np.arange(table.n_rows)[rows].size
    names = [nm for spec in columns for nm in _spec_names(spec)]
    X = np.empty((n, len(names)), order="F")
    j = 0
    for spec in columns:
        name = spec["name"]
        miss = table.missing(name)[rows]
        if miss.any() and not impute:
            raise DataError(
                f"column {name!r} has {absent_values(table.columns[name][rows], miss)}; "
                "fill them, or pass --impute to use the training fill values"
            )
        if spec["kind"] == "numeric":
            if not table.is_numeric(name):
                raise DataError(f"column {name!r} should be numeric but holds "
                                f"{first_text(table.columns[name])!r}")
            X[:, j] = table.columns[name][rows]
            X[miss, j] = spec["fill"]
            j += 1
            continue
        width = len(_spec_names(spec))
        codes = _codes(table, spec, rows, impute)
        block = X[:, j:j + width]
        block[...] = 0.0
        hit = np.flatnonzero(codes >= 0)
        block[hit, codes[hit]] = 1.0
        j += width
    return X, names
