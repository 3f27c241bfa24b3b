"""cross_validate: equals a hand-written fold loop, glmnet's cvm/cvsd, reproducible, errors."""

import numpy as np
import pytest
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold

import shrinkage
from shrinkage import selection
from shrinkage.engine import shared
from shrinkage.engine.shared import SharedDesign
from shrinkage.tuning.cv import cross_validate, cv_summary
from shrinkage.tuning.folds import make_folds
from shrinkage.tuning.grid_cv import cross_validate_elastic_net
from shrinkage.tuning.metrics import score_path

rng = np.random.default_rng(0)
N, P = 90, 8
X = rng.normal(size=(N, P))
BETA = np.r_[1.5, -1.0, 0.5, np.zeros(P - 3)]
Y = X @ BETA + rng.normal(size=N)
YB = (X[:, 0] - X[:, 1] + rng.normal(size=N) > 0).astype(int)
KW = dict(n_lams=30, tol=1e-8)


def hand_loop(X, y, family, metric, folds, lams, **kw):
    """The fold loop written out: one engine path per fold on the full-data grid."""
    rows, weights = [], []
    for train, test in folds.splits[0]:
        p = shrinkage.regularization_path(X[train], y[train], family=family, lams=lams, **kw)
        rows.append(score_path(metric, family, y[test], p.linear_predictor(X[test])))
        weights.append(test.size)
    s, w = np.array(rows), np.array(weights, float) / sum(weights)
    mean = w @ s
    se = np.sqrt(w @ (s - mean) ** 2 / (len(rows) - 1))
    return s, mean, se


YP = rng.poisson(np.exp(0.4 * X[:, 0])).astype(float)
YM = np.argmax(X[:, :3] + rng.normal(size=(N, 3)), axis=1)


@pytest.mark.parametrize(("family", "y", "metric"), [("gaussian", Y, "mse"),
                                                      ("binomial", YB, "deviance"),
                                                      ("binomial", YB, "auc"),
                                                      ("poisson", YP, "deviance"),
                                                      ("multinomial", YM, "misclassification")])
def test_curve_equals_hand_written_fold_loop(family, y, metric):
    # (every fold to the grid's end: the hand loop scores them all)
    res, path = cross_validate(X, y, family=family, cv=5, metric=metric, random_state=4,
                               n_jobs=2, return_path=True, held_out_stop=False, **KW)
    folds = make_folds(N, 5, y=y, stratify=family in ("binomial", "multinomial"),
                       random_state=4)
    assert np.array_equal(res.fold_ids, folds.fold_ids[0])
    s, mean, se = hand_loop(X, y, family, metric, folds, path.lams, tol=1e-8)
    # Folds are fitted with zero weights on held-out rows, the hand loop on copied rows:
    # the same problem, each solved to tol=1e-8, so they agree to the solver tolerance.
    assert np.allclose(res.fold_scores, s, rtol=1e-6, atol=0)
    assert np.allclose(res.mean, mean, rtol=1e-6) and np.allclose(res.se, se, rtol=1e-5)
    g = metric == "auc"
    assert res.index_min == selection.best(path.lams, mean, greater_is_better=g)
    assert res.index_chosen == selection.strongest_within(path.lams, mean, se,
                                                          greater_is_better=g)
    assert np.array_equal(res.nnz, path.nnz) and np.array_equal(res.lams, path.lams)
    assert res.greater_is_better == g and res.metric == metric


def test_agrees_with_lassocv_on_equal_folds():
    """Unstandardized gaussian lasso: our CV curve is scikit-learn's mse_path_ mean."""
    res = cross_validate(X, Y, cv=KFold(5), rule="min", standardize=False, n_lams=30,
                         tol=1e-11)
    m = LassoCV(alphas=res.lams, cv=KFold(5), tol=1e-12, max_iter=100_000).fit(X, Y)
    assert np.allclose(np.sort(m.alphas_)[::-1], res.lams)
    assert np.allclose(m.mse_path_.mean(axis=1), res.mean, rtol=1e-5)
    assert np.isclose(m.alpha_, res.lam_min)


def test_cv_summary_is_glmnet_cvm_cvsd():
    s = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, np.nan]])
    w = np.array([10.0, 10.0, 20.0])
    mean, se = cv_summary(s, w)
    # cvm = weighted.mean; cvsd = sqrt(weighted.mean((s - cvm)^2) / (N - 1)).
    assert np.isclose(mean[0], (10 + 30 + 40) / 40)
    assert np.isclose(se[0], np.sqrt((10 * 1 + 10 * 1 + 20 * 0) / 40 / 2))
    assert np.isnan(mean[1]) and np.isnan(se[1])  # truncated where any fold is missing


def test_reproducible_whatever_n_jobs_and_backend():
    a = cross_validate(X, YB, family="binomial", cv=4, random_state=9, n_jobs=1, **KW)
    b = cross_validate(X, YB, family="binomial", cv=4, random_state=9, n_jobs=2,
                                 backend="threading", **KW)
    assert np.array_equal(a.fold_ids, b.fold_ids)
    assert np.array_equal(a.fold_scores, b.fold_scores)
    assert (a.index_min, a.index_chosen) == (b.index_min, b.index_chosen)
    c = cross_validate(X, YB, family="binomial", cv=4, random_state=10, **KW)
    assert not np.array_equal(a.fold_ids, c.fold_ids)


def test_repeats_report_the_choice_per_repeat():
    res = cross_validate(X, Y, cv=3, repeats=4, random_state=1, **KW)
    assert res.fold_scores.shape == (12, res.lams.size) and res.fold_ids.shape == (4, N)
    rep_mean = res.extra["repeat_mean"]
    assert np.allclose(res.mean, rep_mean.mean(axis=0))
    assert np.allclose(res.se, res.extra["repeat_se"].mean(axis=0))
    for r in range(4):
        m, s = cv_summary(res.fold_scores[3 * r:3 * r + 3], res.fold_weights[3 * r:3 * r + 3])
        assert np.allclose(rep_mean[r], m)
        i = selection.strongest_within(res.lams, m, s)
        assert res.extra["repeat_index_chosen"][r] == i
        assert res.extra["repeat_lam_chosen"][r] == res.lams[i]


def test_folds_that_stop_early_truncate_the_curve():
    res = cross_validate(X, Y, cv=5, random_state=0, early_stop=True, n_lams=100)
    reached = res.extra["n_folds_reached"]
    assert np.array_equal(reached, np.sum(~np.isnan(res.fold_scores), axis=0))
    full = reached == 5
    assert np.any(~full), "the data must make some fold stop early for this test to bite"
    assert np.all(np.isnan(res.mean[~full])) and np.all(np.isfinite(res.mean[full]))
    assert full[res.index_min] and full[res.index_chosen]


def test_rules_and_group_folds():
    groups = np.repeat(np.arange(15), 6)
    r1 = cross_validate(X, Y, cv=5, groups=groups, rule="2se", random_state=0, **KW)
    for g in range(15):
        assert np.unique(r1.fold_ids[groups == g]).size == 1
    assert r1.index_chosen == selection.strongest_within(r1.lams, r1.mean, r1.se, k=2.0)
    r2 = cross_validate(X, Y, cv=5, groups=groups, rule="5%", random_state=0, **KW)
    assert r2.index_chosen == selection.strongest_within_tolerance(r2.lams, r2.mean, rel=0.05)
    assert r2.lams[r2.index_chosen] >= r2.lam_min


def test_sample_weights_weigh_folds_and_scores():
    w = rng.integers(1, 4, size=N).astype(float)
    ids = np.arange(N) % 3
    res, path = cross_validate(X, Y, cv=ids, sample_weight=w, return_path=True, **KW)
    wn = w / w.sum() * N
    assert np.allclose(res.fold_weights, [wn[ids == f].sum() for f in range(3)])
    test = ids == 0
    p = shrinkage.regularization_path(X[~test], Y[~test], lams=path.lams,
                                      sample_weight=w[~test], tol=1e-8)
    ref = score_path("mse", "gaussian", Y[test], p.linear_predictor(X[test]), w[test])
    assert np.allclose(res.fold_scores[0], ref, rtol=1e-6)


def test_elastic_net_grid_shares_folds_and_prefers_sparse():
    g = cross_validate_elastic_net(X, Y, l1_ratios=[0.3, 1.0], cv=4,
                                                random_state=2, **KW)
    a, b = g.results
    assert np.array_equal(a.fold_ids, b.fold_ids)
    assert a.lams[0] > b.lams[0]  # lam_max scales with 1 / l1_ratio
    one = cross_validate(X, Y, l1_ratio=1.0, cv=4, random_state=2, **KW)
    assert np.allclose(one.fold_scores, b.fold_scores, rtol=1e-12)
    i, j = g.index_chosen
    bi, bj = g.index_min
    assert g.results[i].nnz[j] <= g.results[bi].nnz[bj]
    assert g.lam_chosen == g.results[i].lams[j] and g.chosen is g.results[i]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(cv=N + 1), ValueError, "more than the number of samples"),
        (dict(metric="auc"), ValueError, "does not fit family 'gaussian'"),
        (dict(groups=np.arange(N - 1)), ValueError, "groups must be one-dimensional"),
        (dict(rule="best"), ValueError, "rule 'best' not understood"),
        (dict(rule=[1]), TypeError, "rule must be a string"),
        (dict(rule=-1), ValueError, "rule -1 not understood"),
        (dict(family="gamma"), ValueError, "family must be"),
        (dict(n_jobs=0), ValueError, "n_jobs"),
        (dict(stratify=True), ValueError, "stratify=True needs class labels"),
        (dict(l1_ratio=0.5, family="gaussian", sample_weight=-np.ones(N)), ValueError,
         "negative"),
    ],
)
def test_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        cross_validate(X, Y, **kwargs)


def test_one_class_in_a_stratified_fold_is_an_error():
    y = np.zeros(N, dtype=int)
    y[:2] = 1  # two members: some training folds (5 folds) keep one, with stratify none
    y[0] = 2  # class 2 has a single member: its test fold's training part lacks it
    with pytest.raises(ValueError, match="class '[12]' has 1 sample.*fewer than the 5 folds"):
        cross_validate(X, y, family="multinomial", cv=5, random_state=0)
    yb = np.zeros(N, dtype=int)
    yb[:3] = 1
    with pytest.raises(ValueError, match="validation fold .* holds one class only"):
        cross_validate(X, yb, family="binomial", cv=5, metric="auc", random_state=0)
    with pytest.raises(ValueError, match="one class only"):
        cross_validate(X, np.ones(N), family="binomial")


def test_sparse_and_dataframe_inputs_give_the_dense_result():
    import pandas as pd
    import scipy.sparse as sp

    Xs = X.copy()
    Xs[np.abs(Xs) < 0.7] = 0.0
    dense = cross_validate(Xs, Y, cv=3, random_state=0, standardize=False, **KW)
    sparse = cross_validate(sp.csc_matrix(Xs), Y, cv=3, random_state=0, standardize=False,
                            **KW)
    frame = cross_validate(pd.DataFrame(Xs), pd.Series(Y), cv=3, random_state=0,
                           standardize=False, **KW)
    assert np.allclose(sparse.fold_scores, dense.fold_scores, rtol=1e-6)
    assert np.array_equal(frame.fold_scores, dense.fold_scores)
    assert sparse.index_chosen == dense.index_chosen


def test_sparse_gaussian_folds_on_copied_rows_match_dense_zero_weight_folds():
    """Sparse gaussian folds fit on copies of their rows (dense ones on zero weights):
    with sample weights, an offset and standardization the two give the same curve."""
    import scipy.sparse as sp

    Xs = X.copy()
    Xs[np.abs(Xs) < 0.5] = 0.0
    sw = rng.uniform(0.2, 3.0, size=N)
    off = 0.3 * rng.normal(size=N)
    kw = dict(cv=4, random_state=2, sample_weight=sw, offset=off, n_lams=25, tol=1e-10)
    dense = cross_validate(Xs, Y, **kw)
    sparse = cross_validate(sp.csc_matrix(Xs), Y, **kw)
    assert SharedDesign(sp.csc_matrix(Xs), "gaussian").copies_fold_rows()
    assert not SharedDesign(Xs, "gaussian").copies_fold_rows()
    assert not SharedDesign(sp.csc_matrix(Xs), "cox").copies_fold_rows()
    assert np.allclose(sparse.lams, dense.lams, rtol=1e-12)
    assert np.allclose(sparse.fold_scores, dense.fold_scores, rtol=1e-7)
    assert (sparse.index_min, sparse.index_chosen) == (dense.index_min, dense.index_chosen)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fold_paths_equal_fits_on_their_own_rows_with_tied_columns(family, layout, weighted):
    """A fold's path through the shared design (zero weights or copied rows, the tie
    search's projection from the full data's) equals a plain fit on its training rows,
    on columns tied on some folds' training rows only (twins differing on held-out rows).
    Sample weights with zeros on training rows leave the shared projection unused."""
    import scipy.sparse as sp

    r = np.random.default_rng(3)
    A = np.where(np.abs(X) < 0.3, 0.0, X)
    twins = A[:, :4].copy()
    twins[r.choice(N, 4, replace=False), np.arange(4)] += 1.0
    A = np.hstack([A, twins])
    y = Y if family == "gaussian" else YB.astype(float)
    sw = None
    if weighted:
        sw = r.uniform(0.5, 2.0, N)
        sw[:3] = 0.0
    Xd = sp.csc_matrix(A) if layout == "sparse" else A
    design = SharedDesign(Xd, family)
    folds = make_folds(N, 5, random_state=1)
    opts = shared.fit_path.__globals__["PathOptions"](family=family, tol=1e-11)
    full = design.path(y, opts.replace(n_lams=15, lam_min_ratio=0.05, sample_weight=sw))
    for train, test in folds.splits[0]:
        path, _ = design.fold_path(y, train, test, opts.replace(lams=full.lams), sw)
        own = shrinkage.regularization_path(
            Xd[train], y[train], family=family, lams=full.lams, tol=1e-11,
            sample_weight=None if sw is None else sw[train])
        scale = np.max(np.abs(own.coefs))
        np.testing.assert_allclose(path.coefs, own.coefs, rtol=0, atol=1e-7 * scale)


def test_large_sparse_folds_keep_zero_weights(monkeypatch):
    """Above the copy cap sparse folds use zero weights (no copies): the same curve."""
    import scipy.sparse as sp

    Xs = sp.csc_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    kw = dict(cv=3, random_state=0, n_lams=20, tol=1e-10)
    copied = cross_validate(Xs, Y, **kw)
    monkeypatch.setattr(shared, "FOLD_COPY_MAX_BYTES", 0)
    assert not SharedDesign(Xs, "gaussian").copies_fold_rows()
    weighted = cross_validate(Xs, Y, **kw)
    assert np.allclose(weighted.fold_scores, copied.fold_scores, rtol=1e-7)


@pytest.mark.parametrize("family", ["binomial", "poisson", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_glm_folds_on_copied_rows_match_zero_weight_folds(family, layout, monkeypatch):
    """GLM folds fit copies of their training rows (dense or sparse); above the copy cap
    they weigh the held-out rows zero on the shared X: the same curve and choices, with
    sample weights and an offset split with the folds."""
    import scipy.sparse as sp

    A = np.where(np.abs(X) < 0.4, 0.0, X)
    Xd = sp.csc_matrix(A) if layout == "sparse" else A
    y = {"binomial": YB, "poisson": YP, "multinomial": YM}[family]
    r = np.random.default_rng(11)
    kw = dict(family=family, cv=4, random_state=3, n_lams=20, tol=1e-10,
              sample_weight=r.uniform(0.3, 2.0, N))
    if family != "multinomial":
        kw["offset"] = 0.2 * r.normal(size=N)
    assert SharedDesign(Xd, family).copies_fold_rows()
    copied = cross_validate(Xd, y, **kw)
    monkeypatch.setattr(shared, "FOLD_COPY_MAX_BYTES", 0)
    assert not SharedDesign(Xd, family).copies_fold_rows()
    weighted = cross_validate(Xd, y, **kw)
    np.testing.assert_array_equal(copied.lams, weighted.lams)
    np.testing.assert_allclose(copied.fold_scores, weighted.fold_scores, rtol=1e-6)
    assert (copied.index_min, copied.index_chosen) == (weighted.index_min,
                                                        weighted.index_chosen)


def test_given_grid_runs_in_one_stage_with_the_same_result():
    two_stage = cross_validate(X, Y, cv=4, random_state=1, **KW)
    one_stage = cross_validate(X, Y, cv=4, random_state=1, lams=two_stage.lams, tol=1e-8)
    assert np.array_equal(one_stage.lams, two_stage.lams)
    assert np.allclose(one_stage.fold_scores, two_stage.fold_scores, rtol=1e-12)
    # A given grid past the full-data path's early stop is cut to the fitted part.
    grid = np.geomspace(two_stage.lams[0], two_stage.lams[0] * 1e-6, 120)
    cut = cross_validate(X, Y, cv=4, random_state=1, lams=grid, early_stop=True)
    assert cut.lams.size < grid.size and cut.fold_scores.shape[1] == cut.lams.size


def test_offsets_are_split_with_the_folds():
    exposure = rng.uniform(0.5, 2.0, N)
    off = np.log(exposure)
    y = rng.poisson(exposure * np.exp(0.4 * X[:, 0])).astype(float)
    ids = np.arange(N) % 3
    res, path = cross_validate(X, y, family="poisson", cv=ids, offset=off, return_path=True,
                               **KW)
    test = ids == 1
    p = shrinkage.regularization_path(X[~test], y[~test], family="poisson", lams=path.lams,
                                      offset=off[~test], tol=1e-8)
    eta = p.linear_predictor(X[test], offset=off[test])
    assert np.allclose(res.fold_scores[1], score_path("deviance", "poisson", y[test], eta),
                       rtol=1e-6)


def test_overflowing_fold_scores_mark_the_strength_failed():
    from shrinkage.tuning.cv import cv_summary

    scores = np.array([[1.0, np.inf, 2.0], [1.2, 3.0, 2.1], [0.9, 2.0, 1.9]])
    mean, se = cv_summary(scores, np.ones(3))
    assert np.isnan(mean[1]) and np.isnan(se[1])
    assert np.all(np.isfinite(mean[[0, 2]])) and np.all(np.isfinite(se[[0, 2]]))
    # a finite score, however large, is a measured one: ranked, not failed (its squared
    # deviation, 1e500, once overflowed and marked it failed)
    scores[0, 1] = 1e250
    mean, se = cv_summary(scores, np.ones(3))
    np.testing.assert_allclose([mean[1], se[1]], [1e250 / 3, 1e250 / 3], rtol=1e-12)


def test_default_n_jobs_keeps_small_designs_in_the_calling_thread(monkeypatch):
    import threading

    seen = []
    engine = shared.fit_path

    def spy(*args, **kwargs):
        seen.append(threading.current_thread() is threading.main_thread())
        return engine(*args, **kwargs)

    # The folds' expected work is the full-data path's CPU time: warm the kernels first,
    # as a first call in a fresh process also pays for loading them (and may use threads).
    cross_validate(X, Y, cv=5, random_state=0, **KW)
    monkeypatch.setattr(shared, "fit_path", spy)
    small = cross_validate(X, Y, cv=5, random_state=0, **KW)
    assert len(seen) == 6 and all(seen)
    # explicit n_jobs is obeyed, with identical results
    seen.clear()
    forced = cross_validate(X, Y, cv=5, random_state=0, n_jobs=2, **KW)
    assert len(seen) == 6 and not all(seen)
    np.testing.assert_array_equal(small.fold_scores, forced.fold_scores)
    # a design above the threshold uses worker threads by default
    seen.clear()
    r = np.random.default_rng(5)
    Xb = r.normal(size=(1001, 100))
    cross_validate(Xb, Xb[:, 0] + r.normal(size=1001), cv=4, random_state=0, n_lams=5)
    assert len(seen) == 5 and not all(seen)


def test_default_n_jobs_threads_small_designs_by_their_expected_work(monkeypatch):
    """A small design goes to worker threads when its tasks are expected to take at least
    MIN_THREADED_WORK CPU seconds; cross-validation passes the full-data path's cost."""
    import threading

    from joblib import delayed

    from shrinkage.tuning import parallel

    def where():
        return threading.current_thread() is threading.main_thread()

    jobs = [delayed(where)() for _ in range(4)]
    limit = parallel.MIN_THREADED_WORK
    assert all(parallel.parallel_map(jobs, None, None, size=1000))
    assert all(parallel.parallel_map(jobs, None, None, size=1000, work=0.5 * limit))
    assert not all(parallel.parallel_map(jobs, None, None, size=1000, work=limit))
    # an explicit n_jobs and a large design are decided as before, whatever the work
    assert all(parallel.parallel_map(jobs, 1, None, size=1000, work=10 * limit))
    big = parallel.SMALL_DESIGN + 1
    assert not all(parallel.parallel_map(jobs, None, None, size=big, work=0.0))
    # cross_validate hands its folds' expected work over: with no threshold this small
    # design's folds stay in the calling thread, with a zero one they run in threads,
    # with identical results
    seen = []
    engine = shared.fit_path

    def spy(*args, **kwargs):
        seen.append(where())
        return engine(*args, **kwargs)

    monkeypatch.setattr(shared, "fit_path", spy)
    monkeypatch.setattr(parallel, "MIN_THREADED_WORK", np.inf)
    # (held_out_stop=False: no fold is fitted twice)
    serial = cross_validate(X, YB, family="binomial", cv=5, random_state=0,
                            held_out_stop=False, **KW)
    assert len(seen) == 6 and all(seen)
    seen.clear()
    monkeypatch.setattr(parallel, "MIN_THREADED_WORK", 0.0)
    threaded = cross_validate(X, YB, family="binomial", cv=5, random_state=0,
                              held_out_stop=False, **KW)
    assert len(seen) == 6 and seen[0] and not all(seen[1:])
    np.testing.assert_array_equal(serial.fold_scores, threaded.fold_scores)
    assert serial.index_chosen == threaded.index_chosen
    # with a given grid too: the full path runs first, in this thread, to be timed
    seen.clear()
    given = cross_validate(X, YB, family="binomial", cv=5, random_state=0,
                           lams=serial.lams, tol=KW["tol"], held_out_stop=False)
    assert len(seen) == 6 and seen[0] and not all(seen[1:])
    np.testing.assert_array_equal(given.fold_scores, serial.fold_scores)


def test_overlapping_blas_limits_from_two_threads_restore_the_original(monkeypatch):
    """Two cross-validations in two threads must not leave the process at one BLAS thread.

    threadpoolctl's limits are process-wide (for most BLAS builds) and each context
    restores what it found on entry: overlapping contexts in two threads used to leave the
    second one's saved limit (1) in place. A fake limiter with those global semantics
    checks the interleaving exactly; real concurrent runs check the end state.
    """
    import threading

    from threadpoolctl import threadpool_info

    from shrinkage.engine import blas as blas_module
    from shrinkage.tuning import parallel

    state = {"threads": 2}

    class GlobalLibrary:  # a BLAS whose thread count is process-wide
        def set_num_threads(self, n):
            state["threads"] = n

    def limiter():  # blas_limiter's contract: set one, return what to restore
        before = state["threads"]
        state["threads"] = 1
        return [(GlobalLibrary(), before)] if before != 1 else []

    monkeypatch.setattr(blas_module, "blas_limiter", limiter)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with parallel.one_blas_thread():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with parallel.one_blas_thread():
            b_in.set()
            a_out.wait(5)
            seen["after_first_left"] = state["threads"]

    ts = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert seen["after_first_left"] == 1  # still limited while anyone is inside
    assert state["threads"] == 2  # and restored when the last one leaves
    monkeypatch.undo()

    def blas():
        return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

    before = blas()
    r = np.random.default_rng(1)
    Xb = r.normal(size=(1200, 100))
    yb = Xb[:, 0] + r.normal(size=1200)
    runs = [threading.Thread(target=cross_validate, args=(Xb, yb),
                             kwargs=dict(cv=4, n_lams=5, n_jobs=2, random_state=s))
            for s in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join(60)
    assert blas() == before


def test_ridge_cv_is_not_stuck_at_the_intercept():
    """Ridge on ordinary data (diabetes): the default grid spans the useful degrees of
    freedom, the 1se choice keeps real coefficients and the best CV error is far below the
    variance of y (it used to pick lam_max: CV error equal to the variance)."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV

    Xd, yd = load_diabetes(return_X_y=True)
    res, path = cross_validate(Xd, yd, l1_ratio=0.0, random_state=0, return_path=True)
    assert res.index_min not in (0, len(res.lams) - 1)
    assert res.mean[res.index_min] < 0.6 * yd.var()
    assert np.abs(path.coefs[res.index_chosen]).max() > 100
    # as good as scikit-learn's RidgeCV (exact leave-one-out over a wide alpha grid)
    ref = RidgeCV(alphas=np.logspace(-6, 6, 200)).fit(Xd, yd)
    assert res.mean[res.index_min] < 1.05 * -ref.best_score_


def test_grid_extends_at_the_edge_and_warns_on_a_given_grid():
    from shrinkage.tuning.extension import GridEdgeWarning

    r = np.random.default_rng(4)
    Xe = r.standard_normal((200, 30))
    ye = Xe[:, :20] @ r.uniform(0.5, 1.0, 20) + 0.3 * r.standard_normal(200)
    # a short grid stopping far above the best lam: extended until the minimum is inside
    res = cross_validate(Xe, ye, cv=5, random_state=0, n_lams=10, lam_min_ratio=0.3)
    assert res.extra["grid_extensions"][0] == "weaker"
    assert 0 < res.index_min < len(res.lams) - 1 and len(res.lams) > 10
    # a grid the user gave is kept, with a warning when the minimum is at its edge
    with pytest.warns(GridEdgeWarning, match="weaker end of the grid you gave"):
        given = cross_validate(Xe, ye, cv=5, random_state=0,
                               lams=np.logspace(0, -0.5, 8))
    assert given.extra["grid_extensions"] == [] and len(given.lams) == 8


@pytest.mark.parametrize("n_lams", [3, 5])  # 3 = K: the shapes broadcast by accident
def test_multinomial_offset_in_predictions_and_folds(n_lams):
    """A multinomial offset is (n, K); the whole path's linear predictor is (n, L, K).
    The offset was laid along the strengths (n, K, 1): a crash for L != K, and for L == K
    fold scores computed with each class's offset added to the wrong strength."""
    rng = np.random.default_rng(4)
    n, p, K = 90, 4, 3
    X = rng.standard_normal((n, p))
    y = np.argmax(X[:, :K] + rng.gumbel(size=(n, K)), axis=1)
    off = rng.normal(size=(n, K))
    path = shrinkage.regularization_path(X, y, "multinomial", offset=off, n_lams=n_lams)
    eta = path.linear_predictor(X, offset=off)
    assert eta.shape == (n, path.n_lams, K)
    for k in range(path.n_lams):
        np.testing.assert_allclose(eta[:, k], path.linear_predictor(X, index=k) + off)
    folds = np.arange(n) % 3
    res = cross_validate(X, y, "multinomial", offset=off, cv=folds, lams=path.lams,
                         metric="deviance", n_jobs=1, tol=1e-10)
    train, test = folds != 0, folds == 0
    ref = shrinkage.regularization_path(X[train], y[train], "multinomial", offset=off[train],
                              lams=path.lams, tol=1e-10)
    e = ref.linear_predictor(X[test], offset=off[test])
    logp = e - np.log(np.exp(e).sum(axis=2, keepdims=True))
    mine = -2.0 * np.mean(logp[np.arange(test.sum()), :, y[test]], axis=0)
    np.testing.assert_allclose(res.fold_scores[0], mine, rtol=1e-6)


def test_elastic_net_choice_does_not_depend_on_the_order_of_l1_ratios():
    """On pure noise every l1_ratio's strongest cell is the null model, with equal means:
    the last tie-break (the later row, meant as the larger l1_ratio) chose 1.0 for
    (0.5, 1.0) and 0.5 for (1.0, 0.5)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = rng.standard_normal(60)
    got = [cross_validate_elastic_net(X, y, l1_ratios=r, cv=np.arange(60) % 4,
                                      lams=[100.0, 10.0, 1.0, 0.1], n_jobs=1)
           for r in ((0.5, 1.0), (1.0, 0.5))]
    assert got[0].l1_ratio_chosen == got[1].l1_ratio_chosen == 1.0
    np.testing.assert_array_equal(got[1].l1_ratios, [0.5, 1.0])


def test_missing_fold_labels_are_refused():
    """A NaN fold label made the NaN rows a fold of their own, silently."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    labels = (np.arange(30) % 3).astype(float)
    labels[[4, 9]] = np.nan
    with pytest.raises(ValueError, match=r"2 missing label\(s\) .* first at row 4"):
        cross_validate(X, y, cv=labels)
    obj = np.array(["a", "b", "c"] * 10, dtype=object)
    obj[7] = None
    with pytest.raises(ValueError, match="first at row 7"):
        cross_validate(X, y, cv=obj)
    # strings and integers are plain labels
    assert cross_validate(X, y, cv=np.array(["a", "b", "c"] * 10), n_jobs=1).fold_ids.max() == 2


@pytest.mark.parametrize("scale", [1e-150, 1e-60, 1e60, 1e100, 1e150])
def test_cv_is_equivariant_in_the_scale_of_y(scale):
    """A gaussian y of any representable size gives the same choice, and a curve in y's
    squared units: the standard error of scores near 1e200 once overflowed in its squared
    deviations, so every strength read failed ("no strength was reached by every fold")."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = X[:, 0] + rng.normal(size=60)
    ref = cross_validate(X, y, random_state=0)
    res = cross_validate(X, y * scale, random_state=0)
    assert res.index_chosen == ref.index_chosen and res.index_min == ref.index_min
    np.testing.assert_allclose(res.mean / scale**2, ref.mean, rtol=1e-7)
    np.testing.assert_allclose(res.se / scale**2, ref.se, rtol=1e-7)


def test_cv_refuses_a_y_whose_squared_errors_overflow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + rng.normal(size=60)) * 1e160
    with pytest.raises(ValueError, match=r"y spans about .* squared errors \(mse\) overflow"):
        cross_validate(X, y, random_state=0)
    cross_validate(X, y, metric="mae", random_state=0)  # absolute errors stay finite


def test_cv_summary_scaling_is_exact():
    """Scores are summarised in units of a power of two: ordinary scores give the very
    same bits as the plain formulas."""
    rng = np.random.default_rng(1)
    s = rng.uniform(0.5, 3.0, (10, 7))
    w = rng.uniform(1, 2, 10)
    mean, se = cv_summary(s, w)
    wn = w / w.sum()
    plain = wn @ s
    assert np.array_equal(mean, plain)
    assert np.array_equal(se, np.sqrt((wn @ (s - plain) ** 2) / 9))



def test_binomial_proportions_cross_validate_as_the_path_fits_them():
    # the path fits proportions with the trials as weights; cross-validation refused them
    # as "11 classes, use family='multinomial'". Each fold's held-out deviance (the
    # saturated model's loss taken off, zero for 0/1 labels) recomputed by hand.
    from scipy.special import xlogy

    from shrinkage import regularization_path

    rng = np.random.default_rng(17)
    X = rng.standard_normal((60, 5))
    m = rng.integers(1, 6, 60).astype(float)
    y = rng.binomial(m.astype(int), 1 / (1 + np.exp(-X[:, 0]))) / m
    ids = np.arange(60) % 4
    res = cross_validate(X, y, family="binomial", sample_weight=m, cv=ids, rule="min")
    assert res.index_min > 0
    for f in range(4):
        tr, te = ids != f, ids == f
        path = regularization_path(X[tr], y[tr], "binomial", sample_weight=m[tr],
                                   lams=res.lams)
        eta = X[te] @ path.coefs.T + path.intercepts
        yt = y[te][:, None]
        dev = 2 * (np.logaddexp(0, eta) - yt * eta + xlogy(yt, yt) + xlogy(1 - yt, 1 - yt))
        np.testing.assert_allclose(res.fold_scores[f], m[te] @ dev / m[te].sum(),
                                   rtol=1e-9, atol=1e-12)
    for metric in ("auc", "accuracy"):
        with pytest.raises(ValueError, match="needs 0/1 labels; y holds proportions"):
            cross_validate(X, y, family="binomial", sample_weight=m, metric=metric)
    with pytest.raises(ValueError, match="stratify=True needs class labels"):
        cross_validate(X, y, family="binomial", sample_weight=m, stratify=True)
    with pytest.raises(ValueError, match="use family='multinomial'"):
        cross_validate(X, rng.integers(0, 3, 60), family="binomial", cv=5)
