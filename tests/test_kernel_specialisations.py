"""Kernels compile one specialisation per layout, never one per literal argument.

numba specialises a call from one compiled function to another on the value of each
literal argument (``f(x, 1)`` and ``f(x, 40)`` compile ``f`` twice, and ``k = 0`` passed
before any update is still the literal 0); every extra specialisation is lowered and
optimised again on a new user's first fit. Call sites pass run-time values
(``np.int64(...)``, ``np.bool_(...)``) instead. The test fits every family and penalty
kind, dense and sparse, tall and wide, in a fresh interpreter (so only its own fits
count) and checks that no compiled kernel holds a signature with a literal type.
"""

import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent('''
    import importlib, pkgutil, warnings
    import numpy as np, scipy.sparse as sp
    from numba.core import types
    from numba.core.registry import CPUDispatcher
    import shrinkage.engine.kernels as kernels
    from shrinkage import regularization_path

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)

    def data(family, n, p):
        X = rng.standard_normal((n, p))
        eta = X[:, :3] @ np.ones(3)
        if family == "binomial":
            y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        elif family == "poisson":
            y = rng.poisson(np.exp(0.3 * eta)).astype(float)
        elif family == "multinomial":
            z = eta + 2 * rng.standard_normal(n)
            y = (z > 0).astype(int) + (z > 1)
        elif family == "mgaussian":
            y = np.c_[eta, -eta] + rng.standard_normal((n, 2))
        else:
            y = eta + rng.standard_normal(n)
        return X, y

    for family in ("gaussian", "binomial", "poisson", "multinomial", "mgaussian"):
        for n, p in ((200, 16), (60, 300)):
            X, y = data(family, n, p)
            Xs = np.where(np.abs(X) < 1.0, 0.0, X)
            groups = np.repeat(np.arange(p // 4), 4)
            for design in (X, sp.csc_matrix(Xs)):
                fits = [{}]
                if family != "multinomial":
                    fits += [{"feature_groups": groups},
                             {"feature_groups": groups, "group_mix": 0.5, "l1_ratio": 0.7}]
                if family in ("gaussian", "binomial", "poisson"):
                    fits += [{"penalty": pen, **extra} for pen in ("mcp", "scad")
                             for extra in ({}, {"feature_groups": groups})]
                for kw in fits:
                    fit = regularization_path(design, y, family=family, n_lams=8, **kw)
                    assert np.all(np.isfinite(fit.coefs))
    found = []
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(kernels.__name__ + "." + info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__:
                for sig in obj.signatures:
                    lits = [str(a) for a in sig if isinstance(a, types.Literal)]
                    if lits:
                        found.append(info.name + "." + name + ": " + ", ".join(lits))
    print("\\n".join(sorted(set(found))))
''')


def test_no_kernel_is_specialised_on_a_literal_argument():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    found = out.stdout.strip()
    assert found == "", "kernels specialised on literal arguments:\n" + found
