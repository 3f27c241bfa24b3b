"""Encoding and model options of `shrinkage fit`: identifier columns, binary factors,
coefficients at the solver's precision, what the summary says, weights, offsets, rules."""

import csv
import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkage import cli_output, tabular
from shrinkage import io as sio
from shrinkage.plotting.paths import selected_features
from shrinkage.tabular_read import Table
from test_cli import assert_one_line_error, run, write_csv


def fit(data, out, *args):
    result = run(["fit", data, "--folds", 3, "--out", out, *args])
    assert result.exit_code == 0, result.output
    return sio.load(out / "model.npz"), result


def flat(text):
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- identifiers
def _table(**columns):
    return Table({k: np.asarray(v, dtype=float if all(isinstance(x, (int, float))
                                                        for x in v) else object)
                  for k, v in columns.items()}, "t")


def test_identifier_columns_by_kind():
    n = 12
    rng = np.random.default_rng(0)
    table = _table(
        text_id=[f"id{i}" for i in range(n)],
        row=list(range(1, n + 1)),
        shuffled=[int(v) for v in rng.permutation(n) + 100],
        X=[1, 2, 5, 6, 9, 10, 11, 15, 20, 21, 30, 31],  # R's row names of a subset
        x=[1, 2, 5, 6, 9, 10, 11, 15, 20, 21, 30, 31],  # ... only under those names
        feature=rng.standard_normal(n).tolist(),
        counts=[1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        level=["a", "b"] * 6,
        gappy=[f"g{i}" for i in range(n - 1)] + [None],
    )
    assert tabular.identifier_columns(table, list(table.columns)) == [
        "text_id", "row", "shuffled", "X"]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 40), start=st.integers(-5, 1000), seed=st.integers(0, 10**6),
       dup=st.booleans())
def test_identifier_property(n, start, seed, dup):
    """A permutation of consecutive integers is an identifier; with a repeated value
    (or one value off the run) it is not."""
    values = np.random.default_rng(seed).permutation(n) + start
    if dup:
        values[0] = values[1]
    table = _table(v=[int(x) for x in values])
    assert tabular.identifier_columns(table, ["v"]) == ([] if dup else ["v"])


def test_r_write_csv_row_names_and_text_ids_are_left_out(tmp_path):
    """The reported cases: R's write.csv row names and a text ID (263 levels in 263
    rows) became features; both are left out, by name, and --keep brings one back."""
    rng = np.random.default_rng(2)
    n = 263
    x = rng.standard_normal(n)
    rows = [[str(i + 1), f"player {i}", f"{v:.4f}", f"{2 * v + rng.standard_normal():.4f}"]
            for i, v in enumerate(x)]
    data = write_csv(tmp_path / "hitters.csv", ["", "name", "x", "y"], rows)
    model, result = fit(data, tmp_path / "o", "-t", "y")
    assert model.feature_names == ["x"]
    assert ("note: left out identifier columns (a different value in every row): '' "
            "(unnamed), 'name'; pass --keep COL to use one") in flat(result.output)
    model, _ = fit(data, tmp_path / "o2", "-t", "y", "--keep", "")
    assert model.feature_names == ["", "x"]
    pandas_style = write_csv(tmp_path / "p.csv", ["Unnamed: 0", "x", "y"],
                             [[str(i), r[2], r[3]] for i, r in enumerate(rows)])
    model, _ = fit(pandas_style, tmp_path / "o3", "-t", "y")
    assert model.feature_names == ["x"]
    assert_one_line_error(run(["fit", data, "-t", "y", "--keep", "zz"]),
                          "unknown column 'zz' (--keep)")
    assert_one_line_error(run(["fit", data, "-t", "y", "--keep", "x", "--exclude", "x"]),
                          "column 'x' is given to both --exclude and --keep")


# --------------------------------------------------------------------------- binary
def default_rows(n=300, seed=1):
    """A stand-in for ISLR's Default data: default ~ balance + student."""
    rng = np.random.default_rng(seed)
    balance = rng.normal(800, 450, n).clip(0)
    income = rng.normal(33000, 13000, n)
    student = rng.choice(["No", "Yes"], n, p=[0.7, 0.3])
    eta = -7 + 0.006 * balance - 0.7 * (student == "Yes")
    default = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), "Yes", "No")
    return [[d, s, f"{b:.2f}", f"{i:.2f}"] for d, s, b, i in
            zip(default, student, balance, income)]


DEFAULT_HEADER = ["default", "student", "balance", "income"]


def test_binary_factor_gets_one_indicator_and_predictions_use_it(tmp_path):
    data = write_csv(tmp_path / "Default.csv", DEFAULT_HEADER, default_rows())
    model, result = fit(data, tmp_path / "o", "-t", "default")
    assert model.feature_names == ["student=Yes", "balance", "income"]
    assert ("note: encoded 'student' as one indicator student=Yes (reference level: No)"
            in flat(result.output))
    assert "the model gives the probability that default = 'Yes' (the other class: 'No')" \
        in flat(result.output)
    # Predictions apply the same encoding, also to data holding one level only.
    rows = [["No", "No", "1500", "20000"], ["No", "No", "300", "40000"]]
    new = write_csv(tmp_path / "new.csv", DEFAULT_HEADER, rows)
    pred = run(["predict", tmp_path / "o" / "model.npz", new])
    p_yes = [float(r[2]) for r in list(csv.reader(pred.output.splitlines()))[1:]]
    X = np.array([[0.0, 1500, 20000], [0.0, 300, 40000]])
    eta = X @ model.coef + model.intercept
    np.testing.assert_allclose(p_yes, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    rows[0][1] = "Maybe"
    bad = write_csv(tmp_path / "bad.csv", DEFAULT_HEADER, rows)
    assert_one_line_error(run(["predict", tmp_path / "o" / "model.npz", bad]),
                          "column 'student' has level 'Maybe', not seen during the fit")


def test_old_encodings_without_a_reference_level_still_apply():
    table = _table(g=["p", "q", "q"])
    spec = [{"name": "g", "kind": "categorical", "levels": ["p", "q"], "fill": "p"}]
    X, names = tabular.apply_encoding(table, spec)
    assert names == ["g=p", "g=q"] and X.tolist() == [[1, 0], [0, 1], [0, 1]]
    spec[0]["reference"] = "p"
    X, names = tabular.apply_encoding(table, spec)
    assert names == ["g=q"] and X.tolist() == [[0], [1], [1]]
    assert X.flags.f_contiguous and X.dtype == np.float64


# --------------------------------------------------------------------------- tolerance
def test_a_coefficient_at_the_solvers_precision_is_not_selected(tmp_path):
    """A fit whose chosen model holds a -3e-6 coefficient (as the user study's
    student=No did): the terminal table, the report and coefficients.csv leave it out;
    the model file keeps the exact value."""
    from shrinkage.report import build_report

    noise = np.random.default_rng(0).standard_normal(300)
    rows = [r + [f"{v:.4f}"] for r, v in zip(default_rows(), noise)]
    data = write_csv(tmp_path / "Default.csv", DEFAULT_HEADER + ["noise"], rows)
    model, _ = fit(data, tmp_path / "o", "-t", "default")
    j = model.feature_names.index("noise")
    assert model.coef[j] == 0.0
    coefs = model.path.coefs.copy()
    coefs[model.index, j] = -3e-6
    path = dataclasses.replace(model.path, coefs=coefs, nnz=np.count_nonzero(coefs, axis=1))
    model = dataclasses.replace(model, path=path)
    sd = path.extra["feature_sd"]
    assert 0 < 3e-6 * sd[j] < np.sqrt(path.tol) * np.max(np.abs(coefs[model.index]) * sd)
    assert not selected_features(model.coef, sd, path.tol)[j]
    sio.save(model, tmp_path / "tiny.npz")
    shown = run(["show", tmp_path / "tiny.npz"]).output
    table = shown[shown.index("largest coefficients"):]
    assert "noise" not in table and "balance" in table
    with open(tmp_path / "c.csv", "wb") as fh:
        fh.write(cli_output.coefficients_csv(model))
    rows = {r[0]: r for r in csv.reader(open(tmp_path / "c.csv"))}
    assert float(rows["noise"][1]) == 0.0 and float(rows["balance"][1]) != 0.0
    html = build_report(path, model.cv, images={"path": b"", "cv": b""})
    section = html[html.index('id="coefficients"'):html.index('id="bayes"')]
    assert "noise" not in section and "balance" in section
    assert sio.load(tmp_path / "tiny.npz").coef[j] == -3e-6


@pytest.mark.parametrize("tol, kept", [(1e-7, [0, 1]), (0.0, [0, 1, 2]), (1e-2, [0])])
def test_selection_rule(tol, kept):
    coef = np.array([1.0, -0.01, 3e-6])
    sd = np.array([1.0, 1.0, 1.0])
    assert np.flatnonzero(selected_features(coef, sd, tol)).tolist() == kept


# --------------------------------------------------------------------------- summaries
def test_largest_coefficients_are_ranked_on_the_standardized_scale(tmp_path):
    rng = np.random.default_rng(4)
    n = 200
    tiny = rng.standard_normal(n) * 1e-3  # sd 0.001: a large coefficient, small effect
    big = rng.standard_normal(n) * 100  # sd 100: a small coefficient, large effect
    y = 200 * tiny + 0.02 * big + 0.1 * rng.standard_normal(n)
    rows = [[f"{a:.8f}", f"{b:.5f}", f"{c:.6f}"] for a, b, c in zip(tiny, big, y)]
    data = write_csv(tmp_path / "scales.csv", ["tiny", "big", "y"], rows)
    model, result = fit(data, tmp_path / "o", "-t", "y", "--rule", "min")
    b = dict(zip(model.feature_names, model.coef))
    assert abs(b["tiny"]) > abs(b["big"])  # original scale: tiny first
    text = result.output[result.output.index("largest coefficients"):]
    assert text.index("big") < text.index("tiny")  # standardized: big first
    assert "ranked on the standardized scale" in flat(text)
    html = (tmp_path / "o" / "report.html").read_text()
    section = html[html.index('id="coefficients"'):html.index('id="bayes"')]
    assert section.index("<td>big</td>") < section.index("<td>tiny</td>")
    assert "<th>standardized</th>" in section
    assert "<title>scales: shrinkage report</title>" in html


def test_multinomial_summary_names_the_grouped_penalty(tmp_path):
    rng = np.random.default_rng(6)
    n = 150
    x = rng.standard_normal((n, 2))
    scores = np.column_stack([x[:, 0], x[:, 1], -x[:, 0]]) + rng.gumbel(size=(n, 3))
    label = np.array(["a", "b", "c"])[np.argmax(scores, axis=1)]  # not separable
    rows = [[f"{u:.4f}", f"{v:.4f}", lb] for (u, v), lb in zip(x, label)]
    data = write_csv(tmp_path / "m.csv", ["u", "v", "label"], rows)
    _, result = fit(data, tmp_path / "o", "-t", "label", "--n-lams", 20)
    assert "the multinomial penalty is grouped" in flat(result.output)
    html = flat((tmp_path / "o" / "report.html").read_text())
    assert "is a group prior" in html and "not a Laplace prior on each coefficient" in html


def test_rows_are_counted_after_dropping(tmp_path):
    rows = [[f"{v:.3f}", f"{2 * v:.3f}" if i % 10 else ""] for i, v in
            enumerate(np.random.default_rng(1).standard_normal(50))]
    data = write_csv(tmp_path / "d.csv", ["x", "y"], rows)
    model, result = fit(data, tmp_path / "o", "-t", "y", "--impute")
    assert "(45 rows, 1 features)" in result.output
    assert model.extra["n_rows"] == 45 and model.extra["n_rows_read"] == 50
    html = (tmp_path / "o" / "report.html").read_text()
    assert '<th scope="row">rows read</th><td>50</td>' in html
    assert '<th scope="row">rows used</th><td>45</td>' in html
    assert '<th scope="row">samples</th><td>45</td>' in html


# --------------------------------------------------------------------------- options
def rate_rows(n=300, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    exposure = rng.uniform(0.2, 5, n)
    claims = rng.poisson(exposure * np.exp(-0.5 + 0.6 * x[:, 0]))
    weight = rng.uniform(0.5, 2.0, n)
    return x, exposure, claims, weight


def test_offset_and_weights_match_the_library_call(tmp_path):
    from shrinkage import cross_validate

    x, exposure, claims, weight = rate_rows()
    rows = [[f"{a:.5f}", f"{b:.5f}", f"{np.log(e):.6f}", f"{w:.4f}", str(c)]
            for (a, b), e, w, c in zip(x, exposure, weight, claims)]
    data = write_csv(tmp_path / "rates.csv", ["x1", "x2", "logexp", "w", "claims"], rows)
    out = tmp_path / "o"
    model, result = fit(data, out, "-t", "claims", "--family", "poisson", "--offset",
                        "logexp", "--weights", "w", "--n-lams", 25, "--lam-min-ratio", 0.01)
    assert model.feature_names == ["x1", "x2"]
    assert model.offset == "logexp" and model.weights == "w"
    table = tabular.read_table(data)
    X = np.column_stack([table.columns["x1"], table.columns["x2"]])
    cv, path = cross_validate(X, table.columns["claims"], family="poisson", cv=3,
                              random_state=0, return_path=True, n_lams=25,
                              lam_min_ratio=0.01, offset=table.columns["logexp"],
                              sample_weight=table.columns["w"])
    np.testing.assert_array_equal(model.path.coefs, path.coefs)
    # 25 strengths down to lam_max / 100 (cross-validation may extend a grid whose best
    # strength sits at its edge: the first 25 are the requested ones).
    assert path.lams[0] / path.lams[24] == pytest.approx(100)
    assert model.lam == cv.lam_chosen
    assert "--offset logexp" in model.command and "--n-lams 25" in model.command
    # Predictions add the offset; data without it are refused.
    pred = run(["predict", out / "model.npz", data])
    got = np.array([float(r[0]) for r in list(csv.reader(pred.output.splitlines()))[1:]])
    eta = X @ model.coef + model.intercept + table.columns["logexp"]
    np.testing.assert_allclose(got, np.exp(eta), rtol=1e-12)
    short = write_csv(tmp_path / "short.csv", ["x1", "x2"], [["0.1", "0.2"]])
    assert_one_line_error(run(["predict", out / "model.npz", short]),
                          "fitted with the offset column 'logexp'", "must have it too")
    show = run(["show", out / "model.npz"]).output
    assert "offset column: logexp" in show and "weights column: w" in show


@pytest.mark.parametrize("args, message", [
    (["--weights", "neg"], "weights column 'neg' must be >= 0"),
    (["--weights", "gap"], "weights column 'gap' has 1 missing values (rows 2)"),
    (["--weights", "txt"], "weights column 'txt' is not numeric"),
    (["--offset", "x1", "--weights", "x1"], "must name different columns"),
    (["--offset", "y"], "--offset cannot be the target column"),
    (["--n-lams", 0], "--n-lams must be >= 1"),
    (["--lam-min-ratio", 2], "--lam-min-ratio must be strictly between 0 and 1"),
])
def test_option_errors(tmp_path, args, message):
    rows = [[f"{i * 0.37 % 1:.3f}", f"{-1 - i}", "" if i == 1 else "1", "a", f"{i % 7}"]
            for i in range(20)]
    data = write_csv(tmp_path / "d.csv", ["x1", "neg", "gap", "txt", "y"], rows)
    assert_one_line_error(run(["fit", data, "-t", "y", "--out", tmp_path / "o", *args]),
                          message)


def test_offset_is_refused_for_multinomial(tmp_path):
    rows = [[f"{i * 0.37 % 1:.3f}", "abc"[i % 3], "0"] for i in range(30)]
    data = write_csv(tmp_path / "d.csv", ["x", "label", "off"], rows)
    assert_one_line_error(run(["fit", data, "-t", "label", "--offset", "off"]),
                          "--offset does not apply to multinomial models")


@pytest.mark.parametrize("rule, text", [("1.5se", "1.5se"), ("1.5", "1.5se"), ("2%", "2%")])
def test_rules(tmp_path, rule, text):
    from shrinkage import cross_validate

    rng = np.random.default_rng(8)
    X = rng.standard_normal((80, 6))
    y = X[:, 0] - 0.5 * X[:, 1] + rng.standard_normal(80)
    rows = [[f"{v:.6f}" for v in row] + [f"{t:.6f}"] for row, t in zip(X, y)]
    data = write_csv(tmp_path / "d.csv", [f"x{j}" for j in range(6)] + ["y"], rows)
    model, result = fit(data, tmp_path / "o", "-t", "y", "--rule", rule)
    assert model.cv.rule == text and f"chosen ({text})" in result.output
    X = tabular.read_table(data)
    Xm = np.column_stack([X.columns[f"x{j}"] for j in range(6)])
    cv = cross_validate(Xm, X.columns["y"], cv=3, random_state=0, rule=rule)
    assert model.lam == cv.lam_chosen


def test_model_files_of_0_1_0_show_and_predict(tmp_path):
    """Files written before feature_sd, reference levels and offsets still work: the
    summary ranks on the original scale and the encoding has one indicator per level."""
    from pathlib import Path

    old = Path(__file__).parent / "data" / "v0_1_0" / "cli_model.npz"
    shown = run(["show", old])
    assert shown.exit_code == 0, shown.output
    assert "largest coefficients at the chosen lam" in shown.output
    assert "original scale" in flat(shown.output)
    model = sio.load(old)
    assert model.weights is None and model.offset is None
    X = np.random.default_rng(0).standard_normal((4, 10))
    data = write_csv(tmp_path / "new.csv", [f"x{j}" for j in range(10)],
                     [[repr(float(v)) for v in row] for row in X])
    pred = run(["predict", old, data])
    got = [float(r[0]) for r in list(csv.reader(pred.output.splitlines()))[1:]]
    np.testing.assert_allclose(got, X @ model.coef + model.intercept, rtol=1e-12)


# ------------------------------------------------------------------- colliding names
@pytest.mark.parametrize("folder", [False, True])
def test_a_column_named_like_a_level_indicator_is_refused(tmp_path, folder):
    # 'x=b' is both a numeric column and the indicator of level b of column x: two
    # features of one name would be indistinguishable in the summary and the model file
    rng = np.random.default_rng(0)
    rows = [["ab"[i % 2], f"{rng.normal():.3f}", f"{rng.normal():.3f}"] for i in range(40)]
    if folder:
        (tmp_path / "parts").mkdir()
        for k in range(2):
            write_csv(tmp_path / "parts" / f"p{k}.csv", ["x", "x=b", "y"], rows)
        data = tmp_path / "parts"
    else:
        data = write_csv(tmp_path / "d.csv", ["x", "x=b", "y"], rows)
    result = run(["fit", data, "--target", "y", "--folds", 3, "--out", tmp_path / "o"])
    assert_one_line_error(result, "two features would be named 'x=b'", "'x' and 'x=b'")
    assert not (tmp_path / "o").exists()
    # the reference level's name collides with nothing: that table fits
    write_csv(tmp_path / "ok.csv", ["x", "x=a", "y"], rows)
    fit(tmp_path / "ok.csv", tmp_path / "o2", "--target", "y")


def test_fit_says_when_the_grid_went_past_the_lam_min_ratio_given(tmp_path):
    r = np.random.default_rng(4)
    X = r.standard_normal((150, 20))
    y = X[:, :12] @ r.uniform(0.5, 1.0, 12) + 0.3 * r.standard_normal(150)
    data = write_csv(tmp_path / "d.csv", [f"x{j}" for j in range(20)] + ["y"],
                     np.column_stack([X, y]).tolist())
    model, result = fit(data, tmp_path / "o", "--target", "y", "--lam-min-ratio", 0.3,
                        "--n-lams", 10)
    text = flat(result.output)
    assert "note: The CV minimum sat at the edge of the strength grid" in text
    assert "toward weaker strengths" in text
    lams = model.path.lams  # the path reaches below the lam_max * 0.3 asked for
    assert lams.min() < 0.3 * lams.max()
    assert f"The path runs from lam = {lams.max():.4g} to {lams.min():.4g}." in text


@pytest.mark.parametrize("digits", [None, 0])
def test_a_numeric_column_with_stray_text_is_refused(tmp_path, digits):
    """One "oops" in a column of numbers: read as text, the column became categories
    (levels '-0.0', '0.0', ...) or, its numbers all distinct, an identifier column left
    out, and the fit went on without its strongest predictor (exit 0)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=80)
    rows = []
    for i in range(80):
        cell = "oops" if i == 5 else (f"{a[i]:.0f}" if digits == 0 else repr(float(a[i])))
        rows.append([cell, *np.round(rng.normal(size=2), 3), round(3 * a[i] + rng.normal(), 3)])
    f = write_csv(tmp_path / "d.csv", ["a", "b", "c", "y"], rows)
    res = run(["fit", f, "--target", "y", "--folds", "3", "--out", tmp_path / "o"])
    assert_one_line_error(res, "column 'a' holds numbers except 1 cell(s) (rows 6: 'oops')")


def test_a_categorical_column_of_words_and_codes_is_kept(tmp_path):
    """A factor whose levels mix numeric codes and words is not stray text."""
    rng = np.random.default_rng(1)
    levels = ["1", "2", "low", "3"]
    rows = [[levels[i % 4], round(float(x), 3), round(float(x) + (i % 4 == 2), 3)]
            for i, x in enumerate(rng.normal(size=60))]
    f = write_csv(tmp_path / "d.csv", ["f", "x", "y"], rows)
    res = run(["fit", f, "--target", "y", "--folds", "3", "--out", tmp_path / "o"])
    assert res.exit_code == 0, res.output


def test_a_constant_target_is_named(tmp_path):
    """A constant numeric target failed after the summary, naming noise_sd."""
    rng = np.random.default_rng(2)
    rows = [[*np.round(rng.normal(size=3), 3), 1] for _ in range(40)]
    f = write_csv(tmp_path / "c.csv", ["a", "b", "c", "y"], rows)
    res = run(["fit", f, "--target", "y", "--folds", "3", "--out", tmp_path / "o"])
    assert_one_line_error(res, "target 'y' is constant (every value 1)")


def test_a_column_of_infinities_and_a_folder_for_predictions_are_named(tmp_path):
    """An all-inf column said only 'has no values'; predict --out FOLDER said 'pass
    --force', and with --force failed with a bare 'Is a directory'."""
    rng = np.random.default_rng(3)
    rows = [[round(float(a), 3), "inf", round(float(a) + rng.normal(), 3)]
            for a in rng.normal(size=40)]
    f = write_csv(tmp_path / "i.csv", ["a", "c", "y"], rows)
    res = run(["fit", f, "--target", "y", "--folds", "3", "--out", tmp_path / "o"])
    assert_one_line_error(res, "column 'c' has no values: 40 non-finite values", "inf")
    rows = [[round(float(a), 3), round(float(a) + rng.normal(), 3)] for a in rng.normal(size=40)]
    f = write_csv(tmp_path / "g.csv", ["a", "y"], rows)
    assert run(["fit", f, "--target", "y", "--folds", "3", "--out", tmp_path / "m"]).exit_code == 0
    (tmp_path / "preds").mkdir()
    for extra in ([], ["--force"]):
        res = run(["predict", tmp_path / "m" / "model.npz", f, "--out", tmp_path / "preds",
                   *extra])
        assert_one_line_error(res, "is a directory; give a file name")
