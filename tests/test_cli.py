"""The `shrinkage` command through click's runner: fit, predict, show, demo, every error."""

import csv
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from shrinkage import io as sio
from shrinkage import tabular
from shrinkage.cli import _free_dir, cli, main
from shrinkage.plotting.paths import selected_features


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def regression_rows(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    color = rng.choice(["red", "green", "blue"], n)
    y = 2 * x1 - x2 + (color == "red") * 1.5 + 0.5 * rng.standard_normal(n)
    return [[f"{a:.6f}", f"{b:.6f}", c, f"{t:.6f}"] for a, b, c, t in zip(x1, x2, color, y)]


HEADER = ["x1", "x2", "color", "y"]


def run(args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    for frag in fragments:
        assert frag in errors[0], errors[0]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One real gaussian fit through the CLI, shared by the tests that read its outputs."""
    d = tmp_path_factory.mktemp("fit")
    data = write_csv(d / "data.csv", HEADER, regression_rows())
    out = d / "out"
    result = run(["fit", data, "--target", "y", "--folds", 4, "--seed", 3, "--out", out])
    assert result.exit_code == 0, result.output
    return data, out, result


# --------------------------------------------------------------------------- fit
def test_fit_writes_every_output_and_reports(fitted):
    data, out, result = fitted
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["model.npz", "report.html", "path.png", "cv.png", "gap.png",
                            "coefficients.csv"])
    text = result.output
    assert "note: one-hot encoded 'color' (3 levels: blue, green, red)" in text
    assert "note: family auto -> gaussian" in text
    for word in ("lam_min", "chosen (1se)", "CV mse", "largest coefficients", "x1"):
        assert word in text
    html = (out / "report.html").read_text()
    for section in ('id="path"', 'id="cv"', 'id="gap"', 'id="bayes"', 'id="reproducibility"'):
        assert section in html
    assert "data:image/png;base64," in html
    # The data summary lists every input column.
    assert "<td>color</td><td>categorical</td>" in html and "3 levels: " in html
    assert "<td>x1</td><td>numeric</td>" in html
    for png in ("path.png", "cv.png", "gap.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_result_equals_the_library_call(fitted):
    from shrinkage import cross_validate

    data, out, _ = fitted
    model = sio.load(out / "model.npz")
    assert isinstance(model, tabular.TabularModel)
    enc = tabular.encode_for_fit(tabular.read_table(data), "y")
    cv, path = cross_validate(enc.X, enc.y, family="gaussian", l1_ratio=1.0, cv=4,
                              rule="1se", random_state=3, return_path=True)
    assert model.lam == cv.lam_chosen
    np.testing.assert_array_equal(model.path.coefs, path.coefs)
    np.testing.assert_array_equal(model.cv.fold_scores, cv.fold_scores)
    assert model.feature_names == ["x1", "x2", "color=blue", "color=green", "color=red"]
    assert "--seed 3" in model.command and "--folds 4" in model.command
    # The coefficient file holds the chosen model exactly (what is selected), and the
    # coefficients on the standardized scale of the training design.
    sd = model.path.extra["feature_sd"]
    np.testing.assert_allclose(sd, enc.X.std(axis=0), rtol=1e-12)
    selected = selected_features(model.coef, sd, model.path.tol)
    with open(out / "coefficients.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["feature", "coefficient", "standardized"]
    assert float(rows[1][1]) == model.intercept
    np.testing.assert_array_equal([float(r[1]) for r in rows[2:]],
                                  np.where(selected, model.coef, 0.0))
    np.testing.assert_allclose([float(r[2]) for r in rows[2:]],
                               np.where(selected, model.coef * sd, 0.0), rtol=1e-12)


def test_predict_matches_the_chosen_coefficients(fitted, tmp_path):
    data, out, _ = fitted
    model = sio.load(out / "model.npz")
    pred_file = tmp_path / "pred.csv"
    result = run(["predict", out / "model.npz", data, "--out", pred_file])
    assert result.exit_code == 0, result.output
    with open(pred_file) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction"]
    got = np.array([float(r[0]) for r in rows[1:]])
    raw = np.array(regression_rows(), dtype=object)
    X = np.column_stack([raw[:, 0].astype(float), raw[:, 1].astype(float),
                         raw[:, 2] == "blue", raw[:, 2] == "green", raw[:, 2] == "red"])
    np.testing.assert_allclose(got, X.astype(float) @ model.coef + model.intercept, rtol=1e-12)
    # To standard output without --out; refusing to overwrite without --force.
    result = run(["predict", out / "model.npz", data])
    assert result.exit_code == 0 and result.output.splitlines()[0] == "prediction"
    assert len(result.output.splitlines()) == 61
    assert_one_line_error(run(["predict", out / "model.npz", data, "--out", pred_file]),
                          "already exists", "--force")
    assert run(["predict", out / "model.npz", data, "--out", pred_file, "--force"]).exit_code == 0


def test_predict_on_parquet_equals_csv(fitted, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data, out, _ = fitted
    raw = np.array(regression_rows(), dtype=object)
    table = pa.table({"x1": raw[:, 0].astype(float), "x2": raw[:, 1].astype(float),
                      "color": list(raw[:, 2])})
    pq.write_table(table, tmp_path / "new.parquet")
    a = run(["predict", out / "model.npz", tmp_path / "new.parquet"])
    b = run(["predict", out / "model.npz", data])
    assert a.exit_code == 0, a.output
    assert a.output == b.output


def test_group_folds_keep_each_group_in_one_fold(tmp_path):
    rows = [r + [str(i % 6)] for i, r in enumerate(regression_rows(36))]
    data = write_csv(tmp_path / "g.csv", HEADER + ["site"], rows)
    out = tmp_path / "out"
    result = run(["fit", data, "-t", "y", "--groups", "site", "--folds", 3, "--out", out])
    assert result.exit_code == 0, result.output
    model = sio.load(out / "model.npz")
    assert "site" not in model.feature_names  # the groups column is not a feature
    site = np.arange(36) % 6
    for g in range(6):
        assert np.unique(model.cv.fold_ids[site == g]).size == 1


def test_fit_refuses_to_overwrite_without_force(fitted):
    data, out, _ = fitted
    before = (out / "model.npz").read_bytes()
    result = run(["fit", data, "--target", "y", "--out", out])
    assert_one_line_error(result, "already holds", "model.npz", "--force")
    assert (out / "model.npz").read_bytes() == before


def test_show_describes_the_model(fitted):
    _, out, _ = fitted
    result = run(["show", out / "model.npz"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # the heading and the command are never broken by inserted newlines (the test runner's
    # terminal is 80 columns, and both lines are longer): they can be copied back
    assert f"{out / 'model.npz'}: TabularModel (file format 1, written by shrinkage" in lines[0]
    assert "chosen (1se)" in result.output
    command = [ln for ln in lines if ln.startswith("command: shrinkage fit")]
    assert len(command) == 1 and command[0].endswith(f"--out {out}"), result.output


def test_show_describes_results_too(tmp_path):
    from shrinkage.results import CVResult

    cv = CVResult(lams=np.array([1.0, 0.1]), fold_scores=np.ones((2, 2)),
                  fold_weights=np.ones(2), mean=np.array([2.0, 1.0]), se=np.ones(2),
                  metric="mse", greater_is_better=False, index_min=1, index_chosen=0,
                  rule="1se")
    sio.save(cv, tmp_path / "cv.npz")
    result = run(["show", tmp_path / "cv.npz"])
    assert result.exit_code == 0
    assert "lam_min = 0.1, chosen lam = 1" in result.output
    # ... but predicting with it is an error.
    write_csv(tmp_path / "d.csv", ["a"], [["1"]])
    assert_one_line_error(run(["predict", tmp_path / "cv.npz", tmp_path / "d.csv"]),
                          "holds a CVResult, not a model written by `shrinkage fit`")


def test_binomial_fit_on_parquet_with_labels(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    n = 80
    x = rng.standard_normal((n, 3))
    label = np.where(x[:, 0] + 0.5 * rng.standard_normal(n) > 0, "yes", "no")
    pq.write_table(pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "grp": np.arange(n) % 8,
                             "label": label}), tmp_path / "d.parquet")
    out = tmp_path / "out"
    result = run(["fit", tmp_path / "d.parquet", "-t", "label", "--folds", 3,
                  "--repeats", 2, "--penalty", "elasticnet", "--l1-ratio", 0.5,
                  "--rule", 0.5, "--exclude", "grp", "--out", out])
    assert result.exit_code == 0, result.output
    assert "family auto -> binomial" in result.output and "chosen (0.5se)" in result.output
    model = sio.load(out / "model.npz")
    assert model.cv.extra["n_repeats"] == 2 and model.cv.fold_ids.shape == (2, n)
    assert "chosen lam over 2 CV repeats: from" in result.output
    assert "Across the 2 repeats the rule chose lam between" in (out / "report.html").read_text()
    assert list(model.classes) == ["no", "yes"] and model.path.l1_ratio == 0.5
    assert model.feature_names == ["a", "b", "c"]
    pred = run(["predict", out / "model.npz", tmp_path / "d.parquet"])
    rows = list(csv.reader(pred.output.splitlines()))
    assert rows[0] == ["prediction", "probability_no", "probability_yes"]
    p_yes = np.array([float(r[2]) for r in rows[1:]])
    eta = x @ model.coef + model.intercept
    np.testing.assert_allclose(p_yes, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    assert [r[0] for r in rows[1:]] == list(np.where(eta > 0, "yes", "no"))


# --------------------------------------------------------------------------- errors
@pytest.fixture()
def csv_file(tmp_path):
    return write_csv(tmp_path / "d.csv", HEADER, regression_rows(20))


@pytest.mark.parametrize("args, fragments", [
    (["--target", "nope"], ["unknown column 'nope' (--target)", "x1, x2, color, y"]),
    (["--target", "y", "--exclude", "zz"], ["unknown column 'zz' (--exclude)"]),
    (["--target", "y", "--groups", "zz"], ["unknown column 'zz' (--groups)"]),
    (["--target", "color", "--family", "gaussian"],
     ["target 'color' is not numeric", "--family binomial or multinomial"]),
    (["--target", "color", "--family", "poisson"], ["target 'color' is not numeric"]),
    (["--target", "color", "--family", "binomial"], ["has 3 classes", "--family multinomial"]),
    (["--target", "y", "--rule", "best"], ["--rule must be min, Kse"]),
    (["--target", "y", "--rule", "-1"], ["--rule must be min, Kse"]),
    (["--target", "y", "--l1-ratio", "0.3"], ["--l1-ratio applies to --penalty elasticnet"]),
    (["--target", "y", "--penalty", "elasticnet", "--l1-ratio", "1"],
     ["--l1-ratio must be strictly between 0 and 1"]),
    (["--target", "y", "--folds", "1"], ["--folds must be >= 2"]),
    (["--target", "y", "--exclude", "x1,x2,color"], ["no feature columns are left"]),
    (["--target", "y", "--exclude", "y"], ["the target 'y' is also excluded"]),
    (["--target", "y", "--metric", "auc"], ["metric 'auc' does not fit family 'gaussian'"]),
    (["--target", "y", "--metric", "r2"], ["unknown metric 'r2'"]),
])
def test_fit_errors_are_one_line(csv_file, tmp_path, args, fragments):
    result = run(["fit", csv_file, "--out", tmp_path / "o", *args])
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "o").exists()  # nothing is created for a failed fit


def test_missing_and_unreadable_files(tmp_path):
    assert_one_line_error(run(["fit", tmp_path / "nope.csv", "-t", "y"]), "no such file")
    (tmp_path / "d.xlsx").write_text("x")
    assert_one_line_error(run(["fit", tmp_path / "d.xlsx", "-t", "y"]), "unknown file type")
    (tmp_path / "empty.csv").write_text("")
    assert_one_line_error(run(["fit", tmp_path / "empty.csv", "-t", "y"]), "is empty")
    write_csv(tmp_path / "ragged.csv", ["a", "b"], [["1", "2"], ["3"]])
    assert_one_line_error(run(["fit", tmp_path / "ragged.csv", "-t", "a"]),
                          "line 3 has 1 fields, the header has 2")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert_one_line_error(run(["fit", tmp_path / "bad.parquet", "-t", "a"]),
                          "not a readable Parquet file")
    assert_one_line_error(run(["show", tmp_path / "nope.npz"]), "no such file")
    (tmp_path / "m.npz").write_bytes(b"garbage" * 20)
    assert_one_line_error(run(["show", tmp_path / "m.npz"]), "not a shrinkage file")


def test_parquet_dates_are_refused_and_identifiers_flagged(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    day = datetime.date(2024, 1, 1)
    pq.write_table(pa.table({"when": [day] * 3, "y": [1.0, 2.0, 3.0]}), tmp_path / "d.parquet")
    assert_one_line_error(run(["fit", tmp_path / "d.parquet", "-t", "y"]),
                          "column 'when' holds dates or times", "--exclude when")
    rows = [[f"id{i}", str(i % 3), str(i)] for i in range(30)]
    data = write_csv(tmp_path / "ids.csv", ["id", "x", "y"], rows)
    enc = tabular.encode_for_fit(tabular.read_table(data), "y")
    assert enc.feature_names == ["x"] and enc.identifiers == ["id"]
    # Kept on request, the identifier is one-hot encoded, with a warning note.
    enc = tabular.encode_for_fit(tabular.read_table(data), "y", keep=["id"])
    assert "'id' has 30 levels in 30 rows: an identifier or free text? Consider --exclude id" \
        in enc.notes


def test_one_class_target(tmp_path):
    rows = [[str(i), "same"] for i in range(10)]
    data = write_csv(tmp_path / "d.csv", ["x", "label"], rows)
    assert_one_line_error(run(["fit", data, "-t", "label"]), "single class (same)",
                          "at least two")


def test_describe_columns(tmp_path):
    data = write_csv(tmp_path / "d.csv", ["a", "b"],
                     [["1", "u"], ["3", "v"], ["", "u"], ["5", ""]])
    rows = tabular.describe_columns(tabular.read_table(data))
    assert rows == [("a", "numeric", 1, "mean 3, sd 1.633, range [1, 5]"),
                    ("b", "categorical", 1, "2 levels: u (2), v (1)")]


def test_missing_values_are_refused_unless_imputed(tmp_path):
    rows = regression_rows(20)
    rows[4][0] = ""
    rows[7][2] = "NA"
    data = write_csv(tmp_path / "d.csv", HEADER, rows)
    assert_one_line_error(run(["fit", data, "-t", "y"]),
                          "column 'x1' has 1 missing values (rows 5)", "--impute")
    enc = tabular.encode_for_fit(tabular.read_table(data), "y", impute=True)
    x1 = np.array([float(r[0]) for i, r in enumerate(rows) if i != 4])
    assert enc.X[4, 0] == pytest.approx(x1.mean())
    colors = [r[2] for i, r in enumerate(rows) if i != 7]
    mode = max(sorted(set(colors)), key=colors.count)
    assert enc.feature_names[2 + sorted(set(colors)).index(mode)] == f"color={mode}"
    assert enc.X[7, 2:].tolist() == [float(f"color={c}" == f"color={mode}")
                                     for c in sorted(set(colors))]
    assert any("imputed 1 missing values of 'x1' with the mean" in n for n in enc.notes)
    rows[9][3] = ""
    data = write_csv(tmp_path / "d2.csv", HEADER, rows)
    assert_one_line_error(run(["fit", data, "-t", "y"]), "target 'y' has 1 missing values")
    enc = tabular.encode_for_fit(tabular.read_table(data), "y", impute=True)
    assert enc.X.shape[0] == 19 and any("dropped 1 rows" in n for n in enc.notes)


def test_predict_errors(fitted, tmp_path):
    _, out, _ = fitted
    model = out / "model.npz"
    rows = regression_rows(5)
    rows[2][2] = "purple"
    write_csv(tmp_path / "new.csv", HEADER, rows)
    assert_one_line_error(run(["predict", model, tmp_path / "new.csv"]),
                          "column 'color' has level 'purple', not seen during the fit")
    write_csv(tmp_path / "short.csv", ["x1", "color"], [["1", "red"]])
    assert_one_line_error(run(["predict", model, tmp_path / "short.csv"]),
                          "unknown column 'x2' (used by the model)")
    rows = regression_rows(5)
    rows[1][1] = "?"
    write_csv(tmp_path / "gap.csv", HEADER, rows)
    assert_one_line_error(run(["predict", model, tmp_path / "gap.csv"]),
                          "column 'x2' has 1 missing values", "--impute")
    ok = run(["predict", model, tmp_path / "gap.csv", "--impute"])
    assert ok.exit_code == 0 and len(ok.output.splitlines()) == 6
    rows[1][1] = "abc"
    write_csv(tmp_path / "text.csv", HEADER, rows)
    assert_one_line_error(run(["predict", model, tmp_path / "text.csv"]),
                          "column 'x2' should be numeric but holds 'abc'")


def test_missing_pyarrow_is_explained(tmp_path, monkeypatch):
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert_one_line_error(run(["fit", tmp_path / "d.parquet", "-t", "y"]),
                          "reading Parquet needs pyarrow", "pip install pyarrow")


def test_debug_shows_the_traceback(tmp_path):
    result = run(["fit", tmp_path / "nope.csv", "-t", "y", "--debug"])
    assert result.exit_code == 1
    assert isinstance(result.exception, tabular.DataError)
    result = run(["--debug", "show", tmp_path / "nope.npz"])
    assert isinstance(result.exception, FileNotFoundError)


def test_main_entry_point(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    from shrinkage import __version__

    assert __version__ in capsys.readouterr().out


# --------------------------------------------------------------------------- demo
def test_demo_runs_with_no_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(["demo", "--folds", 5])
    assert result.exit_code == 0, result.output
    out = tmp_path / "shrinkage-demo"
    assert (out / "report.html").exists() and (out / "diabetes.csv").exists()
    html = (out / "report.html").read_text()
    assert 'id="overfit"' in html and "diabetes progression" in html
    model = sio.load(out / "model.npz")
    assert model.family == "gaussian" and model.path.n_features == 10
    assert "shrinkage fit shrinkage-demo/diabetes.csv --target progression" in result.output
    lines = result.output.splitlines()
    # the command to copy is one line, longer than the runner's 80 columns, not wrapped
    assert f"  {model.command}" in lines and len(model.command) > 80
    assert "wrote model.npz, report.html, path.png, cv.png, gap.png, coefficients.csv, " \
        "diabetes.csv to shrinkage-demo" in lines
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["diabetes.csv", "model.npz", "report.html", "path.png", "cv.png", "gap.png",
         "coefficients.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shrinkage-demo"]  # no leftovers
    # The next demo never overwrites: it picks a fresh directory, as the README says.
    assert _free_dir("shrinkage-demo").name == "shrinkage-demo-1"
    (tmp_path / "shrinkage-demo-1").mkdir()
    assert _free_dir("shrinkage-demo").name == "shrinkage-demo-2"
    from pathlib import Path as FilePath

    readme = (FilePath(__file__).resolve().parents[1] / "README.md").read_text()
    demo_paragraph = readme[readme.index("Run the main job"):readme.index("```bash")]
    for name in ("`./shrinkage-demo`", "`./shrinkage-demo-1`", "`./shrinkage-demo-2`"):
        assert name in demo_paragraph


def _synthetic_model(family, coefs, intercepts, classes=None):
    from shrinkage.results import CVResult, Path

    L = coefs.shape[0]
    path = Path(
        lams=np.logspace(0, -1, L), coefs=coefs, intercepts=intercepts,
        nnz=np.count_nonzero(coefs if coefs.ndim == 2 else np.any(coefs != 0, axis=2), axis=1),
        dev_ratio=np.zeros(L), null_deviance=1.0, certificate=np.zeros(L),
        certificate_kind="kkt_violation", converged=np.ones(L, bool), n_iter=np.ones(L, int),
        family=family, l1_ratio=1.0, tol=1e-7, standardize=True, fit_intercept=True,
        feature_names=np.array(["u", "g=p", "g=q"]),
    )
    cv = CVResult(lams=path.lams, fold_scores=np.ones((3, L)), fold_weights=np.ones(3),
                  mean=np.ones(L), se=np.ones(L), metric="deviance", greater_is_better=False,
                  index_min=1, index_chosen=1, rule="1se")
    columns = [{"name": "u", "kind": "numeric", "fill": 0.0},
               {"name": "g", "kind": "categorical", "levels": ["p", "q"], "fill": "p"}]
    return tabular.TabularModel(path, cv, "y", family, columns, classes=classes)


def test_poisson_and_multinomial_predictions(tmp_path):
    data = write_csv(tmp_path / "d.csv", ["u", "g"], [["0.5", "p"], ["-1", "q"], ["2", "q"]])
    table = tabular.read_table(data)
    X = np.array([[0.5, 1, 0], [-1, 0, 1], [2, 0, 1]])
    coefs = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.4]])
    model = _synthetic_model("poisson", coefs, np.array([0.0, 0.1]))
    np.testing.assert_allclose(model.predict_table(table)["prediction"],
                               np.exp(X @ coefs[1] + 0.1), rtol=1e-14)
    B = np.stack([np.zeros((3, 3)), np.array([[1.0, 0, -1], [0, 2, 0], [0.5, 0, 0]])])
    b0 = np.array([[0.0, 0, 0], [0.1, -0.1, 0]])
    model = _synthetic_model("multinomial", B, b0, classes=np.array(["r", "s", "t"]))
    # Saved and loaded, the model predicts the same.
    back = sio.load(sio.save(model, tmp_path / "m.npz"))
    out = back.predict_table(table)
    eta = X @ B[1] + b0[1]
    prob = np.exp(eta) / np.exp(eta).sum(1, keepdims=True)
    for k, c in enumerate("rst"):
        np.testing.assert_allclose(out[f"probability_{c}"], prob[:, k], rtol=1e-13)
    assert list(out["prediction"]) == [("r", "s", "t")[k] for k in prob.argmax(1)]


def test_real_process_error_is_one_line_on_stderr(tmp_path):
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "shrinkage.cli", "fit", str(tmp_path / "nope.csv"), "-t", "y"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"error: no such file: {tmp_path / 'nope.csv'}"]


def test_categorical_levels_that_look_like_numbers_keep_their_text(tmp_path):
    # levels "01" and "1" differ; a file to predict whose cells all look like numbers was
    # once read as numbers and relabelled ("01" -> "1"): the other level, silently
    rng = np.random.default_rng(0)
    code = rng.choice(["01", "1", "x"], 150)
    z = rng.standard_normal(150)
    y = np.select([code == "01", code == "1"], [5.0, -5.0], 0.0) + 0.1 * z
    data = write_csv(tmp_path / "train.csv", ["code", "z", "y"],
                     [[c, f"{a:.6f}", f"{b:.6f}"] for c, a, b in zip(code, z, y)])
    out = tmp_path / "fit"
    assert run(["fit", data, "-t", "y", "--out", out]).exit_code == 0
    model = out / "model.npz"
    for rows in ([["01", "0"], ["01", "0"]], [["01", "0"], ["x", "0"]], [["1", "0"]],
                 [["02", "0"]]):
        new = write_csv(tmp_path / "new.csv", ["code", "z"], rows)
        res = run(["predict", model, new])
        if rows[0][0] == "02":
            assert_one_line_error(res, "'02'", "not seen during the fit")
            continue
        assert res.exit_code == 0, res.output
        pred = np.array(res.output.split()[1:], dtype=float)
        want = {"01": 5.0, "1": -5.0, "x": 0.0}
        np.testing.assert_allclose(pred, [want[r[0]] for r in rows], atol=0.3)


def test_parquet_with_a_repeated_column_name_is_refused_as_csv_is(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array([1.0, 2.0, 3.0, 4.0]), pa.array([0.5, 0.1, 0.2, 0.3]),
                      pa.array([1.0, 0.0, 1.0, 2.0])], names=["a", "a", "y"])
    pq.write_table(table, tmp_path / "dup.parquet")
    res = run(["fit", tmp_path / "dup.parquet", "-t", "y", "--out", tmp_path / "o"])
    assert_one_line_error(res, "duplicate column names a")
    many = tmp_path / "many"
    many.mkdir()
    pq.write_table(table, many / "part.parquet")
    res = run(["fit", many, "-t", "y", "--out", tmp_path / "o2"])
    assert_one_line_error(res, "duplicate column names a")
