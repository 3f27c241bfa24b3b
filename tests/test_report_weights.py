"""The report reads a weighted or offset fit as the fit did: the gap plot's training error,
the noise estimate and sample count behind the Bayesian reading, and a warning for
strengths left unconverged."""

import re

import numpy as np
import pytest

import shrinkage
from shrinkage.plotting.fits import path_scores
from shrinkage.report import build_report, render_figures
from shrinkage.results import CVResult, Path

STUB = {k: b"\x89PNG\r\n\x1a\nstub" for k in ("path", "cv", "gap")}


def _bayes(html):
    return re.sub(r"\s+", " ", html[html.index('id="bayes"'):html.index('id="reprod')])


def _poisson_fit(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 5))
    off = rng.uniform(-0.5, 0.5, 80)
    w = rng.uniform(0.2, 3.0, 80)
    y = rng.poisson(np.exp(0.3 + X[:, 0] * 0.5 + off))
    path = shrinkage.regularization_path(X, y, family="poisson", offset=off, sample_weight=w,
                                         n_lams=10)
    return X, y, off, w, path


def test_training_error_adds_the_offset_and_weights_the_rows():
    X, y, off, w, path = _poisson_fit()
    got = path_scores(path, X, y, "deviance", sample_weight=w, offset=off)
    mu = np.exp(X @ path.coefs.T + path.intercepts + off[:, None])
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)[:, None]
    unit = 2.0 * (ylogy - y[:, None] * np.log(mu) - (y[:, None] - mu))
    np.testing.assert_allclose(got, w @ unit / w.sum(), rtol=1e-12)
    # the last point fits better in the offset's frame than without it
    plain = path_scores(path, X, y, "deviance")
    assert not np.allclose(plain, got)


def test_offset_check_names_the_offset():
    X, y, off, w, path = _poisson_fit()
    with pytest.raises(ValueError, match="offset"):
        path_scores(path, X, y, "deviance", offset=off[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        path_scores(path, X, y, "deviance", sample_weight=-w)


def test_report_draws_the_gap_of_an_offset_glm():
    X, y, off, w, path = _poisson_fit()
    cv = shrinkage.cross_validate(X, y, family="poisson", offset=off, sample_weight=w,
                                  lams=path.lams, cv=4, random_state=0)
    figs = render_figures(path, cv, X, y, offset=off, sample_weight=w)
    assert "gap" in figs
    html = build_report(path, cv, X=X, y=y, offset=off, sample_weight=w, images=figs)
    assert "left out" not in html


def _gaussian(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((90, 6))
    y = X[:, :2] @ np.array([1.5, -1.0]) + rng.standard_normal(90)
    y[:10] += 40.0  # rows the user gives no weight: they must not enter the noise estimate
    w = np.ones(90)
    w[:10] = 0.0
    path = shrinkage.regularization_path(X, y, sample_weight=w, n_lams=12)
    cv = shrinkage.cross_validate(X, y, sample_weight=w, lams=path.lams, cv=5,
                                  random_state=0)
    return X, y, w, path, cv


def test_noise_estimate_ignores_rows_without_weight():
    X, y, w, path, cv = _gaussian()
    keep = w > 0
    weighted = _bayes(build_report(path, cv, X=X, y=y, sample_weight=w, images=STUB))
    subset = _bayes(build_report(path, cv, X=X[keep], y=y[keep], images=STUB))
    # the same numbers as the report on the 80 rows that carry weight
    assert re.sub(r" \(weighted:[^)]*\)", "", weighted) == subset
    # weights are relative: scaling them changes nothing
    scaled = _bayes(build_report(path, cv, X=X, y=y, sample_weight=7 * w, images=STUB))
    assert scaled == weighted


def test_noise_estimate_reads_weights_as_precisions():
    X, y, w, path, cv = _gaussian()
    v = np.where(np.arange(90) % 2 == 0, 0.5, 2.0) * w  # mean 1.25 over the kept rows
    html = _bayes(build_report(path, cv, X=X, y=y, sample_weight=v, images=STUB))
    i = cv.index_chosen
    r = y - X @ path.coefs[i] - path.intercepts[i]
    m = 80
    sigma2 = (v * m / v.sum()) @ r**2 / (m - path.nnz[i] - 1)
    prior = shrinkage.implied_prior(cv.lam_chosen, l1_ratio=1.0, noise_sd=np.sqrt(sigma2),
                                    n_samples=m, standardize=True)
    assert re.sub(r"\s+", " ", prior.describe()) in html


def _unconverged(failed, certs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X[:, 0] + rng.standard_normal(40)
    L = 6
    lams = np.logspace(0, -2, L)
    cert = np.full(L, 1e-9)
    cert[failed] = certs
    converged = np.ones(L, bool)
    converged[failed] = False
    path = Path(lams=lams, coefs=np.zeros((L, 3)), intercepts=np.full(L, y.mean()),
                nnz=np.zeros(L, int), dev_ratio=np.zeros(L), null_deviance=40.0,
                certificate=cert, certificate_kind="max_kkt_violation", converged=converged,
                n_iter=np.ones(L, int), family="gaussian", l1_ratio=1.0, tol=1e-6,
                standardize=True, fit_intercept=True)
    mean = np.linspace(2, 1, L)
    cv = CVResult(lams=lams, fold_scores=np.tile(mean, (4, 1)), fold_weights=np.full(4, 10.0),
                  mean=mean, se=np.full(L, 0.1), metric="mse", greater_is_better=False,
                  index_min=L - 1, index_chosen=L - 1, rule="min", nnz=path.nnz,
                  fold_ids=np.arange(40) % 4, random_state=0,
                  extra={"n_folds": 4, "n_repeats": 1})
    return re.sub(r"\s+", " ", build_report(path, cv, X=X, y=y, images=STUB))


def test_report_warns_of_unconverged_strengths_beside_the_path():
    html = _unconverged([2, 4], [3e-4, np.nan])
    path_section = html[html.index('id="path"'):html.index('id="cv"')]
    assert "Warning: 2 of 6 strengths did not converge" in path_section
    lam = np.logspace(0, -2, 6)[2]
    assert (f"the largest max_kkt_violation, 0.0003, at lam = {lam:.4g}, against the "
            "tolerance 1e-06; 1 without a computed certificate" in path_section)
    assert "did not converge" not in _unconverged([], [])


def test_report_warns_when_no_certificate_was_computed():
    html = _unconverged([1, 3], [np.nan, np.nan])
    assert ("Warning: 2 of 6 strengths did not converge (2 without a computed certificate)"
            in html)
