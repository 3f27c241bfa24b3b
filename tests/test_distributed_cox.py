"""The Cox family on blocked data equals the in-memory Cox fits (histograms over the
event times), with its certificate recomputed independently."""

import warnings

import dask.array as da
import numpy as np
import pytest

import shrinkage
import shrinkage.distributed as dist


def _survival(n=1200, p=5, seed=0, start=False, grid=20.0):
    """Tied event times (rounded to 1/grid), censoring, and optional entry times."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, p) + rng.normal(size=p)
    eta = (X - X.mean(0))[:, :3] @ np.array([0.6, -0.4, 0.3])
    T = np.round(rng.exponential(np.exp(-eta)) * grid) / grid + 1.0 / grid
    C = np.round(rng.exponential(1.5, n) * grid) / grid + 1.0 / grid
    stop = np.minimum(T, C)
    event = (T <= C).astype(float)
    if not start:
        return X, np.c_[stop, event]
    entry = np.round(rng.uniform(0, 0.5, n) * stop * grid) / grid
    entry[rng.uniform(size=n) < 0.5] = 0.0
    return X, np.c_[entry, stop, event]


CASES = [
    dict(),
    dict(weights=True, offset=True, strata=True),
    dict(start=True, strata=True),
    dict(standardize=False, l1_ratio=0.5),
    dict(penalty_factor=np.r_[0.0, np.ones(4)], weights=True),
]


def _kwargs(case, n, seed=3):
    rng = np.random.default_rng(seed)
    kw = {k: v for k, v in case.items() if k not in ("weights", "offset", "strata", "start")}
    if case.get("weights"):
        kw["sample_weight"] = rng.uniform(0, 2, n)
    if case.get("offset"):
        kw["offset"] = 0.2 * rng.normal(size=n)
    if case.get("strata"):
        kw["strata"] = rng.integers(0, 3, n)
    return kw


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("case", CASES)
def test_path_equals_in_memory(ties, case):
    X, y = _survival(start=case.get("start", False))
    kw = _kwargs(case, X.shape[0])
    ref = shrinkage.regularization_path(X, y, "cox", ties=ties, tol=1e-11, n_lams=20, **kw)
    got = dist.regularization_path(da.from_array(X, chunks=(250, X.shape[1])), y, "cox",
                                   ties=ties, tol=1e-11, n_lams=20, scheduler="synchronous",
                                   **kw)
    assert got.n_lams == ref.n_lams and got.family == "cox"
    np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
    np.testing.assert_allclose(got.coefs, ref.coefs, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got.dev_ratio, ref.dev_ratio, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.null_deviance, ref.null_deviance, rtol=1e-12)
    assert np.all(got.converged) and np.all(got.certificate <= 1e-11)
    assert got.extra["passes"] > 1


def _gradient(X, y, w, offset, strata, b, efron):
    """Minus the gradient of the loss (negative log partial likelihood / sum w), by brute
    force over the event times of each stratum (O(n m))."""
    w = w / w.sum()
    eta = X @ b + offset
    r = w * np.exp(eta - eta.max())
    start, stop, event = y.T if y.shape[1] == 3 else (np.full(len(y), -np.inf), *y.T)
    g = (w * event) @ X
    for s in np.unique(strata):
        ins = strata == s
        for t in np.unique(stop[ins & (event == 1) & (w > 0)]):
            risk = ins & (start < t) & (stop >= t)
            dies = ins & (stop == t) & (event == 1) & (w > 0)
            d, W = int(dies.sum()), float(w[dies].sum())
            S, S1 = r[risk].sum(), r[risk] @ X[risk]
            D, D1 = r[dies].sum(), r[dies] @ X[dies]
            for k in range(d if efron else 1):
                c = k / d if efron else 0.0
                a = W / d if efron else W
                g -= a * (S1 - c * D1) / (S - c * D)
    return g


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_certificate_recomputed_in_numpy(ties):
    X, y = _survival(n=600, start=True, seed=4)
    rng = np.random.default_rng(5)
    w, off, strata = rng.uniform(0.2, 2, 600), 0.1 * rng.normal(size=600), rng.integers(0, 2, 600)
    path = dist.regularization_path(X, y, "cox", ties=ties, tol=1e-9, n_lams=12,
                                    sample_weight=w, offset=off, strata=strata,
                                    block_rows=128)
    efron = ties == "efron"
    s = np.sqrt(np.cov(X.T, aweights=w, bias=True).diagonal())
    g0 = _gradient(X, y, w, off, strata, np.zeros(5), efron)
    top = np.max(np.abs(g0) / s)
    np.testing.assert_allclose(path.lam_max, top, rtol=1e-9)  # lasso: max |g0_j| / s_j
    for lam, b, cert in zip(path.lams, path.coefs, path.certificate):
        g = _gradient(X, y, w, off, strata, b, efron)
        viol = np.where(b == 0, np.maximum(np.abs(g) - lam * s, 0.0),
                        np.abs(g - lam * s * np.sign(b)))
        mine = np.max(viol / s) / top
        assert mine <= 1e-9
        np.testing.assert_allclose(cert, mine, rtol=1e-5, atol=1e-13)


def test_rows_in_any_order_and_blocking():
    X, y = _survival(n=900, start=True, seed=6)
    strata = np.random.default_rng(7).integers(0, 2, 900)
    kw = dict(ties="efron", tol=1e-11, n_lams=15, scheduler="synchronous")
    a = dist.regularization_path(da.from_array(X, chunks=(100, 5)), y, "cox", strata=strata,
                                 **kw)
    perm = np.random.default_rng(8).permutation(900)
    b = dist.regularization_path(da.from_array(X[perm], chunks=(337, 5)),
                                 da.from_array(y[perm], chunks=(200, 3)), "cox",
                                 strata=da.from_array(strata[perm], chunks=300), **kw)
    np.testing.assert_allclose(b.coefs, a.coefs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(b.dev_ratio, a.dev_ratio, rtol=0, atol=1e-12)
    assert np.all(a.certificate <= 1e-11) and np.all(b.certificate <= 1e-11)


def _bad(y, strata=None, match=""):
    X = np.random.default_rng(0).normal(size=(y.shape[0], 3))
    with pytest.raises(ValueError, match=match):
        dist.regularization_path(X, y, "cox", strata=strata, block_rows=100)


def test_bad_survival_inputs_are_refused_by_block_and_row():
    _, y = _survival(n=400, p=3)
    bad = y.copy()
    bad[250, 0] = -1.0
    _bad(bad, match=r"negative times in block 2 \(rows 200 to 299\), first at row 250")
    bad = y.copy()
    bad[120, 0] = np.nan
    _bad(bad, match=r"time has NaN or inf in block 1 .*row 120")
    bad = y.copy()
    bad[399, 1] = 2.0
    _bad(bad, match=r"event indicator must be 0 or 1; block 3 .* row 399")
    _bad(np.c_[y[:, 0], np.zeros(400)], match="no events")
    entry = np.c_[np.zeros(400), y]
    entry[130, 0] = y[130, 0]
    _bad(entry, match=r"stop <= start in block 1 \(rows 100 to 199\), first at row 130")
    strata = np.zeros(400)
    strata[y[:, 1] == 0] = 1
    _bad(y, strata=strata, match="stratum 1 has no events")
    _bad(np.c_[np.ones(400), np.ones(400)], match="only its tied events")
    with pytest.raises(ValueError, match="ties must be"):
        dist.regularization_path(np.ones((4, 1)) * np.arange(4)[:, None], y[:4], "cox",
                                 ties="exact")


def test_cv_deviance_equals_in_memory_with_the_same_folds():
    X, y = _survival(n=800, seed=9)
    rng = np.random.default_rng(10)
    folds = rng.integers(0, 4, 800)
    kw = dict(sample_weight=rng.uniform(0.5, 1.5, 800), offset=0.1 * rng.normal(size=800),
              strata=rng.integers(0, 2, 800), ties="efron", tol=1e-11, n_lams=12)
    ref = shrinkage.cross_validate(X, y, "cox", cv=folds, **kw)
    got = dist.cross_validate(da.from_array(X, chunks=(200, 5)), y, "cox", cv=folds,
                              scheduler="synchronous", **kw)
    assert got.metric == ref.metric == "deviance"
    np.testing.assert_allclose(got.lams, ref.lams, rtol=1e-10)
    np.testing.assert_allclose(got.fold_scores, ref.fold_scores, rtol=1e-8)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-6)
    assert (got.index_min, got.index_chosen) == (ref.index_min, ref.index_chosen)
    with pytest.raises(ValueError, match="c_index.*not computed on blocked data"):
        dist.cross_validate(X, y, "cox", cv=folds, metric="c_index")


def test_one_strength_per_pass_when_histograms_are_large(monkeypatch):
    import shrinkage.distributed.cox_fit as cox_fit

    X, y = _survival(n=700, seed=11)
    kw = dict(ties="efron", tol=1e-11, n_lams=10, block_rows=200)
    wide = dist.regularization_path(X, y, "cox", **kw)
    monkeypatch.setattr(cox_fit, "WINDOW_BYTES", 1)
    narrow = dist.regularization_path(X, y, "cox", **kw)
    assert wide.extra["window"] == 16 and narrow.extra["window"] == 1
    assert narrow.extra["passes"] > wide.extra["passes"]
    np.testing.assert_allclose(narrow.coefs, wide.coefs, rtol=0, atol=1e-9)
    assert np.all(narrow.certificate <= 1e-11)


def test_cli_fits_survival_files_block_by_block(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from shrinkage import io as sio
    from shrinkage.cli import cli

    X, y = _survival(n=800, p=3, seed=12)
    rng = np.random.default_rng(13)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "t": y[:, 0],
                          "dead": np.where(y[:, 1] == 1, "true", "false"),
                          "centre": rng.choice(["north", "south"], 800)})
    for i in range(4):
        frame.iloc[200 * i: 200 * (i + 1)].to_csv(tmp_path / f"p{i}.csv", index=False)
    args = ["fit", str(tmp_path / "p*.csv"), "--family", "cox", "--time", "t", "--event",
            "dead", "--strata", "centre", "--ties", "breslow", "--n-lams", "15", "--folds",
            "4", "--scheduler", "synchronous", "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    model = sio.load(tmp_path / "out" / "model.npz")
    assert model.family == "cox" and list(model.path.feature_names) == ["a", "b", "c"]
    assert model.extra["survival"]["strata"] == "centre"
    strata = (frame.centre == "south").to_numpy(dtype=float)
    ref = dist.cross_validate(da.from_array(X, chunks=(200, 3)), y, "cox", cv=4,
                              random_state=0, strata=strata, ties="breslow", n_lams=15,
                              scheduler="synchronous", return_path=True)
    np.testing.assert_allclose(model.path.coefs, ref[1].coefs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.cv.mean, ref[0].mean, rtol=1e-10)
    memory = shrinkage.regularization_path(X, y, "cox", strata=strata, ties="breslow",
                                           n_lams=15)
    np.testing.assert_allclose(model.path.coefs, memory.coefs, rtol=0, atol=1e-5)


def test_lagged_hessian_never_stalls_a_strength():
    """The blocked Hessian's diagonal part is lagged a step, so away from a solution the
    model can be indefinite: coordinate descent on it then moved along a direction the
    loss rises on, the line search halved that step to nothing and strengths 5 to 7 of
    this path ended with certificates up to 2e-2 where the in-memory fit certifies every
    point (found by a fuzz: 9 of 24 random blocked Cox paths). The model is now shifted
    to positive definite where it is not, and a trial whose loss overflows is never
    kept."""
    X = np.array([[-1.2688798181813934, 0.6111947177599563, 0.3888311898336664,
                   0.440018755907572, 0.29034907186629344],
                  [-0.43206921117774333, 0.41924811211903373, -0.28679913729656453,
                   -1.2628635774026646, 2.047721753648211],
                  [-1.8393734870028158, -1.0339412239317056, -1.424825855143708,
                   0.9538174302382396, -1.6816793867139024],
                  [-0.6570418626615904, -2.7857062866088844, 0.1602155297973502,
                   0.7951375942070118, 0.3464795540594927]])
    y = np.array([[0.14532772792733684, 0.0], [0.7990126014680936, 0.0],
                  [68.03267606738085, 0.0], [0.11809516721169248, 1.0]])
    w = np.array([1.0860338614182585, 0.3905379977488234, 1.6815156620960274,
                  0.7800232233729107])
    kw = dict(sample_weight=w, l1_ratio=0.5, n_lams=9, tol=1e-10)
    ref = shrinkage.regularization_path(X, y, "cox", **kw)
    got = dist.regularization_path(da.from_array(X, chunks=(50, 5)), y, "cox",
                                   scheduler="synchronous", **kw)
    assert ref.converged.all() and got.converged.all()
    np.testing.assert_allclose(got.coefs, ref.coefs, atol=1e-7)


def test_trial_with_overflowed_loss_is_never_kept():
    """A trial point whose loss overflowed has an infinite change and magnitude; the noise
    test (|change| within the rounding of the magnitudes) read inf <= inf as true and
    kept it, and the next certificate read a gradient the point never had."""
    from shrinkage.distributed.path_window import Strength

    class Fit:
        def penalty(self, b, lam):
            return float(np.abs(b).sum())

    e = Strength(0, 1.0, np.zeros(2), 0.0, {"dloss": 0.0, "dmag": 1.0})
    e.d, e.d0, e.dec, e.t = np.ones(2), 0.0, -1.0, 1.0
    for dloss, dmag in ((np.inf, np.inf), (np.nan, 1.0), (np.inf, 1.0)):
        e.update(Fit(), {"dloss": dloss, "dmag": dmag}, True)
        assert e.steps == 0 and not e.b.any()
    e.update(Fit(), {"dloss": -3.0, "dmag": 1.0}, True)  # a true decrease is kept
    assert e.steps == 1 and np.all(e.b == 1.0)


@pytest.mark.parametrize("n, p", [(71, 70), (120, 110)])
def test_wide_path_near_saturation_converges_as_in_memory(n, p):
    """With ``p ~ n`` the deep strengths' fits near saturation (deviance explained 0.998,
    coefficients up to 35 and 56). The lagged curvature there was indefinite or off by
    ``exp(160)``: its steps were thousands of units long, and 14 of 20 strengths ended
    unconverged with coefficients up to 58 away from the in-memory solution (found by a
    correctness hunt). A strength the lagged model misled now steps from the exact
    curvature at its own point. At 120 x 110 the late risk sets fall below ``exp(-355)``
    of the largest risk, which overflowed the curvature's ``1 / den^2`` (as in memory):
    the point's scale is shifted (``cox_fit.risk_scale``)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    eta = X[:, :5] @ rng.standard_normal(5) * 0.5
    t = rng.exponential(np.exp(-eta))
    c = rng.exponential(2 * np.median(t), n)
    y = np.c_[np.minimum(t, c), (t <= c).astype(float)]
    ref = shrinkage.regularization_path(X, y, "cox", n_lams=20, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow noise from rejected trial points
        got = dist.regularization_path(da.from_array(X, chunks=(24, p)), y, "cox",
                                       scheduler="synchronous", n_lams=20, tol=1e-8)
    assert ref.converged.all() and got.converged.all()
    assert np.abs(ref.coefs).max() > 30  # the deep end is reached
    np.testing.assert_allclose(got.dev_ratio, ref.dev_ratio, rtol=0, atol=1e-7)
    # both certified to 1e-8 on ill-conditioned fits (the deviance agrees to 1e-7, the
    # coefficients to 2e-5 of the largest; the unfixed code was off by 27)
    np.testing.assert_allclose(got.coefs, ref.coefs, rtol=0,
                               atol=1e-4 * np.abs(ref.coefs).max())


def test_anchors_serve_refreshes_first():
    """Positions asking for a refresh become anchors (up to the budget), every other
    point takes the nearest anchor before it, or the first one after it."""
    from shrinkage.distributed.path_window import anchors

    np.testing.assert_array_equal(anchors(8, 10), [0, 0, 2, 2, 4, 4, 6, 6])
    np.testing.assert_array_equal(anchors(8, 10, [5]), [0, 0, 2, 2, 4, 5, 5, 5])
    np.testing.assert_array_equal(anchors(8, 10, [7, 3, 5, 1, 6]), [1, 1, 1, 3, 3, 5, 5, 7])
    # one anchor only (p^2 past the budget): the refresh takes it, earlier points too
    np.testing.assert_array_equal(anchors(4, 2000, [2]), [2, 2, 2, 2])
    np.testing.assert_array_equal(anchors(4, 2000), [0, 0, 0, 0])
