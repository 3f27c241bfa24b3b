"""The blocked multinomial fit (dask arrays, memmaps, zarr) equals the in-memory fit, and
its certificate is the in-memory one recomputed here from the coefficients."""

import dask.array as da
import numpy as np
import pytest
import zarr
from scipy.special import logsumexp

import shrinkage
import shrinkage.distributed as dist
from _reference import multinomial_certificate


def _data(n=1500, p=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, p) + rng.normal(size=p) * 3
    B = rng.normal(size=(p, K))
    B[3:] = 0.0
    eta = 0.6 * (X - X.mean(0)) / X.std(0) @ B
    P = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
    y = (rng.uniform(size=(n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    w = rng.uniform(0, 2, n)
    off = 0.3 * rng.normal(size=(n, K))
    return X, y, w, off


CASES = [
    dict(sample_weight=True),
    dict(sample_weight=True, multinomial_grouped=False, l1_ratio=0.6),
    dict(sample_weight=True, offset=True, standardize=False),
    dict(fit_intercept=False, penalty_factor=[0.5, 1.0, 2.0, 1.0, 0.3]),
    dict(sample_weight=True, l1_ratio=0.0),
    # an unpenalised feature: its class coefficients are reported at mean zero
    dict(penalty_factor=[0.0, 1.0, 1.0, 1.0, 1.0]),
    dict(penalty_factor=[0.0, 1.0, 1.0, 1.0, 1.0], multinomial_grouped=False),
]


@pytest.mark.parametrize("kw", CASES)
def test_path_equals_in_memory_with_its_certificate(kw):
    X, y, w, off = _data()
    kw = dict(kw)
    weight = w if kw.pop("sample_weight", False) else None
    offset = off if kw.pop("offset", False) else None
    tol = 1e-11
    ref = shrinkage.regularization_path(X, y, "multinomial", tol=tol, n_lams=25,
                                        sample_weight=weight, offset=offset, **kw)
    # both null models are exact (also with an offset and a rare class), so each path
    # builds its own grid from its own lam_max
    got = dist.regularization_path(da.from_array(X, chunks=(400, X.shape[1])), y,
                                   "multinomial", tol=tol, n_lams=25, sample_weight=weight,
                                   offset=offset, scheduler="synchronous", **kw)
    assert got.n_lams == ref.n_lams and got.coefs.shape == ref.coefs.shape
    np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    np.testing.assert_allclose(got.intercepts, ref.intercepts, atol=1e-8)
    np.testing.assert_allclose(got.dev_ratio, ref.dev_ratio, atol=1e-8)
    np.testing.assert_array_equal(got.classes, ref.classes)
    free = np.asarray(kw.get("penalty_factor", 1.0)) == 0
    for path in (got, ref):
        np.testing.assert_allclose(path.coefs[:, free].sum(axis=2), 0.0, atol=1e-12)
    assert got.certificate_kind == "kkt_violation" and got.family == "multinomial"
    assert np.all(got.converged) and np.all(got.certificate <= tol)
    mine = multinomial_certificate(X, y, w if weight is not None else np.ones(X.shape[0]),
                                   offset, got, kw.get("multinomial_grouped", True),
                                   np.asarray(kw.get("penalty_factor", 1.0)))
    np.testing.assert_allclose(got.certificate, mine, rtol=1e-4, atol=1e-14)
    # one pass of moments and one for the null model, then rounds of a window of lams
    assert 2 < got.extra["passes"] < 2 * got.n_lams


def test_memmap_and_zarr_with_string_labels(tmp_path):
    X, y, w, _ = _data(n=1200, p=4, K=4, seed=3)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    mm = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    z = zarr.open(str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(300, 4),
                  dtype="f8")
    z[:] = X
    ref = shrinkage.regularization_path(X, labels, "multinomial", sample_weight=w,
                                        tol=1e-11, n_lams=15)
    for design in (np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="r", shape=X.shape),
                   zarr.open(str(tmp_path / "X.zarr"), mode="r")):
        got = dist.regularization_path(design, labels, "multinomial", sample_weight=w,
                                       tol=1e-11, n_lams=15, block_rows=300)
        np.testing.assert_array_equal(got.classes, ref.classes)
        np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
        np.testing.assert_allclose(got.intercepts, ref.intercepts, atol=1e-8)


def test_cv_equals_in_memory_with_the_same_folds():
    X, y, w, _ = _data(n=1200, p=4, seed=5)
    folds = np.random.default_rng(2).integers(0, 4, X.shape[0])
    kw = dict(sample_weight=w, tol=1e-11, n_lams=15)
    for metric in ("deviance", "misclassification"):
        ref = shrinkage.cross_validate(X, y, "multinomial", cv=folds, metric=metric, **kw)
        got = dist.cross_validate(da.from_array(X, chunks=(300, 4)), y, "multinomial",
                                  cv=folds, metric=metric, scheduler="synchronous", **kw)
        np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
        np.testing.assert_allclose(got.fold_scores, ref.fold_scores, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(got.fold_weights, ref.fold_weights, rtol=1e-12)
        assert (got.index_min, got.index_chosen) == (ref.index_min, ref.index_chosen)
        np.testing.assert_array_equal(got.extra["classes"], ref.extra["classes"])


def test_dask_labels_and_bad_labels_are_named():
    X, y, _, _ = _data(n=900, p=4)
    Xd = da.from_array(X, chunks=(300, 4))
    ref = shrinkage.regularization_path(X, y, "multinomial", tol=1e-11, n_lams=10)
    got = dist.regularization_path(Xd, da.from_array(y.astype(float), chunks=200),
                                   "multinomial", tol=1e-11, n_lams=10,
                                   scheduler="synchronous")
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-8)
    bad = y.astype(float)
    bad[650] = np.nan
    with pytest.raises(ValueError, match=r"y has NaN or inf in block 2 .*row 650"):
        dist.regularization_path(Xd, bad, "multinomial", scheduler="synchronous")
    with pytest.raises(ValueError, match="single class"):
        dist.regularization_path(Xd, np.zeros(900), "multinomial")
    zero = np.ones(900)
    zero[y == 2] = 0.0
    with pytest.raises(ValueError, match="class.*2 of y have no positive sample_weight"):
        dist.regularization_path(Xd, y, "multinomial", sample_weight=zero)
    with pytest.raises(ValueError, match=r"offset must have shape \(900, 3\)"):
        dist.regularization_path(Xd, y, "multinomial", offset=np.zeros(900))
    with pytest.raises(ValueError, match="bounds are not supported with the grouped"):
        dist.regularization_path(Xd, y, "multinomial", lower=-1.0)
    with pytest.raises(ValueError, match="training part of fold"):
        dist.cross_validate(Xd, y, "multinomial", cv=np.where(y == 2, 0, 1))


def test_cli_fits_class_labels_block_by_block(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from shrinkage import io as sio
    from shrinkage.cli import cli

    rng = np.random.default_rng(4)
    frames = []
    for i in range(3):
        f = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300) * 2 + 1,
                          "g": rng.choice(["p", "q"], 300), "w": rng.uniform(0.5, 2, 300)})
        score = f.a - 0.5 * f.b + (f.g == "q") + rng.normal(size=300)
        f["kind"] = np.select([score < -1.2, score < 0.4], ["low", "mid"], "high")
        f.to_parquet(tmp_path / f"part{i}.parquet", index=False)
        frames.append(f)
    whole = tmp_path / "whole.parquet"
    pd.concat(frames).to_parquet(whole, index=False)
    common = ["--target", "kind", "--weights", "w", "--n-lams", 15, "--folds", 4]

    def fit(src, out, *extra):
        res = CliRunner().invoke(cli, [str(a) for a in ["fit", src, *common, *extra,
                                                        "--out", tmp_path / out]])
        assert res.exit_code == 0, res.output
        return sio.load(tmp_path / out / "model.npz")

    b = fit(str(tmp_path / "part*.parquet"), "b", "--scheduler", "synchronous")
    m = fit(whole, "m")
    assert b.family == m.family == "multinomial"
    assert list(b.classes) == list(m.classes) == ["high", "low", "mid"]
    assert list(b.path.feature_names) == list(m.path.feature_names) == ["a", "b", "g=q"]
    assert b.path.coefs.shape == m.path.coefs.shape
    np.testing.assert_allclose(b.path.lams, m.path.lams, rtol=1e-9)
    # both certified to the default tolerance (1e-7): the same model to its scale. The
    # loss ignores a shift of a feature's row of coefficients across the classes, which
    # only the penalty's curvature pins down: compare the rows centred across classes
    assert np.all(b.path.converged) and np.all(m.path.converged)

    def centred(c):
        return c - c.mean(axis=2, keepdims=True)

    np.testing.assert_allclose(centred(b.path.coefs), centred(m.path.coefs), atol=1e-5)
    for name in ("model.npz", "report.html", "path.png", "cv.png", "coefficients.csv"):
        assert (tmp_path / "b" / name).stat().st_size > 0
    # its CV is distributed.cross_validate's on the same rows (stratified folds, seed 0)
    frame = pd.concat(frames)
    X = np.column_stack([frame.a, frame.b, frame.g == "q"]).astype(float)
    ref = dist.cross_validate(da.from_array(X, chunks=(300, 3)), frame.kind.to_numpy(),
                              "multinomial", cv=4, random_state=0, n_lams=15,
                              sample_weight=frame.w.to_numpy(), scheduler="synchronous")
    assert ref.extra["stratified"]
    np.testing.assert_allclose(b.cv.mean, ref.mean, rtol=1e-8)
    # the files' labels are a dask y: one more pass finds the classes and counts them
    # per file (for the stratified folds)
    assert b.extra["passes"] == ref.extra["passes"] + 1
    pred = CliRunner().invoke(cli, ["predict", str(tmp_path / "b" / "model.npz"),
                                    str(tmp_path / "part0.parquet")])
    assert pred.exit_code == 0 and pred.output.startswith("prediction,probability_high")


def test_local_cluster_runs_the_passes_on_workers():
    from distributed import Client, LocalCluster

    X, y, w, _ = _data(n=3000, p=4, seed=6)
    ref = shrinkage.regularization_path(X, y, "multinomial", sample_weight=w, tol=1e-11,
                                        n_lams=10)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        Xd = da.from_array(X, chunks=(500, 4)).persist()
        cv, path = dist.cross_validate(Xd, y, "multinomial", cv=3, sample_weight=w,
                                       tol=1e-11, n_lams=10, return_path=True)
    np.testing.assert_allclose(path.coefs, ref.coefs, atol=1e-8)
    assert cv.extra["stratified"] and cv.fold_scores.shape == (3, path.n_lams)


def test_null_model_with_an_offset_and_a_rare_class_is_exact():
    """Newton with halving on the intercepts: blocked and in-memory null models reach
    the same optimum, so both paths start from the same lam_max."""
    rng = np.random.default_rng(11)
    n, p = 1200, 4
    X = rng.normal(size=(n, p))
    y = rng.choice(3, size=n, p=[0.7, 0.297, 0.003])
    off = 2.0 * rng.normal(size=(n, 3))
    ref = shrinkage.regularization_path(X, y, "multinomial", offset=off, n_lams=5, tol=1e-10)
    got = dist.regularization_path(da.from_array(X, chunks=(300, p)), y, "multinomial",
                                   offset=off, n_lams=5, tol=1e-10, scheduler="synchronous")
    np.testing.assert_allclose(got.lam_max, ref.lam_max, rtol=1e-10)
    np.testing.assert_allclose(got.intercepts[0], ref.intercepts[0], atol=1e-9)
