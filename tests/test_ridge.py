"""Exact ridge path: closed forms, brute-force leave-one-out, GCV/df formulas, choice."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from shrinkage import regularization_path
from shrinkage.results import CVResult, Path
from shrinkage.tuning.ridge import ridge_path
from shrinkage.tuning.selection import best, parse_rule, strongest_within


def _data(n, p, q=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, p) + rng.normal(size=p) * 3
    B = rng.normal(size=(p,) if q is None else (p, q))
    y = X @ B + rng.normal(size=(n,) if q is None else (n, q))
    w = rng.uniform(0.3, 2.0, n)
    return X, y, w


def _wsd(X, w):
    xbar = np.average(X, axis=0, weights=w)
    return np.sqrt(np.average((X - xbar) ** 2, axis=0, weights=w))


def _closed_form(X, y, w, lam, pf, standardize, fit_intercept):
    """Weighted ridge by the normal equations with an unpenalised intercept column."""
    n, p = X.shape
    s = _wsd(X, w) if standardize else np.ones(p)
    A = np.column_stack([np.ones(n), X]) if fit_intercept else X
    P = np.diag(np.r_[[0.0] if fit_intercept else [], pf * s**2])
    W = w.sum()
    theta = np.linalg.solve(A.T @ (w[:, None] * A) + W * lam * P, A.T @ (w * y))
    return (theta[0], theta[1:]) if fit_intercept else (0.0, theta)


@pytest.mark.parametrize("n,p", [(40, 6), (12, 30)])
# (True, False): the scale is the centred sd without an intercept too (it was the
# uncentred root mean square, which regularization_path does not use)
@pytest.mark.parametrize("standardize,fit_intercept",
                         [(True, True), (False, False), (True, False)])
def test_path_matches_normal_equations(n, p, standardize, fit_intercept):
    X, y, w = _data(n, p)
    pf = np.random.default_rng(1).uniform(0.5, 2.0, p)
    res = ridge_path(X, y, sample_weight=w, penalty_factor=pf, n_lams=7,
                     standardize=standardize, fit_intercept=fit_intercept)
    assert isinstance(res.path, Path) and isinstance(res.cv, CVResult)
    assert np.all(np.diff(res.path.lams) < 0)
    for i, lam in enumerate(res.path.lams):
        b0, b = _closed_form(X, y, w, lam, pf, standardize, fit_intercept)
        np.testing.assert_allclose(res.path.coefs[i], b, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(res.path.intercepts[i], b0, rtol=1e-8, atol=1e-9)
    assert np.all(res.path.certificate < 1e-10)
    assert np.all(res.path.converged)


def test_matches_sklearn_ridge_unit_weights():
    X, y, _ = _data(50, 8)
    res = ridge_path(X, y, lams=[0.5, 0.05], standardize=False)
    for i, lam in enumerate(res.path.lams):
        m = Ridge(alpha=lam * X.shape[0], tol=1e-12, solver="cholesky").fit(X, y)
        np.testing.assert_allclose(res.path.coefs[i], m.coef_, rtol=1e-9)
        np.testing.assert_allclose(res.path.intercepts[i], m.intercept_, rtol=1e-9)


@pytest.mark.parametrize("n,p", [(25, 4), (10, 15)])
def test_exact_loo_equals_brute_force(n, p):
    X, y, w = _data(n, p, seed=3)
    res = ridge_path(X, y, sample_weight=w, n_lams=4)
    s = _wsd(X, w)  # full-data scales stay fixed in leave-one-out (documented)
    W = w.sum()
    for li, lam in enumerate(res.path.lams):
        errs = np.empty(n)
        for i in range(n):
            keep = np.arange(n) != i
            # the penalty keeps its full-data weight lam * W on the unnormalised sum
            m = Ridge(alpha=lam * W, solver="cholesky").fit(X[keep] / s, y[keep],
                                                            sample_weight=w[keep])
            errs[i] = y[i] - m.predict(X[i : i + 1] / s)[0]
        np.testing.assert_allclose(res.cv.fold_scores[:, li], errs**2, rtol=1e-7)
        np.testing.assert_allclose(res.loo_mse[li], np.average(errs**2, weights=w), rtol=1e-8)


def test_gcv_and_df_formulas():
    X, y, w = _data(30, 5, seed=4)
    res = ridge_path(X, y, sample_weight=w, n_lams=5)
    n, p = X.shape
    s = _wsd(X, w)
    A = np.column_stack([np.ones(n), X])
    Wd = np.diag(w)
    for i, lam in enumerate(res.path.lams):
        P = np.diag(np.r_[0.0, s**2]) * lam * w.sum()
        H = A @ np.linalg.solve(A.T @ Wd @ A + P, A.T @ Wd)
        df = np.trace(H)
        e = y - H @ y
        np.testing.assert_allclose(res.df[i], df, rtol=1e-9)
        gcv = np.average(e**2, weights=w) / (1 - df / n) ** 2
        np.testing.assert_allclose(res.gcv[i], gcv, rtol=1e-9)
    assert np.all(np.diff(res.df) > 0)  # weaker penalty, more degrees of freedom
    assert res.df[0] > 1 and res.df[-1] <= 1 + p


def test_multiple_targets_and_per_target_choice():
    X, Y, w = _data(40, 6, q=3, seed=5)
    Y[:, 2] = np.random.default_rng(9).normal(size=40)  # pure noise target: wants big lam
    lams = np.logspace(2, -3, 30)
    res = ridge_path(X, Y, sample_weight=w, lams=lams, per_target=True)
    assert res.path.coefs.shape == (30, 6, 3) and res.path.intercepts.shape == (30, 3)
    for t in range(3):
        single = ridge_path(X, Y[:, t], sample_weight=w, lams=lams)
        np.testing.assert_allclose(res.path.coefs[:, :, t], single.path.coefs, rtol=1e-9)
        np.testing.assert_allclose(res.cv_per_target[t].mean, single.cv.mean, rtol=1e-9)
        assert res.cv_per_target[t].index_chosen == single.cv.index_chosen
    lam = res.lam_chosen
    assert lam.shape == (3,) and lam[2] > lam[0]
    coef, inter = res.chosen()
    assert coef.shape == (6, 3) and inter.shape == (3,)
    # linear_predictor of the shared Path understands the target axis
    eta = res.path.linear_predictor(X, index=3)
    np.testing.assert_allclose(eta, X @ res.path.coefs[3] + res.path.intercepts[3])
    joint = ridge_path(X, Y, sample_weight=w, lams=lams)
    np.testing.assert_allclose(joint.cv.mean, np.mean(joint.loo_mse, axis=1), rtol=1e-12)
    assert np.ndim(joint.lam_chosen) == 0


def test_choice_uses_selection_rules_and_se():
    X, y, w = _data(35, 5, seed=6)
    res = ridge_path(X, y, sample_weight=w, n_lams=25, k=1.0)
    cv = res.cv
    wn = w / w.sum()
    sq = cv.fold_scores
    se = np.sqrt(wn @ (sq - cv.mean) ** 2 / (len(y) - 1))
    np.testing.assert_allclose(cv.se, se)
    assert cv.index_min == best(cv.lams, cv.mean)
    assert cv.index_chosen == strongest_within(cv.lams, cv.mean, cv.se, k=1.0)
    assert cv.lams[cv.index_chosen] >= cv.lams[cv.index_min]
    res0 = ridge_path(X, y, sample_weight=w, n_lams=25, k=0)
    assert res0.cv.index_chosen == res0.cv.index_min and res0.cv.rule == "min"


def test_constant_feature_and_default_grid():
    X, y, _ = _data(20, 3, seed=7)
    X[:, 1] = 4.0
    res = ridge_path(X, y, n_lams=10)
    assert np.all(res.path.coefs[:, 1] == 0)
    assert np.all(res.path.nnz == 2)
    # without an intercept too, as regularization_path (and glmnet) exclude it
    plain = ridge_path(X, y, n_lams=10, fit_intercept=False)
    assert np.all(plain.path.coefs[:, 1] == 0)
    ref = regularization_path(X, y, l1_ratio=0.0, fit_intercept=False,
                              lams=plain.path.lams, tol=1e-12)
    np.testing.assert_allclose(plain.path.coefs, ref.coefs, atol=1e-7)
    assert res.path.lams.size == 10
    # the default grid runs from 0.5 to min(n, rank) - 1 effective degrees of freedom
    # (the intercept's one not counted: rank 2 here, the constant column has none)
    np.testing.assert_allclose(res.df[[0, -1]] - 1.0, [0.5, 1.0], rtol=1e-6)


@pytest.mark.parametrize("scale", [1e-100, 1e-20, 1e-8, 1e20, 1e100])
def test_column_scale_changes_only_the_units(scale, recwarn):
    """Ridge is scale-equivariant with standardize=True: a column of tiny or huge scale is
    fitted, not taken for constant (an absolute threshold zeroed columns below 1e-13 and
    above 1e154, and chose the strongest lam); one whose squares leave double precision
    is refused by name, as regularization_path refuses it."""
    X, y, w = _data(30, 4, seed=3)
    ref = ridge_path(X, y, sample_weight=w, n_lams=8)
    Xs = X.copy()
    Xs[:, 1] *= scale
    res = ridge_path(Xs, y, sample_weight=w, lams=ref.path.lams)
    back = res.path.coefs.copy()
    back[:, 1] *= scale
    np.testing.assert_allclose(back, ref.path.coefs, rtol=1e-9, atol=1e-12)
    assert res.cv.lam_chosen == ref.cv.lam_chosen
    assert not [m for m in recwarn if "constant" in str(m.message)]


@pytest.mark.parametrize("scale,what", [(1e-300, "underflow"), (1e300, "overflow")])
def test_column_beyond_double_precision_is_refused(scale, what):
    X, y, _ = _data(30, 4, seed=3)
    X[:, 2] *= scale
    with pytest.raises(ValueError, match=f"X column 2 .* {what} double precision"):
        ridge_path(X, y)


def test_default_ridge_grid_spans_the_useful_degrees_of_freedom():
    """From nearly the intercept alone to nearly least squares, for the exact ridge path
    and for the engine's ridge (l1_ratio=0): the same ends, from the singular values."""
    from shrinkage import regularization_path

    for n, p in [(60, 8), (15, 40)]:
        X, y, _ = _data(n, p, seed=3)
        res = ridge_path(X, y)
        top = min(n - 1, p) - 1  # the centred design has rank min(n - 1, p)
        np.testing.assert_allclose(res.df[[0, -1]] - 1.0, [0.5, top], rtol=1e-6)
        engine = regularization_path(X, y, l1_ratio=0.0)
        np.testing.assert_allclose(engine.lams[[0, -1]], res.path.lams[[0, -1]], rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"sample_weight": np.r_[0.0, np.ones(19)]}, "sample_weight must be strictly"),
        ({"sample_weight": np.ones(3)}, "sample_weight must have shape"),
        ({"penalty_factor": np.zeros(3)}, "penalty_factor must be > 0"),
        ({"lams": [1.0, -1.0]}, "lams must be"),
        ({"lams": [1.0, 1.0]}, "distinct"),
        ({"n_lams": 0}, "n_lams"),
        ({"lam_min_ratio": 2.0}, "lam_min_ratio"),
        ({"k": -1}, "k must be"),
    ],
)
def test_bad_input(kwargs, match):
    X, y, _ = _data(20, 3)
    with pytest.raises(ValueError, match=match):
        ridge_path(X, y, **kwargs)


def test_bad_arrays():
    X, y, _ = _data(20, 3)
    with pytest.raises(ValueError, match="y must have shape"):
        ridge_path(X, y[:5])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        ridge_path(Xn, y)
    with pytest.raises(TypeError, match="X must be a numeric"):
        ridge_path([["a", "b"], ["c", "d"]], [1, 2])
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="dense"):
        ridge_path(sp.csc_matrix(X), y)


def test_null_deviance_and_rule_match_the_rest_of_the_library():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5))
    y = X[:, 0] + rng.standard_normal(40)
    w = rng.uniform(0.2, 3.0, 40)
    for weights in (None, w):
        res = ridge_path(X, y, sample_weight=weights)
        ref = regularization_path(X, y, l1_ratio=0.0, lams=res.path.lams,
                                            sample_weight=weights)
        assert res.path.null_deviance == pytest.approx(ref.null_deviance, rel=1e-12)
    # the rule is applied with k as given, not rounded to 6 digits
    k = 3.332912788603274
    res = ridge_path(X, y, k=k)
    assert parse_rule(res.cv.rule).value == k
    want = strongest_within(res.cv.lams, res.cv.mean, res.cv.se, k=k)
    assert res.cv.index_chosen == want
