"""Tied features (columns proportional on the weighted rows, equal penalties per unit): the
fit takes the order-free optimum among the lasso's many, so neither the coefficients nor
cross-validation depend on the order of the columns."""

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import kkt_residual
from shrinkage import cross_validate, regularization_path
from shrinkage.engine.ties import SharedProjections, average_ties, find_ties


def _tied_design(n=200, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 5] = 2.0 * X[:, 3] + 1.0  # tied to 3 once centred and standardized
    X[:, 7] = -X[:, 3]  # tied with the opposite sign
    X[:, 10] = rng.random(n) < 0.5
    X[:, 11] = 1.0 - X[:, 10]  # complementary dummies: tied with an intercept
    eta = X[:, 3] + X[:, 10] - 0.5 * X[:, 0]
    return X, eta, rng


def _response(family, eta, rng):
    if family == "gaussian":
        return eta + rng.standard_normal(eta.size)
    if family == "binomial":
        return (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    if family == "poisson":
        return rng.poisson(np.exp(0.3 * eta)).astype(float)
    return np.digitize(eta + rng.standard_normal(eta.size), [-0.5, 0.8])


def _find(X, w=None, pf=None, standardize=True):
    n, p = X.shape
    w = np.full(n, 1.0 / n) if w is None else w / w.sum()
    xm = np.asarray(X.T @ w).ravel()
    sd = np.sqrt(np.asarray((X.multiply(X) if sp.issparse(X) else X * X).T @ w).ravel()
                 - xm**2)
    scale = sd if standardize else np.ones(p)
    pf = np.ones(p) if pf is None else pf
    inf = np.full(p, np.inf)
    return find_ties(X, w, xm, sd == 0, pf * scale, pf * scale**2, -inf, inf)


@pytest.mark.parametrize("sparse", [False, True])
def test_find_ties_finds_exactly_the_proportional_columns(sparse):
    X, _, _ = _tied_design()
    Xs = sp.csc_matrix(X) if sparse else X
    groups = sorted((list(i), list(np.round(t, 12))) for i, t in _find(Xs))
    assert groups == [([3, 5, 7], [1.0, 2.0, -1.0]), ([10, 11], [1.0, -1.0])]
    # unstandardized, the scaled copy costs half the penalty per unit: not a tie
    assert sorted(list(i) for i, _ in _find(Xs, standardize=False)) == [[3, 7], [10, 11]]
    pf = np.ones(X.shape[1])
    pf[7] = 2.0
    assert sorted(list(i) for i, _ in _find(Xs, pf=pf)) == [[3, 5], [10, 11]]


def test_ties_are_judged_on_the_weighted_rows_only():
    X, _, rng = _tied_design()
    X[:, 15] = X[:, 14]
    X[:5, 15] += 1.0  # differs only on rows without weight
    w = np.ones(X.shape[0])
    assert [14, 15] not in [list(i) for i, _ in _find(X)]
    w[:5] = 0.0
    assert [14, 15] in [list(i) for i, _ in _find(X, w=w)]


@pytest.mark.parametrize("sparse", [False, True])
def test_shared_projection_of_a_fold_is_its_rows_own(sparse):
    """A fold's projection, the full data's minus its held-out rows', equals the
    projection of its live rows computed directly; from it (and the fit's own sums of
    squares) the tie search finds the same groups as from its own passes over X."""
    X, _, rng = _tied_design()
    X[:, 15] = X[:, 14]
    n = X.shape[0]
    held = rng.choice(n, 30, replace=False)
    X[held[:4], 15] += 1.0  # tied on the live rows only
    Xs = sp.csc_matrix(X) if sparse else X
    live = np.ones(n, dtype=bool)
    live[held] = False
    shared = SharedProjections()
    assert shared.live(Xs)[0] is shared.live(Xs)[0]  # computed once
    xtu, usum = shared.live(Xs, held, Xs[held])
    U = np.random.default_rng(0).standard_normal((n, 2))  # the tie search's draw
    np.testing.assert_allclose(xtu, X[live].T @ U[live], rtol=0, atol=1e-12 * n)
    np.testing.assert_allclose(usum, U[live].sum(axis=0), rtol=0, atol=1e-12 * n)
    w = live / live.sum()
    xm = X.T @ w
    xsq = ((X - xm) ** 2).T @ w
    inf = np.full(X.shape[1], np.inf)
    ones = np.ones(X.shape[1])
    args = (Xs, w, xm, xsq == 0, ones, ones, -inf, inf)
    own = sorted((list(i), list(np.round(t, 12))) for i, t in find_ties(*args))
    given = sorted((list(i), list(np.round(t, 12)))
                   for i, t in find_ties(*args, xsq=xsq, projection=(xtu, usum)))
    assert given == own
    assert [14, 15] in [g for g, _ in own] and [3, 7] in [g for g, _ in own]


def test_average_keeps_fitted_values_and_the_intercept_sum():
    rng = np.random.default_rng(1)
    coefs = rng.standard_normal((4, 6))
    b0 = rng.standard_normal(4)
    xm = rng.standard_normal(6)
    idx, t = np.array([1, 4]), np.array([1.0, -2.0])
    c1 = rng.standard_normal(30)
    X = rng.standard_normal((30, 6)) + xm
    X[:, 1] = c1 + xm[1]
    X[:, 4] = -2.0 * c1 + xm[4]
    before = X @ coefs.T + b0
    new, nb0 = coefs.copy(), b0.copy()
    average_ties(new, nb0, [(idx, t)], xm)
    np.testing.assert_allclose(X @ new.T + nb0, before, atol=1e-12)
    np.testing.assert_allclose(new[:, 1], -2.0 * new[:, 4])


@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson", "multinomial"])
@pytest.mark.parametrize("sparse", [False, True])
def test_path_does_not_depend_on_column_order(family, sparse):
    X, eta, rng = _tied_design()
    y = _response(family, eta, rng)
    perm = rng.permutation(X.shape[1])
    back = np.argsort(perm)

    def fit(A):
        return regularization_path(sp.csc_matrix(A) if sparse else A, y, family=family,
                                   tol=1e-11, n_lams=30)

    a, b = fit(X), fit(X[:, perm])
    scale = np.max(np.abs(a.coefs))
    np.testing.assert_allclose(b.coefs[:, back], a.coefs, atol=1e-7 * scale)
    np.testing.assert_allclose(b.intercepts, a.intercepts, atol=1e-7 * (1 + scale))
    assert a.converged.all() and b.converged.all()
    if family != "multinomial":
        lam = a.lams[-1]
        kkt = kkt_residual(family, X, y, a.intercepts[-1], a.coefs[-1], lam, 1.0)
        assert kkt < 1e-6 * lam


def test_lasso_ties_take_the_elastic_nets_limit():
    """The equal split is the limit of the elastic net's unique solution as its ridge part
    vanishes."""
    X, eta, rng = _tied_design()
    y = eta + rng.standard_normal(eta.size)
    lasso = regularization_path(X, y, tol=1e-12, n_lams=20)
    enet = regularization_path(X, y, l1_ratio=1 - 1e-7, lams=lasso.lams, tol=1e-12)
    np.testing.assert_allclose(lasso.coefs, enet.coefs, atol=1e-5)
    gamma = lasso.coefs[:, [3, 5, 7]] * [1.0, 2.0, -1.0]
    np.testing.assert_allclose(gamma, gamma[:, :1].repeat(3, axis=1), atol=1e-12)


def test_cross_validation_does_not_depend_on_column_order():
    """Pairs of columns equal except on one row: in the folds that hold that row out, the
    pair is tied on the training rows and differs on the held-out ones. The curve is then a
    property of the data, not of the column order."""
    rng = np.random.default_rng(5)
    n, p = 150, 30
    X = rng.standard_normal((n, p))
    y = X[:, :10] @ rng.standard_normal(10) + rng.standard_normal(n)
    twins = X[:, :10].copy()
    twins[rng.choice(n, 10, replace=False), np.arange(10)] += 1.0
    X = np.hstack([X, twins])
    perm = rng.permutation(X.shape[1])
    kw = dict(cv=5, random_state=0, tol=1e-10, n_lams=40)
    a = cross_validate(X, y, **kw)
    b = cross_validate(X[:, perm], y, **kw)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-7)
    assert a.index_min == b.index_min and a.index_chosen == b.index_chosen
