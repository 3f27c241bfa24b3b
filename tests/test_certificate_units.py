"""Certificates do not depend on the units of X.

A KKT certificate is the largest violation in standardized units (divided by the column's
spread ``s_j`` about the model's centre) over the largest standardized gradient at the
path's start: the null model, or with unpenalised features their fit
(tests/test_certificate_scale.py: without standardization or an intercept;
tests/test_unpenalized_reference.py).
Measured in raw units, a feature recorded in tiny units hides its violation (its raw
gradient is ``s_j`` times its standardized one) and one in huge units inflates the
reference, hiding every other violation, the intercepts' included: the multinomial solver
did both and reported converged points 25,000 times less optimal than their certificate
said. Here each family fits a design with columns in units from 1e-5 to 1e4 and
unpenalised neighbours; every certificate is recomputed from the coefficients in plain
NumPy, and the fit of the same data in other units must be the same fit.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from _reference import kkt_residual, multinomial_certificate
from shrinkage import regularization_path
from shrinkage.validation import DataWarning

UNITS = np.array([1.0, 4e-5, 1.0, 2e4, 1.0, 1e-3])
PF = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])


def _data(family, seed):
    rng = np.random.default_rng(seed)
    n, p = 103, UNITS.size
    Z = rng.standard_normal((n, p)) + 0.4 * rng.standard_normal((n, 1))
    eta = Z @ rng.normal(scale=0.8, size=p)
    if family == "binomial":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.5 * eta / eta.std())).astype(float)
    else:
        B = rng.normal(size=(p, 3))
        y = np.argmax(Z @ B + rng.gumbel(size=(n, 3)), axis=1)
    return Z * UNITS, y


def _glm_certificates(family, X, y, path, pf, centred=False):
    """Largest standardized KKT violation (``_reference.kkt_residual``) over the largest
    standardized gradient at the path's start (intercept and the unpenalised features
    fitted, by scipy), at every point of ``path``."""
    s = X.std(axis=0)
    free = np.flatnonzero(pf == 0)
    Z = np.c_[np.ones(y.size), X[:, free]]

    def nll(t):
        eta = Z @ t
        mean = 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
        val = np.mean(np.logaddexp(0, eta) - y * eta if family == "binomial"
                      else mean - y * eta)
        return val, -Z.T @ (y - mean) / y.size

    t = minimize(nll, np.zeros(Z.shape[1]), jac=True, method="BFGS",
                 options={"gtol": 1e-13}).x
    eta0 = Z @ t
    resid = y - (1 / (1 + np.exp(-eta0)) if family == "binomial" else np.exp(eta0))
    top = np.max(np.abs((X - X.mean(0)).T @ resid / y.size) / s)
    return np.array([
        kkt_residual(family, X, y, b0, b, lam, path.l1_ratio, pf=pf, centred=centred) / top
        for lam, b0, b in zip(path.lams, path.intercepts, path.coefs)])


def _fit(family, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every point must converge
        return regularization_path(X, y, family, n_lams=8, tol=1e-7, penalty_factor=PF,
                                   **kw)


CASES = [("binomial", {}), ("poisson", {}), ("multinomial", {}),
         ("multinomial", {"multinomial_grouped": False})]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("family, kw", CASES)
def test_certificate_is_the_standardized_violation(family, kw, seed):
    X, y = _data(family, seed)
    path = _fit(family, X, y, **kw)
    if family == "multinomial":
        mine = multinomial_certificate(X, y, np.ones(y.size), None, path,
                                       kw.get("multinomial_grouped", True), PF)
    else:
        mine = _glm_certificates(family, X, y, path, PF)
    assert path.converged.all()
    # recomputed at the returned point: the same number within 10 % (the solver's
    # gradient is taken about the columns' means, the reference's about 0: they differ by
    # x_mean_j times the intercepts' remaining gradient, itself within the certificate)
    assert np.all(mine <= 1.1 * path.certificate + 1e-12)
    assert np.all(path.certificate <= 1.1 * mine + 1e-12)
    assert np.all(mine <= 1.1 * path.tol)


@pytest.mark.parametrize("family, kw", CASES + [("gaussian", {})])
def test_the_fit_does_not_depend_on_the_units(family, kw):
    X, y = _data("poisson" if family == "gaussian" else family, 7)
    y = y.astype(float) if family == "gaussian" else y
    in_units = _fit(family, X, y, **kw)
    standard = _fit(family, X / UNITS, y, **kw)
    np.testing.assert_allclose(in_units.lams, standard.lams, rtol=1e-9)
    scaled = in_units.coefs * (UNITS[:, None] if in_units.coefs.ndim == 3 else UNITS)
    # both are solved to tol = 1e-7 in the same standardized units
    np.testing.assert_allclose(scaled, standard.coefs, atol=1e-4 * np.abs(standard.coefs).max())
    np.testing.assert_allclose(in_units.intercepts, standard.intercepts, atol=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_cox_fit_does_not_depend_on_the_units(seed):
    """The Cox exact-Hessian model floored its curvature on the raw diagonal: a column in
    tiny units got a curvature far above its own, and 23 of 30 strengths stopped at the
    Newton cap where the same data in unit columns converged."""
    rng = np.random.default_rng(seed)
    n, p = 80, 6
    Z = rng.normal(size=(n, p))
    t = rng.exponential(np.exp(-(Z[:, 0] - Z[:, 1])))
    y = np.c_[t, (rng.uniform(size=n) < 0.7).astype(float)]
    units = np.array([1e-5, 1.0, 1.0, 1.0, 1.0, 5e3])
    fits = []
    for X in (Z, Z * units):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # every point must converge
            fits.append(regularization_path(X, y, "cox", tol=1e-8, n_lams=30,
                                            l1_ratio=0.5))
    standard, in_units = fits
    assert in_units.n_lams == standard.n_lams
    np.testing.assert_allclose(in_units.coefs * units, standard.coefs,
                               atol=1e-4 * np.abs(standard.coefs).max())


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_the_returned_numbers_reproduce_the_certificate_or_a_warning_says_why(family):
    """A column far from zero is fitted exactly (centred), but the intercept in X's units
    holds ``-mean * b`` and ``X b + intercept`` cancels ``eps * mean / sd`` of the feature's
    effect. Up to 1e8 standard deviations from zero the certificate recomputed from the
    returned coefficients is the reported one, silently; at 1e12 it no longer is (5e-5
    binomial and 3e-5 poisson against the 7e-8 certified, measured) and a DataWarning
    names the column."""
    X, y = _data(family, 3)
    sd = X[:, 4].std()
    for shift in (0.0, 1e4 * sd, 1e8 * sd):
        Xs = X.copy()
        Xs[:, 4] += shift
        path = _fit(family, Xs, y)  # (warnings are errors in _fit)
        mine = _glm_certificates(family, Xs, y, path, PF, centred=True)
        assert path.converged.all()
        assert np.all(mine <= 1.1 * path.tol), shift
    Xs = X.copy()
    Xs[:, 4] += 1e12 * sd
    with pytest.warns(DataWarning, match=r"X column 4 lies 1e\+12 standard deviations "
                                          r"from zero.*about 0.0002 of"):
        path = regularization_path(Xs, y, family, n_lams=8, tol=1e-7, penalty_factor=PF)
    assert path.converged.all()
    assert np.max(_glm_certificates(family, Xs, y, path, PF, centred=True)) > 10 * path.tol


def test_far_columns_are_named_by_every_fit_with_an_intercept():
    """ridge_path, feature names and the distributed path say the same; without an
    intercept nothing is centred, nothing cancels and nothing is said."""
    from shrinkage import ridge_path

    X, y = _data("binomial", 4)
    X[:, 2] += 1e11 * X[:, 2].std()
    X[:, 5] += 1e13 * X[:, 5].std()
    with pytest.warns(DataWarning, match=r"X column 2, X column 5 lie up to 1e\+13 standard "
                                          r"deviations from zero \(X column 5\)"):
        ridge_path(X, y)
    with pytest.warns(DataWarning, match=r"feature 'b' lies"):
        regularization_path(X[:, [0, 2]], y, feature_names=["a", "b"], n_lams=5)
    import dask.array as da

    import shrinkage.distributed as dist

    with pytest.warns(DataWarning, match=r"X column 2, X column 5 lie up to"):
        dist.regularization_path(da.from_array(X, chunks=(50, X.shape[1])), y, "binomial",
                                 n_lams=5, scheduler="synchronous")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        regularization_path(X, y, fit_intercept=False, n_lams=5)
        ridge_path(X, y, fit_intercept=False)


@pytest.mark.parametrize("family", ["binomial", "poisson", "multinomial", "cox"])
def test_nearly_collinear_unpenalised_pair_is_named_for_every_kkt_family(family):
    """Two unpenalised columns 1e-8 apart, y driven by their difference: the gradient
    along the difference is 1e-8 times its correlation with the residual, so a KKT
    certificate reads converged while the objective there is far from its minimum
    (binomial: 0.13 nats per row above the unpenalised optimum, certified 2e-8). The
    fit cannot say it; a DataWarning names the pair. At 1e-2 apart the fit is the exact
    unpenalised one (checked against the same fit on the separated columns), silently."""
    rng = np.random.default_rng(0)
    n = 300
    X = rng.standard_normal((n, 5))
    z = rng.standard_normal(n)
    eta = 0.5 * X[:, 2] + z
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    elif family == "multinomial":
        y = np.digitize(eta + rng.logistic(size=n), [-0.5, 0.5])
    else:
        y = np.column_stack([rng.exponential(np.exp(-eta)), rng.random(n) < 0.8])
    pf = np.r_[0.0, 0.0, np.ones(3)]
    for gap, named in ((1e-8, True), (1e-2, False)):
        Xd = X.copy()
        Xd[:, 1] = X[:, 0] + gap * z
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            path = regularization_path(Xd, y, family, penalty_factor=pf, n_lams=5)
        said = [str(w.message) for w in seen if issubclass(w.category, DataWarning)]
        assert any("nearly collinear" in m and "X column 0" in m and "X column 1" in m
                   for m in said) == named, said
        if not named:  # the same model on well separated columns: the same fit
            Xs = X.copy()
            Xs[:, 1] = z
            ref = regularization_path(Xs, y, family, penalty_factor=pf, lams=path.lams,
                                      tol=1e-10)
            eta_ref = Xs @ ref.coefs[0] + (ref.intercepts[0] if family != "cox" else 0)
            eta_got = Xd @ path.coefs[0] + (path.intercepts[0] if family != "cox" else 0)
            np.testing.assert_allclose(eta_got, eta_ref, atol=2e-3)


def test_nearly_collinear_unpenalised_pair_is_named_on_blocked_data():
    """On data summarised in one pass only the free features' Gram block is known: past a
    difference of about 1e-8 it has lost their difference (the columns' condition number
    is the square root of the Gram's), and the pair is named as in memory."""
    import dask.array as da

    import shrinkage.distributed as dist

    rng = np.random.default_rng(0)
    n = 400
    X = rng.standard_normal((n, 5))
    z = rng.standard_normal(n)
    y = X[:, 2] + z + 0.1 * rng.standard_normal(n)
    pf = np.r_[0.0, 0.0, 1.0, 1.0, 1.0]
    for gap, named in ((1e-8, True), (1e-2, False)):
        Xd = X.copy()
        Xd[:, 1] = X[:, 0] + gap * z
        for family, t in (("gaussian", y), ("binomial", (y > 0).astype(float))):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                dist.regularization_path(da.from_array(Xd, chunks=(100, 5)), t, family,
                                         penalty_factor=pf, n_lams=5,
                                         scheduler="synchronous")
            said = [str(w.message) for w in seen if issubclass(w.category, DataWarning)]
            assert any("X column 0 and X column 1 are nearly collinear (their difference "
                       "lies below what X^T X resolves)" in m for m in said) == named, said
