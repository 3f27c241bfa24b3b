"""The HTML report: valid, self-contained, with every section and the right numbers."""

import base64
import re
from html.parser import HTMLParser
from importlib import resources

import numpy as np
import pytest

from shrinkage.report import build_report, rule_sentence, write_report
from shrinkage.results import CVResult, Path

_VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


class _Checker(HTMLParser):
    """Checks that tags nest and close properly; collects ids, images and links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids, self.imgs, self.urls = [], [], [], [], []
        self.counts = {}
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.imgs.append(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def check_html(text):
    c = _Checker()
    c.feed(text)
    c.close()
    assert c.doctype and c.doctype.lower() == "doctype html"
    assert not c.errors, c.errors
    assert c.stack == [], f"unclosed tags: {c.stack}"
    for tag in ("html", "head", "body", "title"):
        assert c.counts.get(tag) == 1, tag
    return c


NAMES = ["age", "bmi", "<script>alert(1)</script>", "s1"]
# Stand-in images for tests about the text (rendering is tested once, for real, below).
STUB = {k: b"\x89PNG\r\n\x1a\nstub" for k in ("path", "cv", "gap")}


def make_fit(rule="1se", l1_ratio=1.0, family="gaussian", n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = X @ np.array([2.0, -1.0, 0.5, 0.0]) + rng.standard_normal(n)
    L = 8
    lams = np.logspace(0, -2, L)
    t = np.linspace(0, 1, L)[:, None]
    coefs = np.array([2.0, -1.0, 0.5, 0.0]) * np.clip(t - np.array([0, 0.2, 0.5, 1]), 0, None)
    coefs = coefs / np.maximum(np.max(t - np.array([0, 0.2, 0.5, 1]), axis=0), 1e-9) * 0.9
    coefs[:, 3] = 0.0
    intercepts = np.full(L, y.mean())
    path = Path(
        lams=lams, coefs=coefs, intercepts=intercepts, nnz=np.count_nonzero(coefs, 1),
        dev_ratio=np.linspace(0, 0.8, L), null_deviance=float(n), certificate=np.full(L, 1e-9),
        certificate_kind="duality_gap", converged=np.ones(L, bool), n_iter=np.ones(L, int),
        family=family, l1_ratio=l1_ratio, tol=1e-7, standardize=True, fit_intercept=True,
        feature_names=np.array(NAMES),
    )
    mean = np.mean((y[:, None] - (X @ coefs.T + intercepts)) ** 2, axis=0) + 0.1
    se = np.full(L, 0.2)
    cv = CVResult(
        lams=lams, fold_scores=np.tile(mean, (5, 1)), fold_weights=np.full(5, n / 5),
        mean=mean, se=se, metric="mse", greater_is_better=False,
        index_min=int(np.argmin(mean)), index_chosen=int(np.argmin(mean)) - 1, rule=rule,
        nnz=path.nnz, fold_ids=np.arange(n) % 5, random_state=42,
        extra={"n_folds": 5, "n_repeats": 1},
    )
    return path, cv, X, y


def test_report_is_valid_self_contained_html_with_every_section():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, data={"source": "data.csv"},  # renders figures
                        notes=["one-hot encoded 'color' (3 levels)"],
                        command="shrinkage fit data.csv --target y --seed 42")
    c = check_html(html)
    assert {"data", "path", "cv", "gap", "coefficients", "bayes", "reproducibility"} <= set(c.ids)
    assert "overfit" not in c.ids
    assert len(c.imgs) == 3
    for img in c.imgs:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix) and img["alt"]
        assert base64.b64decode(img["src"][len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"
    # Nothing is fetched: no external URLs, scripts or stylesheets.
    assert all(u.startswith("data:") for u in c.urls)
    assert "<script" not in html.replace("&lt;script", "")
    assert "http://" not in html and "https://" not in html
    assert "one-hot encoded &#39;color&#39; (3 levels)" in html
    assert "shrinkage fit data.csv --target y --seed 42" in html


def test_report_states_the_rule_and_the_chosen_lam():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, images=STUB)
    text = re.sub(r"\s+", " ", html)
    assert (f"The chosen lam = {cv.lam_chosen:.4g} is the strongest lam whose mean CV mse is "
            "within 1 SE of the best") in text
    assert f"lam_min = {cv.lam_min:.4g}" in text


@pytest.mark.parametrize("rule, words", [
    ("1se", "the strongest lam whose mean CV mse is within 1 SE of the best"),
    ("0.5se", "the strongest lam whose mean CV mse is within 0.5 SE of the best"),
    ("min", "the lam with the best mean CV mse"),
    ("2%", "the strongest lam whose mean CV mse is within 2% of the best"),
])
def test_rule_sentence(rule, words):
    _, cv, _, _ = make_fit(rule=rule)
    assert rule_sentence(cv) == words


def test_coefficient_table_lists_selected_coefficients_by_standardized_size():
    path, cv, X, y = make_fit()
    X = X * np.array([10.0, 0.1, 1.0, 1.0])  # scales that reorder the sizes
    html = build_report(path, cv, X=X, y=y, images=STUB)
    section = html[html.index('id="coefficients"'):html.index('id="bayes"')]
    b = path.coefs[cv.index_chosen]
    sd = X.std(axis=0)
    nz = np.flatnonzero(b)
    order = nz[np.argsort(-np.abs(b[nz]) * sd[nz])]
    assert list(order) != list(nz[np.argsort(-np.abs(b[nz]))])
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td>"
                      r"<td class=\"num\">(.*?)</td></tr>", section)
    assert [r[0] for r in rows] == [
        NAMES[j].replace("<", "&lt;").replace(">", "&gt;") for j in order
    ]
    assert [r[1] for r in rows] == [f"{b[j]:.4g}" for j in order]  # original scale
    assert [r[2] for r in rows] == [f"{b[j] * sd[j]:.4g}" for j in order]  # standardized
    text = re.sub(r"\s+", " ", section)
    assert f"{len(nz)} of 4 coefficients are selected" in text
    assert "ranked by size on the standardized scale" in text


def test_coefficient_table_without_data_ranks_on_the_original_scale():
    path, cv, _, _ = make_fit()
    html = build_report(path, cv, images=STUB)
    section = html[html.index('id="coefficients"'):html.index('id="bayes"')]
    assert "standardized" not in section
    b = path.coefs[cv.index_chosen]
    first = NAMES[int(np.argmax(np.abs(b)))]
    assert re.findall(r"<tr><td>(.*?)</td>", section)[0] == first
    # Standard deviations stored with the path (shrinkage fit) are used.
    sd = np.array([0.01, 1.0, 1.0, 1.0])
    stored = Path(**{**path.__dict__, "extra": {"feature_sd": sd}})
    html = build_report(stored, cv, images=STUB)
    section = html[html.index('id="coefficients"'):html.index('id="bayes"')]
    assert "<th>standardized</th>" in section
    assert re.findall(r"<tr><td>(.*?)</td>", section)[-1] == NAMES[0]


def test_feature_sds_weighted():
    from shrinkage.report import feature_sds

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * [1, 5, 0.2]
    w = rng.uniform(0.2, 3, 40)
    mean = np.average(X, axis=0, weights=w)
    ref = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(feature_sds(X, w), ref, rtol=1e-12)
    np.testing.assert_allclose(feature_sds(np.asfortranarray(X)), X.std(axis=0), rtol=1e-12)


def test_binomial_report_names_the_predicted_class():
    path, cv, X, y = make_fit(family="binomial")
    cv = CVResult(**{**cv.__dict__, "metric": "deviance",
                     "extra": {**cv.extra, "classes": np.array(["No", "Yes"])}})
    html = build_report(path, cv, X=X, y=(y > 0).astype(float), images=STUB,
                        data={"target": "default"})
    assert ("The model gives the probability that default is &#39;Yes&#39; (the second "
            "class in sorted order; &#39;No&#39; is the other).") in html


def test_multinomial_report_names_the_grouped_penalty_and_its_prior():
    path, cv, X, _ = make_fit()
    B = np.stack([path.coefs, -path.coefs, 0 * path.coefs], axis=2)
    path = Path(**{**path.__dict__, "coefs": B, "family": "multinomial",
                   "intercepts": np.zeros((path.n_lams, 3)), "classes": np.arange(3.0)})
    cv = CVResult(**{**cv.__dict__, "metric": "deviance"})
    html = re.sub(r"\s+", " ", build_report(path, cv, X=X, y=np.arange(60) % 3, images=STUB))
    assert "The multinomial penalty is grouped" in html
    bayes = html[html.index('id="bayes"'):html.index('id="reprod')]
    s = 1.0 / (X.shape[0] * cv.lam_chosen)
    assert f"exp(-||b_j|| / {s:.3g})" in bayes
    assert "is a group prior" in bayes and "not a Laplace prior on each coefficient" in bayes


def test_offset_in_the_report():
    from shrinkage.report import render_figures

    path, cv, X, y = make_fit()
    off = np.linspace(-1, 1, X.shape[0])
    # gaussian: the gap and the noise estimate use y - offset (the same residuals).
    html = build_report(path, cv, X=X, y=y + off, offset=off, images=STUB)
    plain = build_report(path, cv, X=X, y=y, images=STUB)
    bayes = html[html.index('id="bayes"'):html.index('id="reprod')]
    assert bayes == plain[plain.index('id="bayes"'):plain.index('id="reprod')]
    figs = render_figures(path, cv, X, y + off, offset=off)
    assert set(figs) == {"path", "cv", "gap"}
    # the offset enters the linear predictor: the same training error as y - offset
    from shrinkage.plotting.fits import path_scores

    np.testing.assert_allclose(path_scores(path, X, y + off, "mse", offset=off),
                               path_scores(path, X, y, "mse"), rtol=1e-12)
    # Other families: the gap plot adds the offset to the linear predictor too.
    pois = Path(**{**path.__dict__, "family": "poisson"})
    cvp = CVResult(**{**cv.__dict__, "metric": "deviance"})
    counts = np.arange(60) % 4
    figs = render_figures(pois, cvp, X, counts, offset=off)
    assert set(figs) == {"path", "cv", "gap"}
    html = build_report(pois, cvp, X=X, y=counts, offset=off, images=figs)
    assert "gap" in check_html(html).ids
    assert "left out" not in html


def test_data_summary_columns():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, images=STUB,
                        columns=[("x<1>", "numeric", 2, "mean 0.1"), ("c", "categorical", 0,
                                                                  "2 levels: a (3), b (1)")])
    section = html[html.index('id="data"'):html.index('id="path"')]
    assert ('<tr><td>x&lt;1&gt;</td><td>numeric</td><td class="num">2</td>'
            "<td>mean 0.1</td></tr>") in section
    assert "<td>2 levels: a (3), b (1)</td>" in section
    check_html(html)


def test_multinomial_table_uses_the_class_labels():
    path, cv, X, _ = make_fit()
    B = np.stack([path.coefs, -path.coefs, 0 * path.coefs], axis=2)
    path = Path(**{**path.__dict__, "coefs": B, "family": "multinomial",
                   "intercepts": np.zeros((path.n_lams, 3)), "classes": np.arange(3.0)})
    cv = CVResult(**{**cv.__dict__, "metric": "deviance",
                     "extra": {**cv.extra, "classes": np.array(["cat", "dog", "emu"])}})
    html = build_report(path, cv, X=X, y=np.arange(X.shape[0]) % 3, images=STUB)
    assert "<th>class cat</th><th>class dog</th><th>class emu</th>" in html
    b = B[cv.index_chosen]
    j = int(np.argmax(np.abs(b[:, 0])))
    assert f'<td class="num">{b[j, 0]:.4g}</td><td class="num">{b[j, 1]:.4g}</td>' in html


def test_long_coefficient_tables_are_capped(monkeypatch):
    import shrinkage.report as rep

    path, cv, X, y = make_fit()
    monkeypatch.setattr(rep, "_MAX_COEF_ROWS", 2)
    html = re.sub(r"\s+", " ", build_report(path, cv, X=X, y=y, images=STUB))
    n = int(np.count_nonzero(path.coefs[cv.index_chosen]))
    assert n == 3
    assert f"{n} of 4 coefficients are selected" in html
    assert "coefficients are on the original scale of the features (the 2 largest are " \
           "listed)" in html


def test_feature_names_are_escaped():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, images=STUB)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bayesian_reading_gives_the_implied_prior():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, images=STUB)
    i = cv.index_chosen
    r = y - (X @ path.coefs[i] + path.intercepts[i])
    sigma2 = r @ r / (X.shape[0] - path.nnz[i] - 1)
    # Laplace scale s = sigma^2 / (n lam), independently of the library's helpers.
    s = sigma2 / (X.shape[0] * cv.lam_chosen)
    section = re.sub(r"\s+", " ", html[html.index('id="bayes"'):html.index('id="reprod')])
    assert f"a Laplace prior with scale {s:.3g}" in section
    assert "posterior mode (MAP)" in section
    ridge_path, ridge_cv, X, y = make_fit(l1_ratio=0.0)
    html = build_report(ridge_path, ridge_cv, X=X, y=y, images=STUB)
    sd = np.sqrt(sigma2 / (X.shape[0] * ridge_cv.lam_chosen))
    assert f"a Gaussian prior with sd {sd:.3g}" in html


def test_binomial_reading_has_no_noise_scale():
    path, cv, X, y = make_fit(family="binomial")
    cv = CVResult(**{**cv.__dict__, "metric": "deviance"})
    yb = (y > np.median(y)).astype(float)
    html = build_report(path, cv, X=X, y=yb, images=STUB)
    s = 1.0 / (X.shape[0] * cv.lam_chosen)
    assert f"a Laplace prior with scale {s:.3g}" in html
    assert "binomial likelihood has no noise scale" in html


def test_reproducibility_section():
    path, cv, X, y = make_fit()
    html = build_report(path, cv, X=X, y=y, images=STUB,
                        command="shrinkage fit a.csv --target 'y z'")
    section = html[html.index('id="reproducibility"'):]
    from shrinkage import __version__

    for key, value in [("shrinkage", __version__), ("seed (fold assignment)", "42"),
                       ("folds", "5"), ("rule", "1se"), ("metric", "mse")]:
        assert f'<th scope="row">{key}</th><td>{value}</td>' in section
    assert "shrinkage fit a.csv --target &#39;y z&#39;" in section


def test_overfit_section_and_report_without_data():
    path, cv, _, _ = make_fit()
    html = build_report(path, cv, overfit=True)
    c = check_html(html)
    assert "overfit" in c.ids and "gap" not in c.ids
    assert len(c.imgs) == 3  # path, cv, overfit
    # Without X the gaussian noise comes from the CV mse at the chosen lam.
    n = cv.fold_ids.size
    s = cv.mean[cv.index_chosen] / (n * cv.lam_chosen)
    assert f"a Laplace prior with scale {s:.3g}" in html


def test_bad_inputs():
    path, cv, X, y = make_fit()
    with pytest.raises(TypeError, match="path must be a Path"):
        build_report(cv, cv)
    with pytest.raises(TypeError, match="cv must be a CVResult"):
        build_report(path, path)
    other = CVResult(**{**cv.__dict__, "lams": cv.lams * 2})
    with pytest.raises(ValueError, match="different lam grids"):
        build_report(path, other)


def test_write_report_is_atomic_and_refuses_to_overwrite(tmp_path):
    out = write_report("<!DOCTYPE html><html></html>", tmp_path / "report.html")
    assert out.read_text() == "<!DOCTYPE html><html></html>"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_report("x", out)
    write_report("y", out, overwrite=True)
    assert out.read_text() == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_template_ships_as_package_data():
    template = resources.files("shrinkage.report").joinpath("templates/report.html.j2")
    assert template.is_file()
    assert "{{ rule_sentence }}" in template.read_text()


def test_report_says_when_the_grid_was_extended():
    import numpy as np

    from shrinkage import cross_validate

    r = np.random.default_rng(4)
    X = r.standard_normal((150, 20))
    y = X[:, :12] @ r.uniform(0.5, 1.0, 12) + 0.3 * r.standard_normal(150)
    cv, path = cross_validate(X, y, cv=5, random_state=0, n_lams=10, lam_min_ratio=0.3,
                              return_path=True)
    assert cv.extra["grid_extensions"]
    html = build_report(path, cv, X=X, y=y)
    assert "the grid was extended" in html and "toward weaker strengths" in html
