"""Relaxed-lasso cross-validation (``shrinkage.cross_validate_relaxed``) on shapes real data
have: time, how many strengths have no unpenalised refit (``relax_path``: a support with
more columns than rows, or one along which a binomial or poisson loss has no minimiser),
and the chosen ``(gamma, lam)`` cell. Run on demand, never in CI:

    python benchmarks/bench_relaxed.py                 # every case
    python benchmarks/bench_relaxed.py text-binomial breast_cancer

The power-law text design is ``_cases.text_design`` (1,000 documents x 2,000 terms): deep
supports hold terms found in a single training document, which separate it. The others
are the quick designs of ``_cases`` (near-copied column pairs 300 x 2,000, one-hot
factors 2,000 x 632, the bundled sets).
"""

from __future__ import annotations

import sys
import time
import warnings

import _cases
import numpy as np
import scipy.sparse as sp

import shrinkage
from shrinkage.tuning.relaxed import relaxed_exists


def _text(family):
    rng = np.random.default_rng(4)
    X0, rank = _cases.text_design(1000, 2000, rng)
    beta = _cases._text_coef(rank, 40, rng)
    eta = np.asarray(_cases._scale_sparse(X0) @ beta)
    return sp.csc_matrix(X0), _cases._response(family, eta, rng)


def _quick(name, family):
    """A quick benchmark design (``_cases``): bundled data, near-copied pairs, factors."""
    case = _cases.Case(f"{family}-{name}", family, 1.0, name)
    return _cases.make_data(case, quick=True, raw=True)


CASES = {
    "text-binomial": (lambda: _text("binomial"), "binomial"),
    "text-poisson": (lambda: _text("poisson"), "poisson"),
    "text-gaussian": (lambda: _text("gaussian"), "gaussian"),
    "breast_cancer": (lambda: _quick("breast_cancer", "binomial"), "binomial"),
    "diabetes-binomial": (lambda: _quick("diabetes", "binomial"), "binomial"),
    "diabetes": (lambda: _quick("diabetes", "gaussian"), "gaussian"),
    "pairs-binomial": (lambda: _quick("pairs", "binomial"), "binomial"),
    "factors-binomial": (lambda: _quick("factors", "binomial"), "binomial"),
}


def run(name):
    make, family = CASES[name]
    X, y = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shrinkage.cross_validate_relaxed(X[:300], y[:300], family=family, cv=3, n_lams=5,
                                         random_state=0)  # compile
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        r = shrinkage.cross_validate_relaxed(X, y, family=family, random_state=0)
        took = time.perf_counter() - start
    missing = int(np.count_nonzero(~relaxed_exists((r.relaxed_coefs, r.relaxed_intercepts))))
    warned = sum(issubclass(w.category, shrinkage.ConvergenceWarning) for w in caught)
    g, k = r.index_chosen
    print(f"{name:<18} {X.shape[0]:>5} x {X.shape[1]:<5} {took:8.2f} s  "
          f"no refit at {missing:3d} of {r.path.n_lams:3d}  convergence warnings {warned:3d}  "
          f"chosen gamma {r.gammas[g]:.2f} lam {r.path.lams[k]:.4g} "
          f"({int(r.path.nnz[k])} features)", flush=True)


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}")
    for n in names:
        run(n)
