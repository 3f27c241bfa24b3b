"""Model files written by shrinkage 0.1.0 load and predict identically.

The files in ``tests/data/v0_1_0`` were written by ``tests/data/make_v0_1_0_files.py``
with version 0.1.0, whose modules had other paths (``shrinkage.cv``, ``shrinkage.ridge``,
...); ``expected.npz`` holds what each object predicted when it was saved. The loaded
numbers are the saved ones bit for bit; predictions computed from them may differ in the
last bit where NumPy's own arithmetic (exp, matrix products) rounds differently from the
release that wrote ``expected.npz``, hence a tolerance of a few units in the last place.
"""

from pathlib import Path as FilePath

import numpy as np
import pytest

from shrinkage import io as sio

DATA = FilePath(__file__).parent / "data" / "v0_1_0"
EXPECTED = np.load(DATA / "expected.npz", allow_pickle=False)
X = EXPECTED["X"]
IRIS = EXPECTED["iris_X"]


def _load(name):
    return sio.load(DATA / f"{name}.npz")


def _prediction(name, obj):
    if name == "classifier_multinomial":
        return obj.predict_proba(IRIS)
    if name == "path_binomial":
        return obj.linear_predictor(X)
    if name == "cvresult":
        return np.concatenate([obj.mean, obj.se, [obj.lam_chosen]])
    if name == "ridge_result":
        coef, inter = obj.chosen()
        return X @ coef + inter
    if name == "enet_cv":
        return np.array([obj.l1_ratio_chosen, obj.lam_chosen])
    if name == "relaxed_cv":
        return np.asarray(obj.relaxed_coefs)
    if name == "prior":
        return obj.log_density(np.linspace(-1, 1, 5))
    if name == "glm_evidence":
        return np.asarray([obj.lam_best, *obj.coef], dtype=float)
    if name == "cli_model":
        return obj.linear_predictor(X)
    return obj.predict(X)


NAMES = sorted(k for k in EXPECTED.files if k not in ("X", "iris_X"))


def test_every_file_has_an_expectation():
    on_disk = sorted(p.stem for p in DATA.glob("*.npz") if p.stem != "expected")
    assert on_disk == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_file_from_0_1_0_predicts_identically(name):
    obj = _load(name)
    got = np.asarray(_prediction(name, obj), dtype=float)
    np.testing.assert_allclose(got, EXPECTED[name], rtol=8 * np.finfo(float).eps, atol=0)


def test_loaded_classes_are_the_current_ones():
    import shrinkage
    from shrinkage.estimators import PenalizedRegressor

    assert type(_load("regressor_gaussian")) is PenalizedRegressor
    assert type(_load("ridge_result")) is shrinkage.RidgeResult
    assert type(_load("enet_cv")) is shrinkage.ElasticNetCVResult
    assert type(_load("relaxed_cv")) is shrinkage.RelaxedCVResult
