"""The table reader: pyarrow's streamed reader keeps the semantics of the 0.1.0 reader.

``reference_read`` below is the reader of shrinkage 0.1.0 (Python's csv module plus
NumPy, the whole file as Python strings) with its one intended change: a column of
numbers some of which are not finite (``inf``, ``-nan``, ``1e999``) is numeric, and the
encoder refuses or imputes those cells, where 0.1.0 made it categorical (one "level" per
distinct number). Every other difference is a bug of the new reader.
"""

import csv
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkage import tabular
from shrinkage import tabular_read as tr
from test_cli import assert_one_line_error, run, write_csv

_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


def _reference_column(values):
    missing = np.array([v.strip().lower() in _MISSING for v in values], dtype=bool)
    try:
        out = np.array(["nan" if m else v for v, m in zip(values, missing)], dtype=float)
    except ValueError:
        out = None
    if out is not None:  # 0.1.0 also asked np.all(np.isfinite(out[~missing]))
        return out
    return np.array([None if m else v.strip() for v, m in zip(values, missing)], dtype=object)


def reference_read(path, delimiter=","):
    """The 0.1.0 reader: dict of columns, or the string "error"."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if len(rows) < 2 or any(len(r) != len(rows[0]) for r in rows):
        return "error"
    header = [h.strip() for h in rows[0]]
    return {h: _reference_column([r[j] for r in rows[1:]]) for j, h in enumerate(header)}


def new_read(path):
    try:
        return tabular.read_table(path).columns
    except tabular.DataError:
        return "error"


def assert_same_columns(old, new):
    if isinstance(old, str) or isinstance(new, str):
        assert old == new
        return
    assert list(old) == list(new)
    for name in old:
        a, b = old[name], new[name]
        assert a.dtype == b.dtype, (name, a, b)
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
        else:
            assert a.tolist() == b.tolist(), name


def write_text(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


TRICKY = {
    "quoted fields": 'a,b,c\n"1,5",2,"x ""y"" z"\n"3",4,"multi\nline"\n',
    "quote inside and after a field": 'a,b\nab"c,1\n"abc"def,2\n',
    "empty and blank lines": "a,b\n\n1,2\n,\n  ,\t\n\n3,4\n\n",
    "blank rows of another width": ",,,\na,b\n1,2\n , , , \n3,4\n",
    "BOM and CRLF": "\ufeffa,b\r\n1,x\r\n2,y\r\n",
    "bare CR line ends": "a,b\r1,2\r3,4",
    "missing tokens": "a,b\n1, NA \nn/a,NULL\n ? ,None\nnan,\n5,x\n",
    "numeric-looking strings": "a,b,c,d\n007,1e3, 1.5 ,1_000\n+1,.5,-0,\u0661\u0662\n",
    "text cell in a numeric column": "a,b,c\n1,2,3\nx,4,5\n6,7,eight\n",
    "nan(1) is text for NumPy": "a,b\nnan(1),1\n2,3\n",
    "non-finite numbers": "a,b\ninf,1\n-Infinity,2\n1e999,-nan\n4,5\n",
    "unicode": "naïve,ß\nü,1\n\u00a0x\u00a0,2\n",
    "whitespace Python strips": "a,b\n\u20031\u3000,\x1c2\x1f\n3,4\n",
    "header with spaces": " a , b \n1,2\n",
    "only a header": "a,b\n",
    "ragged row": "a,b\n1,2\n3\n",
    "trailing delimiter": "a,b\n1,2,\n",
    "empty file": "",
    "whitespace only": " \n\t\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_new_reader_agrees_with_the_old_one(tmp_path, name):
    path = write_text(tmp_path / "t.csv", TRICKY[name])
    assert_same_columns(reference_read(path), new_read(path))


def test_types_change_after_the_first_blocks(tmp_path, monkeypatch):
    """A column numeric for thousands of rows and text at the end, blank rows across
    block boundaries: the streamed reader's blocks line up in both passes."""
    monkeypatch.setattr(tr, "_BLOCK_BYTES", 4096)
    rng = np.random.default_rng(0)
    lines = ["num,late_text,cat"]
    for i in range(3000):
        lines.append(f"{rng.standard_normal():.6f},{i},{'abc'[i % 3]}")
        if i % 997 == 0:
            lines.append(",,")
    lines.append("1.5,the end,c")
    path = write_text(tmp_path / "t.csv", "\n".join(lines) + "\n")
    new = new_read(path)
    assert new["num"].dtype == float and new["late_text"].dtype == object
    assert new["late_text"][0] == "0" and new["late_text"][-1] == "the end"
    assert_same_columns(reference_read(path), new)


_PIECES = ["1", "2.5", "-3e2", " ", "\t", '"', '""', "NA", "na", "N/A", "?", "nan", "-nan",
           "inf", "1_000", "\u00a0", "x", "é", "", ".5", "+1", "nan(1)", "1e999", " 7 ",
           "None", "\n", "\u0661", "\x1f", "null "]


@st.composite
def csv_texts(draw):
    def field():
        text = "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=2)))
        if draw(st.booleans()):
            return '"' + text.replace('"', '""') + '"'
        return text.replace('"', "").replace("\n", "")

    lines = ["a,b,c"]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "empty"]))
        lines.append({"blank": ",,", "empty": ""}.get(kind) or ",".join(field() for _ in "abc"))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(text=csv_texts())
def test_fuzz_new_reader_agrees_with_the_old_one(tmp_path_factory, text):
    path = write_text(tmp_path_factory.mktemp("fuzz") / "f.csv", text)
    assert_same_columns(reference_read(path), new_read(path))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789+-.eEinfatyINFAY_( )x\u00a0\u0661", max_size=12))
def test_pyarrow_numbers_are_numpy_numbers(text):
    """The fast path trusts the finite numbers pyarrow parses: NumPy reads the same."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        value = pc.cast(pa.array([text]), pa.float64())[0].as_py()
    except pa.ArrowInvalid:
        return
    if np.isfinite(value):
        assert np.array([text], dtype=float)[0] == value


def test_whitespace_is_what_str_strip_removes():
    expected = "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())
    assert tr.WHITESPACE == expected


def test_ascii_lowering_finds_every_missing_token():
    # Python's lower() maps no non-ASCII character into the letters of the tokens, so
    # pyarrow's ascii_lower decides "missing" exactly as str.lower did.
    letters = set("".join(tr.MISSING_TOKENS))
    for i in range(128, sys.maxunicode + 1):
        low = chr(i).lower()
        assert not (set(low) & letters), hex(i)


def test_reader_errors(tmp_path):
    cases = {
        "ragged.csv": ("a,b\n1,2\n3\n", "line 3 has 1 fields, the header has 2"),
        "empty.csv": ("", "is empty"),
        "header.csv": ("a,b\n", "has a header but no data rows"),
        "dup.csv": ("a,a\n1,2\n", "duplicate column names a"),
        "noname.csv": ("a,,c\n1,2,3\n", "the header has an empty column name"),
    }
    for name, (text, message) in cases.items():
        with pytest.raises(tabular.DataError, match=message):
            tabular.read_table(write_text(tmp_path / name, text))
    (tmp_path / "latin1.csv").write_bytes("a,b\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(tabular.DataError, match="not UTF-8 text"):
        tabular.read_table(tmp_path / "latin1.csv")


def test_r_row_names_column_is_read(tmp_path):
    # R's write.csv names the row-name column "": allowed in the first place only.
    path = write_text(tmp_path / "r.csv", '"","x","y"\n"1",0.5,1\n"2",0.7,2\n"3",0.1,3\n')
    assert list(tabular.read_table(path).columns) == ["", "x", "y"]


# --------------------------------------------------------------------------- non-finite
def _inf_rows(n=80, where=16):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, 2))
    rows = [[f"{a:.5f}", f"{b:.5f}", f"{a - b + 0.1 * rng.standard_normal():.5f}"]
            for a, b in x]
    rows[where][0] = "inf"
    return rows


def test_an_inf_cell_is_a_non_finite_number_not_a_level(tmp_path):
    """The reported case: one inf in a numeric column made it a categorical with 80
    levels; now it is numeric and the inf is refused like a missing value, by row."""
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], _inf_rows())
    table = tabular.read_table(data)
    assert table.is_numeric("x1") and np.isinf(table.columns["x1"][16])
    assert tabular.describe_columns(table)[0][1:3] == ("numeric", 1)
    assert_one_line_error(run(["fit", data, "-t", "y", "--out", tmp_path / "o"]),
                          "column 'x1' has 1 non-finite values (rows 17: inf)", "--impute")
    result = run(["fit", data, "-t", "y", "--impute", "--folds", 3, "--out", tmp_path / "o"])
    assert result.exit_code == 0, result.output
    assert "imputed 1 missing or non-finite values of 'x1' with the mean" in result.output
    model = tabular.encode_for_fit(table, "y", impute=True)
    assert model.feature_names == ["x1", "x2"]
    assert model.X[16, 0] == pytest.approx(np.mean(np.delete(table.columns["x1"], 16)))


@pytest.mark.parametrize("cell, shown", [("-inf", "-inf"), ("1e999", "inf"),
                                         ("-nan", None), ("Infinity", "inf")])
def test_every_non_finite_spelling(tmp_path, cell, shown):
    rows = _inf_rows(where=3)
    rows[3][0] = cell
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], rows)
    with pytest.raises(tabular.DataError) as err:
        tabular.encode_for_fit(tabular.read_table(data), "y")
    kind = f"1 non-finite values (rows 4: {shown})" if shown else "1 missing values (rows 4)"
    assert f"column 'x1' has {kind}" in str(err.value)


def test_non_finite_target_and_prediction_inputs(tmp_path):
    rows = _inf_rows(where=16)
    rows[16][0], rows[20][2] = "1.0", "-inf"
    data = write_csv(tmp_path / "d.csv", ["x1", "x2", "y"], rows)
    with pytest.raises(tabular.DataError, match=r"target 'y' has 1 non-finite values "
                                                r"\(rows 21: -inf\)"):
        tabular.encode_for_fit(tabular.read_table(data), "y")
    enc = tabular.encode_for_fit(tabular.read_table(data), "y", impute=True)
    assert enc.X.shape[0] == 79 and enc.n_read == 80
    out = tmp_path / "o"
    assert run(["fit", data, "-t", "y", "--impute", "--folds", 3, "--out", out]).exit_code == 0
    new = write_csv(tmp_path / "new.csv", ["x1", "x2"], [["1", "inf"], ["2", "3"]])
    assert_one_line_error(run(["predict", out / "model.npz", new]),
                          "column 'x2' has 1 non-finite values (rows 1: inf)")


def test_parquet_non_finite_floats(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _inf_rows()
    x1 = np.array([float(r[0]) for r in rows])
    x1[30] = -np.inf
    x1[40] = np.nan
    pq.write_table(pa.table({"x1": x1, "x2": [float(r[1]) for r in rows],
                             "y": [float(r[2]) for r in rows]}), tmp_path / "d.parquet")
    table = tabular.read_table(tmp_path / "d.parquet")
    with pytest.raises(tabular.DataError) as err:
        tabular.encode_for_fit(table, "y")
    assert ("column 'x1' has 1 missing values (rows 41) and 2 non-finite values "
            "(rows 17, 31: inf)") in str(err.value)
    enc = tabular.encode_for_fit(table, "y", impute=True)
    assert np.isfinite(enc.X).all()


def test_rows_longer_than_the_default_block_are_read(tmp_path):
    """A wide CSV (rows past the reader's 256 KiB block) failed with pyarrow's
    "straddling object straddles two block boundaries"; blocks now hold four of its
    longest early rows."""
    rng = np.random.default_rng(0)
    p, n = 4_600, 30
    values = rng.normal(size=(n, p))
    f = tmp_path / "wide.csv"
    with open(f, "w") as fh:
        fh.write(",".join(f"x{j}" for j in range(p)) + "\n")
        for row in values:  # 60 decimals: rows of about 290 KiB
            fh.write(",".join(f"{v:.60f}" for v in row) + "\n")
    assert max(len(line) for line in open(f)) > (1 << 18)
    table = tabular.read_table(f)
    assert table.n_rows == n and len(table.columns) == p
    np.testing.assert_allclose(table.columns["x17"], values[:, 17], rtol=1e-15)
