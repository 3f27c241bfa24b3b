"""The user-facing side of MCP, SCAD and the adaptive lasso: the penalty picture and its
closed forms, the second tuning axis (gamma, adaptive exponent) in the estimators and on
the command line, one nonconvexity warning per cross-validated fit, model files."""

import threading
import warnings

import matplotlib
import numpy as np
import pytest
from click.testing import CliRunner

matplotlib.use("Agg")

from shrinkage import PenalizedRegressor, cross_validate  # noqa: E402
from shrinkage import io as sio  # noqa: E402
from shrinkage.cli import cli  # noqa: E402
from shrinkage.engine.kernels.concave import threshold as kernel_threshold  # noqa: E402
from shrinkage.engine.notes import pass_on, report_nonconvex  # noqa: E402
from shrinkage.engine.path import NonconvexWarning  # noqa: E402
from shrinkage.model.concave import concave_threshold, concave_value  # noqa: E402
from shrinkage.plotting.penalty import penalty_curves, plot_cv_grid, plot_penalty  # noqa: E402
from shrinkage.report import build_report  # noqa: E402
from shrinkage.report.penalty_section import nonconvex_note  # noqa: E402
from shrinkage.tuning import adaptive  # noqa: E402
from shrinkage.tuning.gamma_cv import cross_validate_gamma  # noqa: E402
from shrinkage.tuning.nonconvex import NonconvexSummary, one_nonconvex_warning  # noqa: E402

quiet = pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")


def _data(n=60, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :3] @ [2.0, -1.5, 1.0] + rng.standard_normal(n)
    return X, y


# ------------------------------------------------------------------ the penalty picture
def _firm(z, lam, g):  # MCP's closed form, orthonormal design
    a = np.abs(z)
    return np.where(a <= lam, 0.0, np.where(a <= g * lam, np.sign(z) * (a - lam) / (1 - 1 / g),
                                            z))


def _scad(z, lam, g):  # SCAD's closed form (Fan & Li 2001, eq. 2.8)
    a = np.abs(z)
    soft = np.sign(z) * np.maximum(a - lam, 0.0)
    mid = ((g - 1) * z - np.sign(z) * g * lam) / (g - 2)
    return np.where(a <= 2 * lam, soft, np.where(a <= g * lam, mid, z))


@pytest.mark.parametrize("penalty, gamma, lam, closed", [
    ("mcp", 3.0, 1.0, _firm), ("mcp", 1.5, 0.7, _firm), ("scad", 3.7, 1.0, _scad),
    ("scad", 2.5, 2.0, _scad)])
def test_plot_penalty_draws_the_closed_forms(penalty, gamma, lam, closed):
    left, right = plot_penalty(penalty, gamma, lam=lam)
    label = f"{penalty.upper()} (gamma = {gamma:g})"
    lines = {ax: {ln.get_label(): ln for ln in ax.get_lines()} for ax in (left, right)}
    t = lines[right][label].get_xdata()
    np.testing.assert_allclose(lines[right][label].get_ydata(), closed(t, lam, gamma),
                               atol=1e-12)
    np.testing.assert_allclose(lines[right]["lasso"].get_ydata(),
                               np.sign(t) * np.maximum(np.abs(t) - lam, 0), atol=1e-12)
    np.testing.assert_allclose(lines[right]["no shrinkage"].get_ydata(), t)
    value = lines[left][label].get_ydata()
    flat = (gamma * lam**2 / 2) if penalty == "mcp" else lam**2 * (gamma + 1) / 2
    beyond = np.abs(t) > gamma * lam
    assert beyond.any() and np.allclose(value[beyond], flat)
    near = np.abs(t) <= lam * min(1.0, gamma - 1)  # the lasso's slope at zero
    assert np.all(value[near] <= lam * np.abs(t[near]) + 1e-12)
    np.testing.assert_allclose(lines[left]["lasso"].get_ydata(), lam * np.abs(t))
    import matplotlib.pyplot as plt

    plt.close(left.figure)


@pytest.mark.parametrize("kind, code, gamma", [("mcp", 1, 1.5), ("mcp", 1, 4.0),
                                               ("scad", 2, 2.5), ("scad", 2, 3.7)])
@pytest.mark.parametrize("v, lam2", [(1.0, 0.0), (0.25, 0.0), (0.3, 0.1)])
def test_threshold_is_the_global_univariate_minimum(kind, code, gamma, v, lam2):
    """Brute force on a fine grid, convex (v = 1) and nonconvex (small v) alike; and the
    compiled kernel agrees with the NumPy reference."""
    z = np.linspace(-4.0, 4.0, 33)
    got = concave_threshold(kind, z, 1.0, gamma, lam2, v)
    grid = np.linspace(-20, 20, 40001)
    for zi, ti in zip(z, got):
        f = 0.5 * (v + lam2) * grid**2 - zi * grid + concave_value(kind, grid, 1.0, gamma)
        fi = 0.5 * (v + lam2) * ti**2 - zi * ti + concave_value(kind, ti, 1.0, gamma)
        assert fi <= f.min() + 1e-9
        assert kernel_threshold(code, zi, v, 1.0, lam2, gamma) == pytest.approx(ti, abs=1e-12)


def test_penalty_curves_refuse_bad_input():
    with pytest.raises(ValueError, match="mcp' or 'scad"):
        penalty_curves("elasticnet")
    with pytest.raises(ValueError, match="gamma"):
        penalty_curves("scad", 1.5)
    with pytest.raises(ValueError, match="lam"):
        penalty_curves("mcp", lam=0.0)


@quiet
def test_report_draws_the_penalty_and_reads_it_honestly():
    X, y = _data(seed=3)
    res, path = cross_validate(X, y, penalty="scad", cv=4, return_path=True)
    html = build_report(path, res, X=X, y=y)
    assert 'id="penalty"' in html and "SCAD penalty next to the lasso" in html
    assert "improper prior" in html and "convexity diagnostic" in html
    lasso_res, lasso = cross_validate(X, y, cv=4, return_path=True)
    assert nonconvex_note(lasso, lasso_res) is None
    assert 'id="penalty"' not in build_report(lasso, lasso_res, X=X, y=y)


# ------------------------------------------------------------------ the gamma axis
@quiet
def test_gamma_list_in_the_estimator_is_cross_validate_gamma():
    X, y = _data(seed=1)
    est = PenalizedRegressor(penalty="mcp", gamma=[5, 2, 3], cv=4).fit(X, y)
    ref, paths = cross_validate_gamma(X, y, penalty="mcp", gammas=[2, 3, 5], cv=4,
                                      random_state=0, return_path=True)
    assert est.cv_grid_.index_chosen == ref.index_chosen
    i, j = ref.index_chosen
    assert est.gamma_ == ref.gammas[i] and est.lam_ == ref.results[i].lams[j]
    np.testing.assert_allclose(est.coef_, paths[i].coefs[j])
    assert est.cv_.index_chosen == j and est.cv_.extra["grid"]["value"] == est.gamma_
    # the rule: within 1 SE of the best cell, the fewest non-zeros of all such cells
    i0, j0 = ref.index_min
    best = ref.results[i0]
    slack = best.mean[j0] + best.se[j0]
    fewest = min(r.nnz[k] for r in ref.results for k in range(r.lams.size)
                 if r.mean[k] <= slack)
    assert ref.results[i].mean[j] <= slack and ref.results[i].nnz[j] == fewest
    ax = plot_cv_grid(ref)
    assert ax.get_xlabel() == "gamma"
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_gamma_list_bad_inputs():
    X, y = _data(n=30, p=4)
    for kw, match in [(dict(penalty="mcp", gamma=[2, 0.5]), "gamma"),
                      (dict(penalty="elasticnet", gamma=[2, 3]), "gamma applies"),
                      (dict(penalty="mcp", gamma=[2, 3], lam=0.1), "lam='auto'"),
                      (dict(adaptive_exponent=2.0), "adaptive_exponent applies"),
                      (dict(adaptive="ridge", adaptive_exponent=[1, -1]), "adaptive_exponent")]:
        with pytest.raises(ValueError, match=match):
            PenalizedRegressor(**kw).fit(X, y)


# ------------------------------------------------------------------ the exponent axis
def test_exponent_grid_shares_the_honest_first_stages(monkeypatch):
    X, y = _data(seed=2)
    seen = []
    real = adaptive.initial_sizes

    def spy(Xr, yr, *args, **kw):
        seen.append(Xr.shape[0])
        return real(Xr, yr, *args, **kw)

    monkeypatch.setattr(adaptive, "initial_sizes", spy)
    g = adaptive.cross_validate_adaptive_grid(X, y, exponents=[2, 0.5, 1], cv=4,
                                              random_state=0)
    # one first stage on all rows, one per fold on its training rows: shared by exponents
    assert seen[0] == X.shape[0] and len(seen) == 5 and all(s < X.shape[0] for s in seen[1:])
    np.testing.assert_array_equal(g.exponents, [0.5, 1.0, 2.0])
    one = adaptive.cross_validate_adaptive(X, y, exponent=1.0, cv=4, random_state=0)
    np.testing.assert_allclose(g.results[1].mean, one.mean, rtol=1e-12)
    np.testing.assert_allclose(g.results[1].lams, one.lams, rtol=1e-12)
    est = PenalizedRegressor(adaptive="ridge", adaptive_exponent=[0.5, 1, 2], cv=4).fit(X, y)
    assert est.adaptive_exponent_ == g.exponent_chosen and est.gamma_ is None
    assert est.cv_grid_.index_chosen == g.index_chosen


def test_exponent_ties_go_to_the_smaller_exponent(monkeypatch):
    """Identical rows: every tie-break reaches the last key, the stronger setting."""
    X, y = _data(n=40, p=8, seed=4)
    real = adaptive._two_stage_paths

    def same_rows(X, y, family, initial, exponents, *args):
        setup, fulls, rows = real(X, y, family, initial, exponents[:1], *args)
        return setup, fulls * len(exponents), rows * len(exponents)

    monkeypatch.setattr(adaptive, "_two_stage_paths", same_rows)
    g = adaptive.cross_validate_adaptive_grid(X, y, exponents=[2.0, 1.0, 0.5], cv=3,
                                              random_state=0)
    assert g.index_chosen[0] == 0 and g.exponent_chosen == 0.5
    assert g.index_min[0] == 0


# ------------------------------------------------------------------ one warning per fit
def test_one_nonconvex_warning_per_cross_validated_fit():
    X, y = _data(n=30, p=60, seed=5)  # p > n: not locally convex down the path
    for fit in (lambda: cross_validate(X, y, penalty="mcp", cv=3),
                lambda: cross_validate_gamma(X, y, penalty="scad", gammas=[3, 6], cv=3),
                lambda: PenalizedRegressor(penalty="mcp", gamma=[2, 4], cv=3).fit(X, y)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        found = [w for w in caught if issubclass(w.category, NonconvexWarning)]
        assert len(found) == 1 and isinstance(found[0].message, NonconvexSummary)
        assert found[0].message.n_paths >= 2 and "not locally convex" in str(found[0].message)
    with warnings.catch_warnings(record=True) as caught:  # a lasso CV is left alone
        warnings.simplefilter("always")
        cross_validate(X, y, cv=3)
    assert not [w for w in caught if issubclass(w.category, NonconvexWarning)]


def test_nonconvex_guard_counts_nested_fits_and_passes_other_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with one_nonconvex_warning("outer"):
            report_nonconvex("a")
            with one_nonconvex_warning("inner"):
                report_nonconvex("b")
                report_nonconvex("c")
            warnings.warn("something else", UserWarning, stacklevel=1)
    kinds = [(w.category, str(w.message)) for w in caught]
    assert (UserWarning, "something else") in kinds
    summary = [w.message for w in caught if issubclass(w.category, NonconvexWarning)]
    assert len(summary) == 1 and summary[0].n_paths == 3 and summary[0].first == "a"
    assert str(summary[0]).startswith("outer:")
    with warnings.catch_warnings(record=True) as caught:  # outside a gathering: a warning
        warnings.simplefilter("always")
        report_nonconvex("d")
    assert [(w.category, str(w.message)) for w in caught] == [(NonconvexWarning, "d")]
    with warnings.catch_warnings(record=True) as caught:  # a worker's notes, outside one
        warnings.simplefilter("always")
        pass_on([(1, "e"), (3, "f")])
    assert [str(w.message) for w in caught] == [
        "e", "3 paths are not locally convex somewhere; the first: f"]


def _nonconvex_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 30))
    X[:, 1] = X[:, 0] + 0.05 * rng.standard_normal(200)  # near-collinear: not convex
    return X, X[:, 0] + X[:, 2] + rng.standard_normal(200)


def test_concurrent_cross_validations_each_count_their_own_paths():
    # catch_warnings swaps process-wide state: two MCP cross-validations in two threads
    # restored each other's, so fold warnings leaked and an "always" filter stayed behind
    X, y = _nonconvex_data()
    kw = dict(cv=5, penalty="mcp", n_lams=40, n_jobs=1)
    with warnings.catch_warnings(record=True) as alone:
        warnings.simplefilter("always")
        cross_validate(X, y, random_state=0, **kw)
    (single,) = [w.message for w in alone if issubclass(w.category, NonconvexWarning)]
    assert single.n_paths >= 2
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = [threading.Thread(target=cross_validate, args=(X, y),
                                 kwargs=dict(random_state=0, **kw)) for _ in range(4)]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
    found = [w.message for w in caught if issubclass(w.category, NonconvexWarning)]
    assert len(found) == 4 and all(isinstance(m, NonconvexSummary) for m in found)
    assert [m.n_paths for m in found] == [single.n_paths] * 4
    assert list(warnings.filters) == filters


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_fold_paths_in_workers_are_counted(backend):
    X, y = _nonconvex_data(seed=1)
    # (held_out_stop=False: whether folds are watched hangs on a timing, and so would
    # the number of strengths they reach)
    kw = dict(cv=4, penalty="mcp", n_lams=40, random_state=2, held_out_stop=False)
    counts = []
    for extra in (dict(n_jobs=1), dict(n_jobs=2, backend=backend)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cross_validate(X, y, **kw, **extra)
        found = [w.message for w in caught if issubclass(w.category, NonconvexWarning)]
        assert len(found) == 1 and isinstance(found[0], NonconvexSummary)
        counts.append(found[0].n_paths)
    assert counts[0] == counts[1] >= 2


# ------------------------------------------------------------------ files and the CLI
@quiet
def test_model_files_keep_gamma_and_the_grid(tmp_path):
    X, y = _data(seed=6)
    est = PenalizedRegressor(penalty="scad", gamma=[3, 6], cv=3).fit(X, y)
    sio.save(est, tmp_path / "m.npz")
    back = sio.load(tmp_path / "m.npz", expected=PenalizedRegressor)
    assert back.penalty == "scad" and back.gamma == [3, 6] and back.gamma_ == est.gamma_
    assert back.path_.penalty == "scad" and back.path_.gamma == est.gamma_
    assert back.cv_grid_.index_chosen == est.cv_grid_.index_chosen
    np.testing.assert_array_equal(back.cv_grid_.gammas, [3.0, 6.0])
    np.testing.assert_allclose(back.predict(X), est.predict(X))
    one = PenalizedRegressor(adaptive="ridge", adaptive_exponent=2.0, lam=0.05).fit(X, y)
    sio.save(one, tmp_path / "a.npz")
    again = sio.load(tmp_path / "a.npz", expected=PenalizedRegressor)
    assert again.adaptive_exponent_ == 2.0 and again.cv_grid_ is None
    np.testing.assert_allclose(again.predict(X), one.predict(X))


def _csv(tmp_path, X, y):
    data = tmp_path / "d.csv"
    names = [f"x{j}" for j in range(X.shape[1])]
    rows = [",".join(names + ["y"])] + [",".join(f"{v:.6f}" for v in (*r, t))
                                        for r, t in zip(X, y)]
    data.write_text("\n".join(rows) + "\n")
    return data


@quiet
@pytest.mark.parametrize("args, axis, values", [
    (["--penalty", "mcp", "--gamma", "2,3,5"], "gamma", [2.0, 3.0, 5.0]),
    (["--penalty", "adaptive", "--adaptive-exponent", "0.5,1,2"], "adaptive_exponent",
     [0.5, 1.0, 2.0])])
def test_cli_list_writes_tuning_files(tmp_path, args, axis, values):
    X, y = _data(n=60, p=5, seed=7)
    data, out = _csv(tmp_path, X, y), tmp_path / "run"
    r = CliRunner().invoke(cli, ["fit", str(data), "-t", "y", *args, "--folds", "3",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "tuning.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (out / "tuning.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == [axis, "lam"]
    cells = [[float(v) for v in ln.split(",")] for ln in lines[1:]]
    assert sorted({c[0] for c in cells}) == values
    model = sio.load(out / "model.npz")
    chosen = [c for c in cells if c[-1] == 1]
    assert len(chosen) == 1 and chosen[0][1] == pytest.approx(model.cv.lam_chosen)
    grid = model.cv.extra["grid_cv"]
    assert len(cells) == sum(res.lams.size for res in grid.results)
    assert chosen[0][0] == model.cv.extra["grid"]["value"]
    if axis == "gamma":
        assert model.path.penalty == "mcp" and model.path.gamma == chosen[0][0]
    assert ",".join(args[-1].split(",")) in model.command
    assert "was chosen with lam" in (out / "report.html").read_text()


def test_cli_axis_options_are_checked(tmp_path):
    X, y = _data(n=30, p=3, seed=8)
    data = _csv(tmp_path, X, y)
    for args, match in [(["--penalty", "mcp", "--gamma", "2,x"], "comma-separated"),
                        (["--penalty", "mcp", "--gamma", "3,3"], "twice"),
                        (["--penalty", "scad", "--gamma", "3,1.5"], "gamma"),
                        (["--penalty", "lasso", "--adaptive-exponent", "1"], "applies to"),
                        (["--penalty", "adaptive", "--adaptive-exponent", "-1"], ">= 0")]:
        r = CliRunner().invoke(cli, ["fit", str(data), "-t", "y", *args, "--out",
                                     str(tmp_path / "bad")])
        assert r.exit_code != 0 and match in r.output, r.output


@quiet
def test_report_reads_every_kind_of_convexity_margin():
    """The covariance solver stores NaN where it decided convexity without computing the
    eigenvalue: the report says the test passed, never "nan"."""
    X, y = _data(n=200, p=10, seed=3)  # n >= 2p: the covariance solver
    res, path = cross_validate(X, y, penalty="mcp", cv=4, return_path=True)
    for m, words in ((np.nan, "diagnostic passed"), (0.25, "0.25 >= 0"),
                     (-0.5, "is negative (-0.5")):
        path.extra["convexity_margin"] = np.full(path.lams.size, m)
        note = nonconvex_note(path, res)
        assert words in note and "nan" not in note.lower()
