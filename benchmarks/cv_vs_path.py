"""Cost of 10-fold cross-validation relative to one full path (issue 3's target: <= 3x).

For each case of the engine benchmark (``_cases.py``: same data, same 100-lam grid rules)
it reports the best of ``--repeats`` wall times for one full path and for 10-fold CV
with ``n_jobs=1`` and ``n_jobs=2``, with BLAS left at its default threads (a user's
setting on a 2-core machine). From the ``n_jobs=1`` run it derives the cost of one fold
relative to the full path, ``f = (t_cv1 - t_path) / (10 t_path)``, and the wall time that
independent fold paths cannot beat on 2 cores, ``(1 + 10 f) / 2`` paths: the full path
plus ten folds, spread over two cores. Only work shared between folds (the covariance
solver's ``X^T X`` and column sums, dense ``n >> p``) makes ``f`` small.

Run: python benchmarks/cv_vs_path.py  [--cases ...] [--repeats 3]   (not part of CI;
a few minutes on 2 cores; add gaussian-lasso-sparse for the sparse case, ~5 more minutes)
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cases import CASES, make_data  # noqa: E402

import shrinkage  # noqa: E402

DEFAULT_CASES = [
    "gaussian-lasso-diabetes",
    "gaussian-lasso-tall",
    "gaussian-lasso-wide",
    "binomial-l1-breast_cancer",
    "binomial-l1-wide",
]


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_case(name, repeats, folds=10):
    case = CASES[name]
    X, y = make_data(case, quick=False)
    kw = {"family": case.family, "l1_ratio": case.l1_ratio}
    # compile and warm the caches on the real data (a 3-fold CV reaches every kernel)
    shrinkage.cross_validate(X, y, cv=3, random_state=1, **kw)

    def path():
        return shrinkage.regularization_path(X, y, **kw)

    def cv(n_jobs):
        return lambda: shrinkage.cross_validate(X, y, cv=folds, random_state=0,
                                                n_jobs=n_jobs, **kw)

    t_path = _best(path, repeats)
    t_cv1 = _best(cv(1), max(1, repeats - 1))
    t_cv2 = _best(cv(2), max(1, repeats - 1))
    f = (t_cv1 - t_path) / (folds * t_path)
    bound = (1.0 + folds * f) / 2.0
    print(f"{name:28s} path {t_path:8.3f} s | CV n_jobs=1 {t_cv1:8.3f} s "
          f"({t_cv1 / t_path:5.1f}x) | n_jobs=2 {t_cv2:8.3f} s ({t_cv2 / t_path:5.1f}x) | "
          f"fold/path f={f:4.2f}, 2-core floor {bound:4.1f}x", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=sorted(CASES))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    for name in args.cases:
        run_case(name, args.repeats)


if __name__ == "__main__":
    main()
