"""Quick start: a certified lasso path on scikit-learn's diabetes data.

Run with ``shrinkage-quickstart`` (or ``python -m shrinkage.quickstart``).
"""

from __future__ import annotations

import time


def main(argv=None):
    from sklearn.datasets import load_diabetes

    from .engine.path import regularization_path

    data = load_diabetes()
    X, y = data.data, data.target
    t0 = time.perf_counter()
    path = regularization_path(X, y, family="gaussian", l1_ratio=1.0,
                               feature_names=data.feature_names)
    elapsed = time.perf_counter() - t0
    print("shrinkage quick start: lasso path on the diabetes data "
          f"(n={X.shape[0]}, p={X.shape[1]}), fitted in {elapsed:.3f} s")
    print(path.summary())
    print()
    print(f"{'lam':>10} {'nnz':>4} {'dev.expl':>9} {'gap':>9}  entering features")
    seen = set()
    for k in range(path.n_lams):
        active = [str(path.feature_names[j]) for j in range(path.n_features)
                  if path.coefs[k, j] != 0 and j not in seen]
        seen.update(j for j in range(path.n_features) if path.coefs[k, j] != 0)
        if active or k in (0, path.n_lams - 1):
            print(f"{path.lams[k]:10.4g} {int(path.nnz[k]):4d} {path.dev_ratio[k]:9.4f} "
                  f"{path.certificate[k]:9.1e}  {', '.join(active)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
