"""Plots render headless and carry the expected artists; the overfit demo fit is exact."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from shrinkage import plotting  # noqa: E402
from shrinkage.results import CVResult, Path, SweepResult  # noqa: E402
from shrinkage.tuning.curves import compare_fits  # noqa: E402

NAMES = ["age", "bmi", "bp", "s1", "s5"]


def _ax():
    return Figure().add_subplot()


def make_path(family="gaussian", n_lams=12, p=5, classes=None, seed=0):
    rng = np.random.default_rng(seed)
    lams = np.logspace(0, -3, n_lams)
    # Coefficients that grow as lam falls, entering one by one.
    t = np.linspace(0, 1, n_lams)[:, None]
    scale = np.array([3.0, -2.0, 1.0, 0.5, -0.25])[:p]
    start = np.linspace(0, 0.6, p)[None, :]
    coefs = scale * np.clip(t - start, 0, None)
    if classes is not None:
        coefs = np.stack([coefs, -coefs, 0.5 * coefs], axis=2)
        intercepts = rng.standard_normal((n_lams, 3))
    else:
        intercepts = rng.standard_normal(n_lams)
    nz = np.abs(coefs) if coefs.ndim == 2 else np.abs(coefs).sum(2)
    return Path(
        lams=lams, coefs=coefs, intercepts=intercepts, nnz=np.count_nonzero(nz, axis=1),
        dev_ratio=np.linspace(0, 0.8, n_lams), null_deviance=10.0,
        certificate=np.zeros(n_lams), certificate_kind="duality_gap",
        converged=np.ones(n_lams, bool), n_iter=np.ones(n_lams, int), family=family,
        l1_ratio=1.0, tol=1e-7, standardize=True, fit_intercept=True,
        feature_names=np.array(NAMES[:p]), classes=classes,
    )


def make_cv(path, repeats=None):
    lams = path.lams
    mean = 1.0 + (np.log10(lams) + 1.5) ** 2
    se = np.full(lams.size, 0.3)
    i_min = int(np.argmin(mean))
    extra = {} if repeats is None else {"repeat_lam_chosen": lams[repeats]}
    return CVResult(
        lams=lams, fold_scores=np.tile(mean, (4, 1)), fold_weights=np.ones(4), mean=mean,
        se=se, metric="mse", greater_is_better=False, index_min=i_min,
        index_chosen=i_min - 2, rule="1se", nnz=path.nnz, extra=extra,
    )


def make_sweep(knob="weight_decay", with_curves=True):
    rng = np.random.default_rng(0)
    values = np.logspace(-5, -1, 6) if knob != "epochs" else np.arange(5, 35, 5).astype(float)
    mean = 1 + (np.arange(6) - 3.0) ** 2 / 10
    curves = {}
    if with_curves:
        epochs = np.arange(1, 21)
        train = np.exp(-epochs / 5)[None, None, :] * np.ones((2, 6, 1))
        val = train + (epochs / 20) ** 2
        curves = {"train": train + 0.01 * rng.random(train.shape), "val": val}
    return SweepResult(
        knob=knob, values=values, stronger="larger" if knob != "epochs" else "smaller",
        seed_scores=np.tile(mean, (2, 1)), mean=mean, se=np.full(6, 0.05), metric="val_loss",
        greater_is_better=False, index_min=3, index_chosen=4 if knob != "epochs" else 2,
        rule="1se", seeds=np.array([0, 1]), curves=curves,
    )


def _vlines_at(ax):
    """x positions of vertical lines (axvline) on ax."""
    out = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        if x.size == 2 and x[0] == x[1] and list(line.get_ydata()) == [0, 1]:
            out.append(float(x[0]))
    return out


def _secondary_labels(ax):
    (top,) = ax.child_axes
    return [t.get_text() for t in top.get_xticklabels()]


# --------------------------------------------------------------------------- path
def test_plot_path_lines_labels_nnz_and_chosen():
    path = make_path()
    cv = make_cv(path)
    ax = plotting.plot_path(path, _ax(), cv=cv)
    labelled = {ln.get_label(): ln for ln in ax.get_lines()}
    for j, name in enumerate(NAMES):
        np.testing.assert_array_equal(labelled[name].get_ydata(), path.coefs[:, j])
        np.testing.assert_array_equal(labelled[name].get_xdata(), path.lams)
    # Every feature selected at the chosen lam is named there, not only the largest.
    chosen = path.coefs[cv.index_chosen]
    assert 2 <= np.count_nonzero(chosen) < len(NAMES)
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        NAMES[j] for j in np.flatnonzero(chosen))
    for t in ax.texts:
        assert t.xy == (pytest.approx(cv.lam_chosen), pytest.approx(
            chosen[NAMES.index(t.get_text())]))
    # n_labels keeps the largest of them; without a chosen lam, the largest at the end.
    ax = plotting.plot_path(path, _ax(), cv=cv, n_labels=1)
    assert [t.get_text() for t in ax.texts] == [NAMES[int(np.argmax(np.abs(chosen)))]]
    ax = plotting.plot_path(path, _ax(), n_labels=3)
    assert sorted(t.get_text() for t in ax.texts) == ["age", "bmi", "bp"]
    ax = plotting.plot_path(path, _ax(), cv=cv)
    assert _vlines_at(ax) == [pytest.approx(cv.lam_chosen)]
    assert "chosen lam (1se)" in labelled[f"chosen lam (1se) = {cv.lam_chosen:.3g}"].get_label()
    assert ax.get_xscale() == "log"
    labels = _secondary_labels(ax)
    assert labels[0] == str(path.nnz[-1]) or labels[-1] == str(path.nnz[0])
    assert set(labels) <= {str(int(v)) for v in path.nnz}


def test_plot_path_draws_only_the_largest_active_paths():
    path = make_path()
    coefs = path.coefs.copy()
    coefs[:, 4] = 0.0  # never active: not drawn
    path = Path(**{**path.__dict__, "coefs": coefs})
    ax = plotting.plot_path(path, _ax(), max_lines=2, n_labels=0)
    drawn = [ln.get_label() for ln in ax.get_lines() if ln.get_label() in NAMES]
    assert drawn == ["age", "bmi"]  # the two largest peaks, in feature order
    assert [t.get_text() for t in ax.texts] == ["the 2 largest of 4 paths"]
    ax = plotting.plot_path(path, _ax(), n_labels=0)
    assert [ln.get_label() for ln in ax.get_lines() if ln.get_label() in NAMES] == NAMES[:4]
    assert len(ax.texts) == 0


def test_plot_path_other_axes_and_explicit_lam():
    path = make_path()
    ax = plotting.plot_path(path, _ax(), x="l1_norm", lam=path.lams[5])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), np.abs(path.coefs).sum(1))
    assert _vlines_at(ax) == [pytest.approx(np.abs(path.coefs[5]).sum())]
    ax = plotting.plot_path(path, _ax(), x="dev_ratio", feature_names=list("abcde"))
    assert ax.get_xscale() == "linear" and ax.get_lines()[0].get_label() == "a"
    assert _vlines_at(ax) == []


def test_plot_path_multinomial():
    path = make_path("multinomial", classes=np.array(["a", "b", "c"]))
    ax = plotting.plot_path(path, _ax())
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               np.sqrt(np.sum(path.coefs[:, 0, :] ** 2, axis=1)))
    ax = plotting.plot_path(path, _ax(), class_index=1)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), path.coefs[:, 0, 1])
    with pytest.raises(ValueError, match="class_index"):
        plotting.plot_path(path, _ax(), class_index=3)


def test_plot_path_standardized_scale():
    path = make_path()
    sd = np.array([0.5, 2.0, 1.0, 10.0, 0.1])
    ax = plotting.plot_path(path, _ax(), scale="standardized", feature_sd=sd)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    for j, name in enumerate(NAMES):
        np.testing.assert_allclose(lines[name].get_ydata(), path.coefs[:, j] * sd[j])
    assert "standardized" in ax.get_ylabel()
    # The standard deviations may travel with the path (shrinkage fit stores them).
    stored = Path(**{**path.__dict__, "extra": {"feature_sd": sd}})
    ax = plotting.plot_path(stored, _ax(), scale="standardized", cv=make_cv(stored))
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), path.coefs[:, 0] * sd[0])
    # Multinomial norms on the standardized scale.
    multi = make_path("multinomial", classes=np.array(["a", "b", "c"]))
    ax = plotting.plot_path(multi, _ax(), scale="standardized", feature_sd=sd)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(),
                               np.sqrt(np.sum(multi.coefs[:, 1, :] ** 2, axis=1)) * sd[1])
    with pytest.raises(ValueError, match="needs the standard deviation of each feature"):
        plotting.plot_path(path, _ax(), scale="standardized")
    with pytest.raises(ValueError, match="scale must be"):
        plotting.plot_path(path, _ax(), scale="log")
    with pytest.raises(ValueError, match="feature_sd has shape"):
        plotting.plot_path(path, _ax(), feature_sd=[1.0, 2.0])


def test_plot_path_labels_follow_the_selection_rule_and_do_not_overlap():
    from shrinkage.plotting.paths import selected_features

    path = make_path()
    cv = make_cv(path)
    coefs = path.coefs.copy()
    coefs[cv.index_chosen, 4] = -3e-6  # at the solver's precision: not selected
    coefs[cv.index_chosen, :3] = [1.0, 1.001, 0.999]  # three labels at one height
    path = Path(**{**path.__dict__, "coefs": coefs})
    sd = np.ones(5)
    assert not selected_features(coefs[cv.index_chosen], sd, path.tol)[4]
    fig = Figure(figsize=(6.4, 4.2))
    ax = plotting.plot_path(path, fig.add_subplot(), cv=cv, feature_sd=sd)
    names = sorted(t.get_text() for t in ax.texts)
    assert "s5" not in names and {"age", "bmi", "bp"} <= set(names)
    heights = sorted(t.xyann[1] for t in ax.texts)
    assert np.min(np.diff(heights)) >= 0.045 - 1e-12
    assert all(0 <= h <= 1 for h in heights)


def test_plots_never_refit(monkeypatch):
    import shrinkage.engine.path as engine_path

    def refit(*args, **kwargs):
        raise AssertionError("a plot refitted")

    monkeypatch.setattr(engine_path, "fit_path", refit)
    path = make_path()
    plotting.plot_path(path, _ax(), cv=make_cv(path), scale="standardized",
                       feature_sd=np.ones(5))


def test_plot_path_errors():
    path = make_path()
    with pytest.raises(TypeError, match="path must be a Path"):
        plotting.plot_path(make_cv(path))
    with pytest.raises(ValueError, match="x must be one of"):
        plotting.plot_path(path, _ax(), x="norm")
    with pytest.raises(ValueError, match="feature_names has 2 entries"):
        plotting.plot_path(path, _ax(), feature_names=["a", "b"])
    with pytest.raises(ValueError, match="lam must be a positive"):
        plotting.plot_path(path, _ax(), lam=-1)
    with pytest.raises(ValueError, match="n_labels"):
        plotting.plot_path(path, _ax(), n_labels=-1)
    with pytest.raises(ValueError, match="max_lines"):
        plotting.plot_path(path, _ax(), max_lines=1.5)


def test_plot_without_ax_makes_a_pyplot_figure():
    ax = plotting.plot_path(make_path())
    assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    plt.close("all")


# --------------------------------------------------------------------------- cv
def test_plot_cv_band_min_chosen_and_nnz():
    path = make_path()
    cv = make_cv(path)
    ax = plotting.plot_cv(cv, _ax())
    (mean_line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("mean CV")]
    np.testing.assert_array_equal(mean_line.get_ydata(), cv.mean)
    assert sorted(_vlines_at(ax)) == sorted([cv.lam_min, cv.lam_chosen])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    verts = bands[0].get_paths()[0].vertices
    assert verts[:, 1].max() == pytest.approx((cv.mean + cv.se).max())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"chosen (1se) = {cv.lam_chosen:.3g}" in legend
    assert f"lam_min = {cv.lam_min:.3g}" in legend
    assert set(_secondary_labels(ax)) <= {str(int(v)) for v in path.nnz}


def test_plot_cv_shows_the_spread_over_repeats():
    path = make_path()
    cv = make_cv(path, repeats=[3, 5, 6])
    ax = plotting.plot_cv(cv, _ax())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chosen lam over 3 repeats" in legend
    (ticks,) = [ln for ln in ax.get_lines() if ln.get_label() == "_repeats"]
    np.testing.assert_allclose(ticks.get_xdata(), path.lams[[3, 5, 6]])
    # One repeat is no spread: nothing extra drawn.
    ax = plotting.plot_cv(make_cv(path, repeats=[4]), _ax())
    assert not [ln for ln in ax.get_lines() if ln.get_label() == "_repeats"]


# --------------------------------------------------------------------------- overfit
def test_plot_overfit_demo_shows_the_seed_picture():
    from shrinkage.report import overfit_demo

    ax = plotting.plot_overfit(overfit_demo(), _ax())
    lines = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()}
    assert set(lines) == {"truth", "no regularization", "regularized", "data"}
    x, y = lines["data"].get_xdata(), lines["data"].get_ydata()
    grid = lines["no regularization"].get_xdata()
    truth = np.sin(2 * np.pi * grid) + 0.5 * grid
    wild = lines["no regularization"].get_ydata()
    smooth = lines["regularized"].get_ydata()
    # The unregularized curve is further from the truth and far rougher.
    assert np.mean((smooth - truth) ** 2) < 0.25 * np.mean((wild - truth) ** 2)
    assert np.sum(np.diff(wild, 2) ** 2) > 10 * np.sum(np.diff(smooth, 2) ** 2)
    assert x.size == 20 and np.all(np.isfinite(y))


def test_plot_overfit_on_given_data_and_spline():
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(-2, 3, 25))
    y = np.cos(x) + 0.1 * rng.standard_normal(25)
    fits = compare_fits(x, y, truth=np.cos, basis="spline", degree=12, lam=0.01)
    ax = plotting.plot_overfit(fits, _ax())
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["truth", "no regularization", "regularized (lam=0.01)", "data"]
    for bad, msg in [
        (dict(x=x, y=y[:-1]), "same length"),
        (dict(x=x[:2], y=y[:2]), "at least 3"),
        (dict(x=x, y=np.r_[y[:-1], np.nan]), "finite"),
        (dict(x=x, y=y, lam="best"), "lam must be 'auto'"),
        (dict(x=x, y=y, lam=-1.0), "lam must be a finite number >= 0"),
        (dict(x=x, y=y, basis="fourier"), "basis must be one of"),
        (dict(x=x, y=y, degree=0), "degree must be an integer"),
    ]:
        with pytest.raises(ValueError, match=msg):
            compare_fits(**bad)
    # a plot draws a result; it never fits
    with pytest.raises(TypeError, match="draws a CurveComparison"):
        plotting.plot_overfit(x, _ax())


def test_curve_fits_match_sklearn_and_exact_loo():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 15)
    y = np.sin(3 * x) + 0.2 * rng.standard_normal(15)
    lam = 0.02
    fits = compare_fits(x, y, degree=6, lam=lam)
    B = fits.basis(x)
    mu, sd = B.mean(0), B.std(0)
    Z = (B - mu) / sd
    ref = Ridge(alpha=x.size * lam).fit(Z, y)
    np.testing.assert_allclose(fits.coefs[1] * sd, ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fits.predict(x), ref.predict(Z), rtol=1e-10)
    # Exact leave-one-out equals brute-force refits with the same penalty matrix
    # (n * lam * I) and the standardization of all data, as the hat-matrix identity assumes.
    errs = []
    for i in range(x.size):
        keep = np.arange(x.size) != i
        r = Ridge(alpha=x.size * lam).fit(Z[keep], y[keep])
        errs.append(y[i] - r.predict(Z[i : i + 1])[0])
    np.testing.assert_allclose(fits.loo_mse[0], np.mean(np.square(errs)), rtol=1e-8)
    # lam = 0 is least squares.
    coef, *_ = np.linalg.lstsq(np.c_[np.ones(15), Z], y, rcond=None)
    np.testing.assert_allclose(fits.coefs[0] * sd, coef[1:], rtol=1e-6, atol=1e-8)
    # "auto" picks the grid point of smallest exact leave-one-out error
    auto = compare_fits(x, y, degree=6)
    assert auto.lam == auto.lams[np.nanargmin(auto.loo_mse)]


# --------------------------------------------------------------------------- gap
def test_plot_gap_training_and_validation_curves():
    path = make_path()
    rng = np.random.default_rng(4)
    X, Xv = rng.standard_normal((30, 5)), rng.standard_normal((20, 5))
    y, yv = rng.standard_normal(30), rng.standard_normal(20)
    ax = plotting.plot_gap(path, X, y, _ax(), X_val=Xv, y_val=yv)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    train = np.mean((y[:, None] - (X @ path.coefs.T + path.intercepts)) ** 2, axis=0)
    val = np.mean((yv[:, None] - (Xv @ path.coefs.T + path.intercepts)) ** 2, axis=0)
    np.testing.assert_allclose(lines["training mse"].get_ydata(), train)
    np.testing.assert_allclose(lines["validation mse"].get_ydata(), val)
    best = path.lams[np.argmin(val)]
    assert _vlines_at(ax) == [pytest.approx(best)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ("overfitting" in legend) == (best > path.lams.min())


def test_plot_gap_with_cv_and_class_labels():
    path = make_path("binomial", classes=None)
    path = Path(**{**path.__dict__, "classes": np.array(["no", "yes"])})
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 5))
    y = np.where(rng.random(40) < 0.5, "no", "yes")
    cv = make_cv(path)
    cv = CVResult(**{**cv.__dict__, "metric": "deviance"})
    ax = plotting.plot_gap(path, X, y, _ax(), cv=cv)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    eta = X @ path.coefs.T + path.intercepts
    yc = (y == "yes")[:, None]
    dev = 2 * np.mean(np.logaddexp(0, eta) - yc * eta, axis=0)
    np.testing.assert_allclose(lines["training deviance"].get_ydata(), dev)
    np.testing.assert_array_equal(lines["CV deviance"].get_ydata(), cv.mean)
    with pytest.raises(ValueError, match="not a class of the path"):
        plotting.plot_gap(path, X, np.where(y == "no", "maybe", y), _ax(), cv=cv)


def test_plot_gap_errors():
    path = make_path()
    X, y = np.ones((4, 5)), np.ones(4)
    with pytest.raises(ValueError, match="not both"):
        plotting.plot_gap(path, X, y, _ax())
    with pytest.raises(ValueError, match="not both"):
        plotting.plot_gap(path, X, y, _ax(), X_val=X, y_val=y, cv=make_cv(path))
    with pytest.raises(ValueError, match="give both X_val and y_val"):
        plotting.plot_gap(path, X, y, _ax(), X_val=X)
    with pytest.raises(ValueError, match="differs from the CV metric"):
        plotting.plot_gap(path, X, y, _ax(), cv=make_cv(path), metric="mae")
    with pytest.raises(ValueError, match="X has 3 features"):
        plotting.plot_gap(path, X[:, :3], y, _ax(), X_val=X, y_val=y)
    with pytest.raises(ValueError, match="does not fit family"):
        plotting.plot_gap(path, X, y, _ax(), X_val=X, y_val=y, metric="auc")


# --------------------------------------------------------------------------- sweeps
def test_plot_sweep():
    sweep = make_sweep()
    ax = plotting.plot_sweep(sweep, _ax())
    assert ax.get_xscale() == "log"
    assert sorted(_vlines_at(ax)) == sorted([sweep.value_min, sweep.value_chosen])
    assert any(t.get_text() == "stronger ->" for t in ax.texts)
    assert ax.get_xlabel() == "weight_decay"
    ep = make_sweep("epochs")
    ax = plotting.plot_sweep(ep, _ax())
    assert ax.get_xscale() == "linear"
    assert any(t.get_text() == "<- stronger" for t in ax.texts)
    with pytest.raises(TypeError, match="sweep must be a SweepResult"):
        plotting.plot_sweep(make_cv(make_path()))


def test_plot_learning_curves():
    sweep = make_sweep()
    ax = plotting.plot_learning_curves(sweep, _ax())
    val_lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("validation")]
    assert len(val_lines) == 3  # chosen, best, weakest
    np.testing.assert_allclose(val_lines[0].get_ydata(), sweep.curves["val"][:, 4].mean(0))
    stops = [ln for ln in ax.get_lines() if ln.get_label() == "_stop"]
    assert [int(s.get_xdata()[0]) for s in stops] == [
        int(np.argmin(sweep.curves["val"][:, i].mean(0))) + 1 for i in (4, 3, 0)
    ]
    ax = plotting.plot_learning_curves(make_sweep("epochs"), _ax(), indices=[1])
    assert _vlines_at(ax) == [15.0]
    with pytest.raises(ValueError, match="no 'val' learning curves"):
        plotting.plot_learning_curves(make_sweep(with_curves=False), _ax())
    with pytest.raises(ValueError, match="out of range"):
        plotting.plot_learning_curves(sweep, _ax(), indices=[9])


# --------------------------------------------------------------------------- Bayes
def test_plot_evidence_with_cv_overlay():
    path = make_path()
    cv = make_cv(path)
    logev = -((np.log10(path.lams) + 2) ** 2)
    ax = plotting.plot_evidence({"lams": path.lams, "log_evidence": logev}, _ax(), cv=cv)
    (ev,) = [ln for ln in ax.get_lines() if ln.get_label() == "log evidence"]
    np.testing.assert_array_equal(ev.get_ydata(), logev)
    assert _vlines_at(ax) == [pytest.approx(path.lams[np.argmax(logev)])]
    assert _vlines_at(ax.cv_axes) == [pytest.approx(cv.lam_chosen)]

    class Fitted:
        lams = None  # an unset constructor parameter must not hide the fitted grid
        lams_ = path.lams
        log_evidence_ = logev
        lam_ = 0.05

    ax = plotting.plot_evidence(Fitted(), _ax())
    assert _vlines_at(ax) == [0.05]
    with pytest.raises(TypeError, match="must provide lams and log_evidence"):
        plotting.plot_evidence({"lams": path.lams}, _ax())
    with pytest.raises(ValueError, match="one length"):
        plotting.plot_evidence({"lams": path.lams, "log_evidence": logev[:-1]}, _ax())


def test_plot_intervals():
    mean = np.array([1.0, -0.5, 0.0])
    lo, hi = mean - 0.3, mean + np.array([0.3, 0.6, 0.1])
    ax = plotting.plot_intervals(mean, _ax(), lower=lo, upper=hi, feature_names=["a", "b", "c"],
                                 truth=[1.1, -0.4, 0.05], level=0.9)
    (segments,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segs = np.array(segments.get_segments())
    np.testing.assert_allclose(sorted(segs[:, 0, 0]), sorted(lo))
    np.testing.assert_allclose(sorted(segs[:, 1, 0]), sorted(hi))
    rows = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert rows == {2: "a", 1: "b", 0: "c"}  # first coefficient on top
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["90% credible interval", "posterior mean", "truth"]

    class Posterior:
        coef_ = mean

        def credible_intervals(self, level):
            return np.c_[mean - level, mean + level]

    ax = plotting.plot_intervals(Posterior(), _ax(), level=0.5)
    segs = np.array(ax.collections[0].get_segments())
    np.testing.assert_allclose(sorted(segs[:, 0, 0]), sorted(mean - 0.5))
    assert ax.get_legend().get_texts()[0].get_text() == "50% credible interval"
    with pytest.raises(ValueError, match="lower must be <= upper"):
        plotting.plot_intervals(mean, _ax(), lower=hi, upper=lo)
    with pytest.raises(TypeError, match="needs point estimates"):
        plotting.plot_intervals(mean, _ax())
    with pytest.raises(ValueError, match="truth has 2 entries"):
        plotting.plot_intervals(mean, _ax(), lower=lo, upper=hi, truth=[1, 2])


def test_bayes_plots_take_a_fitted_evidence_ridge():
    from shrinkage.bayes import EvidenceRidge
    from shrinkage.datasets import make_sparse_regression

    d = make_sparse_regression(60, 5, random_state=0)
    est = EvidenceRidge().fit(d.X, d.y)
    ax = plotting.plot_evidence(est, _ax())
    (ev,) = [ln for ln in ax.get_lines() if ln.get_label() == "log evidence"]
    np.testing.assert_array_equal(ev.get_ydata(), est.log_evidence_)
    assert _vlines_at(ax) == [pytest.approx(est.lam_)]
    ax = plotting.plot_intervals(est, _ax(), truth=d.coef)
    segs = np.array(ax.collections[0].get_segments())
    iv = est.credible_intervals(0.9)
    np.testing.assert_allclose(segs[:, 0, 0], iv[:, 0])
    np.testing.assert_allclose(segs[:, 1, 0], iv[:, 1])
    np.testing.assert_array_equal(segs[:, 0, 1], [4, 3, 2, 1, 0])  # first coefficient on top


def _torch_sweep():
    """A tiny real weight-decay sweep from shrinkage.torch (linear model, 8 epochs)."""
    import torch

    from shrinkage.torch.sweep import sweep

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3)).astype("float32")
    y = (X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(60)).astype("float32")
    train = (torch.tensor(X[:40]), torch.tensor(y[:40, None]))
    val = (torch.tensor(X[40:]), torch.tensor(y[40:, None]))
    return sweep(lambda: torch.nn.Linear(3, 1), train, val, knob="weight_decay",
                 values=[1e-4, 1e-2, 1e-1, 1.0], seeds=(0, 1), epochs=8, lr=0.05,
                 progress=False, n_jobs=1)


def test_sweep_plots_take_a_real_torch_sweep():
    sweep = _torch_sweep()
    ax = plotting.plot_sweep(sweep, _ax())
    (mean,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("mean")]
    np.testing.assert_allclose(mean.get_ydata(), sweep.mean)  # values are increasing
    assert sorted(_vlines_at(ax)) == sorted([sweep.value_min, sweep.value_chosen])
    ax = plotting.plot_learning_curves(sweep, _ax(), indices=[sweep.index_chosen])
    (val,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("validation")]
    np.testing.assert_allclose(val.get_ydata(),
                               sweep.curves["val"][:, sweep.index_chosen].mean(0))


def test_plot_evidence_takes_a_glm_evidence_result():
    from shrinkage.bayes import glm_evidence
    from shrinkage.datasets import make_sparse_regression

    d = make_sparse_regression(80, 4, n_informative=2, family="binomial", random_state=0)
    ev = glm_evidence(d.X, d.y, n_lams=12)
    ax = plotting.plot_evidence(ev, _ax())
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "log evidence"]
    np.testing.assert_array_equal(line.get_ydata(), ev.log_evidence)
    assert _vlines_at(ax) == [pytest.approx(ev.lam_best)]


def test_gap_scores_do_not_depend_on_blocking(monkeypatch):
    from shrinkage.plotting import fits as fits_module
    from shrinkage.plotting.fits import path_scores as _path_scores

    path = make_path()
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((50, 5)), rng.standard_normal(50)
    whole = _path_scores(path, X, y, "mse")
    for budget in (1, 250):  # one lam per block; blocks of 5, 5 and 2 lams
        monkeypatch.setattr(fits_module, "_ETA_BUDGET", budget)
        np.testing.assert_allclose(_path_scores(path, X, y, "mse"), whole, rtol=1e-14)
    mpath = make_path("multinomial", classes=np.array(["a", "b", "c"]))
    codes = rng.integers(0, 3, 50)
    monkeypatch.setattr(fits_module, "_ETA_BUDGET", 1 << 22)
    whole = _path_scores(mpath, X, np.array(["a", "b", "c"])[codes], "deviance")
    monkeypatch.setattr(fits_module, "_ETA_BUDGET", 300)
    np.testing.assert_allclose(
        _path_scores(mpath, X, np.array(["a", "b", "c"])[codes], "deviance"), whole, rtol=1e-14
    )
