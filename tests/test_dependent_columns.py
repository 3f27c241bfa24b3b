"""Gaussian paths on designs whose columns are exactly linearly dependent, without ties.

Power-law text has rare terms that occur in the same few documents; among the active
features of a saturated path some are exact linear combinations of others (a term in
documents {1, 2} against one in {1} and one in {2}), and no two of them are proportional,
so :mod:`shrinkage.engine.ties` leaves them alone. The lasso's coefficients are then not
unique, but its fitted values are: for ``P(b) = 1/2 sum_i w_i r_i^2 + penalty`` (weights
summing to one) and any minimiser ``b*``, ``P(b) - P(b*) >= 1/2 sum_i w_i (f_i - f*_i)^2``
with ``f = b0 + X b``. These tests re-derive the certificate in NumPy from the returned
coefficients (``u = t w r``, ``t`` the largest scale in (0, 1] keeping it feasible), check
that it bounds the suboptimality against a tightly solved path and the distance of the
fitted values through the inequality above, and compare with scikit-learn.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage.engine.contract import FitHints
from shrinkage.engine.path import PathOptions, fit_path
from shrinkage.engine.ties import find_ties
from shrinkage.model.families import Gaussian
from shrinkage.validation import check_design

# the dependent columns appended to the base design: (column a, column b, coefficient of
# b); a and b have disjoint supports, so a + c b is proportional to neither
_COMBOS = ((0, 1, 1.0), (2, 3, 0.5), (4, 5, -2.0), (6, 7, 3.0))


def _dependent_design(n, p, sparse, seed):
    """Sparse non-negative "term" columns, the first eight rare (one to three rows), plus
    ``len(_COMBOS)`` columns that are exact combinations of two rare ones; weights vary."""
    rng = np.random.default_rng(seed)
    X = np.where(rng.uniform(size=(n, p)) < 0.12, rng.uniform(0.5, 2.0, (n, p)), 0.0)
    rows = rng.permutation(n)
    for j in range(8):  # rare columns on disjoint rows
        X[:, j] = 0.0
        k = 1 + j % 3
        X[rows[3 * j:3 * j + k], j] = rng.uniform(0.5, 2.0, k)
    extra = np.column_stack([X[:, a] + c * X[:, b] for a, b, c in _COMBOS])
    X = np.hstack([X, extra])
    beta = np.zeros(X.shape[1])
    beta[[1, 2, 9, 10, p, p + 2]] = [2.0, -1.5, 1.0, 1.0, 2.5, -2.0]
    y = X @ beta + 1.0 + 0.3 * rng.standard_normal(n)
    w = rng.uniform(0.3, 2.0, n)
    return (sp.csc_matrix(X) if sparse else np.asfortranarray(X)), y, w


def _parts(X, y, w, b0, b, lam, l1_ratio):
    """``(gap / null, P, null, f)`` of the standardized elastic net at ``(b0, b)``."""
    Xd = X.toarray() if sp.issparse(X) else X
    w = w / w.sum()
    xm = w @ Xd
    sd = np.sqrt(w @ (Xd - xm) ** 2)
    yc = y - w @ y
    f = b0 + Xd @ b
    r = y - f
    l1, l2 = lam * l1_ratio, lam * (1.0 - l1_ratio)
    bs = b * sd
    primal = 0.5 * w @ r**2 + np.sum(l1 * np.abs(bs) + 0.5 * l2 * bs**2)
    g = ((Xd - xm).T @ (w * r)) / sd
    t = min(1.0, l1 / np.abs(g).max()) if l2 == 0.0 else 1.0
    conj = np.sum(np.maximum(np.abs(t * g) - l1, 0.0) ** 2) / (2 * l2) if l2 > 0 else 0.0
    dual = t * (w * r) @ yc - 0.5 * t * t * (w * r) @ r - conj
    null = 0.5 * w @ yc**2
    return (primal - dual) / null, primal, null, f


def _fit(X, y, w, l1_ratio, solver, **kw):
    opts = PathOptions(l1_ratio=l1_ratio, sample_weight=w, early_stop=False, n_lams=30, **kw)
    return fit_path(check_design(X), y, opts, FitHints(solver=solver))


def test_design_has_exact_dependencies_that_are_not_ties():
    X, _, w = _dependent_design(80, 30, sparse=False, seed=1)
    wn = w / w.sum()
    xm = wn @ X
    Xc = X - xm
    p = X.shape[1]
    assert np.linalg.matrix_rank(Xc) == p - len(_COMBOS)
    sd = np.sqrt(wn @ Xc**2)
    inf = np.full(p, np.inf)
    assert find_ties(X, wn, xm, sd == 0, sd, sd**2, -inf, inf) == []


@pytest.mark.parametrize("solver,sparse,l1_ratio", [
    ("naive", True, 1.0),
    ("naive", True, 0.5),
    ("naive", False, 1.0),
    ("naive", False, 0.5),
    ("covariance", False, 1.0),
])
def test_certificate_bounds_the_objective_and_the_fitted_values(solver, sparse, l1_ratio):
    X, y, w = _dependent_design(80, 30, sparse, seed=2)
    path = _fit(X, y, w, l1_ratio, solver)
    exact = _fit(X, y, w, l1_ratio, solver, tol=1e-13, lams=path.lams)
    # the default, whatever it is set to (tighter with a ridge part: model.families)
    assert path.tol == (Gaussian.default_tol if l1_ratio == 1 else Gaussian.ridge_mix_tol)
    assert path.converged.all() and np.all(path.certificate <= path.tol)
    # the path reaches the saturated end, where the dependent columns are active
    assert np.count_nonzero(path.coefs[-1][-len(_COMBOS):]) >= 2
    for k in range(path.n_lams):
        gap, primal, null, f = _parts(X, y, w, path.intercepts[k], path.coefs[k],
                                      path.lams[k], l1_ratio)
        assert abs(gap - path.certificate[k]) <= 1e-10, (k, gap, path.certificate[k])
        egap, best, _, fstar = _parts(X, y, w, exact.intercepts[k], exact.coefs[k],
                                      path.lams[k], l1_ratio)
        assert egap <= 1e-12
        slack = 1e-13 * null  # the rounding of two objectives of the null's size
        assert primal - best <= path.certificate[k] * null + slack
        assert primal - best >= -(egap * null + slack)
        spread = 0.5 * (w / w.sum()) @ (f - fstar) ** 2
        assert spread <= (path.certificate[k] + egap) * null + slack


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_agrees_with_scikit_learn(sparse, l1_ratio):
    from sklearn.linear_model import ElasticNet

    X, y, w = _dependent_design(80, 30, sparse, seed=3)
    opts = PathOptions(l1_ratio=l1_ratio, sample_weight=w, standardize=False,
                       early_stop=False, n_lams=20, tol=1e-10)
    path = fit_path(check_design(X), y, opts, FitHints(solver="naive"))
    wn = w / w.sum()
    Xd = X.toarray() if sparse else X
    for k in (5, 12, 19):
        lam = path.lams[k]
        # scikit-learn: 1/(2 sum sw) sum sw r^2 + alpha l1_ratio |b|_1 + alpha (1 - l1_ratio)
        # / 2 |b|^2, the same objective with alpha = lam when unstandardized
        sk = ElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000)
        sk.fit(X, y, sample_weight=w)

        def objective(b0, b, lam=lam):
            r = y - b0 - Xd @ b
            return (0.5 * wn @ r**2 + lam * l1_ratio * np.abs(b).sum()
                    + 0.5 * lam * (1 - l1_ratio) * b @ b)

        ours = objective(path.intercepts[k], path.coefs[k])
        theirs = objective(sk.intercept_, sk.coef_)
        null = 0.5 * wn @ (y - wn @ y) ** 2
        assert ours <= theirs + 1e-9 * null
        assert theirs - ours <= 1e-6 * null  # scikit-learn's own accuracy
        f_ours = path.intercepts[k] + Xd @ path.coefs[k]
        f_sk = sk.intercept_ + Xd @ sk.coef_
        # both within their suboptimality of the unique optimal fit f*: 1/2 |f - f*|^2 <=
        # P(f) - P*, P* >= ours - gap * null
        bound = 2.0 * ((theirs - ours) + 2.0 * path.certificate[k] * null) + 1e-12 * null
        assert 0.5 * wn @ (f_ours - f_sk) ** 2 <= bound
