"""``shrinkage fit`` on a glob of files, block by block, equals the in-memory fit."""

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import shrinkage.distributed as dist
from shrinkage import io as sio
from shrinkage.cli import cli
from shrinkage.cli_blocked import BlockCounter


def run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for frag in fragments:
        assert frag in errors[0], errors[0]


def write_parts(folder, n_files=4, rows=250, seed=0):
    """Parquet parts of one table (numeric, a 3-level and a 2-level factor, a row id,
    a weight) and the whole table as one file."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_files):
        f = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows) * 3 + 1,
                          "c": rng.choice(["x", "y", "z"], rows),
                          "d": rng.choice(["no", "yes"], rows),
                          "id": np.arange(i * rows, (i + 1) * rows),
                          "w": rng.uniform(0.5, 2.0, rows)})
        f["y"] = f.a - 0.5 * f.b + (f.c == "y") - 0.7 * (f.d == "yes") + rng.normal(size=rows)
        f["label"] = np.where(f.y + rng.normal(size=rows) > 0, "up", "down")
        f.to_parquet(folder / f"part{i}.parquet", index=False)
        frames.append(f)
    whole = folder / "whole"
    whole.mkdir()
    pd.concat(frames).to_parquet(whole / "all.parquet", index=False)
    return str(folder / "part*.parquet"), whole / "all.parquet"


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return write_parts(tmp_path_factory.mktemp("parts"))


def test_blocked_fit_equals_the_in_memory_fit(parts, tmp_path):
    glob, whole = parts
    common = ["--target", "y", "--weights", "w", "--exclude", "label", "--n-lams", 40,
              "--folds", 5]
    blocked = run(["fit", glob, *common, "--scheduler", "synchronous",
                   "--out", tmp_path / "b"])
    assert blocked.exit_code == 0, blocked.output
    assert "pass 1: 4/4 blocks" in blocked.output  # the counter over the blocks
    memory = run(["fit", whole, *common, "--out", tmp_path / "m"])
    assert memory.exit_code == 0, memory.output
    b, m = (sio.load(tmp_path / d / "model.npz") for d in ("b", "m"))
    # the same encoding (levels found in the first pass), notes and path
    assert [c["name"] for c in b.columns] == [c["name"] for c in m.columns]
    assert [c.get("levels") for c in b.columns] == [c.get("levels") for c in m.columns]
    assert b.notes == m.notes and "'id'" in b.notes[1]
    assert list(b.path.feature_names) == ["a", "b", "c=x", "c=y", "c=z", "d=yes"]
    assert b.path.n_lams == m.path.n_lams
    np.testing.assert_allclose(b.path.lams, m.path.lams, rtol=1e-10)
    np.testing.assert_allclose(b.path.coefs, m.path.coefs, atol=1e-8)
    np.testing.assert_allclose(b.path.extra["feature_sd"], m.path.extra["feature_sd"],
                               rtol=1e-10)
    assert b.extra["passes"] == 1 and b.extra["files"] == 4
    for name in ("model.npz", "report.html", "path.png", "cv.png", "coefficients.csv"):
        assert (tmp_path / "b" / name).stat().st_size > 0
    # its CV is distributed.cross_validate's on the same rows (hashed folds, seed 0)
    frame = pd.read_parquet(whole)
    X = np.column_stack([frame.a, frame.b, frame.c == "x", frame.c == "y", frame.c == "z",
                         frame.d == "yes"]).astype(float)
    ref = dist.cross_validate(da.from_array(X, chunks=(250, 6)), frame.y.to_numpy(), cv=5,
                              random_state=0, sample_weight=frame.w.to_numpy(), n_lams=40,
                              scheduler="synchronous")
    np.testing.assert_allclose(b.cv.mean, ref.mean, rtol=1e-8)
    assert b.cv.index_chosen == ref.index_chosen
    # a glob that fits in memory is read whole and fitted in memory (the gap plot too)
    small = run(["fit", glob, *common, "--out", tmp_path / "g"])
    assert small.exit_code == 0 and (tmp_path / "g" / "gap.png").exists()
    np.testing.assert_array_equal(sio.load(tmp_path / "g" / "model.npz").path.coefs,
                                  m.path.coefs)


def test_class_labels_in_a_folder_of_csv_files(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(3):
        f = pd.DataFrame({"a": rng.normal(size=200), "g": rng.choice(["p", "q", "r"], 200)})
        f["label"] = np.where(f.a + (f.g == "q") + rng.normal(size=200) > 0, "up", "down")
        f.to_csv(tmp_path / f"p{i}.csv", index=False)
    res = run(["fit", tmp_path, "--target", "label", "--scheduler", "threads", "--n-lams",
               15, "--folds", 3, "--out", tmp_path / "out"])
    assert res.exit_code == 0, res.output
    model = sio.load(tmp_path / "out" / "model.npz")
    assert model.family == "binomial" and list(model.classes) == ["down", "up"]
    assert model.path.extra["passes"] > 3  # Newton steps, one pass each
    pred = run(["predict", tmp_path / "out" / "model.npz", tmp_path / "p0.csv"])
    assert pred.exit_code == 0 and pred.output.startswith("prediction,probability_down")


def test_bad_inputs_are_named(parts, tmp_path):
    glob, _ = parts
    sync = ["--scheduler", "synchronous", "--out", tmp_path / "o"]
    assert_one_line_error(run(["fit", str(tmp_path / "none*.parquet"), "--target", "y",
                               *sync]), "no files match")
    assert_one_line_error(run(["fit", glob, "--target", "nope", *sync]),
                          "--target column 'nope' is not in the files")
    assert_one_line_error(run(["fit", glob, "--target", "label", "--family", "gaussian",
                               *sync]), "target 'label' is not numeric")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 4.0]}).to_parquet(mixed / "0.parquet")
    pd.DataFrame({"a": ["u", "v", "w"], "y": [1.0, 0.0, 2.0]}).to_parquet(mixed / "1.parquet")
    assert_one_line_error(run(["fit", mixed, "--target", "y", *sync]),
                          "column 'a' is numeric in some files and text in others")
    assert_one_line_error(run(["fit", glob, "--target", "y", "--memory-share", 2, *sync]),
                          "--memory-share must be in (0, 1]")
    assert not (tmp_path / "o").exists()  # nothing written


def test_block_counter_on_a_log_and_on_a_terminal():
    class Log(list):
        def write(self, s):
            self.append(s)

        def flush(self):
            pass

    log = Log()
    counter = BlockCounter(log)
    for pass_number in range(1, 13):
        for done in range(1, 4):
            counter(pass_number, done, 3)
    assert "".join(log).splitlines() == [f"pass {k}: 3/3 blocks" for k in (1, 2, 3, 10)]
    tty = Log()
    tty.isatty = lambda: True
    BlockCounter(tty)(1, 1, 2)
    BlockCounter(tty)(1, 2, 2)
    assert tty == ["\rpass 1: 1/2 blocks", "\rpass 1: 2/2 blocks\n"]


def test_data_larger_than_the_memory_share_go_to_a_local_cluster(parts, tmp_path,
                                                                 monkeypatch):
    import distributed

    from shrinkage import cli_blocked

    glob, _ = parts
    started = []
    real = distributed.LocalCluster

    def in_process(**kw):  # its workers as threads here (fast to start), unlimited
        started.append(kw)
        return real(**{**kw, "processes": False, "memory_limit": 0})  # 0: no limit

    monkeypatch.setattr(cli_blocked, "memory_bytes", lambda: 10_000)  # 10 kB of memory
    monkeypatch.setattr(distributed, "LocalCluster", in_process)
    res = run(["fit", glob, "--target", "y", "--exclude", "label", "--n-lams", 20,
               "--out", tmp_path / "o"])
    assert res.exit_code == 0, res.output
    assert "exceed 0.5 of memory" in " ".join(res.output.split())
    assert "pass 1: 4/4 blocks" in res.output
    assert len(started) == 1 and started[0]["memory_limit"] * started[0]["n_workers"] <= 5_000
    assert sio.load(tmp_path / "o" / "model.npz").path.extra["passes"] == 1


def test_a_file_whose_name_looks_like_a_glob_is_one_file(tmp_path):
    from shrinkage.tabular_blocked import is_many, list_files

    odd = tmp_path / "data[1].csv"
    odd.write_text("a,y\n1,2\n")
    assert not is_many(odd) and is_many(tmp_path) and is_many(tmp_path / "*.csv")
    assert list_files(tmp_path) == [str(odd)]
