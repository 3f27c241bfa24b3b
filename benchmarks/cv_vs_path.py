"""Cost of 10-fold cross-validation relative to one full path (issue 3's target: <= 3x).

Run: python benchmarks/cv_vs_path.py  (a minute or two on 2 cores; not part of CI)
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes

import shrinkage


def wide_ar1(n=200, p=5000, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = np.empty((n, p), order="F")
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return X, X[:, :10].sum(1) + rng.standard_normal(n)


def main():
    cases = {
        "diabetes gaussian": (load_diabetes(return_X_y=True), "gaussian"),
        "breast_cancer binomial": (load_breast_cancer(return_X_y=True), "binomial"),
        "wide 200x5000 gaussian": (wide_ar1(), "gaussian"),
    }
    for name, ((X, y), family) in cases.items():
        shrinkage.cross_validate(X, y, family=family, cv=3, random_state=0)  # compile
        t = time.perf_counter()
        shrinkage.regularization_path(X, y, family=family)
        t_path = time.perf_counter() - t
        for n_jobs in (1, 2):
            t = time.perf_counter()
            shrinkage.cross_validate(X, y, family=family, cv=10, random_state=0, n_jobs=n_jobs)
            t_cv = time.perf_counter() - t
            print(f"{name}: path {t_path:.3f} s, 10-fold CV n_jobs={n_jobs} {t_cv:.3f} s, "
                  f"ratio {t_cv / t_path:.1f}")


if __name__ == "__main__":
    main()
