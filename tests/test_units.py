"""Unit conversions: round trips, and the other library's fit is optimal for our objective.

"Fitting both sides": each library is fitted with the converted strength and its solution
must satisfy shrinkage's optimality conditions (KKT) at ``lam``, or equal shrinkage's own
exact ridge fit. Libraries that are not installed here (glmnet, Keras, PyTorch) are
checked by reproducing their documented procedure or objective in NumPy.
"""

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge, SGDRegressor

from shrinkage import units
from shrinkage.tuning.ridge import ridge_path


def _kkt(X, y, w, b0, b, lam, a, family="gaussian"):
    """Max violation of shrinkage's KKT conditions (unstandardized, intercept free)."""
    eta = b0 + X @ b
    mu = {"gaussian": eta, "binomial": 1 / (1 + np.exp(-eta)), "poisson": np.exp(eta)}[family]
    W = w.sum()
    g = X.T @ (w * (mu - y)) / W + lam * (1 - a) * b  # smooth part of the gradient
    viol = np.where(b != 0, np.abs(g + lam * a * np.sign(b)), np.maximum(np.abs(g) - lam * a, 0))
    return max(np.max(viol), abs(np.sum(w * (mu - y)) / W))


@pytest.fixture
def reg():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = X @ np.array([1.5, -2.0, 0.0, 0.0, 0.7]) + 1.0 + rng.normal(size=60)
    w = rng.uniform(0.5, 2.0, 60)
    return X, y, w


def test_round_trips():
    lam, a, n = 0.037, 0.3, 123.0
    assert units.from_sklearn_elasticnet(*units.to_sklearn_elasticnet(lam, a)) == (lam, a)
    assert np.isclose(units.from_sklearn_ridge(units.to_sklearn_ridge(lam, n), n), lam)
    C, a2 = units.to_sklearn_logistic(lam, n, a)
    assert np.allclose(units.from_sklearn_logistic(C, n, a2), (lam, a))
    assert units.from_sklearn_sgd(*units.to_sklearn_sgd(lam, a)) == (lam, a)
    d = units.to_statsmodels(lam, a)
    assert units.from_statsmodels(d["alpha"], d["L1_wt"]) == (lam, a)
    for fam, sd in [("gaussian", 2.7), ("binomial", None), ("poisson", None)]:
        lg, ag = units.to_glmnet(lam, a, family=fam, sd_y=sd)
        assert np.allclose(units.from_glmnet(lg, ag, family=fam, sd_y=sd), (lam, a))
    for loss in ["mse", "binary_crossentropy", "poisson"]:
        assert np.allclose(units.from_keras(*units.to_keras(lam, a, loss=loss), loss=loss),
                           (lam, a))
    for loss in ["mse", "half_mse", "bce"]:
        wd = units.to_torch_weight_decay(lam, loss=loss)
        assert np.isclose(units.from_torch_weight_decay(wd, loss=loss), lam)
    d = units.coupled_to_decoupled_decay(0.01, 0.1, lr_scaled=False)
    assert np.isclose(units.decoupled_to_coupled_decay(d, 0.1, lr_scaled=False), 0.01)
    t2 = units.to_gaussian_prior_var(lam, 1.7, n)
    assert np.isclose(units.from_gaussian_prior_var(t2, 1.7, n), lam)
    s = units.to_laplace_scale(lam, 1.7, n)
    assert np.isclose(units.from_laplace_scale(s, 1.7, n), lam)
    # arrays broadcast
    np.testing.assert_allclose(units.to_sklearn_ridge(np.array([1.0, 2.0]), 10), [10, 20])


@pytest.mark.parametrize("a", [1.0, 0.4])
def test_sklearn_elasticnet_fit_is_our_optimum(reg, a):
    X, y, w = reg
    lam = 0.3
    alpha, l1r = units.to_sklearn_elasticnet(lam, a)
    m = ElasticNet(alpha=alpha, l1_ratio=l1r, tol=1e-12, max_iter=100000)
    m.fit(X, y, sample_weight=w)
    assert _kkt(X, y, w, m.intercept_, m.coef_, lam, a) < 1e-7
    assert np.sum(m.coef_ == 0) >= 1  # the check exercised the subgradient branch


def test_sklearn_ridge_equals_our_exact_ridge(reg):
    X, y, w = reg
    lam = 0.05
    m = Ridge(alpha=units.to_sklearn_ridge(lam, w.sum()), solver="cholesky")
    m.fit(X, y, sample_weight=w)
    ours = ridge_path(X, y, lams=[lam], sample_weight=w, standardize=False)
    np.testing.assert_allclose(ours.path.coefs[0], m.coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.path.intercepts[0], m.intercept_, rtol=1e-9)


@pytest.mark.parametrize("a,solver", [(0.0, "lbfgs"), (1.0, "saga"), (0.5, "saga")])
def test_sklearn_logistic_fit_is_our_optimum(a, solver):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    yb = (X @ np.array([1.0, -1.5, 0.0, 0.5]) + rng.logistic(size=80) > 0).astype(float)
    w = rng.uniform(0.5, 2.0, 80)
    lam = 0.02
    C, l1r = units.to_sklearn_logistic(lam, w.sum(), a)
    m = LogisticRegression(C=C, l1_ratio=l1r, solver=solver, tol=1e-12, max_iter=100000)
    m.fit(X, yb, sample_weight=w)
    tol = 1e-6 if solver == "lbfgs" else 1e-5
    assert _kkt(X, yb, w, m.intercept_[0], m.coef_[0], lam, a, "binomial") < tol


def test_sklearn_sgd_reaches_our_ridge(reg):
    X, y, _ = reg
    lam = 0.3
    alpha, l1r = units.to_sklearn_sgd(lam, 0.0)
    m = SGDRegressor(alpha=alpha, penalty="l2", l1_ratio=l1r, max_iter=3000, tol=None,
                     learning_rate="adaptive", eta0=0.003, average=True, random_state=0)
    m.fit(X, y)
    # SGD is stochastic: compare at 1e-2, far below the gap to lam/2 or 2*lam (> 0.2)
    ours = ridge_path(X, y, lams=[2 * lam, lam, lam / 2], standardize=False).path.coefs
    np.testing.assert_allclose(m.coef_, ours[1], atol=1e-2)
    assert min(np.abs(ours[0] - ours[1]).max(), np.abs(ours[2] - ours[1]).max()) > 0.2


@pytest.mark.parametrize("a", [1.0, 0.5])
def test_statsmodels_ols_fit_regularized_is_our_optimum(reg, a):
    X, y, _ = reg
    w = np.ones(len(y))
    lam = 0.1
    kw = units.to_statsmodels(lam, a)
    alpha = np.r_[0.0, np.full(X.shape[1], kw["alpha"])]  # leave the constant free
    res = sm.OLS(y, sm.add_constant(X)).fit_regularized(
        method="elastic_net", alpha=alpha, L1_wt=kw["L1_wt"], cnvrg_tol=1e-14, maxiter=10000)
    assert _kkt(X, y, w, res.params[0], res.params[1:], lam, a) < 1e-6


def test_statsmodels_glm_poisson_fit_regularized_is_our_optimum():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 3)) * 0.5
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.8, 0.0, -0.5]))).astype(float)
    lam, a = 0.02, 0.5
    kw = units.to_statsmodels(lam, a)
    alpha = np.r_[0.0, np.full(3, kw["alpha"])]
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit_regularized(
        method="elastic_net", alpha=alpha, L1_wt=kw["L1_wt"], cnvrg_tol=1e-14, maxiter=10000)
    assert _kkt(X, y, np.ones(100), res.params[0], res.params[1:], lam, a, "poisson") < 1e-6


@pytest.mark.parametrize("a", [0.0, 0.5, 1.0])
def test_glmnet_gaussian_response_scaling(reg, a):
    """Reproduce glmnet's gaussian procedure (scale y by sd, solve, scale back)."""
    X, y, w = reg
    xbar = np.average(X, axis=0, weights=w)
    Xs = (X - xbar) / np.sqrt(np.average((X - xbar) ** 2, axis=0, weights=w))
    sd_y = np.sqrt(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    lambda_ = 0.3
    # glmnet: solve the documented objective on y / sd_y at lambda / sd_y, scale back
    g = ElasticNet(alpha=lambda_ / sd_y, l1_ratio=a, tol=1e-13, max_iter=100000)
    g.fit(Xs, y / sd_y, sample_weight=w)
    coef_glmnet = g.coef_ * sd_y
    lam, l1r = units.from_glmnet(lambda_, a, family="gaussian", sd_y=sd_y)
    ours = ElasticNet(alpha=lam, l1_ratio=l1r, tol=1e-13, max_iter=100000)
    ours.fit(Xs, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, coef_glmnet, atol=1e-7)
    if a == 0.0:
        assert np.isclose(lam, lambda_ / sd_y)
        r = ridge_path(X, y, lams=[lam], sample_weight=w)  # standardize=True like glmnet
        s = np.sqrt(np.average((X - xbar) ** 2, axis=0, weights=w))
        np.testing.assert_allclose(r.path.coefs[0], coef_glmnet / s, rtol=1e-6)


def test_glmnet_penalty_factor_rescaling():
    np.testing.assert_allclose(units.glmnet_penalty_factor([0, 1, 3]), [0, 0.75, 2.25])
    with pytest.raises(ValueError, match="penalty_factor"):
        units.glmnet_penalty_factor([0, 0])


def _ours(X, y, b, lam, a):
    return np.mean((y - X @ b) ** 2) / 2 + lam * (a * np.abs(b).sum() + (1 - a) / 2 * b @ b)


def test_keras_objective_equality(reg):
    X, y, _ = reg
    lam, a = 0.07, 0.3
    rng = np.random.default_rng(3)
    l1, l2 = units.to_keras(lam, a, loss="mse")
    for _ in range(5):
        b = rng.normal(size=X.shape[1])
        keras = np.mean((y - X @ b) ** 2) + l1 * np.abs(b).sum() + l2 * (b @ b)
        assert np.isclose(keras, 2 * _ours(X, y, b, lam, a), rtol=1e-12)
    # cross-entropy: Keras objective equals ours exactly
    yb = (y > 1).astype(float)
    l1, l2 = units.to_keras(lam, a, loss="binary_crossentropy")
    b = rng.normal(size=X.shape[1])
    eta = X @ b
    nll = np.mean(np.logaddexp(0, eta) - yb * eta)
    keras = nll + l1 * np.abs(b).sum() + l2 * (b @ b)
    ours = nll + lam * (a * np.abs(b).sum() + (1 - a) / 2 * b @ b)
    assert np.isclose(keras, ours, rtol=1e-12)


def test_torch_coupled_sgd_converges_to_our_ridge(reg):
    """Full-batch torch.optim.SGD(weight_decay=wd) on MSELoss, written out in NumPy."""
    X, y, _ = reg
    lam = 0.2
    wd = units.to_torch_weight_decay(lam, loss="mse")
    n, p = X.shape
    Xa = np.column_stack([np.ones(n), X])
    theta = np.zeros(p + 1)
    mask = np.r_[0.0, np.ones(p)]  # bias in a parameter group with weight_decay=0
    for _ in range(4000):
        grad = 2 * Xa.T @ (Xa @ theta - y) / n  # d/dtheta MSELoss
        theta -= 0.05 * (grad + wd * mask * theta)
    ours = ridge_path(X, y, lams=[lam], standardize=False)
    np.testing.assert_allclose(theta[1:], ours.path.coefs[0], rtol=1e-8)
    # decoupled decay not scaled by lr, converted to a coupled one, gives the same point
    lr, d = 0.05, units.coupled_to_decoupled_decay(wd, 0.05, lr_scaled=False)
    theta = np.zeros(p + 1)
    for _ in range(4000):
        grad = 2 * Xa.T @ (Xa @ theta - y) / n
        theta = theta - lr * grad - d * mask * theta
    np.testing.assert_allclose(theta[1:], ours.path.coefs[0], rtol=1e-8)


def test_adamw_fixed_point_is_ridge_with_implied_lams(reg):
    """torch.optim.AdamW's documented update in NumPy; its limit solves the implied ridge."""
    X, y, _ = reg
    n, p = X.shape
    Xa = np.column_stack([np.ones(n), X])
    lr, wd, b1, b2, eps = 0.01, 0.5, 0.9, 0.999, 1e-8
    theta, m, v = np.zeros(p + 1), np.zeros(p + 1), np.zeros(p + 1)
    mask = np.r_[0.0, np.ones(p)]
    t = 0
    for t in range(1, 20001):
        g = Xa.T @ (Xa @ theta - y) / n  # "half_mse" loss
        theta = theta * (1 - lr * wd * mask)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    lam_j = units.adamw_implied_lam(wd, v[1:], step=t, beta2=b2, eps=eps, loss="half_mse")
    g = X.T @ (X @ theta[1:] + theta[0] - y) / n
    np.testing.assert_allclose(g + lam_j * theta[1:], 0, atol=2e-3 * np.abs(g).max())
    assert np.ptp(lam_j) > 0.1 * lam_j.max()  # genuinely per-coordinate, not one lam


def test_prior_variance_gives_ridge_as_posterior_mean(reg):
    X, y, _ = reg
    n = len(y)
    lam, sigma2 = 0.05, 1.3
    tau2 = units.to_gaussian_prior_var(lam, sigma2, n)
    post_mean = np.linalg.solve(X.T @ X / sigma2 + np.eye(5) / tau2, X.T @ y / sigma2)
    ours = ridge_path(X, y, lams=[lam], standardize=False, fit_intercept=False)
    np.testing.assert_allclose(post_mean, ours.path.coefs[0], rtol=1e-10)


def test_laplace_scale_gives_lasso_objective(reg):
    X, y, _ = reg
    n = len(y)
    lam, sigma2 = 0.05, 1.3
    s = units.to_laplace_scale(lam, sigma2, n)
    rng = np.random.default_rng(4)
    vals = []
    for _ in range(4):
        b = rng.normal(size=5)
        neg_log_post = ((y - X @ b) ** 2).sum() / (2 * sigma2) + np.abs(b).sum() / s
        vals.append(neg_log_post * sigma2 / n - _ours(X, y, b, lam, 1.0))
    np.testing.assert_allclose(vals, 0, atol=1e-12)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: units.to_sklearn_ridge(-1.0, 10), "lam must be finite and > 0"),
        (lambda: units.to_sklearn_ridge(1.0, 0), "n_samples"),
        (lambda: units.to_sklearn_elasticnet(1.0, 1.5), "l1_ratio must lie"),
        (lambda: units.from_sklearn_logistic(0.0, 10), "C must be"),
        (lambda: units.to_glmnet(0.1, 0.5), "sd_y is required"),
        (lambda: units.to_glmnet(0.1, 0.5, family="tweedie"), "family must be"),
        (lambda: units.to_keras(0.1, loss="hinge"), "loss must be one of"),
        (lambda: units.from_keras(0.0, 0.0), "both zero"),
        (lambda: units.to_torch_weight_decay(0.1, loss="l1"), "loss must be one of"),
        (lambda: units.to_gaussian_prior_var(np.nan, 1.0, 10), "lam must be"),
        (lambda: units.adamw_implied_lam(0.1, [-1.0], step=3), "exp_avg_sq"),
        (lambda: units.adamw_implied_lam(0.1, [1.0], step=0), "step must be"),
        (lambda: units.decoupled_to_coupled_decay(0.1, 0.0), "lr must be"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_is_type_error():
    with pytest.raises(TypeError, match="lam must be a number"):
        units.to_sklearn_elasticnet("big")
