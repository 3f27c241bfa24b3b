"""Shared pieces of the inference methods: checked inputs, the fitted model's pieces."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..engine.path import regularization_path
from ..model.families import get_family
from ..validation import as_real_array, check_scalar, check_target

__all__ = ["SUPPORTED", "check_family", "check_lam", "check_level", "check_response",
           "check_sigma", "columns", "names_of", "numeric_response", "tight_fit",
           "weighted_hessian"]

SUPPORTED = ("gaussian", "binomial", "poisson")
# inference needs the exact solution's support and signs: a tight certificate
_TIGHT_TOL = {"gaussian": 1e-13, "binomial": 1e-10, "poisson": 1e-10}


def check_level(level):
    """The interval level as a float strictly between 0 and 1."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return level


def check_lam(lam):
    """``"cv"`` or the strength as a positive finite float; anything else is refused."""
    if isinstance(lam, str):
        if lam != "cv":
            raise ValueError(f"lam must be a number or 'cv', got {lam!r}")
        return lam
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise ValueError(f"lam must be a number or 'cv', got {lam!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"lam must be a positive number (or 'cv'), got {lam}")
    return value


def check_response(y, n, family):
    """``y`` checked before any split or fit: 1-D of length ``n``, finite, numeric for
    gaussian and poisson, and not constant (rounding noise would be read as signal)."""
    y = check_target(y, n)
    if family in ("gaussian", "poisson"):
        y = as_real_array(y, "y")
    if n and np.all(y == y[0]):
        raise ValueError(f"y is constant (every value {y[0]}): there is no signal to "
                         "select or infer")
    return y


def check_sigma(sigma):
    """``None`` (estimate it) or a positive, finite noise sd (text: TypeError)."""
    return None if sigma is None else check_scalar(sigma, "sigma", lo=0.0, lo_open=True)


def check_family(family, method):
    """The family name, refused with a clear message when ``method`` does not cover it."""
    name = get_family(family).name
    if name not in SUPPORTED:
        raise ValueError(f"{method} supports the families {', '.join(SUPPORTED)}; "
                         f"got {name!r}")
    return name


def names_of(X, p, feature_names=None):
    """Feature names: given, from a DataFrame's columns, or ``x0 .. x{p-1}``."""
    if feature_names is None and hasattr(X, "columns"):
        feature_names = [str(c) for c in X.columns]
    if feature_names is None:
        return np.asarray([f"x{j}" for j in range(p)])
    names = np.asarray([str(f) for f in feature_names])
    if names.shape != (p,):
        raise ValueError(f"feature_names has {names.size} entries for {p} features")
    return names


def numeric_response(y, family, classes):
    """The response as the loss sees it: 0/1 for a binomial path with class labels."""
    y = np.asarray(y)
    if family == "binomial" and classes is not None:
        return (y == classes[1]).astype(float)
    return y.astype(float)


def tight_fit(X, y, family, lam, **kwargs):
    """The path at the single strength ``lam``, solved to a tight certificate."""
    kwargs.setdefault("tol", _TIGHT_TOL[family])
    return regularization_path(X, y, family, lams=np.array([float(lam)]), early_stop=False,
                               **kwargs)


def columns(X, idx):
    """``X[:, idx]`` as a dense float64 array."""
    sub = X[:, idx]
    return sub.toarray() if sp.issparse(sub) else np.asarray(sub, dtype=float)


def weighted_hessian(Z, family, eta):
    """``Z^T W Z`` with the family's curvature ``W`` at the linear predictor ``eta``
    (the identity for gaussian), and ``W``."""
    fam = get_family(family)
    w = np.ones(Z.shape[0]) if fam.name == "gaussian" else np.asarray(fam.curvature(eta))
    return Z.T @ (Z * w[:, None]), w
