"""What the values in a model file must satisfy before anything uses them.

:mod:`.checks` refuses names and kinds a file may not hold; a file edited with care (its
digests recomputed) can still hold a path whose coefficients are NaN or complex, a
chosen index outside the path, coefficients narrower than the encoded table, or a
family that does not exist. Each rebuilt object of the kinds below is checked here, so
that such a file fails at :func:`shrinkage.load` with a :class:`ModelFileError` naming
the value, never later inside ``predict`` (an unrelated message or, worse, a number).
"""

from __future__ import annotations

import numpy as np

from ..results import nonzero_features
from .checks import ModelFileError

__all__ = ["check_loaded"]

_KNOWN_FAMILIES = ("gaussian", "binomial", "poisson", "multinomial", "mgaussian", "cox")


def check_loaded(obj, where):
    """Refuse ``obj`` (just rebuilt from a file) if its values cannot be what was saved."""
    from ..results import CVResult, Path
    from ..tabular import TabularModel

    try:
        if isinstance(obj, Path):
            _check_path(obj)
        elif isinstance(obj, CVResult):
            _check_cv(obj)
        elif isinstance(obj, TabularModel):
            _check_tabular(obj)
        elif hasattr(obj, "get_params"):
            _check_estimator(obj)
    except ModelFileError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ModelFileError(f"{where}: {exc}") from None


def _array(value, name, ndims, *, finite=True):
    """``value`` as a real array with one of ``ndims`` dimensions (finite unless told)."""
    if not isinstance(value, np.ndarray):
        raise ModelFileError(f"{name} is a {type(value).__name__}, expected an array")
    if value.dtype.kind not in "biuf":
        raise ModelFileError(f"{name} has dtype {value.dtype}, expected real numbers")
    if value.ndim not in ndims:
        raise ModelFileError(f"{name} has {value.ndim} dimensions, expected "
                             f"{' or '.join(map(str, ndims))}")
    if finite and value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise ModelFileError(f"{name} holds NaN or infinite values")
    return value


def _family(family, name="family"):
    if family not in _KNOWN_FAMILIES:
        raise ModelFileError(f"{name} is {str(family)[:40]!r}, not one of "
                             f"{', '.join(_KNOWN_FAMILIES)}")


def _check_path(path):
    _family(path.family, "the path's family")
    lams = _array(path.lams, "lams", (1,))
    n = lams.shape[0]
    if n == 0 or np.any(lams < 0):
        raise ModelFileError("lams must be a non-empty array of strengths >= 0")
    if np.any(np.diff(lams) >= 0):  # every path runs from the strongest strength down
        raise ModelFileError("lams must be strictly decreasing (strongest first)")
    coefs = _array(path.coefs, "coefs", (2, 3))
    inter = _array(path.intercepts, "intercepts", (coefs.ndim - 1,))
    if coefs.shape[0] != n or inter.shape[0] != n:
        raise ModelFileError(f"coefs and intercepts hold {coefs.shape[0]} and "
                             f"{inter.shape[0]} points for {n} lams")
    if coefs.ndim == 3 and inter.shape[1] != coefs.shape[2]:
        raise ModelFileError(f"intercepts have {inter.shape[1]} columns for "
                             f"{coefs.shape[2]} classes")
    for name in ("nnz", "dev_ratio", "certificate", "converged", "n_iter"):
        value = getattr(path, name)
        if np.shape(value) != (n,):
            raise ModelFileError(f"{name} has shape {np.shape(value)}, expected ({n},)")
    counted = nonzero_features(coefs)
    if not np.array_equal(np.asarray(path.nnz), counted):
        k = int(np.flatnonzero(np.asarray(path.nnz) != counted)[0])
        raise ModelFileError(f"nnz says {np.asarray(path.nnz)[k]} features at lam index {k}, "
                             f"the coefficients hold {counted[k]}")
    names = path.feature_names
    if names is not None and np.shape(names) != (coefs.shape[1],):
        raise ModelFileError(f"{np.size(names)} feature names for {coefs.shape[1]} features")


def _check_cv(cv):
    lams = _array(cv.lams, "the CV lams", (1,))
    n = lams.shape[0]
    for name in ("mean", "se"):  # NaN where a strength was not reached: allowed
        value = _array(getattr(cv, name), f"the CV {name}", (1,), finite=False)
        if value.shape[0] != n:
            raise ModelFileError(f"the CV {name} has {value.shape[0]} entries for {n} lams")
    for name in ("index_min", "index_chosen"):
        k = getattr(cv, name)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise ModelFileError(f"{name} is {k!r}, not a position on the {n} lams")


def _check_tabular(model):
    _family(model.family)
    if model.path.family != model.family:
        raise ModelFileError(f"the model's family {model.family!r} is not its path's "
                             f"{model.path.family!r}")
    if model.cv.lams.shape[0] > model.path.lams.shape[0]:
        raise ModelFileError("the CV covers more strengths than the path holds")
    if not isinstance(model.columns, list):
        raise ModelFileError("the encoding is not a list of column descriptions")
    from ..tabular_encode import factor_labels

    for spec in model.columns:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ModelFileError("a column description lacks its name")
        kind = spec.get("kind")
        if kind == "categorical":
            levels = spec.get("levels")
            if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
                raise ModelFileError(f"column {spec['name']!r}: levels must be a list of "
                                     "text")
        elif kind != "numeric":
            raise ModelFileError(f"column {spec['name']!r} has kind {kind!r}, expected "
                                 "'numeric' or 'categorical'")
    width = len(factor_labels(model.columns))  # one label per encoded feature
    if model.path.coefs.shape[1] != width:
        raise ModelFileError(f"the encoding gives {width} features, the coefficients "
                             f"{model.path.coefs.shape[1]}")


# Fitted attributes an estimator predicts with: real and finite wherever they appear.
_COEFFICIENTS = ("coef_", "intercept_", "_coef_engine", "_intercept_engine")


def _check_estimator(est):
    state = vars(est)
    for name in _COEFFICIENTS:
        value = state.get(name)
        if isinstance(value, np.ndarray):
            _array(value, name, (0, 1, 2))
        elif isinstance(value, complex) or (isinstance(value, float) and
                                            not np.isfinite(value)):
            raise ModelFileError(f"{name} is {value!r}, expected a finite real number")
    p = state.get("n_features_in_")
    for name in ("coef_", "_coef_engine"):
        value = state.get(name)
        # (p,) or, for several classes, (K, p) as scikit-learn's or (p, K) as the engine's
        if (p is not None and isinstance(value, np.ndarray) and value.ndim
                and p not in value.shape[:2]):
            raise ModelFileError(f"{name} has shape {value.shape} for {p} features")
    shown, used = state.get("coef_"), state.get("_coef_engine")
    if isinstance(shown, np.ndarray) and isinstance(used, np.ndarray):
        # the same numbers in scikit-learn's layout: (p,), (1, p) for two classes, (K, p)
        same = shown.size == used.size and (
            np.array_equal(shown.ravel(), used.ravel())
            or (shown.ndim == 2 and np.array_equal(shown.T.ravel(), used.ravel())))
        if not same:
            raise ModelFileError("coef_ differs from the coefficients predict uses "
                                 "(_coef_engine)")
