"""What `shrinkage fit` leaves on disk and prints: whole runs only (interrupted anywhere),
user files kept, spreadsheet-safe CSV, the first-run compile notice."""

import csv
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrinkage import cli_output
from shrinkage import io as sio
from test_cli import HEADER, assert_one_line_error, regression_rows, run, write_csv


def snapshot(folder):
    """Every file of a folder (name -> bytes), and the folder's neighbours."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}
    return files, sorted(p.name for p in folder.parent.iterdir())


def fit(data, out, *extra):
    return run(["fit", data, "-t", "y", "--folds", 3, "--n-lams", 15, "--out", out, *extra])


@pytest.fixture()
def old_run(tmp_path):
    """A folder holding one complete run and a file of the user's."""
    data = write_csv(tmp_path / "data.csv", HEADER, regression_rows(40))
    out = tmp_path / "out"
    assert fit(data, out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    new_data = write_csv(tmp_path / "data2.csv", HEADER, regression_rows(40, seed=9))
    return new_data, out, snapshot(out)


class Interrupt:
    """Wraps a function to raise KeyboardInterrupt on its k-th call."""

    def __init__(self, func, k):
        self.func, self.k, self.calls = func, k, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return self.func(*args, **kwargs)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_interrupted_writing_leaves_the_old_run(old_run, monkeypatch, k):
    """Ctrl-C while the outputs are written (the k-th file): the folder is the old run,
    byte for byte, and no temporary folder is left next to it."""
    data, out, before = old_run
    monkeypatch.setattr(sio, "atomic_write", Interrupt(sio.atomic_write, k))
    result = fit(data, out, "--force")
    assert result.exit_code != 0 and isinstance(result.exception, (KeyboardInterrupt,
                                                                   SystemExit))
    assert snapshot(out) == before


@pytest.mark.parametrize("k", [1, 6, 7, 12])
def test_interrupted_swap_leaves_the_old_run(old_run, monkeypatch, k):
    """Interrupted between two renames of the swap: the moves are undone."""
    data, out, before = old_run
    monkeypatch.setattr(os, "rename", Interrupt(os.rename, k))
    result = fit(data, out, "--force")
    assert result.exit_code != 0
    assert snapshot(out) == before


def test_forced_run_replaces_every_output_and_keeps_user_files(old_run):
    data, out, (old_files, _) = old_run
    result = fit(data, out, "--force")
    assert result.exit_code == 0, result.output
    files, neighbours = snapshot(out)
    assert sorted(files) == sorted(old_files) and files["notes.txt"] == b"mine"
    for name in ("model.npz", "coefficients.csv", "report.html"):
        assert files[name] != old_files[name]
    assert neighbours == sorted(p for p in ("data.csv", "data2.csv", "out"))
    model = sio.load(out / "model.npz")
    assert "data2.csv" in model.command and "data2" in files["report.html"].decode()


def test_nothing_is_overwritten_without_force(old_run, tmp_path):
    data, out, before = old_run
    assert_one_line_error(fit(data, out), "already holds", "--force")
    assert snapshot(out) == before
    # A folder of the user's with a file named like an output is refused too.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my own report")
    assert_one_line_error(fit(data, mine), "already holds report.html")
    assert (mine / "report.html").read_text() == "my own report"
    # An --out that is a file is refused; a folder named like an output is never replaced.
    (tmp_path / "afile").write_text("x")
    assert_one_line_error(fit(data, tmp_path / "afile"), "exists and is not a directory")
    (mine / "report.html").unlink()
    (mine / "cv.png").mkdir()
    (mine / "cv.png" / "keep.txt").write_text("mine")
    assert_one_line_error(fit(data, mine, "--force"), "holds a folder named cv.png")
    assert (mine / "cv.png" / "keep.txt").read_text() == "mine"


def test_out_is_the_current_folder(tmp_path, monkeypatch):
    write_csv(tmp_path / "data.csv", HEADER, regression_rows(40))
    monkeypatch.chdir(tmp_path)
    assert fit("data.csv", ".").exit_code == 0
    assert fit("data.csv", ".", "--force").exit_code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["data.csv", "model.npz", "report.html", "path.png", "cv.png",
                            "gap.png", "coefficients.csv"])


def test_new_folder_and_folder_of_user_files(tmp_path):
    data = write_csv(tmp_path / "data.csv", HEADER, regression_rows(40))
    assert fit(data, tmp_path / "a" / "b").exit_code == 0
    assert len(snapshot(tmp_path / "a" / "b")[0]) == 6
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    # Into a folder that already holds the data (and nothing of a run): the outputs join.
    result = fit(data, tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data.csv").read_bytes() == data.read_bytes()
    assert (tmp_path / "model.npz").exists()


def test_staged_output_refuses_unknown_files(tmp_path):
    with pytest.raises(cli_output.OutputError, match="unexpected output files x.txt"):
        with cli_output.staged_output(tmp_path / "o", False) as stage:
            (stage / "x.txt").write_text("?")
    assert not (tmp_path / "o").exists() and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- csv
HOSTILE = ["=HYPERLINK(\"http://x\")", "+SUM(1)", "-2+3", "@cmd", "\tTAB", "\rCR"]


def test_hostile_names_are_escaped_in_every_csv(tmp_path):
    rng = np.random.default_rng(3)
    n = 60
    x = rng.standard_normal((n, 3))
    level = rng.choice(["=1+1", "@A1", "plain"], n)
    label = np.where(x[:, 0] + 0.3 * rng.standard_normal(n) > 0, "=yes()", "-no")
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", lv, lb]
            for (a, b, c), lv, lb in zip(x, level, label)]
    data = write_csv(tmp_path / "d.csv", HOSTILE[:3] + ["@grp", "label"], rows)
    out = tmp_path / "o"
    result = run(["fit", data, "-t", "label", "--folds", 3, "--out", out])
    assert result.exit_code == 0, result.output
    with open(out / "coefficients.csv", newline="") as fh:
        cells = [row[0] for row in csv.reader(fh)]
    assert cells[1:] == ["(intercept)", "'" + HOSTILE[0], "'+SUM(1)", "'-2+3",
                         "'@grp==1+1", "'@grp=@A1", "'@grp=plain"]
    pred = run(["predict", out / "model.npz", data])
    rows = list(csv.reader(pred.output.splitlines()))
    assert rows[0] == ["prediction", "probability_-no", "probability_=yes()"]
    assert {r[0] for r in rows[1:]} <= {"'-no", "'=yes()"}
    assert all(float(r[1]) >= 0 for r in rows[1:])  # numbers are left as numbers


@given(st.text(max_size=20))
def test_spreadsheet_safe_property(text):
    safe = cli_output.spreadsheet_safe(text)
    if safe != text:
        assert safe == "'" + text and text[:1] in ("=", "+", "-", "@", "\t", "\r")
    elif text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(text)  # only a plain number is left as it is


@pytest.mark.parametrize("cell, safe", [("-1.5e3", "-1.5e3"), ("+7", "+7"), ("-", "'-"),
                                        ("- 1", "'- 1"), ("a=b", "a=b"), ("", "")])
def test_spreadsheet_safe_numbers_stay_numbers(cell, safe):
    assert cli_output.spreadsheet_safe(cell) == safe


# --------------------------------------------------------------------------- numba
def _kernels(tmp_path, modules=("cd", "gap")):
    src = tmp_path / "kernels"
    (src / "__pycache__").mkdir(parents=True)
    for m in modules:
        (src / f"{m}.py").write_text("# kernel")
    return src


def _index(folder, src, module, tag=None, age=10.0):
    """A numba index file for ``module`` whose time is its source's plus ``age``."""
    import sys

    tag = tag or f"py{sys.version_info[0]}{sys.version_info[1]}"
    path = folder / f"{module}.kernel-12.{tag}.nbi"
    path.write_bytes(b"")
    when = (src / f"{module}.py").stat().st_mtime + age
    os.utime(path, (when, when))
    return path


def test_kernels_need_compiling_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    src = _kernels(tmp_path)
    assert cli_output.kernels_need_compiling(src)  # first run: no index at all
    _index(src / "__pycache__", src, "cd", tag="py27")
    assert cli_output.kernels_need_compiling(src)  # another Python's cache
    _index(src / "__pycache__", src, "cd")
    assert not cli_output.kernels_need_compiling(src)
    _index(src / "__pycache__", src, "gap", age=-10)  # older than its source: stale
    assert cli_output.kernels_need_compiling(src)
    # NUMBA_CACHE_DIR: numba's <folder name>_<hash> subfolders, and only those.
    cache = tmp_path / "cache" / "kernels_0123abcd"
    cache.mkdir(parents=True)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    assert cli_output.kernels_need_compiling(src)
    _index(cache, src, "gap")
    assert not cli_output.kernels_need_compiling(src)
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    assert not cli_output.kernels_need_compiling(src)


def test_kernels_need_compiling_never_raises(tmp_path, monkeypatch):
    assert not cli_output.kernels_need_compiling(tmp_path / "nowhere")
    monkeypatch.setattr(cli_output.FilePath, "glob", lambda *a: 1 / 0)
    assert not cli_output.kernels_need_compiling()
    assert isinstance(cli_output.kernels_need_compiling(), bool)


def test_the_package_kernels_are_found():
    # Whatever the cache holds, the detection runs on the installed layout.
    assert isinstance(cli_output.kernels_need_compiling(), bool)


def test_first_run_notice_on_stderr(tmp_path, monkeypatch):
    data = write_csv(tmp_path / "d.csv", HEADER, regression_rows(30))
    monkeypatch.setattr(cli_output, "kernels_need_compiling", lambda: True)
    result = fit(data, tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "compiling numerical kernels (first run only)..."
    assert "compiling" not in result.stdout
    monkeypatch.setattr(cli_output, "kernels_need_compiling", lambda: False)
    result = fit(data, tmp_path / "o2")
    assert "compiling" not in result.output
