"""Where glmnet's per-family early stop ends a path, against the relative rule for every
family, and what the 10-fold CV chooses on the curve each keeps.

For each design (the quick benchmark cases of each family, scikit-learn's digits and wine,
and ``_shapes.py``'s designs with binomial, and on the tall ones poisson and multinomial,
responses), runs one default cross-validation with the early stop and the held-out stop
off, then truncates its curve where each rule would have ended the full-data path: the
relative rule (``1e-5`` of the deviance explained between consecutive strengths), and
glmnet 4.1's for the family (binomial and multinomial: ``1e-5`` of the null deviance;
poisson: ``1e-4`` of the deviance explained over the last four strengths). Prints both
path lengths, the minimum and one-standard-error indices on each kept curve, and how far
the minimum's score moved, in standard errors.

    python benchmarks/early_stop_rules.py
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# (change, window, relative) of glmnet 4.1's rule per family
GLMNET = {"binomial": (1e-5, 1, False), "multinomial": (1e-5, 1, False),
          "poisson": (1e-4, 4, True), "gaussian": (1e-5, 1, True)}


def kept(dev, change, window, relative, min_lams=5, dev_max=0.999):
    """The number of strengths a rule keeps of a path whose deviance explained is ``dev``."""
    for k in range(min_lams - 1, dev.size - 1):
        if dev[k] > dev_max:
            return k + 1
        if abs(dev[k] - dev[k - window]) < change * (dev[k] if relative else 1.0):
            return k + 1
    return dev.size


def choices(mean, se, L):
    """``(index_min, index_1se, score at the minimum)`` on the first ``L`` points."""
    m = mean[:L]
    i = int(np.nanargmin(m))
    return i, int(np.flatnonzero(m <= m[i] + se[i])[0]), m[i]


def designs():
    from _cases import CASES, make_data
    from _shapes import response, shapes
    from sklearn.datasets import load_digits, load_wine

    for c in ("binomial-l1-wide", "binomial-l1-tall", "binomial-l1-sparse", "binomial-l1-text",
              "binomial-l1-factors", "binomial-l1-pairs", "binomial-l1-diabetes",
              "binomial-l1-breast_cancer", "poisson-l1-tall"):
        X, y = make_data(CASES[c], True, raw=True)
        yield c, X, y, c.split("-")[0]
    yield "digits", *load_digits(return_X_y=True), "multinomial"
    yield "wine", *load_wine(return_X_y=True), "multinomial"
    rng = np.random.default_rng(0)
    for name, X, eta in shapes(rng):
        yield name, X, response(eta, "binomial", rng), "binomial"
        if name.startswith("tall"):
            for family in ("poisson", "multinomial"):
                yield name, X, response(eta, family, rng), family


def main():
    import shrinkage

    warnings.simplefilter("ignore")
    for name, X, y, family in designs():
        cv, path = shrinkage.cross_validate(X, y, family=family, random_state=0,
                                            held_out_stop=False, early_stop=False,
                                            return_path=True)
        a = kept(path.dev_ratio, 1e-5, 1, True)
        b = kept(path.dev_ratio, *GLMNET[family])
        (i0, s0, m0), (i1, s1, m1) = choices(cv.mean, cv.se, a), choices(cv.mean, cv.se, b)
        print(f"{name:28s} {family:11s} kept {a:3d} -> {b:3d} | min {i0:2d} -> {i1:2d}, "
              f"1se {s0:2d} -> {s1:2d} | minimum moved {(m1 - m0) / cv.se[i0]:+.4f} SE",
              flush=True)


if __name__ == "__main__":
    main()
