"""ncvreg's convexity diagnostic along MCP/SCAD paths (issue 18), against eigenvalues
computed here in NumPy.

Per path point the exact margin is ``lambda_min(S_A) - concavity`` (``S_A`` the
standardized centred Gram of the active features over ``n``; no ridge part). The paths
report it exactly where it is non-negative and, where negative, either exactly or as an
upper bound (a Rayleigh quotient, :class:`~shrinkage.engine.concave_steps.MarginTracker`):
so the sign, and the warning, are the eigenvalue test's at every point.
"""

import warnings

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.engine.concave_steps import MarginTracker
from shrinkage.engine.contract import FitHints
from shrinkage.engine.path import NonconvexWarning, PathOptions, check_design, fit_path


def _exact_margins(path, X, concavity, labels=None):
    n = X.shape[0]
    Z = (X - X.mean(0)) / X.std(0)
    out = []
    for b in path.coefs:
        A = np.flatnonzero(b)
        if A.size == 0:
            out.append(np.inf)
            continue
        S = Z[:, A].T @ Z[:, A] / n
        out.append(np.linalg.eigvalsh(S)[0] - concavity)
    return np.array(out)


def _check(path, X, concavity):
    """Exact where non-negative; negative exactly where the eigenvalue is, and an upper
    bound on it there; the warning fires exactly when some point is not convex."""
    exact = _exact_margins(path, X, concavity)
    mine = path.extra["convexity_margin"]
    small = np.array([np.count_nonzero(b) < X.shape[0] - 1 for b in path.coefs])
    np.testing.assert_array_equal(mine < 0, exact < -1e-10)
    pos = small & (exact >= 0) & np.isfinite(exact)
    np.testing.assert_allclose(mine[pos], exact[pos], rtol=1e-9, atol=1e-10)
    neg = small & (exact < 0)
    assert np.all(mine[neg] >= exact[neg] - 1e-10)
    return bool(np.any(exact < 0))


def _fit(X, y, solver, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = fit_path(check_design(X), y, PathOptions(**kw), FitHints(solver=solver))
    return path, any(issubclass(w.category, NonconvexWarning) for w in caught)


def _correlated(n, p, rho, seed):
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal(
        (n, 1))
    y = X[:, :4] @ np.array([1.0, -1.0, 0.8, 0.6]) + rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("penalty, gamma", [("mcp", 3.0), ("scad", 3.7), ("mcp", 1.5)])
@pytest.mark.parametrize("n, p", [(40, 120), (200, 40)])
def test_margins_are_the_eigenvalue_test_on_single_coefficients(penalty, gamma, n, p,
                                                                monkeypatch):
    X, y = _correlated(n, p, 0.6, seed=n + p)
    concavity = 1 / gamma if penalty == "mcp" else 1 / (gamma - 1)
    bounds = []
    original = MarginTracker._bound

    def counted(self, *args):
        out = original(self, *args)
        bounds.append(out is not None)
        return out

    monkeypatch.setattr(MarginTracker, "_bound", counted)
    path, warned = _fit(X, y, "concave", penalty=penalty, gamma=gamma, n_lams=40)
    assert warned == _check(path, X, concavity)
    if n < p:  # the wide paths do decide some points by the bound
        assert any(bounds)


@pytest.mark.parametrize("solver", ["group_concave", "group_concave_gram"])
@pytest.mark.parametrize("penalty", ["mcp", "scad"])
def test_margins_are_the_eigenvalue_test_on_groups(solver, penalty):
    X, y = _correlated(240, 60, 0.6, seed=3)
    labels = np.arange(60) // 3
    concavity = 1 / 3.0 if penalty == "mcp" else 1 / 2.7
    path, warned = _fit(X, y, solver, penalty=penalty, feature_groups=labels, n_lams=40)
    assert warned == _check(path, X, concavity)


def test_warning_fires_exactly_below_the_concavity():
    """Two standardized columns with correlation ``r`` and both active: the smallest
    eigenvalue of their Gram is ``1 - r``. MCP warns for ``1 / gamma`` just above it and
    not just below it."""
    rng = np.random.default_rng(7)
    n = 4000
    z = rng.standard_normal((n, 2))
    r = 0.6
    x2 = r * z[:, 0] + np.sqrt(1 - r * r) * z[:, 1]
    X = np.column_stack([z[:, 0], x2])
    y = 2.0 * X[:, 0] - 1.5 * X[:, 1] + 0.1 * rng.standard_normal(n)
    Z = (X - X.mean(0)) / X.std(0)
    low = np.linalg.eigvalsh(Z.T @ Z / n)[0]
    assert abs(low - (1 - r)) < 0.05
    for solver in ("concave", "auto"):
        for factor, expect in ((1.01, True), (0.99, False)):
            gamma = 1.0 / (factor * low)  # concavity 1/gamma = factor * lambda_min
            path, warned = _fit(X, y, solver, penalty="mcp", gamma=gamma, n_lams=20)
            assert np.count_nonzero(path.coefs[-1]) == 2
            assert warned is expect
            assert bool(np.any(path.extra["convexity_margin"] < 0)) is expect


def test_the_public_path_warns_as_before():
    X, y = _correlated(30, 60, 0.3, seed=9)
    with pytest.warns(NonconvexWarning, match="not locally convex"):
        regularization_path(X, y, penalty="scad")
