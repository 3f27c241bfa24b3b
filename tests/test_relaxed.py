"""Relaxed lasso: refits equal unpenalised references; CV reuses the lasso CV exactly."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor

from shrinkage import ConvergenceWarning, cross_validate, load, regularization_path, save, selection
from shrinkage.engine.recession import unpenalised_ray
from shrinkage.tuning.relaxed import blend, cross_validate_relaxed, relax_path, relaxed_exists

rng = np.random.default_rng(1)
N, P = 100, 6
X = rng.normal(size=(N, P))
Y = X[:, :2] @ np.array([1.0, -1.0]) + rng.normal(size=N)
YB = (X[:, 0] - X[:, 1] + rng.normal(size=N) > 0).astype(float)
YP = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)


def test_gaussian_refit_is_least_squares_on_the_support():
    path = regularization_path(X, Y, n_lams=15)
    rc, ri = relax_path(path, X, Y)
    for k in (0, 3, 8, path.n_lams - 1):
        S = np.flatnonzero(path.coefs[k])
        assert np.array_equal(np.flatnonzero(rc[k]), S)
        if S.size:
            ols = LinearRegression().fit(X[:, S], Y)
            assert np.allclose(rc[k][S], ols.coef_, atol=1e-10)
            assert np.isclose(ri[k], ols.intercept_, atol=1e-10)
        else:
            assert np.isclose(ri[k], Y.mean())
    c1, b1 = blend(path, (rc, ri), 1.0)
    assert np.array_equal(c1, path.coefs) and np.array_equal(b1, path.intercepts)
    c5, _ = blend(path, (rc, ri), 0.5)
    assert np.allclose(c5, 0.5 * (path.coefs + rc))


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_glm_refit_is_unpenalised_mle(family):
    y = YB if family == "binomial" else YP
    path = regularization_path(X, y, family=family, n_lams=10, tol=1e-10)
    rc, ri = relax_path(path, X, y)
    k = 5
    S = np.flatnonzero(path.coefs[k])
    assert S.size >= 1
    if family == "binomial":
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X[:, S], y)
        ref_coef, ref_b = ref.coef_[0], ref.intercept_[0]
    else:
        ref = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=10_000).fit(X[:, S], y)
        ref_coef, ref_b = ref.coef_, ref.intercept_
    assert np.allclose(rc[k][S], ref_coef, atol=1e-6)
    assert np.isclose(ri[k], ref_b, atol=1e-6)


def test_relaxed_cv_gamma_one_is_the_lasso_cv():
    r = cross_validate_relaxed(X, Y, gammas=[0.0, 0.5, 1.0], cv=4, random_state=3, n_lams=20,
                               n_jobs=2)
    lasso = cross_validate(X, Y, cv=4, random_state=3, n_lams=20)
    assert np.allclose(r.results[2].fold_scores, lasso.fold_scores, rtol=1e-12)
    assert np.array_equal(r.results[0].fold_ids, lasso.fold_ids)
    mean = np.vstack([x.mean for x in r.results])
    se = np.vstack([x.se for x in r.results])
    lams = np.tile(lasso.lams, (3, 1))
    nnz = np.tile(lasso.nnz, (3, 1))
    assert r.index_chosen == selection.sparsest_within_grid(lams, mean, nnz, se=se, k=1.0)
    assert r.index_min == selection.sparsest_within_grid(lams, mean, nnz)
    assert mean[r.index_min] == np.nanmin(mean)
    # Two true features, strong signal: the relaxed fit keeps the sparse model unshrunk.
    coef, _ = r.coef()
    assert np.count_nonzero(coef) <= nnz[0, r.index_min[1]]
    assert r.lam_chosen >= lasso.lams[r.index_min[1]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(gammas=[0.5, 1.5]), "gammas must be distinct values in"),
        (dict(family="multinomial"), "supports"),
        (dict(rule="max"), "not understood"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cross_validate_relaxed(X, Y, **kwargs)


# ---- refits that do not exist (relaxed.py's module docstring) ----

def _rare_term_design(seed, n=120, p=40, rare=8):
    """Dense-ish numeric columns plus ``rare`` columns that are non-zero in one row each
    (a term found in a single document): each such column separates its row."""
    r = np.random.default_rng(seed)
    Xd = r.normal(size=(n, p - rare))
    R = np.zeros((n, rare))
    R[r.choice(n, rare, replace=False), np.arange(rare)] = r.uniform(0.5, 2.0, rare)
    Xs = np.hstack([Xd, R])
    y = (Xd[:, 0] + r.normal(size=n) > 0).astype(float)
    return sp.csc_matrix(Xs), y


def _row_losses(family, y, eta):
    if family == "binomial":
        return np.logaddexp(0.0, eta) - y * eta
    return np.exp(eta) - y * eta


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_fuzz_a_ray_found_worsens_no_row_and_improves_some(seed, family):
    """Every ray the linear program returns is one: along it no row's loss rises and the
    rows it moves keep falling (checked on the losses themselves, not the LP)."""
    Xs, y = _rare_term_design(seed)
    if family == "poisson":
        y = np.random.default_rng(seed).poisson(0.7, size=y.size).astype(float)
    cols = np.random.default_rng(100 + seed).choice(Xs.shape[1], 12, replace=False)
    XS = Xs[:, cols]
    ray = unpenalised_ray(XS, y, family)
    has_rare = np.any(cols >= Xs.shape[1] - 8)
    if family == "binomial" and has_rare:
        assert ray is not None  # a single-row column separates that row
    if ray is None:
        return
    d = np.zeros(cols.size)
    d[ray.features] = ray.direction / np.sqrt(np.asarray(XS.multiply(XS).mean(axis=0))
                                              .ravel()[ray.features])
    a = np.asarray(XS @ d).ravel() + ray.intercept
    eta0 = np.zeros(y.size)
    losses = np.array([_row_losses(family, y, eta0 + t * a) for t in (0.0, 1.0, 4.0, 16.0)])
    assert np.all(np.diff(losses, axis=0) <= 1e-12 * (1 + np.abs(losses[:-1])))
    assert np.count_nonzero(losses[-1] < losses[0] - 1e-9) >= 1


def test_no_ray_where_the_classes_overlap_on_every_column():
    """Overlapping classes: the unpenalised fit exists and the refit equals sklearn's."""
    assert unpenalised_ray(X[:, :3], YB, "binomial") is None
    assert unpenalised_ray(sp.csc_matrix(X[:, :3]), YB, "binomial") is None


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_relax_path_leaves_out_the_separating_supports_and_only_them(family, weighted):
    """The verdicts, whatever shortcut gave them (nesting, the lasso fit's own
    separation), are those of a linear program per support; rows of weight 0 count for
    neither."""
    Xs, y = _rare_term_design(3)
    if family == "poisson":
        y = np.random.default_rng(3).poisson(np.exp(0.5 * Xs[:, 0].toarray().ravel()))
        y = y.astype(float)
    w = None
    if weighted:
        w = np.random.default_rng(4).uniform(0.5, 2.0, y.size)
        w[np.random.default_rng(5).choice(y.size, 30, replace=False)] = 0.0
    path = regularization_path(Xs, y, family=family, n_lams=30, lam_min_ratio=1e-3,
                               sample_weight=w)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no refit runs to its cap
        rc, ri = relax_path(path, Xs, y, sample_weight=w)
    exists = relaxed_exists((rc, ri))
    assert exists[0]  # the intercept alone
    for k in range(path.n_lams):
        S = np.flatnonzero(path.coefs[k])
        ray = unpenalised_ray(Xs[:, S], y, family, w) if S.size else None
        assert exists[k] == (ray is None), k
        assert np.all(np.isnan(rc[k])) != exists[k]
    if family == "binomial":
        assert not exists.all()  # the deep supports hold rare columns
    c1, b1 = blend(path, (rc, ri), 1.0)
    assert np.array_equal(c1, path.coefs) and np.array_equal(b1, path.intercepts)
    c5, b5 = blend(path, (rc, ri), 0.5)
    assert np.all(np.isnan(b5[~exists])) and np.all(np.isfinite(b5[exists]))


def test_gaussian_support_wider_than_the_rows_has_no_refit():
    """An elastic net keeps more features than rows (a lasso never does: at most
    n - 1 with an intercept); there the least-squares refit is not identified."""
    r = np.random.default_rng(5)
    Xw = r.normal(size=(20, 60))
    yw = Xw[:, :3] @ np.ones(3) + 0.1 * r.normal(size=20)
    kw = dict(l1_ratio=0.1, n_lams=40, lam_min_ratio=1e-4, early_stop=False)
    path = regularization_path(Xw, yw, **kw)
    rc, ri = relax_path(path, Xw, yw)
    exists = relaxed_exists((rc, ri))
    wide = path.nnz + 1 > 20
    assert wide.any() and not wide.all()
    assert np.array_equal(exists, ~wide)
    for k in np.flatnonzero(exists)[1:]:  # the others are least squares on the support
        S = np.flatnonzero(path.coefs[k])
        assert np.allclose(rc[k][S], LinearRegression().fit(Xw[:, S], yw).coef_, atol=1e-8)
    # zero weights leave fewer rows to identify the fit
    w = np.ones(20)
    w[:5] = 0.0
    pw = regularization_path(Xw, yw, sample_weight=w, **kw)
    ew = relaxed_exists(relax_path(pw, Xw, yw, sample_weight=w))
    assert (pw.nnz + 1 > 15).any()
    assert np.array_equal(ew, ~(pw.nnz + 1 > 15))


def test_relaxed_cv_on_rare_terms_never_scores_or_chooses_a_missing_refit(tmp_path):
    Xs, y = _rare_term_design(7, n=200, p=60, rare=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        r = cross_validate_relaxed(Xs, y, family="binomial", cv=5, random_state=0,
                                   n_lams=30, lam_min_ratio=1e-3)
    missing = ~relaxed_exists((r.relaxed_coefs, r.relaxed_intercepts))
    assert missing.any()
    for g, res in zip(r.gammas, r.results):
        if g < 1.0:
            assert np.all(np.isnan(res.mean[missing]))
        else:
            assert not np.any(np.isnan(res.mean))
    for cell in (r.index_min, r.index_chosen):
        g, k = cell
        assert r.gammas[g] == 1.0 or not missing[k]
        coef, b0 = r.coef(cell)
        assert np.all(np.isfinite(coef)) and np.isfinite(b0)
    # the missing refits survive a model file as NaN
    save(r, tmp_path / "relaxed.shrink")
    back = load(tmp_path / "relaxed.shrink")
    assert np.array_equal(back.relaxed_coefs, r.relaxed_coefs, equal_nan=True)
    assert back.index_chosen == r.index_chosen
    # gamma = 1 stays the lasso CV exactly
    lasso = cross_validate(Xs, y, family="binomial", cv=5, random_state=0, n_lams=30,
                           lam_min_ratio=1e-3)
    one = list(r.gammas).index(1.0)
    reached = ~np.isnan(lasso.mean)
    assert np.allclose(r.results[one].mean[reached], lasso.mean[reached], rtol=1e-10)


def test_a_gamma_without_any_refit_is_left_out_with_a_warning():
    """A grid below ``lam_max`` on rare terms: every support of every fold separates, so
    no blend with gamma < 1 is scored anywhere; those gammas are dropped, named in a
    warning, and the lasso row is the lasso CV. Without gamma = 1 nothing is left."""
    Xs, y = _rare_term_design(11, n=40, p=30, rare=24)
    top = regularization_path(Xs, y, family="binomial", n_lams=2).lam_max
    kw = dict(family="binomial", cv=3, random_state=0, lams=top * np.geomspace(0.05, 0.01, 6))
    with pytest.warns(UserWarning, match=r"gamma 0, 0\.5 left out"):
        r = cross_validate_relaxed(Xs, y, gammas=[0.0, 0.5, 1.0], **kw)
    assert list(r.gammas) == [1.0] and len(r.results) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the grid's edge: it is meant to be cut short)
        lasso = cross_validate(Xs, y, **kw)
    assert np.allclose(r.results[0].fold_scores, lasso.fold_scores, rtol=1e-10,
                       equal_nan=True)
    with pytest.raises(RuntimeError, match="add gamma=1"):
        cross_validate_relaxed(Xs, y, gammas=[0.0, 0.5], **kw)
