"""A model file whose values were edited (digests recomputed, so only the values can
tell) is refused at load with a ModelFileError naming the value: NaN or complex
coefficients, a chosen index off the path, coefficients narrower than the encoding, an
unknown family, an encoding entry without its kind, coef_ that is not what predict
uses. Found by a review: such files loaded, and predict printed nan or another
strength's prediction, or failed with an unrelated message."""

import dataclasses

import numpy as np
import pytest

from shrinkage import cross_validate
from shrinkage import io as sio
from shrinkage.estimators import PenalizedRegressor
from shrinkage.io import ModelFileError
from shrinkage.tabular import TabularModel


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X @ [1.0, -0.5, 0.0] + rng.standard_normal(60)
    cv, path = cross_validate(X, y, cv=3, return_path=True, random_state=0)
    columns = [{"name": f"x{j}", "kind": "numeric", "fill": 0.0} for j in range(3)]
    path = dataclasses.replace(path, feature_names=np.array(["x0", "x1", "x2"]))
    model = TabularModel(path=path, cv=cv, target="y", family="gaussian", columns=columns)
    return X, y, path, cv, model


def _refused(obj, tmp_path, *fragments):
    f = sio.save(obj, tmp_path / "m.npz", overwrite=True)
    with pytest.raises(ModelFileError) as err:
        sio.load(f)
    for fragment in fragments:
        assert fragment in str(err.value)


def _edits(path, cv, model):
    nan = path.coefs.copy()
    nan[3, 1] = np.nan
    yield dataclasses.replace(path, coefs=nan), ("NaN",)
    yield dataclasses.replace(path, coefs=path.coefs.astype(complex)), ("complex",)
    yield dataclasses.replace(path, intercepts=path.intercepts[:-1]), ("points for",)
    yield dataclasses.replace(path, family="bogus"), ("'bogus'",)
    # a path runs from the strongest strength down: reversed lams pass every shape check
    yield dataclasses.replace(path, nnz=path.nnz + 1), ("nnz says",)
    yield dataclasses.replace(path, lams=path.lams[::-1].copy()), ("strictly decreasing",)
    yield dataclasses.replace(cv, index_chosen=-3), ("index_chosen",)
    yield dataclasses.replace(cv, index_min=cv.lams.size), ("index_min",)
    narrow = dataclasses.replace(path, coefs=path.coefs[:, :2], feature_names=None,
                                 nnz=np.count_nonzero(path.coefs[:, :2], axis=1))
    yield dataclasses.replace(model, path=narrow), ("encoding gives 3 features",)
    yield dataclasses.replace(model, family="poisson"), ("path's",)
    cols = [dict(c) for c in model.columns]
    del cols[1]["kind"]
    yield dataclasses.replace(model, columns=cols), ("kind",)


def test_edited_values_are_refused_at_load(fitted, tmp_path):
    _, _, path, cv, model = fitted
    sio.load(sio.save(model, tmp_path / "ok.npz"))  # the unedited ones load
    n = 0
    for obj, fragments in _edits(path, cv, model):
        _refused(obj, tmp_path, *fragments)
        n += 1
    assert n == 11


def test_edited_estimator_coefficients_are_refused(fitted, tmp_path):
    X, y, *_ = fitted
    est = PenalizedRegressor(lam=0.05).fit(X, y)
    sio.load(sio.save(est, tmp_path / "ok.npz"))
    for name, value, fragment in (
        ("coef_", est.coef_[:2].copy(), "for 3 features"),
        ("coef_", est.coef_ + 1.0, "differs from the coefficients predict uses"),
        ("intercept_", float("nan"), "finite real number"),
        ("_coef_engine", np.full(3, np.inf), "NaN or infinite"),
    ):
        bad = PenalizedRegressor(lam=0.05).fit(X, y)
        bad.coef_ = bad.coef_.copy()
        setattr(bad, name, value)
        _refused(bad, tmp_path, fragment)


def test_classifiers_in_scikit_learns_layout_load(tmp_path):
    from shrinkage.estimators import PenalizedClassifier

    rng = np.random.default_rng(1)
    X = rng.standard_normal((90, 4))
    for y in ((X[:, 0] > 0).astype(int), np.digitize(X[:, 0], [-0.5, 0.5])):
        est = PenalizedClassifier(lam=0.02).fit(X, y)
        back = sio.load(sio.save(est, tmp_path / "c.npz", overwrite=True))
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
        bad = PenalizedClassifier(lam=0.02).fit(X, y)
        bad.coef_ = bad.coef_ * 2.0
        _refused(bad, tmp_path, "differs from the coefficients predict uses")
