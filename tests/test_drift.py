"""Certificates belong to the returned coefficients: the solvers' running predictor, kept
by adding steps, is checked against X b at the end of each strength (engine.drift)."""

import types
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import shrinkage
from shrinkage.engine.drift import (
    certify_settled,
    exact_predictor,
    predictor_drift,
    settle_predictor,
)
from shrinkage.engine.kernels.active_set import step_cancels
from shrinkage.engine.kernels.moments import centred_combination
from shrinkage.engine.kernels.predictor import exact_and_spread
from shrinkage.model.families import get_family


def _prob(X, family="poisson", offset=None):
    n, p = X.shape
    xm = np.zeros(p)

    def centred_matvec(b, idx):  # Problem.centred_matvec's arithmetic
        out = np.zeros(n)
        centred_combination(X, None, None, None, False, xm, np.asarray(idx, dtype=np.int64),
                            np.ascontiguousarray(b[idx]), out)
        return out

    return types.SimpleNamespace(
        family=get_family(family), w=np.full(n, 1.0 / n), offset=offset, tol=1e-6, n=n, p=p,
        xm=xm, scale=X.std(0), kernel_design=lambda: (X, None, None, None, False),
        centred_matvec=centred_matvec)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("with_offset", [False, True])
def test_the_fused_exact_predictor_is_the_exact_predictor(sparse, with_offset):
    # settle_predictor reads X b and its spread from the running predictor in one kernel
    rng = np.random.default_rng(3)
    Xd = rng.standard_normal((40, 6)) * (rng.random((40, 6)) < 0.4)
    xm = Xd.mean(axis=0)
    b = np.array([0.3, 0.0, -0.2, 0.0, 0.1, 2.0])
    off = rng.standard_normal(40) if with_offset else None
    w = rng.random(40)
    w /= w.sum()
    if sparse:
        Xs = sp.csc_matrix(Xd)
        design = (None, Xs.data, Xs.indices.view(np.uint32), Xs.indptr, True)
    else:
        design = (np.asfortranarray(Xd), None, None, None, False)
    running = rng.standard_normal(40)
    exact = np.empty(40)
    spread, top = exact_and_spread(*design, xm, b, 0.25, off, running, w, exact)
    want = (Xd - xm) @ b + 0.25 + (0.0 if off is None else off)
    np.testing.assert_allclose(exact, want, rtol=1e-13, atol=1e-14)
    assert spread == pytest.approx(np.sqrt(w @ (want - running) ** 2), rel=1e-12)
    assert top == max(exact.max(), running.max())
    assert exact_and_spread(*design, xm, b, 0.25, off, exact.copy(), w, exact)[0] == 0.0


def _solver(prob, b, b0, eta, by_mean=True):
    return types.SimpleNamespace(prob=prob, b=b, b0=b0, eta=eta, grad_scale=2.0,
                                 drift_by_mean=by_mean)


def test_settle_adds_the_drift_bound_or_adopts_the_exact_predictor():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    b = np.array([0.3, 0.0, -0.2, 0.1])
    off = rng.standard_normal(50)
    prob = _prob(X, offset=off)
    exact = exact_predictor(prob, b, 0.5)
    np.testing.assert_allclose(exact, X @ b + 0.5 + off, rtol=1e-14)
    # no drift: the certificate stands, nothing is replaced
    running = exact.copy()
    s = _solver(prob, b, 0.5, running)
    assert settle_predictor(s, 4e-7) == (4e-7, False) and s.eta is running
    # a small drift: the certificate grows by a bound on the gradient's change, first the
    # one from the mean's slope (no mean evaluated), which holds the exact one
    drifted = exact + 1e-9 * rng.standard_normal(50)
    s = _solver(prob, b, 0.5, drifted)
    bound = np.sqrt(np.mean((np.exp(exact) - np.exp(drifted)) ** 2)) / 2.0
    slope = np.exp(np.maximum(exact, drifted).max())  # the poisson mean's, up to the top
    cheap = slope * np.sqrt(np.mean((exact - drifted) ** 2)) / 2.0
    cert, adopted = settle_predictor(s, 4e-7)
    assert not adopted and cert == pytest.approx(4e-7 + cheap, rel=1e-12)
    assert 0 < bound <= cheap
    # where the slope's bound is too loose, the means are evaluated
    prob.tol = 4e-7 + (bound + cheap) / 2
    cert, adopted = settle_predictor(s, 4e-7)
    assert not adopted and cert == pytest.approx(4e-7 + bound, rel=1e-12)
    prob.tol = 1e-6
    # rows of zero weight move no gradient: a drift there leaves everything as it was
    prob.w = np.where(np.arange(50) < 5, 0.0, 1.0 / 45)
    s = _solver(prob, b, 0.5, np.where(np.arange(50) < 5, exact + 1.0, exact))
    assert settle_predictor(s, 4e-7) == (4e-7, False)
    prob.w = np.full(50, 1.0 / 50)
    # a NaN in the running predictor is never certified
    s = _solver(prob, b, 0.5, np.where(np.arange(50) == 7, np.nan, exact))
    assert settle_predictor(s, 4e-7)[1]
    # a drift past the tolerance: the exact predictor replaces the running one
    s = _solver(prob, b, 0.5, exact + 1e-3)
    cert, adopted = settle_predictor(s, 4e-7)
    assert adopted and cert == 4e-7
    np.testing.assert_array_equal(s.eta, exact)
    # a family whose residual couples rows adopts any difference
    s = _solver(prob, b, 0.5, drifted, by_mean=False)
    assert settle_predictor(s, 4e-7)[1]
    assert predictor_drift(prob, np.full(50, 800.0), exact) == np.inf  # overflow


def _hostile_case():
    """A poisson design that made the running predictor drift: a column of sd 1e-7 with a
    coefficient of 2e7, a negated duplicate pair and a column of sd 1e5, no intercept,
    counts of mean 4e4."""
    rng = np.random.default_rng(10)
    n, p = int(rng.choice([6, 30, 100])), int(rng.choice([1, 3, 8, 25]))
    X = rng.standard_normal((n, p))
    for j in range(p):
        t = rng.integers(0, 8)
        if t == 0:
            X[:, j] *= 10.0 ** rng.uniform(-8, 8)
        elif t == 1:
            X[:, j] += 10.0 ** rng.uniform(3, 7)
        elif t == 2 and j > 0:
            X[:, j] = X[:, rng.integers(0, j)] * rng.choice([-1, 1, 2.5])
        elif t == 3 and j > 1:
            X[:, j] = X[:, 0] + X[:, 1]
        elif t == 4:
            X[:, j] = (rng.random(n) < 0.1).astype(float)
        elif t == 5:
            X[:, j] = rng.integers(0, 3, n)
    sd = X.std(0)
    sd[sd == 0] = 1
    eta = ((X - X.mean(0)) / sd)[:, :3].sum(1) * rng.choice([0.3, 1, 4])
    y = rng.poisson(np.exp(np.clip(eta, -5, 5)) * rng.choice([0.01, 1, 1e4])).astype(float)
    return X[:, [1, 4, 5, 6, 15, 21]], y


@pytest.mark.parametrize("sparse", [False, True])
def test_a_converged_point_satisfies_its_conditions_at_its_own_coefficients(sparse):
    X, y = _hostile_case()
    assert np.array_equal(X[:, 1], -X[:, 4]) and X[:, 2].std() < 1e-6 < 1e4 < X[:, 5].std()
    Xin = sp.csc_matrix(X) if sparse else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = shrinkage.regularization_path(Xin, y, family="poisson",
                                             penalty_factor=np.zeros(6), fit_intercept=False)
    s = X.std(0)
    scale = np.abs(X.T @ (y - 1.0) / y.size / s).max()  # the null model's, eta = 0
    # the path converges (the check below is not vacuous) and the negated pair's
    # coefficients stay of the data's size: an exact active-set step on the singular
    # system once moved both by 1e15 (engine.kernels.active_set.step_cancels)
    assert path.converged.all()
    assert np.abs(path.coefs[:, [1, 4]]).max() < 1e3
    for k in range(path.coefs.shape[0]):
        grad = X.T @ (y - np.exp(X @ path.coefs[k])) / y.size / s
        # every feature is unpenalised: each gradient must vanish, to tol of the scale
        assert np.abs(grad).max() / scale <= path.certificate[k] * (1 + 1e-6) + 1e-12


def test_a_step_along_a_null_direction_of_the_active_columns_is_refused():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((40, 3)) * np.array([1e-6, 1.0, 1e5])  # any column scales
    v = rng.uniform(0.5, 2.0, 40)
    H = Z.T @ (v[:, None] * Z)
    d = np.linalg.solve(H, rng.standard_normal(3))
    assert not step_cancels(H, d, 3, np.zeros(3))
    # a negated duplicate: Z d cancels in the pair, whatever their size
    Zd = np.column_stack([Z, -Z[:, 1]])
    Hd = Zd.T @ (v[:, None] * Zd)
    null = np.array([0.0, 1.0, 0.0, 1.0])
    assert step_cancels(Hd, 1e15 * null + np.array([1.0, 2.0, 3.0, 0.0]), 4, np.zeros(4))
    assert not step_cancels(Hd, np.array([1.0, 2.0, 3e-5, -1.0]), 4, np.zeros(4))
    # a ridge makes the pair's split a direction the model prices: not refused
    assert not step_cancels(Hd + 1e-3 * np.diag(np.diag(Hd)), null, 4, np.zeros(4))
    # the shift takes a concave penalty's negative curvature out of the system
    shift = np.array([0.0, -0.5, 0.0, 0.0]) * Hd[1, 1]
    assert step_cancels(Hd + np.diag(shift), null, 4, shift)
    assert step_cancels(H, np.array([1.0, np.nan, 0.0]), 3, np.zeros(3))


def _collinear_concave_case(case):
    """MCP with all features unpenalised but three, on columns that are exactly collinear:
    "sum" (poisson, x6 = x0 - 2 x2, x7 = x1 + x3) or "negated" (gaussian, x1 and x6 = -x1,
    both shifted by 1e4: negated duplicates once centred)."""
    rng = np.random.default_rng(101)
    n, p = 100, 6
    X = np.sqrt(0.9) * rng.standard_normal((n, 1)) + np.sqrt(1 - 0.9) * rng.standard_normal(
        (n, p))
    if case == "sum":
        X = np.column_stack([X, X[:, 0] - 2 * X[:, 2], X[:, 1] + X[:, 3]])
    else:
        X = np.column_stack([X, -X[:, 1]])
        X[:, [1, p]] += 1e4
    eta = 0.5 * X[:, 0] - 0.4 * X[:, 2] + 0.3 * X[:, 3]
    if case == "sum":
        y, family = rng.poisson(np.exp(0.5 * eta)).astype(float), "poisson"
    else:
        y, family = eta + 0.5 * rng.standard_normal(n), "gaussian"
    pf = np.zeros(X.shape[1])
    pf[[3, 4, 5]] = 1.0
    return X, y, family, pf


@pytest.mark.parametrize("case", ["sum", "negated"])
@pytest.mark.parametrize("sparse", [False, True])
def test_concave_steps_on_collinear_columns_keep_the_certificate_honest(case, sparse):
    # An exact step on the singular system moved coefficients by 1e9 along the null
    # direction (CSC): certificate 8e-11, true violation 1.6e-4 (the running predictor
    # drifted from X b and the certificate was read there)
    X, y, family, pf = _collinear_concave_case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = shrinkage.regularization_path(
            sp.csc_matrix(X) if sparse else X, y, family=family, penalty="mcp",
            penalty_factor=pf, l1_ratio=1.0 if case == "sum" else 0.99, tol=1e-10, n_lams=20,
            lam_min_ratio=1e-6, early_stop=False)
    assert path.converged.all()
    assert np.abs(path.coefs).max() < 1e3
    L = np.longdouble  # the check's own rounding well below the tolerance
    Xl, yl = X.astype(L), y.astype(L)
    Xc = Xl - Xl.mean(0)
    sd = np.sqrt((Xc ** 2).mean(0))
    scale = float(np.abs(Xc.T @ (yl - yl.mean()) / y.size / sd).max())
    for k in range(path.lams.size):
        eta = L(path.intercepts[k]) + Xl @ path.coefs[k].astype(L)
        r = (yl - (np.exp(eta) if family == "poisson" else eta)) / y.size
        free = np.abs(Xc.T @ r / sd)[pf == 0].max()  # unpenalised: the gradient vanishes
        assert max(float(free), abs(float(r.sum()))) / scale <= path.certificate[k] + 1e-11


def test_class_predictors_settle_by_the_softmax_slope():
    # The multinomial's running (n, K) predictor: the bound is 1/2 (the softmax's largest
    # slope) times the weighted row norms of the difference, and holds the exact one
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 3))
    B = rng.standard_normal((3, 4))
    b0 = rng.standard_normal(4)
    off = rng.standard_normal((40, 4))
    prob = _prob(X, family="multinomial", offset=off)
    exact = exact_predictor(prob, B, b0)
    np.testing.assert_allclose(exact, X @ B + b0 + off, rtol=1e-13)
    drifted = exact + 1e-9 * rng.standard_normal(exact.shape)
    s = _solver(prob, B, b0, drifted)
    cheap = 0.5 * np.sqrt(np.mean(np.sum((exact - drifted) ** 2, axis=1))) / 2.0
    fam = get_family("multinomial")
    true = np.sqrt(np.mean(np.sum((fam.mean(exact) - fam.mean(drifted)) ** 2, axis=1))) / 2.0
    cert, adopted = settle_predictor(s, 4e-7)
    assert not adopted and cert == pytest.approx(4e-7 + cheap, rel=1e-12)
    assert 0 < true <= cheap
    assert predictor_drift(prob, drifted, exact) / 2.0 == pytest.approx(true, rel=1e-12)
    # a shift common to the classes moves no probability: nothing to adopt
    s = _solver(prob, B, b0, exact + 1e-3)
    assert not settle_predictor(s, 4e-7)[1]
    s = _solver(prob, B, b0, exact + 1e-3 * rng.standard_normal(exact.shape))
    assert settle_predictor(s, 4e-7)[1]
    np.testing.assert_array_equal(s.eta, exact)


def test_a_strength_is_certified_at_the_predictor_it_returns():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 3))
    b = np.array([0.2, -0.1, 0.3])
    prob = _prob(X)
    exact = exact_predictor(prob, b, 0.1)
    calls = []

    def run(drifts, measured):
        s = _solver(prob, b, 0.1, exact.copy())

        def descend(first):  # each descent leaves the running predictor drifted anew
            calls.append(first)
            s.eta = (exact + drifts.pop(0)).reshape(s.eta.shape)
            return 4e-7

        return s, certify_settled(s, descend, lambda: calls.append("refresh"),
                                  lambda: measured)

    # no drift: the descent's certificate stands, one descent
    calls.clear()
    s, cert = run([0.0], 9.0)
    assert cert == 4e-7 and calls == [True]
    # one large drift: adopted, refreshed, solved on; the second descent is certified
    calls.clear()
    s, cert = run([1e-3 * rng.standard_normal(30), 0.0], 9.0)
    assert cert == 4e-7 and calls == [True, "refresh", False]
    # adopted at every attempt: the certificate is measured at the adopted predictor,
    # never the one read before adopting (it belonged to the old predictor)
    calls.clear()
    s, cert = run([1e-3 * rng.standard_normal(30) for _ in range(3)], 7.5e-7)
    assert cert == 7.5e-7 and calls.count("refresh") == 3
    np.testing.assert_array_equal(s.eta, exact)
    # a solver keeping its predictor as a column keeps that shape after an adoption
    s = _solver(prob, b, 0.1, (exact + 1e-3).reshape(-1, 1))
    assert settle_predictor(s, 4e-7)[1] and s.eta.shape == (30, 1)
