"""``shrinkage fit --inference``: the table, the picture and the report section."""

import csv
import re

import numpy as np
from click.testing import CliRunner

from shrinkage.cli import cli
from shrinkage.inference import stability_selection
from shrinkage.report import build_report


def _write(path, n=120, seed=0, classes=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    y = 2 * X[:, 0] - X[:, 1] + rng.standard_normal(n)
    if classes is not None:
        y = np.asarray(classes)[np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"f{j}" for j in range(6)] + ["y"])
        for row, t in zip(X, y):
            w.writerow([f"{v:.6f}" for v in row] + [t])
    return path


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_each_method_writes_its_table_and_report_section(tmp_path):
    data = _write(tmp_path / "d.csv")
    for method, heading in (("stability", "Stability of the selection"),
                            ("selective", "Inference by data splitting"),
                            ("debiased", "Debiased lasso intervals")):
        out = tmp_path / method
        res = _run("fit", data, "--target", "y", "--folds", "5", "--inference", method,
                   "--out", out)
        assert res.exit_code == 0, res.output
        rows = list(csv.DictReader(open(out / "inference.csv")))
        assert [r["feature"] for r in rows] == [f"f{j}" for j in range(6)]
        assert rows[0]["selected"] == "1"  # the strong feature, by every method
        assert (out / "inference.png").stat().st_size > 1000
        html = (out / "report.html").read_text()
        assert heading in html and 'id="inference"' in html


def test_methods_that_do_not_cover_the_family_say_so(tmp_path):
    data = _write(tmp_path / "m.csv", classes=["a", "b", "c"])
    res = _run("fit", data, "--target", "y", "--folds", "3", "--inference", "debiased",
               "--out", tmp_path / "o")
    assert res.exit_code == 1
    assert "use --inference stability for multinomial" in res.output
    assert not (tmp_path / "o").exists()  # nothing written by a refused run


def test_report_without_inference_has_no_section():
    from shrinkage import cross_validate

    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 4))
    y = X[:, 0] + rng.standard_normal(80)
    cv, path = cross_validate(X, y, cv=4, return_path=True)
    assert 'id="inference"' not in build_report(path, cv)
    stab = stability_selection(X, y, n_pairs=3)
    html = build_report(path, cv, inference=stab)
    # (the pictures' base64 text is left out: any four letters turn up there by chance)
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", html)
    assert "Stability of the selection" in text
    assert "PFER" not in text.split('id="inference"')[0]
