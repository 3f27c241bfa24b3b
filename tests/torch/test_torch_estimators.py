"""MLPRegressor / MLPClassifier: scikit-learn contract, accuracy, the sweep-chosen knob."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from shrinkage import selection  # noqa: E402
from shrinkage.torch import MLPClassifier, MLPRegressor  # noqa: E402

# Small, fast settings: every check fits many times. The regressor tunes the default knob
# (weight decay, 3 trainings per fit); the classifier tunes the epoch count (one sweep run
# for max(values) epochs, then the refit).
FAST_REGRESSOR = dict(hidden_layer_sizes=(8,), epochs=20, batch_size=None, lr=0.05,
                      tune_values=(0.0, 0.1))  # fmt: skip
FAST_CLASSIFIER = dict(hidden_layer_sizes=(8,), batch_size=None, lr=0.05, tune="epochs",
                       tune_values=(15, 40))  # fmt: skip


@pytest.mark.parametrize(
    "estimator", [MLPRegressor(**FAST_REGRESSOR), MLPClassifier(**FAST_CLASSIFIER)],
    ids=["regressor", "classifier"],
)  # fmt: skip
def test_check_estimator(estimator):
    # Every check passes: no expected failures are declared.
    check_estimator(estimator)


def test_classifier_on_digits_and_its_sweep():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=(32,), epochs=15, lr=1e-2, tune="dropout",
                        tune_values=(0.0, 0.2, 0.5), random_state=0)  # fmt: skip
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.93
    res = clf.sweep_
    assert res.knob == "dropout" and res.seed_scores.shape == (1, 3)
    assert clf.chosen_ == {"dropout": res.value_chosen}
    assert res.value_chosen >= res.value_min
    assert res.index_chosen == selection.strongest_within(
        res.values, res.mean, res.se, k=1.0, stronger="larger"
    )
    proba = clf.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(Xte))
    # the final network carries the chosen rate
    rates = {m.p for m in clf.model_.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {res.value_chosen}


def test_regressor_fits_a_nonlinear_signal_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.standard_normal(300)
    kw = dict(hidden_layer_sizes=(32,), epochs=60, lr=1e-2, batch_size=64,
              tune_values=(0.0, 0.01, 0.1), random_state=1)  # fmt: skip
    reg = MLPRegressor(**kw).fit(X[:200], y[:200])
    assert reg.score(X[200:], y[200:]) > 0.8
    assert set(reg.chosen_) == {"weight_decay"}
    again = MLPRegressor(**kw).fit(X[:200], y[:200])
    np.testing.assert_array_equal(reg.predict(X[200:]), again.predict(X[200:]))


def test_no_tuning_and_pipeline():
    X, y = load_digits(n_class=3, return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), tune=None,
                                                         epochs=10, lr=1e-2, random_state=0))
    pipe.fit(X, y)
    clf = pipe[-1]
    assert clf.sweep_ is None and clf.chosen_ == {} and clf.n_epochs_ == 10
    assert pipe.score(X, y) > 0.95


@pytest.mark.parametrize(
    "params,match",
    [
        ({"tune": "temperature"}, "tune must be None or one of"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be positive integers"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\)"),
        ({"weight_decay": -1.0}, "weight_decay must be a finite number >= 0"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"validation_fraction": 1.0}, r"validation_fraction must lie in \(0, 1\)"),
        ({"batch_size": 0}, "batch_size must be a positive integer or None"),
        ({"tune_values": (0.1, 0.1)}, "values must be distinct"),
        ({"lr": 0.0}, "lr must be > 0"),
    ],
)
def test_bad_parameters_raise_at_fit(params, match):
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = X[:, 0]
    est = MLPRegressor(**{"epochs": 1, **params})  # construction never raises (sklearn)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_classifier_needs_two_classes_and_tuning_needs_two_samples():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="at least 2 classes, got 1 class"):
        MLPClassifier(epochs=1).fit(X, np.ones(5))
    with pytest.raises(ValueError, match="1 sample"):
        MLPRegressor(epochs=1).fit(X[:1], [1.0])
    # without tuning a single sample can be fitted
    assert MLPRegressor(epochs=1, tune=None).fit(X[:1], [1.0]).predict(X[:1]).shape == (1,)


@pytest.mark.parametrize("make", [lambda: MLPRegressor(**FAST_REGRESSOR),
                                  lambda: MLPClassifier(**FAST_CLASSIFIER)],
                         ids=["regressor", "classifier"])
def test_non_numeric_columns_are_named(make):
    import pandas as pd
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": np.where(np.arange(30) % 2, "x", "y")})
    with pytest.raises(TypeError, match="non-numeric columns: b"):
        make().fit(frame, np.arange(30) % 2)
