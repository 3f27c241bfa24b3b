"""Box constraints across the families and solvers: random boxes whose ends are away from
zero (coefficients stop at them, where an exact active-set step must not step past them),
one-sided and two-sided, lasso to nearly ridge, dense, sparse and tall designs. Every fit
must converge, stay in its box and be optimal there (no perturbation clipped to the box
lowers the objective of ``_reference.objective``). Boxes without 0 are refused by name:
the null model every path starts from would be infeasible (glmnet refuses them too)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from _reference import objective
from shrinkage import cross_validate, regularization_path

FAMILIES = ["gaussian", "binomial", "poisson", "multinomial"]


def _data(family, n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))  # correlated
    eta = X @ (1.5 * rng.normal(size=p))
    if family == "gaussian":
        return X, eta + rng.standard_normal(n)
    if family == "binomial":
        return X, (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    if family == "poisson":
        return X, rng.poisson(np.exp(0.3 * eta / np.std(eta))).astype(float)
    B = rng.normal(size=(p, 3))
    return X, np.argmax(X @ B + rng.gumbel(size=(n, 3)), axis=1)


def _box(p, rng):
    lo = np.where(rng.uniform(size=p) < 0.5, -rng.uniform(0.0, 0.4, p), -np.inf)
    hi = np.where(rng.uniform(size=p) < 0.5, rng.uniform(0.0, 0.4, p), np.inf)
    return lo, hi


@pytest.mark.parametrize("seed", range(24))
def test_fits_stay_in_their_box_and_are_optimal_there(seed):
    rng = np.random.default_rng(1000 + seed)
    family = FAMILIES[seed % 4]
    n, p = [(40, 12), (120, 6), (400, 5), (60, 40)][(seed // 4) % 4]
    X, y = _data(family, n, p, seed)
    lo, hi = _box(p, rng)
    l1_ratio = [1.0, 0.6, 0.2][seed % 3]
    design = sp.csc_matrix(X) if seed % 5 == 0 else X
    kw = dict(multinomial_grouped=False) if family == "multinomial" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fit that does not converge fails here
        path = regularization_path(design, y, family, l1_ratio=l1_ratio, lower=lo, upper=hi,
                                   n_lams=12, tol=1e-10, **kw)
    assert path.converged.all() and np.max(path.certificate) <= 1e-10
    C = path.coefs
    lo_, hi_ = (lo[:, None], hi[:, None]) if C.ndim == 3 else (lo, hi)
    assert (C >= lo_).all() and (C <= hi_).all()
    Y = np.eye(3)[y] if family == "multinomial" else y
    sd = X.std(0)
    sd = sd[:, None] if C.ndim == 3 else sd
    for k in range(1, path.n_lams, 4):
        B, b0, lam = C[k], path.intercepts[k], path.lams[k]
        f0 = objective(family, X, Y, b0, B, lam, l1_ratio, grouped=False)
        for _ in range(15):
            trial = np.clip(B + rng.standard_normal(B.shape) * 1e-4 / sd, lo_, hi_)
            assert objective(family, X, Y, b0, trial, lam, l1_ratio,
                             grouped=False) >= f0 - 1e-12 * max(1.0, abs(f0))


@pytest.mark.parametrize("bounds", [dict(lower=[0.0, 0.1, -1.0]), dict(upper=-0.5),
                                    dict(lower=-1.0, upper=[1.0, 1.0, -0.2])])
def test_a_box_without_zero_is_refused_by_name(bounds):
    X, y = _data("gaussian", 50, 3, 0)
    j = 1 if "lower" in bounds and np.ndim(bounds["lower"]) else (2 if "lower" in bounds
                                                                    else 0)
    with pytest.raises(ValueError, match=f"bounds must contain 0.*feature {j}"):
        regularization_path(X, y, **bounds)
    with pytest.raises(ValueError, match="bounds must contain 0"):
        cross_validate(X, y, cv=3, **bounds)


@pytest.mark.parametrize("seed", range(3))
def test_cox_fits_stay_in_their_box(seed):
    rng = np.random.default_rng(seed)
    n, p = 150, 6
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    lo, hi = _box(p, rng)
    times = rng.exponential(np.exp(-X @ rng.normal(size=p)))
    y = np.column_stack([times, rng.uniform(size=n) < 0.8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = regularization_path(X, y, "cox", lower=lo, upper=hi, n_lams=10, tol=1e-10,
                                   l1_ratio=[1.0, 0.5, 0.2][seed])
    assert path.converged.all()
    assert (path.coefs >= lo).all() and (path.coefs <= hi).all()
    assert np.any(np.isclose(path.coefs[-1], lo) | np.isclose(path.coefs[-1], hi))


def test_bounds_where_a_group_penalty_applies_are_refused_by_name():
    X, y = _data("gaussian", 60, 4, 1)
    Y = np.column_stack([y, -y + 0.1])
    with pytest.raises(ValueError, match="not supported for the mgaussian family"):
        regularization_path(X, Y, "mgaussian", lower=-1.0)
    with pytest.raises(ValueError, match="not supported with feature_groups"):
        regularization_path(X, y, feature_groups=[0, 0, 1, 1], upper=1.0)


@pytest.mark.parametrize("family", FAMILIES + ["cox", "blocked binomial", "blocked gaussian"])
@pytest.mark.parametrize("shape", [(200, 10), (40, 60)])
def test_a_first_feature_held_at_its_bound_does_not_end_the_path(family, shape):
    # The strongest feature enters first and stops at upper=0.05 at once: the deviance is
    # flat until the next one enters, which is no sign of saturation (the default grid
    # once ended there, after five strengths, with one feature in the model)
    rng = np.random.default_rng(0)
    n, p = shape
    X = rng.standard_normal((n, p))
    eta = X[:, :5] @ np.array([3.0, 1.0, 0.5, 0.3, 0.2])
    fam = family.split()[-1]
    if fam == "cox":
        y = np.column_stack([rng.exponential(np.exp(-eta)), rng.uniform(size=n) < 0.8])
    else:
        y = _data(fam, n, p, 0)[1] if fam == "multinomial" else {
            "gaussian": eta + rng.standard_normal(n),
            "binomial": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float),
            "poisson": rng.poisson(np.exp(0.3 * eta)).astype(float)}[fam]
    hi = np.r_[0.05, np.full(p - 1, np.inf)]
    kw = dict(upper=hi, multinomial_grouped=False) if fam == "multinomial" else dict(upper=hi)
    if family.startswith("blocked"):
        from shrinkage.distributed import regularization_path as blocked_path
        path = blocked_path(X, y, fam, block_rows=n // 3, **kw)
    else:
        path = regularization_path(X, y, fam, **kw)
    nonzero = np.abs(path.coefs).reshape(path.coefs.shape[0], p, -1).max(axis=2) > 0
    if fam != "multinomial":  # (a class's bound is a row of its coefficients)
        assert path.coefs[:, 0].max() == pytest.approx(0.05)
    assert path.lams.size > 20 and nonzero[-1].sum() >= 3
