"""Path metrics against scikit-learn's metrics, column by column, with sample weights."""

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn import metrics as skm

from shrinkage.tuning.metrics import check_metric, default_metric, score_path, weighted_auc

rng = np.random.default_rng(0)
N, L = 40, 3
W = rng.uniform(0.5, 2.0, N)
ETA = rng.normal(size=(N, L))


def _cols(fn):
    return np.array([fn(j) for j in range(L)])


@pytest.mark.parametrize("w", [None, W])
def test_gaussian_metrics(w):
    y = rng.normal(size=N)
    assert np.allclose(
        score_path("mse", "gaussian", y, ETA, w),
        _cols(lambda j: skm.mean_squared_error(y, ETA[:, j], sample_weight=w)),
        rtol=1e-12,
    )
    assert np.allclose(score_path("deviance", "gaussian", y, ETA, w),
                       score_path("mse", "gaussian", y, ETA, w), rtol=0)
    assert np.allclose(
        score_path("mae", "gaussian", y, ETA, w),
        _cols(lambda j: skm.mean_absolute_error(y, ETA[:, j], sample_weight=w)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("w", [None, W])
def test_poisson_metrics(w):
    y = rng.poisson(2.0, size=N).astype(float)
    y[:5] = 0.0
    ref = _cols(lambda j: skm.mean_poisson_deviance(y, np.exp(ETA[:, j]), sample_weight=w))
    for name in ("deviance", "poisson_deviance"):
        assert np.allclose(score_path(name, "poisson", y, ETA, w), ref, rtol=1e-12)
    assert np.allclose(
        score_path("mse", "poisson", y, ETA, w),
        _cols(lambda j: skm.mean_squared_error(y, np.exp(ETA[:, j]), sample_weight=w)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("w", [None, W])
def test_binomial_metrics(w):
    y = (rng.uniform(size=N) < expit(ETA[:, 0])).astype(float)
    p = expit(ETA)
    ll = _cols(lambda j: skm.log_loss(y, p[:, j], sample_weight=w))
    assert np.allclose(score_path("log_loss", "binomial", y, ETA, w), ll, rtol=1e-10)
    assert np.allclose(score_path("deviance", "binomial", y, ETA, w), 2 * ll, rtol=1e-10)
    acc = _cols(lambda j: skm.accuracy_score(y, p[:, j] > 0.5, sample_weight=w))
    assert np.allclose(score_path("accuracy", "binomial", y, ETA, w), acc, rtol=1e-12)
    assert np.allclose(score_path("misclassification", "binomial", y, ETA, w), 1 - acc)
    auc = _cols(lambda j: skm.roc_auc_score(y, ETA[:, j], sample_weight=w))
    assert np.allclose(score_path("auc", "binomial", y, ETA, w), auc, rtol=1e-12)
    brier = _cols(lambda j: skm.brier_score_loss(y, p[:, j], sample_weight=w))
    assert np.allclose(score_path("mse", "binomial", y, ETA, w), brier, rtol=1e-12)


def test_binomial_deviance_finite_for_extreme_eta():
    eta = np.array([[800.0], [-800.0]])
    dev = score_path("deviance", "binomial", np.array([0.0, 1.0]), eta)
    assert np.isfinite(dev[0]) and np.isclose(dev[0], 2 * 800.0)


def test_auc_with_ties_matches_sklearn():
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1.0])
    s = np.array([0.1, 0.1, 0.5, 0.5, 0.9, 0.2, 0.9, 0.3])
    w = np.arange(1, 9.0)
    assert np.isclose(weighted_auc(y, s, w), skm.roc_auc_score(y, s, sample_weight=w))


@pytest.mark.parametrize("w", [None, W])
def test_multinomial_metrics(w):
    eta = rng.normal(size=(N, L, 3))
    y = rng.integers(0, 3, size=N).astype(float)
    y[:3] = [0, 1, 2]
    p = softmax(eta, axis=2)
    ll = _cols(lambda j: skm.log_loss(y, p[:, j], sample_weight=w, labels=[0, 1, 2]))
    assert np.allclose(score_path("log_loss", "multinomial", y, eta, w), ll, rtol=1e-10)
    assert np.allclose(score_path("deviance", "multinomial", y, eta, w), 2 * ll, rtol=1e-10)
    acc = _cols(lambda j: skm.accuracy_score(y, p[:, j].argmax(1), sample_weight=w))
    assert np.allclose(score_path("accuracy", "multinomial", y, eta, w), acc)
    onehot = np.eye(3)[y.astype(int)]
    brier = _cols(lambda j: np.average(((onehot - p[:, j]) ** 2).sum(1), weights=w))
    assert np.allclose(score_path("mse", "multinomial", y, eta, w), brier)


def test_defaults_and_directions():
    assert default_metric("gaussian") == "mse"
    assert default_metric("poisson") == "deviance"
    assert check_metric(None, "binomial") == ("deviance", False)
    assert check_metric("auc", "binomial") == ("auc", True)
    assert check_metric("accuracy", "multinomial") == ("accuracy", True)


@pytest.mark.parametrize(
    ("metric", "family", "err", "match"),
    [
        ("auc", "gaussian", ValueError, "does not fit family 'gaussian'"),
        ("auc", "multinomial", ValueError, "does not fit family"),
        ("log_loss", "poisson", ValueError, "does not fit family"),
        ("poisson_deviance", "binomial", ValueError, "does not fit"),
        ("r2", "gaussian", ValueError, "unknown metric"),
        (3, "gaussian", TypeError, "metric must be a string"),
        ("mse", "gamma", ValueError, "family must be one of"),
    ],
)
def test_bad_metric(metric, family, err, match):
    with pytest.raises(err, match=match):
        check_metric(metric, family)


def test_auc_single_class_fold_is_an_error():
    with pytest.raises(ValueError, match="single class"):
        score_path("auc", "binomial", np.ones(5), np.zeros((5, 2)))


def test_eta_shape_checked():
    with pytest.raises(ValueError, match="eta must have 3 dimensions"):
        score_path("deviance", "multinomial", np.zeros(4), np.zeros((4, 2)))
