"""Certificates are measured from the path's start: the fit of the unpenalised features.

Every certificate is relative (a duality gap to an objective, a KKT violation to a
gradient). Measured against the intercept-only model, a large unpenalised effect (``y =
c x_0 + signal`` with ``x_0`` unpenalised) inflated that reference by about ``c^2 var(x_0)``:
a gaussian lasso at the default tolerance was certified with its penalised coefficients
3-7 % off at ``c = 1e4`` (group lasso included), and the KKT families up to 8e-5 off.
Now the references are those of the unpenalised fit (``Solver.rebase_reference``; the
blocked solvers of ``shrinkage.distributed`` likewise).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage import regularization_path


def _gaussian(seed, n=200, p=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] += 0.5 * X[:, [0]]
    beta = np.r_[0.0, 1.0, -0.5, 0.3, 0.0, 0.0, 0.2, 0.0][:p]
    return X, X @ beta + rng.standard_normal(n)


@pytest.mark.parametrize("fmt", ["dense", "csc", "gram"])
@pytest.mark.parametrize("c", [1e2, 1e4, 1e6])
def test_an_unpenalised_shift_of_y_moves_only_its_own_coefficient(fmt, c):
    # exact invariance: with x_0 unpenalised, y -> y + c x_0 moves b_0 by c and nothing else
    X, y = _gaussian(8, n=400 if fmt == "gram" else 60)
    Xin = sp.csc_matrix(X) if fmt == "csc" else X
    pf = np.r_[0.0, np.ones(X.shape[1] - 1)]
    lams = np.logspace(0, -3, 12) * 0.5
    exact = regularization_path(Xin, y, penalty_factor=pf, lams=lams, tol=1e-13)
    shifted = regularization_path(Xin, y + c * X[:, 0], penalty_factor=pf, lams=lams)
    assert shifted.converged.all()
    top = np.max(np.abs(exact.coefs[:, 1:]))
    # the default tolerance (3e-5 of the objective at the start) leaves 1e-9 here; the
    # null-model reference left 1.2e-3 (c = 1e2) to 3.4e-2 (c = 1e4)
    np.testing.assert_allclose(shifted.coefs[:, 1:], exact.coefs[:, 1:], rtol=0,
                               atol=1e-6 * top)
    np.testing.assert_allclose(shifted.coefs[:, 0] - exact.coefs[:, 0], c, rtol=1e-9)


def test_group_lasso_with_an_unpenalised_group():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 12))
    X[:, 2:] += 0.5 * X[:, [0]]
    y = X @ np.r_[0, 0, 0.5, -0.3, 0.2, 0.1, 0, 0, 0.3, 0, 0, 0] + rng.standard_normal(300)
    kw = dict(feature_groups=np.repeat(np.arange(6), 2), penalty_factor=np.r_[0.0, np.ones(5)])
    exact = regularization_path(X, y, n_lams=20, tol=1e-13, **kw)
    shifted = regularization_path(X, y + 1e4 * X[:, 0], lams=exact.lams, **kw)
    assert shifted.converged.all()
    top = np.max(np.abs(exact.coefs[:, 2:]))
    # 1.0e-4 measured (the default tolerance's own accuracy); 6.7e-2 before
    np.testing.assert_allclose(shifted.coefs[:, 2:], exact.coefs[:, 2:], rtol=0,
                               atol=1e-3 * top)


@pytest.mark.parametrize("family, c", [("poisson", 2.5), ("poisson", 4.0),
                                       ("binomial", 4.0), ("binomial", 8.0)])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_kkt_families_measure_violations_from_the_unpenalised_fit(family, c, fmt):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 10))
    X[:, 1:] += 0.5 * X[:, [0]]
    eta = c * X[:, 0] + X @ np.r_[0, 0.3, -0.2, 0.15, 0, 0, 0.1, 0, 0, 0]
    y = (rng.poisson(np.exp(eta)).astype(float) if family == "poisson"
         else (rng.random(400) < 1 / (1 + np.exp(-eta))).astype(float))
    Xin = sp.csc_matrix(X) if fmt == "csc" else X
    pf = np.r_[0.0, np.ones(9)]
    tight = regularization_path(Xin, y, family, penalty_factor=pf, n_lams=30, tol=1e-12)
    top = np.max(np.abs(tight.coefs[:, 1:]))
    plain = regularization_path(Xin, y, family, penalty_factor=pf, lams=tight.lams, tol=3e-6)
    assert tight.converged.all() and plain.converged.all()
    err = np.max(np.abs(plain.coefs[:, 1:] - tight.coefs[:, 1:]))
    # 6e-8 to 2.8e-6 of the largest penalised coefficient measured; 2.3e-5 to 8.2e-5 with
    # the null model's gradient as the reference
    assert err <= 1e-5 * top
    if family == "binomial":  # the default, weighted 3e-5: its weights' reference too
        default = regularization_path(Xin, y, family, penalty_factor=pf, lams=tight.lams)
        assert default.converged.all()
        assert default.certificate_kind == "weighted_kkt_violation"
        # 1.15e-5 measured (c = 4, dense)
        assert np.max(np.abs(default.coefs[:, 1:] - tight.coefs[:, 1:])) <= 5e-5 * top


@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
def test_distributed_paths_measure_from_the_unpenalised_fit_too(family):
    import dask.array as da

    import shrinkage.distributed as dist

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 6))
    X[:, 1:] += 0.5 * X[:, [0]]
    signal = X @ np.r_[0, 0.3, -0.2, 0.15, 0, 0.1]
    if family == "gaussian":
        y = 1e4 * X[:, 0] + signal + rng.standard_normal(300)
    elif family == "binomial":
        eta = 8.0 * X[:, 0] + signal
        y = (rng.random(300) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(2.5 * X[:, 0] + signal)).astype(float)
    pf = np.r_[0.0, np.ones(5)]
    tight = regularization_path(X, y, family, penalty_factor=pf, n_lams=15, tol=1e-12)
    blocked = dist.regularization_path(da.from_array(X, chunks=(60, 6)), y, family,
                                       penalty_factor=pf, lams=tight.lams,
                                       scheduler="synchronous")
    assert blocked.converged.all()
    err = np.max(np.abs(blocked.coefs[:, 1:] - tight.coefs[:, 1:]))
    assert err <= 1e-5 * np.max(np.abs(tight.coefs[:, 1:]))


def test_wide_disk_path_measures_from_the_unpenalised_fit_too():
    import shrinkage.distributed as dist

    rng = np.random.default_rng(6)
    X = rng.standard_normal((80, 300))
    X[:, 1:] += 0.5 * X[:, [0]]
    y = 1e4 * X[:, 0] + X[:, 1:6] @ np.r_[0.8, -0.6, 0.5, 0.4, -0.3] + rng.standard_normal(80)
    pf = np.r_[0.0, np.ones(299)]
    exact = regularization_path(X, y - 1e4 * X[:, 0], penalty_factor=pf, n_lams=15,
                                tol=1e-13)
    wide = dist.wide_path(X, y, penalty_factor=pf, lams=exact.lams, tol=1e-9)
    assert wide.converged.all()
    top = np.max(np.abs(exact.coefs[:, 1:]))
    # 1.1e-1 of the largest penalised coefficient off before (certified 1.2e-9)
    np.testing.assert_allclose(wide.coefs[:, 1:], exact.coefs[:, 1:], rtol=0, atol=1e-4 * top)


def _all_free_data(family, rng, n=120, p=3):
    X = rng.standard_normal((n, p))
    eta = X @ np.array([0.8, -0.5, 0.3])[:p]
    if family == "binomial":
        return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    if family == "poisson":
        return X, rng.poisson(np.exp(eta)).astype(float)
    if family == "multinomial":
        return X, np.argmax(np.c_[eta, -eta, 0 * eta] + rng.gumbel(size=(n, 3)), axis=1)
    return X, np.c_[rng.exponential(np.exp(-eta)), rng.random(n) < 0.8]  # cox


@pytest.mark.parametrize("family", ["binomial", "poisson", "multinomial", "cox"])
@pytest.mark.parametrize("route", ["memory", "blocked"])
def test_a_path_without_penalised_features_certifies_its_exact_fit(family, route):
    """With every feature unpenalised (or the penalised ones fixed by ``lower == upper``)
    the start is the whole fit and its gradients are rounding: measured against them, a
    strict tolerance asked for violations below rounding, and every strength read
    unconverged after ``max_iter`` sweeps at the exact fit. The reference stays the null
    model's then."""
    rng = np.random.default_rng(11)
    X, y = _all_free_data(family, rng)
    p = X.shape[1]
    for pf, lower, upper in ((np.zeros(p), None, None),
                             (np.r_[0.0, 0.0, 1.0], np.r_[-np.inf, -np.inf, 0.0],
                              np.r_[np.inf, np.inf, 0.0])):
        kw = dict(penalty_factor=pf, lower=lower, upper=upper, n_lams=4, tol=1e-10,
                  max_iter=2_000)
        if family == "multinomial":
            kw["multinomial_grouped"] = False
        if route == "memory":
            path = regularization_path(X, y, family, **kw)
        else:
            import dask.array as da

            import shrinkage.distributed as dist

            path = dist.regularization_path(da.from_array(X, chunks=(40, p)), y, family,
                                            scheduler="synchronous", **kw)
        assert path.converged.all(), (pf, path.certificate)
        assert np.all(path.n_iter < 2_000)
