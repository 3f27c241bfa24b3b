"""Survival mathematics against independent references: scikit-survival's concordance
indices, lifelines' Kaplan-Meier and Cox baselines, statsmodels' PHReg baseline, and
brute-force formulas; plus invariances and the documented errors."""

import io
import json
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from shrinkage.survival import (  # noqa: E402
    BaselineHazard,
    breslow_baseline,
    concordance_index,
    kaplan_meier,
    uno_concordance,
)

sksurv_metrics = pytest.importorskip("sksurv.metrics")
lifelines = pytest.importorskip("lifelines")
from sksurv.nonparametric import kaplan_meier_estimator  # noqa: E402
from sksurv.util import Surv  # noqa: E402


def _tied_data(seed, n=150):
    """Times and risks with many ties, about 40% censored."""
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 25, n).astype(float)
    event = rng.random(n) < 0.6
    risk = rng.integers(0, 8, n).astype(float)
    risk[::7] += 1e-10  # tied within sksurv's tolerance, not exactly equal
    return time, event, risk


@pytest.mark.parametrize("seed", range(6))
def test_harrell_matches_sksurv(seed):
    time, event, risk = _tied_data(seed)
    ref = sksurv_metrics.concordance_index_censored(event, time, risk)[0]
    assert concordance_index(time, event, risk) == pytest.approx(ref, abs=1e-12)
    # 0/1 numbers for event, and a path of columns scored at once
    rng = np.random.default_rng(seed + 100)
    cols = np.column_stack([risk, rng.normal(size=time.size), -risk])
    got = concordance_index(time, event.astype(int), cols)
    refs = [sksurv_metrics.concordance_index_censored(event, time, c)[0] for c in cols.T]
    np.testing.assert_allclose(got, refs, atol=1e-12)
    assert got.shape == (3,)


def test_harrell_integer_weights_repeat_rows():
    time, event, risk = _tied_data(11, n=80)
    w = np.random.default_rng(3).integers(0, 4, time.size)
    rep = np.repeat(np.arange(time.size), w)
    ref = sksurv_metrics.concordance_index_censored(event[rep], time[rep], risk[rep])[0]
    assert concordance_index(time, event, risk, sample_weight=w) == pytest.approx(ref, abs=1e-12)
    # scale-free in the weights
    assert concordance_index(time, event, risk, sample_weight=2.5 * w) == pytest.approx(
        ref, abs=1e-12)


def test_harrell_strata_pool_the_pairs_of_each_stratum():
    time, event, risk = _tied_data(5, n=240)
    strata = np.random.default_rng(5).integers(0, 3, time.size) * 7  # codes 0, 7, 14
    num = den = 0.0
    for s in np.unique(strata):
        rows = strata == s
        _, conc, disc, tied, _ = sksurv_metrics.concordance_index_censored(
            event[rows], time[rows], risk[rows])
        num += conc + 0.5 * tied
        den += conc + disc + tied
    assert concordance_index(time, event, risk, strata=strata) == pytest.approx(num / den)


def test_harrell_without_comparable_pairs_is_nan():
    time = np.array([1.0, 2.0, 3.0])
    assert np.isnan(concordance_index(time, [0, 0, 0], [1.0, 2.0, 3.0]))
    c = concordance_index([2.0, 2.0], [1, 1], np.ones((2, 2)))
    assert c.shape == (2,) and np.all(np.isnan(c))


def test_harrell_is_fast_on_a_long_column():
    rng = np.random.default_rng(0)
    n = 20000
    time, event = rng.exponential(size=n), rng.random(n) < 0.7
    risk = -time + rng.normal(size=n)
    c = concordance_index(time, event, risk)
    assert 0.6 < c < 1.0  # risk is informative; O(n^2) reference would take minutes


@pytest.mark.parametrize("tau", [None, 18.0])
@pytest.mark.parametrize("seed", range(4))
def test_uno_matches_sksurv(seed, tau):
    time, event, risk = _tied_data(seed)
    rng = np.random.default_rng(seed + 50)
    t_train = rng.integers(1, 30, 300).astype(float)
    t_train[0] = 30.0  # the training data reach beyond every test time
    e_train = rng.random(300) < 0.5
    e_train[0] = False
    cols = np.column_stack([risk, rng.normal(size=time.size)])
    refs = [sksurv_metrics.concordance_index_ipcw(
        Surv.from_arrays(e_train, t_train), Surv.from_arrays(event, time), c, tau=tau)[0]
        for c in cols.T]
    got = uno_concordance(t_train, e_train, time, event, cols, tau=tau)
    np.testing.assert_allclose(got, refs, rtol=1e-12)
    assert uno_concordance(t_train, e_train, time, event, risk, tau=tau) == pytest.approx(
        refs[0], rel=1e-12)


def test_uno_refuses_events_beyond_the_training_times():
    time, event, risk = _tied_data(2)
    t_train = np.linspace(1.0, 10.0, 50)
    e_train = np.arange(50) % 2 == 0
    with pytest.raises(ValueError, match="tau"):
        uno_concordance(t_train, e_train, time, event, risk)
    with pytest.raises(ValueError):
        sksurv_metrics.concordance_index_ipcw(Surv.from_arrays(e_train, t_train),
                                              Surv.from_arrays(event, time), risk)
    # truncated before the last training time it is defined
    assert np.isfinite(uno_concordance(t_train, e_train, time, event, risk, tau=9.0))


def _km_ref(time, event, weights=None, entry=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.KaplanMeierFitter().fit(time, event, weights=weights, entry=entry)


def test_kaplan_meier_matches_lifelines_and_sksurv():
    time, event, _ = _tied_data(8, n=300)
    w = np.random.default_rng(8).uniform(0.2, 3.0, time.size)
    t, s, at_risk, d = kaplan_meier(time, event, sample_weight=w)
    kmf = _km_ref(time, event, weights=w)
    np.testing.assert_allclose(s, kmf.survival_function_at_times(t).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(at_risk, kmf.event_table.loc[t, "at_risk"], rtol=1e-12)
    np.testing.assert_allclose(d, kmf.event_table.loc[t, "observed"], rtol=1e-12)
    t0, s0, _, _ = kaplan_meier(time, event)
    ref_t, ref_s = kaplan_meier_estimator(event, time)
    np.testing.assert_allclose(s0, ref_s[np.searchsorted(ref_t, t0)], rtol=1e-12)


def _counting_data(seed, n=300):
    """(start, stop] data with tied stop times and no entry time equal to an exit time."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    start = np.round(rng.uniform(0, 2, n), 2) + 0.001
    stop = np.round(start + 0.1 + rng.exponential(3 * np.exp(-x @ [0.5, -0.3])), 1)
    return x, start, stop, rng.random(n) < 0.7


def test_kaplan_meier_with_entry_times_matches_lifelines():
    _, start, stop, event = _counting_data(1)
    t, s, at_risk, _ = kaplan_meier(stop, event, start=start)
    kmf = _km_ref(stop, event, entry=start)
    np.testing.assert_allclose(s, kmf.survival_function_at_times(t).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(at_risk, kmf.event_table.loc[t, "at_risk"], rtol=1e-12)


@pytest.fixture(scope="module")
def rossi():
    from lifelines.datasets import load_rossi

    return load_rossi()


def _cox(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.CoxPHFitter().fit(df, "week", "arrest", **kw)


def _lifelines_scale(bh, X, beta, times, stratum=None):
    """Our baseline (at eta = 0) moved to lifelines' (at the mean covariate)."""
    return bh.cumulative_hazard_at(times, stratum) * np.exp(X.mean(axis=0) @ beta)


def test_breslow_matches_lifelines_cox_on_rossi(rossi):
    cph = _cox(rossi)
    X = rossi.drop(columns=["week", "arrest"]).to_numpy(float)
    beta = cph.params_.to_numpy()
    bh = breslow_baseline(rossi.week, rossi.arrest, X @ beta)
    ref = cph.baseline_cumulative_hazard_
    np.testing.assert_allclose(_lifelines_scale(bh, X, beta, ref.index.to_numpy()),
                               ref.iloc[:, 0], rtol=1e-10)
    # and the survival curves lifelines predicts
    times = np.array([5.0, 20.0, 52.0])
    pred = cph.predict_survival_function(rossi.iloc[:5], times=times).to_numpy().T
    np.testing.assert_allclose(bh.survival_at(times, X[:5] @ beta), pred, rtol=1e-10)


def test_breslow_weighted_and_stratified_match_lifelines(rossi):
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(rossi))
    X = rossi.drop(columns=["week", "arrest"]).to_numpy(float)
    cph = _cox(rossi.assign(w=w), weights_col="w", robust=True)
    beta = cph.params_.to_numpy()
    bh = breslow_baseline(rossi.week, rossi.arrest, X @ beta, sample_weight=w)
    ref = cph.baseline_cumulative_hazard_
    np.testing.assert_allclose(_lifelines_scale(bh, X, beta, ref.index.to_numpy()),
                               ref.iloc[:, 0], rtol=1e-10)
    cph = _cox(rossi, strata=["wexp"])
    Xs = rossi.drop(columns=["week", "arrest", "wexp"]).to_numpy(float)
    beta = cph.params_.to_numpy()
    bh = breslow_baseline(rossi.week, rossi.arrest, Xs @ beta, strata=rossi.wexp)
    assert bh.strata_levels == [0, 1] and bh.n_strata == 2
    ref = cph.baseline_cumulative_hazard_
    for level in (0, 1):
        np.testing.assert_allclose(
            _lifelines_scale(bh, Xs, beta, ref.index.to_numpy(), level), ref[level],
            rtol=1e-10, atol=1e-15)


def test_counting_process_baseline_matches_lifelines_and_statsmodels():
    from statsmodels.duration.hazard_regression import PHReg

    x, start, stop, event = _counting_data(2)
    df = pd.DataFrame(dict(id=np.arange(stop.size), start=start, stop=stop,
                           event=event.astype(int), x0=x[:, 0], x1=x[:, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctv = lifelines.CoxTimeVaryingFitter().fit(df, id_col="id", event_col="event",
                                                   start_col="start", stop_col="stop")
    beta = ctv.params_.to_numpy()
    bh = breslow_baseline(stop, event, x @ beta, start=start)
    ref = ctv.baseline_cumulative_hazard_
    np.testing.assert_allclose(_lifelines_scale(bh, x, beta, ref.index.to_numpy()),
                               ref.iloc[:, 0], rtol=1e-10)
    fit = PHReg(stop, x, status=event.astype(int), entry=start).fit()
    sm_times, sm_hazard, _ = fit.baseline_cumulative_hazard[0]
    bh = breslow_baseline(stop, event, x @ fit.params, start=start)
    np.testing.assert_array_equal(bh.times, sm_times)
    # statsmodels reports the left limit H0(t-) at each failure time
    left = np.r_[0.0, bh.cumulative_hazard[:-1]]
    np.testing.assert_allclose(left, sm_hazard, rtol=1e-10, atol=1e-15)


def _efron_brute(time, event, eta, w):
    out = []
    for t in np.unique(time[event]):
        dead = event & (time == t) & (w > 0)
        risk = np.sum(w[time >= t] * np.exp(eta[time >= t]))
        tied = np.sum(w[dead] * np.exp(eta[dead]))
        d = dead.sum()
        out.append(sum(w[dead].mean() / (risk - k / d * tied) for k in range(d)))
    return np.cumsum(out)


def test_efron_baseline_formula_and_relation_to_breslow():
    time, event, _ = _tied_data(4, n=120)
    rng = np.random.default_rng(4)
    eta, w = rng.normal(size=time.size), rng.uniform(0.5, 2.0, time.size)
    efron = breslow_baseline(time, event, eta, sample_weight=w, ties="efron")
    breslow = breslow_baseline(time, event, eta, sample_weight=w)
    np.testing.assert_allclose(efron.cumulative_hazard, _efron_brute(time, event, eta, w),
                               rtol=1e-12)
    d_efron = np.diff(efron.cumulative_hazard, prepend=0.0)
    d_breslow = np.diff(breslow.cumulative_hazard, prepend=0.0)
    n_tied = np.array([np.sum(event & (time == t)) for t in efron.times])
    assert np.all(d_efron[n_tied > 1] > d_breslow[n_tied > 1])  # Efron's smaller risk sets
    np.testing.assert_allclose(d_efron[n_tied == 1], d_breslow[n_tied == 1], rtol=1e-13)
    distinct = np.arange(1.0, time.size + 1)  # no tied event times: the same estimate
    np.testing.assert_allclose(breslow_baseline(distinct, event, eta, ties="efron")
                               .cumulative_hazard,
                               breslow_baseline(distinct, event, eta).cumulative_hazard,
                               rtol=1e-13)


def test_baseline_is_a_right_continuous_step_function_and_round_trips():
    time, event, _ = _tied_data(9, n=200)
    rng = np.random.default_rng(9)
    eta = rng.normal(size=time.size)
    strata = rng.integers(0, 2, time.size) + 3
    bh = breslow_baseline(time, event, eta, strata=strata)
    for s, level in enumerate(bh.strata_levels):
        t = bh.times[bh.offsets[s]:bh.offsets[s + 1]]
        h = bh.cumulative_hazard[bh.offsets[s]:bh.offsets[s + 1]]
        assert np.all(np.diff(t) > 0) and np.all(np.diff(h) >= 0)
        np.testing.assert_array_equal(bh.cumulative_hazard_at(t, level), h)
        np.testing.assert_array_equal(bh.cumulative_hazard_at(t - 1e-9, level)[1:], h[:-1])
        assert bh.cumulative_hazard_at([t[0] - 0.5, t[-1] + 100.0], level).tolist() == [
            0.0, h[-1]]
    grid = np.linspace(0, 30, 7)
    surv = bh.survival_at(grid, eta[:4], strata[:4])
    expect = np.exp(-bh.cumulative_hazard_at(grid, strata[:4]) * np.exp(eta[:4])[:, None])
    np.testing.assert_allclose(surv, expect)
    assert surv.shape == (4, 7) and np.all(np.diff(surv, axis=1) <= 0)
    arrays = bh.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, **{k: v for k, v in arrays.items() if isinstance(v, np.ndarray)})
    buf.seek(0)
    loaded = dict(np.load(buf, allow_pickle=False))
    loaded["strata_levels"] = json.loads(json.dumps(arrays["strata_levels"]))
    back = BaselineHazard.from_arrays(loaded)
    np.testing.assert_array_equal(back.survival_at(grid, eta[:4], strata[:4]), surv)
    assert back.strata_levels == [3, 4] and back.ties == "breslow"


@pytest.mark.parametrize("kwargs, match", [
    (dict(time=[1.0, np.nan, 2.0]), "time contains 1 NaN"),
    (dict(time=[1.0, -2.0, 2.0]), "negative"),
    (dict(event=[1, 2, 0]), "event must hold 0/1"),
    (dict(event=[1, 0]), "event has length 2, expected 3"),
    (dict(start=[0.0, 3.0, 0.5]), "start >= time"),
    (dict(sample_weight=[1.0, -1.0, 1.0]), "sample_weight has negative"),
    (dict(strata=[0.5, 1.0, 1.0]), "strata must hold integer"),
    (dict(ties="exact"), "ties must be one of"),
])
def test_bad_inputs_are_refused_by_name(kwargs, match):
    args = dict(time=[1.0, 2.0, 3.0], event=[1, 0, 1], eta=[0.1, 0.2, 0.3])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        breslow_baseline(**args)
    km_keys = ("time", "event", "sample_weight", "start")
    if set(kwargs) <= set(km_keys):
        km_args = {k: v for k, v in args.items() if k in km_keys}
        with pytest.raises(ValueError, match=match):
            kaplan_meier(**km_args)


def test_bad_risk_and_strata_lookups():
    with pytest.raises(ValueError, match="risk has 2 rows, expected 3"):
        concordance_index([1.0, 2.0, 3.0], [1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="risk contains NaN"):
        concordance_index([1.0, 2.0, 3.0], [1, 0, 1], [0.1, np.nan, 0.2])
    bh = breslow_baseline([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 0], np.zeros(4), strata=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="unknown stratum 5"):
        bh.cumulative_hazard_at([1.0], 5)
    with pytest.raises(ValueError, match="pass strata"):
        bh.cumulative_hazard_at([1.0])


def test_plot_risk_groups_draws_observed_and_predicted_curves(rossi):
    import matplotlib.pyplot as plt

    from shrinkage.plotting import plot_risk_groups

    cph = _cox(rossi)
    X = rossi.drop(columns=["week", "arrest"]).to_numpy(float)
    eta = X @ cph.params_.to_numpy()
    bh = breslow_baseline(rossi.week, rossi.arrest, eta)
    ax = plot_risk_groups(rossi.week, rossi.arrest, eta, bh, n_groups=3)
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(solid) == 3 and len(dashed) == 4  # one per group, plus the legend's key
    for a, b in zip(solid, dashed):
        assert a.get_color() == b.get_color()
    assert ax.get_xlabel() == "time" and ax.get_legend() is not None
    bh_s = breslow_baseline(rossi.week, rossi.arrest, eta, strata=rossi.wexp)
    fig, ax2 = plt.subplots()
    assert plot_risk_groups(rossi.week, rossi.arrest, eta, bh_s, ax=ax2,
                            strata=rossi.wexp) is ax2
    plt.close("all")


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_baseline_is_equivariant_in_eta_and_survives_a_wide_range(ties):
    time, event, _ = _tied_data(12, n=150)
    eta = np.random.default_rng(12).normal(size=time.size)
    base = breslow_baseline(time, event, eta, ties=ties).cumulative_hazard
    shifted = breslow_baseline(time, event, eta + 3.0, ties=ties).cumulative_hazard
    np.testing.assert_allclose(shifted, base * np.exp(-3.0), rtol=1e-12)
    # five huge predictors leave the risk set first; later sets hold eta = 0 alone
    n = 100
    wide = np.r_[np.full(5, 900.0), np.zeros(n - 5)]
    bh = breslow_baseline(np.arange(1.0, n + 1), np.ones(n), wide, ties=ties)
    steps = np.diff(bh.cumulative_hazard)[5:]
    np.testing.assert_allclose(steps, 1.0 / np.arange(n - 6, 0, -1), rtol=1e-12)
