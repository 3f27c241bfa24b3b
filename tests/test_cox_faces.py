"""The Cox family's faces: `shrinkage fit --family cox`, its report section and model
files (a saved PenalizedCox, the command's model.npz), with hostile baseline files."""

import csv
import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from shrinkage import PenalizedCox
from shrinkage import io as sio
from shrinkage.cli import cli
from shrinkage.io.survival_types import baseline_from_state, baseline_to_state
from shrinkage.survival import BaselineHazard
from shrinkage.tabular import TabularModel
from shrinkage.tuning.cv import cross_validate

lifelines = pytest.importorskip("lifelines")

FEATURES = ["fin", "age", "wexp", "mar", "paro", "prio"]  # rossi's covariates but race


@pytest.fixture(scope="module")
def rossi():
    return lifelines.datasets.load_rossi()


def write_rossi(path, df, event=None):
    """rossi as CSV; ``event``: how to write the arrest column (default 0/1)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(df.columns))
        for row in df.itertuples(index=False):
            cells = [str(v) for v in row]
            if event is not None:
                cells[list(df.columns).index("arrest")] = event[int(row.arrest)]
            w.writerow(cells)
    return path


def run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for frag in fragments:
        assert frag in errors[0], errors[0]


COMMON = ["--family", "cox", "--time", "week", "--event", "arrest", "--folds", 5,
          "--seed", 2, "--rule", "min"]


@pytest.fixture(scope="module")
def fits(rossi, tmp_path_factory):
    """Two runs of the command: plain, and stratified by race with the C-index metric."""
    d = tmp_path_factory.mktemp("cox")
    data = write_rossi(d / "rossi.csv", rossi)
    plain = run(["fit", data, *COMMON, "--out", d / "plain"])
    strat = run(["fit", data, *COMMON, "--strata", "race", "--metric", "c_index",
                 "--ties", "breslow", "--out", d / "strat"])
    return d, plain, strat


def library_fit(rossi, features, strata=None, **kw):
    """cross_validate on rossi's columns, as the command's run (folds, seed, rule)."""
    X = np.asfortranarray(rossi[features].to_numpy(float))
    return cross_validate(X, np.c_[rossi.week, rossi.arrest], family="cox", cv=5, rule="min",
                          random_state=2, return_path=True, l1_ratio=1.0,
                          strata=None if strata is None else rossi[strata].to_numpy(), **kw)


# --------------------------------------------------------------------------- fit
def test_cox_fit_writes_the_report_with_the_survival_figure(fits):
    d, plain, strat = fits
    for result, out in ((plain, d / "plain"), (strat, d / "strat")):
        assert result.exit_code == 0, result.output
        names = sorted(p.name for p in out.iterdir())
        assert names == sorted(["model.npz", "report.html", "path.png", "cv.png",
                                "coefficients.csv", "survival.png"])
        assert (out / "survival.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        html = (out / "report.html").read_text()
        assert 'id="survival"' in html and "Survival by risk group" in html
        assert "Kaplan-Meier" in html and "C-index, training data" in html
        assert 'id="gap"' not in html and "intercept only" not in html
        assert "log hazard ratio" in result.output
        assert "C-index of the chosen fit on the training data" in result.output
    assert "CV c_index at the chosen lam" in (d / "strat" / "report.html").read_text()
    assert "strata from 'race': 2 levels" in strat.output
    with open(d / "plain" / "coefficients.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["feature", "log_hazard_ratio", "standardized"]
    assert [r[0] for r in rows[1:]] == FEATURES[:2] + ["race"] + FEATURES[2:]


@pytest.mark.parametrize("which", ["plain", "strat"])
def test_cox_fit_equals_cross_validate(fits, rossi, which):
    d = fits[0]
    model = sio.load(d / which / "model.npz")
    assert isinstance(model, TabularModel) and model.family == "cox"
    if which == "plain":  # race is a feature, in the table's order
        cv, path = library_fit(rossi, FEATURES[:2] + ["race"] + FEATURES[2:], ties="efron")
    else:
        cv, path = library_fit(rossi, FEATURES, strata="race", metric="c_index",
                               ties="breslow")
    assert model.lam == cv.lam_chosen and model.cv.metric == cv.metric
    np.testing.assert_array_equal(model.path.coefs, path.coefs)
    np.testing.assert_array_equal(model.cv.fold_scores, cv.fold_scores)
    assert np.count_nonzero(model.coef) > 0
    assert "--family cox" in model.command and "--time week" in model.command
    surv = model.extra["survival"]
    assert isinstance(surv["baseline_hazard"], BaselineHazard)
    assert surv["strata_levels"] == ([] if which == "plain" else ["0", "1"])
    assert surv["ties"] == ("efron" if which == "plain" else "breslow")


def test_true_false_events_give_the_same_fit(fits, rossi, tmp_path):
    data = write_rossi(tmp_path / "tf.csv", rossi, event={0: "False", 1: "TRUE"})
    result = run(["fit", data, *COMMON, "--out", tmp_path / "out"])
    assert result.exit_code == 0, result.output
    again = sio.load(tmp_path / "out" / "model.npz")
    first = sio.load(fits[0] / "plain" / "model.npz")
    np.testing.assert_array_equal(again.path.coefs, first.path.coefs)


def test_cox_predict_gives_log_hazard_ratios(fits, rossi):
    d = fits[0]
    result = CliRunner().invoke(cli, ["predict", str(d / "strat" / "model.npz"),
                                      str(d / "rossi.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(result.output.splitlines()))
    assert rows[0] == ["prediction", "hazard_ratio"]
    model = sio.load(d / "strat" / "model.npz")
    eta = rossi[FEATURES].to_numpy(float) @ model.coef
    np.testing.assert_allclose([float(r[0]) for r in rows[1:]], eta, rtol=1e-12, atol=1e-14)
    shown = CliRunner().invoke(cli, ["show", str(d / "strat" / "model.npz")])
    assert shown.exit_code == 0 and "log hazard ratio" in shown.output


@pytest.fixture(scope="module")
def csv_file(rossi, tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    write_rossi(d / "bad_event.csv", rossi.assign(arrest=rossi.arrest * 2))
    return write_rossi(d / "rossi.csv", rossi)


@pytest.mark.parametrize("args, fragments", [
    (["--family", "cox", "--time", "week"], ["--family cox needs --event"]),
    (["--family", "cox", "--event", "arrest"], ["--family cox needs --time"]),
    (["--time", "week", "--event", "arrest"], ["--time applies to --family cox only"]),
    (["--target", "arrest", "--family", "binomial", "--strata", "race"],
     ["--strata applies to --family cox only"]),
    (["--family", "cox", "--target", "week", "--time", "week", "--event", "arrest"],
     ["--target does not apply to --family cox"]),
    (["--family", "cox"], ["--family cox needs --time and --event"]),
    ([], ["--target is required"]),
    ([*COMMON, "--metric", "mse"], ["metric 'mse' does not fit family 'cox'"]),
    ([*COMMON, "--penalty", "mcp"], ["--penalty mcp does not apply to --family cox",
                                      "use --penalty lasso, ridge or elasticnet"]),
    ([*COMMON, "--inference", "stability"], ["--inference stability does not apply",
                                             "leave --inference out"]),
    ([*COMMON, "--factor-groups"], ["--factor-groups does not apply to --family cox",
                                    "leave it out: each indicator of a factor is then penalised"]),
    (["--family", "cox", "--time", "weeks", "--event", "arrest"],
     ["unknown column 'weeks' (--time)"]),
    (["--family", "cox", "--time", "week", "--event", "week"],
     ["must name different columns"]),
    (["--family", "cox", "--time", "week", "--event", "arrest", "--exclude", "arrest"],
     ["given to both --event and --exclude"]),
])
def test_bad_cox_options_are_one_line_errors(csv_file, tmp_path, args, fragments):
    result = run(["fit", csv_file, *args, "--out", tmp_path / "o"])
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "o").exists()


def test_bad_event_values_are_named(csv_file, tmp_path):
    result = run(["fit", csv_file.parent / "bad_event.csv", *COMMON, "--out", tmp_path / "o"])
    assert_one_line_error(result, "event column 'arrest' must hold 0 (censored) or 1", "got 2")


# --------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def cox_model(rossi):
    X = rossi[FEATURES].to_numpy(float)
    model = PenalizedCox(cv=5, rule="min", random_state=0).fit(
        X, np.c_[rossi.week, rossi.arrest], strata=rossi.race.to_numpy())
    return model, X, rossi.race.to_numpy()


def test_penalized_cox_round_trip_is_exact(cox_model, tmp_path):
    model, X, strata = cox_model
    again = sio.load(sio.save(model, tmp_path / "cox.npz"), expected=PenalizedCox)
    np.testing.assert_array_equal(again.coef_, model.coef_)
    assert again.lam_ == model.lam_ and np.count_nonzero(model.coef_) > 0
    np.testing.assert_array_equal(again.strata_levels_, model.strata_levels_)
    for key, value in model.baseline_.to_arrays().items():
        np.testing.assert_array_equal(again.baseline_.to_arrays()[key], value)
    times = np.linspace(0, 60, 31)
    np.testing.assert_array_equal(
        again.predict_survival_function(X, times, strata=strata),
        model.predict_survival_function(X, times, strata=strata))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def _members(target):
    with zipfile.ZipFile(target) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rewrite(target, members):
    target.unlink()
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _node_paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _node_paths(value, (*prefix, key))


def test_every_node_of_a_baseline_file_replaced_is_refused_or_loads_as_saved(cox_model,
                                                                            tmp_path):
    baseline = cox_model[0].baseline_
    target = sio.save(baseline, tmp_path / "b.npz")
    members = _members(target)
    meta = json.loads(members["metadata.json"])
    refused = 0
    for where in _node_paths(meta["root"]):
        for value in [None, True, 7, -1.5, "x", [], {}, {"__list__": ["a"]},
                      {"__list__": [True]}, {"__dict__": {}}]:
            m = json.loads(members["metadata.json"])
            node = m
            for key in ("root", *where)[:-1]:
                node = node[key]
            node[("root", *where)[-1]] = value
            m["digest"] = sio._meta_digest(m)
            _rewrite(target, {**members, "metadata.json": json.dumps(m).encode()})
            try:
                got = sio.load(target)
            except sio.ModelFileError:
                refused += 1
                continue
            assert isinstance(got, BaselineHazard), where  # then it is a checked one
            baseline_from_state(baseline_to_state(got))
    assert refused > 0


@pytest.mark.parametrize("change", [
    {"times": np.array([2.0, 1.0, 3.0])},
    {"cumulative_hazard": np.array([0.1, 0.05, 0.2])},
    {"cumulative_hazard": np.array([0.1, np.nan, 0.2])},
    {"cumulative_hazard": np.array([-0.1, 0.0, 0.2])},
    {"offsets": np.array([0, 2])},
    {"offsets": np.array([0.0, 1.5, 3.0])},
    {"offsets": np.array(["0", "3"])},
    {"strata_levels": [0, 1]},
    {"strata_levels": ["a"]},
    {"ties": "exact"},
    {"ties": np.array("efron")},
    {"extra": 1},
])
def test_hostile_baseline_states_are_refused(change):
    good = BaselineHazard(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.4]),
                          np.array([0, 3]), [], "efron")
    assert baseline_from_state(baseline_to_state(good)).times.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(sio.ModelFileError):
        baseline_from_state({**baseline_to_state(good), **change})
