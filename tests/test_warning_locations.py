"""Every warning of a public call names the caller's line, not a line of the package.

Fixed ``stacklevel`` counts named ``entry.py`` for every warning of the public
``regularization_path`` and ``cross_validate`` (one wrapper more than the engine's count
assumed), and other lines inside the package for warnings raised from a context
manager's exit or through joblib. ``shrinkage.user_warnings.warn_user`` walks out of the
package instead; each case below must warn at least once, every time at this file.
"""

import warnings

import numpy as np
import pytest

import shrinkage
from shrinkage.bayes import BayesianLasso, EvidenceRidge
from shrinkage.engine.path import ConvergenceWarning, NonconvexWarning
from shrinkage.tuning.extension import GridEdgeWarning
from shrinkage.validation import DataWarning

_rng = np.random.default_rng(0)
X = _rng.standard_normal((120, 8))
X[:, 1] = X[:, 0] + 0.05 * _rng.standard_normal(120)  # near-collinear: MCP not convex
Y = X[:, 0] + X[:, 2] + _rng.standard_normal(120)


def _shifted():
    Xs = X.copy()
    Xs[:, 3] += 1e12  # far from zero: the intercept's rebuild loses digits
    return Xs


def _constant():
    Xc = X.copy()
    Xc[:, 4] = 2.0  # constant and nonzero without an intercept
    return Xc


CASES = {
    "unconverged path": (ConvergenceWarning,
                         lambda: shrinkage.regularization_path(X, Y, max_iter=1)),
    "nonconvex path": (NonconvexWarning,
                       lambda: shrinkage.regularization_path(X, Y, penalty="mcp")),
    "nonconvex cross-validation": (NonconvexWarning, lambda: shrinkage.cross_validate(
        X, Y, penalty="mcp", cv=3, n_lams=30, random_state=0)),
    "nonconvex estimator": (NonconvexWarning, lambda: shrinkage.PenalizedRegressor(
        penalty="mcp", cv=3).fit(X, Y)),
    "column far from zero": (DataWarning, lambda: shrinkage.regularization_path(_shifted(), Y)),
    "constant column without intercept": (DataWarning, lambda: shrinkage.regularization_path(
        _constant(), Y, fit_intercept=False)),
    "grid edge": (GridEdgeWarning, lambda: shrinkage.cross_validate(
        X, Y, cv=3, lams=[1.0, 0.8], random_state=0)),
    "binomial unconverged": (ConvergenceWarning, lambda: shrinkage.regularization_path(
        X, (Y > 0).astype(float), family="binomial", max_iter=1)),
    "evidence ridge on constant features": (UserWarning, lambda: EvidenceRidge().fit(
        np.ones((20, 3)), Y[:20])),
    "one Gibbs chain": (UserWarning, lambda: BayesianLasso(n_chains=1, n_draws=20,
                                                          burn_in=10).fit(X, Y)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_warning_names_the_callers_line(name):
    category, call = CASES[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    mine = [w for w in caught if issubclass(w.category, category)]
    assert mine, f"{name}: no {category.__name__}"
    for w in mine:
        assert w.filename == __file__, (name, w.filename, w.lineno, str(w.message)[:80])


def test_user_stacklevel_counts_from_the_caller():
    from shrinkage.user_warnings import user_stacklevel

    # called from a test (outside the package), the caller itself is the user's frame
    assert user_stacklevel() == 1
