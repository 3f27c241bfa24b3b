"""Active-set Newton solves on collinear columns (engine.active_solve): nothing moves
along a direction the data do not determine, so dense and sparse routes, whose rounding
differs, return the same coefficients."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import shrinkage
from shrinkage.engine.active_solve import range_solve


def test_range_solve_is_the_solve_where_determined_and_least_norm_where_not():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((50, 4)) * np.array([1e-4, 1.0, 1e3, 5.0])
    H = Z.T @ Z
    rhs = rng.standard_normal(4)
    np.testing.assert_allclose(range_solve(H, rhs), np.linalg.solve(H, rhs), rtol=1e-10)
    # an exact duplicate: the least-norm solution in the unit-diagonal metric
    Zd = np.column_stack([Z, Z[:, 1]])
    Hd = Zd.T @ Zd
    rd = Zd.T @ rng.standard_normal(50)  # consistent: in the range of Hd
    d = range_solve(Hd, rd)
    np.testing.assert_allclose(Hd @ d, rd, rtol=1e-9, atol=1e-9 * np.abs(rd).max())
    assert d[1] == pytest.approx(d[4], rel=1e-9)  # no component along e1 - e4
    # a concave piece: indefinite but determined, solved exactly
    Hi = H - np.diag([0.0, 2.0 * H[1, 1], 0.0, 0.0])
    np.testing.assert_allclose(range_solve(Hi, rhs), np.linalg.solve(Hi, rhs), rtol=1e-8)
    assert range_solve(np.diag([1.0, 0.0]), np.ones(2)) is None
    assert range_solve(H, np.r_[np.nan, rhs[1:]]) is None


def _pair_design(rng, n=120, p=8):
    """Correlated columns and a ninth, x8 = -x1, each shifted by 1e4: negated duplicates
    once centred, exactly only up to the rounding of the shift."""
    X = np.sqrt(0.9) * rng.standard_normal((n, 1)) + np.sqrt(0.1) * rng.standard_normal(
        (n, p))
    X = np.column_stack([X, -X[:, 1] + 1e4])
    X[:, 1] += 1e4
    return X


def _shifted_pair(family, seed=0):
    """:func:`_pair_design`, the pair unpenalised beside an intercept."""
    rng = np.random.default_rng(seed)
    X = _pair_design(rng)
    n, p = X.shape[0], X.shape[1] - 1
    eta = 0.5 * X[:, 0] - 0.4 * X[:, 2] + 0.3 * X[:, 3]
    y = (rng.poisson(np.exp(0.5 * eta)) if family == "poisson"
         else rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    pf = np.zeros(p + 1)
    pf[[4, 5, 6]] = 1.0
    return X, y, pf


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("penalty", ["elasticnet", "mcp"])
def test_dense_and_sparse_routes_agree_on_collinear_unpenalised_columns(family, penalty):
    # The sparse route's exact steps once moved the pair along their null direction
    # (coefficients -136 each and an intercept of 2.7e6 where the dense route had -0.8,
    # -0.6 and 1.4e4; fitted values 0.25 apart)
    X, y, pf = _shifted_pair(family)
    fits = []
    for Xin in (X, sp.csc_matrix(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(shrinkage.regularization_path(
                Xin, y, family=family, penalty=penalty, penalty_factor=pf, tol=1e-10,
                n_lams=20, lam_min_ratio=1e-6, early_stop=False))
    dense, csc = fits
    assert dense.converged.all() and csc.converged.all()
    fitted = [f.intercepts[:, None] + f.coefs @ X.T for f in fits]
    np.testing.assert_allclose(fitted[1], fitted[0], atol=1e-6)
    np.testing.assert_allclose(csc.coefs, dense.coefs, atol=1e-4)
    assert np.abs(csc.coefs).max() < 10


def _grouped_pair(family, seed=0):
    """Columns 1 and 8 collinear once centred (x1 + 1e4, -x1 + 1e4), together in an
    unpenalised group 0; the other features in penalised pairs."""
    rng = np.random.default_rng(seed)
    X = _pair_design(rng)
    n = X.shape[0]
    Xe = X - X.mean(0)
    eta = 0.5 * Xe[:, 0] - 0.4 * Xe[:, 2] + 0.3 * Xe[:, 3]
    y = {"binomial": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float),
         "poisson": rng.poisson(np.exp(0.5 * eta)).astype(float),
         "gaussian": eta + 0.5 * rng.standard_normal(n)}[family]
    groups = np.array([1, 0, 1, 2, 2, 3, 3, 4, 0])
    return X, y, groups, np.array([0.0, 1, 1, 1, 1])


@pytest.mark.parametrize("family, penalty, mix", [
    ("binomial", "elasticnet", 0.0), ("poisson", "elasticnet", 0.0),
    ("poisson", "elasticnet", 0.5), ("gaussian", "mcp", 0.0), ("binomial", "mcp", 0.0)])
def test_an_unpenalised_group_of_collinear_columns_fits_on_both_routes(family, penalty, mix):
    # The group solvers inverted the block Hessian's rounding-sized eigenvalue: the whole
    # binomial path was NaN (dense), a poisson path carried -2092 on both columns with an
    # intercept of 4e7 (CSC; certificate 6e-12, true violation 3e-8), a gaussian group
    # MCP path turned NaN (CSC)
    X, y, groups, pf = _grouped_pair(family)
    fits = []
    for Xin in (X, sp.csc_matrix(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(shrinkage.regularization_path(
                Xin, y, family=family, penalty=penalty, penalty_factor=pf,
                feature_groups=groups, group_mix=mix, tol=1e-10, n_lams=15,
                lam_min_ratio=1e-4, early_stop=False))
    for f in fits:
        assert f.converged.all() and np.isfinite(f.coefs).all()
        assert np.abs(f.coefs).max() < 10
    fitted = [f.intercepts[:, None] + f.coefs @ X.T for f in fits]
    np.testing.assert_allclose(fitted[1], fitted[0], atol=1e-5)
