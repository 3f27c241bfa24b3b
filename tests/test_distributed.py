"""Fits on blocked data (dask arrays, memmaps, zarr arrays, Parquet) equal the in-memory
fits."""

import subprocess
import sys

import dask
import dask.array as da
import distributed
import numpy as np
import pandas as pd
import pytest
import zarr

import shrinkage
import shrinkage.distributed as dist


def _data(n=2000, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, p) + rng.normal(size=p) * 3
    eta = (X - X.mean(0))[:, :3] @ np.array([0.3, -0.4, 0.2])
    ys = {
        "gaussian": eta + rng.normal(size=n),
        "binomial": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float),
        "poisson": rng.poisson(np.exp(0.5 * eta)).astype(float),
    }
    w = rng.uniform(0, 2, n)
    off = 0.1 * rng.normal(size=n)
    return X, ys, w, off


CASES = [
    ("gaussian", dict()),
    ("gaussian", dict(standardize=False)),
    ("gaussian", dict(sample_weight=True, offset=True)),
    ("gaussian", dict(fit_intercept=False, sample_weight=True, l1_ratio=0.5)),
    ("binomial", dict(sample_weight=True, offset=True)),
    ("binomial", dict(standardize=False)),
    ("poisson", dict(sample_weight=True, offset=True, standardize=False)),
    ("poisson", dict(penalty_factor=np.r_[0.0, np.ones(5)])),
]


@pytest.mark.parametrize("family,kw", CASES)
def test_path_equals_in_memory(family, kw):
    X, ys, w, off = _data()
    kw = dict(kw)
    if kw.pop("sample_weight", False):
        kw["sample_weight"] = w
    if kw.pop("offset", False):
        kw["offset"] = off
    tol = 1e-12 if family == "gaussian" else 1e-10
    n_lams = 100 if family == "gaussian" else 30
    ref = shrinkage.regularization_path(X, ys[family], family, tol=tol, n_lams=n_lams, **kw)
    got = dist.regularization_path(da.from_array(X, chunks=(300, X.shape[1])), ys[family],
                                   family, tol=tol, n_lams=n_lams, scheduler="synchronous",
                                   **kw)
    assert got.n_lams == ref.n_lams
    np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    np.testing.assert_allclose(got.intercepts, ref.intercepts, atol=1e-8)
    np.testing.assert_allclose(got.dev_ratio, ref.dev_ratio, atol=1e-8)
    assert got.certificate_kind == ref.certificate_kind
    assert np.all(got.converged) and np.all(got.certificate <= tol)
    if family == "gaussian":
        assert got.extra["passes"] == 1
    else:  # one pass of moments, then one per round of steps on a window of lams
        assert 1 < got.extra["passes"] < got.n_lams


@pytest.mark.parametrize("family,metric", [("gaussian", None), ("gaussian", "mae"),
                                           ("binomial", "deviance")])
def test_cv_equals_in_memory_with_the_same_folds(family, metric):
    X, ys, w, off = _data(n=1500, p=5, seed=1)
    folds = np.random.default_rng(2).integers(0, 5, X.shape[0])
    tol = 1e-12 if family == "gaussian" else 1e-10
    kw = dict(sample_weight=w, offset=off, tol=tol,
              n_lams=100 if family == "gaussian" else 20)
    ref = shrinkage.cross_validate(X, ys[family], family, cv=folds, metric=metric, **kw)
    got = dist.cross_validate(da.from_array(X, chunks=(250, 5)), ys[family], family,
                              cv=folds, metric=metric, scheduler="synchronous", **kw)
    np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
    np.testing.assert_allclose(got.fold_scores, ref.fold_scores, rtol=1e-8)
    np.testing.assert_allclose(got.fold_weights, ref.fold_weights, rtol=1e-12)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-6)
    assert (got.index_min, got.index_chosen) == (ref.index_min, ref.index_chosen)
    assert got.metric == ref.metric and got.rule == ref.rule
    if family == "gaussian" and metric is None:
        assert got.extra["passes"] == 1  # every fold from the sums of one pass


def test_hashed_folds_do_not_depend_on_the_blocks():
    X, ys, _, _ = _data(n=1200, p=4)
    results = [dist.cross_validate(da.from_array(X, chunks=(rows, 4)), ys["gaussian"], cv=4,
                                   random_state=3, scheduler="synchronous")
               for rows in (100, 333)]
    np.testing.assert_allclose(results[0].fold_scores, results[1].fold_scores, rtol=1e-10)
    by_block = dist.cross_validate(da.from_array(X, chunks=(100, 4)), ys["gaussian"], cv=4,
                                   fold_by="block", scheduler="synchronous")
    assert by_block.extra["fold_by"] == "block" and by_block.fold_scores.shape[0] == 4


def test_memmap_is_read_in_blocks(tmp_path):
    X, ys, w, _ = _data(n=3000, p=5)
    mm = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    ro = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="r", shape=X.shape)
    seen = []
    got = dist.regularization_path(ro, ys["gaussian"], sample_weight=w, tol=1e-12,
                                   block_rows=400, progress=lambda *a: seen.append(a))
    ref = shrinkage.regularization_path(X, ys["gaussian"], sample_weight=w, tol=1e-12)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    assert seen[-1] == (1, 8, 8)  # one pass over 8 blocks of 400 rows


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_zarr_array_is_read_in_row_blocks(tmp_path, monkeypatch, family):
    X, ys, w, off = _data(n=3000, p=5)
    z = zarr.open(str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(500, 5),
                  dtype="f8")
    z[:] = X
    ro = zarr.open(str(tmp_path / "X.zarr"), mode="r")
    rows_read = []
    original = type(ro).__getitem__

    def recording(self, key):
        out = original(self, key)
        rows_read.append(np.shape(out)[0] if np.ndim(out) else 1)
        return out

    monkeypatch.setattr(type(ro), "__getitem__", recording)
    got = dist.regularization_path(ro, ys[family], family, sample_weight=w, offset=off,
                                   tol=1e-12, block_rows=500)
    ref = shrinkage.regularization_path(X, ys[family], family, sample_weight=w, offset=off,
                                        tol=1e-12)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    np.testing.assert_allclose(got.intercepts, ref.intercepts, atol=1e-8)
    # never more than one block of rows in memory from the array at a time
    assert rows_read and max(rows_read) <= 500


def test_local_cluster_fits_data_larger_than_a_worker():
    n, p = 1_500_000, 50  # 600 MB of X, generated on the workers, 512 MB each
    rs = da.random.RandomState(7)
    X = rs.normal(size=(n, p), chunks=(20_000, p)) + 1.0
    beta = np.r_[np.linspace(1, -1, 5), np.zeros(p - 5)]
    y = X @ beta + rs.normal(size=n, chunks=20_000)
    # a worker past 95% of its limit is killed (the fit then fails with KilledWorker);
    # pausing at 80% is off, since a worker compiling the numba kernels from a cold cache
    # briefly passes it and a paused worker would wait forever instead of failing
    with dask.config.set({"distributed.worker.memory.pause": False}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="512MB",
                                     processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        got = dist.regularization_path(X, y, tol=1e-12, n_lams=20)
    Xm, ym = (a.compute(scheduler="threads") for a in (X, y))  # here, not on a worker
    ref = shrinkage.regularization_path(Xm, ym, tol=1e-12, n_lams=20)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    assert got.extra["passes"] == 1 and np.all(got.converged)


def test_parquet_glob_with_categoricals(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(3):
        f = pd.DataFrame({"a": rng.normal(size=400), "c": rng.choice(["x", "y", "z"], 400),
                          "w": rng.uniform(0.5, 1.5, 400)})
        f["y"] = f.a + (f.c == "y") - (f.c == "z") + rng.normal(size=400)
        f.to_parquet(tmp_path / f"part{i}.parquet")
        frames.append(f)
    table = dist.read_parquet(str(tmp_path / "*.parquet"), "y", weight="w")
    assert table.feature_names == ["a", "c=y", "c=z"]
    full = pd.concat(frames)
    Xm = np.column_stack([full.a, full.c == "y", full.c == "z"]).astype(float)
    ref = shrinkage.regularization_path(Xm, full.y.to_numpy(), sample_weight=full.w.to_numpy(),
                                        tol=1e-12)
    got = dist.regularization_path(table.X, table.y, tol=1e-12, **table.fit_kwargs())
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    assert list(got.feature_names) == table.feature_names


def test_bad_inputs_are_named():
    X, ys, _, _ = _data(n=600, p=4)
    y = ys["gaussian"]
    bad = X.copy()
    bad[450, 2] = np.nan
    with pytest.raises(ValueError, match=r"X has NaN or inf in block 2 .*row 450, column 2"):
        dist.regularization_path(da.from_array(bad, chunks=(200, 4)), y)
    with pytest.raises(ValueError, match="chunked along its columns"):
        dist.regularization_path(da.from_array(X, chunks=(200, 2)), y)
    with pytest.raises(ValueError, match="y must be 1-D of length 600"):
        dist.regularization_path(da.from_array(X, chunks=(200, 4)), y[:500])
    with pytest.raises(ValueError, match="sample_weight must be 1-D of length 600"):
        dist.regularization_path(da.from_array(X, chunks=(200, 4)), y, sample_weight=y[:5])
    with pytest.raises(ValueError, match="outside \\[0, 1\\] in block"):
        dist.regularization_path(da.from_array(X, chunks=(200, 4)), y, "binomial")
    with pytest.raises(ValueError, match="not fitted on blocked data"):
        dist.regularization_path(da.from_array(X, chunks=(200, 4)), y, "mgaussian")
    with pytest.raises(ValueError, match="auc"):
        dist.cross_validate(da.from_array(X, chunks=(200, 4)), ys["binomial"], "binomial",
                            metric="auc")
    labels = (np.arange(600) % 3).astype(float)
    labels[5] = np.nan
    with pytest.raises(ValueError, match=r"cv \(fold labels\) has 1 missing label.*first at row 5"):
        dist.cross_validate(da.from_array(X, chunks=(200, 4)), y, cv=labels,
                            scheduler="synchronous")
    one = np.zeros(600)
    one[3] = 2.0  # a single positive count: the fold holding it trains without one
    with pytest.raises(ValueError, match=r"training part of fold \d has no positive count"):
        dist.cross_validate(da.from_array(X, chunks=(200, 4)), one, "poisson", cv=3,
                            scheduler="synchronous")


def test_import_stays_cheap():
    code = ("import sys, shrinkage, shrinkage.distributed; "
            "assert shrinkage.distributed_path is shrinkage.distributed.regularization_path; "
            "assert 'dask' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_entry_points_route_dask_designs_block_by_block():
    import dask.array as da

    import shrinkage
    from shrinkage.engine.path import regularization_path as in_memory_path

    rng = np.random.default_rng(7)
    X = rng.standard_normal((600, 6))
    y = X[:, 0] - 0.5 * X[:, 1] + rng.standard_normal(600)
    Xd = da.from_array(X, chunks=(150, 6))
    blocked = shrinkage.regularization_path(Xd, y, tol=1e-12, n_lams=20)
    direct = in_memory_path(X, y, tol=1e-12, n_lams=20)
    assert blocked.extra["passes"] >= 1 and "passes" not in direct.extra
    np.testing.assert_allclose(blocked.coefs, direct.coefs, atol=1e-10)
    folds = np.arange(600) % 4
    cv_blocked = shrinkage.cross_validate(Xd, y, cv=folds, n_lams=20, tol=1e-12)
    cv_direct = shrinkage.cross_validate(X, y, cv=folds, n_lams=20, tol=1e-12)
    np.testing.assert_allclose(cv_blocked.mean, cv_direct.mean, rtol=1e-9)
    assert cv_blocked.index_chosen == cv_direct.index_chosen
    # the wrapper keeps the engine's signature and documentation
    import inspect

    assert inspect.signature(shrinkage.regularization_path) == inspect.signature(
        in_memory_path)
    assert shrinkage.regularization_path.__doc__ == in_memory_path.__doc__


def _kkt_from_scratch(X, y, w, off, family, path):
    """The certificate of every path point recomputed in numpy from its coefficients: the
    largest of ``|sum w (y - mu)| / W`` and the lasso KKT violations ``|g_j / s_j - lam
    sign(b_j)|`` (``b_j != 0``) or ``|g_j| / s_j - lam`` (``b_j = 0``) of the centred
    gradient ``g_j = sum w (x_j - xm_j)(y - mu) / W``, over the null model's largest
    ``|g_j| / s_j``."""
    W = w.sum()
    xm = w @ X / W
    Xc = X - xm
    s = np.sqrt(w @ (Xc * Xc) / W)

    def grad(b0, b):
        eta = off + b0 + X @ b
        mu = 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
        r = w * (y - mu) / W
        return r.sum(), Xc.T @ r / s

    ybar = w @ y / W
    null_b0 = np.log(ybar / (1 - ybar)) if family == "binomial" else np.log(ybar)
    top = np.abs(grad(null_b0, np.zeros(X.shape[1]))[1]).max()
    certs = []
    for lam, b0, b in zip(path.lams, path.intercepts, path.coefs):
        g0, g = grad(b0, b)
        viol = np.where(b != 0, np.abs(g - lam * np.sign(b)), np.maximum(np.abs(g) - lam, 0))
        certs.append(max(abs(g0), viol.max()) / top)
    return np.array(certs)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_newton_path_takes_few_passes_for_many_strengths(family):
    # 100 strengths in under 30 passes: a pass evaluates a window of strengths at once;
    # each point is certified from the exact gradient at its returned coefficients
    rng = np.random.default_rng(3)
    n, p = 4000, 12
    X = rng.normal(size=(n, p))
    eta = X[:, :4] @ np.array([0.5, -0.4, 0.3, -0.2])
    y = ((rng.uniform(size=n) < 1 / (1 + np.exp(-eta))) if family == "binomial"
         else rng.poisson(np.exp(eta))).astype(float)
    w = rng.uniform(0.5, 1.5, n)
    off = 0.05 * rng.normal(size=n)
    kw = dict(sample_weight=w, offset=off, n_lams=100, early_stop=False)
    got = dist.regularization_path(da.from_array(X, chunks=(500, p)), y, family,
                                   scheduler="synchronous", **kw)
    assert got.n_lams == 100 and np.all(got.converged)
    assert got.extra["passes"] < 30
    # a pass serves many strengths: far fewer passes than Newton steps
    assert got.extra["passes"] < got.extra["newton_steps"].sum() / 4
    certs = _kkt_from_scratch(X, y, w, off, family, got)
    np.testing.assert_allclose(certs, got.certificate, rtol=1e-6, atol=1e-12)
    assert np.all(certs <= got.tol)
    ref = shrinkage.regularization_path(X, y, family, tol=1e-10, **kw)
    tight = dist.regularization_path(da.from_array(X, chunks=(500, p)), y, family,
                                     scheduler="synchronous", tol=1e-10, **kw)
    np.testing.assert_allclose(tight.coefs, ref.coefs, atol=1e-8)
    np.testing.assert_allclose(tight.intercepts, ref.intercepts, atol=1e-8)
    assert np.all(tight.certificate <= 1e-10)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_null_model_with_an_offset_and_rare_events_is_exact(family):
    """Newton with halving on the intercept, blocked and in memory: both reach the same
    intercept-only optimum with a large offset and 1% events, so both paths start from
    the same lam_max."""
    rng = np.random.default_rng(12)
    n, p = 1500, 4
    X = rng.normal(size=(n, p))
    off = 3.0 * rng.normal(size=n)
    y = ((rng.random(n) < 0.01) if family == "binomial" else rng.poisson(0.01, n)) * 1.0
    ref = shrinkage.regularization_path(X, y, family, offset=off, n_lams=5, tol=1e-10)
    got = dist.regularization_path(da.from_array(X, chunks=(400, p)), y, family, offset=off,
                                   n_lams=5, tol=1e-10, scheduler="synchronous")
    np.testing.assert_allclose(got.lam_max, ref.lam_max, rtol=1e-10)
    np.testing.assert_allclose(got.intercepts[0], ref.intercepts[0], rtol=1e-10)


def test_blocked_inputs_with_unknown_sizes_or_mixed_files_are_named(tmp_path):
    X, ys, _, _ = _data(n=600, p=4)
    y = ys["gaussian"]
    Xd = da.from_array(X, chunks=(200, 4))
    keep = da.from_array(y, chunks=200) > -1e9  # boolean indexing: block sizes unknown
    with pytest.raises(ValueError, match="X has blocks of unknown size.*compute_chunk_sizes"):
        dist.regularization_path(Xd[keep], y, scheduler="synchronous")
    with pytest.raises(ValueError, match="y has blocks of unknown size"):
        dist.regularization_path(Xd, da.from_array(y, chunks=200)[keep],
                                 scheduler="synchronous")
    labels = np.r_[np.arange(599) % 3, np.nan]
    with pytest.raises(ValueError, match=r"cv \(fold labels\) has missing \(NaN\)"):
        dist.cross_validate(Xd, y, cv=da.from_array(labels, chunks=200),
                            scheduler="synchronous")
    with pytest.raises(ValueError, match=r"integers 0..K-1.*from -1 to 2"):
        dist.cross_validate(Xd, y, cv=da.from_array(np.arange(600) % 4 - 1.0, chunks=200),
                            scheduler="synchronous")
    with pytest.raises(ValueError, match="with fractions"):
        dist.cross_validate(Xd, y, cv=da.from_array(np.arange(600) % 3 + 0.5, chunks=200),
                            scheduler="synchronous")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y, "c": rng.choice(["u", "v"], 600)})
    (tmp_path / "m").mkdir()
    df.iloc[:300].to_parquet(tmp_path / "m" / "p0.parquet", index=False)
    df.iloc[300:].drop(columns=["y"]).to_parquet(tmp_path / "m" / "p1.parquet", index=False)
    with pytest.raises(ValueError, match=r"do not all have the same columns: \['y'\]"):
        dist.read_parquet(str(tmp_path / "m" / "*.parquet"), "y", columns=["a", "b"])
    df.to_parquet(tmp_path / "text.parquet", index=False)
    with pytest.raises(ValueError, match="target column 'c' holds text"):
        dist.read_parquet(str(tmp_path / "text.parquet"), "c", columns=["a", "b"])
    # a column numeric in the first file and text in another
    (tmp_path / "t").mkdir()
    df.iloc[:300].to_parquet(tmp_path / "t" / "p0.parquet", index=False)
    late = df.iloc[300:].astype({"b": str})
    late.loc[late.index[7], "b"] = "n/a"
    late.to_parquet(tmp_path / "t" / "p1.parquet", index=False)
    with pytest.raises(ValueError, match=r"column 'b' holds text \('n/a'\)"):
        table = dist.read_parquet(str(tmp_path / "t" / "*.parquet"), "y", columns=["a", "b"])
        dist.regularization_path(table.X, table.y, scheduler="synchronous")
