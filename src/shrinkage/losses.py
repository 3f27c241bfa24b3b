"""Losses on the linear predictor ``eta`` (half the unit deviance, up to a constant).

Each family works on ``eta`` only; solvers own the design matrix. Weights ``w`` passed here
are normalised to sum to one, so ``loss`` is the weighted mean loss of the objective::

    gaussian   loss(y, eta) = (y - eta)^2 / 2
    binomial   loss(y, eta) = log(1 + exp(eta)) - y * eta           (y in [0, 1])
    poisson    loss(y, eta) = exp(eta) - y * eta                    (y >= 0, log link)
    multinomial loss(Y, E)  = logsumexp_k(E_k) - sum_k Y_k E_k      (Y one-hot, K classes)

``deviance`` is twice the weighted mean loss minus that of the saturated model, so
``dev_ratio = 1 - deviance / null_deviance`` matches glmnet's fraction of deviance explained.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, xlogy

__all__ = ["Gaussian", "Binomial", "Poisson", "Multinomial", "get_family"]

# Working weights below this are floored so IRLS never divides by zero; the line search and
# the exact-gradient KKT check keep the solution exact.
_MIN_VAR = 1e-10
_ETA_MAX = 700.0


class Gaussian:
    name = "gaussian"
    certificate = "duality_gap"

    def prepare_target(self, y):
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise TypeError("y must be numeric for the gaussian family")
        return y.astype(np.float64), None

    def mean(self, eta):
        return eta

    def loss(self, y, eta, w):
        r = y - eta
        return 0.5 * float(np.dot(w, r * r))

    def deviance(self, y, eta, w):
        r = y - eta
        return float(np.dot(w, r * r))

    def grad_residual(self, y, eta):
        """``y - mu``: minus the derivative of the loss with respect to eta."""
        return y - eta

    def variance(self, mu):
        return np.ones_like(mu)

    def null_eta(self, y, w, offset, fit_intercept):
        base = np.zeros_like(y) if offset is None else offset
        if not fit_intercept:
            return base, 0.0
        b0 = float(np.dot(w, y - base))
        return base + b0, b0


class Binomial(Gaussian):
    name = "binomial"
    certificate = "kkt_violation"

    def prepare_target(self, y):
        y = np.asarray(y)
        if y.dtype.kind in "fiu" and y.size and np.all((y >= 0) & (y <= 1)):
            yf = y.astype(np.float64)
            values = np.unique(yf)
            if values.size < 2 and np.all(np.isin(values, (0.0, 1.0))):
                raise ValueError(
                    f"y has a single class ({values[0]:g}); the binomial family needs two")
            if np.all(np.isin(values, (0.0, 1.0))):
                return yf, np.array([0, 1])
            return yf, None  # proportions in [0, 1]
        classes = np.unique(y)
        if classes.size == 1:
            raise ValueError(f"y has a single class ({classes[0]!r}); the binomial family "
                             "needs two")
        if classes.size > 2:
            raise ValueError(f"y has {classes.size} classes; use family='multinomial' for "
                             "more than two")
        return (y == classes[1]).astype(np.float64), classes

    def mean(self, eta):
        return expit(eta)

    def loss(self, y, eta, w):
        return float(np.dot(w, np.logaddexp(0.0, eta) - y * eta))

    def deviance(self, y, eta, w):
        sat = -(xlogy(y, y) + xlogy(1.0 - y, 1.0 - y))
        return 2.0 * float(np.dot(w, np.logaddexp(0.0, eta) - y * eta - sat))

    def grad_residual(self, y, eta):
        return y - expit(eta)

    def variance(self, mu):
        return np.maximum(mu * (1.0 - mu), _MIN_VAR)

    def null_eta(self, y, w, offset, fit_intercept):
        if not fit_intercept:
            base = np.zeros_like(y) if offset is None else offset
            return base, 0.0
        ybar = float(np.dot(w, y))
        b0 = float(np.log(ybar / (1.0 - ybar)))
        return _newton_intercept(self, y, w, offset, b0)


class Poisson(Gaussian):
    name = "poisson"
    certificate = "kkt_violation"

    def prepare_target(self, y):
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise TypeError("y must be numeric (counts) for the poisson family")
        yf = y.astype(np.float64)
        if np.any(yf < 0):
            raise ValueError("y has negative values; poisson counts must be >= 0")
        if not np.any(yf > 0):
            raise ValueError("y is all zero; the poisson model needs some positive counts")
        return yf, None

    def mean(self, eta):
        return np.exp(np.minimum(eta, _ETA_MAX))

    def loss(self, y, eta, w):
        return float(np.dot(w, np.exp(np.minimum(eta, _ETA_MAX)) - y * eta))

    def deviance(self, y, eta, w):
        mu = np.exp(np.minimum(eta, _ETA_MAX))
        sat = xlogy(y, y) - y
        return 2.0 * float(np.dot(w, mu - y * eta + sat))

    def grad_residual(self, y, eta):
        return y - np.exp(np.minimum(eta, _ETA_MAX))

    def variance(self, mu):
        return np.maximum(mu, _MIN_VAR)

    def null_eta(self, y, w, offset, fit_intercept):
        if not fit_intercept:
            base = np.zeros_like(y) if offset is None else offset
            return base, 0.0
        ybar = float(np.dot(w, y))
        b0 = float(np.log(ybar))
        return _newton_intercept(self, y, w, offset, b0)


def _newton_intercept(family, y, w, offset, b0):
    """Intercept-only maximum likelihood with an offset (a 1-D Newton iteration)."""
    if offset is None:
        return np.full_like(y, b0), b0  # closed form for canonical links without offset
    for _ in range(100):
        eta = offset + b0
        mu = family.mean(eta)
        g = float(np.dot(w, y - mu))
        hval = float(np.dot(w, family.variance(mu)))
        step = g / hval
        b0 += step
        if abs(step) < 1e-12 * (1.0 + abs(b0)):
            break
    return offset + b0, b0


class Multinomial:
    """Multinomial logistic loss on a matrix of linear predictors, shape (n, K)."""

    name = "multinomial"
    certificate = "kkt_violation"

    def prepare_target(self, y):
        y = np.asarray(y)
        classes, codes = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"y has a single class ({classes[0]!r}); the multinomial family "
                             "needs at least two")
        Y = np.zeros((y.shape[0], classes.size))
        Y[np.arange(y.shape[0]), codes] = 1.0
        return Y, classes

    def mean(self, eta):
        return np.exp(eta - logsumexp(eta, axis=1, keepdims=True))

    def loss(self, Y, eta, w):
        return float(np.dot(w, logsumexp(eta, axis=1) - np.sum(Y * eta, axis=1)))

    def deviance(self, Y, eta, w):
        return 2.0 * self.loss(Y, eta, w)

    def grad_residual(self, Y, eta):
        return Y - self.mean(eta)

    def null_eta(self, Y, w, offset, fit_intercept):
        K = Y.shape[1]
        base = np.zeros(Y.shape) if offset is None else offset
        if not fit_intercept:
            return base, np.zeros(K)
        b0 = np.zeros(K)
        if offset is None:
            pbar = np.clip(w @ Y, 1e-300, None)
            b0 = np.log(pbar) - np.mean(np.log(pbar))
            return base + b0, b0
        for _ in range(200):
            P = self.mean(base + b0)
            g = w @ (Y - P)
            b0 += 2.0 * g  # the multinomial Hessian is bounded by 1/2 (Bohning)
            if np.max(np.abs(g)) < 1e-12:
                break
        b0 -= b0.mean()
        return base + b0, b0


_FAMILIES = {
    "gaussian": Gaussian,
    "binomial": Binomial,
    "poisson": Poisson,
    "multinomial": Multinomial,
}


def get_family(family):
    """Return the family object for a name (or pass an instance through)."""
    if isinstance(family, (Gaussian, Multinomial)):
        return family
    if not isinstance(family, str) or family not in _FAMILIES:
        raise ValueError(
            f"family must be one of {sorted(_FAMILIES)}, got {family!r}"
        )
    return _FAMILIES[family]()
