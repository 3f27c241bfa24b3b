"""Proximal Newton (binomial, poisson): kernels against exact references, certificates
against an independent KKT computation, and the cost structure (passes over X per lam).

References: exact objective changes from mpmath at 50 digits; gradients and KKT
violations recomputed here with NumPy from centred X (no shrinkage kernel involved).
"""

import warnings
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest
import scipy.sparse as sp

from _reference import objective
from shrinkage import ConvergenceWarning, regularization_path
from shrinkage.engine import newton as newton_mod
from shrinkage.engine import newton_steps
from shrinkage.engine.contract import FitHints, SolverSetup, choose_solver
from shrinkage.engine.kernels.certify import strong_rule
from shrinkage.engine.kernels.glm import (
    armijo,
    armijo_irls,
    fill_mean_parts,
    irls_model,
    moved_coordinates,
    secant_prediction,
    weighted_residual,
    ws_gradient_kkt,
)
from shrinkage.engine.problem import Problem, strong_set
from shrinkage.engine.registry import SOLVERS
from shrinkage.model.families import Binomial, Gaussian, Poisson
from shrinkage.model.glm_math import BINOMIAL, POISSON
from shrinkage.model.glm_math import loss_change as _loss_change
from shrinkage.model.penalties import ElasticNet

mpmath.mp.dps = 50
CODES = {"binomial": BINOMIAL, "poisson": POISSON}


def exact_change(family, y, eta, d):
    """loss(y, eta + d) - loss(y, eta) in 50-digit arithmetic."""
    y, eta, d = mpmath.mpf(y), mpmath.mpf(eta), mpmath.mpf(d)
    if family == "binomial":
        f = lambda e: mpmath.log1p(mpmath.exp(e)) - y * e  # noqa: E731
    else:
        f = lambda e: mpmath.exp(e) - y * e  # noqa: E731
    return f(eta + d) - f(eta)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_loss_change_is_accurate_to_its_own_size(family):
    # the plain difference of two losses loses everything below eps * loss; the kernel
    # must resolve changes many orders of magnitude smaller
    etas = [-30.0, -3.0, -0.2, 0.0, 0.7, 4.0, 25.0] if family == "binomial" else \
        [-20.0, -1.0, 0.0, 0.3, 2.0, 40.0]
    for eta in etas:
        for y in (0.0, 1.0) if family == "binomial" else (0.0, 2.0):
            for d in (1e-15, -3e-12, 2e-7, -0.4, 0.9, 3.0, -5.0):
                got = _loss_change(CODES[family], y, eta, d)
                ref = float(exact_change(family, y, eta, d))
                assert got == pytest.approx(ref, rel=1e-12, abs=1e-300), (eta, y, d)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_irls_model_and_residual_match_the_family(family):
    rng = np.random.default_rng(0)
    n = 200
    eta = rng.normal(0, 3, n)
    eta[:3] = [-40.0, 40.0, 0.0]  # variances floored at 1e-10 in the tails
    y = rng.integers(0, 2, n).astype(float) if family == "binomial" else \
        rng.poisson(2.0, n).astype(float)
    w = rng.uniform(0.1, 1.0, n)
    w /= w.sum()
    # the reference comes from SciPy, not from the family math the kernels share
    from scipy.special import expit

    mu = expit(eta) if family == "binomial" else np.exp(eta)
    var = np.maximum(mu * (1 - mu) if family == "binomial" else mu, 1e-10)
    v, z = np.empty(n), np.empty(n)
    svz, sv, q0 = irls_model(CODES[family], y, eta, w, v, z)
    np.testing.assert_allclose(v, w * var, rtol=1e-12)
    np.testing.assert_allclose(z, (y - mu) / var, rtol=1e-9, atol=1e-12)
    assert svz == pytest.approx(np.sum(w * var * (y - mu) / var), rel=1e-9)
    assert sv == pytest.approx(np.sum(w * var), rel=1e-12)
    assert q0 == pytest.approx(0.5 * np.sum(w * (y - mu) ** 2 / var), rel=1e-9)
    wres = np.empty(n)
    s = weighted_residual(CODES[family], y, eta, w, wres)
    np.testing.assert_allclose(wres, w * (y - mu), rtol=1e-12, atol=1e-300)
    assert s == pytest.approx(np.sum(w * (y - mu)), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_armijo_accepts_descent_below_the_rounding_of_the_objective(family):
    # a steepest-descent step in eta so small that F(eta + deta) and F(eta) agree to the
    # last bit: the line search must still see (and accept) the exact decrease
    rng = np.random.default_rng(1)
    n = 300
    eta = rng.normal(0, 1, n)
    y = rng.integers(0, 2, n).astype(float) if family == "binomial" else \
        rng.poisson(1.5, n).astype(float)
    w = np.full(n, 1.0 / n)
    wres = np.empty(n)
    weighted_residual(CODES[family], y, eta, w, wres)
    deta = 1e-17 * wres / np.abs(wres).max()
    ref = float(mpmath.fsum(mpmath.mpf(w[i]) * exact_change(family, y[i], eta[i], deta[i])
                            for i in range(n)))
    assert -1e-17 < ref < 0.0  # far below eps * F (F is of order one)
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0)
    eta_t = np.empty(n)
    t, df = armijo(CODES[family], y, w, eta, deta, eta_t, empty_f, empty_f, empty_i, empty_f,
                   empty_f, -float(wres @ deta), 0.0, 40)
    assert t == 1.0
    assert df == pytest.approx(ref, rel=1e-9)
    np.testing.assert_array_equal(eta_t, eta + deta)
    # an ascent step is refused at every length
    t, _ = armijo(CODES[family], y, w, eta, -1e-3 * wres, eta_t, empty_f, empty_f, empty_i,
                  empty_f, empty_f, 0.0, 0.0, 20)
    assert t == 0.0


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("scale", [1e-3, 10.0])
def test_fused_line_search_leaves_the_next_steps_inputs(family, scale):
    # armijo_irls must take the same step as armijo (a full step, then one that needs
    # halvings) and leave at eta_t exactly what weighted_residual, irls_model and
    # fill_mean_parts compute there: the solver uses them in place of those passes
    rng = np.random.default_rng(3)
    n = 250
    eta = rng.normal(0, 2, n)
    y = rng.integers(0, 2, n).astype(float) if family == "binomial" else \
        rng.poisson(1.5, n).astype(float)
    w = rng.uniform(0.2, 1.0, n)
    w /= w.sum()
    code = CODES[family]
    wres = np.empty(n)
    weighted_residual(code, y, eta, w, wres)
    # descent along wres plus a component orthogonal to it, which makes long steps ascend
    noise = rng.normal(size=n)
    noise -= (noise @ wres) / (wres @ wres) * wres
    deta = scale * (wres / np.abs(wres).max() + noise)
    idx = np.array([1, 4], dtype=np.int64)
    b_old = np.array([0.3, -0.2])
    db = np.array([-0.1, 0.05])
    l1 = np.full(6, 1e-3)
    l2 = np.full(6, 1e-4)
    dec = -float(wres @ deta)
    eta_a, eta_b = np.empty(n), np.empty(n)
    t, df = armijo(code, y, w, eta, deta, eta_a, b_old, db, idx, l1, l2, dec, 0.0, 40)
    out = [np.full(n, np.nan) for _ in range(5)]
    sums = np.empty(4)
    mu, mc = np.empty(n), np.empty(n)
    fill_mean_parts(code, eta, mu, mc)
    t2, df2 = armijo_irls(code, y, w, eta, mu, mc, deta, eta_b, b_old, db, idx, l1, l2, dec,
                          0.0, 40, *out, sums)
    assert (t2, df2) == (t, df)
    assert 0.0 < t and (t < 1.0) == (scale > 1.0)
    np.testing.assert_array_equal(eta_b, eta_a)
    ref_wres, ref_v, ref_z = np.empty(n), np.empty(n), np.empty(n)
    s = weighted_residual(code, y, eta_a, w, ref_wres)
    svz, sv, q0 = irls_model(code, y, eta_a, w, ref_v, ref_z)
    fill_mean_parts(code, eta_a, mu, mc)
    for got, ref in zip(out, (ref_wres, ref_v, ref_z, mu, mc)):
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(sums, [s, svz, sv, q0], rtol=1e-13, atol=1e-300)


def test_step_bookkeeping_kernels_match_their_numpy_definitions():
    # the coordinates a step moved, and the secant warm start (kept only where the
    # prediction keeps its sign and its box), against the array expressions they replace
    rng = np.random.default_rng(4)
    p = 60
    b = np.where(rng.uniform(size=p) < 0.6, rng.normal(size=p), 0.0)
    b_prev = b + np.where(rng.uniform(size=p) < 0.5, rng.normal(0, 0.5, p), 0.0)
    lo = np.where(rng.uniform(size=p) < 0.2, -0.3, -np.inf)
    hi = np.where(rng.uniform(size=p) < 0.2, 0.3, np.inf)
    ws = np.sort(rng.choice(p, 40, replace=False)).astype(np.int64)
    idx, vals, moves = np.empty(p, dtype=np.int64), np.empty(p), np.empty(p)
    k = moved_coordinates(b, b_prev[ws], ws, ws.size, idx, vals, moves)
    nz = np.flatnonzero(b[ws] - b_prev[ws])
    np.testing.assert_array_equal(idx[:k], ws[nz])
    np.testing.assert_array_equal(vals[:k], b_prev[ws][nz])
    np.testing.assert_array_equal(moves[:k], (b[ws] - b_prev[ws])[nz])
    rho = 0.8
    k = secant_prediction(b, b_prev, ws, ws.size, rho, lo, hi, idx, vals, moves)
    cand = ws[b[ws] != 0.0]
    pred = b[cand] + rho * (b[cand] - b_prev[cand])
    keep = (np.sign(pred) == np.sign(b[cand])) & (pred >= lo[cand]) & (pred <= hi[cand])
    assert 0 < k < cand.size  # some predictions are refused
    np.testing.assert_array_equal(idx[:k], cand[keep])
    np.testing.assert_array_equal(vals[:k], b[cand][keep])
    np.testing.assert_array_equal(moves[:k], pred[keep] - b[cand][keep])


def test_strong_rule_kernel_is_the_strong_set():
    # the solver's one-loop strong rule against problem.strong_set, ties |g_j| = l1_j cut
    # (kept), non-zero coefficients, unpenalised and excluded features included
    rng = np.random.default_rng(7)
    p = 200
    l1u = np.where(rng.uniform(size=p) < 0.1, 0.0, rng.uniform(0.5, 2.0, p))
    cut = 2.0 * 0.3 - 0.4
    g = rng.normal(0.0, 0.3, p)
    g[:20] = -l1u[:20] * cut  # exactly on the threshold
    b = np.where(rng.uniform(size=p) < 0.2, rng.normal(size=p), 0.0)
    cand = rng.uniform(size=p) < 0.9
    prob = SimpleNamespace(l1u=l1u, unpenalized=(l1u == 0) & cand, candidates=cand)
    expected = strong_set(prob, g, b, 0.3, 0.4)
    in_ws, ws = np.empty(p, dtype=bool), np.empty(p, dtype=np.int64)
    m = strong_rule(g, b, l1u, cut, prob.unpenalized, cand, in_ws, ws)
    np.testing.assert_array_equal(in_ws, expected)
    np.testing.assert_array_equal(ws[:m], np.flatnonzero(expected))
    assert expected[:20].sum() == cand[:20].sum() and 0 < m < cand.sum()


@pytest.mark.parametrize("sparse", [False, True])
def test_working_set_gradient_and_kkt(sparse):
    rng = np.random.default_rng(2)
    n, p = 40, 25
    X = rng.normal(size=(n, p)) * (rng.uniform(size=(n, p)) < 0.5) + rng.uniform(-1, 1, p)
    X = np.asfortranarray(X)
    Xs = sp.csc_matrix(X)
    wres = rng.normal(size=n) / n
    xm = X.mean(0)
    b = np.where(rng.uniform(size=p) < 0.3, rng.normal(size=p), 0.0)
    l1 = np.full(p, 0.02)
    l2 = np.full(p, 0.01)
    lo = np.full(p, -np.inf)
    hi = np.full(p, np.inf)
    hi[3] = b[3] = 0.5  # at the upper bound: a push upwards is no violation
    scale = rng.uniform(0.5, 2.0, p)
    ws = np.array([0, 3, 5, 7, 11, 20], dtype=np.int64)
    g = np.zeros(p)
    if sparse:
        args = (None, Xs.data, Xs.indices.astype(np.int32), Xs.indptr.astype(np.int32),
                True)
    else:
        args = (X, None, None, None, False)
    vmax = ws_gradient_kkt(*args, wres, wres.sum(), xm, b, l1, l2, lo, hi, scale, ws,
                           ws.size, g)
    ref_g = (X - xm).T @ wres
    np.testing.assert_allclose(g[ws], ref_g[ws], rtol=1e-12, atol=1e-15)
    assert np.all(g[np.setdiff1d(np.arange(p), ws)] == 0.0)  # only the working set
    z = ref_g - l2 * b
    viol = np.where(b > 0, np.abs(z - l1), np.where(b < 0, np.abs(z + l1),
                                                     np.maximum(np.abs(z) - l1, 0.0)))
    viol[3] = 0.0 if z[3] - l1[3] >= 0 else viol[3]
    assert vmax == pytest.approx(np.max(viol[ws] / scale[ws]), rel=1e-12)


def make_glm(family, n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] = 0.6 * X[:, :-1] + 0.8 * X[:, 1:]  # correlated neighbours
    X = X * rng.uniform(0.5, 2.0, p) + rng.uniform(-1.0, 1.0, p)
    beta = np.zeros(p)
    beta[:5] = [1.0, -0.8, 0.6, 0.5, -0.5]
    eta = (X - X.mean(0)) @ beta
    if family == "binomial":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.3 + 0.5 * eta)).astype(float)
    return np.asfortranarray(X), y


def independent_certificate(family, X, y, b0, b, lam, weighted=False):
    """Largest KKT violation relative to the null model's largest gradient (NumPy only);
    ``weighted``: each feature's violation times ``sqrt(h_null / h_j)`` clipped to [1, 100],
    ``h_j = sum_i w_i var_i (x_ij - xm_j)^2 / sd_j^2`` and ``h_null`` the null model's
    mean variance (the reported certificate of the binomial and poisson families)."""
    n = X.shape[0]
    w = np.full(n, 1.0 / n)
    xm = w @ X
    sd = np.sqrt(w @ (X - xm) ** 2)
    Xc = X - xm
    eta = X @ b + b0
    mu = 1.0 / (1.0 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
    g = Xc.T @ (w * (y - mu))
    ybar = w @ y  # the null model's fitted mean is the mean of y
    g0 = Xc.T @ (w * (y - ybar))
    l1 = lam * sd
    viol = np.where(b > 0, np.abs(g - l1), np.where(b < 0, np.abs(g + l1),
                                                    np.maximum(np.abs(g) - l1, 0.0)))
    if weighted:
        var, var0 = (mu * (1 - mu), ybar * (1 - ybar)) if family == "binomial" else (mu, ybar)
        h = (w * var) @ Xc ** 2 / sd ** 2
        viol = viol * np.clip(np.sqrt(var0 / np.maximum(h, 1e-300)), 1.0, 100.0)
    v = max(np.max(viol / sd), abs(np.sum(w * (y - mu))))
    return v / np.max(np.abs(g0) / sd)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_certificate_holds_over_all_features(family, fmt):
    X, y = make_glm(family, n=60, p=150)
    Xin = sp.csc_matrix(X) if fmt == "csc" else X
    tol = 1e-9
    path = regularization_path(Xin, y, family=family, n_lams=30, tol=tol)
    assert path.converged.all()
    for k in range(path.n_lams):
        ref = independent_certificate(family, X, y, path.intercepts[k], path.coefs[k],
                                      path.lams[k])
        assert ref <= tol * (1 + 1e-6) + 1e-14, k
        # the reported certificate is the same quantity
        assert abs(ref - path.certificate[k]) <= 1e-3 * tol + 1e-14, k
    assert path.certificate_kind == "kkt_violation"  # (an explicit tol: the plain one)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_default_binomial_certificate_is_weighted_by_curvature(fmt):
    # the default binomial tolerance bounds each violation weighted by its curvature's
    # fall (kernels.curvature_kkt), recomputed here in NumPy; at the deep end of a p > n
    # path fitted probabilities near 0 or 1 flatten the loss and the weights bind
    X, y = make_glm("binomial", n=60, p=150)
    Xin = sp.csc_matrix(X) if fmt == "csc" else X
    path = regularization_path(Xin, y, family="binomial", n_lams=30, lam_min_ratio=1e-3,
                               early_stop=False)
    assert path.certificate_kind == "weighted_kkt_violation"
    assert path.tol == 3e-5 and path.converged.all()
    gain = []
    for k in range(path.n_lams):
        args = ("binomial", X, y, path.intercepts[k], path.coefs[k], path.lams[k])
        plain = independent_certificate(*args)
        ref = independent_certificate(*args, weighted=True)
        assert plain <= ref * (1 + 1e-9) + 1e-14 and ref <= path.tol * (1 + 1e-6), k
        assert abs(ref - path.certificate[k]) <= 1e-3 * path.tol, k
        gain.append(ref / max(plain, 1e-300))
    assert max(gain) > 3.0  # the weights did bind somewhere
    # strengths stopped short by max_iter report the weighted certificate too, never the
    # plain one: what reads converged was weighed
    with pytest.warns(ConvergenceWarning):
        short = regularization_path(Xin, y, family="binomial", n_lams=30,
                                    lam_min_ratio=1e-3, early_stop=False, max_iter=4)
    assert not short.converged.all()
    for k in range(short.n_lams):
        ref = independent_certificate("binomial", X, y, short.intercepts[k], short.coefs[k],
                                      short.lams[k], weighted=True)
        assert ref <= short.certificate[k] * (1 + 1e-6) + 1e-14, k
        assert short.converged[k] == (short.certificate[k] <= short.tol), k
    # an unpenalised feature that separates y keeps weight 1: no finite solution, and
    # weights there left strengths unconverged at the Newton cap where the plain
    # certificate passed
    rng = np.random.default_rng(3)
    Xs = rng.standard_normal((80, 30))
    ys = (rng.random(80) < 0.5).astype(float)
    Xs[:, 0] = (2 * ys - 1) * (0.5 + rng.random(80))
    pf = np.r_[0.0, np.ones(29)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sep = regularization_path(Xs, ys, family="binomial", penalty_factor=pf)
    assert sep.certificate_kind == "weighted_kkt_violation" and sep.converged.all()
    # the same tolerance given explicitly bounds the plain violation; poisson's default
    # is the plain one
    assert regularization_path(Xin, y, family="binomial", n_lams=5,
                               tol=3e-5).certificate_kind == "kkt_violation"
    Xp, yp = make_glm("poisson", n=60, p=150)
    assert regularization_path(Xp, yp, family="poisson",
                               n_lams=5).certificate_kind == "kkt_violation"


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_secant_warm_start_changes_cost_not_solutions(family, monkeypatch):
    X, y = make_glm(family, n=80, p=40, seed=3)
    kw = dict(family=family, n_lams=40, tol=1e-10, lam_min_ratio=1e-3)
    with_secant = regularization_path(X, y, **kw)
    monkeypatch.setattr(newton_mod.ProximalNewton, "extrapolate", False)
    plain = regularization_path(X, y, **kw)
    assert with_secant.converged.all() and plain.converged.all()
    np.testing.assert_allclose(with_secant.coefs, plain.coefs, atol=1e-6)
    np.testing.assert_allclose(with_secant.intercepts, plain.intercepts, atol=1e-6)


def test_one_pass_over_X_per_lam_in_the_common_case(monkeypatch):
    # Newton steps are certified on the working set; the full gradient (one pass over X)
    # is paid once per KKT round, so rounds beyond one per lam come only from violators
    X, y = make_glm("binomial", n=60, p=400, seed=4)
    passes = []
    original = Problem.gradient

    def counting(self, resid_w, out=None):
        passes.append(1)
        return original(self, resid_w, out)

    monkeypatch.setattr(Problem, "gradient", counting)
    solvers = []  # the compiled rounds take their passes inside one kernel call: counted there
    run_path = newton_mod.ProximalNewton.run_path

    def keeping(self, *args):
        solvers.append(self)
        return run_path(self, *args)

    monkeypatch.setattr(newton_mod.ProximalNewton, "run_path", keeping)
    path = regularization_path(X, y, family="binomial", n_lams=50, tol=1e-9,
                               lam_min_ratio=0.05, early_stop=False)
    assert path.converged.all()
    total = len(passes) + solvers[0].compiled_passes
    # at most two passes at set-up and ~1.2 per lam; at least the solver's start and one
    # per lam after lam_max (where the null model is already certified)
    assert path.n_lams <= total <= 2 + 1.2 * path.n_lams
    # the same count as the Python loop's, which passes through Problem.gradient only
    passes.clear()
    monkeypatch.setattr(newton_mod.ProximalNewton, "compiled_rounds", False)
    stepwise = regularization_path(X, y, family="binomial", n_lams=50, tol=1e-9,
                                   lam_min_ratio=0.05, early_stop=False)
    assert solvers[1].compiled_passes == 0
    # equal when both loops' kernels come from one compilation; a kernel loaded from a
    # cache another pytest worker wrote may round a sum in other last bits (see
    # test_compiled_rounds_take_the_python_loops_steps)
    assert abs(len(passes) - total) <= max(2, 0.1 * total)
    assert np.all(np.abs(stepwise.n_iter - path.n_iter) <= np.maximum(3, 0.25 * path.n_iter))


def test_converges_at_a_tolerance_near_rounding():
    # regression: with tol=1e-10 a sparse poisson path stalled when the Newton step's
    # objective change fell below the rounding of the objective (line search refused it)
    X, y = make_glm("poisson", n=60, p=20, seed=5)
    X = np.where(np.random.default_rng(3).uniform(size=X.shape) < 0.6, 0.0, X)
    for Xin in (np.asfortranarray(X), sp.csc_matrix(X)):
        path = regularization_path(Xin, y, family="poisson", n_lams=15, tol=1e-11,
                                   lam_min_ratio=1e-2)
        assert path.converged.all()
        assert np.all(path.certificate <= 1e-11)


def test_refuses_a_family_it_does_not_serve():
    X, y = make_glm("binomial", n=20, p=6)
    p = X.shape[1]
    prob = Problem(X=X, y=y, w=np.full(20, 0.05), uniform_w=0.05, offset=None,
                   family=Gaussian(), xm=X.mean(0), xw=X.mean(0), xsq=X.var(0),
                   l1u=np.ones(p), l2u=np.zeros(p), lo=np.full(p, -np.inf),
                   hi=np.full(p, np.inf), excluded=np.zeros(p, dtype=bool),
                   fit_intercept=True, tol=1e-8, max_iter=100)
    penalty = ElasticNet()
    forced = SolverSetup(eta=np.zeros(20), b0=0.0, n_lams=1, hints=FitHints(solver="newton"))
    # the gaussian family declares no compiled GLM kernel: Newton does not accept it
    assert not newton_mod.ProximalNewton.accepts(Gaussian(), penalty, prob, forced)
    assert newton_mod.ProximalNewton.accepts(Binomial(), penalty, prob, forced)
    with pytest.raises(ValueError, match="solver 'newton' accepts the gaussian family"):
        choose_solver(SOLVERS, Gaussian(), penalty, prob, forced)


def text_like(n, p, seed):
    """Sparse binomial data whose rare columns let the lasso fit most rows: at the deep
    end of the path the active set exceeds n / 2, where only conjugate gradients apply."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / (np.arange(p) + 2.0)
    X = np.where(rng.uniform(size=(n, p)) < np.minimum(0.5, 8.0 * freq), 1.0, 0.0)
    X[rng.integers(n, size=p), np.arange(p)] = 1.0  # no empty column
    X *= rng.uniform(0.5, 1.5, size=(n, p))
    eta = X[:, :6] @ np.array([1.5, -1.0, 1.0, -1.5, 1.0, 0.8])
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta + eta.mean()))).astype(float)
    return X, y


def model_value(v, r, st, b, ws, l1, l2):
    res = r + st[0]
    return 0.5 * np.dot(v, res * res) + np.sum(l1[ws] * np.abs(b[ws]) + 0.5 * l2[ws] * b[ws] ** 2)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_conjugate_gradient_steps_on_large_active_sets(fmt, monkeypatch):
    # every CG step must lower the IRLS model and leave its residual exact; the path it
    # serves must certify at a tight tolerance (checked independently) and reach the
    # objective of coordinate descent alone
    X, y = text_like(60, 400, seed=7)
    Xin = sp.csc_matrix(X) if fmt == "csc" else np.asfortranarray(X)
    calls = []
    original = newton_mod.cg_active_step

    def checked(prob, v, r, st, b, ws, l1, l2, h, *max_iter):
        before = model_value(v, r, st, b, ws, l1, l2)
        b_old, r_old, b0_old = b.copy(), r + st[0], st[3]
        taken = original(prob, v, r, st, b, ws, l1, l2, h, *max_iter)
        calls.append(taken)
        assert model_value(v, r, st, b, ws, l1, l2) <= before * (1 + 1e-12) + 1e-15
        xm = np.full(prob.n, 1.0 / prob.n) @ X
        moved = (X - xm) @ (b - b_old) + (st[3] - b0_old)
        np.testing.assert_allclose(r + st[0], r_old - moved, atol=1e-10)
        return taken

    monkeypatch.setattr(newton_mod, "cg_active_step", checked)
    kw = dict(family="binomial", n_lams=40, lam_min_ratio=1e-3, tol=1e-9, early_stop=False)
    path = regularization_path(Xin, y, **kw)
    assert any(calls), "the deep end never reached the conjugate-gradient route"
    assert path.converged.all()
    for k in range(path.n_lams):
        ref = independent_certificate("binomial", X, y, path.intercepts[k], path.coefs[k],
                                      path.lams[k])
        assert ref <= 1e-9 * (1 + 1e-6) + 1e-14, k
    monkeypatch.setattr(newton_mod, "cg_active_step", lambda *a: False)
    plain = regularization_path(Xin, y, **kw)
    for k in range(path.n_lams):
        f = [objective("binomial", X, y, q.intercepts[k], q.coefs[k], q.lams[k], 1.0)
             for q in (path, plain)]
        assert abs(f[0] - f[1]) <= 1e-7 * abs(f[1]), k


@pytest.mark.parametrize("intercept", [True, False])
def test_dense_normal_equations_match_the_kernel_and_numpy(intercept):
    # the BLAS route the dense polish takes and the contiguous kernel the Gram steps take
    # must build the same system as the column-pair kernel (the sparse route) and as
    # Z^T V Z written out, also for columns with means far above their spread (centred
    # element by element)
    from shrinkage.engine.kernels.glm_polish import dense_normal_equations as gram_kernel
    from shrinkage.engine.kernels.moments import active_normal_equations
    from shrinkage.engine.newton_cg import dense_normal_equations

    rng = np.random.default_rng(3)
    n, p = 50, 9
    X = np.asfortranarray(rng.normal(size=(n, p)) + np.array([0, 1e6, 0, -3, 0, 0, 5e3, 0, 0]))
    xm = X.mean(axis=0)
    v, r = rng.uniform(0.01, 0.25, size=n), rng.normal(size=n)
    A = np.array([6, 1, 4, 0], dtype=np.int64)
    off = 1 if intercept else 0
    m = A.size + off
    H, rhs = np.empty((m, m)), np.empty(m)
    dense_normal_equations(X, v, xm, r, A, off, H, rhs)
    Hg, rg = np.empty((m, m)), np.empty(m)
    gram_kernel(X, v, xm, r, A, A.size, off, Hg, rg)
    np.testing.assert_allclose(Hg, H, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rg, rhs, rtol=1e-12, atol=1e-12)
    Hk, rk = np.empty((m, m)), np.empty(m)
    active_normal_equations(X, None, None, None, False, v, xm, r, A, intercept, Hk, rk)
    Z = X[:, A] - xm[A]
    if intercept:
        Z = np.column_stack([np.ones(n), Z])
    np.testing.assert_allclose(H, Z.T @ (v[:, None] * Z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rhs, Z.T @ (v * r), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, Hk, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rhs, rk, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_compiled_rounds_take_the_python_loops_steps(family, fmt, monkeypatch):
    # the compiled rounds (kernels.glm_descend.descend_strength) are the Python loop moved into one
    # call: same steps, same sweeps, same points, also where a model is polished or solved
    # by conjugate gradients mid-step (text_like's deep end) and under box constraints
    polished = []
    original = newton_mod.polish_active_set

    def counting(*args):
        polished.append(1)
        return original(*args)

    monkeypatch.setattr(newton_mod, "polish_active_set", counting)
    X, y = text_like(60, 400, seed=7) if family == "binomial" else make_glm(family, 80, 60)
    Xin = sp.csc_matrix(X) if fmt == "csc" else np.asfortranarray(X)
    kw = dict(family=family, n_lams=30, lam_min_ratio=1e-3, tol=1e-9, early_stop=False,
              upper=np.where(np.arange(X.shape[1]) % 7 == 0, 0.05, np.inf))
    fast = regularization_path(Xin, y, **kw)
    assert polished, "no model was polished: the resume route went untested"
    monkeypatch.setattr(newton_mod.ProximalNewton, "compiled_rounds", False)
    slow = regularization_path(Xin, y, **kw)
    assert fast.converged.all() and slow.converged.all()
    # Equal step for step when both loops' kernels come from one compilation (tested so
    # here, in one process). Under pytest-xdist a kernel may be loaded from a cache another
    # worker wrote, compiled in another context: fastmath may then round a sum in other
    # last bits, and a strength take a few sweeps more or fewer (seen in CI: 6 of 30
    # strengths, by 3-8 sweeps; once locally, on CSC, by 11 and 12 of 44 and 65; once in
    # CI, CSC binomial points 1.2e-7 apart on this nearly separable design, where a KKT
    # violation of 1e-9 leaves the coefficients that much freedom). So: the same sweeps
    # within a quarter per strength and 5 % in all, the same points within 1e-6.
    assert np.all(np.abs(fast.n_iter - slow.n_iter) <= np.maximum(3, 0.25 * slow.n_iter))
    assert abs(int(fast.n_iter.sum()) - int(slow.n_iter.sum())) <= 0.05 * slow.n_iter.sum()
    np.testing.assert_allclose(fast.coefs, slow.coefs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast.intercepts, slow.intercepts, rtol=0, atol=1e-6)
    assert np.all(fast.certificate <= 1e-9) and np.all(slow.certificate <= 1e-9)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("compiled", [True, False])
def test_running_deviance_matches_the_deviance_at_the_returned_point(family, compiled,
                                                                     monkeypatch):
    # the deviance is kept by adding each accepted step's accurate loss change; the
    # deviance explained it gives must equal the family's deviance recomputed from the
    # returned coefficients (to the rounding of the loss, not of the deviance)
    monkeypatch.setattr(newton_mod.ProximalNewton, "compiled_rounds", compiled)
    X, y = make_glm(family, n=90, p=30, seed=2)
    path = regularization_path(X, y, family=family, n_lams=40, lam_min_ratio=1e-4,
                               early_stop=False)
    fam = Binomial() if family == "binomial" else Poisson()
    w = np.full(y.size, 1.0 / y.size)
    null = fam.deviance(y, fam.null_eta(y, w, None, True)[0], w)
    for k in range(path.n_lams):
        eta = X @ path.coefs[k] + path.intercepts[k]
        ratio = 1.0 - fam.deviance(y, eta, w) / null
        assert abs(path.dev_ratio[k] - ratio) <= 1e-12, k


def test_exact_active_set_steps_cut_at_a_sign_change_and_lower_the_model(monkeypatch):
    # the exact step on the active set's orthant is cut where a sign would flip; every
    # step must lower the IRLS model, leave its residual exact, and the cut coordinate
    # must land on zero; the path still certifies (checked independently). The Python
    # loop, on the route of working sets past the Gram steps' limits (diabetes itself
    # takes the Gram steps)
    from sklearn.datasets import load_diabetes

    monkeypatch.setattr(newton_mod.ProximalNewton, "compiled_rounds", False)
    monkeypatch.setattr(newton_steps, "gram_applies", lambda *args: False)
    X, yc = load_diabetes(return_X_y=True)
    y = (yc > np.median(yc)).astype(float)
    X = np.asfortranarray(X)
    original = newton_mod.polish_active_set
    outcomes = []

    def checked(prob, v, r, st, b, ws, l1, l2):
        before = model_value(v, r, st, b, ws, l1, l2)
        b_old, r_old, b0_old = b.copy(), r + st[0], st[3]
        taken = original(prob, v, r, st, b, ws, l1, l2)
        assert model_value(v, r, st, b, ws, l1, l2) <= before * (1 + 1e-12) + 1e-15
        moved = (X - X.mean(axis=0)) @ (b - b_old) + (st[3] - b0_old)
        np.testing.assert_allclose(r + st[0], r_old - moved, atol=1e-9)
        outcomes.append(("cut" if np.any((b_old != 0) & (b == 0)) else "full") if taken
                        else taken)
        return taken

    monkeypatch.setattr(newton_mod, "polish_active_set", checked)
    path = regularization_path(X, y, family="binomial", tol=1e-9)
    assert "cut" in outcomes and "full" in outcomes, outcomes
    assert path.converged.all()
    for k in range(path.n_lams):
        ref = independent_certificate("binomial", X, y, path.intercepts[k], path.coefs[k],
                                      path.lams[k])
        assert ref <= 1e-9 * (1 + 1e-6) + 1e-14, k


@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("intercept", [True, False])
def test_compiled_conjugate_gradients_solve_the_active_newton_system(fmt, intercept):
    # given m iterations and no early stop, CG solves H x = rhs for
    # H = Z^T V Z + diag(0, l2_A), Z = [1, X_A - xm_A], to rounding (checked with NumPy)
    from shrinkage.engine.kernels.glm_polish import active_pcg

    rng = np.random.default_rng(5)
    n, p = 40, 12
    X = rng.normal(size=(n, p)) * (rng.uniform(size=(n, p)) < 0.5) + 3.0
    xm = X.mean(axis=0)
    v = rng.uniform(0.05, 0.25, size=n)
    A = np.array([7, 2, 9, 4, 0], dtype=np.int64)
    l2A = np.array([0.0, 0.3, 0.0, 1e-3, 0.1])
    off = 1 if intercept else 0
    Z = X[:, A] - xm[A]
    if intercept:
        Z = np.column_stack([np.ones(n), Z])
    H = Z.T @ (v[:, None] * Z)
    H[off:, off:] += np.diag(l2A)
    rhs = rng.normal(size=A.size + off)
    if fmt == "csc":
        S = sp.csc_matrix(X)
        design = (None, S.data, S.indices.astype(np.int64), S.indptr.astype(np.int64), True)
    else:
        design = (np.asfortranarray(X), None, None, None, False)
    x = active_pcg(*design, xm, v, A, l2A, off, rhs, np.diag(H).copy(), 4 * rhs.size, 0.0,
                   np.empty(p))
    np.testing.assert_allclose(H @ x, rhs, rtol=0, atol=1e-9 * np.abs(rhs).max())


@pytest.mark.parametrize("intercept", [True, False])
def test_gram_model_step_reaches_the_models_minimiser(intercept):
    # gram_model_step (small dense working sets) must minimise the IRLS model
    # 1/2 sum_i v_i (z_i - (Z d)_i)^2 + penalty: its point satisfies the model's KKT
    # conditions written out in NumPy and equals coordinate descent on X run to rounding,
    # also with correlated columns, a large column mean and a bound that binds
    from shrinkage.engine.kernels.cd import cd_quadratic, weighted_moments
    from shrinkage.engine.kernels.glm_polish import gram_applies, gram_model_step

    rng = np.random.default_rng(21)
    n, p = 200, 12
    X = rng.normal(size=(n, p))
    X[:, 1] = X[:, 0] + 0.05 * rng.normal(size=n)  # correlated pair
    X[:, 5] += 1e3  # a large mean, centred element by element
    X = np.asfortranarray(X)
    xm = X.mean(axis=0)
    v = rng.uniform(0.05, 0.25, size=n)
    z = rng.normal(size=n) + 1.5 * (X[:, 0] - xm[0]) - 0.8 * (X[:, 4] - xm[4])
    ws = np.arange(p, dtype=np.int64)
    l1 = np.full(p, 0.6)
    l1[3] = 0.0
    l2 = np.full(p, 0.05)
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
    hi[0] = 0.02
    b_start = np.where(np.arange(p) % 3 == 0, 0.1, 0.0)
    assert gram_applies(X, n, p, intercept) and not gram_applies(None, n, p, intercept)
    b, st = b_start.copy(), np.array([0.0, np.dot(v, z), v.sum(), 0.4])
    sweeps = gram_model_step(X, v, xm, z.copy(), st, b, ws, p, intercept, l1, l2, lo, hi,
                             1e-24, 100000, 10)
    assert 0 < sweeps < 100000
    Z = X - xm
    d0 = st[3] - 0.4
    res = z - Z @ (b - b_start) - d0
    g = Z.T @ (v * res) - l2 * b
    inside = (b > lo) & (b < hi)
    nz = (b != 0) & inside
    np.testing.assert_allclose(g[nz], l1[nz] * np.sign(b[nz]), rtol=0, atol=1e-10)
    assert np.all(np.abs(g[(b == 0) & inside]) <= l1[(b == 0) & inside] + 1e-10)
    assert b[0] == hi[0] and g[0] >= l1[0] - 1e-10  # the bound binds
    if intercept:
        assert abs(np.dot(v, res)) <= 1e-10
    else:
        assert d0 == 0.0
    # coordinate descent on X itself, run to rounding
    xv, h = np.empty(p), np.empty(p)
    weighted_moments(X, None, None, None, False, v, xm, ws, p, xv, h)
    bc, stc = b_start.copy(), np.array([0.0, np.dot(v, z), v.sum(), 0.4])
    cd_quadratic(X, None, None, None, False, v, 0.0, xm, xv, h, l1, l2, lo, hi, bc, z.copy(),
                 stc, ws, p, intercept, 1e-24, 100000)
    np.testing.assert_allclose(b, bc, rtol=0, atol=1e-9)
    assert st[3] == pytest.approx(stc[3], abs=1e-9)
