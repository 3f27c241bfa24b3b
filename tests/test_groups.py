"""Penalties on groups of coefficients (issue 16): group elastic net, sparse-group lasso,
multi-response gaussian. Certificates are re-derived here from the coefficients alone
(not with the engine's functions); references are adelie's grpnet (stored numbers, see
tests/data/make_group_reference.py), scikit-learn's MultiTaskLasso / MultiTaskElasticNet
and a proximal-gradient solver written below."""

import os

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import group_design
from shrinkage import regularization_path

DATA = os.path.join(os.path.dirname(__file__), "data", "group_reference.npz")




def _mean(family, eta):
    if family == "binomial":
        return 1 / (1 + np.exp(-eta))
    if family == "poisson":
        return np.exp(eta)
    return eta


def _kkt(path, X, y, labels, l1_ratio, mix, k, family):
    """Largest group KKT violation at path point k, standardized units, from scratch."""
    n, p = X.shape
    b = path.coefs[k]
    eta = path.intercepts[k] + X @ b
    resid = (y - _mean(family, eta)) / n
    s = X.std(axis=0) if path.standardize else np.ones(p)
    grad = (X - X.mean(axis=0)).T @ resid / s  # -d loss / d (s_j b_j)
    beta = b * s
    lam = path.lams[k]
    worst = abs(resid.sum())
    for g in np.unique(labels):
        idx = labels == g
        pf = np.sqrt(idx.sum())
        l1g, l1in = lam * pf * l1_ratio * (1 - mix), lam * pf * l1_ratio * mix
        z = grad[idx] - lam * pf * (1 - l1_ratio) * beta[idx]
        bg = beta[idx]
        nb = np.linalg.norm(bg)
        if nb == 0:
            v = max(np.linalg.norm(np.maximum(np.abs(z) - l1in, 0)) - l1g, 0)
        else:
            u = z - l1g * bg / nb
            dev = np.where(bg != 0, u - l1in * np.sign(bg), np.maximum(np.abs(u) - l1in, 0))
            v = np.linalg.norm(dev)
        worst = max(worst, v)
    return worst


@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
@pytest.mark.parametrize("l1_ratio,mix", [(1.0, 0.0), (0.6, 0.0), (1.0, 0.4)])
def test_certificates_at_tight_tolerance(family, l1_ratio, mix):
    X, labels, ys = group_design()
    y = ys[family]
    path = regularization_path(X, y, family=family, feature_groups=labels, l1_ratio=l1_ratio,
                               group_mix=mix, n_lams=30, tol=1e-10)
    assert path.converged.all()
    assert np.all(path.certificate <= 1e-10)
    assert path.certificate_kind == ("duality_gap" if family == "gaussian" else "kkt_violation")
    # groups enter or leave whole when mix = 0
    if mix == 0:
        for k in range(path.n_lams):
            for g in np.unique(labels):
                nz = path.coefs[k][labels == g] != 0
                assert nz.all() or not nz.any()
    # the optimality conditions, re-derived from the coefficients alone (a relative gap
    # of 1e-10 bounds the KKT violation by about its square root)
    grad0 = np.abs((X - X.mean(0)).T @ (y - _mean(family, path.intercepts[0]
                                                   + X @ path.coefs[0])) / len(y))
    top = float(np.max(grad0 / X.std(0)))
    bound = 1e-4 if family == "gaussian" else 1e-8
    for k in range(path.n_lams):
        assert _kkt(path, X, y, labels, l1_ratio, mix, k, family) <= bound * top
    # lam_max is exact: every penalised group is zero there and not just below it
    assert not np.any(path.coefs[0])
    below = regularization_path(X, y, family=family, feature_groups=labels,
                                l1_ratio=l1_ratio, group_mix=mix,
                                lams=[path.lam_max * (1 - 1e-6)], tol=1e-10)
    assert np.any(below.coefs[0])


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
@pytest.mark.parametrize("sparse", [False, True])
def test_singleton_groups_are_the_lasso(family, sparse):
    X, labels, ys = group_design()
    Xs = sp.csc_matrix(X) if sparse else X
    p = X.shape[1]
    lasso = regularization_path(Xs, ys[family], family=family, tol=1e-12, n_lams=40)
    grouped = regularization_path(Xs, ys[family], family=family, feature_groups=np.arange(p),
                                  penalty_factor=np.ones(p), lams=lasso.lams, tol=1e-12)
    assert grouped.lam_max == pytest.approx(lasso.lam_max, rel=1e-12)
    np.testing.assert_allclose(grouped.coefs, lasso.coefs, atol=1e-7)
    np.testing.assert_allclose(grouped.intercepts, lasso.intercepts, atol=1e-7)


def test_sparse_design_equals_dense():
    X, labels, ys = group_design()
    dense = regularization_path(X, ys["gaussian"], feature_groups=labels, tol=1e-12, n_lams=30)
    spar = regularization_path(sp.csc_matrix(X), ys["gaussian"], feature_groups=labels,
                               lams=dense.lams, tol=1e-12)
    np.testing.assert_allclose(spar.coefs, dense.coefs, atol=1e-8)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_invariant_to_group_order_and_form(family):
    X, labels, ys = group_design()
    base = regularization_path(X, ys[family], family=family, feature_groups=labels,
                               tol=1e-12, n_lams=30)
    relabel = np.array([4, 0, 3, 1, 2])[labels]  # the same partition, other group order
    perm = regularization_path(X, ys[family], family=family, feature_groups=relabel,
                               lams=base.lams, tol=1e-12)
    as_list = [np.flatnonzero(labels == g)[::-1] for g in (3, 1, 4, 0, 2)]
    listed = regularization_path(X, ys[family], family=family, feature_groups=as_list,
                                 lams=base.lams, tol=1e-12)
    np.testing.assert_allclose(perm.coefs, base.coefs, atol=1e-8)
    np.testing.assert_allclose(listed.coefs, base.coefs, atol=1e-8)
    # permuting the columns of X permutes the coefficients
    cols = np.random.default_rng(1).permutation(X.shape[1])
    swapped = regularization_path(X[:, cols], ys[family], family=family,
                                  feature_groups=labels[cols], lams=base.lams, tol=1e-12)
    np.testing.assert_allclose(swapped.coefs, base.coefs[:, cols], atol=1e-8)


@pytest.mark.parametrize("family,target", [("gaussian", "y"), ("binomial", "yb")])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_agrees_with_adelie_grpnet(family, target, alpha):
    """adelie 1.1.52 grpnet at tol 1e-14, stored; agreement to 1e-6 (observed ~2e-8)."""
    ref = np.load(DATA, allow_pickle=False)
    X = ref["X"]
    labels = np.searchsorted(ref["starts"], np.arange(X.shape[1]), side="right") - 1
    key = f"{family}_{alpha:g}"
    path = regularization_path(X, ref[target], family=family, feature_groups=labels,
                               l1_ratio=alpha, lams=ref[key + "_lams"], standardize=False,
                               tol=1e-12)
    assert path.lam_max == pytest.approx(ref[key + "_lams"][0], rel=1e-8)
    np.testing.assert_allclose(path.coefs, ref[key + "_coefs"], atol=1e-6)
    np.testing.assert_allclose(path.intercepts, ref[key + "_intercepts"], atol=1e-6)


def _sgl_reference(X, y, labels, lam, mix, iters=50_000):
    """The sparse-group lasso (gaussian, standardize=False) by FISTA with restarts on the
    centred problem: ``1/(2n) ||yc - Xc b||^2 + lam sum_g sqrt|g| ((1-mix)||b_g|| +
    mix ||b_g||_1)``."""
    n, p = X.shape
    Xc = X - X.mean(0)
    yc = y - y.mean()
    L = np.linalg.norm(Xc, 2) ** 2 / n
    groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]

    def prox(u, t):
        out = np.empty_like(u)
        for idx in groups:
            pf = np.sqrt(idx.size)
            s = np.sign(u[idx]) * np.maximum(np.abs(u[idx]) - t * lam * pf * mix, 0)
            nrm = np.linalg.norm(s)
            thr = t * lam * pf * (1 - mix)
            out[idx] = 0 if nrm <= thr else s * (1 - thr / nrm)
        return out

    b = np.zeros(p)
    z = b.copy()
    mom = 1.0
    for _ in range(iters):
        grad = -Xc.T @ (yc - Xc @ z) / n
        nb = prox(z - grad / L, 1 / L)
        new_mom = (1 + np.sqrt(1 + 4 * mom * mom)) / 2
        if np.dot(z - nb, nb - b) > 0:
            new_mom, z = 1.0, nb
        else:
            z = nb + (mom - 1) / new_mom * (nb - b)
        if np.max(np.abs(nb - b)) < 1e-15:
            b = nb
            break
        b, mom = nb, new_mom
    return b


def test_sparse_group_lasso_against_proximal_gradient():
    X, labels, ys = group_design(n=100, sizes=(3, 4, 2, 3))
    path = regularization_path(X, ys["gaussian"], feature_groups=labels, group_mix=0.5,
                               standardize=False, n_lams=12, lam_min_ratio=0.05, tol=1e-13)
    for k in (2, 6, 11):
        ref = _sgl_reference(X, ys["gaussian"], labels, path.lams[k], 0.5)
        np.testing.assert_allclose(path.coefs[k], ref, atol=1e-6)
    # L1 inside the groups: some groups are partly zero
    assert any(0 < np.count_nonzero(path.coefs[k][labels == g]) < np.sum(labels == g)
               for k in range(path.n_lams) for g in np.unique(labels))


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_sparse_group_lasso_ends(family):
    X, labels, ys = group_design()
    y = ys[family]
    pf = np.sqrt(np.bincount(labels))
    lasso = regularization_path(X, y, family=family, penalty_factor=pf[labels], tol=1e-12,
                                n_lams=30)
    mix1 = regularization_path(X, y, family=family, feature_groups=labels, group_mix=1.0,
                               lams=lasso.lams, tol=1e-12)
    np.testing.assert_allclose(mix1.coefs, lasso.coefs, atol=1e-7)
    group = regularization_path(X, y, family=family, feature_groups=labels, tol=1e-12,
                                n_lams=30)
    mix0 = regularization_path(X, y, family=family, feature_groups=labels, group_mix=0.0,
                               lams=group.lams, tol=1e-12)
    tiny = regularization_path(X, y, family=family, feature_groups=labels, group_mix=1e-9,
                               lams=group.lams, tol=1e-12)
    np.testing.assert_allclose(mix0.coefs, group.coefs, atol=0)
    np.testing.assert_allclose(tiny.coefs, group.coefs, atol=1e-6)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
def test_mgaussian_agrees_with_sklearn_multitask(l1_ratio):
    from sklearn.linear_model import MultiTaskElasticNet, MultiTaskLasso

    X, _, _ = group_design(n=90)
    rng = np.random.default_rng(3)
    W = np.zeros((X.shape[1], 3))
    W[:4] = rng.standard_normal((4, 3))
    Y = X @ W + rng.standard_normal((90, 3))
    path = regularization_path(X, Y, family="mgaussian", l1_ratio=l1_ratio,
                               standardize=False, n_lams=15, tol=1e-12)
    assert path.coefs.shape == (path.n_lams, X.shape[1], 3)
    assert path.certificate.max() <= 1e-12
    for k in (3, 8, path.n_lams - 1):
        lam = path.lams[k]
        if l1_ratio == 1.0:
            ref = MultiTaskLasso(alpha=lam, tol=1e-14, max_iter=100_000).fit(X, Y)
        else:
            ref = MultiTaskElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-14,
                                      max_iter=100_000).fit(X, Y)
        # the same objective to 1e-12 (relative); coefficients to 1e-5 (two nearly
        # collinear columns make the objective flat along their difference)
        def objective(B, b0, lam=lam):
            R = Y - b0 - X @ B
            return 0.5 * np.sum(R * R) / len(Y) + lam * (
                l1_ratio * np.sum(np.linalg.norm(B, axis=1))
                + (1 - l1_ratio) / 2 * np.sum(B * B))

        ours = objective(path.coefs[k], path.intercepts[k])
        assert ours <= objective(ref.coef_.T, ref.intercept_) * (1 + 1e-12)
        np.testing.assert_allclose(path.coefs[k], ref.coef_.T, atol=1e-5)
        np.testing.assert_allclose(path.intercepts[k], ref.intercept_, atol=1e-5)
    # rows enter whole
    assert np.all((path.coefs != 0).all(axis=2) == (path.coefs != 0).any(axis=2))


def test_unpenalized_group_is_fitted_from_the_start():
    X, labels, ys = group_design()
    pf = np.sqrt(np.bincount(labels))
    pf[2] = 0.0
    path = regularization_path(X, ys["binomial"], family="binomial", feature_groups=labels,
                               penalty_factor=pf, n_lams=20, tol=1e-10)
    assert np.all(path.coefs[0][labels == 2] != 0)
    assert not np.any(path.coefs[0][labels != 2])
    assert path.converged.all()


@pytest.mark.parametrize("kwargs,message", [
    ({"feature_groups": np.arange(5)}, "one label per feature"),
    ({"feature_groups": np.r_[np.nan, np.arange(14.0)]}, "NaN labels"),
    ({"feature_groups": np.array([None] + ["a"] * 14, dtype=object)}, "missing labels"),
    ({"feature_groups": [np.arange(10), np.array([], dtype=int), np.arange(10, 15)]},
     "empty"),
    ({"feature_groups": [np.arange(10), np.arange(9, 15)]}, "more than one group"),
    ({"feature_groups": [np.arange(10), np.arange(11, 15)]}, "in no group"),
    ({"feature_groups": [np.arange(10), np.arange(10, 16)]}, "outside"),
    ({"feature_groups": np.repeat([0, 1, 2], 5), "penalty_factor": np.ones(15)},
     "one entry per group"),
    ({"feature_groups": np.repeat([0, 1, 2], 5), "penalty_factor": [1, -1, 1]}, ">= 0"),
    ({"feature_groups": np.repeat([0, 1, 2], 5), "upper": 1.0}, "bounds"),
    ({"feature_groups": np.repeat([0, 1, 2], 5), "l1_ratio": 0.0}, "ridge"),
    ({"feature_groups": np.repeat([0, 1, 2], 5), "group_mix": 1.5}, "group_mix"),
    ({"group_mix": 0.5}, "group_mix needs feature_groups"),
])
def test_bad_inputs_are_named(kwargs, message):
    X, _, ys = group_design()
    with pytest.raises(ValueError, match=message):
        regularization_path(X, ys["gaussian"], **kwargs)


def test_unsupported_combinations_say_so():
    X, labels, ys = group_design()
    with pytest.raises(ValueError, match="not supported for the multinomial"):
        regularization_path(X, np.arange(X.shape[0]) % 3, family="multinomial",
                            feature_groups=labels)
    with pytest.raises(ValueError, match=r"shape \(120, k\)"):
        regularization_path(X, np.zeros((120, 2, 2)), family="mgaussian")
