"""Reference group elastic net paths from adelie's ``grpnet`` for ``tests/test_groups.py``.

adelie needs numpy < 2, so it cannot be imported in the test environment; this script runs
once in adelie's interpreter and stores data and answers in ``group_reference.npz``
(plain arrays, no pickle)::

    /work/venv-adelie/bin/python tests/data/make_group_reference.py

adelie 1.1.52 minimises ``(1/n) sum loss + lmda * sum_g pf_g (alpha ||b_g|| + (1 - alpha) / 2
||b_g||^2)`` with an intercept and ``pf_g = sqrt(|g|)``: shrinkage's group elastic net with
``standardize=False``, ``lam = lmda``, ``l1_ratio = alpha``. The groups are contiguous
(adelie's ``groups`` are the start columns).
"""

import os

import adelie as ad
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(20261203)
    n, sizes = 80, [3, 2, 4, 1, 2, 3]
    p = sum(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    X = rng.standard_normal((n, p)) + 0.3 * rng.standard_normal((n, 1))
    beta = np.zeros(p)
    beta[:3] = [1.0, -0.5, 0.8]
    beta[5:9] = [0.4, 0.3, -0.6, 0.2]
    eta = X @ beta
    y = eta + rng.standard_normal(n)
    yb = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    Xf = np.asfortranarray(X)
    out = {"X": X, "y": y, "yb": yb, "starts": starts}
    for fam, target in (("gaussian", y), ("binomial", yb)):
        glm = ad.glm.gaussian(target) if fam == "gaussian" else ad.glm.binomial(target)
        for alpha in (1.0, 0.5):
            state = ad.grpnet(ad.matrix.dense(Xf, method="naive"), glm, groups=starts,
                              alpha=alpha, lmda_path_size=20, min_ratio=0.05,
                              early_exit=False, tol=1e-14, irls_tol=1e-14,
                              max_iters=10**7, progress_bar=False)
            if state.error:
                raise RuntimeError(state.error)
            key = f"{fam}_{alpha:g}"
            out[key + "_lams"] = np.asarray(state.lmdas)
            out[key + "_coefs"] = state.betas.toarray()
            out[key + "_intercepts"] = np.asarray(state.intercepts)
    np.savez(os.path.join(HERE, "group_reference.npz"), **out)
    print("adelie", ad.__version__, {k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
