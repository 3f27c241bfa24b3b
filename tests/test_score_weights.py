"""Every estimator's ``score`` checks ``sample_weight`` as ``fit`` does: a negative,
NaN, all-zero or wrong-length weight is refused by name (PenalizedRegressor.score scored
a weight of -5; PenalizedClassifier.score divided by a zero sum deep in scikit-learn),
and valid weights give the same score at any common scale."""

import numpy as np
import pytest

import shrinkage

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5))
y = X[:, 0] + rng.normal(size=60)
yb = (y > 0).astype(float)
SURV = np.c_[np.exp(-X[:, 0]) + 0.1 + np.arange(60) * 1e-3, np.arange(60) % 4 != 0]

ESTIMATORS = {
    "regressor": lambda: (shrinkage.PenalizedRegressor(lam=0.1), y),
    "poisson": lambda: (shrinkage.PenalizedRegressor(lam=0.1, family="poisson"),
                        np.round(np.exp(y / 3))),
    "classifier": lambda: (shrinkage.PenalizedClassifier(lam=0.01), yb),
    "cox": lambda: (shrinkage.PenalizedCox(lam=0.05), SURV),
    "evidence_ridge": lambda: (shrinkage.EvidenceRidge(), y),
    "bayesian_lasso": lambda: (shrinkage.BayesianLasso(n_draws=40, burn_in=20, n_chains=2), y),
}
BAD = [
    (np.r_[-5.0, np.ones(59)], "negative entries"),
    (np.zeros(60), "sums to zero"),
    (np.r_[np.nan, np.ones(59)], "NaN"),
    (np.ones(59), "length 59"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # short chains of the Bayesian lasso
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_score_checks_sample_weight(name):
    est, target = ESTIMATORS[name]()
    est.fit(X, target)
    for w, match in BAD:
        with pytest.raises(ValueError, match=match):
            est.score(X, target, sample_weight=w)
    w = rng.uniform(0.5, 2.0, 60)
    np.testing.assert_allclose(est.score(X, target, sample_weight=w),
                               est.score(X, target, sample_weight=7.0 * w), rtol=1e-12)
    np.testing.assert_allclose(est.score(X, target, sample_weight=np.full(60, 3.0)),
                               est.score(X, target), rtol=1e-12)
