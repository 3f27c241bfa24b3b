"""Bad input and numerical edge cases across the public entry points.

Each test backs one or more rows of docs/reliability.md. Cases already covered elsewhere
(mostly regularization_path's errors in tests/test_path.py) are referenced there, not
repeated here.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import kkt_residual
from shrinkage import cross_validate, regularization_path
from shrinkage.bayes.laplace import glm_evidence
from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor
from shrinkage.tuning.ridge import ridge_path
from shrinkage.validation import check_design

N, P = 60, 6


def _data(seed=0, n=N, p=P):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    y = X[:, 0] - 0.5 * X[:, 1] + rng.standard_normal(n)
    yb = (X[:, 0] + 0.7 * rng.standard_normal(n) > 0).astype(float)
    return X, y, yb


def _same_path(a, b, atol=1e-8):
    np.testing.assert_allclose(a.lams, b.lams, rtol=1e-10)
    np.testing.assert_allclose(a.coefs, b.coefs, atol=atol)
    np.testing.assert_allclose(a.intercepts, b.intercepts, atol=atol)


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize("make, match", [
    (lambda X: X.astype(object), "X has dtype object"),
    (lambda X: X.astype(complex), "X is complex"),
    (lambda X: X.astype("datetime64[s]"), "dates or times"),
])
def test_non_real_X_is_refused_by_the_path_and_cv(make, match):
    X, y, _ = _data()
    Xb = make(X)
    with pytest.raises(TypeError, match=match):
        regularization_path(Xb, y)
    with pytest.raises(TypeError, match=match):
        cross_validate(Xb, y, cv=3)


def test_bool_and_int_X_fit_as_float():
    X, y, _ = _data()
    Xb = X > 0
    Xi = np.round(X * 10).astype(np.int32)
    _same_path(regularization_path(Xb, y, n_lams=8), regularization_path(Xb.astype(float), y,
                                                                          n_lams=8))
    _same_path(regularization_path(Xi, y, n_lams=8), regularization_path(Xi.astype(float), y,
                                                                          n_lams=8))
    Si = sp.csc_matrix(Xi)
    _same_path(regularization_path(Si, y, n_lams=8), regularization_path(Xi.astype(float), y,
                                                                          n_lams=8), atol=1e-7)


@pytest.mark.parametrize("y_make, err, match", [
    (lambda y: y.astype(complex), TypeError, "y is complex"),
    (lambda y: y.astype(str), TypeError, "y must be numeric"),
    (lambda y: y.astype(object), TypeError, "y must be numeric"),
    (lambda y: np.r_[np.inf, y[1:]], ValueError, "y contains 1 inf"),
    (lambda y: np.c_[y, y], ValueError, "y must be 1-D"),
])
def test_bad_y_for_gaussian(y_make, err, match):
    X, y, _ = _data()
    with pytest.raises(err, match=match):
        regularization_path(X, y_make(y))


@pytest.mark.parametrize("kwargs,err,match", [
    ({"tol": -1.0}, ValueError, "tol must be > 0"),
    ({"tol": 0.0}, ValueError, "tol must be > 0"),
    ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"n_lams": 0}, ValueError, "n_lams must be >= 1"),
])
def test_glm_evidence_checks_its_options(kwargs, err, match):
    """glm_evidence ran with tol <= 0, and with max_iter=0 returned a lam_best from
    unfitted (zero) coefficients after 32 warnings."""
    X, _, yb = _data()
    with pytest.raises(err, match=match):
        glm_evidence(X, yb, **kwargs)


def test_glm_evidence_names_empty_and_sparse_designs():
    X, _, yb = _data()
    with pytest.raises(ValueError, match="X has no columns"):
        glm_evidence(np.empty((X.shape[0], 0)), yb)
    with pytest.raises(TypeError, match="glm_evidence needs a dense X"):
        glm_evidence(sp.csr_matrix(X), yb)


def test_ridge_and_glm_evidence_refuse_complex_and_strings():
    X, y, yb = _data()
    with pytest.raises(TypeError, match="X is complex"):
        ridge_path(X.astype(complex), y)
    with pytest.raises(TypeError, match="y must be a numeric array; it holds strings"):
        ridge_path(X, y.astype(str))
    with pytest.raises(TypeError, match="X is complex"):
        glm_evidence(X.astype(complex), yb, "binomial")
    with pytest.raises(TypeError, match="y must be a numeric array; it holds strings"):
        glm_evidence(X, yb.astype(str), "binomial")
    obj = np.empty(N, dtype=object)
    obj[:] = [complex(v, 1) for v in y]
    with pytest.raises(TypeError, match="complex values or strings"):
        ridge_path(X, obj)


def test_estimators_refuse_complex_and_nan():
    X, y, yb = _data()
    with pytest.raises(ValueError, match="Complex data not supported"):
        PenalizedRegressor(lam=0.1).fit(X.astype(complex), y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        PenalizedClassifier(lam=0.1).fit(Xn, yb)


# ------------------------------------------------------------------ weights and offsets


@pytest.mark.parametrize("weights, match", [
    (np.r_[np.nan, np.ones(N - 1)], "sample_weight contains 1 NaN"),
    (np.r_[np.inf, np.ones(N - 1)], "sample_weight contains 1 inf"),
    (-np.ones(N), "sample_weight has negative entries"),
    (np.zeros(N), "sample_weight sums to zero"),
    (np.ones(N - 1), "sample_weight has length"),
])
def test_bad_weights_everywhere(weights, match):
    X, y, yb = _data()
    with pytest.raises(ValueError, match=match):
        regularization_path(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=match):
        cross_validate(X, y, cv=3, sample_weight=weights)
    with pytest.raises(ValueError, match=match):
        PenalizedRegressor(lam=0.1).fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match=match):
        PenalizedClassifier(lam=0.1).fit(X, yb, sample_weight=weights)


def test_ridge_and_evidence_weight_errors():
    X, y, yb = _data()
    with pytest.raises(ValueError, match="sample_weight contains NaN or inf"):
        ridge_path(X, y, sample_weight=np.r_[np.nan, np.ones(N - 1)])
    with pytest.raises(ValueError, match="sample_weight must be strictly positive"):
        ridge_path(X, y, sample_weight=-np.ones(N))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        glm_evidence(X, yb, "binomial", sample_weight=-np.ones(N))
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        glm_evidence(X, yb, "binomial", sample_weight=np.zeros(N))


@pytest.mark.parametrize("offset, match", [
    (np.r_[np.nan, np.zeros(N - 1)], "offset contains 1 NaN"),
    (np.r_[-np.inf, np.zeros(N - 1)], "offset contains 1 inf"),
])
def test_nonfinite_offset(offset, match):
    X, y, _ = _data()
    with pytest.raises(ValueError, match=match):
        regularization_path(X, y, offset=offset)
    with pytest.raises(ValueError, match=match):
        cross_validate(X, y, cv=3, offset=offset)


def test_multinomial_offset_shape():
    X, _, _ = _data()
    y = np.arange(N) % 3
    with pytest.raises(ValueError, match=r"offset must have shape \(60, 3\)"):
        regularization_path(X, y, family="multinomial", offset=np.zeros(N))


# ------------------------------------------------------------------ sizes


def test_single_row_gives_the_null_model():
    # every column is constant with one row: the exact answer is b = 0, b0 = y
    X, y, _ = _data()
    path = regularization_path(X[:1], y[:1], n_lams=5)
    assert np.all(path.coefs == 0)
    np.testing.assert_allclose(path.intercepts, y[0])
    assert path.converged.all()


def test_too_few_rows_for_folds_and_ridge():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="folds is more than the number of samples"):
        cross_validate(X[:3], y[:3])
    with pytest.raises(ValueError, match="at least 2 rows"):
        ridge_path(X[:1], y[:1])
    with pytest.raises(ValueError, match="X must be 2-d with at least 2 rows"):
        glm_evidence(X[:1], np.ones(1), "poisson")
    with pytest.raises(ValueError, match="folds is more than the number of samples"):
        PenalizedRegressor().fit(X[:1], y[:1])


def test_no_features_everywhere():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="no columns"):
        cross_validate(X[:, :0], y, cv=3)
    with pytest.raises(ValueError, match="at least 2 rows and 1 column"):
        ridge_path(X[:, :0], y)
    with pytest.raises(ValueError, match="0 feature"):
        PenalizedRegressor().fit(X[:, :0], y)
    with pytest.raises(ValueError, match="no rows"):
        regularization_path(sp.csc_matrix((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="no columns"):
        regularization_path(sp.csc_matrix((5, 0)), np.zeros(5))


# ------------------------------------------------------------------ arguments


def test_estimator_argument_errors():
    X, y, yb = _data()
    with pytest.raises(ValueError, match="lam must be 'auto' or a finite number >= 0"):
        PenalizedRegressor(lam=-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"l1_ratio must be a number in \[0, 1\]"):
        PenalizedClassifier(lam=0.1, l1_ratio=1.5).fit(X, yb)
    with pytest.raises(ValueError, match="penalty_factor must be a scalar or have length 6"):
        PenalizedClassifier(lam=0.1, penalty_factor=np.ones(3)).fit(X, yb)
    with pytest.raises(ValueError, match="lams must be strictly decreasing"):
        cross_validate(X, y, cv=3, lams=[0.1, 0.2])
    with pytest.raises(ValueError, match="l1_ratio must be <= 1"):
        cross_validate(X, y, cv=3, l1_ratio=2.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"penalty_factor": np.r_[np.nan, np.ones(P - 1)]}, "penalty_factor contains NaN"),
    ({"lower": np.zeros(3)}, "lower must be a scalar or have length 6"),
    ({"lower": np.nan}, "lower contains NaN"),
    ({"lams": [1.0, 1.0]}, "without repeats"),
    ({"lams": []}, "non-empty"),
])
def test_more_path_argument_errors(kwargs, match):
    X, y, _ = _data()
    with pytest.raises(ValueError, match=match):
        regularization_path(X, y, **kwargs)


def test_ridge_accepts_lams_in_any_order():
    # ridge_path's exact path is order-free: it sorts a user grid (strongest first)
    X, y, _ = _data()
    a = ridge_path(X, y, lams=[0.01, 1.0, 0.1])
    b = ridge_path(X, y, lams=[1.0, 0.1, 0.01])
    np.testing.assert_allclose(a.path.lams, [1.0, 0.1, 0.01])
    np.testing.assert_allclose(a.path.coefs, b.path.coefs)


# ------------------------------------------------------------------ targets


def test_target_support_errors_in_cv_and_estimators():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="one class only"):
        cross_validate(X, np.zeros(N), family="binomial", cv=3)
    with pytest.raises(ValueError, match="poisson counts must be >= 0"):
        cross_validate(X, -np.ones(N), family="poisson", cv=3)
    with pytest.raises(ValueError, match="one class only"):
        PenalizedClassifier(lam=0.1).fit(X, np.zeros(N))
    with pytest.raises(ValueError, match="needs non-negative counts"):
        PenalizedRegressor(family="poisson", lam=0.1).fit(X, -np.ones(N))
    with pytest.raises(ValueError, match="is all zero"):
        regularization_path(X, np.zeros(N), family="poisson")
    # one positive count: some fold trains without it, named as that fold's problem
    one = np.zeros(N)
    one[3] = 2.0
    with pytest.raises(ValueError, match=r"training part of fold \d \(repeat 0\) has no "
                                         r"positive count of y \(1 row"):
        cross_validate(X, one, family="poisson", cv=3)
    w = np.ones(N)
    one[7] = 1.0
    w[7] = 0.0  # a positive count with no weight does not count
    with pytest.raises(ValueError, match="has no positive count of y"):
        cross_validate(X, one, family="poisson", cv=3, sample_weight=w)
    with pytest.raises(ValueError, match="binomial y must lie in"):
        glm_evidence(X, np.r_[0.0, 1.5, np.ones(N - 2)], "binomial")


def test_classifier_with_one_weighted_class():
    X, _, yb = _data()
    w = (yb == 1).astype(float)
    with pytest.raises(ValueError, match="only one class has positive sample_weight"):
        PenalizedClassifier(lam=0.1).fit(X, yb, sample_weight=w)


# ------------------------------------------------------------------ numerical edge cases


def test_duplicated_columns_share_the_coefficient():
    # Lasso: any split of b between two copies is optimal; the sum equals the fit with
    # one copy. Elastic net (strictly convex): the split is exactly equal.
    X, y, _ = _data()
    Xd = np.asfortranarray(np.c_[X, X[:, 0]])
    for l1_ratio in (1.0, 0.5):
        ref = regularization_path(X, y, l1_ratio=l1_ratio, n_lams=10, tol=1e-12)
        dup = regularization_path(Xd, y, l1_ratio=l1_ratio, lams=ref.lams, tol=1e-12)
        assert dup.converged.all()
        total = dup.coefs[:, 0] + dup.coefs[:, -1]
        if l1_ratio == 1.0:
            np.testing.assert_allclose(total, ref.coefs[:, 0], atol=1e-6)
            np.testing.assert_allclose(dup.coefs[:, 1:-1], ref.coefs[:, 1:], atol=1e-6)
        else:
            # the objective is only weakly curved along (d, -d) at small lam
            # (lam * (1 - l1_ratio) * d^2): a gap of 1e-12 allows a split difference ~1e-4
            np.testing.assert_allclose(dup.coefs[:, 0], dup.coefs[:, -1], rtol=1e-3,
                                       atol=1e-8)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_collinear_features_converge_to_an_optimum(family):
    X, y, yb = _data()
    Xc = np.asfortranarray(np.c_[X, 2 * X[:, 0] - 3 * X[:, 1]])
    target = y if family == "gaussian" else yb
    path = regularization_path(Xc, target, family=family, n_lams=15, tol=1e-10)
    assert path.converged.all() and np.isfinite(path.coefs).all()
    for k in range(path.n_lams):
        kkt = kkt_residual(family, Xc, target, path.intercepts[k], path.coefs[k],
                           path.lams[k], 1.0)
        assert kkt < 1e-5


def test_separable_binomial_stops_before_divergence_and_says_why():
    X, _, _ = _data()
    ys = (X[:, 0] > 0).astype(float)
    path = regularization_path(X, ys, family="binomial")
    assert path.stopped_early
    assert "deviance explained" in path.stop_reason
    assert path.dev_ratio[-1] > 0.99
    assert np.isfinite(path.coefs).all() and path.converged.all()
    # a user grid down to lam = 1e-8 (no early stop): still finite and certified
    deep = regularization_path(X, ys, family="binomial", lams=np.logspace(-1, -8, 8))
    assert np.isfinite(deep.coefs).all() and deep.converged.all()
    assert np.all(np.diff(np.abs(deep.coefs[:, 0])) >= 0)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_features_scaled_1e8_and_1e_minus_8_together(family):
    X, y, yb = _data()
    s = np.r_[1e-8, 1e8, np.ones(P - 2)]
    target = y if family == "gaussian" else yb
    ref = regularization_path(X, target, family=family, n_lams=10, tol=1e-10,
                              early_stop=False)
    scaled = regularization_path(np.asfortranarray(X * s), target, family=family, n_lams=10,
                                 tol=1e-10, early_stop=False)
    assert scaled.converged.all()
    np.testing.assert_allclose(scaled.lams, ref.lams, rtol=1e-7)
    np.testing.assert_allclose(scaled.coefs * s, ref.coefs,
                               atol=1e-6 * max(1.0, np.abs(ref.coefs).max()))


def test_zero_response_gives_the_zero_model():
    X, _, _ = _data()
    path = regularization_path(X, np.zeros(N), n_lams=5)
    assert np.all(path.coefs == 0) and np.all(path.intercepts == 0)
    assert path.null_deviance == 0 and np.all(path.dev_ratio == 0)


def test_huge_poisson_means_are_scale_equivariant():
    # y -> c*y with lam -> c*lam leaves b unchanged and shifts b0 by log(c) exactly
    rng = np.random.default_rng(3)
    X = np.asfortranarray(rng.standard_normal((80, 4)))
    y = rng.poisson(np.exp(1.0 + 0.4 * X[:, 0])).astype(float)
    c = 1e7  # means around e^1 * 1e7
    ref = regularization_path(X, y, family="poisson", n_lams=8, tol=1e-11, early_stop=False)
    big = regularization_path(X, c * y, family="poisson", lams=c * ref.lams, tol=1e-11)
    assert big.converged.all()
    np.testing.assert_allclose(big.coefs, ref.coefs, atol=1e-6)
    np.testing.assert_allclose(big.intercepts, ref.intercepts + np.log(c), atol=1e-6)


def test_read_only_memmap_and_strided_X(tmp_path):
    X, y, _ = _data()
    ref = regularization_path(X, y, n_lams=8)
    ro = X.copy(order="F")
    ro.flags.writeable = False
    _same_path(regularization_path(ro, y, n_lams=8), ref)
    assert check_design(ro) is ro  # used in place, not copied
    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    _same_path(regularization_path(mm, y, n_lams=8), ref)
    big = np.zeros((2 * N, 2 * P), order="F")
    big[::2, ::2] = X
    strided = big[::2, ::2]
    assert not strided.flags.f_contiguous
    _same_path(regularization_path(strided, y, n_lams=8), ref, atol=1e-10)


def test_fortran_memmap_is_not_copied(tmp_path):
    X, _, _ = _data()
    mm = np.lib.format.open_memmap(tmp_path / "F.npy", mode="w+", dtype=np.float64,
                                   shape=X.shape, fortran_order=True)
    mm[:] = X
    assert np.shares_memory(check_design(mm), mm)


def test_sparse_explicit_zeros_and_unsorted_indices_equal_dense():
    X, y, yb = _data()
    X[np.abs(X) < 0.8] = 0.0
    X = np.asfortranarray(X)
    S = sp.csc_matrix(X)
    # explicit zeros: store entries that are exactly 0
    S0 = S.copy()
    S0.data[::4] = 0.0
    X0 = S0.toarray()
    # unsorted indices: reverse each column's entries
    Su = S.copy()
    for j in range(P):
        a, b = Su.indptr[j], Su.indptr[j + 1]
        Su.indices[a:b] = Su.indices[a:b][::-1].copy()
        Su.data[a:b] = Su.data[a:b][::-1].copy()
    Su.has_sorted_indices = False
    # a small dense working set's binomial Newton steps run on its Gram matrix, a sparse
    # one's on the columns: the two routes agree to the solver's accuracy, so solve tightly
    for family, target, tol in (("gaussian", y, 1e-5), ("binomial", yb, 1e-10)):
        kw = dict(family=family, n_lams=8, tol=tol)
        _same_path(regularization_path(S0, target, **kw),
                   regularization_path(np.asfortranarray(X0), target, **kw), atol=1e-7)
        _same_path(regularization_path(Su, target, **kw),
                   regularization_path(X, target, **kw), atol=1e-7)
    assert not Su.has_sorted_indices  # the caller's matrix is not modified


def test_sparse_nonfinite_values_are_refused():
    X, y, _ = _data()
    S = sp.csc_matrix(X)
    S.data[3] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        regularization_path(S, y)
    with pytest.raises(TypeError, match="dense"):
        ridge_path(S, y)


def test_cv_fold_with_all_zero_weight_is_named():
    X, y, _ = _data()
    folds = np.arange(N) % 3
    w = np.where(folds == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="sample_weight is zero on every held-out row of fold 1"):
        cross_validate(X, y, cv=folds, sample_weight=w)


def test_cv_offset_shape_is_checked_by_name():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="offset has length 3, expected 60"):
        cross_validate(X, y, cv=3, offset=np.zeros(3))


def test_three_dimensional_X():
    X, y, _ = _data()
    with pytest.raises(ValueError, match="X must be 2-D, got an array with 3 dimensions"):
        regularization_path(X[:, :, None], y)
    with pytest.raises(ValueError, match="X must be 2-D"):
        cross_validate(X[:, :, None], y, cv=3)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_zero_weight_rows_equal_dropped_rows(family):
    X, y, yb = _data()
    target = y if family == "gaussian" else yb
    w = np.ones(N)
    w[::4] = 0.0
    keep = w > 0
    a = regularization_path(X, target, family=family, sample_weight=w, n_lams=8, tol=1e-11,
                            early_stop=False)
    b = regularization_path(np.asfortranarray(X[keep]), target[keep], family=family,
                            n_lams=8, tol=1e-11, early_stop=False)
    _same_path(a, b, atol=1e-7)


def test_finiteness_check_survives_an_overflowing_sum():
    """The fast check sums X; a finite X whose sum overflows takes the exact path."""
    from shrinkage.validation import _all_finite, check_design

    big = np.full((4, 2), 1e308, order="F")
    assert _all_finite(big)
    assert check_design(big) is big
    for bad in (np.nan, np.inf, -np.inf):
        X = big.copy(order="F")
        X[2, 1] = bad
        assert not _all_finite(X)
        with pytest.raises(ValueError, match="X"):
            check_design(X)
    cancel = np.array([[np.inf, 1.0], [-np.inf, 1.0]], order="F")  # sum is NaN, not 0
    assert not _all_finite(cancel)


def test_arguments_are_named_when_malformed(tmp_path):
    """Each of these once failed with a message that named no argument ("could not
    convert string to float", numpy's MemoryError for 37 GiB, numpy's zero-size reduction,
    isinstance's TypeError)."""
    import shrinkage

    X, y, _ = _data()
    with pytest.raises(TypeError, match="lams must be a numeric array"):
        regularization_path(X, y, lams=["a", "b"])
    with pytest.raises(TypeError, match="penalty_factor must be a numeric array"):
        regularization_path(X, y, penalty_factor="a")
    with pytest.raises(ValueError, match="n_lams must be <= 100000"):
        regularization_path(X, y, n_lams=10**9)
    Y0 = np.empty((X.shape[0], 0))
    with pytest.raises(ValueError, match="y has 0 columns"):
        regularization_path(X, Y0, family="mgaussian")
    with pytest.raises(ValueError, match="y has 0 columns"):
        ridge_path(X, Y0)
    target = shrinkage.save(regularization_path(X, y, n_lams=3), tmp_path / "p.npz")
    with pytest.raises(TypeError, match="expected must be a class"):
        shrinkage.load(target, expected="Path")
    assert shrinkage.load(target, expected=shrinkage.results.Path).n_lams == 3


def test_wrong_family_and_shape_messages_name_the_problem():
    """PenalizedRegressor(family='cox' or 'mgaussian') said "y should be a 1d array";
    a (n,) offset for mgaussian spoke of a multinomial model; compare_fits with a 2-D x
    said 'x and y must have the same length, got 300 and 60'."""
    import shrinkage

    X, y, _ = _data()
    n = X.shape[0]
    ycox = np.c_[np.linspace(0.1, 3.0, n), np.arange(n) % 2]
    with pytest.raises(ValueError, match="got 'cox'; survival data: PenalizedCox"):
        PenalizedRegressor(family="cox").fit(X, ycox)
    with pytest.raises(ValueError, match="got 'mgaussian'; several responses"):
        PenalizedRegressor(family="mgaussian").fit(X, np.c_[y, 2 * y])
    with pytest.raises(ValueError, match=r"one column per class or response"):
        regularization_path(X, np.c_[y, 2 * y], family="mgaussian", offset=np.zeros(n))
    with pytest.raises(ValueError, match=r"x must be 1-D .* got shape"):
        shrinkage.compare_fits(X, y)
