"""Reading tables for the command line: CSV (streamed through pyarrow) and Parquet.

Also the table itself (:class:`Table`), its error (:class:`DataError`) and the helpers
that name rows and columns in messages, shared by the encoder and the model.

The rules of :func:`read_csv` (those of shrinkage 0.1.0, whose reader was Python's
:mod:`csv` module plus NumPy, kept cell for cell):

* fields are split as :func:`csv.reader` splits them (``"`` quotes, ``""`` inside quotes,
  newlines inside quoted fields, ``\\n``, ``\\r\\n`` or ``\\r`` line ends, a UTF-8 BOM
  dropped); rows whose every cell is blank are skipped, and the first other row is the
  header (names stripped of whitespace);
* a cell is *missing* when, stripped of whitespace (:meth:`str.strip`) and lower-cased, it
  is one of :data:`MISSING_TOKENS`;
* a column is *numeric* when every other cell is a number as NumPy reads text
  (``np.array(cells, dtype=float)``: surrounding whitespace, ``1_000``, ``inf``, ``-nan``,
  non-ASCII digits are numbers); a non-finite number (``inf``, ``-inf``, ``-nan``,
  ``1e999``) keeps its value, and the encoder treats it like a missing value;
* any other column is *categorical*: its cells stripped, missing ones None.

Memory: the file is parsed block by block with every cell as text, so at most one block
of text is alive; numeric columns go straight to float64 (pyarrow parses the block; any
cell it cannot vouch for is parsed by NumPy, so the result is NumPy's), and categorical
columns, found in that first pass, are read in a second pass as one Python string per
distinct value of a block.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "Table", "MISSING_TOKENS", "WHITESPACE", "read_csv", "read_parquet",
           "row_numbers", "absent_values", "check_columns", "first_text", "label_text",
           "parquet_column", "parquet_columns"]

MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?")
# Exactly the characters str.strip() removes (str.isspace); tests check the list against
# the running Python, so pyarrow's utf8_trim strips what Python strips.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# Text of one parsed block: at least this, and about 1/256 of the file up to 4 MiB.
# pyarrow reads a few dozen blocks ahead (memory), and each block costs a dozen calls
# per column (time): small blocks for small files, larger ones for large files.
_BLOCK_BYTES = 1 << 18


def _block_bytes(path):
    """Bytes per block of the CSV reader: a block must hold a whole row, so wide files
    (30 x 30,000 numbers: rows of 500 KiB) get blocks of 4 times their longest row among
    the first 64 (the reader refused them: "straddling object straddles two block
    boundaries")."""
    longest = 0
    with open(path, "rb") as fh:
        for _ in range(64):
            line = fh.readline(1 << 28)
            if not line:
                break
            longest = max(longest, len(line))
    base = max(_BLOCK_BYTES, min(1 << 22, os.path.getsize(path) // 256))
    return int(max(base, min(4 * longest, 1 << 30)))


# --------------------------------------------------------------------------- tables
class DataError(ValueError):
    """A problem with the user's data, stated in one line."""


@dataclass
class Table:
    """Columns in file order: float arrays (numeric) or object arrays of str/None."""

    columns: dict
    source: str

    @property
    def n_rows(self):
        """The number of rows (0 for a table without columns)."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def is_numeric(self, name):
        """Whether column ``name`` was read as numbers (a float array)."""
        return self.columns[name].dtype.kind == "f"

    def missing(self, name):
        """Cells that cannot be used: missing, and for numeric columns also infinite."""
        col = self.columns[name]
        if col.dtype.kind == "f":
            return ~np.isfinite(col)
        return np.equal(col, None)


# --------------------------------------------------------------------------- messages
def row_numbers(mask, limit=3):
    """1-based data-row numbers of the first few True entries."""
    idx = np.flatnonzero(mask)[:limit] + 1
    more = ", ..." if mask.sum() > limit else ""
    return ", ".join(str(i) for i in idx) + more


def absent_values(col, mask):
    """``"2 missing values (rows 4, 9)"``, ``"1 non-finite values (rows 7: inf)"`` or both
    joined by "and", for the cells of ``col`` flagged in ``mask`` (1-based data rows)."""
    inf = np.zeros(mask.shape, dtype=bool)
    if col.dtype.kind == "f":
        inf = mask & np.isinf(col)
    parts, gap = [], mask & ~inf
    if gap.any():
        parts.append(f"{int(gap.sum())} missing values (rows {row_numbers(gap)})")
    if inf.any():
        first = col[np.flatnonzero(inf)[0]]
        parts.append(f"{int(inf.sum())} non-finite values (rows {row_numbers(inf)}: {first})")
    return " and ".join(parts)


def check_columns(table, names, what):
    """Raise a :class:`DataError` naming the first of ``names`` not in ``table`` (and the
    option ``what`` that named it)."""
    for name in names:
        if name not in table.columns:
            raise DataError(
                f"unknown column {name!r} ({what}); the columns are: "
                f"{', '.join(table.columns)}"
            )


def first_text(col):
    """The first value of a column that is not a number (for error messages)."""
    for v in col:
        if v is None:
            continue
        try:
            float(v)
        except ValueError:
            return v
    return None


def label_text(v):
    """A cell as a class label or level: ``2.0`` -> ``"2"``, anything else ``str``."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- csv
def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
    except ImportError:
        raise DataError(
            "reading tables needs pyarrow (a dependency of shrinkage): pip install pyarrow"
        ) from None
    return pa, pc, pcsv


def _header(path, delimiter):
    """The first row with a non-blank cell, as :func:`csv.reader` reads it."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for row in csv.reader(fh, delimiter=delimiter):
                if row and any(c.strip() for c in row):
                    return [h.strip() for h in row]
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: {exc}") from None
    raise DataError(f"{path} is empty")


def _check_header(path, header):
    # R's write.csv names its row-name column "": allowed first, where R puts it.
    if any(not h for h in header[1:]) or (len(header) == 1 and not header[0]):
        raise DataError(f"{path}: the header has an empty column name")
    check_unique_names(path, header)


def check_unique_names(path, header):
    """Refuse repeated column names (a table keyed by name would keep only one)."""
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column names {', '.join(dup)}")


def _blocks(path, delimiter, n_cols, include=None):
    """Record batches of the file with every cell as text (``c0, c1, ...``)."""
    pa, _, pcsv = _pyarrow()
    names = [f"c{j}" for j in range(n_cols)]
    ragged = []

    def on_invalid(row):
        cells = next(csv.reader([row.text], delimiter=delimiter), [])
        if not any(c.strip() for c in cells):
            return "skip"  # a blank row of another width: csv's reader would skip it too
        ragged.append(row)
        return "error"

    block = _block_bytes(path)
    options = dict(
        read_options=pcsv.ReadOptions(column_names=names, block_size=block,
                                      use_threads=False),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                        invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=None if include is None else [names[j] for j in include]),
    )
    try:
        yield from pcsv.open_csv(path, **options)
    except pa.ArrowInvalid as exc:
        if ragged:
            row = ragged[0]
            raise DataError(f"{path}: line {row.number} has {row.actual_columns} fields, the "
                            f"header has {row.expected_columns}") from None
        if "UTF8" in str(exc) or "utf8" in str(exc):
            raise DataError(f"{path} is not UTF-8 text") from None
        if "straddl" in str(exc):
            raise DataError(f"{path}: a row is longer than the reader's block of "
                            f"{block} bytes (4 times the longest of the first "
                            "64 rows); save the table as Parquet instead") from None
        raise DataError(f"{path}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _tokens():
    return _pyarrow()[0].array(MISSING_TOKENS)


def _numeric_block(raw, stripped):
    """float64 values of one block of a column (NaN where missing), or None when a cell is
    not a number. pyarrow parses first; NumPy decides every cell pyarrow rejects or reads
    as non-finite (pyarrow also reads ``nan(1)``), so the answer is always NumPy's."""
    pa, pc, _ = _pyarrow()
    # ascii_lower is exact here: no non-ASCII character lower-cases into these tokens.
    miss = pc.is_in(pc.ascii_lower(stripped), value_set=_tokens())
    miss_np = miss.to_numpy(zero_copy_only=False)
    try:
        parsed = pc.cast(pc.if_else(miss, "0", raw), pa.float64())
        values = np.array(parsed.to_numpy(zero_copy_only=False), dtype=float)
    except pa.ArrowInvalid:
        values = None
    if values is not None and np.all(np.isfinite(values[~miss_np])):
        values[miss_np] = np.nan
        return values
    cells = raw.to_pylist()
    try:
        return np.array(["nan" if m else v for v, m in zip(cells, miss_np)], dtype=float)
    except ValueError:
        return None


def _text_block(raw):
    """Object array of the stripped cells, None where missing (one str per distinct cell)."""
    _, pc, _ = _pyarrow()
    enc = pc.dictionary_encode(raw)
    levels = [v.strip() for v in enc.dictionary.to_pylist()]
    mapped = np.array([None if v.lower() in MISSING_TOKENS else v for v in levels] + [None],
                      dtype=object)
    return mapped[enc.indices.to_numpy(zero_copy_only=False)]


def _blank_rows(batch):
    """Rows whose every cell is whitespace only, and each column stripped."""
    _, pc, _ = _pyarrow()
    blank, stripped = None, []
    for col in batch.columns:
        s = pc.utf8_trim(col, characters=WHITESPACE)
        stripped.append(s)
        empty = pc.equal(pc.binary_length(s), 0).to_numpy(zero_copy_only=False)
        blank = empty if blank is None else blank & empty
    return blank, stripped


def _first_pass(path, delimiter, n_cols):
    """Numeric columns (a :class:`_Growing` buffer, None for a column with a cell that is
    not a number) and the kept rows (not blank, not the header) of the file's rows."""
    columns = [False] * n_cols  # False: no value yet; None: not numeric
    keeps, header_seen, capacity = [], False, None
    size = os.path.getsize(path)
    for batch in _blocks(path, delimiter, n_cols):
        blank, stripped = _blank_rows(batch)
        keep = ~blank
        if not header_seen and keep.any():
            keep[np.flatnonzero(keep)[0]] = False
            header_seen = True
        keeps.append(keep)
        if not keep.any():
            continue
        if capacity is None:
            # Room for about all rows, judged from the first block; pages never written
            # to cost no memory, and more rows than that only grow the buffers.
            capacity = int(1.25 * size * batch.num_rows / _block_bytes(path)) + 1024
        rows = None if keep.all() else np.flatnonzero(keep)
        for j in range(n_cols):
            if columns[j] is None:
                continue
            raw, s = batch.column(j), stripped[j]
            if rows is not None:
                raw, s = raw.take(rows), s.take(rows)
            values = _numeric_block(raw, s)
            if values is None:
                columns[j] = None  # categorical: read as text in the second pass
                continue
            if columns[j] is False:
                columns[j] = _Growing(capacity)
            columns[j].append(values)
    keep = np.concatenate(keeps) if keeps else np.zeros(0, dtype=bool)
    return columns, keep


class _Growing:
    """A float64 column filled block by block in one buffer, grown by half when full.

    A list of blocks joined at the end would hold the column twice, and the blocks, too
    small to be given back to the system one by one, would stay in the process."""

    def __init__(self, capacity):
        self.buf, self.n = np.empty(capacity), 0

    def append(self, values):
        end = self.n + values.size
        if end > self.buf.size:
            grown = np.empty(max(end, self.buf.size + self.buf.size // 2))
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        self.buf[self.n : end] = values
        self.n = end

    def result(self):
        self.buf.resize(self.n, refcheck=False)  # in place: the buffer is ours alone
        out, self.buf = self.buf, None
        return out


def _text_columns(path, delimiter, n_cols, which, keep):
    """The categorical columns ``which``, read again as text, rows ``keep`` only."""
    n = int(keep.sum())
    out = {j: np.empty(n, dtype=object) for j in which}
    start = done = 0
    for batch in _blocks(path, delimiter, n_cols, include=which):
        stop = start + batch.num_rows
        rows = np.flatnonzero(keep[start:stop])
        start = stop
        for k, j in enumerate(which):
            out[j][done : done + rows.size] = _text_block(batch.column(k).take(rows))
        done += rows.size
    return out


def read_csv(path, delimiter=",", text=()):
    """Read a delimited text file into a :class:`~shrinkage.tabular.Table`.

    See the module docstring for the rules. Columns named in ``text`` are read as text
    whatever their cells look like (a model's categorical columns, whose levels ``01``
    and ``1`` differ, at prediction time).

    Raises
    ------
    DataError
        For an empty file, a header with an empty or repeated name, a row whose number
        of fields differs from the header's, text that is not UTF-8, no data rows.
    """
    path = os.fspath(path)
    header = _header(path, delimiter)
    _check_header(path, header)
    numeric, keep = _first_pass(path, delimiter, len(header))
    if not keep.any():
        raise DataError(f"{path} has a header but no data rows")
    columns = {name: numeric[j].result() for j, name in enumerate(header)
               if isinstance(numeric[j], _Growing) and name not in text}
    which = [j for j, name in enumerate(header) if name not in columns]
    texts = _text_columns(path, delimiter, len(header), which, keep) if which else {}
    # The parser's buffers, freed but kept by pyarrow's allocator, would stay in the
    # process through the whole fit: give them back.
    _pyarrow()[0].default_memory_pool().release_unused()
    return Table({h: texts[j] if j in texts else columns[h] for j, h in enumerate(header)},
                 path)


def parquet_column(path, name, col):
    """One Parquet column (a pyarrow array) as a numeric float64 array (nulls as NaN) or
    an object array of str (None missing); dates and times refused naming the column."""
    import pyarrow as pa
    import pyarrow.types as pat

    t = col.type
    if pat.is_integer(t) or pat.is_floating(t) or pat.is_boolean(t) or pat.is_decimal(t):
        # Nulls become NaN in the cast; inf stays, for the encoder to refuse or impute.
        return np.array(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    if pat.is_temporal(t):
        raise DataError(
            f"{path}: column {name!r} holds dates or times ({t}); convert it to numbers "
            f"or leave it out (--exclude {name})"
        )
    if pat.is_string(t) or pat.is_large_string(t):
        # One Python string per distinct value, not per row.
        enc = col.combine_chunks().dictionary_encode()
        levels = np.array(enc.dictionary.to_pylist() + [None], dtype=object)
        idx = enc.indices.fill_null(len(levels) - 1).to_numpy(zero_copy_only=False)
        return levels[idx]
    return np.array([None if v is None else str(v) for v in col.to_pylist()], dtype=object)


def read_parquet(path):
    """Read a Parquet file into a :class:`~shrinkage.tabular.Table`, one column at a time.

    Integer, float, boolean and decimal columns are numeric (nulls missing, NaN missing,
    infinities kept for the encoder); strings and other types are categorical (their
    ``str``); dates and times are refused.
    """
    path = os.fspath(path)
    try:
        import pyarrow.parquet  # noqa: F401  (the friendly message; parquet_columns reads)
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow (a dependency of shrinkage): pip install pyarrow"
        ) from None
    cols, pf = parquet_columns(path)
    if not cols or pf.metadata.num_rows == 0:
        raise DataError(f"{path} has no data rows")
    return Table(cols, path)


def parquet_columns(path, columns=None):
    """``(cols, parquet_file)``: the file's columns by :func:`parquet_column`, one at a
    time (only ``columns``, in file order, when given); a repeated column name and a file
    pyarrow cannot read are refused as :class:`DataError`."""
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        check_unique_names(path, names)
        cols = {name: parquet_column(path, name, pf.read(columns=[name]).column(0))
                for name in names if columns is None or name in columns}
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise DataError(f"{path} is not a readable Parquet file: {exc}") from None
    return cols, pf
