"""A worker killed in the middle of a blocked fit does not change the result.

One ``LocalCluster`` of 2 worker processes with a memory limit serves the module; its
nannies restart a dead worker and the scheduler recomputes what was lost (the blocks
come from graphs it holds). Every worker process seen is checked to be gone at the end.
"""

import os
import signal

import dask
import dask.array as da
import distributed
import numpy as np
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

import shrinkage
import shrinkage.distributed as dist
from shrinkage import io as sio
from shrinkage.cli import cli


def _data(n=40_000, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, p) + rng.normal(size=p)
    y = (X - X.mean(0))[:, :3] @ np.array([0.5, -0.4, 0.3]) + rng.normal(size=n)
    return X, y


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _worker_pids(client):
    return client.run(os.getpid)  # worker address -> pid


@pytest.fixture(scope="module")
def cluster():
    seen = set()
    with dask.config.set({"distributed.worker.memory.pause": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           memory_limit="400MB", processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            yield client, seen
            seen.update(_worker_pids(client).values())
        finally:
            client.close()
            cluster.close()
    assert seen and not [pid for pid in seen if _alive(pid)]  # no worker survives


def test_cli_on_a_scheduler_address(cluster, tmp_path):
    client, seen = cluster
    seen.update(_worker_pids(client).values())
    rng = np.random.default_rng(3)
    frames = []
    for i in range(3):
        f = pd.DataFrame({"a": rng.normal(size=300), "c": rng.choice(["u", "v", "w"], 300)})
        f["y"] = f.a + (f.c == "v") + rng.normal(size=300)
        f.to_parquet(tmp_path / f"part{i}.parquet", index=False)
        frames.append(f)
    res = CliRunner().invoke(cli, ["fit", str(tmp_path / "part*.parquet"), "--target", "y",
                                   "--scheduler", client.scheduler_info()["address"], "--out",
                                   str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "pass 1: 3/3 blocks" in res.output  # counted here as the workers finish
    got = sio.load(tmp_path / "b" / "model.npz").path
    whole = pd.concat(frames)
    X = np.column_stack([whole.a] + [whole.c == v for v in "uvw"]).astype(float)
    want = shrinkage.regularization_path(X, whole.y.to_numpy(), tol=got.tol)
    np.testing.assert_allclose(got.coefs, want.coefs, atol=1e-8)


def test_a_task_that_kills_its_worker(cluster, tmp_path):
    client, seen = cluster
    before = _worker_pids(client)
    seen.update(before.values())
    X, y = _data()
    marker = str(tmp_path / "killed")

    def dies_once(block, block_id=None):
        if block_id[0] == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process ends here, mid-pass
        return block

    Xd = da.from_array(X, chunks=(4_000, X.shape[1])).map_blocks(dies_once, dtype=float)
    got = dist.regularization_path(Xd, y, tol=1e-12, n_lams=20)
    assert os.path.exists(marker)
    ref = shrinkage.regularization_path(X, y, tol=1e-12, n_lams=20)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    client.wait_for_workers(2, timeout=60)
    after = _worker_pids(client)
    seen.update(after.values())
    assert set(after.values()) - set(before.values())  # a new worker took its place


def test_sigkill_of_a_worker_holding_persisted_blocks(cluster):
    client, seen = cluster
    X, y = _data(seed=1)
    Xp = client.persist(da.from_array(X, chunks=(4_000, X.shape[1])))
    distributed.wait(Xp)
    pids = _worker_pids(client)
    seen.update(pids.values())
    holders = {w for ws in client.who_has(Xp).values() for w in ws}
    victim = pids[sorted(holders)[0]]
    killed = []

    def kill_on_first_block(pass_number, done, total):
        if not killed:  # one block in: kill a worker that holds others
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    folds = np.arange(X.shape[0]) % 4
    got = dist.cross_validate(Xp, y, cv=folds, tol=1e-12, n_lams=20,
                              progress=kill_on_first_block, return_path=True)
    assert killed and not _alive(victim)
    ref = dist.cross_validate(X, y, cv=folds, tol=1e-12, n_lams=20,
                              scheduler="synchronous", return_path=True)
    np.testing.assert_allclose(got[1].coefs, ref[1].coefs, atol=1e-8)
    np.testing.assert_allclose(got[0].fold_scores, ref[0].fold_scores, rtol=1e-8)
    seen.update(_worker_pids(client).values())
