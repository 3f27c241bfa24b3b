"""The gaussian group solver's duality gap with unpenalised groups: their conjugate is the
indicator of a zero gradient, so the dual point must be projected off their columns. The
reported certificate must bound the true relative suboptimality, measured here from the
documented objective (numpy) against a path solved to 1e-13 on the same lams."""

import numpy as np
import pytest
import scipy.sparse as sp

from shrinkage import regularization_path


def _design(n=120, seed=1, K=1):
    """Six groups, columns strongly correlated across groups (so that fitting the
    penalised groups moves the unpenalised groups' gradients)."""
    rng = np.random.default_rng(seed)
    sizes = (3, 2, 4, 1, 5, 3)
    p = sum(sizes)
    X = rng.standard_normal((n, p)) + 1.5 * rng.standard_normal((n, 1))
    X *= rng.uniform(0.5, 3.0, p)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    B = rng.standard_normal((p, K))
    Y = X @ B / 3 + rng.standard_normal((n, K))
    return X, labels, (Y[:, 0] if K == 1 else Y)


def _objective(X, Y, labels, pf, b, b0, lam, l1_ratio, mix):
    """``1/(2n) ||Y - b0 - X b||^2 + lam sum_g pf_g (l1_ratio ((1 - mix) ||s b_g|| + mix
    ||s b_g||_1) + (1 - l1_ratio) / 2 ||s b_g||^2)``, s the columns' standard deviations."""
    R = Y - b0 - X @ b
    f = 0.5 * np.sum(R * R) / len(Y)
    beta = b * (X.std(0) if b.ndim == 1 else X.std(0)[:, None])
    for g in np.unique(labels):
        bg = beta[labels == g]
        f += lam * pf[g] * (l1_ratio * ((1 - mix) * np.linalg.norm(bg)
                                        + mix * np.abs(bg).sum())
                            + (1 - l1_ratio) / 2 * np.sum(bg * bg))
    return f


@pytest.mark.parametrize("family,l1_ratio,mix", [
    ("gaussian", 1.0, 0.0), ("gaussian", 0.6, 0.0), ("gaussian", 1.0, 0.4),
    ("mgaussian", 1.0, 0.0), ("mgaussian", 0.7, 0.0)])
@pytest.mark.parametrize("sparse", [False, True])
def test_certificate_bounds_suboptimality(family, l1_ratio, mix, sparse):
    X, labels, Y = _design(K=1 if family == "gaussian" else 2)
    Xs = sp.csc_matrix(X) if sparse else X
    pf = np.sqrt(np.bincount(labels)).astype(float)
    pf[[0, 3]] = 0.0  # two unpenalised groups, one of them a single feature
    kw = {"family": family, "feature_groups": labels, "penalty_factor": pf,
          "l1_ratio": l1_ratio, "group_mix": mix}
    Yc = Y - Y.mean(0)
    null = 0.5 * np.sum(Yc * Yc) / len(Y)
    for tol in (1e-3, 1e-4):
        path = regularization_path(Xs, Y, n_lams=12, tol=tol, **kw)
        ref = regularization_path(Xs, Y, lams=path.lams, tol=1e-13, **kw)
        assert ref.converged.all()
        for k in range(path.n_lams):
            lam = path.lams[k]
            ours = _objective(X, Y, labels, pf, path.coefs[k], path.intercepts[k], lam,
                              l1_ratio, mix)
            best = _objective(X, Y, labels, pf, ref.coefs[k], ref.intercepts[k], lam,
                              l1_ratio, mix)
            # best >= the optimum, so ours - best is at most the true suboptimality
            assert path.certificate[k] >= (ours - best) / null - 1e-12, (tol, k)
            assert (path.certificate[k] <= tol) == path.converged[k]
