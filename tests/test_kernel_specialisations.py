"""Kernels compile one specialisation per layout, never one per literal argument.

numba specialises a call from one compiled function to another on the value of each
literal argument (``f(x, 1)`` and ``f(x, 40)`` compile ``f`` twice); every extra
specialisation is lowered and optimised again on a new user's first fit. Call sites pass
run-time values (``np.int64(...)``, ``np.bool_(...)``) instead. This test fits every family,
dense and sparse, and checks that no compiled kernel holds a signature with a literal type.
"""

import importlib
import pkgutil

import numpy as np
import scipy.sparse as sp
from numba.core import types
from numba.core.registry import CPUDispatcher

import shrinkage
import shrinkage.engine.kernels as kernels


def _data(family, rng, n=120, p=15):
    X = rng.standard_normal((n, p))
    eta = X[:, :3] @ np.ones(3)
    if family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    elif family == "multinomial":
        z = eta + 2 * rng.standard_normal(n)
        y = (z > 0).astype(int) + (z > 1)
    else:
        y = eta + rng.standard_normal(n)
    return X, y


def _literal_signatures():
    found = []
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if not isinstance(obj, CPUDispatcher) or obj.__module__ != module.__name__:
                continue
            for sig in obj.signatures:
                lits = [str(a) for a in sig if isinstance(a, types.Literal)]
                if lits:
                    found.append(f"{info.name}.{name}: {lits}")
    return found


def test_no_kernel_is_specialised_on_a_literal_argument():
    rng = np.random.default_rng(0)
    # tall and wide shapes: the gaussian family picks a different solver for each
    for family in ("gaussian", "binomial", "poisson", "multinomial"):
        for n, p in ((120, 15), (60, 300)):
            X, y = _data(family, rng, n, p)
            Xs = X.copy()
            Xs[np.abs(Xs) < 1.0] = 0.0
            for design in (X, sp.csc_matrix(Xs)):
                fit = shrinkage.regularization_path(design, y, family=family, n_lams=8)
                assert np.all(np.isfinite(fit.coefs))
    found = _literal_signatures()
    assert not found, "kernels specialised on literals:\n" + "\n".join(found)
