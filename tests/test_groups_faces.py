"""Groups of coefficients through cross-validation, the estimators, model files, the
command line and the report (issue 16)."""

import numpy as np
import pytest

from _reference import group_design
from shrinkage import cross_validate, regularization_path
from shrinkage import io as sio
from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
from shrinkage.report.groups import group_sentence
from shrinkage.tabular_encode import factor_labels
from test_cli import HEADER, regression_rows, run, write_csv


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_cross_validate_with_groups_matches_its_full_path(family):
    X, labels, ys = group_design()
    cv, path = cross_validate(X, ys[family], family=family, feature_groups=labels, cv=4,
                              random_state=0, n_jobs=1, return_path=True)
    direct = regularization_path(X, ys[family], family=family, feature_groups=labels,
                                 lams=path.lams)
    np.testing.assert_allclose(path.coefs, direct.coefs, atol=1e-6)
    assert path.extra["group_labels"].tolist() == ["0", "1", "2", "3", "4"]
    chosen = path.coefs[cv.index_chosen]
    for g in range(5):
        nz = chosen[labels == g] != 0
        assert nz.all() or not nz.any()


def test_estimators_take_groups_and_files_keep_them(tmp_path):
    X, labels, ys = group_design()
    names = np.array(["a", "b", "c", "d", "e"])[labels]
    reg = PenalizedRegressor(feature_groups=names, cv=4).fit(X, ys["gaussian"])
    clf = PenalizedClassifier(feature_groups=[np.flatnonzero(labels == g) for g in range(5)],
                              group_mix=0.3, cv=4).fit(X, ys["binomial"])
    for model in (reg, clf):
        sio.save(model, tmp_path / "m.npz", overwrite=True)
        back = sio.load(tmp_path / "m.npz")
        np.testing.assert_array_equal(back.predict(X), model.predict(X))
        assert back.path_.extra["group_mix"] == model.group_mix
    assert list(sio.load(tmp_path / "m.npz").path_.extra["group_starts"]) == [0, 3, 5, 9, 10, 15]
    fixed = PenalizedRegressor(lam=0.1, feature_groups=names).fit(X, ys["gaussian"])
    direct = regularization_path(X, ys["gaussian"], feature_groups=names, lams=[0.1])
    np.testing.assert_allclose(fixed.coef_, direct.coefs[0])
    with pytest.raises(ValueError, match="group_mix needs feature_groups"):
        PenalizedRegressor(lam=0.1, group_mix=0.5).fit(X, ys["gaussian"])


def test_path_files_keep_the_groups(tmp_path):
    X, labels, ys = group_design()
    path = regularization_path(X, ys["gaussian"], feature_groups=labels, n_lams=10)
    sio.save(path, tmp_path / "p.npz")
    back = sio.load(tmp_path / "p.npz")
    for key in ("group_order", "group_starts", "group_labels", "group_penalty_factor"):
        np.testing.assert_array_equal(back.extra[key], path.extra[key])
    assert "groups are in the model" in group_sentence(back, 5)


def test_cli_factor_groups(tmp_path):
    data = write_csv(tmp_path / "data.csv", HEADER, regression_rows(n=80))
    out = tmp_path / "out"
    result = run(["fit", data, "--target", "y", "--folds", 4, "--factor-groups",
                  "--out", out])
    assert result.exit_code == 0, result.output
    model = sio.load(out / "model.npz")
    assert model.path.extra["group_labels"].tolist() == ["color", "x1", "x2"]
    assert factor_labels(model.columns) == ["x1", "x2", "color", "color", "color"]
    color = np.asarray(model.coef[2:5]) != 0
    assert color.all() or not color.any()
    assert "--factor-groups" in model.command
    html = (out / "report.html").read_text()
    assert "The penalty acts on groups of coefficients" in html and "color" in html
    predicted = tmp_path / "pred.csv"
    res = run(["predict", out / "model.npz", data, "--out", predicted])
    assert res.exit_code == 0, res.output


def test_cross_validate_mgaussian_scores_each_fold_by_summed_squared_error():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 30))
    W = np.zeros((30, 3))
    W[:4] = rng.standard_normal((4, 3))
    Y = X @ W + rng.standard_normal((200, 3))
    cv, path = cross_validate(X, Y, family="mgaussian", cv=4, random_state=0, n_jobs=1,
                              return_path=True)
    assert path.coefs.shape[1:] == (30, 3)
    ids = np.asarray(cv.fold_ids).ravel()
    for f in range(4):
        train = ids != f
        fold = regularization_path(X[train], Y[train], family="mgaussian", lams=cv.lams)
        eta = fold.intercepts[None] + np.einsum("ij,ljk->ilk", X[~train], fold.coefs)
        score = np.mean(np.sum((Y[~train][:, None, :] - eta) ** 2, axis=2), axis=0)
        np.testing.assert_allclose(cv.fold_scores[f][:score.size], score, rtol=1e-8)
    chosen = path.coefs[cv.index_chosen]
    assert np.all((chosen != 0).all(axis=1) == (chosen != 0).any(axis=1))
