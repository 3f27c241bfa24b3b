"""One penalised fit as plain arrays: :class:`Problem`, its moments and its working sets.

The path driver builds a :class:`Problem` from the checked data, the family and the
penalty lowered to arrays; every solver reads it and nothing else. Standardization is
implicit: weighted column means and scales are computed here (without copying X) and the
kernels apply them through scalar bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..user_warnings import warn_user
from ..validation import DataWarning
from .kernels.certify import centred_gradient, kkt_scan
from .kernels.moments import (
    centred_combination,
    column_range,
    column_variances,
    sparse_column_moments,
    sparse_column_range,
)

__all__ = ["Problem", "certificate_reference", "check_column_means", "column_label",
           "column_moments", "column_spread", "constant_columns", "strong_set", "violators",
           "warn_far_columns"]

# A column whose live values span less than this share of their magnitude is treated as
# constant: a few hundred units in the last place, the rounding of values computed the
# same way. Wider spreads are kept, however small (1e8 + 1e-4 * x is a feature).
NEAR_CONSTANT = 1e-13
# A kept column's weighted variance must lie in this range (spreads of about 1e-120 to
# 1e120): beyond it, squared coefficient moves (y / x)^2 and sums of squares leave double
# precision, so such a column is refused by name rather than fitted inexactly.
_VAR_RANGE = (1e-240, 1e240)
# A column whose mean lies this many standard deviations from zero is fitted exactly (the
# solvers centre it), but the raw-unit intercept holds -mean * b: X b + intercept then
# cancels about eps * 1e9 = 2e-7 of the feature's effect, past which the returned
# coefficients no longer reproduce the certified fit (KKT recomputed from them: 8.3e-7 at
# 1e9 and 2.7e-6 at 1e10, against the 8.3e-7 certified, binomial, default tol)
FAR_FROM_ZERO = 1e9


@dataclass
class Problem:
    """Everything a solver needs, as plain arrays.

    ``w`` are sample weights normalised to sum to one; ``xm`` the weighted column means
    (zeros without an intercept); ``xsq`` the weighted sums ``sum_i w_i (x_ij - xm_j)^2``
    (the gaussian loss's curvature per coordinate, 0 for excluded columns); ``l1u, l2u``
    the penalty weights per unit ``lam``; ``excluded`` marks constant columns, whose
    coefficients stay at zero; ``penalty`` is the penalty object itself (its declared
    attributes, e.g. ``group_responses``); ``weighted``: ``tol`` bounds the
    curvature-weighted KKT violation (the family's ``weighted_tol`` default), not the
    plain one.

    ``scale`` is the standardization the penalty acts in (the columns' weighted standard
    deviations, or ones with ``standardize=False``). ``cert_scale`` is the unit every
    KKT certificate measures feature ``j``'s violation in: ``sqrt(sum_i w_i (x_ij -
    xm_j)^2)``, the column's spread about the centre the model uses (the weighted mean
    with an intercept, zero without), 1 for excluded columns; by default ``scale``. A
    violation divided by it is the change of the loss per unit spread of the column,
    whatever the column's units or the penalty's standardization, so one column on a
    large scale (``standardize=False``) or far from zero (no intercept) cannot make the
    violations of the others look small. ``cert_unit = scale / cert_scale`` takes a
    violation in the penalty's standardized units to the certificate's.
    """

    X: object
    y: np.ndarray
    w: np.ndarray
    uniform_w: float
    offset: np.ndarray | None
    family: object
    xm: np.ndarray
    xw: np.ndarray
    xsq: np.ndarray
    l1u: np.ndarray
    l2u: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    excluded: np.ndarray
    fit_intercept: bool
    tol: float
    max_iter: int
    scale: np.ndarray = None
    penalty: object = None
    cert_scale: np.ndarray = None
    weighted: bool = False

    @staticmethod
    def certificate_scale(spread_sq, constant):
        """``cert_scale`` from each column's weighted sum of squares about the model's
        centre; 1 for excluded (or spread-less) columns."""
        return np.where(constant | ~(spread_sq > 0.0), 1.0, np.sqrt(spread_sq))

    def __post_init__(self):
        if self.scale is None:
            self.scale = np.ones(self.X.shape[1])
        if self.cert_scale is None:
            self.cert_scale = self.scale
        # per feature, a violation in the penalty's standardized units times this is in
        # the certificate's (1 with the defaults)
        self.cert_unit = self.scale / self.cert_scale
        X = self.X
        self.sparse = sp.issparse(X)
        # the layout a kernel is not given is None: numba then prunes its branches before
        # typing, so a dense fit never compiles the sparse loops and vice versa
        if self.sparse:
            self.kX = None
            self.kd = X.data
            self.ki, self.kp = unsigned_index(X.indices), unsigned_index(X.indptr)
        else:
            self.kX = X
            self.kd = self.ki = self.kp = None
        self.n, self.p = X.shape
        self.candidates = ~self.excluded
        self.unpenalized = (self.l1u == 0) & (self.l2u == 0) & self.candidates

    def kernel_design(self):
        """``(kX, data, indices, indptr, sparse)``: the design as every numba kernel takes
        it. Dense ``X``: ``kX`` is the (n, p) array and the CSC arrays are None; sparse
        ``X``: ``kX`` is None and the three CSC arrays hold the matrix."""
        return self.kX, self.kd, self.ki, self.kp, self.sparse

    def centred_response(self):
        """``y - offset``, centred by its weighted mean with an intercept; and that mean."""
        yc = self.y if self.offset is None else self.y - self.offset
        if not self.fit_intercept:
            return yc, 0.0
        ybar = float(np.dot(self.w, yc))
        return yc - ybar, ybar

    def gradient(self, resid_w, out=None):
        """``g_j = sum_i (x_ij - xm_j) * resid_w_i`` for all j (one pass over X).

        ``resid_w`` may be a matrix (n, K); the result is then (p, K). For a vector,
        ``out`` (length p) receives the result instead of a new array.
        """
        if resid_w.ndim == 1:
            g = np.empty(self.p) if out is None else out
            centred_gradient(self.kX, self.kd, self.ki, self.kp, self.sparse,
                             np.ascontiguousarray(resid_w), self.xm, self.excluded, g)
            return g
        g = np.asarray(self.X.T @ resid_w)
        if self.fit_intercept:
            g -= np.multiply.outer(self.xm, resid_w.sum(axis=0))
        g[self.excluded] = 0.0
        return g

    def centred_matvec(self, b, idx):
        """``sum_{j in idx} (x_j - xm_j) b_j`` as a dense vector (no column copies)."""
        out = np.zeros(self.n)
        if idx.size:
            idx = np.asarray(idx, dtype=np.int64)
            centred_combination(self.kX, self.kd, self.ki, self.kp, self.sparse, self.xm, idx,
                                np.ascontiguousarray(b[idx]), out)
        return out


def unsigned_index(a):
    """A CSC index array as the kernels take it: int32 (scipy's usual type) viewed as
    uint32, without a copy; int64 (above 2^31 stored entries) as it is.

    Indexing with a signed integer makes numba add a test for negative (wrap-around)
    indices to every access; an unsigned one has none. In the gathers of the sparse
    sweeps and gradient passes (``r[xi[k]]``, with ``k`` running over ``xp``) that test
    cost a third of the time: full-size default paths on 1 M stored entries, gaussian
    0.80-0.92 s -> 0.52-0.61 s, binomial 3.8-4.2 s -> 2.8-2.9 s, same sweeps
    (``kernels.flags``). int64 arrays keep their type: as uint64 their entries, mixed with
    int64 in the kernels' arithmetic, would be typed float64.
    """
    return a.view(np.uint32) if a.dtype == np.int32 else a


def column_moments(X, w, center):
    """``sum_i w_i (x_ij - center_j)^2`` for every column (dense or CSC), without copies."""
    if sp.issparse(X):
        out = np.empty(X.shape[1])
        sparse_column_moments(X.data, unsigned_index(X.indptr), unsigned_index(X.indices), w,
                              center, out)
        return out
    return column_variances(X, w, center)


def column_spread(X, w):
    """``(lo, hi)``: each column's smallest and largest value over rows with ``w_i > 0``."""
    n, p = X.shape
    if not sp.issparse(X) and n > 0 and w.min() > 0.0:
        # every row live: numpy's reductions vectorise (the kernel's branches do not),
        # and a minimum or maximum is exact either way
        return X.min(axis=0), X.max(axis=0)
    lo, hi = np.empty(p), np.empty(p)
    if sp.issparse(X):
        sparse_column_range(X.data, unsigned_index(X.indptr), unsigned_index(X.indices), w,
                            lo, hi)
    else:
        column_range(X, w, lo, hi)
    return lo, hi


def check_column_means(xm):
    """Refuse columns whose weighted mean ``xm`` overflows double precision, by name."""
    if not np.isfinite(xm).all():
        j = int(np.flatnonzero(~np.isfinite(xm))[0])
        raise ValueError(f"the weighted mean of X column {j} overflows double precision; "
                         "rescale X before fitting")


def column_label(names):
    """How a warning names column ``j``: by index, or by its feature name."""
    if names is None:
        return lambda j: f"X column {j}"
    return lambda j: f"feature {str(names[j])!r}"  # (numpy's str_ would show its type)


def warn_far_columns(xm, var, constant, names=None):
    """Name, in a :class:`DataWarning`, the kept columns whose weighted mean ``xm`` lies
    more than ``FAR_FROM_ZERO`` standard deviations ``sqrt(var)`` from zero.

    The fit itself is exact (every solver centres the columns), but its answer in X's
    units is not: the intercept carries ``-sum_j xm_j b_j``, so the linear predictor
    ``X b + intercept`` rebuilt from the returned numbers cancels a share of about
    ``eps |xm_j| / sd_j`` of that feature's effect ``|b_j| sd_j``. Called only for fits
    with an intercept (without one nothing is centred, and nothing cancels).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(xm) / np.sqrt(var)
    far = (ratio > FAR_FROM_ZERO) & ~constant
    if not far.any():
        return
    cols = np.flatnonzero(far)
    j = int(cols[np.argmax(ratio[cols])])
    label = column_label(names)
    if cols.size == 1:
        where = f"{label(j)} lies {ratio[j]:.2g} standard deviations from zero"
    else:
        shown = ", ".join(label(k) for k in cols[:5]) + (" ..." if cols.size > 5 else "")
        where = (f"{shown} lie up to {ratio[j]:.2g} standard deviations from zero "
                 f"({label(j)})")
    lost = float(np.finfo(float).eps * ratio[j])
    warn_user(
        f"{where}: the fit is exact, but the intercept and coefficients in X's units "
        f"rebuild its linear predictor only to about {lost:.1g} of such a feature's effect "
        "(double precision); subtract a constant from the column (for instance its mean) "
        "before fitting", DataWarning)


def constant_columns(lo, hi, var, names=None, centre=None, intercept=True):
    """Columns to exclude as constant, from their live range ``[lo, hi]``.

    ``centre``: the weighted means a fit with an intercept centres on; the kept columns
    lying far from zero are then named too (:func:`warn_far_columns`). ``intercept``:
    whether the model absorbs a constant (an intercept, or a loss blind to shifts of
    ``eta``); without, a nonzero constant column would act as an intercept, and its
    exclusion (glmnet's rule) is named in a :class:`DataWarning`.

    Constant means a spread within ``NEAR_CONSTANT`` of the column's magnitude, decided on
    the values themselves (not on a variance, whose rounding grows with the mean). A
    column excluded without being exactly constant is named in a :class:`DataWarning`;
    a kept column whose sums of squares leave double precision is refused by name.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        spread = hi - lo
        bound = np.maximum(np.abs(lo), np.abs(hi))
        bound *= NEAR_CONSTANT
        constant = spread <= bound
        constant &= np.isfinite(spread)
    label = column_label(names)
    if constant.any():
        rounding = constant & (hi != lo)
        if rounding.any():
            cols = np.flatnonzero(rounding)
            shown = ", ".join(label(j) for j in cols[:5]) + (" ..." if cols.size > 5 else "")
            warn_user(
                f"{shown} vary only in their last digits (relative spread <= "
                f"{NEAR_CONSTANT:g}): treated as constant, coefficient 0", DataWarning)
        shifted = constant & ((lo != 0) | (hi != 0))
        if not intercept and shifted.any():
            cols = np.flatnonzero(shifted)
            shown = ", ".join(label(j) for j in cols[:5]) + (" ..." if cols.size > 5 else "")
            warn_user(
                f"{shown} constant and nonzero with fit_intercept=False: excluded, "
                "coefficient 0 (a constant column would act as an intercept); use "
                "fit_intercept=True to fit one", DataWarning)
    fits = (var >= _VAR_RANGE[0]) & (var <= _VAR_RANGE[1])
    fits |= constant
    if not fits.all():
        j = int(np.flatnonzero(~fits)[0])
        over = not var[j] <= _VAR_RANGE[1]
        if not over and spread[j] ** 2 > _VAR_RANGE[0]:
            # its values spread: the weighted variance underflows because (almost) all
            # the weight sits on rows where the column is constant
            raise ValueError(
                f"{label(j)} spans [{lo[j]:.3g}, {hi[j]:.3g}] but its weighted variance is "
                f"{var[j]:.3g}: sample_weight puts almost all its weight on rows where the "
                "column is constant (weight ratios of about 1e200 and beyond leave "
                "double precision); rescale or drop the extreme weights before fitting")
        raise ValueError(
            f"{label(j)} spans [{lo[j]:.3g}, {hi[j]:.3g}]: its sums of squares "
            f"{'overflow' if over else 'underflow'} double precision (a spread between "
            "1e-120 and 1e120 is fitted exactly); rescale it (for instance to unit variance) "
            "before fitting")
    if centre is not None:
        warn_far_columns(centre, var, constant, names)
    return constant


def _largest_standardized(g, cert_scale, cand):
    """``max_j |g_j| / cert_scale_j`` over the candidates ``cand`` (0 without one)."""
    return float(np.max(np.abs(g[cand]) / cert_scale[cand])) if np.any(cand) else 0.0


def certificate_reference(g, cert_scale, cand):
    """The reference of the KKT certificates: the null model's largest gradient per unit
    of column spread, ``max_j |g_j| / cert_scale_j`` over the candidates ``cand``; 1 when
    there is no candidate or that maximum is not positive."""
    top = _largest_standardized(g, cert_scale, cand)
    return top if top > 0 else 1.0


def _start_reference(null_ref, start_ref, floor):
    """A certificate's reference moved from the null model to the path's start (the fit
    of the unpenalised features): ``start_ref``, but at least ``floor * null_ref`` (the
    fit's rounding, relative to the null model's size, must stay far inside ``tol`` times
    the reference); ``null_ref`` when ``start_ref`` is not positive."""
    return max(start_ref, floor * null_ref) if start_ref > 0 else null_ref


def start_gradient_reference(null_ref, g, cert_scale, cand):
    """A KKT certificate's reference at the path's start: the largest gradient ``g`` per
    unit of column spread over ``cand`` there (the penalised features free to move:
    :func:`movable_penalised`), at least 1e-8 of the null model's (a gradient's rounding
    is about eps times the null model's); the null model's when ``cand`` is empty.

    With no penalised feature free to move, the start is the whole fit and its gradients
    are rounding: a reference made of them (1e-8 of the null model's) asked binomial,
    poisson, multinomial and Cox paths whose every feature was unpenalised for
    violations below rounding, so that at ``tol=1e-10`` every strength read unconverged
    after ``max_iter`` sweeps, at an exact fit.
    """
    return _start_reference(null_ref, _largest_standardized(g, cert_scale, cand), 1e-8)


def movable_penalised(cand, unpenalised, lo, hi):
    """The candidates the penalty acts on that are free to move (``lo < hi``): where the
    start's gradients measure what the path has still to fit."""
    return cand & ~unpenalised & (lo < hi)


def start_objective_reference(null_obj, start_obj):
    """A duality gap's reference at the path's start: the objective there, at least 1e-16
    of the null objective (an objective is quadratic in the residual: the square of the
    gradients' floor)."""
    return _start_reference(null_obj, start_obj, 1e-16)


def strong_set(prob, g, b, lam, lam_prev):
    """Strong-rule candidates (Tibshirani et al. 2012) plus the ever-active features.

    Discards j when ``|g_j| < l1_j * (2 lam - lam_prev)``; the KKT check afterwards
    catches any violation of the rule.
    """
    keep = (np.abs(g) >= prob.l1u * (2.0 * lam - lam_prev)) | (b != 0) | prob.unpenalized
    keep &= prob.candidates
    return keep


def violators(prob, g, b, lam, in_ws, out=None):
    """Features outside the working set whose KKT condition fails at the current point.

    Returns ``(indices, max_violation)`` with the violation in standardized-gradient units
    (divided by the penalty scale ``s_j``) over all candidate features.
    """
    if out is None:
        out = np.empty(prob.p, dtype=np.int64)
    vmax, m = kkt_scan(g, b, lam * prob.l1u, lam * prob.l2u, prob.lo, prob.hi,
                       prob.candidates, in_ws, prob.scale, out)
    return out[:m], vmax
