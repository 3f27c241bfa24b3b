"""Tables for the command line: read CSV / Parquet, encode columns, predict from a model.

A table is read (:mod:`shrinkage.tabular_read`) into columns that are either numeric
(float; NaN = missing, and an infinite value is treated like a missing one) or
categorical (object arrays of str, None = missing). Encoding for a fit:

* numeric columns are used as they are;
* a categorical column with two levels gets one indicator, for its second level in sorted
  order (``student=Yes``; the first, ``No``, is the reference level, named in the notes):
  two indicators would be exact complements, and the lasso would split their effect
  between them arbitrarily;
* other categorical columns are one-hot encoded with one indicator per level (no
  reference level: the penalty, not a dropped column, resolves the redundancy with the
  intercept, as in glmnet); the feature for level ``v`` of column ``c`` is named ``c=v``;
* identifier columns, unique per row, are left out unless named in ``keep`` (see
  :func:`identifier_columns`);
* missing and non-finite values are refused (naming the column and the rows) unless
  ``impute`` is set, which fills numeric columns with their training mean and
  categorical columns with their most frequent training level (and drops rows whose
  *target* is missing);
* a ``weights`` column gives the sample weights and an ``offset`` column a known term of
  the linear predictor (``log(exposure)`` for rates); neither is a feature.

:class:`TabularModel` keeps the encoding with the fitted path and its cross-validation,
so ``shrinkage predict`` applies exactly the training transformation (and the offset
column). It is saved with :mod:`shrinkage.io` like any result.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .results import CVResult, Path
from .tabular_encode import (
    FAMILIES,
    ROW_NAME_COLUMNS,
    Encoded,
    design_matrix,
    encode_for_fit,
    identifier_columns,
    numeric_column,
)
from .tabular_read import DataError, Table, absent_values

__all__ = ["FAMILIES", "ROW_NAME_COLUMNS", "DataError", "Table", "Encoded", "TabularModel",
           "read_table", "describe_columns", "encode_for_fit", "apply_encoding",
           "design_matrix", "identifier_columns", "numeric_column", "absent_values"]


# --------------------------------------------------------------------------- reading
def read_table(path, text=()):
    """Read a CSV (``.csv``, ``.tsv``, ``.txt``) or Parquet (``.parquet``, ``.pq``) file, or
    the files of a glob or folder (:func:`shrinkage.tabular_blocked.read_tables`).

    CSV columns named in ``text`` are read as text even when every cell is a number (a
    model's categorical columns: ``01`` is not the level ``1``); a Parquet column keeps
    the type the file gives it."""
    from .tabular_read import read_csv, read_parquet

    path = os.fspath(path)
    from .tabular_blocked import is_many, read_tables

    if is_many(path):  # a glob or a folder: its files, one after the other
        return read_tables(path, text)
    if not os.path.exists(path):
        raise DataError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, expected a CSV or Parquet file")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".parquet", ".pq"):
        return read_parquet(path)
    if ext in (".csv", ".txt", ".tsv", ""):
        return read_csv(path, "\t" if ext == ".tsv" else ",", text)
    raise DataError(f"{path}: unknown file type {ext!r}; use .csv, .tsv or .parquet")


def describe_columns(table):
    """One row per column: (name, "numeric"/"categorical", missing count, summary).

    The missing count includes infinite values of numeric columns (the summary says how
    many of them there are).
    """
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
            n_inf = int(np.isinf(col).sum())
            if n_inf:
                summary += f"; {n_inf} infinite"
            rows.append((name, "numeric", int(miss.sum()), summary))
        else:
            counts = Counter(present.tolist())
            levels = sorted(counts)
            order = sorted(levels, key=lambda v: -counts[v])[:5]
            top = ", ".join(f"{v} ({counts[v]})" for v in order)
            more = ", ..." if len(levels) > 5 else ""
            rows.append((name, "categorical", int(miss.sum()),
                         f"{len(levels)} levels: {top}{more}"))
    return rows


# --------------------------------------------------------------------------- encoding
def apply_encoding(table, columns, *, impute=False):
    """The design matrix of ``table`` under the encoding ``columns`` (from a fit).

    Raises
    ------
    DataError
        For a missing column, a missing or non-finite value (unless ``impute``), a
        non-numeric value in a numeric column, or a level not seen during the fit.
    """
    return design_matrix(table, columns, impute=impute)


# --------------------------------------------------------------------------- model
@dataclass(frozen=True, eq=False)
class TabularModel:
    """A cross-validated path fitted from a table, with the table's encoding.

    Attributes
    ----------
    path : Path
        The full-data path (``path.extra["feature_sd"]``: the weighted standard
        deviation of each encoded feature, when written by this version).
    cv : CVResult
        Its cross-validation; ``cv.index_chosen`` is the model used for predictions.
    target : str
    family : str
    columns : list of dict
        The encoding (see :func:`apply_encoding`).
    classes : ndarray of str or None
        Class labels (classification), in the order of the path's class codes; a
        binomial model gives the probability of ``classes[1]``.
    notes : list of str
        What was done to the data (one-hot encoding, imputation, exclusions).
    command : str
        The command that produced the model.
    extra : dict
    weights : str or None
        The column of sample weights used in the fit (not needed to predict).
    offset : str or None
        The offset column: predictions add it to the linear predictor, so the data to
        predict must have it.
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
    weights: str | None = None
    offset: str | None = None

    @property
    def index(self):
        """The position of the chosen ``lam`` on the path: ``cv.index_chosen``."""
        return int(self.cv.index_chosen)

    @property
    def lam(self):
        """The chosen strength ``lam`` (``cv.lam_chosen``)."""
        return float(self.cv.lam_chosen)

    @property
    def coef(self):
        """The coefficients at the chosen ``lam``, on the original scale of the encoded
        features: shape (p,), or (p, n_classes) for the multinomial family."""
        return np.asarray(self.path.coefs[self.index])

    @property
    def intercept(self):
        """The intercept at the chosen ``lam``: a float, or shape (n_classes,)."""
        return self.path.intercepts[self.index]

    @property
    def feature_names(self):
        """The names of the encoded features (one-hot columns named ``column=level``),
        in the order of :attr:`coef`."""
        return [str(n) for n in self.path.feature_names]

    def linear_predictor(self, X, offset=None):
        """``b0 + X b (+ offset)`` at the chosen ``lam``: shape (n,) or (n, n_classes).

        ``X`` is the encoded design; a DataFrame must carry the encoded feature names.
        """
        from .validation import check_feature_names

        check_feature_names(X, self.feature_names, "the model")
        eta = np.asarray(X @ self.coef) + self.intercept
        return eta if offset is None else eta + np.asarray(offset, dtype=float)

    def predict_table(self, table, *, impute=False):
        """Predictions for every row of ``table``, as named output columns.

        gaussian: ``prediction`` (the mean); poisson: ``prediction`` (the mean count,
        ``exp(eta)``); binomial and multinomial: ``prediction`` (the most probable class)
        and ``probability_<class>`` for each class; cox: ``prediction`` (the log hazard
        ratio ``x . b``, a risk score) and ``hazard_ratio`` (``exp`` of it, relative to the
        baseline hazard). A model fitted with an offset reads
        the offset column from ``table``.
        """
        if self.offset is not None and self.offset not in table.columns:
            raise DataError(f"the model was fitted with the offset column {self.offset!r}: "
                            "the data to predict must have it too")
        X, _ = apply_encoding(table, self.columns, impute=impute)
        off = None if self.offset is None else numeric_column(table, self.offset, "offset")
        eta = self.linear_predictor(X, off)
        if self.family == "gaussian":
            return {"prediction": eta}
        if self.family == "poisson":
            return {"prediction": np.exp(eta)}
        if self.family == "cox":  # no intercept: eta is the log hazard ratio
            return {"prediction": eta, "hazard_ratio": np.exp(eta)}
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
