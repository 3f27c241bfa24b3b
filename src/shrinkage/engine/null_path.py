"""The path of a response the null model already fits exactly, and what stops a path on a
separated class: the two ends of :func:`~shrinkage.engine.path.fit_path` that need no
solver."""

from __future__ import annotations

import numpy as np

from ..results import Path
from .grid import strength_grid

__all__ = ["null_is_exact", "null_path", "separation_note"]


def null_is_exact(data, eta):
    """Whether the null model fits every weighted row to rounding (e.g. a constant count):
    then every ``lam`` has the null model as its exact solution, and the gradient the
    solvers would normalise their certificates by is rounding noise."""
    mu = data.family.mean(eta)
    live = data.w > 0
    resid = np.abs(data.y - mu)[live]
    size = (np.abs(data.y) + np.abs(mu))[live]
    return bool(np.all(resid <= 64 * np.finfo(float).eps * size))


def null_path(prob, data, options, eta, b0, null_dev, names, tol, l1_ratio, n_lams):
    """The path of a response the null model fits exactly, with its certificate.

    The certificate is the largest KKT violation (the gradient itself, every coefficient
    being zero) relative to ``sqrt(sum_i w_i (|y_i| + |mu_i|)^2)`` times the largest
    ``sqrt(xsq_j) / s_j``: by Cauchy-Schwarz the size the gradient would have if the
    residuals were of the size of the response. ``lam_max`` is a conventional 1.
    """
    mu = data.family.mean(eta)
    g = prob.gradient(data.w * (data.y - mu))
    gmag = np.abs(g) if g.ndim == 1 else np.sqrt(np.sum(g * g, axis=1))
    cand = prob.candidates
    ratio = np.sqrt(prob.xsq[cand]) / prob.cert_scale[cand]
    natural = (float(np.max(ratio)) if ratio.size else 1.0) * float(
        np.sqrt(data.w @ (np.abs(data.y) + np.abs(mu)) ** 2))
    violation = float(np.max(gmag[cand] / prob.cert_scale[cand])) if np.any(cand) else 0.0
    if prob.fit_intercept:
        violation = max(violation, float(np.max(np.abs(data.w @ (data.y - mu)))))
    cert_value = violation / natural if natural > 0 else violation
    grid, _ = strength_grid(options, 1.0, prob.n, prob.p, n_lams)
    L, p = grid.size, prob.p
    K = data.y.shape[1] if data.y.ndim == 2 else None
    cert = np.full(L, cert_value)
    intercept = np.asarray(b0, dtype=float)
    return Path(
        lams=grid, coefs=np.zeros((L, p, K) if K else (L, p)),
        intercepts=np.tile(intercept, (L, 1)) if K else np.full(L, float(intercept)),
        nnz=np.zeros(L, dtype=int), dev_ratio=np.zeros(L), null_deviance=float(null_dev),
        certificate=cert, certificate_kind="kkt_violation",
        converged=np.isfinite(cert) & (cert <= tol), n_iter=np.zeros(L, dtype=np.int64),
        family=data.family.name, l1_ratio=float(l1_ratio), tol=float(tol),
        standardize=bool(options.standardize), fit_intercept=bool(options.fit_intercept),
        classes=data.classes, feature_names=names, lam_max=1.0,
        extra={"null_model_exact": True}, penalty=prob.penalty.shape,
        gamma=float(getattr(prob.penalty, "gamma", np.nan)),
    )


def separation_note(k, data):
    """Why a path stopped on a separated class (see ``Solver.separated``)."""
    if k is None:
        return ""
    label = data.classes[k] if data.classes is not None else k
    rows = int(np.sum(data.y[data.w > 0, k] > 0))
    return (f"class {label!r} ({rows} row{'s' if rows != 1 else ''}) is separated from the "
            "others: its fitted probabilities are 0 or 1 to 1e-5 and its coefficients would "
            "grow without bound as lam decreases")
