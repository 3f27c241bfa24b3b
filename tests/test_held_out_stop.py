"""Cross-validation's fold paths end once their held-out loss has risen well past its best
(shrinkage.tuning.held_out_stop); the points the curve keeps are those of folds fitted to
the end of the grid."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import shrinkage
from shrinkage.engine.contract import FitHints
from shrinkage.engine.path import PathOptions, check_design, fit_path
from shrinkage.tuning import fold_paths
from shrinkage.tuning import held_out_stop as hos
from shrinkage.tuning.held_out_stop import PAST, RISE, HeldOutStop, curve_has_risen
from shrinkage.tuning.metrics import score_path


@pytest.fixture(autouse=True)
def _always_watched(monkeypatch):
    """Folds watched whatever a strength costs against a score (timings do not decide
    these tests; test_small_fast_designs_are_not_watched sets the ratio back)."""
    monkeypatch.setattr(hos, "STRENGTH_PER_SCORE", 0.0)


def _overfitting(family, n=240, p=400, seed=0, noise=1.0):
    """A wide design with a few true effects: held-out loss falls, then rises for long
    (``noise``: the gaussian response's noise scale)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = X[:, :4] @ np.array([1.5, -1.2, 1.0, 0.8])
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.4 * eta)).astype(float)
    elif family == "multinomial":
        z = eta + rng.standard_normal(n)
        y = (z > -0.5).astype(int) + (z > 0.8)
    else:
        y = eta + noise * rng.standard_normal(n)
    return X, y


def _scripted(scores, ses, start=0):
    """A HeldOutStop whose held-out score at point k is scores[k] (standard error ses[k])."""
    mon = HeldOutStop("deviance", "gaussian", False, np.zeros(2), np.zeros((2, 1)), None,
                      None, start)
    it = iter(zip(scores, ses))
    mon._scores = lambda coefs, b0s: tuple(np.array(v) for v in zip(*[next(it) for _ in coefs]))
    return mon


def test_a_fold_stops_after_past_points_all_above_its_bar():
    best, se = 1.0, 0.1
    bar = best + RISE * se
    scores = [3.0, 2.0, best] + [bar + 0.01] * (PAST + 5)
    mon = _scripted(scores, [se] * len(scores))
    fired = [mon(k, None, 0.0) for k in range(len(scores))]
    # the best is point 2; it fires at 2 + PAST, the first point with PAST worse ones
    assert fired.index(True) == 2 + PAST
    assert not any(fired[:2 + PAST])


def test_a_point_within_the_bar_restarts_the_count_and_start_holds_it_back():
    best, se = 1.0, 0.1
    bar = best + RISE * se
    scores = [best] + [bar + 0.01] * 5 + [bar - 0.01] + [bar + 0.01] * 20
    mon = _scripted(scores, [se] * len(scores))
    fired = [mon(k, None, 0.0) for k in range(len(scores))]
    assert fired.index(True) == 6 + PAST  # the last PAST points must all clear the bar
    mon = _scripted(scores, [se] * len(scores), start=24)
    fired = [mon(k, None, 0.0) for k in range(len(scores))]
    assert fired.index(True) == 23  # not before 24 points


def test_a_nan_score_is_never_the_best_and_a_later_fall_resets_the_best():
    se = 0.1
    scores = [np.nan, 2.0, 1.0] + [5.0] * 4 + [0.5] + [5.0] * (PAST + 1)
    mon = _scripted(scores, [se] * len(scores))
    fired = [mon(k, None, 0.0) for k in range(len(scores))]
    assert mon.best == 7
    assert fired.index(True) == 7 + PAST


def test_held_out_score_and_its_standard_error_are_the_weighted_row_means():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 6))
    y = (rng.random(50) < 0.4).astype(float)
    w = rng.uniform(0.5, 2.0, 50)
    off = rng.standard_normal(50) * 0.1
    coef, b0 = rng.standard_normal(6) * 0.3, 0.2
    mon = HeldOutStop("deviance", "binomial", False, y, X, w, off)
    mean, se = mon._score(coef, b0)
    eta = X @ coef + b0 + off
    assert mean == pytest.approx(score_path("deviance", "binomial", y, eta[:, None], w)[0],
                                 rel=1e-13)
    loss = 2 * (np.logaddexp(0, eta) - y * eta)
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    var = np.sum(w * (loss - mean) ** 2) / w.sum()
    assert se == pytest.approx(np.sqrt(var / (n_eff - 1)), rel=1e-12)
    # a greater-is-better metric is negated: lower is better inside the monitor
    acc = HeldOutStop("accuracy", "binomial", True, y, X, None, None)._score(coef, b0)[0]
    assert acc == pytest.approx(-np.mean((eta - off > 0) == (y == 1)), abs=1e-15)


def test_points_scored_in_a_batch_score_as_one_by_one_and_fire_at_the_batch_end():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 5))
    w = rng.uniform(0.5, 2.0, 40)
    for family, shape, y in (("binomial", (5,), (rng.random(40) < 0.5).astype(float)),
                             ("multinomial", (5, 3), rng.integers(0, 3, 40).astype(float))):
        off = rng.standard_normal((40,) + shape[1:]) * 0.1
        coefs = [rng.standard_normal(shape) * 0.3 for _ in range(4)]
        b0s = [rng.standard_normal(shape[1:]) * 0.1 for _ in range(4)]
        mon = HeldOutStop("deviance", family, False, y, sp.csr_matrix(X), w, off)
        means, ses = mon._scores(coefs, b0s)
        for c, b0, m, e in zip(coefs, b0s, means, ses):
            assert (m, e) == pytest.approx(mon._score(c, b0), rel=1e-13)
    # the rule fires at point 2 + PAST (test above); a batch of 4 says so at its end
    best, se = 1.0, 0.1
    scores = [3.0, 2.0, best] + [best + RISE * se + 0.01] * (PAST + 8)
    mon = _scripted(scores, [se] * len(scores))
    mon.batch = 4
    fired = [mon(k, None, 0.0) for k in range(len(scores))]
    assert fired.index(True) == 15 and mon.scores[-1] == scores[2 + PAST]
    assert hos.score_batch(1e-3, 1e-4) == 8 and hos.score_batch(1.6e-2, 1e-4) == 1
    assert hos.score_batch(4e-3, 1e-4) == 4 and hos.score_batch(1.0, 0.0) == 1


def test_the_batch_follows_the_strengths_cost_and_the_limit_ends_the_path_unstopped():
    scores = list(np.linspace(3.0, 1.0, 40))  # falling: the rule never fires
    mon = _scripted(scores, [0.1] * 40)
    mon.score_cost = 1e-4
    now = [0.0]
    mon.clock = lambda: now[0]
    sizes = []
    for k in range(40):
        now[0] += 1e-3 if k < 20 else 2e-2  # strengths of 10, then of 200 scores
        sizes.append(mon.batch)
        assert not mon(k, None, 0.0)
    assert sizes[0] == 1 and 8 in sizes[:20] and sizes[-1] == 1  # 160 / 10 -> 8; then 1
    assert mon.scores == scores and not mon.fired
    length = [None]
    mon = _scripted(scores, [0.1] * 40)
    mon.limit = lambda: length[0]
    assert not any(mon(k, None, 0.0) for k in range(10))
    length[0] = 12
    assert not mon(10, None, 0.0) and mon(11, None, 0.0) and not mon.fired


def test_the_points_kept_do_not_depend_on_the_batches(monkeypatch):
    X, y = _overfitting("binomial")
    kw = dict(cv=5, random_state=1, n_lams=50, lam_min_ratio=1e-3, n_jobs=1)
    results = []
    for ratio in (0.0, 1e12):  # one point at a time; eight at a time
        for risen in (curve_has_risen, lambda *a: False):  # (forced refits, as below)
            monkeypatch.setattr(hos, "BATCH_RATIO", ratio)
            monkeypatch.setattr(fold_paths, "curve_has_risen", risen)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results.append(shrinkage.cross_validate(X, y, "binomial", **kw))
    for a, b in zip(results[:2], results[2:]):
        assert a.extra["held_out_stop"] == b.extra["held_out_stop"]
        np.testing.assert_array_equal(a.mean, b.mean)  # the NaN tail too
        np.testing.assert_array_equal(a.extra["n_folds_reached"], b.extra["n_folds_reached"])
    assert results[0].extra["held_out_stop"] is not None


def test_curve_has_risen_needs_the_best_past_points_back_and_the_tail_above_its_bar():
    se = np.full(40, 0.1)
    mean = np.concatenate([np.linspace(3, 1, 11), np.linspace(1.05, 3, 29)])  # best at 10
    assert curve_has_risen(mean[:10 + PAST + 1], se[:10 + PAST + 1], False)
    assert not curve_has_risen(mean[:10 + PAST], se[:10 + PAST], False)  # too close
    flat = mean.copy()
    flat[30:] = 1.0 + RISE * 0.1  # on the bar, not above it
    assert not curve_has_risen(flat[:35], se[:35], False)
    assert curve_has_risen(-mean[:30], se[:30], True)  # greater is better


def test_the_engine_ends_a_path_where_its_monitor_says_with_its_own_coefficients():
    X, y = _overfitting("binomial", n=120, p=60)
    seen = []

    def monitor(k, coef, b0):
        seen.append((coef.copy(), float(b0)))
        return k == 6

    Xc = check_design(X)
    path = fit_path(Xc, y, PathOptions(family="binomial", n_lams=30),
                    FitHints(monitor=monitor))
    assert path.n_lams == 7 and path.stopped_early
    assert "monitor ended the path" in path.stop_reason
    for k, (coef, b0) in enumerate(seen):  # the monitor saw the returned points
        np.testing.assert_allclose(coef, path.coefs[k], rtol=0, atol=1e-12)
        assert b0 == pytest.approx(path.intercepts[k], abs=1e-12)


@pytest.mark.parametrize("solver, sparse, penalty", [
    ("naive", False, "elasticnet"), ("naive", True, "elasticnet"),
    ("covariance", False, "elasticnet"), ("concave_covariance", False, "mcp")])
def test_the_compiled_gaussian_drivers_heed_the_monitor_a_strength_at_a_time(solver, sparse,
                                                                           penalty):
    X, y = _overfitting("gaussian", n=300, p=400 if solver == "naive" else 40)
    if sparse:
        X = sp.csc_matrix(X * (np.random.default_rng(1).random(X.shape) < 0.3))
    Xc = check_design(X)
    opts = PathOptions(family="gaussian", penalty=penalty, n_lams=40, lam_min_ratio=1e-3,
                       early_stop=False)
    whole = fit_path(Xc, y, opts, FitHints(solver=solver))
    seen = []

    def never(k, coef, b0):
        seen.append(k)
        np.testing.assert_array_equal(coef, whole.coefs[k])
        return False

    # driven a strength at a time, the path is the same to the last bit
    asked = fit_path(Xc, y, opts, FitHints(solver=solver, monitor=never))
    assert seen == list(range(39))
    np.testing.assert_array_equal(asked.coefs, whole.coefs)
    np.testing.assert_array_equal(asked.n_iter, whole.n_iter)
    np.testing.assert_array_equal(asked.certificate, whole.certificate)
    never.batch = 3  # driven three strengths a call, asked about each
    seen.clear()
    asked = fit_path(Xc, y, opts, FitHints(solver=solver, monitor=never))
    assert seen == list(range(39))
    np.testing.assert_array_equal(asked.coefs, whole.coefs)
    cut = fit_path(Xc, y, opts, FitHints(solver=solver, monitor=lambda k, c, b0: k == 6))
    assert cut.n_lams == 7 and "monitor ended the path" in cut.stop_reason
    np.testing.assert_array_equal(cut.coefs, whole.coefs[:7])


@pytest.mark.parametrize("family, sparse", [
    ("binomial", False), ("poisson", False), ("multinomial", False), ("gaussian", False),
    ("gaussian", True)])
def test_cv_keeps_the_curve_of_unstopped_folds_and_the_same_choice(family, sparse):
    X, y = _overfitting(family)
    if sparse:
        X = sp.csc_matrix(X)
    kw = dict(cv=5, random_state=0, n_lams=60, lam_min_ratio=1e-3, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (deep strengths of a wide binomial separate)
        full = shrinkage.cross_validate(X, y, family, held_out_stop=False, **kw)
        cut = shrinkage.cross_validate(X, y, family, **kw)
    S = cut.extra["held_out_stop"]
    assert S is not None and S < full.lams.size, "the design overfits: the folds must stop"
    assert full.extra["held_out_stop"] is None
    np.testing.assert_array_equal(cut.lams, full.lams)  # the full-data path is whole
    reached = cut.extra["n_folds_reached"]
    assert np.all(reached[:S] == 5) and reached[S] < 5
    np.testing.assert_allclose(cut.mean[:S], full.mean[:S], rtol=1e-12, atol=0)
    np.testing.assert_allclose(cut.se[:S], full.se[:S], rtol=1e-10, atol=1e-15)
    assert np.all(np.isnan(cut.mean[S:]))
    assert (cut.index_min, cut.index_chosen) == (full.index_min, full.index_chosen)
    assert curve_has_risen(cut.mean[:S], cut.se[:S], False)
    # and the curve the folds skipped never came back near its minimum
    tail = full.mean[S:]
    tail = tail[np.isfinite(tail)]
    assert np.all(tail > full.mean[full.index_min] + full.se[full.index_min])


def test_folds_that_stopped_too_early_are_fitted_on_to_the_whole_grid(monkeypatch):
    X, y = _overfitting("binomial")
    kw = dict(cv=5, random_state=1, n_lams=50, lam_min_ratio=1e-3, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = shrinkage.cross_validate(X, y, "binomial", held_out_stop=False, **kw)
        targets = []
        real = fold_paths.fold_job_scores

        def spy(*args):
            targets.append(args[9])
            return real(*args)

        monkeypatch.setattr(fold_paths, "fold_job_scores", spy)
        monkeypatch.setattr(fold_paths, "curve_has_risen", lambda *a: False)
        cut = shrinkage.cross_validate(X, y, "binomial", **kw)
    assert cut.extra["held_out_stop"] is None  # never convinced: the grid's end
    np.testing.assert_allclose(cut.mean, full.mean, rtol=1e-12, atol=0)
    assert cut.index_chosen == full.index_chosen
    # first every fold from 0, then the stopped ones asked to go further, then to the end
    assert targets[:5] == [0] * 5 and max(targets) == full.lams.size
    assert len(set(targets)) == 3


def test_no_stop_where_the_metric_cannot_heed_it():
    X, y = _overfitting("binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = shrinkage.cross_validate(X, y, "binomial", metric="auc", cv=5, random_state=0,
                                       n_lams=40, n_jobs=1)
    assert auc.extra["held_out_stop"] is None
    assert np.all(auc.extra["n_folds_reached"] == 5)
    assert hos.monitored("binomial", "deviance") and not hos.monitored("cox", "deviance")


def test_watching_is_decided_by_a_strength_against_a_score(monkeypatch):
    monkeypatch.setattr(hos, "STRENGTH_PER_SCORE", 20.0)
    assert hos.worth_watching(2e-3, 1e-4) and not hos.worth_watching(1.9e-3, 1e-4)
    X, y = _overfitting("binomial")
    assert 0.0 < hos.score_seconds("deviance", "binomial", False, y[:24], X[:24], 400) < 0.1
    # a strength never costs an infinite multiple of a score: nothing is watched
    monkeypatch.setattr(hos, "STRENGTH_PER_SCORE", np.inf)
    kw = dict(cv=5, random_state=0, n_lams=60, lam_min_ratio=1e-3, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = shrinkage.cross_validate(X, y, "binomial", **kw)
    assert res.extra["held_out_stop"] is None
    assert np.all(res.extra["n_folds_reached"] == 5)


def test_a_large_design_is_watched_by_its_shape_not_by_a_timing(monkeypatch):
    monkeypatch.setattr(hos, "STRENGTH_PER_SCORE", np.inf)  # no timing would say watch
    X, y = _overfitting("binomial", n=240, p=500)  # 120,000 entries, a feature per 0.5 row
    kw = dict(cv=5, random_state=0, n_lams=60, lam_min_ratio=1e-3, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = shrinkage.cross_validate(X, y, "binomial", **kw)
        assert wide.extra["held_out_stop"] is not None
        monkeypatch.setattr(hos, "STRENGTH_PER_SCORE", 0.0)  # every timing would say watch
        rng = np.random.default_rng(5)
        T = rng.standard_normal((6000, 20))  # 120,000 entries, 300 rows per feature
        yt = T[:, :3] @ np.array([1.0, -0.5, 0.3]) + rng.standard_normal(6000)
        made = []

        class Counted(HeldOutStop):
            def __init__(self, *args):
                made.append(self)
                super().__init__(*args)

        monkeypatch.setattr(fold_paths, "HeldOutStop", Counted)
        tall = shrinkage.cross_validate(T, yt, **kw)
        assert not made  # no fold watched
        shrinkage.cross_validate(X, y, "binomial", **kw)
        assert len(made) == 5
    assert tall.extra["held_out_stop"] is None
    assert hos.may_overfit(240, 500) and not hos.may_overfit(6000, 20)
    assert hos.may_overfit(20 * 20, 20) and not hos.may_overfit(20 * 20 + 1, 20)


def test_held_out_stop_is_checked_by_name():
    X, y = _overfitting("binomial", n=40, p=5)
    with pytest.raises((TypeError, ValueError), match="held_out_stop"):
        shrinkage.cross_validate(X, y, "binomial", held_out_stop="yes")


def test_the_report_says_where_the_curve_ends_and_the_model_file_keeps_it(tmp_path):
    from shrinkage.io import load, save
    from shrinkage.report import build_report

    X, y = _overfitting("binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv, path = shrinkage.cross_validate(X, y, "binomial", cv=5, random_state=0,
                                            n_lams=60, lam_min_ratio=1e-3, n_jobs=1,
                                            return_path=True)
    S = cv.extra["held_out_stop"]
    note = hos.stop_note(cv)
    assert f"the first {S} of 60 strengths" in note and f"{cv.lams[S - 1]:.4g}" in note
    stub = {k: b"\x89PNG\r\n\x1a\nstub" for k in ("path", "cv", "gap")}
    html = build_report(path, cv, images=stub)
    assert f"the first {S} of 60 strengths" in html
    save(cv, tmp_path / "cv.shrk")
    back = load(tmp_path / "cv.shrk")
    assert back.extra["held_out_stop"] == S
    np.testing.assert_array_equal(back.mean, cv.mean)  # NaN tail included
    assert hos.stop_note(back) == note


def test_the_cli_says_where_the_curve_ends(tmp_path):
    from test_cli import write_csv
    from test_cli_encoding import fit, flat

    X, y = _overfitting("binomial", n=200, p=150, seed=2)
    data = write_csv(tmp_path / "d.csv", [f"x{j}" for j in range(X.shape[1])] + ["y"],
                     np.column_stack([X, y]).tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, result = fit(data, tmp_path / "o", "--target", "y", "--family", "binomial",
                            "--lam-min-ratio", 1e-3)
    cv = model.cv
    S = cv.extra["held_out_stop"]
    assert S is not None
    assert f"note: {hos.stop_note(cv)}" in flat(result.output)


def _random_cv_case(seed):
    """A random small CV: family, dense or sparse design, metric, folds, repeats, weights
    and elastic-net mix drawn from ``seed`` (the class the held-out stop must keep exact)."""
    rng = np.random.default_rng(seed)
    family = str(rng.choice(["binomial", "poisson", "multinomial"]))
    n, p = int(rng.integers(80, 300)), int(rng.integers(5, 400))
    X = rng.standard_normal((n, p)) * rng.exponential(1.0, p)
    if rng.random() < 0.4:
        X[rng.random((n, p)) < 0.8] = 0.0
        X = sp.csc_matrix(X)
    k = min(p, int(rng.integers(1, 10)))
    eta = np.asarray(X[:, :k] @ rng.normal(0.0, 1.0, k)).ravel()
    eta = eta / (eta.std() + 1e-12) * rng.uniform(0.3, 3.0)
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        metrics = ["deviance", "misclassification", "mse", "accuracy"]
    elif family == "poisson":
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
        metrics = ["deviance", "mse", "mae"]
    else:
        z = eta + rng.standard_normal(n)
        y = (z > -0.5).astype(int) + (z > 0.7)
        metrics = ["deviance", "misclassification"]
    kw = dict(cv=int(rng.choice([3, 5, 10])), random_state=seed, n_jobs=1,
              metric=str(rng.choice(metrics)), repeats=int(rng.choice([1, 1, 2])))
    if rng.random() < 0.3:
        kw["sample_weight"] = rng.exponential(1.0, n)
    if rng.random() < 0.3:
        kw["l1_ratio"] = 0.5
    return X, y, family, kw


@pytest.mark.parametrize("seed", range(8))
def test_fuzzed_cvs_keep_the_curve_and_the_choices(seed):
    """Random designs, metrics, folds, repeats and weights (160 such seeds were run
    before this was written, 78 of them stopping, none differing)."""
    X, y, family, kw = _random_cv_case(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cut = shrinkage.cross_validate(X, y, family, **kw)
        full = shrinkage.cross_validate(X, y, family, held_out_stop=False, **kw)
    S = cut.extra["held_out_stop"] or cut.lams.size
    np.testing.assert_allclose(cut.mean[:S], full.mean[:S], rtol=1e-9, atol=0)
    assert (cut.index_min, cut.index_chosen) == (full.index_min, full.index_chosen)
    np.testing.assert_array_equal(cut.extra["repeat_index_chosen"],
                                  full.extra["repeat_index_chosen"])
