"""Input checks shared by every public entry point.

Each check either returns the input in the form the kernels need (without copying a
float64 Fortran-ordered array or a CSC matrix) or raises an error that names the argument
and the problem.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_design",
    "check_target",
    "check_sample_weight",
    "unit_mean_weights",
    "check_offset",
    "check_vector",
    "check_scalar",
    "check_int",
    "as_real_array",
    "refuse_sparse",
    "check_positive",
    "check_ratio",
    "store_params",
    "DataWarning",
    "check_feature_names",
    "check_coefficient_scale",
]


def _reject_non_numeric(name, arr):
    if arr.dtype.kind == "O":
        raise TypeError(
            f"{name} has dtype object: it must be numeric (encode categorical or string "
            "columns first)"
        )
    if arr.dtype.kind in "USV":
        raise TypeError(f"{name} holds strings (dtype {arr.dtype}); it must be numeric")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex; shrinkage fits real-valued data only")
    if arr.dtype.kind == "M" or arr.dtype.kind == "m":
        raise TypeError(f"{name} holds dates or times (dtype {arr.dtype}); convert to numbers")


def as_real_array(x, name):
    """``x`` as a float64 ndarray of any shape, refusing non-real data by name.

    Complex values, strings, dates and objects that are not numbers raise ``TypeError``
    (a plain ``np.asarray(x, dtype=float)`` would drop imaginary parts with only a warning
    and parse numeric strings). Finiteness is left to the caller.
    """
    if hasattr(x, "to_numpy") and not hasattr(x, "columns"):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be a numeric array; it holds strings (dtype {arr.dtype})")
    if arr.dtype.kind in "cMm":
        _reject_non_numeric(name, arr)
    if arr.dtype.kind == "O" and any(isinstance(v, (complex, np.complexfloating, str, bytes))
                                     for v in arr.ravel()[:1000]):
        raise TypeError(f"{name} must be a numeric array of real numbers; it holds complex "
                        "values or strings")
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None


def refuse_sparse(X, who, why):
    """Refuse a scipy sparse ``X`` by name: ``who`` needs a dense one, because ``why``."""
    if hasattr(X, "tocsc") or hasattr(X, "toarray"):
        raise TypeError(f"{who} needs a dense X ({why}); pass X.toarray()")


# Arrays of at most this many entries are tested for finiteness element by element at
# once: the boolean temporary is at most a megabyte, and the test costs less than the
# sum below with its error-state context (1.5 against 3.9 us for 400 entries, 18 against
# 22 us for 100,000).
_FINITE_DIRECT = 2**20


def _all_finite(arr):
    """No NaN or inf in ``arr``, without an n x p boolean temporary for a large one.

    The sum of finite numbers is finite unless it overflows; a NaN or inf anywhere makes
    it non-finite. Only then is the exact element-wise test run (scikit-learn's trick).
    """
    if arr.size <= _FINITE_DIRECT:
        return bool(np.isfinite(arr).all())
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(arr)):
            return True
    return bool(np.isfinite(arr).all())


def check_design(X, *, n_features=None, name="X"):
    """Validate a design matrix.

    Returns a float64 Fortran-ordered ndarray, or a ``scipy.sparse.csc_matrix`` in
    canonical form (sorted indices, no duplicate entries: duplicates are summed, as scipy
    reads them) with float64 data. A float64 Fortran array and a canonical float64 CSC
    matrix are returned as they are, without a copy.
    """
    if X is None:
        raise ValueError(f"{name} is None; pass a 2-D array of shape (n_samples, n_features)")
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D")
        _reject_non_numeric(name, np.empty(0, dtype=X.dtype))
        if X.dtype == np.bool_ or X.dtype.kind in "iu":
            X = X.astype(np.float64)
        if X.format != "csc":
            X = X.tocsc()
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        if not X.has_canonical_format:
            # unsorted indices or duplicate entries (which scipy sums): the kernels read
            # each stored entry once, so canonicalize a copy (canonical input is not copied)
            X = X.copy()
            X.sum_duplicates()
        if not _all_finite(X.data):
            _raise_nonfinite(name, X.data)
        Xs = X
        shape = X.shape
    else:
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            _check_frame_numeric(name, X)
            # nullable extension dtypes (Int64, Float64, boolean) become float, pd.NA NaN
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        arr = np.asarray(X)
        _reject_non_numeric(name, arr)
        if arr.ndim == 1:
            raise ValueError(
                f"{name} must be 2-D (n_samples, n_features); got a 1-D array of length "
                f"{arr.shape[0]}. Reshape with X.reshape(-1, 1) for a single feature."
            )
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got an array with {arr.ndim} dimensions")
        if arr.dtype != np.float64:
            # float32 and integer inputs are accepted; the kernels work in float64 so that
            # certificates at tight tolerances are meaningful.
            arr = np.asarray(arr, dtype=np.float64, order="F")
        if not arr.flags.f_contiguous:
            arr = np.asfortranarray(arr)
        if not _all_finite(arr):
            _raise_nonfinite(name, arr)
        Xs = arr
        shape = arr.shape
    n, p = shape
    if n == 0:
        raise ValueError(f"{name} has no rows (empty data)")
    if p == 0:
        raise ValueError(f"{name} has no columns (0 features)")
    if n_features is not None and p != n_features:
        raise ValueError(f"{name} has {p} features, but the model was fitted with {n_features}")
    return Xs


def check_numeric_frame(X, name="X"):
    """Refuse a DataFrame ``X`` with non-numeric columns, naming them (anything else
    passes through unchecked)."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        _check_frame_numeric(name, X)


def _check_frame_numeric(name, frame):
    # pandas extension dtypes (strings, categoricals) also expose a numpy-style kind
    bad = [str(c) for c, t in zip(frame.columns, frame.dtypes)
           if getattr(t, "kind", "O") not in "biuf"]
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise TypeError(f"{name} has non-numeric columns: {shown}; encode them first")


def _raise_nonfinite(name, arr):
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    what = " and ".join(
        part for part in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "")
        if part
    )
    raise ValueError(f"{name} contains {what} value(s); remove or impute them first")


def check_vector(x, name, n, *, allow_none=True, dtype=np.float64):
    """A 1-D finite float vector of length ``n`` (or None)."""
    if x is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required")
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    arr = np.asarray(x)
    _reject_non_numeric(name, arr)
    arr = np.asarray(arr, dtype=dtype)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of length {n}, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {n}")
    if not np.isfinite(arr).all():
        _raise_nonfinite(name, arr)
    return arr


def check_sample_weight(sample_weight, n):
    """Non-negative finite weights with a positive sum; returns weights normalised to sum 1."""
    if sample_weight is None:
        return None
    w = check_vector(sample_weight, "sample_weight", n, allow_none=False)
    if (w < 0).any():
        raise ValueError("sample_weight has negative entries; weights must be >= 0")
    top = w.max()
    if not top > 0:
        raise ValueError("sample_weight sums to zero: no observation carries weight")
    # divided by the largest weight first, so that neither the sum of huge weights
    # (overflow) nor that of tiny ones (underflow) loses the weights' ratios
    w = w / top
    return w / w.sum()


def check_score_weight(sample_weight, y):
    """A ``score`` call's ``sample_weight``, checked as ``fit`` checks it (None stays
    None): negative, NaN or all-zero weights are refused by name rather than scored."""
    if sample_weight is None:
        return None
    return check_sample_weight(sample_weight, np.shape(y)[0] if np.ndim(y) else 0)


class CheckedScoreWeights:
    """Mixin for estimators whose ``score`` is inherited: its ``sample_weight`` is checked
    as ``fit``'s (:func:`check_score_weight`) before the inherited score runs."""

    def score(self, X, y, sample_weight=None, **kwargs):
        return super().score(X, y, sample_weight=check_score_weight(sample_weight, y),
                             **kwargs)


def unit_mean_weights(sample_weight, n):
    """``(v, m)``: the weights scaled to mean 1 over the ``m`` rows of positive weight
    (ones and ``n`` without weights): the weighted gaussian likelihood
    ``sum_i v_i r_i^2 / (2 sigma^2)`` of the library's weighted-mean objective, in which a
    row of weight 0 is a row left out."""
    w = check_sample_weight(sample_weight, n)  # sums to 1
    if w is None:
        return np.ones(n), n
    m = int(np.count_nonzero(w > 0))
    return w * m, m


def check_offset(offset, n, n_classes=None):
    """The offset as a finite float64 array, or None when none is given.

    Shape ``(n,)``, or ``(n, n_classes)`` for a multinomial model (``n_classes`` given);
    a wrong shape or a NaN / inf entry is a ``ValueError`` that names ``offset``.
    """
    if offset is None:
        return None
    if n_classes is None:
        return check_vector(offset, "offset", n, allow_none=False)
    arr = np.asarray(offset, dtype=np.float64)
    if arr.shape != (n, n_classes):
        raise ValueError(f"offset must have shape ({n}, {n_classes}) (one column per class or "
                         f"response), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        _raise_nonfinite("offset", arr)
    return arr


def check_response_matrix(y, n):
    """A real response of shape (n, k) (a 1-D y is one column), finite, as float64."""
    if y is None:
        raise ValueError("y is None; pass the target values")
    arr = np.asarray(_target_array(y))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"y must have shape ({n}, k) (one column per response), got "
                         f"{arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError("y has 0 columns: give at least one response")
    if arr.dtype.kind not in "fiub":
        raise TypeError("y must be numeric for a multi-response gaussian model")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        _raise_nonfinite("y", arr)
    return arr


def check_target(y, n):
    """A 1-D target of length n (labels may be non-numeric; the family checks them)."""
    if y is None:
        raise ValueError("y is None; pass the target values")
    arr = _target_array(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D of length {n}, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"y has {arr.shape[0]} entries but X has {n} rows")
    if arr.dtype.kind == "c":
        raise TypeError("y is complex; shrinkage fits real-valued data only")
    if arr.dtype.kind == "O":
        missing = np.array([_is_missing(v) for v in arr], dtype=bool)
        if np.any(missing):
            rows = np.flatnonzero(missing)
            raise ValueError(
                f"y has {rows.size} missing label(s) (None/NaN/NA), first at row {rows[0]}; "
                "drop those rows or fill them in")
    # integers and booleans are finite; floats are checked as they are (no float64 copy),
    # except wider ones (long double), whose finite values may overflow float64
    if arr.dtype.kind == "f":
        arr_f = arr
        if arr.dtype.itemsize > 8:
            with np.errstate(over="ignore"):
                arr_f = arr.astype(np.float64)
        if not _all_finite(arr_f):
            _raise_nonfinite("y", arr_f)
    return arr


def _target_array(y):
    """``y`` as an ndarray; nullable pandas numbers and booleans as float (pd.NA -> NaN),
    categoricals as their labels."""
    dtype = getattr(y, "dtype", None)
    if hasattr(y, "to_numpy"):
        if dtype is not None and getattr(dtype, "kind", "O") in "biuf" and not isinstance(
                dtype, np.dtype):
            return np.asarray(y.to_numpy(dtype=np.float64, na_value=np.nan))
        y = y.to_numpy()
    return np.asarray(y)


def _is_missing(v):
    """None, a float NaN or pandas' NA (without importing pandas)."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return type(v).__name__ in ("NAType", "NaTType")


def check_int(name, value, low):
    """An integer (not a bool) ``>= low``; returns it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_scalar(value, name, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    """A finite real (or integer) scalar within the stated bounds."""
    t = type(value)
    # a plain int (or a float for a real) answers without the abstract-class check, whose
    # registry lookups cost microseconds on every option of every fit
    if not (t is int or (t is float and not integer)):
        kind = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            what = "an integer" if integer else "a real number"
            raise TypeError(f"{name} must be {what}, got {value!r}")
    v = int(value) if integer else float(value)
    # math.isfinite on a float: np.isfinite costs a microsecond per option on every fit
    if not (np.isfinite(v) if integer else math.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        op = ">" if lo_open else ">="
        raise ValueError(f"{name} must be {op} {lo}, got {value!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        op = "<" if hi_open else "<="
        raise ValueError(f"{name} must be {op} {hi}, got {value!r}")
    return v


def check_flag(value, name, *, none=False):
    """``value`` as a bool: only ``True``/``False`` (numpy's too), and ``None`` where
    ``none`` (an "automatic" default). Anything else is refused by name: ``bool("no")`` is
    True, so a string would silently turn the option on."""
    if value is None and none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    allowed = "True, False or None" if none else "True or False"
    raise TypeError(f"{name} must be {allowed}, got {value!r}")


def check_positive(name, value, *, allow_zero=False, allow_inf=False):
    """Validate a strength-like scalar or array (returned as float / ndarray)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    bad_nan = np.isnan(arr)
    bad_inf = np.isinf(arr) & (not allow_inf)
    bad_sign = arr < 0 if allow_zero else arr <= 0
    if np.any(bad_nan | bad_inf | bad_sign):
        kind = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {kind}, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr


def check_ratio(name, value):
    """A number in [0, 1] (returned as float)."""
    r = float(value)
    if not (0.0 <= r <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return r


def store_params(estimator, params):
    """Store constructor arguments unchanged (scikit-learn's ``__init__`` contract).

    ``params`` is the ``locals()`` of ``__init__``; everything but ``self`` is stored.
    """
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class DataWarning(UserWarning):
    """The data were used, but not quite as given (a near-constant column dropped, ...)."""


def check_feature_names(X, names, what="the model"):
    """Refuse a table whose columns are not the fitted ``names``, in the fitted order.

    Only tables with column names (DataFrames) are checked; arrays are taken by position.
    A reordered or renamed column would otherwise meet another feature's coefficient.
    """
    if names is None or not hasattr(X, "columns"):
        return
    cols = [str(c) for c in X.columns]
    expected = [str(n) for n in names]
    if cols == expected:
        return
    missing = [n for n in expected if n not in set(cols)]
    unexpected = [c for c in cols if c not in set(expected)]
    if not missing and not unexpected:
        raise ValueError(
            f"X has the feature names {what} was fitted with, in another order; reorder its "
            f"columns as {expected[:6]}{' ...' if len(expected) > 6 else ''}")
    parts = []
    if missing:
        parts.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        parts.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    raise ValueError(f"X's columns are not the feature names {what} was fitted with: "
                     + "; ".join(parts))


# Below this the largest coefficient nears the subnormal range of double precision, where
# numbers are multiples of 5e-324: rounding would cost more than 1e-12 of their size.
_COEF_FLOOR = 1e-300


def check_coefficient_scale(coefs, scale=1.0):
    """Refuse a fit whose coefficients ``coefs * scale`` lose digits to underflow.

    Coefficients have the size of ``y / X``: with ``y`` near 1e-306 and ``X`` near 1e14
    they would be near 1e-320, subnormal, with three or four significant digits left (or
    zero, with none). A ``ValueError`` saying what to rescale is the answer there, never
    such numbers.
    """
    # the largest |coefficient| without an |coefs| copy (the copy is most of the cost on a
    # wide path); np.maximum keeps a nan as np.max(np.abs(...)) did
    internal = float(np.maximum(np.max(coefs, initial=0.0), -np.min(coefs, initial=0.0)))
    big = internal * float(scale)  # Python floats underflow to 0 silently: no errstate
    if internal > 0.0 and big < _COEF_FLOOR:
        raise ValueError(f"the coefficients (of the size of y / X, here {big:.1e}) fall to "
                         "the subnormal range of double precision and would lose digits; "
                         "rescale y or X before fitting")
