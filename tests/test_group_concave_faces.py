"""Group MCP/SCAD through cross-validation (the gamma axis), the estimators, model files
and the command line (issue 18)."""

import numpy as np
import pytest

from _reference import group_design
from shrinkage import cross_validate, regularization_path
from shrinkage import io as sio
from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
from shrinkage.tabular_encode import factor_labels
from shrinkage.tuning.gamma_cv import cross_validate_gamma
from test_cli import HEADER, regression_rows, run, write_csv

pytestmark = pytest.mark.filterwarnings("ignore::shrinkage.engine.path.NonconvexWarning")


def _whole(coefs, labels):
    """Every group entirely in or entirely out, at every row of ``coefs``."""
    return all(np.all(c[labels == g] != 0) or not np.any(c[labels == g])
               for c in np.atleast_2d(coefs) for g in np.unique(labels))


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_cross_validate_with_group_mcp_matches_its_full_path(family):
    X, labels, ys = group_design()
    cv, path = cross_validate(X, ys[family], family=family, penalty="mcp",
                              feature_groups=labels, cv=4, random_state=0, n_jobs=1,
                              return_path=True)
    direct = regularization_path(X, ys[family], family=family, penalty="mcp",
                                 feature_groups=labels, lams=path.lams)
    np.testing.assert_allclose(path.coefs, direct.coefs, atol=1e-6)
    assert path.penalty == "mcp" and path.gamma == 3.0
    assert _whole(path.coefs[cv.index_chosen], labels)


def test_gamma_axis_with_groups():
    X, labels, ys = group_design()
    g, paths = cross_validate_gamma(X, ys["gaussian"], penalty="scad", gammas=(2.5, 3.7, 30),
                                    feature_groups=labels, cv=4, random_state=0,
                                    return_path=True)
    assert [p.gamma for p in paths] == [2.5, 3.7, 30.0]
    assert all(p.penalty == "scad" and p.extra["group_starts"].size == 6 for p in paths)
    for r in g.results[1:]:
        np.testing.assert_array_equal(r.fold_ids, g.results[0].fold_ids)
    i, j = g.index_chosen
    assert _whole(paths[i].coefs[j], labels)


def test_estimators_fit_save_and_load(tmp_path):
    X, labels, ys = group_design()
    names = np.array(["a", "b", "c", "d", "e"])[labels]
    reg = PenalizedRegressor(penalty="mcp", gamma=2.5, feature_groups=names,
                             cv=4).fit(X, ys["gaussian"])
    clf = PenalizedClassifier(penalty="scad", lam=0.02,
                              feature_groups=[np.flatnonzero(labels == g) for g in range(5)]
                              ).fit(X, ys["binomial"])
    for model in (reg, clf):
        assert _whole(model.coef_, labels)
        sio.save(model, tmp_path / "m.npz", overwrite=True)
        back = sio.load(tmp_path / "m.npz")
        np.testing.assert_array_equal(back.predict(X), model.predict(X))
        assert (back.penalty, back.path_.penalty, back.path_.gamma) == \
            (model.penalty, model.path_.penalty, model.path_.gamma)
        np.testing.assert_array_equal(back.path_.extra["group_starts"],
                                      model.path_.extra["group_starts"])
        np.testing.assert_allclose(back.path_.extra["convexity_margin"],
                                   model.path_.extra["convexity_margin"])
    fixed = PenalizedRegressor(lam=0.1, penalty="mcp", feature_groups=names).fit(
        X, ys["gaussian"])
    direct = regularization_path(X, ys["gaussian"], penalty="mcp", feature_groups=names,
                                 lams=[0.1])
    np.testing.assert_allclose(fixed.coef_, direct.coefs[0])
    with pytest.raises(ValueError, match="gamma > 2"):
        PenalizedRegressor(lam=0.1, penalty="scad", gamma=1.5,
                           feature_groups=names).fit(X, ys["gaussian"])


def test_cli_factor_groups_with_mcp(tmp_path):
    data = write_csv(tmp_path / "data.csv", HEADER, regression_rows(n=80))
    out = tmp_path / "out"
    result = run(["fit", data, "--target", "y", "--folds", 4, "--factor-groups",
                  "--penalty", "mcp", "--gamma", "3", "--out", out])
    assert result.exit_code == 0, result.output
    model = sio.load(out / "model.npz")
    assert model.path.penalty == "mcp" and model.path.gamma == 3.0
    assert model.path.extra["group_labels"].tolist() == ["color", "x1", "x2"]
    assert factor_labels(model.columns) == ["x1", "x2", "color", "color", "color"]
    color = np.asarray(model.coef[2:5]) != 0
    assert color.all() or not color.any()
    assert "--penalty mcp" in model.command and "--factor-groups" in model.command
