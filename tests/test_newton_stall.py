"""A Newton model whose coordinate descent stalls gets a longer conjugate-gradient step.

One-hot factors with every level kept and an interaction nested in two of them make
directions along which the IRLS model is nearly flat (each factor's columns sum to the
intercept, each parent level to its children); near the deep end of a binomial path,
coordinate descent crawled along them (995 sweeps at one strength of this design, with
20-iteration conjugate-gradient polishes). From a model's third polish, on an active set
of at most n / 2 features, the polish runs up to ``STALLED_CG_MAX_ITER`` iterations.
"""

import numpy as np
import scipy.sparse as sp

from _reference import objective
from shrinkage import regularization_path
from shrinkage.engine import newton as newton_mod
from shrinkage.engine import newton_cg
from test_newton import independent_certificate


def one_hot_factors(n=2000, seed=5):
    """Eight Zipf-frequency factors (2 to 400 levels, those that occur), the interaction
    of the fourth and sixth, four numeric columns; a binomial response."""
    rng = np.random.default_rng(seed)
    levels = (2, 3, 4, 7, 12, 30, 100, 400)
    codes = []
    for k in levels:
        prob = 1.0 / np.arange(1, k + 1) ** 1.1
        codes.append(np.unique(rng.choice(k, size=n, p=prob / prob.sum()),
                               return_inverse=True)[1])
    pair = np.unique(codes[3] * levels[5] + codes[5], return_inverse=True)[1]
    rows = np.arange(n)
    blocks = [sp.csc_matrix((np.ones(n), (rows, c)), shape=(n, int(c.max()) + 1))
              for c in codes + [pair]]
    numeric = np.column_stack([rng.lognormal(10.0, 1.0, n), 2000.0 + rng.integers(0, 25, n),
                               rng.standard_normal(n), rng.lognormal(10.0, 1.0, n)])
    X = sp.hstack(blocks + [sp.csc_matrix(numeric)], format="csc")
    eta = np.zeros(n)
    for c in codes:
        effect = np.zeros(int(c.max()) + 1)
        pick = rng.choice(effect.size, size=min(effect.size, 5), replace=False)
        effect[pick] = rng.normal(0.0, 1.0, pick.size)
        eta += effect[c]
    z = (numeric - numeric.mean(axis=0)) / numeric.std(axis=0)
    eta += z[:, :3] @ np.array([0.5, -0.3, 0.4])
    eta *= 2.0 / eta.std()
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


def test_stalled_models_take_the_long_conjugate_gradient_step(monkeypatch):
    X, y = one_hot_factors(seed=7)
    iterations = []
    original = newton_mod.cg_active_step

    def spying(prob, v, r, st, b, ws, l1, l2, h, max_iter=newton_cg.CG_MAX_ITER):
        iterations.append(max_iter)
        return original(prob, v, r, st, b, ws, l1, l2, h, max_iter)

    monkeypatch.setattr(newton_mod, "cg_active_step", spying)
    path = regularization_path(X, y, family="binomial")
    assert path.converged.all()
    assert newton_cg.STALLED_CG_MAX_ITER in iterations  # the stall was met and handled
    # with 20-iteration steps only, this path took 6,345 sweeps (995 at one strength);
    # now 4,470 (144)
    assert path.n_iter.sum() <= 5_500, path.n_iter.sum()
    assert path.n_iter.max() <= 400, path.n_iter.max()
    # the certificates hold, checked independently, at the default and a tight tolerance
    Xd = X.toarray()
    for fit in (path, regularization_path(X, y, family="binomial", tol=1e-9)):
        assert fit.converged.all()
        for k in range(0, fit.n_lams, 9):
            ref = independent_certificate("binomial", Xd, y, fit.intercepts[k], fit.coefs[k],
                                          fit.lams[k])
            assert ref <= fit.certificate[k] * (1 + 1e-6) + 1e-12, k


def test_long_steps_agree_with_short_ones(monkeypatch):
    # the stalled route changes the route, not the answer: both paths reach the same
    # objective at every strength
    X, y = one_hot_factors(n=1200, seed=3)
    kw = dict(family="binomial", tol=1e-9, n_lams=40)
    long = regularization_path(X, y, **kw)
    # (ProximalNewton._polish reads the name newton.py imported)
    monkeypatch.setattr(newton_mod, "STALLED_CG_MAX_ITER", newton_cg.CG_MAX_ITER)
    short = regularization_path(X, y, **kw)
    assert long.converged.all() and short.converged.all()
    Xd = X.toarray()
    for k in range(long.n_lams):
        f = [objective("binomial", Xd, y, q.intercepts[k], q.coefs[k], q.lams[k], 1.0)
             for q in (long, short)]
        assert abs(f[0] - f[1]) <= 1e-8 * abs(f[1]), k
