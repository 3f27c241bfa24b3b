"""A fit does not depend on which kernels were compiled first (engine.kernels.flags).

numba compiles a kernel that states no ``fastmath`` of its own with the flags of the
caller that first needs it, and the on-disk cache keeps that copy; two sessions that fitted
other models first then rounded the same fit differently (quick power-law text, gaussian
lasso: coefficients 4.4e-7 apart). Two fresh processes, each with an empty kernel cache,
fit the same paths in opposite orders; the coefficients must agree to the last bit.
"""

import json
import os
import subprocess
import sys

_SCRIPT = r"""
import json, sys, warnings
import numpy as np, scipy.sparse as sp
import shrinkage
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
n, p = 150, 60
X = np.asfortranarray(rng.standard_normal((n, p)))
S = sp.random(n, p, density=0.15, format="csc", random_state=1)
S.data = rng.lognormal(size=S.data.size)  # skewed tf-idf-like values
eta = X[:, :4].sum(axis=1)
yg = eta + rng.standard_normal(n)
ys = np.asarray(S[:, :4].sum(axis=1)).ravel() + rng.standard_normal(n)
yb = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
ysb = (ys > np.median(ys)).astype(float)
fits = {
    "gaussian": lambda: shrinkage.regularization_path(X, yg),
    "gaussian-sparse": lambda: shrinkage.regularization_path(S, ys),
    "binomial": lambda: shrinkage.regularization_path(X, yb, "binomial"),
    "binomial-sparse": lambda: shrinkage.regularization_path(S, ysb, "binomial"),
}
out = {}
for name in sys.argv[1].split(","):
    path = fits[name]()
    out[name] = [float(v).hex() for v in np.concatenate([path.coefs.ravel(),
                                                         np.ravel(path.intercepts)])]
print(json.dumps(out))
"""


def _fit_in_order(order, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", _SCRIPT, ",".join(order)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_fits_do_not_depend_on_which_kernels_compiled_first(tmp_path):
    order = ["gaussian", "gaussian-sparse", "binomial", "binomial-sparse"]
    first = _fit_in_order(order, tmp_path / "forward")
    second = _fit_in_order(order[::-1], tmp_path / "backward")
    for name in order:
        assert len(first[name]) == len(second[name]), name
        differ = sum(a != b for a, b in zip(first[name], second[name]))
        assert differ == 0, f"{name}: {differ} values differ between compile orders"
