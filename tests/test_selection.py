"""Selection rules: glmnet's lambda.1se, never weaker than the best, grid rule, criteria."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LassoLarsIC, lars_path

from shrinkage import selection
from shrinkage.tuning.information import information_criterion

# A fixed cvm/cvsd table in glmnet's order (lambda decreasing).
LAMS = np.array([1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])
CVM = np.array([2.0, 1.40, 1.12, 1.00, 1.05, 1.10])
CVSD = np.array([0.2, 0.15, 0.10, 0.15, 0.12, 0.12])


def glmnet_1se(lams, cvm, cvsd):
    """glmnet's getOptcv.glmnet: max(lambda[cvm <= min(cvm) + cvsd[which.min(cvm)]])."""
    idmin = np.argmin(cvm)
    semin = cvm[idmin] + cvsd[idmin]
    return np.max(lams[cvm <= semin])


def test_1se_equals_glmnet_definition():
    i = selection.strongest_within(LAMS, CVM, CVSD, k=1.0)
    assert LAMS[i] == glmnet_1se(LAMS, CVM, CVSD) == 0.25
    assert selection.best(LAMS, CVM) == 3
    assert selection.strongest_within(LAMS, CVM, CVSD, k=0.0) == 3
    # The same table on an axis where smaller is stronger (C = 1 / lam) picks the same row.
    assert selection.strongest_within(1 / LAMS, CVM, CVSD, stronger="smaller") == 2


finite = st.floats(0.0, 10.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    m=st.integers(1, 25).flatmap(
        lambda n: st.tuples(arrays(float, n, elements=finite), arrays(float, n, elements=finite))
    ),
    k=st.floats(0.0, 3.0),
    stronger=st.sampled_from(["larger", "smaller"]),
    greater=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_chosen_never_weaker_than_best(m, k, stronger, greater, seed):
    mean, se = m
    rng = np.random.default_rng(seed)
    strengths = rng.permutation(np.arange(mean.size) + 1.0) * 0.3
    key = strengths if stronger == "larger" else -strengths
    ib = selection.best(strengths, mean, stronger=stronger, greater_is_better=greater)
    ic = selection.strongest_within(
        strengths, mean, se, k=k, stronger=stronger, greater_is_better=greater
    )
    it = selection.strongest_within_tolerance(
        strengths, mean, rel=k / 10, stronger=stronger, greater_is_better=greater
    )
    assert key[ic] >= key[ib] and key[it] >= key[ib]
    loss = -mean if greater else mean
    assert loss[ic] <= loss[ib] + k * se[ib] + 1e-12
    # Nothing stronger than the choice is within the band.
    band = loss <= loss[ib] + k * se[ib]
    assert not np.any(band & (key > key[ic]))


def test_grid_rule_prefers_sparser_and_breaks_ties():
    lams = np.array([[1.0, 0.5, 0.25], [2.0, 1.0, 0.5]])
    mean = np.array([[3.0, 1.0, 1.05], [2.0, 1.04, 1.0]])
    se = np.full_like(mean, 0.1)
    nnz = np.array([[0, 4, 6], [0, 3, 5]])
    # Best: the two cells at 1.0 tie; fewer non-zeros wins -> (0, 1) with nnz 4.
    assert selection.sparsest_within_grid(lams, mean, nnz) == (0, 1)
    # Within 1 SE: cells (0,1),(0,2),(1,1),(1,2); the sparsest is (1, 1) with nnz 3.
    assert selection.sparsest_within_grid(lams, mean, nnz, se=se, k=1.0) == (1, 1)
    # Equal nnz across rows: the lower mean wins, then the later row.
    nnz2 = np.array([[0, 3, 6], [0, 3, 5]])
    assert selection.sparsest_within_grid(lams, mean, nnz2, se=se, k=1.0) == (0, 1)
    mean3 = np.array([[3.0, 1.0, 1.05], [2.0, 1.0, 1.0]])
    assert selection.sparsest_within_grid(lams, mean3, nnz2, se=se, k=1.0) == (1, 1)
    # Equal nnz within a row: the larger strength wins even if its mean is worse.
    nnz3 = np.array([[0, 3, 3], [0, 5, 5]])
    mean5 = np.array([[3.0, 1.05, 1.0], [2.0, 1.2, 1.1]])
    assert selection.sparsest_within_grid(lams, mean5, nnz3, se=se, k=1.0) == (0, 1)
    assert selection.sparsest_within_grid(lams, mean5, nnz3) == (0, 2)
    # Ragged rows (NaN padding) are ignored; accuracy-like scores are mirrored.
    mean4 = np.array([[0.7, 0.9, np.nan], [0.6, 0.88, 0.91]])
    assert selection.sparsest_within_grid(lams, mean4, nnz, greater_is_better=True) == (1, 2)
    assert selection.sparsest_within_grid(
        lams, mean4, nnz, se=np.full_like(mean, 0.04), k=1.0, greater_is_better=True
    ) == (1, 1)


@settings(max_examples=100, deadline=None)
@given(
    mean=arrays(float, (3, 5), elements=finite),
    se=arrays(float, (3, 5), elements=st.floats(0, 2)),
    nnz=arrays(np.int64, (3, 5), elements=st.integers(0, 9)),
    k=st.floats(0, 3),
)
def test_grid_choice_never_denser_than_best(mean, se, nnz, k):
    lams = np.tile(np.geomspace(1, 0.01, 5), (3, 1)) * np.array([[1.0], [2.0], [3.0]])
    b = selection.sparsest_within_grid(lams, mean, nnz)
    c = selection.sparsest_within_grid(lams, mean, nnz, se=se, k=k)
    assert nnz[c] <= nnz[b]
    # the slack is k SE of the best cell; with tied best cells, of one of them
    best = mean == mean.min()
    assert mean[c] <= mean.min() + k * se[best].max() + 1e-12
    assert mean[b] == mean.min()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(k=1.0), "se is required"),
        (dict(k=-1.0), "k and rel"),
        (dict(se=np.zeros((1, 1)), k=1.0), "se must have shape"),
    ],
)
def test_grid_rule_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        selection.sparsest_within_grid(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)),
                                       **kwargs)


def test_information_criteria_match_lassolarsic():
    """Known noise variance: our AIC/BIC on the LARS path equals scikit-learn's criterion_."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 8))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + rng.normal(size=60)
    Xc, yc = X - X.mean(0), y - y.mean()
    _, _, path = lars_path(Xc, yc, method="lasso")
    for crit in ("aic", "bic"):
        m = LassoLarsIC(criterion=crit, noise_variance=1.3).fit(X, y)
        rss = np.sum((yc[:, None] - Xc @ path) ** 2, axis=0)
        df = np.sum(np.abs(path) > np.finfo(float).eps, axis=0)
        ours = information_criterion(rss, df, 60, 8, crit, noise_variance=1.3)
        assert np.allclose(ours, m.criterion_, rtol=1e-10)


def test_ebic_and_profile_forms():
    rss, df = np.array([10.0, 5.0]), np.array([0, 3])
    bic = information_criterion(rss, df, 50, 200, "bic")
    assert np.allclose(bic, 50 * np.log(rss / 50) + np.log(50) * df)
    ebic = information_criterion(rss, df, 50, 200, "ebic", gamma=1.0)
    from math import comb, log

    assert np.allclose(ebic - bic, [0.0, 2 * log(comb(200, 3))])
    assert np.allclose(information_criterion(rss, df, 50, 200, "ebic", gamma=0.0), bic)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(criterion="hqic"), "criterion must be"),
        (dict(noise_variance=0.0), "noise_variance must be > 0"),
        (dict(gamma=2.0), "gamma must be in"),
    ],
)
def test_information_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        information_criterion(np.ones(2), np.ones(2), 10, 3, **kwargs)


def test_ties_within_rounding_go_to_the_stronger_setting():
    """Accuracy means are the same counts over n, summed per fold in different orders:
    47/52 came out as 0.9038461538461539 at three strengths and 0.903846153846154 at a
    weaker one, which an exact comparison chose over the stronger three."""
    lams = np.array([1.0, 0.5, 0.25, 0.125])
    mean = np.array([0.8, 47 / 52, 47 / 52, np.nextafter(47 / 52, 1.0)])
    assert selection.best(lams, mean, greater_is_better=True) == 1
    loss = np.array([0.3, 0.2, np.nextafter(0.2, 0.0), 0.25])
    assert selection.best(lams, loss) == 1
    # a real difference (far above rounding) is not a tie
    assert selection.best(lams, np.array([0.3, 0.2, 0.2 * (1 - 1e-12), 0.25])) == 2


def test_criteria_of_a_weighted_or_offset_path_read_the_fit_as_it_was_made():
    import shrinkage

    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, 8))
    y = X[:, :2] @ np.array([1.0, -0.7]) + 0.5 * rng.standard_normal(70)
    y[:10] += 30.0  # outliers the fit gives no weight
    w = np.r_[np.zeros(10), np.ones(60)]
    lams = np.logspace(0, -2.5, 30)
    weighted = shrinkage.regularization_path(X, y, sample_weight=w, lams=lams, tol=1e-12)
    # zero weight is a row left out: the criterion of the same fit on the 60 rows
    for crit in ("aic", "bic", "ebic"):
        got = shrinkage.tuning.information.information_criterion_path(
            weighted, X, y, crit, sample_weight=w)
        want = shrinkage.tuning.information.information_criterion_path(
            weighted, X[10:], y[10:], crit)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert shrinkage.select_by_criterion(weighted, X, y, sample_weight=7 * w) == \
        shrinkage.select_by_criterion(weighted, X[10:], y[10:])
    # an offset enters the linear predictor
    off = rng.standard_normal(70)
    shifted = shrinkage.regularization_path(X, y + off, offset=off, lams=lams, tol=1e-12)
    np.testing.assert_allclose(
        shrinkage.tuning.information.information_criterion_path(shifted, X, y + off,
                                                                 offset=off),
        shrinkage.tuning.information.information_criterion_path(shifted, X, y), rtol=1e-12)
    with pytest.raises(ValueError, match="offset"):
        shrinkage.select_by_criterion(shifted, X, y, offset=off[:5])
    with pytest.raises(ValueError, match="finite"):
        information_criterion(np.array([1.0, np.nan]), np.array([0, 1]), 10, 3)
