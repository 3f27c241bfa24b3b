"""The partial likelihood's O(n) kernels against its definition, summed risk set by risk set
in O(n^2): loss, gradient and diagonal curvature (finite differences), and the paired
losses of cross-validation scoring."""

import numpy as np
import pytest

from shrinkage.model.cox import cox_index, survival_response
from shrinkage.model.cox_math import (
    cox_loss,
    cox_loss_pair,
    cox_observation_derivatives,
    cox_terms,
    new_terms,
)


def _direct_loss(start, stop, event, stratum, w, eta, efron):
    """``sum_k [(W_k/d_k) sum_r log(S_k - c_r D_k) - sum_{dies at k} w eta]`` from the
    risk sets themselves (rows of zero weight absent)."""
    live = w > 0
    loss = 0.0
    for s in np.unique(stratum):
        ins = (stratum == s) & live
        for t in np.unique(stop[ins & (event == 1)]):
            dead = ins & (event == 1) & (stop == t)
            risk = ins & (start < t) & (stop >= t)
            r = np.where(live, w * np.exp(np.where(live, eta, 0.0)), 0.0)
            S, D, W, d = r[risk].sum(), r[dead].sum(), w[dead].sum(), dead.sum()
            c = np.arange(d) / d if efron else np.zeros(1)
            reps = 1.0 if efron else float(d)
            loss += W / d * reps * np.sum(np.log(S - c * D)) - np.sum(w[dead] * eta[dead])
    return loss


def _data(seed=3, n=90):
    rng = np.random.default_rng(seed)
    stop = np.round(rng.exponential(1.0, n), 1) + 0.1  # many ties
    start = np.where(rng.random(n) < 0.3, stop * rng.random(n) * 0.8, -np.inf)
    event = (rng.random(n) < 0.7).astype(float)
    strata = rng.integers(0, 2, n)
    w = rng.uniform(0.2, 2.0, n)
    w[:3] = 0.0  # absent rows
    w /= w.sum()
    y = survival_response(np.c_[start, stop, event], strata=strata)
    return y, w, rng


def _derivatives(y, w, eta, efron):
    idx = cox_index(y)
    terms, prefix = new_terms(idx.sentinel.size)
    n = eta.size
    mu, wres, v = np.empty(n), np.empty(n), np.empty(n)
    loss = cox_terms(eta, w, idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms, mu)[0]
    cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms, mu, prefix,
                                wres, v)
    return loss, wres, v


@pytest.mark.parametrize("efron", [False, True])
def test_loss_gradient_and_curvature_equal_the_definition(efron):
    y, w, rng = _data()
    eta = rng.normal(scale=0.7, size=y.size) + 30.0  # a large shift: sums are rescaled
    eta[1] = 900.0  # a row of zero weight far above the others changes nothing

    def ref(e):
        return _direct_loss(y["start"], y["stop"], y["event"], y["stratum"], w, e, efron)

    loss, wres, v = _derivatives(y, w, eta, efron)
    assert loss == pytest.approx(ref(eta), rel=1e-12)
    h = 1e-4
    E = np.eye(y.size)
    fd_g = np.array([(ref(eta + h * u) - ref(eta - h * u)) / (2 * h) for u in E])
    np.testing.assert_allclose(-wres, fd_g, rtol=1e-6, atol=1e-9)
    fd_h = np.array([(ref(eta + h * u) - 2 * ref(eta) + ref(eta - h * u)) / h**2 for u in E])
    np.testing.assert_allclose(v, fd_h, rtol=1e-4, atol=1e-7)
    assert np.all(wres[w == 0] == 0) and np.all(v[w == 0] == 0)
    # the solver counts ties once and reuses the counts at every later eta
    idx = cox_index(y)
    terms, _ = new_terms(idx.sentinel.size)
    mu = np.empty(y.size)
    args = (w, idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms, mu)
    cox_terms(np.zeros(y.size), *args)
    again = cox_terms(eta, *args, True)
    assert again[0] == loss and again == cox_terms(eta, *args)


@pytest.mark.parametrize("efron", [False, True])
def test_paired_losses_equal_two_evaluations(efron):
    y, w, rng = _data(seed=4)
    idx = cox_index(y)
    terms, _ = new_terms(idx.sentinel.size)
    args = (idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms)
    train = np.where(rng.random(y.size) < 0.8, w, 0.0)
    eta = rng.normal(size=y.size)
    full, part = cox_loss_pair(eta, w, train, idx, efron)
    assert full == pytest.approx(cox_loss(eta, w, *args)[0], rel=1e-13)
    assert part == pytest.approx(cox_loss(eta, train, *args)[0], rel=1e-13)
    # held-out rows far above the training rows: at the shared shift every training risk
    # underflows, and the training loss is recomputed with its own
    eta_far = np.where(train > 0, eta, eta + 2000.0)
    full, part = cox_loss_pair(eta_far, w, train, idx, efron)
    assert np.isfinite(part)
    assert part == pytest.approx(cox_loss(eta_far, train, *args)[0], rel=1e-13)
    assert full == cox_loss(eta_far, w, *args)[0]


def test_late_entries_beside_far_lower_risks_keep_their_sums():
    """(start, stop] data: 10 rows at risk early and 90 entering later never share a risk
    set, so shifting the early rows' predictor by a constant changes nothing. Summed back
    from the last slot, the early risk sets were the late rows' weight less itself: at a
    shift of -30 they read 7 % off and the path stalled (found by a correctness hunt).
    Each slot now takes the forward or backward sum that cancels less
    (``cox_math.forward_risk``): the loss, gradient, curvature and Hessian do not move."""
    from shrinkage.model.cox_math import cox_hessian

    rng = np.random.default_rng(0)
    n0, n1, p = 10, 90, 3
    Z = rng.standard_normal((n0 + n1, p))
    entry = np.r_[np.zeros(n0), np.full(n1, 2.0)]
    stop = np.r_[np.sort(rng.uniform(0.05, 1.0, n0)), 2.0 + rng.exponential(1.0, n1)]
    event = np.r_[np.ones(n0), (rng.random(n1) < 0.8).astype(float)]
    y = survival_response(np.c_[entry, stop, event])
    idx = cox_index(y)
    w = np.full(n0 + n1, 1.0 / (n0 + n1))
    eta0 = Z @ np.array([0.5, -0.3, 0.2])
    for efron in (False, True):
        out = []
        for shift in (0.0, -30.0, -60.0):
            eta = eta0 + np.r_[np.full(n0, shift), np.zeros(n1)]
            loss, wres, v = _derivatives(y, w, eta, efron)
            terms, prefix = new_terms(idx.sentinel.size)
            mu, r, vv = np.empty(eta.size), np.empty(eta.size), np.empty(eta.size)
            cox_terms(eta, w, idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms, mu)
            cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms, mu,
                                        prefix, r, vv)
            H = cox_hessian(Z, np.where(idx.evk >= 0, w, 0.0), r, mu, terms, idx.lo, idx.hi,
                            idx.evk, idx.sentinel, efron)
            out.append((loss, Z.T @ wres, v, H))
            assert loss == pytest.approx(
                _direct_loss(entry, stop, event, np.zeros(n0 + n1), w, eta, efron), rel=1e-12)
        for got in out[1:]:
            assert got[0] == pytest.approx(out[0][0], rel=1e-12)
            np.testing.assert_allclose(got[1], out[0][1], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(got[2][n0:], out[0][2][n0:], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(got[3], out[0][3], rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("efron", [False, True])
def test_risk_sets_between_two_heavy_cohorts_are_summed_without_differences(efron):
    """Rows of high risk leave before the middle slots and others of high risk enter after
    them; the middle risk sets hold only rows ``exp(-30)`` below. Both differences (back
    from the last slot, forward from the first) cancel there, so the sums are taken on a
    segment tree (``cox_risk.tree_risk``): the loss, gradient and curvature equal the
    definition, and the Hessian its finite differences."""
    from shrinkage.model.cox_math import cox_hessian

    rng = np.random.default_rng(2)
    k = 12
    start = np.r_[np.zeros(k), np.zeros(k), np.full(k, 2.0)]
    stop = np.r_[rng.uniform(0.1, 1.0, k), rng.uniform(1.1, 2.5, k), rng.uniform(2.1, 4, k)]
    event = (rng.random(3 * k) < 0.8).astype(float)
    y = survival_response(np.c_[start, stop, event])
    w = np.full(3 * k, 1.0 / (3 * k))
    Z = rng.standard_normal((3 * k, 2))
    base = np.r_[np.zeros(k), np.full(k, -30.0), np.zeros(k)]

    def ref(e):
        return _direct_loss(start, stop, event, np.zeros(3 * k), w, e, efron)

    eta = base + Z @ np.array([0.4, -0.3])
    loss, wres, v = _derivatives(y, w, eta, efron)
    assert loss == pytest.approx(ref(eta), rel=1e-12)
    h = 1e-4
    E = np.eye(3 * k)
    fd_g = np.array([(ref(eta + h * u) - ref(eta - h * u)) / (2 * h) for u in E])
    np.testing.assert_allclose(-wres, fd_g, rtol=1e-6, atol=1e-12)
    fd_h = np.array([(ref(eta + h * u) - 2 * ref(eta) + ref(eta - h * u)) / h**2 for u in E])
    np.testing.assert_allclose(v, fd_h, rtol=1e-4, atol=1e-9)
    idx = cox_index(y)
    terms, prefix = new_terms(idx.sentinel.size)
    mu, r, vv = np.empty(3 * k), np.empty(3 * k), np.empty(3 * k)
    cox_terms(eta, w, idx.lo, idx.hi, idx.evk, idx.sentinel, efron, terms, mu)
    cox_observation_derivatives(w, idx.lo, idx.hi, idx.evk, idx.sentinel, terms, mu, prefix,
                                r, vv)
    H = cox_hessian(Z, np.where(idx.evk >= 0, w, 0.0), r, mu, terms, idx.lo, idx.hi,
                    idx.evk, idx.sentinel, efron)

    def grad(b):
        return -Z.T @ _derivatives(y, w, base + Z @ b, efron)[1]

    b = np.array([0.4, -0.3])
    fd = np.column_stack([(grad(b + 1e-5 * u) - grad(b - 1e-5 * u)) / 2e-5 for u in np.eye(2)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
