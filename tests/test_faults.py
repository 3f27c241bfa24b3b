"""Faults: interrupted cross-validation, interrupted writes and damaged model files.

Already covered in tests/test_io.py (referenced by docs/reliability.md, not repeated):
a failing write leaves nothing behind (test_failed_write_leaves_nothing_behind), a failing
overwrite keeps the old file (test_failed_overwrite_keeps_the_old_file), truncated /
garbage / foreign files are refused (test_corrupt_and_foreign_files_are_refused), and
tampered arrays or metadata are refused (test_tampered_array_is_refused,
test_tampered_metadata_is_refused).
"""

import os

import numpy as np
import pytest
from click.testing import CliRunner

from shrinkage import cross_validate
from shrinkage import io as sio
from shrinkage.cli import cli
from shrinkage.engine import shared


def _data(n=60, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    return X, X[:, 0] + rng.standard_normal(n)


def _interrupt_after(monkeypatch, calls):
    """Make the k-th regularization_path call raise KeyboardInterrupt (k = calls)."""
    real = shared.fit_path
    count = {"n": 0}

    def flaky(*args, **kwargs):
        count["n"] += 1
        if count["n"] == calls:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(shared, "fit_path", flaky)
    return count


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_interrupted_cv_raises_cleanly_and_writes_nothing(tmp_path, monkeypatch, n_jobs):
    X, y = _data()
    monkeypatch.chdir(tmp_path)
    ref = cross_validate(X, y, cv=4, n_lams=10, random_state=0, n_jobs=1)
    with monkeypatch.context() as m:
        count = _interrupt_after(m, 3)  # the full path and one fold succeed first
        with pytest.raises(KeyboardInterrupt):
            cross_validate(X, y, cv=4, n_lams=10, random_state=0, n_jobs=n_jobs)
        assert count["n"] >= 3
    assert os.listdir(tmp_path) == []
    # nothing is left in a broken state: the same call afterwards gives the same result
    again = cross_validate(X, y, cv=4, n_lams=10, random_state=0, n_jobs=n_jobs)
    np.testing.assert_array_equal(again.mean, ref.mean)
    assert again.lam_chosen == ref.lam_chosen


def test_interrupted_cli_fit_leaves_no_output(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((40, 3))
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "\n".join(f"{a:.5f},{b:.5f},{a - b + c:.5f}"
                                          for a, b, c in rows) + "\n")
    out = tmp_path / "out"
    _interrupt_after(monkeypatch, 2)
    result = CliRunner().invoke(cli, ["fit", str(data), "--target", "y", "--folds", "3",
                                      "--out", str(out)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert not out.exists() or os.listdir(out) == []
    assert sorted(os.listdir(tmp_path)) == ["d.csv"] + (["out"] if out.exists() else [])


def _saved(tmp_path):
    X, y = _data()
    res = cross_validate(X, y, cv=3, n_lams=8, random_state=0)
    return sio.save(res, tmp_path / "m.npz"), res


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target, res = _saved(tmp_path)
    before = target.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sio.save(res, tmp_path / "new.npz")
    with pytest.raises(KeyboardInterrupt):
        sio.save(res, target, overwrite=True)
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file, no half-written new.npz
    assert target.read_bytes() == before


def test_every_single_byte_flip_is_refused_or_harmless(tmp_path):
    # Flip one byte at many positions of a valid file: loading must either raise
    # ModelFileError or (for bytes no reader uses, e.g. zip timestamps) give back the
    # identical result. It must never return a different object.
    target, res = _saved(tmp_path)
    data = target.read_bytes()
    positions = np.unique(np.linspace(0, len(data) - 1, 120).astype(int))
    refused = 0
    for pos in positions:
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        path = tmp_path / "flip.npz"
        path.write_bytes(bytes(bad))
        try:
            got = sio.load(path)
        except sio.ModelFileError:
            refused += 1
            continue
        np.testing.assert_array_equal(got.mean, res.mean)
        np.testing.assert_array_equal(got.lams, res.lams)
        assert got.lam_chosen == res.lam_chosen
    assert refused > 0.5 * positions.size  # most bytes matter (measured: about 80%)


def test_failing_dask_task_surfaces_its_error_and_leaves_the_client_usable(tmp_path,
                                                                          monkeypatch):
    # A worker fault as the client sees it: one fold task fails on the cluster. (A real
    # process kill is not simulated here; Dask retries such tasks on another worker and
    # reports KilledWorker after its allowed failures, which surfaces the same way.)
    import distributed  # the 'dask' extra, installed by CI (as in tests/test_dask.py)

    from shrinkage.engine import shared

    X, y = _data()
    monkeypatch.chdir(tmp_path)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        local = cross_validate(X, y, cv=4, n_lams=10, random_state=0, n_jobs=1)
        engine = shared.fit_path
        count = {"n": 0}

        def dying(*args, **kwargs):
            count["n"] += 1
            if count["n"] == 3:
                raise RuntimeError("worker lost")
            return engine(*args, **kwargs)

        with monkeypatch.context() as m:
            m.setattr(shared, "fit_path", dying)
            with pytest.raises(RuntimeError, match="worker lost"):
                cross_validate(X, y, cv=4, n_lams=10, random_state=0, backend="dask")
        assert os.listdir(tmp_path) == []
        again = cross_validate(X, y, cv=4, n_lams=10, random_state=0, backend="dask")
        np.testing.assert_array_equal(again.mean, local.mean)
    finally:
        client.close()
        cluster.close()
