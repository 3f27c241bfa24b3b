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
- adelie ``grpnet``: ``lmda`` and ``alpha`` are glmnet's (loss averaged with weights summing
  to one): ``lmda = lam``, ``alpha = l1_ratio``. adelie needs numpy < 2, so it runs in its
  own interpreter (``ADELIE_PYTHON``): ``bench_path.py`` starts ``_worker.py`` with it, the
  other scripts go through :func:`call_adelie` and ``_adelie_worker.py``.

``DEFAULT_RUNNERS`` (``bench_path.py --defaults``) call each library with its own
defaults on the raw data instead (``DEFAULT_SETTINGS`` says what exactly); they return
``(coefs, intercepts, note, lams)`` with ``lams`` the library's own grid in its own units.

Settings (``SETTINGS``) are tight enough to reach 1e-6 relative suboptimality where the
library can; the benchmark states them in its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

__all__ = [
    "ADELIE_PYTHON",
    "DEFAULT_RUNNERS",
    "DEFAULT_SETTINGS",
    "RUNNERS",
    "SETTINGS",
    "UNSUPPORTED",
    "adelie_missing",
    "call_adelie",
    "interpreter",
    "supports",
    "version",
]

HERE = os.path.dirname(os.path.abspath(__file__))

#: adelie's interpreter: a separate venv, because adelie 1.1 needs numpy < 2 (README.md)
ADELIE_PYTHON = os.environ.get("ADELIE_PYTHON", "/work/venv-adelie/bin/python")

#: adelie's tol and irls_tol in bench_path.py (set together)
ADELIE_TOL = 1e-12

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
    "adelie": (
        f"grpnet(X, glm, alpha=l1_ratio, lmda_path=lams, tol=irls_tol={ADELIE_TOL:g}, "
        "max_iters=10**7, early_exit=False, intercept=True, n_threads=1, "
        "progress_bar=False) on the benchmark's X as given (no ad.matrix.standardize, so "
        "standardize=False), sparse X as ad.matrix.sparse; own interpreter (numpy<2)"
    ),
}

DEFAULT_SETTINGS = {
    "shrinkage": "regularization_path(X, y, family, l1_ratio=l1_ratio): all defaults "
    "(standardize=True, its own grid and early stop, tol=None: 3e-5 gaussian "
    "duality gap, 3e-5 binomial on the curvature-weighted KKT violation, 3e-6 poisson)",
    "glmnet": "python-glmnet ElasticNet / LogitNet(alpha=l1_ratio, n_splits=0): otherwise "
    "defaults (standardize=True, n_lambda=100, min_lambda_ratio=1e-4, tol=1e-7)",
    "adelie": "grpnet(ad.matrix.standardize(ad.matrix.dense(X) or ad.matrix.sparse(X)), glm, "
    "alpha=l1_ratio, progress_bar=False): adelie's Python API has no standardize argument, so "
    "we wrap X in ad.matrix.standardize (adelie in R standardizes by default) and transform "
    "the coefficients back (B/s, b0 - B@c); otherwise defaults (min_ratio=1e-2, "
    "early_exit=True, tol=irls_tol=1e-7); the wrapping is timed",
    "sklearn": "gaussian: lasso_path(X, y) / enet_path(X, y, l1_ratio=0.5) with defaults "
    "(eps=1e-3, 100 alphas, tol=1e-4; no intercept: these functions fit none); binomial: no "
    "path function in scikit-learn (see bench_cv.py --defaults for LogisticRegressionCV)",
}

#: libraries --defaults does not run, and why
DEFAULTS_SKIPPED = {
    lib: "skipped in --defaults (defaults mode covers shrinkage, glmnet, adelie, scikit-learn)"
    for lib in ("skglm", "celer", "glum")
}

#: (library, family) pairs that cannot be benchmarked, and why.
UNSUPPORTED = {
    ("sklearn", "poisson"): "scikit-learn has no L1-penalised Poisson (PoissonRegressor is L2)",
    ("celer", "binomial"): "celer LogisticRegression cannot fit an intercept "
    "(NotImplementedError)",
    ("celer", "poisson"): "celer has no Poisson model",
    ("glmnet", "poisson"): "python-glmnet wraps gaussian and binomial only",
}

#: extra (library, family) pairs --defaults cannot run
UNSUPPORTED_DEFAULTS = {
    ("sklearn", "binomial"): "scikit-learn has no logistic path function (LogisticRegressionCV "
    "is timed by bench_cv.py --defaults)",
}


SHRINKAGE_TOL = {"gaussian": 1e-9, "binomial": 1e-8, "poisson": 1e-8}


def supports(lib: str, family: str, defaults: bool = False) -> str | None:
    """None when ``lib`` can run ``family``, otherwise the reason it cannot."""
    if defaults:
        if lib in DEFAULTS_SKIPPED:
            return DEFAULTS_SKIPPED[lib]
        if (lib, family) in UNSUPPORTED_DEFAULTS:
            return UNSUPPORTED_DEFAULTS[(lib, family)]
    return UNSUPPORTED.get((lib, family))


def interpreter(lib: str) -> str:
    """The Python that runs ``lib``'s worker: adelie's own venv for adelie."""
    return ADELIE_PYTHON if lib == "adelie" else sys.executable


_ADELIE_CHECK: list = []


def adelie_missing() -> str | None:
    """Why adelie cannot run (None when ``ADELIE_PYTHON`` imports it)."""
    if not _ADELIE_CHECK:
        why = None
        if not os.path.exists(ADELIE_PYTHON):
            why = (f"adelie's interpreter {ADELIE_PYTHON} not found (set ADELIE_PYTHON; "
                   "README.md says how to create it)")
        else:
            res = subprocess.run([ADELIE_PYTHON, "-c", "import adelie"], capture_output=True,
                                 text=True, timeout=300)
            if res.returncode != 0:
                last = (res.stderr.strip().splitlines() or ["failed"])[-1]
                why = f"{ADELIE_PYTHON} cannot import adelie: {last[:200]}"
        _ADELIE_CHECK.append(why)
    return _ADELIE_CHECK[0]


def call_adelie(spec: dict, out: str, timeout: float | None = None, threads: int = 1) -> dict:
    """Run one ``_adelie_worker.py`` task in adelie's interpreter; return its result.json.

    ``spec`` names the data folder (``_cases.save`` format), the task and its inputs; the
    task's arrays are written to ``out``. Raises RuntimeError when adelie fails.
    """
    why = adelie_missing()
    if why:
        raise RuntimeError(why)
    os.makedirs(out, exist_ok=True)
    spec = dict(spec, out=out)
    spec_path = os.path.join(out, "spec.json")
    with open(spec_path, "w") as fh:
        json.dump(spec, fh)
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONWARNINGS"] = "ignore"
    try:
        proc = subprocess.run([ADELIE_PYTHON, os.path.join(HERE, "_adelie_worker.py"),
                               spec_path], capture_output=True, text=True, timeout=timeout,
                              env=env)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"adelie timed out after {timeout:g} s") from exc
    res_path = os.path.join(out, "result.json")
    if not os.path.exists(res_path):
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise RuntimeError(f"adelie worker failed: {last[:300]}")
    with open(res_path) as fh:
        res = json.load(fh)
    if res.get("status") != "ok":
        raise RuntimeError(res.get("error", "adelie failed"))
    return res


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


# ----------------------------------------------------------------------------- adelie
def run_adelie(X, y, lams, family, l1_ratio):
    """In adelie's interpreter only (``interpreter("adelie")``)."""
    from _adelie_worker import fit_path

    return fit_path(X, y, lams, family, l1_ratio, ADELIE_TOL, ADELIE_TOL)


RUNNERS = {
    "shrinkage": run_shrinkage,
    "sklearn": run_sklearn,
    "skglm": run_skglm,
    "celer": run_celer,
    "glum": run_glum,
    "glmnet": run_glmnet,
    "adelie": run_adelie,
}


# ----------------------------------------------------------------------------- --defaults
def default_shrinkage(X, y, family, l1_ratio):
    import shrinkage

    path = shrinkage.regularization_path(X, y, family, l1_ratio=l1_ratio)
    note = f"max {path.certificate_kind} {float(np.max(path.certificate)):.1e}"
    if path.stopped_early:
        note += f"; stopped early: {path.stop_reason}"
    return np.asarray(path.coefs), np.asarray(path.intercepts), note, np.asarray(path.lams)


def default_glmnet(X, y, family, l1_ratio):
    import glmnet

    if family == "gaussian":
        m = glmnet.ElasticNet(alpha=l1_ratio, n_splits=0).fit(X, y)
        coefs = np.asarray(m.coef_path_).T
        inter = np.asarray(m.intercept_path_).ravel()
    elif family == "binomial":
        m = glmnet.LogitNet(alpha=l1_ratio, n_splits=0).fit(X, y.astype(np.int64))
        coefs = np.asarray(m.coef_path_)[0].T
        inter = np.asarray(m.intercept_path_)[0].ravel()
    else:
        raise ValueError(UNSUPPORTED[("glmnet", family)])
    k = int(m.n_lambda_)
    note = "" if k == 100 else f"glmnet stopped its path after {k} lams"
    return coefs[:k].copy(), inter[:k].copy(), note, np.asarray(m.lambda_path_[:k]).copy()


def default_adelie(X, y, family, l1_ratio):
    """In adelie's interpreter only."""
    from _adelie_worker import fit_defaults

    return fit_defaults(X, y, family, l1_ratio)


def default_sklearn(X, y, family, l1_ratio):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import enet_path, lasso_path

    if family != "gaussian":
        raise ValueError(UNSUPPORTED_DEFAULTS.get(("sklearn", family))
                         or UNSUPPORTED[("sklearn", family)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if l1_ratio == 1.0:
            alphas, c, _ = lasso_path(X, y)
            note = "lasso_path(X, y)"
        else:
            alphas, c, _ = enet_path(X, y, l1_ratio=l1_ratio)
            note = f"enet_path(X, y, l1_ratio={l1_ratio:g})"
        n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    note += "; no intercept (lasso_path/enet_path fit none)"
    if n_warn:
        note += f"; {n_warn} ConvergenceWarnings"
    coefs = np.asarray(c).T.copy()
    return coefs, np.zeros(coefs.shape[0]), note, np.asarray(alphas, dtype=np.float64)


DEFAULT_RUNNERS = {
    "shrinkage": default_shrinkage,
    "glmnet": default_glmnet,
    "adelie": default_adelie,
    "sklearn": default_sklearn,
}
