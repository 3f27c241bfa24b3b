"""The same cross-validation on a real Dask cluster gives identical results."""

import threading

import distributed  # the 'dask' extra, installed by CI
import joblib
import numpy as np
import pytest

from shrinkage.engine import shared
from shrinkage.tuning.cv import cross_validate

rng = np.random.default_rng(7)
N, P = 80, 6
X = rng.normal(size=(N, P))
Y = X[:, :2] @ np.array([1.0, -1.0]) + rng.normal(size=N)
YB = (X[:, 0] + rng.normal(size=N) > 0).astype(int)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _same(a, b):
    assert np.array_equal(a.fold_ids, b.fold_ids)
    assert np.array_equal(a.fold_scores, b.fold_scores)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.se, b.se)
    assert (a.index_min, a.index_chosen) == (b.index_min, b.index_chosen)


@pytest.mark.parametrize(("family", "y"), [("gaussian", Y), ("binomial", YB)])
def test_dask_backend_equals_local(client, family, y, monkeypatch):
    kw = dict(family=family, cv=4, repeats=2, random_state=3, n_lams=15)
    local = cross_validate(X, y, n_jobs=1, **kw)
    # Record where the fold paths run, to be sure the work really went to the cluster.
    threads = []
    engine = shared.fit_path

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return engine(*args, **kwargs)

    monkeypatch.setattr(shared, "fit_path", spy)
    with joblib.parallel_config(backend="dask"):
        remote = cross_validate(X, y, **kw)
    _same(local, remote)
    explicit = cross_validate(X, y, backend="dask", **kw)
    _same(local, explicit)
    assert len(threads) >= 2 * 8 and all("Dask" in t for t in threads)
