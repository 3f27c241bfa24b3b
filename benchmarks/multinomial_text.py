"""Multinomial lasso paths on power-law text: shrinkage against python-glmnet, defaults.

A 4-class response on the quick text design of ``_cases.text_design`` (1,000 documents x
2,000 terms, tf-idf rows): each class is driven by the 40 most frequent terms with
Gumbel noise (a multinomial logit). Times, best of ``--repeats``, each library's default
path (shrinkage ``regularization_path(X, y, "multinomial")``: 100 strengths, tol 1e-6 on
the KKT certificate, the grouped penalty; glmnet ``LogitNet(n_splits=0)``: its own grid
and threshold, and the ungrouped penalty, ``type.multinomial="ungrouped"``), shrinkage
with the ungrouped penalty (``multinomial_grouped=False``, glmnet's model) and shrinkage on
a 50-strength path, each with its sweep count. glmnet is skipped when python-glmnet is not
installed (it lives in the ``bench`` extra).

``--bundled`` times the same calls on scikit-learn's bundled multiclass sets instead
(iris 150 x 4 with 3 classes, wine 178 x 13 with 3, digits 1,797 x 64 with 10; dense):
where a user meets a multinomial fit first.

    OPENBLAS_NUM_THREADS=1 python benchmarks/multinomial_text.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/multinomial_text.py --bundled
    OPENBLAS_NUM_THREADS=1 python benchmarks/multinomial_text.py --classes 20
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def make_data(n=1000, p=2000, classes=4, seed=4):
    """``(X, y)``: quick power-law text and a multinomial-logit class label."""
    import _cases

    rng = np.random.default_rng(seed)
    X, rank = _cases.text_design(n, p, rng)
    beta = rng.normal(size=(p, classes)) * (rank[:, None] < 40)
    y = np.argmax(np.asarray(X @ beta) + rng.gumbel(size=(n, classes)), axis=1)
    return X.tocsc(), y


def main():
    from bench_inference import best as best_of  # (seconds, result) of the fastest call

    from shrinkage import regularization_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--classes", type=int, default=4, help="classes of the text response")
    ap.add_argument("--bundled", action="store_true",
                    help="scikit-learn's iris, wine and digits instead of the text design")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.bundled:
        from sklearn import datasets

        sets = [(name, *(np.asfortranarray(a, dtype=float) if i == 0 else a
                         for i, a in enumerate(getattr(datasets, f"load_{name}")(
                             return_X_y=True))))
                for name in ("iris", "wine", "digits")]
        runs = [("defaults (grouped)", {}), ("ungrouped", {"multinomial_grouped": False})]
    else:
        sets = [(f"text, {args.classes} classes", *make_data(classes=args.classes))]
        runs = [("defaults (grouped)", {}), ("ungrouped", {"multinomial_grouped": False}),
                ("50 strengths (grouped)", {"n_lams": 50})]
    try:
        from glmnet import LogitNet
    except ImportError:
        LogitNet = None
    for data, X, y in sets:
        regularization_path(X, y, "multinomial", n_lams=5)  # compile outside the timings
        for name, kw in runs:
            t, path = best_of(lambda X=X, y=y, kw=kw: regularization_path(
                X, y, "multinomial", **kw), args.repeats)
            print(f"{data}: shrinkage, {name}: {t:.3f} s, {path.n_lams} strengths, "
                  f"{int(np.sum(path.n_iter))} sweeps, max certificate "
                  f"{path.certificate.max():.1e} (tol {path.tol:g})")
        if LogitNet is None:
            print(f"{data}: glmnet skipped (python-glmnet not installed)")
            continue
        t, model = best_of(lambda X=X, y=y: LogitNet(n_splits=0).fit(X, y), args.repeats)
        print(f"{data}: glmnet, defaults (ungrouped): {t:.3f} s, "
              f"{len(model.lambda_path_)} strengths")


if __name__ == "__main__":
    main()
