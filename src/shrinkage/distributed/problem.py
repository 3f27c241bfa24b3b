"""A fit on blocked data as the engine sees it: standardization, penalty arrays, results.

``fit_setup`` turns a pass's ``Moments`` and the
path options into what the engine's compiled kernels take, with the in-memory rules
(``shrinkage.engine.path``): weighted means ``xm_j``, scales ``s_j = sqrt(E_w[(x_j -
xm_j)^2])`` when standardizing, constant columns excluded from their live range, the
penalty lowered to ``l1u = l1_ratio pf s``, ``l2u = (1 - l1_ratio) pf s^2`` per unit
``lam``. ``finish_path`` builds the :class:`~shrinkage.results.Path` with the same
warnings and fields as an in-memory fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.free import bounded_free, free_mask, warn_collinear_gram
from ..engine.path import check_options
from ..engine.problem import Problem, check_column_means, constant_columns
from ..engine.ridge import ridge_grid_ends
from ..engine.stopping import stop_reason, warn_unconverged
from ..model.build import penalty_for
from ..model.families import get_family
from ..results import Path, nonzero_features
from ..validation import check_coefficient_scale

__all__ = ["FitSetup", "fit_setup", "finish_path", "free_arrays", "gram_ridge_ends",
           "check_penalty_options", "FAMILIES", "BLOCKED_FAMILIES"]

#: The families fitted by the generic blocked Newton route (this module's setup).
FAMILIES = ("gaussian", "binomial", "poisson")
#: Every family fitted on blocked data (multinomial and Cox by their own routes).
BLOCKED_FAMILIES = FAMILIES + ("multinomial", "cox")


@dataclass
class FitSetup:
    """Checked options and the standardized problem of one fit (plain arrays).

    ``xm`` are the weighted means (zeros without intercept), ``scale`` the ``s_j``,
    ``xsq`` the curvature ``E_w[(x - xm)^2]`` (0 on excluded columns), ``l1u, l2u, lo,
    hi`` the penalty arrays per unit ``lam``, ``cand`` the non-constant columns and
    ``unpen`` the unpenalised candidates, ``cert_scale`` the certificates' unit per
    feature (``shrinkage.engine.problem.Problem``: the spread about ``xm``).
    """

    family: object
    penalty: object
    tol: float
    max_iter: int
    l1_ratio: float
    n_lams: int
    fit_intercept: bool
    standardize: bool
    names: object
    xm: np.ndarray
    xw: np.ndarray
    scale: np.ndarray
    xsq: np.ndarray
    l1u: np.ndarray
    l2u: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cand: np.ndarray
    unpen: np.ndarray
    sd: np.ndarray = None
    cert_scale: np.ndarray = None


def check_family(options):
    """The family object of ``options``, refused by name when not fitted blockwise."""
    if options.family not in FAMILIES:
        raise ValueError(f"family={options.family!r} is not fitted on blocked data; "
                         f"choose one of {BLOCKED_FAMILIES}")
    check_penalty_options(options)
    return get_family(options.family)


def check_penalty_options(options):
    """Refuse, by name, the penalty options no blocked fit supports (feature groups,
    penalties other than the elastic net)."""
    if options.feature_groups is not None:
        raise ValueError("feature_groups is not supported on blocked data")
    if options.penalty != "elasticnet":
        raise ValueError(f"penalty={options.penalty!r} is not supported on blocked data; "
                         "use penalty='elasticnet'")


def fit_setup(mom, options, p, family=None, *, fit_intercept=None, centre=None):
    """The ``FitSetup`` of ``options`` on the rows summarised by ``mom`` (``family``: a
    family object checked by its own module, else ``check_family(options)``).

    ``fit_intercept`` overrides ``options.fit_intercept`` (the Cox model has none);
    ``centre`` overrides the centring shift (default: the weighted means with an
    intercept, zeros without).
    """
    fam = check_family(options) if family is None else family
    tol, max_iter, l1_ratio, n_lams, names = check_options(options, fam, p)
    penalty = penalty_for(fam, p, l1_ratio, options)
    check_column_means(mom.xm)
    if fit_intercept is None:
        fit_intercept = bool(options.fit_intercept)
    if centre is None:
        centre = mom.xm if fit_intercept else np.zeros(p)
    constant = constant_columns(mom.sums["min_x"], mom.sums["max_x"], mom.var, names,
                                mom.xm if fit_intercept else None,
                                fit_intercept or centre is mom.xm)
    xs = np.sqrt(mom.var)
    scale = np.where(constant, 1.0, xs) if options.standardize else np.ones(p)
    arrays = penalty.lower_arrays(p, scale)
    lo = np.where(constant, 0.0, arrays.lo)
    hi = np.where(constant, 0.0, arrays.hi)
    xsq = mom.xsq(fit_intercept)
    xsq[constant] = 0.0
    cand = ~constant
    unpen = (arrays.l1 == 0) & (arrays.l2 == 0) & cand
    free = np.flatnonzero(free_mask(unpen, lo, hi))
    if free.size > 1:  # (the in-memory path asks the columns: engine.free)
        G = mom.gram(centre is mom.xm)[0]
        warn_collinear_gram(G[np.ix_(free, free)], free, names)
    return FitSetup(fam, penalty, float(tol), int(max_iter), float(l1_ratio), int(n_lams),
                    fit_intercept, bool(options.standardize), names, centre, mom.xm, scale,
                    xsq, arrays.l1, arrays.l2, lo, hi, cand, unpen, xs,
                    Problem.certificate_scale(mom.var if centre is mom.xm else xsq, constant))


def free_arrays(G, c, st, cand):
    """The dual projection pieces of the free features, from a Gram (as
    ``shrinkage.engine.free.FreeFeatures``): ``(mask, idx, pinv, gall, cu, bounded)``
    with ``pinv = G_FF^+``, ``gall = G[:, F]`` and ``cu = c_F`` over the free candidates
    ``F`` (unpenalised with an unbounded side), ``bounded`` as ``bounded_free``."""
    free = free_mask(st.unpen & cand, st.lo, st.hi)
    idx = np.flatnonzero(free).astype(np.int64)
    if idx.size == 0:
        return free, idx, np.zeros((0, 0)), np.zeros((G.shape[0], 0)), np.zeros(0), None
    pinv = np.linalg.pinv(G[np.ix_(idx, idx)], rcond=np.finfo(float).eps * idx.size)
    return (free, idx, pinv, np.ascontiguousarray(G[:, idx]), c[idx].copy(),
            bounded_free(st.lo, st.hi, idx))


def gram_ridge_ends(G, st, n_live):
    """The df-based ends of a ridge grid from a (curvature-weighted) centred Gram: the
    eigenvalues of ``D G_PP D``, ``D = diag(l2u_P)^(-1/2)``, over the ridge-penalised
    candidates ``P`` (``shrinkage.engine.ridge.ridge_grid_ends``)."""
    idx = np.flatnonzero(st.cand & (st.l2u > 0))
    if idx.size == 0:
        return None
    d = 1.0 / np.sqrt(st.l2u[idx])
    gram = G[np.ix_(idx, idx)] * np.outer(d, d)
    e = np.linalg.eigvalsh(gram)
    e = e[e > max(e.max(), 0.0) * gram.shape[0] * np.finfo(float).eps]
    return ridge_grid_ends(e, n_live)


def finish_path(st, grid, out, done, code, null_dev, lam_max, kind, extra=None,
                classes=None):
    """The :class:`~shrinkage.results.Path` of the first ``done`` points of ``out =
    (coefs, intercepts, dev_ratio, cert, n_iter)``, warning about unconverged points
    as :func:`shrinkage.regularization_path` does."""
    coefs, intercepts, dev_ratio, cert, n_iter = (a[:done] for a in out)
    converged = np.isfinite(cert) & (cert <= st.tol)
    warn_unconverged(st.family.name, converged, grid, cert, st.tol, st.max_iter, kind,
                     n_iter=n_iter)
    check_coefficient_scale(coefs)
    return Path(
        lams=grid[:done].copy(), coefs=coefs, intercepts=intercepts,
        nnz=nonzero_features(coefs), dev_ratio=dev_ratio,
        null_deviance=float(null_dev), certificate=cert, certificate_kind=kind,
        converged=converged, n_iter=n_iter, family=st.family.name,
        l1_ratio=float(st.l1_ratio), tol=float(st.tol), standardize=st.standardize,
        fit_intercept=st.fit_intercept, stopped_early=done < grid.size,
        stop_reason=(stop_reason(code, dev_ratio[-1], grid[done - 1],
                                 relative=st.family.flat_relative) if done else ""),
        classes=classes, feature_names=st.names, lam_max=float(lam_max),
        extra={**({} if st.sd is None else {"feature_sd": st.sd.copy()}), **(extra or {})},
        penalty="elasticnet", gamma=float("nan"),
    )
