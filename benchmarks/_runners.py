"""One runner per library: fit the whole path on the common grid, in the library's units.

Each runner takes ``(X, y, lams, family, l1_ratio)`` with ``lams`` in shrinkage's units
(docs/design.md 1) and returns ``(coefs (k, p), intercepts (k,), note)`` for the first ``k``
strengths of the grid (``k < len(lams)`` only when a library stops its path early).
Unit conversions, exact for unit sample weights and n samples:

- scikit-learn ``enet_path``/``ElasticNet``, skglm ``Lasso``/``ElasticNet``, celer: their
  ``alpha`` with ``(1/2n)||y - Xb||^2 + alpha*(l1_ratio*|b|_1 + (1-l1_ratio)/2*|b|^2)``
  is our ``lam``: ``alpha = lam``.
- scikit-learn ``LogisticRegression``: ``C * sum_i logloss_i + |b|_1`` divided by ``C*n``
  gives our objective, so ``C = 1 / (n * lam)``.
- skglm ``SparseLogisticRegression`` and its ``Poisson`` datafit: ``(1/n) sum_i loss_i +
  alpha*|b|_1``: ``alpha = lam``.
- glum: sample weights normalised to sum one, ``(1/2) sum_i s_i deviance_i + alpha*(...)``:
  ``alpha = lam``, same ``l1_ratio``.
- python-glmnet: glmnet's ``lambda`` and ``alpha`` are our ``lam`` and ``l1_ratio``; for
  gaussian glmnet standardizes y internally, which leaves the objective unchanged only
  because the benchmark's y has unit population variance already.

Settings (``SETTINGS``) are tight enough to reach 1e-6 relative suboptimality where the
library can; the benchmark states them in its output.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["RUNNERS", "SETTINGS", "UNSUPPORTED", "supports", "version"]

SETTINGS = {
    "shrinkage": (
        "regularization_path(X, y, family, l1_ratio, lams, standardize=False, "
        "fit_intercept=True, tol=1e-9 (gaussian: duality gap / null objective) or 1e-8 "
        "(binomial, poisson: max KKT violation / null max gradient))"
    ),
    "sklearn": (
        "gaussian dense: enet_path(alphas=lams, tol=1e-9, max_iter=100000, copy_X=False) on "
        "centred X, y (intercept 0 exactly); gaussian sparse: ElasticNet(warm_start=True, "
        "fit_intercept=True, tol=1e-9, max_iter=100000) looped over the grid; binomial: "
        "LogisticRegression(l1_ratio=1, solver='saga', C=1/(n*lam), tol=1e-8, "
        "max_iter=100000, warm_start=True) looped over the grid"
    ),
    "skglm": (
        "Lasso / ElasticNet / SparseLogisticRegression(alpha=lam, tol=1e-9, max_iter=100, "
        "max_epochs=100000, fit_intercept=True, warm_start=True) looped over the grid; "
        "poisson: GeneralizedLinearEstimator(Poisson(), L1(lam), ProxNewton(tol=1e-9, "
        "max_iter=100, fit_intercept=True, warm_start=True))"
    ),
    "celer": (
        "gaussian dense: celer_path(pb='lasso', alphas=lams, l1_ratio, tol=1e-9, prune=1, "
        "max_iter=100, max_epochs=100000) on centred X, y; gaussian sparse: Lasso / "
        "ElasticNet(warm_start=True, fit_intercept=True, same tol) looped over the grid"
    ),
    "glum": (
        "GeneralizedLinearRegressor(family, alpha_search=True, alphas=lams, l1_ratio, "
        "fit_intercept=True, solver='irls-cd', gradient_tol=1e-9, max_iter=1000)"
    ),
    "glmnet": (
        "python-glmnet ElasticNet / LogitNet(alpha=l1_ratio, lambda_path=lams, "
        "standardize=False, fit_intercept=True, tol=1e-12, max_iter=10**7, n_splits=0)"
    ),
}

#: (library, family) pairs that cannot be benchmarked, and why.
UNSUPPORTED = {
    ("sklearn", "poisson"): "scikit-learn has no L1-penalised Poisson (PoissonRegressor is L2)",
    ("celer", "binomial"): "celer LogisticRegression cannot fit an intercept "
    "(NotImplementedError)",
    ("celer", "poisson"): "celer has no Poisson model",
    ("glmnet", "poisson"): "python-glmnet wraps gaussian and binomial only",
}


SHRINKAGE_TOL = {"gaussian": 1e-9, "binomial": 1e-8, "poisson": 1e-8}


def supports(lib: str, family: str) -> str | None:
    """None when ``lib`` can run ``family``, otherwise the reason it cannot."""
    return UNSUPPORTED.get((lib, family))


def version(lib: str) -> str:
    from importlib.metadata import version as _v

    dist = {"sklearn": "scikit-learn", "glmnet": "python-glmnet"}.get(lib, lib)
    return _v(dist)


def _centred(X) -> bool:
    """Dense X with (numerically) zero column means: an intercept-free path is exact."""
    return not sp.issparse(X)


# ----------------------------------------------------------------------------- shrinkage
def run_shrinkage(X, y, lams, family, l1_ratio):
    import shrinkage

    path = shrinkage.regularization_path(
        X,
        y,
        family=family,
        l1_ratio=l1_ratio,
        lams=lams,
        standardize=False,
        fit_intercept=True,
        tol=SHRINKAGE_TOL[family],
    )
    k = path.n_lams
    if not np.allclose(path.lams, lams[:k], rtol=1e-12, atol=0):
        raise RuntimeError("shrinkage returned a different grid than the one passed")
    note = (
        f"converged {int(np.sum(path.converged))}/{k}, max {path.certificate_kind} "
        f"{float(np.max(path.certificate)):.1e}"
    )
    if path.stopped_early:
        note += f"; stopped early: {path.stop_reason}"
    return np.asarray(path.coefs), np.asarray(path.intercepts), note


# ----------------------------------------------------------------------------- scikit-learn
def run_sklearn(X, y, lams, family, l1_ratio):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    n, p = X.shape
    coefs = np.zeros((len(lams), p))
    inter = np.zeros(len(lams))
    n_warn = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if family == "gaussian" and _centred(X):
            from sklearn.linear_model import enet_path

            _, c, _ = enet_path(
                X, y, l1_ratio=l1_ratio, alphas=lams, tol=1e-9, max_iter=100_000, copy_X=False
            )
            coefs[:] = c.T
            note = "enet_path" if l1_ratio < 1 else "lasso_path (enet_path l1_ratio=1)"
        elif family == "gaussian":
            from sklearn.linear_model import ElasticNet

            m = ElasticNet(
                l1_ratio=l1_ratio, tol=1e-9, max_iter=100_000, warm_start=True, copy_X=False
            )
            for i, lam in enumerate(lams):
                m.set_params(alpha=lam).fit(X, y)
                coefs[i], inter[i] = m.coef_, m.intercept_
            note = "ElasticNet warm-start loop (sparse X)"
        elif family == "binomial":
            from sklearn.linear_model import LogisticRegression

            m = LogisticRegression(
                l1_ratio=l1_ratio, solver="saga", tol=1e-8, max_iter=100_000, warm_start=True
            )
            for i, lam in enumerate(lams):
                m.set_params(C=1.0 / (n * lam)).fit(X, y)
                coefs[i], inter[i] = m.coef_.ravel(), m.intercept_[0]
            note = "LogisticRegression(saga) warm-start loop"
        else:
            raise ValueError(UNSUPPORTED[("sklearn", family)])
        n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    if n_warn:
        note += f"; {n_warn} ConvergenceWarnings"
    return coefs, inter, note


# ----------------------------------------------------------------------------- skglm
def run_skglm(X, y, lams, family, l1_ratio):
    import skglm

    p = X.shape[1]
    coefs = np.zeros((len(lams), p))
    inter = np.zeros(len(lams))
    common = dict(tol=1e-9, fit_intercept=True, warm_start=True)
    if family == "gaussian":
        if l1_ratio == 1.0:
            m = skglm.Lasso(max_iter=100, max_epochs=100_000, **common)
        else:
            m = skglm.ElasticNet(l1_ratio=l1_ratio, max_iter=100, max_epochs=100_000, **common)
        note = f"{type(m).__name__} warm-start loop"
    elif family == "binomial":
        m = skglm.SparseLogisticRegression(
            l1_ratio=l1_ratio, max_iter=100, max_epochs=100_000, **common
        )
        note = "SparseLogisticRegression warm-start loop"
    elif family == "poisson":
        from skglm.datafits import Poisson
        from skglm.penalties import L1
        from skglm.solvers import ProxNewton

        solver = ProxNewton(max_iter=100, **common)
        m = None
        note = "GeneralizedLinearEstimator(Poisson, L1, ProxNewton) warm-start loop"
    else:
        raise ValueError(f"unknown family {family!r}")
    for i, lam in enumerate(lams):
        if family == "poisson":
            if m is None:
                m = skglm.GeneralizedLinearEstimator(Poisson(), L1(lam), solver)
            else:
                m.penalty = L1(lam)
            m.fit(X, y)
        else:
            m.set_params(alpha=lam).fit(X, y)
        coefs[i] = np.ravel(m.coef_)
        inter[i] = float(np.ravel(m.intercept_)[0]) if np.size(m.intercept_) else 0.0
    return coefs, inter, note


# ----------------------------------------------------------------------------- celer
def run_celer(X, y, lams, family, l1_ratio):
    import celer

    if family != "gaussian":
        raise ValueError(UNSUPPORTED[("celer", family)])
    p = X.shape[1]
    if _centred(X):
        _, c, _ = celer.celer_path(
            X,
            y,
            pb="lasso",
            alphas=lams,
            l1_ratio=l1_ratio,
            tol=1e-9,
            prune=1,
            max_iter=100,
            max_epochs=100_000,
        )
        return np.asarray(c).T.copy(), np.zeros(len(lams)), "celer_path (centred data)"
    coefs = np.zeros((len(lams), p))
    inter = np.zeros(len(lams))
    kw = dict(tol=1e-9, max_iter=100, max_epochs=100_000, fit_intercept=True, warm_start=True)
    if l1_ratio == 1.0:
        m = celer.Lasso(**kw)
    else:
        m = celer.ElasticNet(l1_ratio=l1_ratio, **kw)
    for i, lam in enumerate(lams):
        m.set_params(alpha=lam).fit(X, y)
        coefs[i], inter[i] = m.coef_, m.intercept_
    return coefs, inter, f"{type(m).__name__} warm-start loop (sparse X)"


# ----------------------------------------------------------------------------- glum
def run_glum(X, y, lams, family, l1_ratio):
    import glum

    fam = {"gaussian": "normal", "binomial": "binomial", "poisson": "poisson"}[family]
    m = glum.GeneralizedLinearRegressor(
        family=fam,
        alpha_search=True,
        alphas=np.asarray(lams),
        l1_ratio=l1_ratio,
        fit_intercept=True,
        solver="irls-cd",
        gradient_tol=1e-9,
        max_iter=1000,
    )
    m.fit(X, y)
    coefs = np.asarray(m.coef_path_, dtype=np.float64).reshape(len(lams), -1)
    inter = np.asarray(m.intercept_path_, dtype=np.float64).ravel()
    return coefs, inter, "alpha_search path"


# ----------------------------------------------------------------------------- glmnet
def run_glmnet(X, y, lams, family, l1_ratio):
    import glmnet

    kw = dict(
        alpha=l1_ratio,
        lambda_path=np.asarray(lams),
        standardize=False,
        fit_intercept=True,
        tol=1e-12,
        max_iter=10**7,
        n_splits=0,
    )
    if family == "gaussian":
        m = glmnet.ElasticNet(**kw).fit(X, y)
        coefs = np.asarray(m.coef_path_).T
        inter = np.asarray(m.intercept_path_).ravel()
    elif family == "binomial":
        m = glmnet.LogitNet(**kw).fit(X, y.astype(np.int64))
        coefs = np.asarray(m.coef_path_)[0].T
        inter = np.asarray(m.intercept_path_)[0].ravel()
    else:
        raise ValueError(UNSUPPORTED[("glmnet", family)])
    k = int(m.n_lambda_)
    if not np.allclose(m.lambda_path_[:k], lams[:k], rtol=1e-9, atol=0):
        raise RuntimeError("glmnet returned a different grid than the one passed")
    note = "" if k == len(lams) else f"glmnet stopped its path after {k} lams"
    return coefs[:k].copy(), inter[:k].copy(), note


RUNNERS = {
    "shrinkage": run_shrinkage,
    "sklearn": run_sklearn,
    "skglm": run_skglm,
    "celer": run_celer,
    "glum": run_glum,
    "glmnet": run_glmnet,
}
