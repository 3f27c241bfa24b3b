"""Fuzzing: random shapes, scales, sparsity and weights through the public entry points.

Invariants checked on every example:
- the call either succeeds or raises a documented ``ValueError``/``TypeError`` (the
  messages listed in ``DOCUMENTED``); anything else is a bug;
- every output array is finite;
- every path point is certified (``path.converged``) or a ``ConvergenceWarning`` was
  issued that names it, and the certificate of a converged point is within ``tol``.

CI runs the ``shrinkage-ci`` profile (few, derandomized examples, within the test-time
budget). For a longer local hunt: ``SHRINKAGE_FUZZ_EXAMPLES=500 pytest tests/test_fuzz.py``.
"""

import os
import re
import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkage import ConvergenceWarning, cross_validate, regularization_path
from shrinkage.estimators import PenalizedClassifier, PenalizedRegressor

settings.register_profile(
    "shrinkage-ci",
    max_examples=int(os.environ.get("SHRINKAGE_FUZZ_EXAMPLES", "15")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("shrinkage-ci")

# The ValueErrors that valid-looking random data may legitimately trigger.
DOCUMENTED = re.compile(
    "|".join([
        r"single class",                      # binomial/multinomial target with one label
        r"one class only",
        r"only one class has positive sample_weight",
        r"only one class of y has positive sample_weight",
        r"have no positive sample_weight",
        r"every positive count of y has zero sample_weight",
        r"every mean score is NaN",           # every strength failed in some fold
        r"is all zero; the poisson model",    # poisson y all zero
        r"has no positive count of y",         # a CV fold trains on zero counts only
        r"sample_weight is zero on every",    # a CV fold whose rows all have weight 0
    ])
)
@st.composite
def designs(draw, min_n=2, max_n=40, max_p=12):
    n = draw(st.integers(min_n, max_n))
    p = draw(st.integers(1, max_p))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    log_scales = draw(st.lists(st.floats(-6, 6), min_size=p, max_size=p))
    X = rng.standard_normal((n, p)) * 10.0 ** np.asarray(log_scales)
    X += draw(st.floats(-1e3, 1e3)) * rng.integers(0, 2, p)  # some shifted columns
    density = draw(st.sampled_from([1.0, 0.5, 0.1]))
    if density < 1.0:
        X[rng.uniform(size=(n, p)) > density] = 0.0
    if p > 1 and draw(st.booleans()):
        X[:, -1] = X[:, 0]  # a duplicated column
    if draw(st.booleans()):
        X[:, draw(st.integers(0, p - 1))] = draw(st.floats(-5, 5))  # a constant column
    layout = draw(st.sampled_from(["F", "C", "csc", "csr", "f32"]))
    if layout == "F":
        Xo = np.asfortranarray(X)
    elif layout == "C":
        Xo = np.ascontiguousarray(X)
    elif layout == "f32":
        Xo = X.astype(np.float32)
        X = Xo.astype(np.float64)
    else:
        Xo = sp.csc_matrix(X) if layout == "csc" else sp.csr_matrix(X)
    wkind = draw(st.sampled_from(["none", "positive", "with_zeros", "integer"]))
    if wkind == "none":
        w = None
    elif wkind == "positive":
        w = rng.uniform(0.1, 10.0, n)
    elif wkind == "with_zeros":
        w = rng.uniform(0.0, 1.0, n) * (rng.uniform(size=n) > 0.3)
        if not w.any():
            w[0] = 1.0
    else:
        w = rng.integers(1, 4, n).astype(float)
    return X, Xo, w, rng


def _target(family, X, rng):
    n, p = X.shape
    sd = X.std(0)
    Z = np.divide(X - X.mean(0), sd, out=np.zeros_like(X), where=sd > 0)
    eta = Z[:, : min(3, p)].sum(1)
    if family == "gaussian":
        return eta + rng.standard_normal(n) * rng.choice([1e-3, 1.0, 1e3])
    if family == "binomial":
        return (eta + rng.standard_normal(n) > 0).astype(float)
    if family == "poisson":
        return rng.poisson(np.exp(np.clip(0.5 * eta, -5, 5))).astype(float)
    return rng.integers(0, 3, n)


def _call(fn):
    """Run fn; return (result, warnings) or None for a documented ValueError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except ValueError as exc:
            assert DOCUMENTED.search(str(exc)), (
                f"undocumented ValueError: {exc}")
            return None, caught
    return out, caught


def _check_path(path, caught):
    assert np.isfinite(path.coefs).all()
    assert np.isfinite(path.intercepts).all()
    assert np.isfinite(path.lams).all() and np.all(path.lams >= 0)
    assert np.all((path.dev_ratio <= 1 + 1e-9) & np.isfinite(path.dev_ratio))
    assert np.all(path.certificate[path.converged] <= path.tol)
    if not path.converged.all():
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


@FUZZ
@given(data=designs(), family=st.sampled_from(["gaussian", "binomial", "poisson",
                                                "multinomial"]),
       l1_ratio=st.sampled_from([1.0, 0.5, 0.05, 0.0]), standardize=st.booleans())
def test_path_fuzz(data, family, l1_ratio, standardize):
    X, Xo, w, rng = data
    y = _target(family, X, rng)
    path, caught = _call(lambda: regularization_path(
        Xo, y, family=family, l1_ratio=l1_ratio, standardize=standardize, sample_weight=w,
        n_lams=12, max_iter=2_000))
    if path is not None:
        _check_path(path, caught)
        assert path.coefs.shape[1] == X.shape[1]


@FUZZ
@given(data=designs(min_n=12, max_n=40, max_p=8),
       family=st.sampled_from(["gaussian", "binomial", "poisson"]))
def test_cross_validate_fuzz(data, family):
    X, Xo, w, rng = data
    y = _target(family, X, rng)
    out, caught = _call(lambda: cross_validate(
        Xo, y, family=family, cv=3, sample_weight=w, n_lams=8, random_state=0,
        return_path=True))
    if out is None:
        return
    cvres, path = out
    _check_path(path, caught)
    finite = np.isfinite(cvres.mean)
    assert finite.any()
    assert cvres.lam_chosen in cvres.lams
    assert np.isfinite(cvres.lam_chosen)


@FUZZ
@given(data=designs(min_n=4, max_n=30, max_p=6), lam=st.floats(0.0, 10.0),
       classify=st.booleans())
def test_estimators_fuzz(data, lam, classify):
    X, Xo, w, rng = data
    if classify:
        y = _target("binomial", X, rng)
        est = PenalizedClassifier(lam=lam)
    else:
        y = _target("gaussian", X, rng)
        est = PenalizedRegressor(lam=lam)
    fitted, _ = _call(lambda: est.fit(Xo, y, sample_weight=w))
    if fitted is None:
        return
    pred = fitted.predict(Xo)
    assert pred.shape == (X.shape[0],)
    assert np.all(np.isfinite(fitted.coef_)) and np.all(np.isfinite(fitted.intercept_))
    if classify:
        proba = fitted.predict_proba(Xo)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(1), 1.0)
    else:
        assert np.isfinite(pred).all()
