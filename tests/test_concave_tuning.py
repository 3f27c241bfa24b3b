"""MCP and SCAD above the engine: cross-validation (the gamma axis), estimators, model
files, the command line and the report."""

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from shrinkage import PenalizedClassifier, PenalizedRegressor, cross_validate
from shrinkage import io as sio
from shrinkage.cli import cli
from shrinkage.engine.path import NonconvexWarning
from shrinkage.report import build_report
from shrinkage.tuning.adaptive import adaptive_weights, cross_validate_adaptive
from shrinkage.tuning.gamma_cv import cross_validate_gamma

pytestmark = pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")


def _data(n=120, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :3] @ [2.0, -1.5, 1.0] + rng.standard_normal(n)
    return X, y


def test_cross_validate_passes_the_penalty_to_every_fold():
    X, y = _data()
    res, path = cross_validate(X, y, penalty="scad", gamma=4.0, cv=5, return_path=True)
    assert path.penalty == "scad" and path.gamma == 4.0
    assert np.all(np.isfinite(res.mean))
    assert res.lam_chosen >= res.lam_min


def test_gamma_axis_chooses_within_the_rule_and_ties_to_sparser():
    X, y = _data(seed=1)
    g = cross_validate_gamma(X, y, penalty="mcp", gammas=(30.0, 1.5, 3.0), cv=5,
                             random_state=0)
    np.testing.assert_array_equal(g.gammas, [1.5, 3.0, 30.0])
    i, j = g.index_chosen
    best = min(np.nanmin(r.mean) for r in g.results)
    i0, j0 = g.index_min
    assert g.results[i].mean[j] <= g.results[i0].mean[j0] + g.results[i0].se[j0] + 1e-12
    assert g.results[i].nnz[j] <= g.results[i0].nnz[j0]
    assert g.results[i0].mean[j0] == pytest.approx(best)
    assert g.gamma_chosen == g.gammas[i] and g.lam_chosen == g.chosen.lams[j]
    # the same folds for every gamma
    for r in g.results[1:]:
        np.testing.assert_array_equal(r.fold_ids, g.results[0].fold_ids)


@pytest.mark.parametrize("kwargs, match", [
    ({"penalty": "elasticnet"}, "needs penalty='mcp' or 'scad'"),
    ({"penalty": "mcp", "gammas": (0.5, 3.0)}, "gamma"),
    ({"penalty": "scad", "gammas": (3.0, 3.0)}, "distinct"),
])
def test_gamma_axis_bad_inputs(kwargs, match):
    X, y = _data(n=40, p=4)
    with pytest.raises(ValueError, match=match):
        cross_validate_gamma(X, y, cv=3, **kwargs)


def test_estimators_fit_save_and_load(tmp_path):
    X, y = _data(seed=2)
    est = PenalizedRegressor(penalty="mcp", gamma=2.5, cv=5).fit(X, y)
    assert est.path_.penalty == "mcp" and est.path_.gamma == 2.5
    assert set(np.flatnonzero(est.coef_)) == {0, 1, 2}
    f = tmp_path / "m.shrk"
    sio.save(est, f)
    back = sio.load(f)
    assert (back.penalty, back.gamma, back.path_.penalty, back.path_.gamma) == \
        ("mcp", 2.5, "mcp", 2.5)
    np.testing.assert_allclose(back.predict(X), est.predict(X))
    np.testing.assert_allclose(back.path_.extra["convexity_margin"],
                               est.path_.extra["convexity_margin"])
    clf = PenalizedClassifier(penalty="scad", lam=0.05).fit(X, (y > 0).astype(int))
    assert clf.path_.penalty == "scad" and clf.score(X, (y > 0).astype(int)) > 0.8


def test_mcp_is_less_biased_than_the_lasso_at_equal_support():
    X, y = _data(n=400, seed=3)
    lasso = PenalizedRegressor(lam=0.3).fit(X, y)
    mcp = PenalizedRegressor(lam=0.3, penalty="mcp").fit(X, y)
    truth = np.array([2.0, -1.5, 1.0])
    assert np.all(np.flatnonzero(mcp.coef_) == [0, 1, 2])
    assert np.abs(mcp.coef_[:3] - truth).max() < 0.15 < np.abs(lasso.coef_[:3] - truth).max()


@pytest.mark.parametrize("kwargs, match", [
    ({"penalty": "mcp", "gamma": 0.9}, "gamma"),
    ({"penalty": "ridge"}, "penalty must be one of"),
    ({"gamma": 3.0}, "gamma applies to"),
])
def test_estimator_bad_penalty(kwargs, match):
    X, y = _data(n=40, p=4)
    with pytest.raises(ValueError, match=match):
        PenalizedRegressor(lam=0.1, **kwargs).fit(X, y)


def test_report_states_the_penalty_and_no_prior():
    X, y = _data(seed=4)
    res, path = cross_validate(X, y, penalty="mcp", cv=5, return_path=True)
    html = build_report(path, res, X=X, y=y)
    assert "MCP (gamma = 3)" in html
    assert "no reading as a proper prior" in html and "improper prior" in html
    assert "Laplace prior with scale" not in html


def test_cli_penalty_and_gamma(tmp_path):
    X, y = _data(n=80, p=5, seed=5)
    data = tmp_path / "d.csv"
    rows = ["x0,x1,x2,x3,x4,y"] + [",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(X, y)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["fit", str(data), "-t", "y", "--penalty", "scad", "--gamma",
                                 "4", "--folds", "4", "--out", str(out)])
    assert r.exit_code == 0, r.output
    model = sio.load(out / "model.npz")
    assert model.path.penalty == "scad" and model.path.gamma == 4.0
    assert "--penalty scad --gamma 4" in model.command
    for args, match in [(["--penalty", "lasso", "--gamma", "3"], "--gamma applies to"),
                        (["--penalty", "mcp", "--gamma", "1"], "gamma")]:
        r = CliRunner().invoke(cli, ["fit", str(data), "-t", "y", *args, "--out",
                                     str(tmp_path / "bad")])
        assert r.exit_code != 0 and match in r.output


def test_binomial_mcp_warns_nonconvex_by_default():
    X, y = _data(seed=6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PenalizedClassifier(penalty="mcp", lam=0.02).fit(X, (y > 0).astype(int))
    assert any(issubclass(w.category, NonconvexWarning) for w in caught)


# ---------------------------------------------------------------- the adaptive lasso


def test_adaptive_unit_weights_are_the_lasso():
    X, y = _data(seed=7)
    assert np.all(adaptive_weights(X, y, exponent=0.0) == 1.0)
    r0, p0 = cross_validate_adaptive(X, y, exponent=0.0, cv=5, random_state=1,
                                     return_path=True)
    r1, p1 = cross_validate(X, y, cv=5, random_state=1, return_path=True)
    np.testing.assert_allclose(p0.coefs, p1.coefs, atol=1e-12)
    np.testing.assert_allclose(r0.mean, r1.mean[: r0.mean.size], rtol=1e-10)


@pytest.mark.parametrize("initial", ["ridge", "lasso", "ols"])
def test_adaptive_weights_follow_the_initial_fit(initial):
    X, y = _data(n=200, seed=8)
    w = adaptive_weights(X, y, initial=initial)
    sd = X.std(axis=0)
    assert w.shape == (X.shape[1],) and np.all(w > 0)
    assert w[:3].max() < w[3:].min()  # the signal features are penalised least
    if initial == "ols":
        b = np.linalg.lstsq(np.c_[np.ones(len(y)), X], y, rcond=None)[0][1:]
        np.testing.assert_allclose(w, 1 / np.abs(b * sd), rtol=1e-6)


def test_adaptive_cv_refits_the_first_stage_in_every_fold(monkeypatch):
    from shrinkage.tuning import adaptive

    X, y = _data(seed=9)
    seen = []
    real = adaptive.initial_sizes  # the first stage

    def spy(Xr, yr, *args, **kw):
        seen.append(Xr.shape[0])
        return real(Xr, yr, *args, **kw)

    monkeypatch.setattr(adaptive, "initial_sizes", spy)
    res, path = cross_validate_adaptive(X, y, cv=4, random_state=0, return_path=True)
    assert seen[0] == X.shape[0] and len(seen) == 5 and all(s < X.shape[0] for s in seen[1:])
    assert res.extra["adaptive"]["initial"] == "ridge"
    assert path.extra["adaptive_weights"].shape == (X.shape[1],)
    assert set(np.flatnonzero(path.coefs[res.index_chosen])) == {0, 1, 2}


def test_adaptive_bad_inputs():
    X, y = _data(n=20, p=30)
    with pytest.raises(ValueError, match="initial must be one of"):
        adaptive_weights(X, y, initial="enet")
    with pytest.raises(ValueError, match="more rows than features"):
        adaptive_weights(X, y, initial="ols")
    with pytest.raises(ValueError, match="exponent"):
        adaptive_weights(X, y, exponent=-1.0)
    with pytest.raises(ValueError, match="not supported"):
        cross_validate_adaptive(X, y, sample_weight=np.ones(20))


def test_cli_adaptive(tmp_path):
    X, y = _data(n=80, p=5, seed=10)
    data = tmp_path / "d.csv"
    rows = ["x0,x1,x2,x3,x4,y"] + [",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(X, y)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["fit", str(data), "-t", "y", "--penalty", "adaptive",
                                 "--folds", "4", "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert "adaptive lasso path" in html and "empirical-Bayes" in html


def test_estimator_adaptive():
    X, y = _data(n=150, seed=11)
    est = PenalizedRegressor(adaptive="ridge", cv=4).fit(X, y)
    assert set(np.flatnonzero(est.coef_)) == {0, 1, 2}
    assert "adaptive_weights" in est.path_.extra
    fixed = PenalizedRegressor(adaptive="ols", lam=0.05).fit(X, y)
    assert fixed.path_.n_lams == 1 and fixed.lam_ == 0.05
    with pytest.raises(ValueError, match="adaptive must be"):
        PenalizedRegressor(adaptive="ridge", penalty="mcp").fit(X, y)
