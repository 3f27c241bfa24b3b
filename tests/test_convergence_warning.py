"""The path's convergence warning names the limit that stopped it: ``max_iter`` sweeps,
or the proximal-Newton solvers' own cap on Newton steps per strength."""

import warnings

import numpy as np
import pytest

from shrinkage import regularization_path
from shrinkage.engine.cox import CoxNewton
from shrinkage.engine.newton import ProximalNewton
from shrinkage.engine.path import ConvergenceWarning


def _caught(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = fit()
    return path, [str(w.message) for w in caught if issubclass(w.category,
                                                               ConvergenceWarning)]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    eta = X[:, :8] @ rng.normal(size=8)
    return X, eta


@pytest.mark.parametrize("family", ["binomial", "poisson", "cox"])
def test_the_newton_cap_is_named(data, family, monkeypatch):
    X, eta = data
    rng = np.random.default_rng(1)
    if family == "binomial":
        y = (rng.uniform(size=eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    else:
        y = np.column_stack([rng.exponential(np.exp(-0.3 * eta)), rng.uniform(size=eta.size) < 0.8])
    monkeypatch.setattr(ProximalNewton, "max_newton", 1)
    monkeypatch.setattr(CoxNewton, "max_newton", 1)  # (a cap of its own)
    path, messages = _caught(lambda: regularization_path(X, y, family, n_lams=10,
                                                         tol=1e-12))
    bad = int(np.sum(~path.converged))
    assert bad > 0 and len(messages) == 1
    assert f"{bad} of {path.n_lams} lams did not converge" in messages[0]
    assert "stopped first at the cap of 1 Newton steps per strength" in messages[0]


def test_the_sweep_limit_alone_is_named(data):
    X, eta = data
    y = eta + np.random.default_rng(2).standard_normal(eta.size)
    path, messages = _caught(lambda: regularization_path(X, y, n_lams=10, tol=1e-14,
                                                         max_iter=2))
    assert not path.converged.all() and len(messages) == 1
    assert "within max_iter=2;" in messages[0] and "Newton" not in messages[0]


def test_a_tolerance_below_rounding_is_named_not_blamed_on_max_iter(data):
    """A gap cannot fall below the rounding of the objective: asked for 1e-25, the driver
    stops once its steps stop lowering the gap, long before max_iter, and the warning says
    so instead of blaming max_iter."""
    X, eta = data
    y = eta + np.random.default_rng(2).standard_normal(eta.size)
    path, messages = _caught(lambda: regularization_path(X, y, n_lams=5, tol=1e-25))
    assert not path.converged.all() and len(messages) == 1
    assert np.all(path.n_iter[~path.converged] < 100_000)
    k0 = int(np.flatnonzero(~path.converged)[0])
    assert f"stopped after {path.n_iter[k0]} of max_iter=100000 sweeps" in messages[0]
    assert "within max_iter" not in messages[0]


def test_a_fall_of_the_deviance_explained_is_not_a_flat_deviance():
    """A strength whose deviance explained fell (it failed: an exact path's never does)
    does not stop the path as if the fit had saturated; a change within the threshold,
    either way (rounding), still does."""
    from shrinkage.engine.stopping import DEV_CHANGE, DEV_MAX, MIN_LAMS, early_stop_code

    k = MIN_LAMS
    base = np.linspace(0.1, 0.54, k)
    fell = np.r_[base, 0.33]
    assert early_stop_code(fell, k, 100, MIN_LAMS, DEV_MAX, DEV_CHANGE, True) == 0
    for step in (0.1 * DEV_CHANGE, -0.1 * DEV_CHANGE):
        flat = np.r_[base, 0.54 * (1.0 + step)]
        assert early_stop_code(flat, k, 100, MIN_LAMS, DEV_MAX, DEV_CHANGE, True) == 2
    grew = np.r_[base, 0.6]
    assert early_stop_code(grew, k, 100, MIN_LAMS, DEV_MAX, DEV_CHANGE, True) == 0


def test_the_path_stop_asks_for_a_moving_coefficient_only_for_a_flat_deviance():
    """path_stop_code is early_stop_code with ``moving`` at the point: a flat deviance
    stops the path only while a penalised coefficient is non-zero inside its bounds; a
    saturated fit (code 1) stops it either way."""
    from shrinkage.engine import stopping as st

    k = st.MIN_LAMS
    base = np.linspace(0.1, 0.54, k)
    flat, saturated, grew = np.r_[base, 0.54], np.r_[base, 0.9995], np.r_[base, 0.6]
    lo, hi = np.array([-np.inf, 0.0, -1.0]), np.array([np.inf, 0.5, 1.0])
    l1u, l2u = np.ones(3), np.zeros(3)
    inside, at_bounds = np.array([0.2, 0.0, 0.0]), np.array([0.0, 0.5, -1.0])
    for b in (inside, at_bounds, np.zeros(3)):
        free = st.moving(b, lo, hi, l1u, l2u)
        for curve in (flat, saturated, grew):
            want = st.early_stop_code(curve, k, 100, *st.RULES, free)
            assert st.path_stop_code(curve, k, 100, st.RULES, b, lo, hi, l1u, l2u) == want
    assert st.path_stop_code(flat, k, 100, st.RULES, inside, lo, hi, l1u, l2u) == 2
    assert st.path_stop_code(flat, k, 100, st.RULES, at_bounds, lo, hi, l1u, l2u) == 0
    assert st.path_stop_code(saturated, k, 100, st.RULES, at_bounds, lo, hi, l1u, l2u) == 1
