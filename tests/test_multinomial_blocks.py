"""Block steps of the multinomial model: the ungrouped steps are exact coordinate steps
inside a feature's block (its off-diagonal curvature from ``block_coupling``), the grouped
ones end centred across the classes. Checked against a direct NumPy Hessian, against
scikit-learn's L1 multinomial logistic regression, and by perturbation within bounds."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from _reference import objective
from shrinkage import regularization_path
from shrinkage.engine.kernels.multinomial_curvature import block_coupling, class_curvature


def _classes(n=120, p=6, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = rng.normal(size=(p, K)) * (rng.uniform(size=(p, 1)) < 0.6)
    y = np.argmax(X @ beta + rng.gumbel(size=(n, K)), axis=1)
    return X, y


@pytest.mark.parametrize("sparse", [False, True])
def test_block_coupling_is_the_hessian_off_diagonal(sparse):
    rng = np.random.default_rng(3)
    n, p, K = 60, 9, 4
    X = rng.exponential(2.0, size=(n, p)) * (rng.uniform(size=(n, p)) < 0.3)
    X[:, 0] = rng.normal(4.0, 1.0, size=n)  # a dense column with a large mean
    w = rng.uniform(0.1, 2.0, size=n)
    w[:5] = 0.0  # held-out rows
    E = rng.normal(size=(n, K))
    P = np.exp(E) / np.exp(E).sum(1, keepdims=True)
    xm = (w @ X) / w.sum()
    ws = np.array([7, 0, 3, 5], dtype=np.int64)
    O = np.zeros((ws.size, K, K))
    slot = np.full(p, -1, dtype=np.int64)
    M = np.zeros((p, K))
    if sparse:
        S = sp.csc_matrix(X)
        design = (None, S.data, S.indices.astype(np.int64), S.indptr.astype(np.int64))
    else:
        design = (np.asfortranarray(X), None, None, None)
    block_coupling(*design, w, P, xm, ws, ws.size, O, slot)
    v = w[:, None] * P * (1.0 - P)
    class_curvature(*design, bool(sparse), v, xm, ws, ws.size, M)
    for t, j in enumerate(ws):
        assert slot[j] == t
        xc = X[:, j] - xm[j]
        A = sum(w[i] * xc[i] ** 2 * (np.diag(P[i]) - np.outer(P[i], P[i])) for i in range(n))
        off = A - np.diag(np.diag(A))
        np.testing.assert_allclose(O[t], off, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(M[j], 2.0 * np.diag(A), rtol=1e-10, atol=1e-12)
    assert (slot[np.setdiff1d(np.arange(p), ws)] == -1).all()


def test_ungrouped_lasso_matches_sklearn_multinomial_l1():
    X, y = _classes()
    n, K = X.shape[0], 3
    path = regularization_path(X, y, "multinomial", multinomial_grouped=False,
                               standardize=False, n_lams=15, tol=1e-10)
    assert path.converged.all()
    Y = np.eye(K)[y]
    for k in (4, 10):
        lam = path.lams[k]
        lr = LogisticRegression(C=1 / (n * lam), l1_ratio=1.0, solver="saga", tol=1e-12,
                                max_iter=200_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr.fit(X, y)
        ours = objective("multinomial", X, Y, path.intercepts[k], path.coefs[k], lam, 1.0,
                         standardize=False, grouped=False)
        theirs = objective("multinomial", X, Y, lr.intercept_, lr.coef_.T, lam, 1.0,
                           standardize=False, grouped=False)
        assert ours <= theirs + 1e-9  # never worse than the reference
        np.testing.assert_allclose(path.coefs[k], lr.coef_.T, atol=2e-4)


@pytest.mark.parametrize("sparse", [False, True])
def test_ungrouped_elastic_net_within_bounds_is_optimal(sparse):
    """No feasible perturbation (clipped to the bounds) lowers the objective."""
    X, y = _classes(n=150, p=8, K=4, seed=2)
    lower = np.array([0.0, -np.inf, -0.2, 0.0, -np.inf, -np.inf, 0.0, -np.inf])
    upper = np.array([np.inf, 0.0, 0.3, np.inf, np.inf, 0.5, np.inf, np.inf])
    Xd = sp.csc_matrix(X) if sparse else X
    path = regularization_path(Xd, y, "multinomial", multinomial_grouped=False,
                               l1_ratio=0.7, lower=lower, upper=upper, n_lams=12,
                               tol=1e-10)
    assert path.converged.all()
    Y = np.eye(4)[y]
    sd = X.std(0)
    rng = np.random.default_rng(1)
    for k in range(1, path.n_lams, 3):
        B, b0, lam = path.coefs[k], path.intercepts[k], path.lams[k]
        assert (B >= lower[:, None] - 1e-12).all() and (B <= upper[:, None] + 1e-12).all()
        f0 = objective("multinomial", X, Y, b0, B, lam, 0.7, grouped=False)
        for _ in range(30):
            D = rng.standard_normal(B.shape) * 1e-4 / sd[:, None]
            trial = np.clip(B + D, lower[:, None], upper[:, None])
            assert objective("multinomial", X, Y, b0, trial, lam, 0.7,
                             grouped=False) >= f0 - 1e-12


@pytest.mark.parametrize("sparse", [False, True])
def test_grouped_rows_are_centred(sparse):
    """The model is flat along (1, ..., 1) and the group norm is smallest at mean zero:
    every fitted row is centred to rounding, at the default tolerance too."""
    X, y = _classes(n=200, p=10, K=4, seed=5)
    path = regularization_path(sp.csc_matrix(X) if sparse else X, y, "multinomial")
    B = path.coefs
    scale = np.abs(B).max(axis=2, initial=0.0)
    assert np.all(np.abs(B.mean(axis=2)) <= 1e-12 * np.maximum(scale, 1e-300))


def test_row_logsumexp_matches_scipy_and_keeps_dominated_rows_exact():
    from scipy.special import logsumexp

    from shrinkage.model.families import row_logsumexp

    rng = np.random.default_rng(4)
    E = np.vstack([rng.normal(scale=30.0, size=(50, 5)), [[3.0, 3.0, 3.0, 3.0, 3.0]],
                   [[700.0, 699.0, -700.0, 0.0, 1.0]]])
    np.testing.assert_allclose(row_logsumexp(E), logsumexp(E, axis=1), rtol=1e-14)
    # a row whose largest term dominates: the excess log1p(exp(-40)) survives
    tiny = row_logsumexp(np.array([[0.0, -40.0], [-40.0, 0.0]]))
    np.testing.assert_array_equal(tiny, np.log1p(np.exp(-40.0)))
    assert tiny[0] > 0.0


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_unpenalised_nearly_constant_column(grouped, sparse):
    """A column constant to 1e-8 of its mean of 100, unpenalised (its coefficients reach
    1e7-1e8). Dense designs solve it; on a sparse one the centred sums of the column
    cancel (the curvature of some classes rounds to zero), which once divided by zero
    in the grouped step: the fit must end with finite values, certified or warned."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3))
    X[:, 0] = 100.0 + 1e-6 * rng.standard_normal(12)
    y = np.arange(12) % 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = regularization_path(sp.csc_matrix(X) if sparse else X, y, "multinomial",
                                   penalty_factor=[0.0, 1.0, 1.0], n_lams=5,
                                   multinomial_grouped=grouped)
    assert np.all(np.isfinite(path.coefs)) and np.all(np.isfinite(path.certificate))
    warned = any("did not converge" in str(w.message) for w in caught)
    assert path.converged.all() != warned
    if not sparse:
        assert path.converged.all()
