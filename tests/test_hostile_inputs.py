"""Inputs that used to give certified wrong answers: each class of problem, fuzzed.

Non-canonical sparse matrices, DataFrames whose columns moved, extreme magnitudes of X, y
and weights, near-constant columns. Every case ends in a clear error or in a path equal
(to rounding) to the one of a well-posed twin problem, with a certificate that was really
computed.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkage import cross_validate, regularization_path
from shrinkage.validation import DataWarning, check_design

rng0 = np.random.default_rng(0)
N, P = 60, 6
X0 = rng0.standard_normal((N, P)) * rng0.uniform(0.5, 2.0, P)
Y0 = X0[:, 0] - 0.5 * X0[:, 3] + rng0.standard_normal(N)


# ---------------------------------------------------------------- sparse duplicates
def _with_duplicates(A, rng, fmt):
    """``A`` as a CSC/CSR matrix whose stored entries are split into duplicate pieces."""
    coo = sp.coo_matrix(A)
    rows, cols, vals = [], [], []
    for i, j, v in zip(coo.row, coo.col, coo.data):
        k = int(rng.integers(1, 4))
        parts = rng.uniform(-1, 1, k)
        parts = parts / parts.sum() * v if abs(parts.sum()) > 1e-3 else np.r_[v, np.zeros(k - 1)]
        rows += [i] * k
        cols += [j] * k
        vals += list(parts)
    order = rng.permutation(len(vals))
    rows, cols, vals = (np.asarray(a)[order] for a in (rows, cols, vals))
    n, p = A.shape
    if fmt == "csc":  # sorted row indices within each column, duplicates kept
        idx = np.lexsort((rows, cols))
        indptr = np.searchsorted(cols[idx], np.arange(p + 1))
        return sp.csc_matrix((vals[idx], rows[idx], indptr), shape=(n, p))
    idx = np.lexsort((cols, rows))
    indptr = np.searchsorted(rows[idx], np.arange(n + 1))
    return sp.csr_matrix((vals[idx], cols[idx], indptr), shape=(n, p))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), fmt=st.sampled_from(["csc", "csr"]),
       family=st.sampled_from(["gaussian", "binomial"]))
def test_sparse_with_duplicate_entries_equals_dense(seed, fmt, family):
    rng = np.random.default_rng(seed)
    A = np.where(rng.uniform(size=(50, 8)) < 0.4, rng.standard_normal((50, 8)), 0.0)
    Xs = _with_duplicates(A, rng, fmt)
    assert not Xs.has_canonical_format
    np.testing.assert_allclose(Xs.toarray(), A, atol=1e-12)
    y = A[:, 0] + 0.3 * rng.standard_normal(50)
    if family == "binomial":
        y = (y > np.median(y)).astype(float)
    kw = dict(family=family, n_lams=15, tol=1e-10)
    dense = regularization_path(A, y, **kw)
    sparse = regularization_path(Xs, y, **kw)
    assert sparse.converged.all()
    np.testing.assert_allclose(sparse.coefs, dense.coefs, atol=1e-7)


def test_canonical_sparse_input_is_not_copied():
    Xs = sp.csc_matrix(np.where(X0 > 0.5, X0, 0.0))
    assert Xs.has_canonical_format
    assert check_design(Xs) is Xs


# ---------------------------------------------------------------- feature names
def test_path_predictions_check_dataframe_columns():
    df = pd.DataFrame(X0, columns=[f"f{j}" for j in range(P)])
    path = regularization_path(df, Y0, n_lams=10)
    np.testing.assert_allclose(path.linear_predictor(df), path.linear_predictor(X0))
    with pytest.raises(ValueError, match="in another order"):
        path.linear_predictor(df[df.columns[::-1]])
    with pytest.raises(ValueError, match=r"missing \['f2'\]; unexpected \['g'\]"):
        path.linear_predictor(df.rename(columns={"f2": "g"}))
    # cross-validation keeps the names with its path, and checks them when it predicts
    _, cvpath = cross_validate(df, Y0, cv=3, n_lams=8, random_state=0, return_path=True)
    assert list(cvpath.feature_names) == list(df.columns)
    with pytest.raises(ValueError, match="in another order"):
        cvpath.linear_predictor(df[df.columns[::-1]])


def test_gap_plot_checks_dataframe_columns():
    from shrinkage.plotting.fits import path_scores

    df = pd.DataFrame(X0, columns=[f"f{j}" for j in range(P)])
    path = regularization_path(df, Y0, n_lams=10)
    with pytest.raises(ValueError, match="in another order"):
        path_scores(path, df[df.columns[::-1]], Y0, "mse")


# ---------------------------------------------------------------- extreme magnitudes
def _base(family):
    y = Y0 if family == "gaussian" else (Y0 > 0).astype(float)
    return y, regularization_path(X0, y, family=family, n_lams=12, tol=1e-10)


@settings(max_examples=100, deadline=None)
@given(kx=st.integers(-320, 320), ky=st.integers(-320, 320), kw=st.integers(-320, 320),
       family=st.sampled_from(["gaussian", "binomial"]))
def test_extreme_scales_give_the_scaled_answer_or_a_clear_error(kx, ky, kw, family):
    """X * 10^kx, y * 10^ky (gaussian), weights * 10^kw: the path of the scaled problem is
    the scaled path (lams * 10^ky, coefs * 10^(ky - kx)), or a ValueError saying what to
    rescale. Never a converged certificate on a wrong answer."""
    y, base = _base(family)
    with np.errstate(over="ignore", under="ignore"):
        sx, sy, sw = (float(np.power(10.0, k)) for k in (kx, ky, kw))
    if family == "binomial":
        ky, sy = 0, 1.0
    if not (np.isfinite(sx) and sx > 0 and np.isfinite(sy) and sy > 0 and np.isfinite(sw)
            and sw > 0):
        return
    with np.errstate(over="ignore", under="ignore"):
        Xs, ys = X0 * sx, y * sy
    tiny = np.finfo(float).tiny
    if (not (np.all(np.isfinite(Xs)) and np.all(np.isfinite(ys)))
            or np.any(np.abs(Xs[X0 != 0]) < tiny) or np.any(np.abs(ys[y != 0]) < tiny)):
        return  # the scaled data themselves are not representable to full precision
    w = np.full(N, sw)
    try:
        path = regularization_path(Xs, ys, family=family, sample_weight=w, n_lams=12,
                                   tol=1e-10)
    except ValueError as exc:
        assert "rescale" in str(exc), exc
        return
    assert path.converged.all() and np.all(np.isfinite(path.certificate))
    np.testing.assert_allclose(path.lams, base.lams * sy, rtol=1e-9)
    # a gap of 1e-10 (relative) pins coefficients to about sqrt(1e-10) of their scale
    np.testing.assert_allclose(path.coefs / sy * sx, base.coefs, rtol=1e-5,
                               atol=3e-5 * np.abs(base.coefs).max())
    np.testing.assert_allclose(path.dev_ratio, base.dev_ratio, atol=1e-8)


@pytest.mark.parametrize("kx, ky", [(14, -306), (18, -306), (40, -290)])
def test_coefficients_that_would_underflow_are_refused(kx, ky):
    # y / X near 1e-320 (subnormal: 3-4 digits left) or below 5e-324 (zero): a clear error,
    # not a converged path of rounded or vanished coefficients
    with pytest.raises(ValueError, match="subnormal.*rescale"):
        regularization_path(X0 * 10.0**kx, Y0 * 10.0**ky, n_lams=12, tol=1e-10)


def test_one_enormous_response_value_is_fitted_not_nulled():
    y = Y0.copy()
    y[3] = 1e200
    path = regularization_path(X0, y, n_lams=10, tol=1e-10)
    # a computed gap: finite and non-negative (exactly 0 when the fit is exact to rounding)
    cert = path.certificate
    assert path.converged.all() and np.all(np.isfinite(cert) & (cert >= 0) & (cert <= 1e-10))
    assert np.all(np.isfinite(path.dev_ratio)) and path.extra["response_scale"] > 1e190
    # the same answer as the problem scaled down by hand
    small = regularization_path(X0, y / 2.0**664, n_lams=10, tol=1e-10)
    np.testing.assert_allclose(path.coefs, small.coefs * 2.0**664, rtol=1e-9)


@pytest.mark.parametrize("scale, word", [(1e200, "overflow"), (1e-200, "underflow")])
def test_columns_whose_squares_leave_double_precision_are_refused(scale, word):
    X = X0.copy()
    X[:, 2] *= scale
    with pytest.raises(ValueError, match=f"X column 2 spans .* {word} double precision"):
        regularization_path(X, Y0)


def test_weights_that_leave_a_column_no_variance_are_named_not_blamed_on_x():
    """One weight 1e250 times the others: the columns' values spread, but their weighted
    variances underflow. The error names the weights, not an overflow of X."""
    w = np.ones(N)
    w[0] = 1e250
    with pytest.raises(ValueError, match=r"X column 0 spans .* weighted variance is .*"
                                         r"sample_weight puts almost all its weight"):
        regularization_path(X0, Y0, sample_weight=w)


def test_weights_whose_sum_overflows_are_normalised_safely():
    w = np.full(N, 1e307)
    path = regularization_path(X0, Y0, sample_weight=w, n_lams=10)
    plain = regularization_path(X0, Y0, n_lams=10)
    np.testing.assert_allclose(path.coefs, plain.coefs, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- near-constant columns
def test_a_column_with_a_relative_spread_of_1e_12_is_a_feature():
    X = X0.copy()
    X[:, 1] = 1e8 + 1e-4 * X0[:, 1]
    y = 5.0 * (X[:, 1] - 1e8) / 1e-4 + rng0.standard_normal(N)
    # kept (not "vary only in their last digits"), fitted exactly, and named for what its
    # distance from zero costs the raw-unit intercept (1e12 sds: 4e-4 of its effect)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        path = regularization_path(X, y, n_lams=20, tol=1e-10)
    said = [str(w.message) for w in seen if issubclass(w.category, DataWarning)]
    assert len(said) == 1 and "X column 1 lies 1.6e+12 standard deviations" in said[0], said
    assert path.coefs[-1, 1] != 0.0
    ref = regularization_path(np.c_[X0[:, :1], X0[:, 1:2] * 1e-4, X0[:, 2:]], y, n_lams=20,
                              tol=1e-10)
    np.testing.assert_allclose(path.coefs[:, 1], ref.coefs[:, 1], rtol=1e-3)


def test_a_column_varying_only_in_its_last_digits_is_dropped_with_a_warning():
    X = X0.copy()
    X[:, 4] = 0.3
    X[::2, 4] = 0.1 + 0.2  # 0.30000000000000004: rounding, not a feature
    with pytest.warns(DataWarning, match="X column 4 vary only in their last digits"):
        path = regularization_path(X, Y0, n_lams=10)
    assert np.all(path.coefs[:, 4] == 0.0)
    # an exactly constant column is dropped silently
    X[:, 4] = 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        regularization_path(X, Y0, n_lams=10)


@pytest.mark.parametrize("route", ["path", "ridge", "blocked"])
def test_a_nonzero_constant_column_without_intercept_is_named(route):
    """Without an intercept a constant column of 1s would be one; it is excluded (glmnet's
    rule) and said so. A column of zeros, or a constant one beside an intercept, carries
    nothing and is dropped silently; the Cox model's loss ignores constants too."""
    import dask.array as da

    import shrinkage.distributed as dist
    from shrinkage.ridge import ridge_path

    def fit(X, y, family="gaussian", **kw):
        if route == "path":
            return regularization_path(X, y, family, n_lams=5, **kw)
        if route == "ridge":
            return ridge_path(X, y, **kw).path
        return dist.regularization_path(da.from_array(X, chunks=(50, X.shape[1])), y, family,
                                        n_lams=5, scheduler="synchronous", **kw)

    X = X0.copy()
    X[:, 4] = 1.0
    with pytest.warns(DataWarning, match="X column 4 constant and nonzero with "
                                         "fit_intercept=False: excluded"):
        path = fit(X, Y0, fit_intercept=False)
    assert np.all(np.asarray(path.coefs)[..., 4] == 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        fit(X, Y0)
        X[:, 4] = 0.0
        fit(X, Y0, fit_intercept=False)
        if route != "ridge":
            X[:, 4] = 1.0
            time = np.random.default_rng(1).exponential(np.exp(-0.3 * X0[:, 0]))
            fit(X, np.c_[time, np.arange(N) % 4 > 0], "cox")


def _estimators():
    from shrinkage.bayes.evidence import EvidenceRidge
    from shrinkage.bayes.lasso import BayesianLasso
    from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
    from shrinkage.survival_estimators import PenalizedCox

    return [(PenalizedRegressor(lam=0.1), "y"), (PenalizedClassifier(lam=0.1), "class"),
            (EvidenceRidge(), "y"), (BayesianLasso(n_draws=50, burn_in=20, n_chains=2), "y"),
            (PenalizedCox(lam=0.1), "surv")]


@pytest.mark.parametrize("k", range(5))
def test_estimators_name_non_numeric_columns(k):
    """cross_validate named a string column; the estimators let pandas say "could not
    convert string to float", about no column in particular."""
    est, kind = _estimators()[k]
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = {"y": rng.normal(size=n), "class": np.arange(n) % 2,
         "surv": np.c_[rng.exponential(size=n), np.arange(n) % 2]}[kind]
    bad = frame.assign(colour=np.where(np.arange(n) % 2, "red", "blue"))
    with pytest.raises(TypeError, match="non-numeric columns: colour"):
        est.fit(bad, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(frame, y)
    with pytest.raises(TypeError, match="non-numeric columns: a;"):
        est.predict(bad.drop(columns="a").rename(columns={"colour": "a"})[["a", "b"]])


@pytest.mark.filterwarnings("ignore:.*MCP objective")  # (binomial MCP: not locally convex)
@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
@pytest.mark.parametrize("kw", [{}, {"l1_ratio": 0.5}, {"feature_groups": [0, 0, 1, 1, 2]},
                                {"penalty": "mcp"}])
def test_a_penalty_factor_that_overflows_with_its_scale_is_named(family, kw):
    # 1e308 on a column of spread ~1e3: the gaussian gap read NaN (inf * 0) at every
    # strength, every strength "unconverged" after max_iter sweeps; others overflowed too
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 5))
    X[:, 2] *= 1e3
    y = X[:, 0] + rng.standard_normal(100)
    y = {"gaussian": y, "binomial": (y > 0).astype(float), "poisson": np.floor(np.abs(y))}
    groups = "feature_groups" in kw
    pf = np.ones(3 if groups else 5)
    pf[1 if groups else 2] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="overflows double precision; so large a factor"):
            regularization_path(X, y[family], family, penalty_factor=pf, **kw)
    pf[1 if groups else 2] = 1e300  # large but representable: fitted, feature kept at 0
    path = regularization_path(X, y[family], family, penalty_factor=pf, **kw)
    assert path.converged.all() and not path.coefs[:, 2].any()
