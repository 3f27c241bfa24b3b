"""The compiled bookkeeping of a multinomial Newton step against NumPy and SciPy."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp, softmax

from shrinkage.engine.kernels.multinomial_round import (
    class_certificate,
    class_loss,
    class_predictor,
    finish_step,
    softmax_refresh,
)
from shrinkage.engine.problem import unsigned_index

N, P, K = 40, 7, 3


def _design(sparse, rng):
    X = rng.standard_normal((N, P)) * (rng.random((N, P)) < 0.5)
    X[:, 2] += 1e3  # a far mean: the centring must not cancel
    if sparse:
        S = sp.csc_matrix(X)
        return X, (None, S.data, unsigned_index(S.indices), unsigned_index(S.indptr), True)
    return X, (np.asfortranarray(X), None, None, None, False)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    Y = np.eye(K)[rng.integers(0, K, N)]
    w = rng.random(N)
    w /= w.sum()
    return rng, Y, w


@pytest.mark.parametrize("sparse", [False, True])
def test_refresh_and_predictor_match_numpy(sparse):
    rng, Y, w = _problem()
    X, design = _design(sparse, rng)
    xm = w @ X
    excluded = np.zeros(P, dtype=bool)
    excluded[4] = True
    B = rng.standard_normal((P, K)) * 0.01
    B[1] = 0.0
    b0 = rng.standard_normal(K)
    eta = np.empty((N, K))
    class_predictor(*design, xm, B, b0, eta)
    np.testing.assert_allclose(eta, (X - xm) @ B + b0, rtol=1e-12, atol=1e-12)
    Pr, R, G = np.empty((N, K)), np.empty((N, K)), np.empty((P, K))
    softmax_refresh(*design, eta, Y, w, xm, excluded, Pr, R, G)
    np.testing.assert_allclose(Pr, softmax(eta, axis=1), rtol=1e-13)
    np.testing.assert_allclose(R, Y - Pr, atol=1e-15)
    want = (X - xm).T @ (w[:, None] * R)
    want[excluded] = 0.0
    np.testing.assert_allclose(G, want, rtol=1e-9, atol=1e-12)
    assert class_loss(Y, eta, w) == pytest.approx(w @ (logsumexp(eta, axis=1)
                                                       - np.sum(Y * eta, axis=1)), rel=1e-14)


def _violations(G, B, l1, l2, grouped):
    """Each feature's distance from its optimality condition, written from the definition
    (no bounds)."""
    out = np.empty(B.shape[0])
    for j in range(B.shape[0]):
        z = G[j] - l2[j] * B[j]
        nb = np.linalg.norm(B[j])
        if grouped:
            out[j] = (np.linalg.norm(z - l1[j] * B[j] / nb) if nb > 0
                      else max(np.linalg.norm(z) - l1[j], 0.0))
        else:
            sub = np.where(B[j] != 0, np.abs(z - l1[j] * np.sign(B[j])),
                           np.maximum(np.abs(z) - l1[j], 0.0))
            out[j] = sub.max()
    return out


@pytest.mark.parametrize("grouped", [False, True])
def test_certificate_is_the_largest_violation_and_grows_the_working_set(grouped):
    rng, Y, w = _problem(1)
    G = rng.standard_normal((P, K))
    B = rng.standard_normal((P, K)) * (rng.random((P, K)) < 0.5)
    B[0] = 0.0
    R = rng.standard_normal((N, K)) * 0.1
    l1, l2 = np.full(P, 0.8), np.full(P, 0.1)
    scale = rng.random(P) + 0.5
    cand = np.ones(P, dtype=bool)
    cand[3] = False
    inf = np.full(P, np.inf)
    viol = _violations(G, B, l1, l2, grouped) / scale
    viol[~cand] = 0.0
    want = max(viol.max(), np.abs(w @ R).max()) / 2.0
    in_ws = np.zeros(P, dtype=bool)
    got = class_certificate(G, B, R, w, l1, l2, -inf, inf, scale, cand, in_ws, False, grouped,
                            True, 2.0)
    assert got == pytest.approx(want, rel=1e-13)
    np.testing.assert_array_equal(in_ws, viol > 0)
    mask = np.zeros(P, dtype=bool)
    mask[[0, 5]] = True
    got = class_certificate(G, B, R, w, l1, l2, -inf, inf, scale, cand, mask, True, grouped,
                            False, 2.0)
    assert got == pytest.approx(viol[[0, 5]].max() / 2.0, rel=1e-13)


@pytest.mark.parametrize("sparse", [False, True])
def test_line_search_lowers_the_objective_or_restores(sparse):
    rng, Y, w = _problem(2)
    X, design = _design(sparse, rng)
    xm = w @ X
    l1, l2 = np.full(P, 1e-3), np.full(P, 1e-4)

    def objective(B, b0):
        eta = (X - xm) @ B + b0
        pen = l1 @ np.abs(B).sum(axis=1) + 0.5 * l2 @ (B * B).sum(axis=1)
        return w @ (logsumexp(eta, axis=1) - np.sum(Y * eta, axis=1)) + pen

    B_old, b0_old = np.zeros((P, K)), np.zeros(K)
    eta = np.zeros((N, K))
    R = Y - 1.0 / K
    f_old = objective(B_old, b0_old)
    # along the negative gradient, far too long a step: the search must cut it
    G = (X - xm).T @ (w[:, None] * R)
    B = B_old + 50.0 * G
    b0 = b0_old + 50.0 * (w @ R)
    f = finish_step(*design, Y, w, xm, B, B_old, b0, b0_old, eta, R, l1, l2, False, f_old)
    assert f < f_old
    assert f == pytest.approx(objective(B, b0), rel=1e-12)
    np.testing.assert_allclose(eta, (X - xm) @ B + b0, rtol=1e-10, atol=1e-12)
    # a steep ascent direction: even 2^-39 of it raises the objective by more than its
    # rounding, so no step is taken and the start is restored
    B_old, b0_old, eta0 = B.copy(), b0.copy(), eta.copy()
    R = Y - softmax(eta, axis=1)
    G = (X - xm).T @ (w[:, None] * R)
    B = B_old - 1e3 * G
    b0 = b0_old - 1e3 * (w @ R)
    f = finish_step(*design, Y, w, xm, B, B_old, b0, b0_old, eta, R, l1, l2, False,
                    objective(B_old, b0_old))
    assert np.isnan(f)
    np.testing.assert_array_equal(B, B_old)
    np.testing.assert_array_equal(b0, b0_old)
    np.testing.assert_array_equal(eta, eta0)
